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

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from serving_operator.planning.edgemodel.actions import (
    Action,
    CreateComponentVersion,
    CreateDeployment,
    DeleteCompilationJob,
    DeleteCompiledModel,
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
from serving_operator.planning.edgemodel.rollout_identity import components_of
from serving_operator.planning.edgemodel.targets import (
    DEFAULT_PARALLEL_COMPILATIONS,
    TargetPhase,
    TargetView,
    plan_targets,
)
from serving_operator.planning.naming import content_hash
from serving_operator.planning.outcome import Outcome, OutcomeKind, Plan, Remember

COMPILING = "Compiling"
COMPILATION_FAILED = "CompilationFailed"
RETAINED = "Retained"
DELETED = "Deleted"
DELETING = "Deleting"
RETRY_REASON = "retry-compilation annotation"
COMPONENT_REFUSED = "ComponentRefused"
REFUSAL_RETRY_SECONDS = 600.0
"""How long a component version Greengrass refused is left Failed before the publish is
tried again (the cause, e.g. the artifact's bucket policy, may have been fixed meanwhile)."""
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
    """Whether this pass judges a stage, or a roll back, by its devices' counts."""
    if memory.rollback is not None:
        return not memory.rollback.done  # the roll back is judged by its devices
    return any(s.phase in _IN_FLIGHT for s in memory.stages)


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
    memory = replace(
        memory,
        refused={
            key: refusal
            for key, refusal in memory.refused.items()
            if (now - refusal.at).total_seconds() < REFUSAL_RETRY_SECONDS
            and observed.components.get(key) is None
        },
    )
    nonce = _publish_nonce(desired, observed, memory, now)
    steps, views = plan_targets(
        desired,
        observed,
        max_parallel=max_parallel,
        nonce=nonce,
        refused={key: refusal.message for key, refusal in memory.refused.items()},
    )
    if nonce != memory.publish_nonce and any(isinstance(s, CreateComponentVersion) for s in steps):
        # Written ahead of the publish: a retry after a lost answer uses the same token.
        memory = replace(memory, publish_nonce=nonce)
        steps = (Remember(memory), *steps)
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
            COMPONENT_REFUSED if all(v.refused for v in failed) else COMPILATION_FAILED,
            "; ".join(f"target {v.target.name}: {v.failure_reason}" for v in failed)
            # rollout_identity.group_components keeps what the groups run of a failed target.
            + " (thing groups keep the version of a failed target they run)",
        )
        if failed
        else None
    )
    retire = _retire(desired, observed, memory)
    busy = [v for v in views if v.phase not in (TargetPhase.READY, TargetPhase.FAILED)]
    if busy:
        outcome = Outcome.progressing(
            COMPILING,
            ", ".join(f"{v.target.name}: {v.phase.value.lower()}" for v in busy),
        )
        return Plan(
            (*steps, *retire, Remember(_deployed_to(desired, observed, memory, retire))),
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
        unhealthy=observed.unhealthy,
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
    made = (*rollout.steps, *retire)
    remembered = _deployed_to(desired, observed, _with_written(rollout.memory, made), made)
    return Plan(
        (*steps, *made, Remember(remembered)),
        outcome,
        recheck,
        EdgeFindings(views, rollout.current_stage),
    )


def _publish_nonce(
    desired: DesiredEdgeModel, observed: EdgeModelObservation, memory: Memory, now: datetime
) -> str:
    """The remembered nonce, or a new one when there is none yet (a new or re-created
    resource) or a version this resource published is gone (deleted by hand: its token may
    still be cached by Greengrass)."""
    gone = any(
        observed.components.get((t.component_name, t.component_version), True) is None
        and any(
            arn.endswith(f":components:{t.component_name}:versions:{t.component_version}")
            for arn in memory.published
        )
        for t in desired.targets
    )
    if memory.publish_nonce is not None and not gone:
        return memory.publish_nonce
    return content_hash([now.isoformat(), memory.publish_nonce])


def _retire(
    desired: DesiredEdgeModel, observed: EdgeModelObservation, memory: Memory
) -> tuple[CreateDeployment, ...]:
    """A deployment without our components for each thing group that still carries some
    (memory.deployed_to) but is meant for none of this spec's targets any more: a group
    dropped from the stages, or from a target's thingGroups. Other components stay."""
    wanted = components_of(desired, desired.targets)
    names = desired.component_names | memory.remembered_names
    steps = []
    for name in sorted(memory.deployed_to):
        group = observed.groups.get(name)
        if wanted.get(name) or group is None or group.arn is None:
            continue
        action = merged_deployment(
            thing_group=name,
            target_arn=group.arn,
            latest=group.latest,
            ours={},
            our_names=names,
            job_configuration={},
            failure_handling_policy=None,
            tags=dict(desired.tags),
            why="no longer in this EdgeModel's spec: removing its components",
            written=memory.written.get(name, {}),
        )
        if action is not None:
            steps.append(action)
    return tuple(steps)


def _deployed_to(
    desired: DesiredEdgeModel,
    observed: EdgeModelObservation,
    memory: Memory,
    steps: tuple[Step, ...],
) -> Memory:
    """`memory` with the groups that carry our components once `steps` are made: as found
    (every remembered group is read), then as each deployment leaves it (exactly its
    `ours` of our names)."""
    names = desired.component_names | memory.remembered_names
    deployed = dict(memory.deployed_to)
    for group_name, group in observed.groups.items():
        found = names & set(group.latest.components) if group.latest else frozenset()
        if found:
            deployed[group_name] = frozenset(found)
        elif group.arn is None or group_name in deployed:
            deployed.pop(group_name, None)
    for step in steps:
        if isinstance(step, CreateDeployment):
            if step.merge.ours:
                deployed[step.thing_group] = frozenset(step.merge.ours)
            else:
                deployed.pop(step.thing_group, None)
    return replace(memory, deployed_to=deployed)


def _with_written(memory: Memory, steps: tuple[Step, ...]) -> Memory:
    """`memory` with the group-wide settings each deployment of `steps` writes (remembered
    only once they all were made: the plan's last step)."""
    made = {s.thing_group: s.wrote for s in steps if isinstance(s, CreateDeployment)}
    if not made:
        return memory
    return replace(memory, written={**memory.written, **made})


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
    components (the spec's groups and every remembered one), then (once no group of ours
    runs them) delete the versions we published, which are those remembered and those
    found, except those some target's latest deployment still uses.
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
    return _plan_deletion(desired, full, published, memory)


def _plan_deletion(
    desired: DesiredEdgeModel,
    observed: EdgeModelObservation,
    published: Mapping[str, bool],
    memory: Memory,
) -> EdgePlan | EdgeLookups:
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
    names = desired.component_names | memory.remembered_names
    deployed_somewhere = False
    for group in observed.groups.values():
        latest = group.latest
        if group.arn is None or latest is None:
            continue
        if not names & set(latest.components):
            continue
        deployed_somewhere = True
        action = merged_deployment(
            thing_group=group.name,
            target_arn=group.arn,
            latest=latest,
            ours={},
            our_names=names,
            job_configuration={},
            failure_handling_policy=None,
            tags=dict(desired.tags),
            why="removing this EdgeModel's components",
            written=memory.written.get(group.name, {}),
        )
        if action is not None:
            steps.append(action)
    kept: list[str] = []
    if not deployed_somewhere:
        existing = [arn for arn, exists in sorted(published.items()) if exists]
        if existing and observed.in_use is None:
            # DeleteComponent breaks every deployment that refers to the version (botocore
            # greengrassv2 DeleteComponent): first look at every target's latest one.
            return EdgeLookups(in_use=names)
        in_use = observed.in_use or {}
        for arn in existing:
            users = _users(arn, in_use)
            if users:
                kept.append(f"{arn} (deployed by {', '.join(users)})")
            else:
                steps.append(DeleteComponentVersion(arn))
    if not steps and not stopping and not deployed_somewhere:
        # Last: the compilation jobs and what they wrote, except a kept version's.
        steps += _clean_up(desired, observed, kept)
    if steps or stopping:
        return Plan(
            tuple(steps),
            Outcome.progressing(DELETING, "stopping jobs, removing components from groups"),
            findings=EdgeFindings(),
        )
    done = "compilation jobs stopped, components removed, compiled models deleted"
    if kept:
        done += (
            "; kept the component versions other deployments still use (deleting them would"
            f" fail those deployments): {'; '.join(kept)}"
        )
    return Plan((), Outcome.ready(DELETED, done), findings=EdgeFindings())


def _clean_up(
    desired: DesiredEdgeModel, observed: EdgeModelObservation, kept: list[str]
) -> list[Step]:
    """Each target's finished compilation job and the model it wrote, unless the target's
    component version was kept (a deployment still uses it, and it names that model)."""
    steps: list[Step] = []
    for target in desired.targets:
        job = observed.compilations.get(target.job_name)
        if job is None or job.status in RUNNING_COMPILATIONS:
            continue
        suffix = f":components:{target.component_name}:versions:{target.component_version}"
        if any(suffix in k for k in kept):
            continue
        if job.artifact_uri:
            steps.append(DeleteCompiledModel(job.artifact_uri))
        steps.append(DeleteCompilationJob(job.name))
    return steps


_VERSION_ARN = re.compile(r":components:(?P<name>[^:]+):versions:(?P<version>[^:]+)$")


def _users(arn: str, in_use: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The deployment targets whose latest deployment carries the version `arn` names."""
    found = _VERSION_ARN.search(arn)
    if found is None:
        return []
    name, version = found["name"], found["version"]
    return sorted(target for target, used in in_use.items() if used.get(name) == version)


def changes_made(steps: tuple[Step, ...]) -> tuple[Action, ...]:
    return tuple(s for s in steps if not isinstance(s, Remember))
