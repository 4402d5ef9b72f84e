"""The staged rollout: deploy a stage's thing groups, judge it by its IoT jobs' execution
counts, open its gate (success share, bake time, manual promotion), then go on.

Named phases, and every wait has a deadline: a stage whose gate is not met within
stageDeadlineSeconds stalls (offline devices stay QUEUED forever in IoT jobs).

Roll back: CancelDeployment does not return devices that already run the new version, so
when a stage is aborted or fails its gate (and rollout.onFailure is RollBack) every thing
group the rollout touched gets a deployment again with the versions of our components it ran
before the rollout, merged as always. Those versions are written ahead: a pass that would
deploy to a group for the first time in a rollout only records them (status is written after
a pass's AWS calls, so an operator killed in between would restart from a status without
them, find the group already running ours and never learn what it ran before); the next pass,
which starts from the status holding them, deploys. The decision to roll back is written
ahead of its deployments the same way.

At rest (every stage passed) a group's latest deployment made by someone else without our
components (a Greengrass deployment replaces the group's whole set) is merged again: the
stage is not judged again, only our components are put back beside the others'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from serving_operator.planning.edgemodel.actions import CreateDeployment, Step
from serving_operator.planning.edgemodel.deployment import carries, merged_deployment
from serving_operator.planning.edgemodel.desired import (
    DesiredEdgeModel,
    DesiredStage,
    DesiredTarget,
)
from serving_operator.planning.edgemodel.memory import (
    FINAL_FAILURES,
    GroupDeployment,
    Memory,
    Rollback,
    StageMemory,
    StagePhase,
)
from serving_operator.planning.edgemodel.observed import (
    DeviceCounts,
    ObservedDeployment,
    ObservedGroup,
)
from serving_operator.planning.edgemodel.targets import TargetPhase, TargetView
from serving_operator.planning.naming import content_hash
from serving_operator.planning.outcome import Outcome, Remember

Components = Mapping[str, Mapping[str, Any]]

ROLLED_OUT = "RolledOut"
ROLLING_OUT = "RollingOut"
AWAITING_PROMOTION = "AwaitingPromotion"
THING_GROUP_NOT_FOUND = "ThingGroupNotFound"
NOTHING_TO_DEPLOY = "NothingToDeploy"
SHARED_DEVICE_CONFLICT = "SharedDeviceConflict"
ROLLING_BACK = "RollingBack"
ROLLED_BACK = "RolledBack"
ROLLS_BACK = frozenset({StagePhase.ABORTED, StagePhase.GATE_FAILED})
"""Failures that roll back. Past the deadline the devices that answered succeeded; the rest
are offline and would not receive a roll back either: a person decides."""
REST_RECHECK_SECONDS = 3600.0
"""Once rolled out, when to look again (instead of at every resync), unless the operator is
configured otherwise: a pass at rest reads only the component versions and each group's
latest deployment ID, and everything else only if a version is gone or not DEPLOYABLE or a
group's latest deployment is not the one the rollout left there."""
WRITE_AHEAD_RECHECK_SECONDS = 0.5
"""After a pass that only recorded what groups ran before: deploy as soon as its status is
written (the driver's poll interval bounds it from below)."""
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


def group_components(
    desired: DesiredEdgeModel, views: tuple[TargetView, ...]
) -> dict[str, Components]:
    """Per thing group, our components its devices should run (targets that are ready)."""
    return _components_of(desired, [v.target for v in views if v.phase == TargetPhase.READY])


def _components_of(
    desired: DesiredEdgeModel, ready: Sequence[DesiredTarget]
) -> dict[str, Components]:
    entry: dict[str, Any] = {"runWith": dict(desired.run_with)} if desired.run_with else {}
    return {
        group: {
            t.component_name: {"componentVersion": t.component_version, **entry}
            for t in ready
            if group in t.thing_groups
        }
        for group in desired.thing_groups
    }


def rollout_id(desired: DesiredEdgeModel, components: Mapping[str, Components]) -> str:
    stages = [
        [
            s.name,
            s.thing_groups,
            s.job_configuration,
            s.min_success_percent,
            s.bake_seconds,
            s.manual,
        ]
        for s in desired.stages
    ]
    return content_hash([components, stages, desired.failure_handling_policy, desired.roll_back])


