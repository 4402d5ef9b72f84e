"""One reconcile pass of a ModelEndpoint: read what the planner asks for, execute its plan."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import assert_never

from serving_operator.api.modelendpoint import DeletionPolicy, ModelEndpointSpec
from serving_operator.aws.base import AwsError
from serving_operator.aws.clients import Clients
from serving_operator.aws.sagemaker import Effect
from serving_operator.planning.failures import AwsFailure
from serving_operator.planning.modelendpoint.actions import (
    Action,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteModel,
    DeleteScaleOutAlarm,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    PutScaleOutAlarm,
    PutScalingPolicy,
    RegisterScalableTarget,
    TagEndpoint,
    UpdateEndpoint,
    UpdateWeightsAndCapacities,
    WarmUpModel,
)
from serving_operator.planning.modelendpoint.autoscaling import variant_resource_ids
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint, desired_endpoint
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.modelendpoint.observed import (
    EndpointLookups,
    ModelEndpointObservation,
    ObservedEndpoint,
)
from serving_operator.planning.modelendpoint.planner import (
    plan_model_endpoint,
    plan_model_endpoint_deletion,
)
from serving_operator.planning.outcome import Outcome
from serving_operator.planning.ownership import owner_id
from serving_operator.reconcile.passes import ObservationOutdatedError, PassResult, run_pass

WARM_UP_BODY = b"{}"
MODELS_LISTED = 100

EndpointPass = PassResult[Action | WarmUpModel, Memory, None, ModelEndpointObservation]
HashedCreate = CreateModel | CreateEndpointConfig
"""The creates whose names are content hashes: SageMaker answering "exists" means an earlier
attempt made the very same object, so the create is done."""


@dataclass(frozen=True)
class WarmUp:
    variant: str
    target_model: str
    milliseconds: float | None
    error: str | None = None


@dataclass
class ReconcileResult:
    outcome: Outcome
    endpoint: ObservedEndpoint | None
    desired: DesiredEndpoint | None
    executed: list[Action] = field(default_factory=list)
    found_existing: list[HashedCreate] = field(default_factory=list)
    """Creates SageMaker refused as the object was there already: done, by an earlier pass."""
    memory: Memory = field(default_factory=Memory)
    aws_failure: AwsFailure | None = None
    models_listed: dict[str, list[str]] = field(default_factory=dict)
    """By multi-model S3 prefix: the model files found, for the prefixes listed in this pass."""
    warm_ups: list[WarmUp] = field(default_factory=list)


class ModelEndpointReconciler:
    def __init__(self, clients: Clients) -> None:
        self._aws = clients

    def reconcile(
        self,
        spec: ModelEndpointSpec,
        *,
        namespace: str,
        name: str,
        memory: Memory,
        weights_managed_by: str | None = None,
        now: datetime | None = None,
    ) -> ReconcileResult:
        """One pass; `now` (timezone-aware, the clock's when None, read once) dates what is
        remembered."""
        desired = replace(
            desired_endpoint(spec, namespace=namespace, name=name),
            weights_managed_by=weights_managed_by,
        )
        owner = owner_id(namespace, name)
        moment = datetime.now(UTC) if now is None else now
        executor = EndpointExecutor(self._aws)
        done: EndpointPass = run_pass(
            memory=memory,
            observe=lambda: ModelEndpointObservation(
                self._aws.sagemaker.describe_endpoint(desired.endpoint_name, now=moment.timestamp())
            ),
            plan=lambda seen: plan_model_endpoint(
                desired, seen, memory, owner=owner, adopt=spec.adopt, now=moment
            ),
            look_up=lambda lookups, seen: self._look_up(lookups, desired, owner, seen, moment),
            execute=executor.execute,
        )
        return executor.result(done, desired)

    def delete(
        self, spec: ModelEndpointSpec, *, namespace: str, name: str, memory: Memory
    ) -> ReconcileResult:
        """One pass of deletion; call again until the outcome is Ready."""
        endpoint_name = spec.endpoint_name or name
        owner = owner_id(namespace, name)
        retain = spec.deletion_policy == DeletionPolicy.RETAIN
        moment = datetime.now(UTC)
        executor = EndpointExecutor(self._aws)
        done: EndpointPass = run_pass(
            memory=memory,
            # A retained endpoint is not even read: nothing of it will be touched.
            observe=lambda: ModelEndpointObservation(
                None if retain else self._aws.sagemaker.describe_endpoint(endpoint_name)
            ),
            plan=lambda seen: plan_model_endpoint_deletion(
                endpoint_name,
                frozenset(v.name for v in spec.variants),
                seen,
                memory,
                owner=owner,
                retain=retain,
                autoscaled=any(v.autoscaling for v in spec.variants),
            ),
            look_up=lambda lookups, seen: self._look_up(
                lookups, endpoint_name, owner, seen, moment
            ),
            execute=executor.execute,
        )
        return executor.result(done, None)

    def _look_up(
        self,
        lookups: EndpointLookups,
        target: DesiredEndpoint | str,
        owner: str,
        observed: ModelEndpointObservation,
        now: datetime,
    ) -> ModelEndpointObservation:
        """Read what the planner asked for, and nothing else. `target` is the desired
        endpoint, or only its name when the resource is being deleted; `now` dates a shared
        scaling read (the autoscaling adapter keeps its reads in epoch seconds)."""
        sm = self._aws.sagemaker
        desired = target if isinstance(target, DesiredEndpoint) else None
        endpoint_name = desired.endpoint_name if desired else str(target)
        if lookups.artifacts:
            assert desired is not None
            observed = replace(observed, artifacts=sm.observe_artifacts(desired))
        if lookups.owner:
            assert observed.endpoint is not None
            observed = replace(observed, owner=sm.owner_of(observed.endpoint.arn))
        if lookups.owned_objects:
            observed = replace(
                observed,
                owned_configs=sm.owned_configs(endpoint_name, owner),
                owned_models=sm.owned_models(endpoint_name, owner),
            )
        if lookups.scaling_variants:
            shared_since = lookups.scaling_shared_since
            scaling = self._aws.autoscaling.observe(
                variant_resource_ids(endpoint_name, lookups.scaling_variants),
                shared_since=shared_since.timestamp() if shared_since is not None else None,
                now=now.timestamp(),
            )
            observed = replace(
                observed,
                scaling=scaling,
                scaling_read_for=lookups.scaling_variants,
                scaling_shared=shared_since is not None,
            )
        if lookups.model_prefixes:
            listed = dict(observed.models_listed)
            for prefix in sorted(lookups.model_prefixes):
                listed[prefix] = tuple(self._aws.s3.list_models(prefix, MODELS_LISTED))
            observed = replace(observed, models_listed=listed)
        return observed


class EndpointExecutor:
    """Carries out a ModelEndpoint plan's actions and keeps what only this kind reports: the
    hashed creates found done already and the warm-ups' timings."""

    def __init__(self, aws: Clients) -> None:
        self._aws = aws
        self.found_existing: list[HashedCreate] = []
        self.warm_ups: list[WarmUp] = []

    def execute(self, step: Action | WarmUpModel) -> bool:
        match step:
            case WarmUpModel():
                self.warm_ups.append(self._warm_up(step))
                return False
            case (
                RegisterScalableTarget()
                | PutScalingPolicy()
                | DeregisterScalableTarget()
                | DeleteScalingPolicy()
            ):
                self._aws.autoscaling.execute(step)
                return True
            case PutScaleOutAlarm(resource_id=rid, policy_name=policy, alarm_name=name):
                arn = self._aws.autoscaling.policy_arn(rid, policy)
                if arn is None:
                    raise ObservationOutdatedError(
                        f"scaling policy {policy} of {rid}, which alarm {name} must name,"
                        " is gone since it was read"
                    )
                self._aws.cloudwatch.put_alarm({"AlarmName": name, **step.alarm}, [arn])
                return True
            case DeleteScaleOutAlarm(alarm_name=name):
                self._aws.cloudwatch.delete_alarm(name)
                return True
            case CreateModel() | CreateEndpointConfig():
                if self._aws.sagemaker.execute(step) == Effect.EXISTED:
                    self.found_existing.append(step)
                    return False
                return True
            case (
                CreateEndpoint()
                | UpdateEndpoint()
                | UpdateWeightsAndCapacities()
                | TagEndpoint()
                | DeleteEndpoint()
                | DeleteEndpointConfig()
                | DeleteModel()
            ):
                self._aws.sagemaker.execute(step)
                return True
            case _:
                assert_never(step)

    def _warm_up(self, step: WarmUpModel) -> WarmUp:
        """A failed warm-up is reported in status; it does not fail the pass."""
        try:
            call = self._aws.runtime.invoke(
                step.endpoint_name,
                WARM_UP_BODY,
                variant=step.variant_name,
                target_model=step.target_model,
            )
        except AwsError as error:
            return WarmUp(step.variant_name, step.target_model, None, str(error))
        return WarmUp(step.variant_name, step.target_model, round(call.seconds * 1000, 1))

    def result(
        self,
        done: EndpointPass,
        desired: DesiredEndpoint | None,
    ) -> ReconcileResult:
        observed = done.observed
        return ReconcileResult(
            outcome=done.outcome,
            endpoint=observed.endpoint if observed else None,
            desired=desired,
            executed=[step for step in done.executed if not isinstance(step, WarmUpModel)],
            found_existing=self.found_existing,
            memory=done.memory,
            aws_failure=done.aws_failure,
            # A read made is reported even if a write after it fails (the plan remembers it).
            models_listed={k: list(v) for k, v in observed.models_listed.items()}
            if observed
            else {},
            warm_ups=self.warm_ups,
        )
