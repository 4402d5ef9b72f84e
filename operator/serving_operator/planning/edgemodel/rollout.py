"""The staged rollout: deploy a stage's thing groups, judge it by its IoT jobs' execution
counts, open its gate (success share, bake time, manual promotion), then go on.

Named phases, and every wait has a deadline: a stage whose gate is not met within
stageDeadlineSeconds stalls (offline devices stay QUEUED forever in IoT jobs).

A pass walks the stages in order and acts on each by its phase:

| stage phase                                 | this pass                                  |
| ------------------------------------------- | ------------------------------------------ |
| Succeeded                                   | keep our components merged in its groups   |
|                                             | (`stage_deployments.keep_merged`); go on   |
| Aborted, GateFailed, DeadlineExceeded       | stop here, Stalled                         |
| none yet, Deploying, Baking,                | deploy what its groups miss and judge it   |
| AwaitingPromotion                           | (`stage_gate`); go on only if it Succeeded |

A stage aborted or failing its gate rolls the rollout back (`rollback`) when
rollout.onFailure is RollBack; a rollout whose every stage passed is at rest (`at_rest`):
a group's latest deployment made by someone else without our components (a Greengrass
deployment replaces the group's whole set) is merged again, and no stage is judged again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import assert_never

from serving_operator.planning.edgemodel.actions import CancelDeployment, CreateDeployment, Step
from serving_operator.planning.edgemodel.at_rest import REST_RECHECK_SECONDS, rolled_out_outcome
from serving_operator.planning.edgemodel.deployment import Components
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, DesiredStage
from serving_operator.planning.edgemodel.memory import Memory, Rollback, StageMemory, StagePhase
from serving_operator.planning.edgemodel.observed import ObservedGroup
from serving_operator.planning.edgemodel.rollback import ROLLING_BACK, ROLLS_BACK, plan_roll_back
from serving_operator.planning.edgemodel.rollout_identity import group_components, rollout_id
from serving_operator.planning.edgemodel.stage_deployments import deploy_stage, keep_merged
from serving_operator.planning.edgemodel.stage_gate import (
    WRITE_AHEAD_RECHECK_SECONDS,
    Judged,
    judge_stage,
)
from serving_operator.planning.edgemodel.targets import TargetView
from serving_operator.planning.outcome import Outcome, Remember

ROLLING_OUT = "RollingOut"
AWAITING_PROMOTION = "AwaitingPromotion"
THING_GROUP_NOT_FOUND = "ThingGroupNotFound"
NOTHING_TO_DEPLOY = "NothingToDeploy"
SHARED_DEVICE_CONFLICT = "SharedDeviceConflict"
STAGE_OUTCOMES = {
    StagePhase.ABORTED: "StageAborted",
    StagePhase.GATE_FAILED: "StageGateFailed",
    StagePhase.DEADLINE_EXCEEDED: "StageDeadlineExceeded",
}


@dataclass(frozen=True)
class RolloutPlan:
    steps: tuple[Step, ...]
    memory: Memory
    outcome: Outcome
    recheck_after: float | None = None
    current_stage: str | None = None


@dataclass(frozen=True)
class _RolloutPass:
    """What every stage of one pass is planned from."""

    desired: DesiredEdgeModel
    components: Mapping[str, Components]
    groups: Mapping[str, ObservedGroup]
    members: Mapping[str, frozenset[str]] | None
    now: datetime
    promotion: str | None


@dataclass(frozen=True)
class _StageTurn:
    """What planning one stage did: its steps, the memory after them, and the outcome when
    the rollout stops at this stage (None: on to the next stage)."""

    steps: tuple[Step, ...]
    memory: Memory
    outcome: Outcome | None = None
    recheck_after: float | None = None


def plan_rollout(
    desired: DesiredEdgeModel,
    views: tuple[TargetView, ...],
    groups: Mapping[str, ObservedGroup],
    memory: Memory,
    *,
    now: datetime,
    promotion: str | None,
    members: Mapping[str, frozenset[str]] | None = None,
    rest_recheck_seconds: float = REST_RECHECK_SECONDS,
) -> RolloutPlan:
    """One pass of the rollout; call once every target is Ready or Failed. `members` (the
    things of each group) are checked for shared devices before a deployment; a completed
    rollout asks to be looked at again after `rest_recheck_seconds`."""
    components = group_components(desired, views, groups)
    rollout = rollout_id(desired, components)
    if memory.rollout_id != rollout:
        # A new spec (or a target newly ready) supersedes the old rollout: start again,
        # and what the groups run now is what a roll back of the new one returns to.
        memory = replace(memory, rollout_id=rollout, stages=(), previous={}, rollback=None)
    if not any(components.values()):
        return RolloutPlan(
            (), memory, Outcome.stalled(NOTHING_TO_DEPLOY, "no target has a deployable component")
        )
    if memory.rollback is not None:
        back = plan_roll_back(desired, groups, memory)
        return RolloutPlan(
            back.steps, back.memory, back.outcome, current_stage=memory.rollback.stage
        )
    this_pass = _RolloutPass(desired, components, groups, members, now, promotion)
    steps: list[Step] = []
    for stage in desired.stages:
        turn = _plan_stage(this_pass, stage, memory)
        steps += turn.steps
        memory = turn.memory
        if turn.outcome is not None:
            return RolloutPlan(
                tuple(steps), memory, turn.outcome, turn.recheck_after, current_stage=stage.name
            )
    merged_again = [s.thing_group for s in steps if isinstance(s, CreateDeployment)]
    return RolloutPlan(
        tuple(steps),
        memory,
        rolled_out_outcome(desired, merged_again),
        # After merging again, look at the next resync (the driver's): that pass finds our
        # components there and records the new deployment as the one to expect at rest.
        None if merged_again else rest_recheck_seconds,
        current_stage=desired.stages[-1].name,
    )


def _plan_stage(this_pass: _RolloutPass, stage: DesiredStage, memory: Memory) -> _StageTurn:
    """One stage, by its phase (the table in the module's docstring)."""
    record = memory.stage(stage.name)
    if record is None:
        return _in_flight(this_pass, stage, None, memory)
    match record.phase:
        case StagePhase.SUCCEEDED:
            return _passed(this_pass, stage, record, memory)
        case StagePhase.ABORTED | StagePhase.GATE_FAILED | StagePhase.DEADLINE_EXCEEDED:
            return _StageTurn((), memory, _stage_failed(stage, record))
        case StagePhase.DEPLOYING | StagePhase.BAKING | StagePhase.AWAITING_PROMOTION:
            return _in_flight(this_pass, stage, record, memory)
        case _:
            assert_never(record.phase)


def _passed(
    this_pass: _RolloutPass, stage: DesiredStage, record: StageMemory, memory: Memory
) -> _StageTurn:
    """Never judged again; its groups keep our components, and the deployments found
    carrying them become those expected at rest."""
    kept = keep_merged(this_pass.desired, stage, this_pass.components, this_pass.groups, record)
    if kept.deployments != record.deployments:
        memory = memory.with_stage(replace(record, deployments=kept.deployments))
    return _StageTurn(kept.steps, memory)


def _stage_failed(stage: DesiredStage, record: StageMemory) -> Outcome:
    return Outcome.stalled(STAGE_OUTCOMES[record.phase], f"stage {stage.name}: {record.verdict}")


def _in_flight(
    this_pass: _RolloutPass, stage: DesiredStage, record: StageMemory | None, memory: Memory
) -> _StageTurn:
    """Deploy what the stage's groups miss, judge the stage, and say what the rollout does
    next by its new phase."""
    desired = this_pass.desired
    deployed = deploy_stage(
        desired,
        stage,
        this_pass.components,
        this_pass.groups,
        record,
        memory.previous,
        this_pass.members,
    )
    if deployed.missing_groups:
        missing = ", ".join(deployed.missing_groups)
        return _StageTurn(
            (),
            memory,
            Outcome.stalled(
                THING_GROUP_NOT_FOUND,
                f"stage {stage.name}: thing group(s) {missing} do not exist in AWS IoT",
            ),
        )
    if deployed.conflicts:
        return _StageTurn(
            (),
            memory,
            Outcome.stalled(
                SHARED_DEVICE_CONFLICT,
                f"stage {stage.name}: {'; '.join(deployed.conflicts)}: put the groups in"
                " one stage or stop them sharing devices",
            ),
        )
    steps: list[Step] = []
    if deployed.previous:
        # Write-ahead: what these groups run now is in status before any deployment
        # replaces it (they are deployed by the next pass), even if a later step of
        # this pass fails: the roll back depends on it.
        memory = replace(memory, previous={**memory.previous, **deployed.previous})
        steps.append(Remember(memory))
    steps += deployed.steps
    judged = judge_stage(
        stage,
        record or StageMemory(stage.name, StagePhase.DEPLOYING, started_at=this_pass.now),
        deployed,
        now=this_pass.now,
        deadline_seconds=desired.stage_deadline_seconds,
        promotion=this_pass.promotion,
        consumed=memory.consumed_promotion,
    )
    memory = memory.with_stage(judged.record)
    if judged.consumed_promotion is not None:
        memory = replace(memory, consumed_promotion=judged.consumed_promotion)
    return _next(desired, stage, judged, (*steps, *_halted(desired, judged, this_pass)), memory)


def _halted(desired: DesiredEdgeModel, judged: Judged, this_pass: _RolloutPass) -> list[Step]:
    """A stage that failed and does not roll back (onFailure Halt): cancel each of its
    groups' deployments that is still ACTIVE and still the one the stage made, so IoT stops
    sending the failed version to devices that have not started it (the stage's verdict may
    be the operator's while IoT's own abort criteria are not met, or a failed gate). Only in
    the pass that judges the failure: a later pass finds the stage failed and writes
    nothing."""
    record = judged.record
    if desired.roll_back or record.phase not in ROLLS_BACK:
        return []
    steps: list[Step] = []
    for made in record.deployments:
        group = this_pass.groups.get(made.thing_group)
        latest = group.latest if group is not None else None
        if latest is None or latest.deployment_id != made.deployment_id:
            continue
        if latest.status != "ACTIVE":
            continue
        steps.append(
            CancelDeployment(
                made.thing_group,
                made.deployment_id,
                f"stage {record.name} {record.phase.value}; onFailure is Halt",
            )
        )
    return steps


def _next(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    judged: Judged,
    steps: tuple[Step, ...],
    memory: Memory,
) -> _StageTurn:
    """What the rollout does after a stage was judged, by the stage's new phase."""
    record = judged.record
    said = f"stage {stage.name}: {record.verdict}"
    if record.phase in ROLLS_BACK and desired.roll_back:
        # Write-ahead again: the roll back is decided in status before its deployments
        # (the next pass makes them). Otherwise an operator killed after them would
        # restart from a stage still deploying, find the groups without our new versions
        # and merge those again, sending the failed version to the devices once more.
        memory = replace(memory, rollback=Rollback(stage.name, record.verdict))
        groups = ", ".join(memory.previous) or "no thing group"
        return _StageTurn(
            steps,
            memory,
            Outcome.progressing(
                ROLLING_BACK, f"{said}; deploying the previous versions to {groups} next"
            ),
            WRITE_AHEAD_RECHECK_SECONDS,
        )
    match record.phase:
        case StagePhase.SUCCEEDED:
            return _StageTurn(steps, memory)
        case StagePhase.ABORTED | StagePhase.GATE_FAILED | StagePhase.DEADLINE_EXCEEDED:
            outcome = _stage_failed(stage, record)
        case StagePhase.AWAITING_PROMOTION:
            outcome = Outcome.progressing(
                AWAITING_PROMOTION,
                f"{said} (kubectl annotate edgemodel ... serving.mlops.dev/promote=<new value>)",
            )
        case StagePhase.DEPLOYING | StagePhase.BAKING:
            outcome = Outcome.progressing(ROLLING_OUT, said)
        case _:
            assert_never(record.phase)
    return _StageTurn(steps, memory, outcome, judged.recheck_after)