def abort_verdict(stage: DesiredStage, counts: DeviceCounts) -> str | None:
    """The abort criterion `counts` meet, as IoT judges them, or None."""
    failures = {
        "FAILED": counts.failed,
        "REJECTED": counts.rejected,
        "TIMED_OUT": counts.timed_out,
        "ALL": counts.failed + counts.rejected + counts.timed_out,
    }
    for failure_type, threshold, minimum in stage.abort_criteria:
        if counts.executed >= minimum and counts.executed > 0:
            share = 100.0 * failures[failure_type] / counts.executed
            if share >= threshold:
                return (
                    f"abort criterion met: {failure_type} {share:.0f}% of {counts.executed}"
                    f" executed devices (threshold {threshold:g}%)"
                )
    return None


def success_percent(counts: DeviceCounts) -> float:
    return 100.0 * counts.succeeded / counts.total if counts.total else 0.0


@dataclass(frozen=True)
class _StageDeployments:
    steps: tuple[CreateDeployment, ...]
    deployments: tuple[GroupDeployment, ...]
    counts: DeviceCounts
    canceled_jobs: tuple[str, ...]
    missing_groups: tuple[str, ...]
    previous: Mapping[str, Mapping[str, str]]
    """Groups to deploy for the first time in this rollout: what they run now. Recorded
    this pass; their deployments come in the next (write-ahead)."""
    conflicts: tuple[str, ...] = ()
    """Why a deployment would give a shared device two versions of one component."""


def _shared_device_conflicts(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    group_name: str,
    ours: Components,
    groups: Mapping[str, ObservedGroup],
    members: Mapping[str, frozenset[str]],
) -> list[str]:
    """A device in `group_name` and in another group of ours whose latest deployment carries
    one of our components at another version, which this stage does not also update: it
    would be asked for two versions of one component (Greengrass fails such a device)."""
    found = []
    for other_name in desired.thing_groups:
        if other_name == group_name or other_name in stage.thing_groups:
            continue
        other = groups.get(other_name)
        if other is None or other.latest is None:
            continue
        shared = members.get(group_name, frozenset()) & members.get(other_name, frozenset())
        if not shared:
            continue
        for name, entry in sorted(ours.items()):
            theirs = other.latest.version_of(name)
            if theirs is not None and theirs != entry["componentVersion"]:
                found.append(
                    f"device {min(shared)} is in thing groups {group_name} and {other_name};"
                    f" {other_name} runs {name} {theirs} and stage {stage.name} would deploy"
                    f" {entry['componentVersion']} to {group_name}"
                )
                break
    return found


def _stage_merge(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    group_name: str,
    target_arn: str,
    latest: ObservedDeployment | None,
    ours: Components,
    why: str,
) -> CreateDeployment:
    """The group's latest deployment with this stage's versions of our components merged in,
    called only where the latest does not carry them, so there is always something to change."""
    action = merged_deployment(
        thing_group=group_name,
        target_arn=target_arn,
        latest=latest,
        ours=ours,
        our_names=desired.component_names,
        job_configuration=stage.job_configuration,
        failure_handling_policy=desired.failure_handling_policy,
        tags=dict(desired.tags),
        why=why,
    )
    assert action is not None
    return action


def _deploy_stage(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    components: Mapping[str, Components],
    groups: Mapping[str, ObservedGroup],
    record: StageMemory | None,
    remembered: Mapping[str, Mapping[str, str]],
    members: Mapping[str, frozenset[str]] | None,
) -> _StageDeployments:
    conflicts: list[str] = []
    steps: list[CreateDeployment] = []
    previous: dict[str, dict[str, str]] = {}
    deployments: list[GroupDeployment] = []
    counts = DeviceCounts()
    canceled: list[str] = []
    missing: list[str] = []
    recorded = {d.thing_group: d for d in record.deployments} if record else {}
    for group_name in stage.thing_groups:
        group = groups.get(group_name)
        if group is None or group.arn is None:
            missing.append(group_name)
            continue
        ours = components.get(group_name, {})
        if not ours:
            continue
        latest = group.latest
        if latest is not None and carries(latest, ours, desired.component_names):
            deployments.append(
                GroupDeployment(
                    group_name, latest.deployment_id, latest.iot_job_id, latest.revision_id
                )
            )
            job = group.job
            if job is not None and job.job_id == latest.iot_job_id:
                counts += job.counts
                if job.status == "CANCELED":
                    canceled.append(group_name)
            continue
        if members is not None:
            conflicts += _shared_device_conflicts(desired, stage, group_name, ours, groups, members)
        before = recorded.get(group_name)
        why = f"stage {stage.name}"
        drift = None
        if (
            before is not None
            and latest is not None
            and latest.deployment_id != before.deployment_id
        ):
            drift = (
                f"revision {latest.revision_id} made by someone else dropped or changed"
                " this EdgeModel's components"
            )
            why = f"stage {stage.name}: merging again, {drift}"
        action = _stage_merge(desired, stage, group_name, group.arn, latest, ours, why)
        if group_name in remembered:
            steps.append(replace(action, drift=drift))
        else:
            previous[group_name] = {
                n: v
                for n in sorted(desired.component_names)
                if latest is not None and (v := latest.version_of(n)) is not None
            }
    return _StageDeployments(
        tuple(steps),
        tuple(deployments),
        counts,
        tuple(canceled),
        tuple(missing),
        previous,
        tuple(conflicts),
    )


