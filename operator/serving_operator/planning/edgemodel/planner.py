"""Plan one EdgeModel pass: compile each target, publish its component, roll out by stage;
and its deletion. Pure: what was read, `now` and the promote annotation come in as arguments.

The reconciler calls `plan_edge_model` with what it has read (nothing, at first); the
planner either asks for more (`EdgeLookups`: each read costs AWS calls, so only what the
decision depends on) or returns the plan. A rolled-out EdgeModel asks for the few reads
that show whether anything changed, and for everything only when they do; any pass asks
for the thing groups' members (their core devices) before it would deploy or judge a stage
in flight (a stage is judged on its groups' devices, not on a job's first batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from serving_operator.planning.edgemodel.actions import (
    Action,
    CreateDeployment,
    DeleteComponentVersion,
    Step,
    StopCompilationJob,
)
from serving_operator.planning.edgemodel.at_rest import (
    REST_RECHECK_SECONDS,
    expected_at_rest,
    groups_at_rest,
    rolled_out,
    rolled_out_outcome,
)
from serving_operator.planning.edgemodel.deployment import merged_deployment
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel
from serving_operator.planning.edgemodel.memory import Memory, StagePhase
from serving_operator.planning.edgemodel.observed import (
    RUNNING_COMPILATIONS,
    AtRestView,
    CompilationStatus,
    ComponentState,
    EdgeLookups,
    EdgeModelObservation,
    EdgeModelReads,
)
from serving_operator.planning.edgemodel.one_model_per_device import (
    COMPONENT_NAME_TOO_LONG,
    TARGETS_SHARE_DEVICES,
    component_name_problems,
    targets_sharing_devices,
)
from serving_operator.planning.edgemodel.rollout import NOTHING_TO_DEPLOY, plan_rollout
from serving_operator.planning.edgemodel.targets import (
    DEFAULT_PARALLEL_COMPILATIONS,
    TargetPhase,
    TargetView,
    plan_targets,
)
from serving_operator.planning.outcome import Outcome, OutcomeKind, Plan, Remember

COMPILING = "Compiling"
COMPILATION_FAILED = "CompilationFailed"
RETAINED = "Retained"
DELETED = "Deleted"
DELETING = "Deleting"
RETRY_REASON = "retry-compilation annotation"
FOLLOW_SECONDS = 2.0
"""How soon to look again when Stalled on one target while the others still progress."""


@dataclass(frozen=True)
class EdgeFindings:
    """What a pass found beyond its outcome, for status."""

    views: tuple[TargetView, ...] = ()
    """Where each target stands; empty when the pass did not look (at rest, deletion)."""
    current_stage: str | None = None
    """The stage rolling out (the last one once rolled out); None: not known this pass."""


EdgePlan = Plan[Step, EdgeFindings]


def plan_edge_model(
    desired: DesiredEdgeModel,
    observed: EdgeModelReads,
    memory: Memory,
    *,
    now: datetime,
    promotion: str | None,
    max_parallel: int = DEFAULT_PARALLEL_COMPILATIONS,
    rest_recheck_seconds: float = REST_RECHECK_SECONDS,
    retry: str | None = None,
) -> EdgePlan | EdgeLookups:
    """The next pass, or the reads it still needs (see the module's docstring); `now` is
    aware, in UTC."""
    too_long = component_name_problems(desired)
    if too_long:
        # CreateComponentVersion would refuse every publish: nothing to do until it changes.
        return Plan(
            (), Outcome.stalled(COMPONENT_NAME_TOO_LONG, "; ".join(too_long)), None, EdgeFindings()
        )
    full = observed.full
    if full is None:
        if rolled_out(desired, memory):
            if observed.at_rest is None:
                return at_rest_lookups(desired, memory)
            settled = plan_edge_model_at_rest(
                desired, observed.at_rest, memory, rest_recheck_seconds=rest_recheck_seconds
            )
            if settled is not None:
                return settled
        return EdgeLookups(everything=True)
    plan = plan_from_observation(
        desired,
        full,
        memory,
        now=now,
        promotion=promotion,
        max_parallel=max_parallel,
        rest_recheck_seconds=rest_recheck_seconds,
        retry=retry,
    )
    if full.members is None and (
        any(isinstance(s, CreateDeployment) for s in plan.actions) or _judges_in_flight(memory)
    ):
        # Who shares devices matters only before a deployment, and how many devices a stage
        # has only while it is judged: read the groups' members then, and decide again.
        return EdgeLookups(members=True)
    return plan


_IN_FLIGHT = frozenset({StagePhase.DEPLOYING, StagePhase.BAKING, StagePhase.AWAITING_PROMOTION})


def _judges_in_flight(memory: Memory) -> bool:
    """Whether this pass judges a stage by its devices' counts (one rolling out, not a roll
    back)."""
    return memory.rollback is None and any(s.phase in _IN_FLIGHT for s in memory.stages)


def plan_from_observation(
    desired: DesiredEdgeModel,
    observed: EdgeModelObservation,
    memory: Memory,
    *,
    now: datetime,
    promotion: str | None,
    max_parallel: int = DEFAULT_PARALLEL_COMPILATIONS,
    rest_recheck_seconds: float = REST_RECHECK_SECONDS,
    retry: str | None = None,
) -> EdgePlan:
    """The pass's plan from everything read (its last step remembers the new memory), with
    each target's view and the rollout's current stage. Once rolled out, the next pass comes
    `rest_recheck_seconds` later. Without `observed.members` it checks no shared devices:
    `plan_edge_model` asks for them before any deployment."""
    steps, views = plan_targets(desired, observed, max_parallel=max_parallel)
    published = memory.published | {v.component_arn for v in views if v.component_arn is not None}
    versions = {
        **memory.versions,
        **{t.component_name: (t.content_key, t.component_version) for t in desired.targets},
    }
    memory = replace(memory, published=frozenset(published), versions=versions)
    if retry is not None and retry != memory.consumed_retry:
        # A new retry-compilation token: the targets whose compilation failed get it in
        # their job names (recorded now; the next pass, from that status, creates the jobs).
        again = [
            v.target.name
            for v in views
            if v.job_status in (CompilationStatus.FAILED, CompilationStatus.STOPPED)
        ]
        memory = replace(
            memory,
            consumed_retry=retry,
            retries={**memory.retries, **dict.fromkeys(again, retry)},
        )
        if again:
            return Plan(
                (*steps, Remember(memory)),
                Outcome.progressing(
                    COMPILING, f"compiling again ({RETRY_REASON}): {', '.join(again)}"
                ),
                FOLLOW_SECONDS,
                EdgeFindings(views),
            )
    failed = [v for v in views if v.phase == TargetPhase.FAILED]
    failure = (
        Outcome.stalled(
            COMPILATION_FAILED,
            "; ".join(f"target {v.target.name}: {v.failure_reason}" for v in failed)
            # rollout_identity.group_components keeps what the groups run of a failed target.
            + " (thing groups keep the version of a failed target they run)",
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
        return Plan(
            (*steps, Remember(memory)),
            failure or outcome,
            FOLLOW_SECONDS if failure else None,
            EdgeFindings(views),
        )

    shared = targets_sharing_devices(desired, observed.members)
    if shared:
        # Deploying would give those devices two targets' models (or fail their whole
        # deployment on the platform that does not match): deploy nothing until it changes.
        return Plan(
            (*steps, Remember(memory)),
            Outcome.stalled(TARGETS_SHARE_DEVICES, "; ".join(shared)),
            None,
            EdgeFindings(views),
        )
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
    return Plan(
        (*steps, *rollout.steps, Remember(rollout.memory)),
        outcome,
        recheck,
        EdgeFindings(views, rollout.current_stage),
    )


def at_rest_lookups(desired: DesiredEdgeModel, memory: Memory) -> EdgeLookups:
    """What a pass of a rolled-out EdgeModel reads first: this spec's component versions (one
    DescribeComponent per target) and its groups' latest deployment IDs (`groups_at_rest`).
    Once it rolled out, nothing but drift can change its plan: compilation jobs are done and
    nothing rereads their output; the IoT jobs are judged only while a stage rolls out."""
    return EdgeLookups(
        component_versions=tuple((t.component_name, t.component_version) for t in desired.targets),
        latest_deployments=groups_at_rest(memory),
    )


def plan_edge_model_at_rest(
    desired: DesiredEdgeModel,
    view: AtRestView,
    memory: Memory,
    *,
    rest_recheck_seconds: float = REST_RECHECK_SECONDS,
) -> EdgePlan | None:
    """The pass of a rolled-out EdgeModel from what `at_rest_lookups` read, or None when
    everything must be read to decide: a version is gone or no longer DEPLOYABLE (publish it
    again, or Stalled), or a group's latest deployment is not the one the rollout left there
    (someone else deployed to it: merge ours again if it dropped them)."""
    assert rolled_out(desired, memory)
    for target in desired.targets:
        found = view.components.get((target.component_name, target.component_version))
        if found is None or found.state != ComponentState.DEPLOYABLE:
            return None
    for group, deployment_id in expected_at_rest(memory).items():
        if view.latest_deployments.get(group) != deployment_id:
            return None
    return Plan(
        (),
        rolled_out_outcome(desired),
        rest_recheck_seconds,
        EdgeFindings(current_stage=desired.stages[-1].name),
    )


def plan_edge_model_deletion(
    desired: DesiredEdgeModel,
    observed: EdgeModelReads,
    memory: Memory,
    *,
    retain: bool,
) -> EdgePlan | EdgeLookups:
    """One pass of deletion, or the reads it still needs; the resource may go once the
    outcome is Ready.

    Delete: stop in-flight compilation jobs, deploy each group again without our
    components, then (once no group runs them) delete the versions we published, which are
    those remembered and those found.
    """
    if retain:
        return Plan(
            (),
            Outcome.ready(RETAINED, "deletionPolicy is Retain: AWS objects kept"),
            findings=EdgeFindings(),
        )
    full = observed.full
    if full is None:
        return EdgeLookups(everything=True)
    published = full.published
    if published is None:
        found = {v.arn for v in full.components.values() if v is not None}
        if memory.published | found:
            return EdgeLookups(published=memory.published | found)
        published = {}
    return _plan_deletion(desired, full, published)


def _plan_deletion(
    desired: DesiredEdgeModel, observed: EdgeModelObservation, published: Mapping[str, bool]
) -> EdgePlan:
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
            DeleteComponentVersion(arn) for arn, exists in sorted(published.items()) if exists
        ]
    if steps or stopping:
        return Plan(
            tuple(steps),
            Outcome.progressing(DELETING, "stopping jobs, removing components from groups"),
            findings=EdgeFindings(),
        )
    return Plan(
        (),
        Outcome.ready(DELETED, "compilation jobs stopped, components removed"),
        findings=EdgeFindings(),
    )


def changes_made(steps: tuple[Step, ...]) -> tuple[Action, ...]:
    return tuple(s for s in steps if not isinstance(s, Remember))
