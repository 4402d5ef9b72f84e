"""Plan one EdgeModel pass: compile each target, publish its component, roll out by stage;
and its deletion. Pure: `now` and the promote annotation come in as arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from serving_operator.planning.edgemodel.actions import (
    Action,
    DeleteComponentVersion,
    Remember,
    Step,
    StopCompilationJob,
)
from serving_operator.planning.edgemodel.deployment import merged_deployment
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel
from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.edgemodel.observed import (
    RUNNING_COMPILATIONS,
    CompilationStatus,
    ComponentState,
    EdgeModelObservation,
    ObservedComponentVersion,
)
from serving_operator.planning.edgemodel.rollout import (
    NOTHING_TO_DEPLOY,
    REST_RECHECK_SECONDS,
    expected_at_rest,
    plan_rollout,
    rolled_out,
    rolled_out_outcome,
)
from serving_operator.planning.edgemodel.targets import (
    DEFAULT_PARALLEL_COMPILATIONS,
    TargetPhase,
    TargetView,
    plan_targets,
)
from serving_operator.planning.outcome import Outcome, OutcomeKind, Plan

COMPILING = "Compiling"
COMPILATION_FAILED = "CompilationFailed"
RETAINED = "Retained"
DELETED = "Deleted"
DELETING = "Deleting"
FOLLOW_SECONDS = 2.0
"""How soon to look again when Stalled on one target while the others still progress."""


def plan_edge_model(
    desired: DesiredEdgeModel,
    observed: EdgeModelObservation,
    memory: Memory,
    *,
    now: float,
    promotion: str | None,
    max_parallel: int = DEFAULT_PARALLEL_COMPILATIONS,
    rest_recheck_seconds: float = REST_RECHECK_SECONDS,
) -> tuple[Plan[Step], tuple[TargetView, ...], str | None]:
    """The pass's plan (its last step remembers the new memory), each target's view, and the
    rollout's current stage. Once rolled out, the next pass comes `rest_recheck_seconds`
    later."""
    steps, views = plan_targets(desired, observed, max_parallel=max_parallel)
    published = memory.published | {v.component_arn for v in views if v.component_arn is not None}
    memory = replace(memory, published=frozenset(published))
    failed = [v for v in views if v.phase == TargetPhase.FAILED]
    failure = (
        Outcome.stalled(
            COMPILATION_FAILED,
            "; ".join(f"target {v.target.name}: {v.failure_reason}" for v in failed),
        )
        if failed
        else None
    )
    busy = [v for v in views if v.phase not in (TargetPhase.READY, TargetPhase.FAILED)]
    if busy:
        outcome = Outcome.progressing(
            COMPILING,
            ", ".join(f"{v.target.name}: {v.phase.value.lower()}" for v in busy),
        )
        plan = Plan(
            (*steps, Remember(memory)),
            failure or outcome,
            FOLLOW_SECONDS if failure else None,
        )
        return plan, views, None

    rollout = plan_rollout(
        desired,
        views,
        observed.groups,
        memory,
        now=now,
        promotion=promotion,
        members=observed.members,
        rest_recheck_seconds=rest_recheck_seconds,
    )
    outcome = rollout.outcome
    recheck = rollout.recheck_after
    if failure is not None and outcome.reason == NOTHING_TO_DEPLOY:
        # Every target failed: why each failed is what the user must fix, not that there
        # is nothing to roll out.
        outcome = failure
    elif failure is not None and outcome.kind != OutcomeKind.STALLED:
        # Stalled on the failed target while the others roll out: keep following them.
        recheck = FOLLOW_SECONDS if outcome.kind == OutcomeKind.PROGRESSING else None
        outcome = Outcome.stalled(failure.reason, f"{failure.message} ({outcome.message})")
    return (
        Plan((*steps, *rollout.steps, Remember(rollout.memory)), outcome, recheck),
        views,
        rollout.current_stage,
    )


def reads_only_component_versions(desired: DesiredEdgeModel, memory: Memory) -> bool:
    """Whether a pass reads only this spec's component versions (one DescribeComponent per
    target) and its groups' latest deployment IDs (`groups_at_rest`) rather than everything:
    once it rolled out, nothing but drift can change its plan. Compilation jobs are done and
    nothing rereads their output; the IoT jobs are judged only while a stage rolls out."""
    return rolled_out(desired, memory)


def groups_at_rest(memory: Memory) -> tuple[str, ...]:
    """The thing groups whose latest deployment a pass at rest reads (ListDeployments, the
    latest only): those the completed rollout left carrying our components."""
    return tuple(sorted(expected_at_rest(memory)))


def plan_edge_model_at_rest(
    desired: DesiredEdgeModel,
    components: Mapping[tuple[str, str], ObservedComponentVersion | None],
    latest_deployments: Mapping[str, str | None],
    memory: Memory,
    *,
    rest_recheck_seconds: float = REST_RECHECK_SECONDS,
) -> tuple[Plan[Step], tuple[TargetView, ...], str | None] | None:
    """The pass of a rolled-out EdgeModel from its component versions (by name and version)
    and the ID of each of `groups_at_rest`'s latest deployment (None: it has none), or None
    when a full pass must decide: a version is gone or no longer DEPLOYABLE (publish it again,
    or Stalled), or a group's latest deployment is not the one the rollout left there
    (someone else deployed to it: merge ours again if it dropped them)."""
    assert rolled_out(desired, memory)
    for target in desired.targets:
        found = components.get((target.component_name, target.component_version))
        if found is None or found.state != ComponentState.DEPLOYABLE:
            return None
    for group, deployment_id in expected_at_rest(memory).items():
        if latest_deployments.get(group) != deployment_id:
            return None
    plan: Plan[Step] = Plan((), rolled_out_outcome(desired), rest_recheck_seconds)
    return plan, (), desired.stages[-1].name


def plan_edge_model_deletion(
    desired: DesiredEdgeModel,
    observed: EdgeModelObservation,
    *,
    retain: bool,
) -> Plan[Step]:
    """One pass of deletion; the resource may go once the outcome is Ready.

    Delete: stop in-flight compilation jobs, deploy each group again without our
    components, then (once no group runs them) delete the versions we published.
    """
    if retain:
        return Plan((), Outcome.ready(RETAINED, "deletionPolicy is Retain: AWS objects kept"))
    steps: list[Step] = []
    stopping = False
    for job in observed.compilations.values():
        if job is None:
            continue
        if job.status in RUNNING_COMPILATIONS:
            steps.append(StopCompilationJob(job.name))
            stopping = True
        elif job.status == CompilationStatus.STOPPING:
            stopping = True
    deployed_somewhere = False
    for group in observed.groups.values():
        latest = group.latest
        if group.arn is None or latest is None:
            continue
        if not desired.component_names & set(latest.components):
            continue
        deployed_somewhere = True
        action = merged_deployment(
            thing_group=group.name,
            target_arn=group.arn,
            latest=latest,
            ours={},
            our_names=desired.component_names,
            job_configuration={},
            failure_handling_policy=None,
            tags=dict(desired.tags),
            why="removing this EdgeModel's components",
        )
        if action is not None:
            steps.append(action)
    if not deployed_somewhere:
        steps += [
            DeleteComponentVersion(arn)
            for arn, exists in sorted(observed.published.items())
            if exists
        ]
    if steps or stopping:
        return Plan(
            tuple(steps),
            Outcome.progressing(DELETING, "stopping jobs, removing components from groups"),
        )
    return Plan((), Outcome.ready(DELETED, "compilation jobs stopped, components removed"))


def changes_made(steps: tuple[Step, ...]) -> tuple[Action, ...]:
    return tuple(s for s in steps if not isinstance(s, Remember))