@dataclass(frozen=True)
class _KeptMerged:
    steps: tuple[CreateDeployment, ...]
    deployments: tuple[GroupDeployment, ...]


def _keep_merged(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    components: Mapping[str, Components],
    groups: Mapping[str, ObservedGroup],
    record: StageMemory,
) -> _KeptMerged:
    """A passed stage is never judged again, but each of its groups keeps our components:
    a later deployment by someone else that dropped or changed them (Greengrass deployments
    replace the group's whole set) is merged again, keeping theirs. The deployment found
    carrying ours becomes the one expected at rest."""
    steps: list[CreateDeployment] = []
    deployments: list[GroupDeployment] = []
    recorded = {d.thing_group: d for d in record.deployments}
    for group_name in stage.thing_groups:
        group = groups.get(group_name)
        ours = components.get(group_name, {})
        before = recorded.get(group_name)
        if group is None or group.arn is None or not ours:
            if before is not None:
                deployments.append(before)
            continue
        latest = group.latest
        if latest is not None and carries(latest, ours, desired.component_names):
            deployments.append(
                GroupDeployment(
                    group_name, latest.deployment_id, latest.iot_job_id, latest.revision_id
                )
            )
            continue
        drift = (
            f"deployment {latest.deployment_id} (revision {latest.revision_id}), made by someone"
            f" else after stage {stage.name} passed, dropped or changed this EdgeModel's"
            " components"
            if latest is not None
            else "the group has no deployment any more"
        )
        action = _stage_merge(
            desired,
            stage,
            group_name,
            group.arn,
            latest,
            ours,
            f"stage {stage.name} passed; merging again",
        )
        steps.append(replace(action, drift=drift))
        if before is not None:
            deployments.append(before)
    return _KeptMerged(tuple(steps), tuple(deployments))


def _judge(
    stage: DesiredStage,
    record: StageMemory,
    deployed: _StageDeployments,
    *,
    now: float,
    deadline_seconds: int,
    promotion: str | None,
    consumed: str | None,
) -> tuple[StageMemory, str | None, float | None]:
    """The stage's next phase, the promotion consumed (if any), and when to look again."""
    counts = deployed.counts
    record = replace(record, deployments=deployed.deployments, counts=counts)
    if deployed.previous:
        groups = ", ".join(deployed.previous)
        return (
            replace(
                record,
                phase=StagePhase.DEPLOYING,
                verdict=f"recording what {groups} run(s) now (for a roll back) before deploying",
            ),
            None,
            WRITE_AHEAD_RECHECK_SECONDS,
        )
    if deployed.steps:
        return replace(record, phase=StagePhase.DEPLOYING, verdict="deploying"), None, None
    if deployed.canceled_jobs:
        return (
            replace(
                record,
                phase=StagePhase.ABORTED,
                verdict=f"the IoT job of {', '.join(deployed.canceled_jobs)} was canceled"
                " (abort criteria met, or the deployment was canceled)",
            ),
            None,
            None,
        )
    aborted = abort_verdict(stage, counts)
    if aborted:
        return replace(record, phase=StagePhase.ABORTED, verdict=aborted), None, None
    percent = success_percent(counts)
    summary = (
        f"{counts.succeeded}/{counts.total} devices succeeded"
        f" ({percent:.0f}%, gate {stage.min_success_percent:g}%)"
    )
    if counts.total and percent >= stage.min_success_percent:
        met_at = record.gate_met_at if record.gate_met_at is not None else now
        record = replace(record, gate_met_at=met_at)
        baked = now - met_at
        if baked < stage.bake_seconds:
            left = stage.bake_seconds - baked
            return (
                replace(
                    record, phase=StagePhase.BAKING, verdict=f"{summary}; baking {left:.0f}s more"
                ),
                None,
                left,
            )
        if stage.manual:
            if promotion is not None and promotion != consumed:
                return (
                    replace(record, phase=StagePhase.SUCCEEDED, verdict=f"{summary}; promoted"),
                    promotion,
                    None,
                )
            return (
                replace(
                    record,
                    phase=StagePhase.AWAITING_PROMOTION,
                    verdict=f"{summary}; waiting for a new value of the promote annotation",
                ),
                None,
                None,
            )
        return replace(record, phase=StagePhase.SUCCEEDED, verdict=summary), None, None
    record = replace(record, gate_met_at=None)
    if counts.total and counts.pending == 0:
        return replace(record, phase=StagePhase.GATE_FAILED, verdict=summary), None, None
    elapsed = now - record.started_at
    if elapsed >= deadline_seconds:
        return (
            replace(
                record,
                phase=StagePhase.DEADLINE_EXCEEDED,
                verdict=f"{summary}; {counts.queued} queued (offline?) and {counts.in_progress}"
                f" in progress after the {deadline_seconds}s stage deadline",
            ),
            None,
            None,
        )
    return (
        replace(record, phase=StagePhase.DEPLOYING, verdict=summary),
        None,
        None,  # the driver polls while devices report
    )


