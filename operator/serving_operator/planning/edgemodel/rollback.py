"""Rolling a failed rollout back (rollout.onFailure RollBack).

CancelDeployment does not return devices that already run the new version, so when a stage
is aborted or fails its gate every thing group the rollout touched gets a deployment again
with the versions of our components it ran before the rollout (recorded ahead, see
stage_deployments), merged as always. The decision is written ahead of its deployments too:
the pass that makes it only records it, the next deploys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from serving_operator.planning.edgemodel.actions import Step
from serving_operator.planning.edgemodel.deployment import merged_deployment
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel
from serving_operator.planning.edgemodel.memory import Memory, StagePhase
from serving_operator.planning.edgemodel.observed import ObservedGroup
from serving_operator.planning.outcome import Outcome

ROLLING_BACK = "RollingBack"
ROLLED_BACK = "RolledBack"
ROLLS_BACK = frozenset({StagePhase.ABORTED, StagePhase.GATE_FAILED})
"""Failures that roll back. Past the deadline the devices that answered succeeded; the rest
are offline and would not receive a roll back either: a person decides."""


@dataclass(frozen=True)
class RollBackPass:
    steps: tuple[Step, ...]
    memory: Memory
    outcome: Outcome


def plan_roll_back(
    desired: DesiredEdgeModel, groups: Mapping[str, ObservedGroup], memory: Memory
) -> RollBackPass:
    """Deploy the previous versions to every group the rollout touched, until each carries
    them; then RolledBack (Stalled: only a spec change starts a new rollout)."""
    rollback = memory.rollback
    assert rollback is not None
    entry: dict[str, Any] = {"runWith": dict(desired.run_with)} if desired.run_with else {}
    steps: list[Step] = []
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
            our_names=desired.component_names | memory.remembered_names | frozenset(versions),
            job_configuration={},
            failure_handling_policy=desired.failure_handling_policy,
            tags=dict(desired.tags),
            why=f"rolling back after stage {rollback.stage} failed",
            # No job configuration of ours: the failed stage's abort criteria and rollout
            # rate written before are dropped, so IoT does not abort the roll back itself.
            written=memory.written.get(group_name, {}),
        )
        if action is not None:
            steps.append(action)
            waiting.append(group_name)
    failed = f"stage {rollback.stage}: {rollback.reason}"
    if waiting:
        return RollBackPass(
            tuple(steps),
            replace(memory, rollback=replace(rollback, done=False)),
            Outcome.progressing(
                ROLLING_BACK,
                f"{failed}; deploying the previous versions to {', '.join(waiting)}",
            ),
        )
    touched = ", ".join(memory.previous) or "no thing group"
    return RollBackPass(
        tuple(steps),
        replace(memory, rollback=replace(rollback, done=True)),
        Outcome.stalled(
            ROLLED_BACK,
            f"{failed}; rolled back: {touched} run(s) the versions from before this rollout"
            " again; change the spec to roll out again",
        ),
    )
