"""One reconcile pass of an EdgeModel: read Neo, Greengrass and IoT, plan, execute."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import assert_never

from serving_operator.api.edgemodel import PROMOTE_ANNOTATION, DeletionPolicy, EdgeModelSpec
from serving_operator.aws.base import AwsError
from serving_operator.aws.clients import Clients, EdgeClients
from serving_operator.aws.sts import Sts
from serving_operator.planning.edgemodel.actions import (
    Action,
    CreateCompilationJob,
    CreateComponentVersion,
    CreateDeployment,
    DeleteComponentVersion,
    Remember,
    Step,
    StopCompilationJob,
)
from serving_operator.planning.edgemodel.desired import (
    DesiredEdgeModel,
    DesiredTarget,
    desired_edge_model,
)
from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.edgemodel.observed import (
    CompilationStatus,
    EdgeModelObservation,
    ObservedCompilation,
    ObservedComponentVersion,
    ObservedGroup,
)
from serving_operator.planning.edgemodel.planner import (
    groups_at_rest,
    plan_edge_model,
    plan_edge_model_at_rest,
    plan_edge_model_deletion,
    reads_only_component_versions,
)
from serving_operator.planning.edgemodel.rollout import REST_RECHECK_SECONDS
from serving_operator.planning.edgemodel.targets import TargetView
from serving_operator.planning.failures import AwsFailure, outcome_for_failure
from serving_operator.planning.outcome import Outcome, Plan

_GROUP_VIEW_ATTEMPTS = 3
"""Reads of a group's latest deployment and job before the view is taken as it is: more
than one supersession between two reads means a burst of merges, and the next pass sees it
settled."""


@cache
def _account(sts: Sts) -> str:
    return sts.caller_identity().account


def component_arn(region: str, account: str, name: str, version: str) -> str:
    return f"arn:aws:greengrass:{region}:{account}:components:{name}:versions:{version}"


def thing_group_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:iot:{region}:{account}:thinggroup/{name}"


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
        now: float | None = None,
    ) -> EdgeReconcileResult:
        desired = desired_edge_model(spec, namespace=namespace, name=name)
        result = EdgeReconcileResult(Outcome.progressing("Observing", ""), desired, memory)
        try:
            if reads_only_component_versions(desired, memory):
                at_rest = plan_edge_model_at_rest(
                    desired,
                    self._component_versions(desired.targets),
                    self._latest_deployment_ids(groups_at_rest(memory)),
                    memory,
                    rest_recheck_seconds=self._rest_recheck_seconds,
                )
                if at_rest is not None:
                    rest_plan, result.views, result.current_stage = at_rest
                    self._execute(rest_plan, result)
                    return result
            observed = self._observe(desired, memory, groups=True)
            moment = time.time() if now is None else now
            promotion = annotations.get(PROMOTE_ANNOTATION)
            plan, views, stage = plan_edge_model(
                desired,
                observed,
                memory,
                now=moment,
                promotion=promotion,
                rest_recheck_seconds=self._rest_recheck_seconds,
            )
            if any(isinstance(s, CreateDeployment) for s in plan.actions):
                # Who shares devices matters only before a deployment: read the groups'
                # members then, and let the planner decide again.
                observed = replace(observed, members=self._members(observed))
                plan, views, stage = plan_edge_model(
                    desired,
                    observed,
                    memory,
                    now=moment,
                    promotion=promotion,
                    rest_recheck_seconds=self._rest_recheck_seconds,
                )
            result.views, result.current_stage = views, stage
            result.recheck_after = plan.recheck_after
            self._execute(plan, result)
        except AwsError as error:
            self._fail(result, error)
        return result

    def delete(
        self, spec: EdgeModelSpec, *, namespace: str, name: str, memory: Memory
    ) -> EdgeReconcileResult:
        desired = desired_edge_model(spec, namespace=namespace, name=name)
        result = EdgeReconcileResult(Outcome.progressing("Deleting", ""), desired, memory)
        retain = spec.deletion_policy == DeletionPolicy.RETAIN
        try:
            observed = (
                EdgeModelObservation({}, {}, {})
                if retain
                else self._observe(desired, memory, groups=True, published=True)
            )
            self._execute(plan_edge_model_deletion(desired, observed, retain=retain), result)
        except AwsError as error:
            self._fail(result, error)
        return result

    def _observe(
        self,
        desired: DesiredEdgeModel,
        memory: Memory,
        *,
        groups: bool,
        published: bool = False,
    ) -> EdgeModelObservation:
        aws = self._aws
        compilations: dict[str, ObservedCompilation | None] = {
            t.job_name: aws.neo.describe(t.job_name) for t in desired.targets
        }
        components = self._component_versions(
            [
                t
                for t in desired.targets
                if (compilation := compilations[t.job_name]) is not None
                and compilation.status == CompilationStatus.COMPLETED
            ]
        )
        observed_groups: dict[str, ObservedGroup] = {}
        if groups:
            for group in desired.thing_groups:
                observed_groups[group] = self._observe_group(group)
        found: dict[str, bool] = {}
        if published:
            for arn in sorted(memory.published | {v.arn for v in components.values() if v}):
                found[arn] = aws.greengrass.describe_component(arn) is not None
        return EdgeModelObservation(compilations, components, observed_groups, found)

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
        self, targets: Sequence[DesiredTarget]
    ) -> dict[tuple[str, str], ObservedComponentVersion | None]:
        """The targets' component versions, by (name, version): one DescribeComponent each."""
        if not targets:
            return {}
        account, region = _account(self._aws.sts), self._aws.greengrass.region
        found: dict[tuple[str, str], ObservedComponentVersion | None] = {}
        for target in targets:
            key = (target.component_name, target.component_version)
            found[key] = self._aws.greengrass.describe_component(
                component_arn(region, account, *key)
            )
        return found

    def _latest_deployment_ids(self, groups: Sequence[str]) -> dict[str, str | None]:
        """Each group's latest deployment ID: one ListDeployments each (the group's ARN is
        built, not read)."""
        if not groups:
            return {}
        account, region = _account(self._aws.sts), self._aws.greengrass.region
        return {
            group: self._aws.greengrass.latest_deployment_id(
                thing_group_arn(region, account, group)
            )
            for group in groups
        }

    def _members(self, observed: EdgeModelObservation) -> dict[str, frozenset[str]]:
        return {
            name: self._aws.iot.things_in_group(name)
            for name, group in observed.groups.items()
            if group.arn is not None
        }

    def _execute(self, plan: Plan[Step], result: EdgeReconcileResult) -> None:
        """Carry out the steps in order; an AWS error stops the rest (memory included)."""
        aws = self._aws
        for step in plan.actions:
            match step:
                case Remember(memory=memory):
                    result.memory = memory
                    continue
                case CreateCompilationJob(job_name=job, request=request):
                    aws.neo.create(job, dict(request))
                case StopCompilationJob(job_name=job):
                    aws.neo.stop(job)
                case CreateComponentVersion():
                    aws.greengrass.create_component_version(step)
                case DeleteComponentVersion(arn=arn):
                    aws.greengrass.delete_component(arn)
                case CreateDeployment():
                    aws.greengrass.create_deployment(step, step.client_token)
                case _:
                    assert_never(step)
            result.executed.append(step)
        result.outcome = plan.outcome
        result.recheck_after = plan.recheck_after

    def _fail(self, result: EdgeReconcileResult, error: AwsError) -> None:
        result.aws_failure = error.failure
        result.outcome = outcome_for_failure(error.failure)