def _roll_back(
    desired: DesiredEdgeModel,
    groups: Mapping[str, ObservedGroup],
    memory: Memory,
    steps: list[Step],
) -> RolloutPlan:
    """Deploy the previous versions to every group the rollout touched, until each carries
    them; then RolledBack (Stalled: only a spec change starts a new rollout)."""
    rollback = memory.rollback
    assert rollback is not None
    entry: dict[str, Any] = {"runWith": dict(desired.run_with)} if desired.run_with else {}
    waiting: list[str] = []
    for group_name, versions in memory.previous.items():
        group = groups.get(group_name)
        if group is None or group.arn is None:
            waiting.append(f"{group_name} (not found)")
            continue
        action = merged_deployment(
            thing_group=group_name,
            target_arn=group.arn,
            latest=group.latest,
            ours={n: {"componentVersion": v, **entry} for n, v in versions.items()},
            our_names=desired.component_names | frozenset(versions),
            job_configuration={},
            failure_handling_policy=desired.failure_handling_policy,
            tags=dict(desired.tags),
            why=f"rolling back after stage {rollback.stage} failed",
        )
        if action is not None:
            steps.append(action)
            waiting.append(group_name)
    failed = f"stage {rollback.stage}: {rollback.reason}"
    if waiting:
        memory = replace(memory, rollback=replace(rollback, done=False))
        return RolloutPlan(
            tuple(steps),
            memory,
            Outcome.progressing(
                ROLLING_BACK,
                f"{failed}; deploying the previous versions to {', '.join(waiting)}",
            ),
            current_stage=rollback.stage,
        )
    touched = ", ".join(memory.previous) or "no thing group"
    memory = replace(memory, rollback=replace(rollback, done=True))
    return RolloutPlan(
        tuple(steps),
        memory,
        Outcome.stalled(
            ROLLED_BACK,
            f"{failed}; rolled back: {touched} run(s) the versions from before this rollout"
            " again; change the spec to roll out again",
        ),
        current_stage=rollback.stage,
    )


