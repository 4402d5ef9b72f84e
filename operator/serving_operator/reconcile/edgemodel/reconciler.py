"""One reconcile pass of an EdgeModel: read from Neo, Greengrass and IoT what the planner asks
for, execute its plan."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import assert_never

from serving_operator import edge_runtime
from serving_operator.api.edgemodel import (
    PROMOTE_ANNOTATION,
    RETRY_COMPILATION_ANNOTATION,
    DeletionPolicy,
    EdgeModelSpec,
)
from serving_operator.aws.base import AwsError
from serving_operator.aws.clients import Clients, EdgeClients
from serving_operator.aws.sts import Sts
from serving_operator.planning.edgemodel.actions import (
    Action,
    CancelDeployment,
    CreateCompilationJob,
    CreateComponentVersion,
    CreateDeployment,
    DeleteCompilationJob,
    DeleteCompiledModel,
    DeleteComponentVersion,
    PublishEntrypoint,
    StopCompilationJob,
)
from serving_operator.planning.edgemodel.at_rest import REST_RECHECK_SECONDS
from serving_operator.planning.edgemodel.deployment import rebased
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, desired_edge_model
from serving_operator.planning.edgemodel.memory import Memory, Refusal, next_source
from serving_operator.planning.edgemodel.observed import (
    AtRestView,
    CompilationStatus,
    ComponentKey,
    EdgeLookups,
    EdgeModelObservation,
    EdgeModelReads,
    ObservedCompilation,
    ObservedComponentVersion,
    ObservedGroup,
)
from serving_operator.planning.edgemodel.planner import (
    FOLLOW_SECONDS,
    EdgeFindings,
    plan_edge_model,
    plan_edge_model_deletion,
)
from serving_operator.planning.edgemodel.targets import TargetView
from serving_operator.planning.failures import AwsFailure
from serving_operator.planning.outcome import Outcome
from serving_operator.reconcile.passes import PassResult, failed_pass, run_pass

_GROUP_VIEW_ATTEMPTS = 3
"""Reads of a group's latest deployment and job before the view is taken as it is: more
than one supersession between two reads means a burst of merges, and the next pass sees it
settled."""


@cache
def _caller(sts: Sts) -> tuple[str, str]:
    """The partition and account of the operator's credentials: ARNs are built in them
    (aws, aws-cn for China, aws-us-gov for GovCloud: the caller's own ARN names it)."""
    identity = sts.caller_identity()
    return arn_partition(identity.arn), identity.account


def arn_partition(arn: str) -> str:
    """arn:<partition>:service:..., "aws" when `arn` names none."""
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def component_arn(
    region: str, account: str, name: str, version: str, *, partition: str = "aws"
) -> str:
    return f"arn:{partition}:greengrass:{region}:{account}:components:{name}:versions:{version}"


def thing_group_arn(region: str, account: str, name: str, *, partition: str = "aws") -> str:
    return f"arn:{partition}:iot:{region}:{account}:thinggroup/{name}"


EdgePass = PassResult[Action, Memory, EdgeFindings, EdgeModelReads]


@dataclass
class EdgeReconcileResult:
    outcome: Outcome
    desired: DesiredEdgeModel | None
    memory: Memory
    views: tuple[TargetView, ...] = ()
    current_stage: str | None = None
    executed: list[Action] = field(default_factory=list)
    recheck_after: float | None = None
    aws_failure: AwsFailure | None = None
    refusals: tuple[tuple[ComponentKey, str], ...] = ()
    """Component versions Greengrass refused to create in this pass, with its message."""


class EdgeModelReconciler:
    def __init__(
        self, clients: Clients, *, rest_recheck_seconds: float = REST_RECHECK_SECONDS
    ) -> None:
        if clients.edge is None:
            raise RuntimeError("the operator was built without Neo, Greengrass and IoT clients")
        self._aws: EdgeClients = clients.edge
        self._rest_recheck_seconds = rest_recheck_seconds
        self._refusals: dict[ComponentKey, str] = {}
        """The component versions Greengrass refused in this pass: their messages."""

    def reconcile(
        self,
        spec: EdgeModelSpec,
        *,
        namespace: str,
        name: str,
        memory: Memory,
        annotations: dict[str, str],
        now: datetime | None = None,
    ) -> EdgeReconcileResult:
        """One pass; `now` (aware, the clock's when None) is when stages start and gates open."""
        moment = datetime.now(UTC) if now is None else now
        # The source object as it is now: a new upload to the same key compiles again
        # (one HeadObject a pass; recorded before the jobs it names are created).
        try:
            revision = self._aws.s3.object_version(spec.source)
        except AwsError as error:
            # The pass's first read: failing here means what an AWS error in the loop means.
            stopped: EdgePass = failed_pass(memory, error)
            return _result(stopped, self._desired(spec, namespace, name, memory, moment))
        memory = replace(memory, source=next_source(memory.source, spec.source, revision))
        desired = self._desired(spec, namespace, name, memory, moment)
        promotion = annotations.get(PROMOTE_ANNOTATION)
        done: EdgePass = run_pass(
            memory=memory,
            observe=EdgeModelReads,  # nothing until the planner asks
            plan=lambda observed: plan_edge_model(
                desired,
                observed,
                memory,
                now=moment,
                promotion=promotion,
                rest_recheck_seconds=self._rest_recheck_seconds,
                retry=annotations.get(RETRY_COMPILATION_ANNOTATION),
            ),
            look_up=lambda lookups, observed: self._look_up(lookups, desired, observed, memory),
            execute=self._execute,
        )
        result = _result(done, desired)
        if self._refusals:
            refused = {k: Refusal(m, moment) for k, m in self._refusals.items()}
            result.memory = replace(result.memory, refused={**result.memory.refused, **refused})
            result.refusals = tuple(sorted(self._refusals.items()))
            # The next pass shows the target Failed with AWS's message.
            result.recheck_after = FOLLOW_SECONDS
            self._refusals = {}
        return result

    def delete(
        self, spec: EdgeModelSpec, *, namespace: str, name: str, memory: Memory
    ) -> EdgeReconcileResult:
        desired = self._desired(spec, namespace, name, memory, datetime.now(UTC))
        retain = spec.deletion_policy == DeletionPolicy.RETAIN
        done: EdgePass = run_pass(
            memory=memory,
            observe=EdgeModelReads,
            plan=lambda observed: plan_edge_model_deletion(
                desired, observed, memory, retain=retain
            ),
            look_up=lambda lookups, observed: self._look_up(lookups, desired, observed, memory),
            execute=self._execute,
        )
        return _result(done, desired)

    @staticmethod
    def _desired(
        spec: EdgeModelSpec, namespace: str, name: str, memory: Memory, now: datetime
    ) -> DesiredEdgeModel:
        return desired_edge_model(
            spec,
            namespace=namespace,
            name=name,
            versions=memory.versions,
            published=memory.published,
            now=now,
            source_revision=memory.source.revision if memory.source else 0,
            retries=memory.retries,
        )

    def _look_up(
        self,
        lookups: EdgeLookups,
        desired: DesiredEdgeModel,
        observed: EdgeModelReads,
        memory: Memory,
    ) -> EdgeModelReads:
        """Read what the planner asked for, and nothing else."""
        if lookups.at_rest:
            observed = replace(
                observed,
                at_rest=AtRestView(
                    self._component_versions(lookups.component_versions),
                    self._latest_deployment_ids(lookups.latest_deployments),
                ),
            )
        if lookups.everything:
            observed = replace(observed, full=self._observe(desired, memory))
        full = observed.full
        if lookups.published:
            assert full is not None  # asked for after everything else
            found = {
                arn: self._aws.greengrass.describe_component(arn) is not None
                for arn in sorted(lookups.published)
            }
            observed = replace(observed, full=replace(full, published=found))
        if lookups.in_use:
            assert full is not None  # deletion's last read
            observed = replace(
                observed,
                full=replace(
                    full, in_use=self._aws.greengrass.latest_components_of(lookups.in_use)
                ),
            )
        if lookups.members:
            assert full is not None  # asked for before a deployment, once all is read
            members, unhealthy = self._members(full)
            observed = replace(observed, full=replace(full, members=members, unhealthy=unhealthy))
        return observed

    def _observe(self, desired: DesiredEdgeModel, memory: Memory) -> EdgeModelObservation:
        """Every target's compilation job, the component versions of those compiled, and every
        thing group of the rollout, or that still carries our components (memory.deployed_to),
        as one view."""
        compilations: dict[str, ObservedCompilation | None] = {
            t.job_name: self._aws.neo.describe(t.job_name) for t in desired.targets
        }
        components = self._component_versions(
            [
                (t.component_name, t.component_version)
                for t in desired.targets
                if (compilation := compilations[t.job_name]) is not None
                and compilation.status == CompilationStatus.COMPLETED
            ]
        )
        names = dict.fromkeys([*desired.thing_groups, *sorted(memory.deployed_to)])
        groups = {group: self._observe_group(group) for group in names}
        return EdgeModelObservation(compilations, components, groups)

    def _observe_group(self, group: str) -> ObservedGroup:
        """The group's latest deployment and that deployment's IoT job, as one view.

        Greengrass cancels a deployment's job when a newer deployment to the same group
        supersedes it, which happens whenever several EdgeModels merge their components into
        one group. A job read as CANCELED may belong to a deployment superseded since it was
        listed: the cancellation is believed only once the group's latest deployment, listed
        again, is still the one the job belongs to."""
        aws = self._aws
        arn = aws.iot.thing_group_arn(group)
        if arn is None:
            return ObservedGroup(group, None, None, None)
        latest = aws.greengrass.latest_deployment(arn)
        job = None
        for _ in range(_GROUP_VIEW_ATTEMPTS):
            if latest is None or not latest.iot_job_id:
                return ObservedGroup(group, arn, latest, None)
            job = aws.iot.describe_job(latest.iot_job_id)
            if job is None or job.status != "CANCELED":
                break
            again = aws.greengrass.latest_deployment(arn)
            if again is None or again.deployment_id == latest.deployment_id:
                break
            latest, job = again, None
        if job is not None and job.counts.failed + job.counts.rejected + job.counts.timed_out:
            # Which devices failed and why: what a fleet operator acts on (status).
            job = replace(job, failed_devices=tuple(aws.iot.failed_devices(job.job_id)))
        return ObservedGroup(group, arn, latest, job)

    def _component_versions(
        self, keys: Sequence[ComponentKey]
    ) -> dict[ComponentKey, ObservedComponentVersion | None]:
        """Component versions by (name, version): one DescribeComponent each."""
        if not keys:
            return {}
        (partition, account), region = _caller(self._aws.sts), self._aws.greengrass.region
        return {
            key: self._aws.greengrass.describe_component(
                component_arn(region, account, *key, partition=partition)
            )
            for key in keys
        }

    def _latest_deployment_ids(self, groups: Sequence[str]) -> dict[str, str | None]:
        """Each group's latest deployment ID: one ListDeployments each (the group's ARN is
        built, not read)."""
        if not groups:
            return {}
        (partition, account), region = _caller(self._aws.sts), self._aws.greengrass.region
        return {
            group: self._aws.greengrass.latest_deployment_id(
                thing_group_arn(region, account, group, partition=partition)
            )
            for group in groups
        }

    def _members(
        self, observed: EdgeModelObservation
    ) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
        """The Greengrass core devices of each thing group that exists, child groups
        included: other things in a group get an IoT job execution that no nucleus ever
        answers, so they are neither shared devices nor devices a stage waits for. And the
        core devices Greengrass reports UNHEALTHY (the same ListCoreDevices pages)."""
        existing = [name for name, group in observed.groups.items() if group.arn is not None]
        if not existing:
            return {}, frozenset()
        statuses = self._aws.greengrass.core_device_statuses()
        core = frozenset(statuses)
        unhealthy = frozenset(t for t, status in statuses.items() if status == "UNHEALTHY")
        return {name: self._aws.iot.things_in_group(name) & core for name in existing}, unhealthy

    def _publish(self, action: CreateComponentVersion) -> bool:
        """CreateComponentVersion. Greengrass checks the recipe and reads every artifact then
        and there, and refuses with a ValidationException ("Specified artifact resource
        cannot be accessed": a missing object, a bucket in another Region, no access; GGv2
        developer guide, troubleshooting.md) or a ConflictException (botocore greengrassv2
        CreateComponentVersion errors). Such a refusal is this target's failure, kept in
        `refusals` for the pass's memory, and the other targets go on. A ConflictException
        for a version that exists is a retry after a lost answer: done."""
        try:
            self._aws.greengrass.create_component_version(action)
        except AwsError as error:
            if error.code not in _REFUSALS:
                raise
            if error.code == "ConflictException" and self._component_versions(
                [(action.component_name, action.version)]
            ).get((action.component_name, action.version)):
                return False
            self._refusals[(action.component_name, action.version)] = error.aws_message
            return False
        return True

    def _deploy(self, action: CreateDeployment) -> bool:
        """Make a merged deployment over the group's latest deployment as it is now: under the
        group's lock, read the latest again and merge over it if another writer deployed since
        the pass read it (CreateDeployment has no expected revision, botocore greengrassv2
        CreateDeploymentRequest, so a stale base would drop their components). False: the
        latest already carries ours."""
        greengrass = self._aws.greengrass
        with _group_lock(action.target_arn):
            now = rebased(action, greengrass.latest_deployment(action.target_arn))
            if now is None:
                return False
            greengrass.create_deployment(now, now.client_token)
        return True

    def _execute(self, action: Action) -> bool:
        """Carry out one action; AwsError stops the pass (run_pass keeps the memory before)."""
        aws = self._aws
        match action:
            case CreateCompilationJob(job_name=job, request=request):
                aws.neo.create(job, dict(request))
            case StopCompilationJob(job_name=job):
                aws.neo.stop(job)
            case DeleteCompilationJob(job_name=job):
                aws.neo.delete(job)
            case DeleteCompiledModel(uri=uri):
                aws.s3.delete(uri)
            case PublishEntrypoint(uri=uri):
                aws.s3.publish(uri, edge_runtime.entrypoint_source())
            case CreateComponentVersion():
                return self._publish(action)
            case DeleteComponentVersion(arn=arn):
                aws.greengrass.delete_component(arn)
            case CreateDeployment():
                return self._deploy(action)
            case CancelDeployment(deployment_id=deployment):
                aws.greengrass.cancel_deployment(deployment)
            case _:
                assert_never(action)
        return True


def _group_lock(target_arn: str) -> threading.Lock:
    """The operator's one lock per thing group: passes run in worker threads, and two
    EdgeModels merging into one group must not both build on the same latest deployment."""
    with _GROUP_LOCKS_GUARD:
        return _GROUP_LOCKS.setdefault(target_arn, threading.Lock())


_REFUSALS = frozenset({"ValidationException", "ConflictException"})
_GROUP_LOCKS: dict[str, threading.Lock] = {}
_GROUP_LOCKS_GUARD = threading.Lock()


def _result(done: EdgePass, desired: DesiredEdgeModel) -> EdgeReconcileResult:
    findings = done.findings or EdgeFindings()
    return EdgeReconcileResult(
        outcome=done.outcome,
        desired=desired,
        memory=done.memory,
        views=findings.views,
        current_stage=findings.current_stage,
        executed=done.executed,
        recheck_after=done.recheck_after,
        aws_failure=done.aws_failure,
    )
