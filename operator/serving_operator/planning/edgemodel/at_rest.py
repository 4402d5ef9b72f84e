"""A rollout at rest: every stage passed its gate and nothing was rolled back, so only drift
(a version gone, someone else's deployment to a group) can give a pass work to do."""

from __future__ import annotations

from collections.abc import Sequence

from serving_operator.planning.edgemodel.desired import DesiredEdgeModel
from serving_operator.planning.edgemodel.memory import Memory, StagePhase
from serving_operator.planning.edgemodel.rollout_identity import components_of, rollout_id
from serving_operator.planning.outcome import Outcome

ROLLED_OUT = "RolledOut"
REST_RECHECK_SECONDS = 3600.0
"""Once rolled out, when to look again (instead of at every resync), unless the operator is
configured otherwise: a pass at rest reads only the component versions and each group's
latest deployment ID, and everything else only if a version is gone or not DEPLOYABLE or a
group's latest deployment is not the one the rollout left there."""


def rolled_out(desired: DesiredEdgeModel, memory: Memory) -> bool:
    """Whether `memory` says this spec's rollout, with every target published, passed every
    stage (and rolled nothing back): only drift can give a pass work to do."""
    return (
        memory.rollback is None
        and memory.rollout_id == rollout_id(desired, components_of(desired, desired.targets))
        and all(
            (record := memory.stage(stage.name)) is not None
            and record.phase == StagePhase.SUCCEEDED
            for stage in desired.stages
        )
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


def groups_at_rest(memory: Memory) -> tuple[str, ...]:
    """The thing groups whose latest deployment a pass at rest reads (ListDeployments, the
    latest only): those the completed rollout left carrying our components."""
    return tuple(sorted(expected_at_rest(memory)))