def plan_rollout(
    desired: DesiredEdgeModel,
    views: tuple[TargetView, ...],
    groups: Mapping[str, ObservedGroup],
    memory: Memory,
    *,
    now: float,
    promotion: str | None,
    members: Mapping[str, frozenset[str]] | None = None,
    rest_recheck_seconds: float = REST_RECHECK_SECONDS,
) -> RolloutPlan:
    """One pass of the rollout; call once every target is Ready or Failed. `members` (the
    things of each group) are checked for shared devices before a deployment; a completed
    rollout asks to be looked at again after `rest_recheck_seconds`."""
    components = group_components(desired, views)
    rollout = rollout_id(desired, components)
    if memory.rollout_id != rollout:
        # A new spec (or a target newly ready) supersedes the old rollout: start again,
        # and what the groups run now is what a roll back of the new one returns to.
        memory = replace(memory, rollout_id=rollout, stages=(), previous={}, rollback=None)
    if not any(components.values()):
        return RolloutPlan(
            (), memory, Outcome.stalled(NOTHING_TO_DEPLOY, "no target has a deployable component")
        )
    steps: list[Step] = []
    if memory.rollback is not None:
        return _roll_back(desired, groups, memory, steps)
    for stage in desired.stages:
        record = memory.stage(stage.name)
        if record is not None and record.phase == StagePhase.SUCCEEDED:
            kept = _keep_merged(desired, stage, components, groups, record)
            steps += kept.steps
            if kept.deployments != record.deployments:
                memory = memory.with_stage(replace(record, deployments=kept.deployments))
            continue
        if record is not None and record.phase in FINAL_FAILURES:
            return RolloutPlan(
                tuple(steps),
                memory,
                Outcome.stalled(
                    STAGE_OUTCOMES[record.phase], f"stage {stage.name}: {record.verdict}"
                ),
                current_stage=stage.name,
            )
        deployed = _deploy_stage(
            desired, stage, components, groups, record, memory.previous, members
        )
        if deployed.missing_groups:
            return RolloutPlan(
                tuple(steps),
                memory,
                Outcome.stalled(
                    THING_GROUP_NOT_FOUND,
                    f"stage {stage.name}: thing group(s) {', '.join(deployed.missing_groups)}"
                    " do not exist in AWS IoT",
                ),
                current_stage=stage.name,
            )
        if deployed.conflicts:
            return RolloutPlan(
                tuple(steps),
                memory,
                Outcome.stalled(
                    SHARED_DEVICE_CONFLICT,
                    f"stage {stage.name}: {'; '.join(deployed.conflicts)}: put the groups in"
                    " one stage or stop them sharing devices",
                ),
                current_stage=stage.name,
            )
        if deployed.previous:
            # Write-ahead: what these groups run now is in status before any deployment
            # replaces it (they are deployed by the next pass), even if a later step of
            # this pass fails: the roll back depends on it.
            memory = replace(memory, previous={**memory.previous, **deployed.previous})
            steps.append(Remember(memory))
        steps += deployed.steps
        if record is None:
            record = StageMemory(stage.name, StagePhase.DEPLOYING, started_at=now)
        record, consumed, recheck = _judge(
            stage,
            record,
            deployed,
            now=now,
            deadline_seconds=desired.stage_deadline_seconds,
            promotion=promotion,
            consumed=memory.consumed_promotion,
        )
        memory = memory.with_stage(record)
        if consumed is not None:
            memory = replace(memory, consumed_promotion=consumed)
        if record.phase == StagePhase.SUCCEEDED:
            continue
        if record.phase in ROLLS_BACK and desired.roll_back:
            # Write-ahead again: the roll back is decided in status before its deployments
            # (the next pass makes them). Otherwise an operator killed after them would
            # restart from a stage still deploying, find the groups without our new versions
            # and merge those again, sending the failed version to the devices once more.
            memory = replace(memory, rollback=Rollback(stage.name, record.verdict))
            return RolloutPlan(
                tuple(steps),
                memory,
                Outcome.progressing(
                    ROLLING_BACK,
                    f"stage {stage.name}: {record.verdict}; deploying the previous versions"
                    f" to {', '.join(memory.previous) or 'no thing group'} next",
                ),
                WRITE_AHEAD_RECHECK_SECONDS,
                current_stage=stage.name,
            )
        if record.phase in FINAL_FAILURES:
            outcome = Outcome.stalled(
                STAGE_OUTCOMES[record.phase], f"stage {stage.name}: {record.verdict}"
            )
        elif record.phase == StagePhase.AWAITING_PROMOTION:
            outcome = Outcome.progressing(
                AWAITING_PROMOTION,
                f"stage {stage.name}: {record.verdict}"
                f" (kubectl annotate edgemodel ... serving.mlops.dev/promote=<new value>)",
            )
        else:
            outcome = Outcome.progressing(ROLLING_OUT, f"stage {stage.name}: {record.verdict}")
        return RolloutPlan(tuple(steps), memory, outcome, recheck, current_stage=stage.name)
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


def rolled_out_outcome(desired: DesiredEdgeModel, merged_again: Sequence[str] = ()) -> Outcome:
    passed = f"every stage passed its gate (last: {desired.stages[-1].name})"
    if merged_again:
        passed += (
            f"; merged this EdgeModel's components again into {', '.join(merged_again)}"
            " (a later deployment by someone else dropped or changed them)"
        )
    return Outcome.ready(ROLLED_OUT, passed)


def expected_at_rest(memory: Memory) -> dict[str, str]:
    """Thing group -> the deployment a completed rollout left as its latest (carrying our
    components): what a pass at rest expects to find there."""
    return {d.thing_group: d.deployment_id for s in memory.stages for d in s.deployments}


def rolled_out(desired: DesiredEdgeModel, memory: Memory) -> bool:
    """Whether `memory` says this spec's rollout, with every target published, passed every
    stage (and rolled nothing back): only drift can give a pass work to do."""
    return (
        memory.rollback is None
        and memory.rollout_id == rollout_id(desired, _components_of(desired, desired.targets))
        and all(
            (record := memory.stage(stage.name)) is not None
            and record.phase == StagePhase.SUCCEEDED
            for stage in desired.stages
        )
    )
