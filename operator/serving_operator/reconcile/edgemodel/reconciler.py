"""One reconcile pass of an EdgeModel: read from Neo, Greengrass and IoT what the planner asks
for, execute its plan."""

from __future__ import annotations

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
from serving_operator.aws.clients import Clients, EdgeClients
from serving_operator.aws.sts import Sts
from serving_operator.planning.edgemodel.actions import (
    Action,
    CancelDeployment,
    CreateCompilationJob,
    CreateComponentVersion,
    CreateDeployment,
    DeleteComponentVersion,
    PublishEntrypoint,
    StopCompilationJob,
)
from serving_operator.planning.edgemodel.at_rest import REST_RECHECK_SECONDS
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, desired_edge_model
from serving_operator.planning.edgemodel.memory import Memory, next_source
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
    EdgeFindings,
    plan_edge_model,
    plan_edge_model_deletion,
)
from serving_operator.planning.edgemodel.targets import TargetView
from serving_operator.planning.failures import AwsFailure
from serving_operator.planning.outcome import Outcome
from serving_operator.reconcile.passes import PassResult, run_pass

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


class EdgeModelReconciler:
    def __init__(
        self, clients: Clients, *, rest_recheck_seconds: float = REST_RECHECK_SECONDS
    ) -> None:
        if clients.edge is None:
            raise RuntimeError("the operator was built without Neo, Greengrass and IoT clients")
        self._aws: EdgeClients = clients.edge
        self._rest_recheck_seconds = rest_recheck_seconds

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
        memory = replace(
            memory,
            source=next_source(
                memory.source, spec.source, self._aws.s3.object_version(spec.source)
            ),
        )
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
            look_up=lambda lookups, observed: self._look_up(lookups, desired, observed),
            execute=self._execute,
        )
        return _result(done, desired)

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
            look_up=lambda lookups, observed: self._look_up(lookups, desired, observed),
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
        self, lookups: EdgeLookups, desired: DesiredEdgeModel, observed: EdgeModelReads
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
            observed = replace(observed, full=self._observe(desired))
        full = observed.full
        if lookups.published:
            assert full is not None  # asked for after everything else
            found = {
                arn: self._aws.greengrass.describe_component(arn) is not None
                for arn in sorted(lookups.published)
            }
            observed = replace(observed, full=replace(full, published=found))
        if lookups.members:
            assert full is not None  # asked for before a deployment, once all is read
            observed = replace(observed, full=replace(full, members=self._members(full)))
        return observed

    def _observe(self, desired: DesiredEdgeModel) -> EdgeModelObservation:
        """Every target's compilation job, the component versions of those compiled, and every
        thing group of the rollout as one view."""
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
        groups = {group: self._observe_group(group) for group in desired.thing_groups}
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

    def _members(self, observed: EdgeModelObservation) -> dict[str, frozenset[str]]:
        """The Greengrass core devices of each thing group that exists, child groups
        included: other things in a group get an IoT job execution that no nucleus ever
        answers, so they are neither shared devices nor devices a stage waits for."""
        existing = [name for name, group in observed.groups.items() if group.arn is not None]
        if not existing:
            return {}
        core = self._aws.greengrass.core_devices()
        return {name: self._aws.iot.things_in_group(name) & core for name in existing}

    def _execute(self, action: Action) -> bool:
        """Carry out one action; AwsError stops the pass (run_pass keeps the memory before)."""
        aws = self._aws
        match action:
            case CreateCompilationJob(job_name=job, request=request):
                aws.neo.create(job, dict(request))
            case StopCompilationJob(job_name=job):
                aws.neo.stop(job)
            case PublishEntrypoint(uri=uri):
                aws.s3.publish(uri, edge_runtime.entrypoint_source())
            case CreateComponentVersion():
                aws.greengrass.create_component_version(action)
            case DeleteComponentVersion(arn=arn):
                aws.greengrass.delete_component(arn)
            case CreateDeployment():
                aws.greengrass.create_deployment(action, action.client_token)
            case CancelDeployment(deployment_id=deployment):
                aws.greengrass.cancel_deployment(deployment)
            case _:
                assert_never(action)
        return True


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
