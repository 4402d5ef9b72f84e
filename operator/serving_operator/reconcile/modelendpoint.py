"""One reconcile pass of a ModelEndpoint against SageMaker and Application Auto Scaling."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from serving_operator.api.modelendpoint import DeletionPolicy, ModelEndpointSpec
from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import AwsError
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.planning.actions import (
    Action,
    CreateEndpoint,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
    TagEndpoint,
    UpdateEndpoint,
)
from serving_operator.planning.autoscaling import plan_autoscaling, variant_resource_ids
from serving_operator.planning.desired import (
    DesiredEndpoint,
    ModelDefinition,
    desired_endpoint,
    owner_id,
)
from serving_operator.planning.endpoint import (
    needs_artifacts,
    plan_cleanup,
    plan_deletion,
    plan_endpoint,
)
from serving_operator.planning.observed import ObservedEndpoint
from serving_operator.planning.outcome import Outcome, OutcomeKind, Plan

WARM_UP_BODY = b"{}"
MODELS_LISTED = 100


@dataclass(frozen=True)
class Memory:
    """What the operator keeps in status between passes (all of it can be re-derived)."""

    attempted_config: str | None = None
    """The config the endpoint was last switched to; tells a failed update from a new one."""
    cleaned_for_config: str | None = None
    """The config after whose rollout unused configs and models were last deleted."""
    warmed_for_config: str | None = None
    """The config whose multi-model target models were last warmed up."""
    scaling_registered: bool = False
    """Whether any variant had autoscaling registered at the last check."""


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
    memory: Memory = Memory()
    aws_error: AwsError | None = None
    models_found: dict[str, list[str]] = field(default_factory=dict)
    warm_ups: list[WarmUp] = field(default_factory=list)


@dataclass(frozen=True)
class Clients:
    sagemaker: SageMaker
    autoscaling: ApplicationAutoScaling
    s3: S3
    runtime: SageMakerRuntime


class ModelEndpointReconciler:
    def __init__(self, clients: Clients) -> None:
        self._aws = clients

    def reconcile(
        self, spec: ModelEndpointSpec, *, namespace: str, name: str, memory: Memory
    ) -> ReconcileResult:
        desired = desired_endpoint(spec, namespace=namespace, name=name)
        result = ReconcileResult(Outcome.progressing("Observing", ""), None, desired, memory=memory)
        try:
            self._reconcile(spec, desired, owner_id(namespace, name), result)
        except AwsError as error:
            self._fail(result, error)
        return result

    def _reconcile(
        self, spec: ModelEndpointSpec, desired: DesiredEndpoint, owner: str, result: ReconcileResult
    ) -> None:
        sm = self._aws.sagemaker
        endpoint = result.endpoint = sm.describe_endpoint(desired.endpoint_name)
        artifacts = sm.observe_artifacts(desired) if needs_artifacts(desired, endpoint) else None
        plan = plan_endpoint(
            desired, endpoint, artifacts, last_attempted_config=result.memory.attempted_config
        )
        # Ownership costs a ListTags call, so it is checked only before a write.
        if plan.actions and endpoint is not None:
            current_owner = sm.owner_of(endpoint.arn)
            if current_owner is None and spec.adopt:
                plan = replace(
                    plan, actions=(TagEndpoint(endpoint.arn, desired.tags), *plan.actions)
                )
            elif current_owner != owner:
                hint = (
                    "set spec.adopt: true to take it over"
                    if current_owner is None
                    else f"it belongs to {current_owner}"
                )
                result.outcome = Outcome.stalled(
                    "EndpointNotOwned",
                    f"SageMaker endpoint {endpoint.name} exists and was not created by this"
                    f" resource ({hint}), or choose another spec.endpointName",
                )
                return
        if result.memory.scaling_registered and any(
            isinstance(a, UpdateEndpoint) for a in plan.actions
        ):
            # SageMaker refuses an update that changes the instance type of (or removes) a
            # variant that is a scalable target: stand autoscaling down for the update; it is
            # registered again once the endpoint is InService on the new config.
            self._deregister_scaling(
                desired.endpoint_name,
                {v.name for v in endpoint.variants} if endpoint else set(),
                result,
            )
            result.memory = replace(result.memory, scaling_registered=False)
        self._execute(plan, result)
        for action in result.executed:
            if isinstance(action, CreateEndpoint | UpdateEndpoint):
                result.memory = replace(result.memory, attempted_config=action.config_name)
        if plan.outcome.kind == OutcomeKind.READY:
            self._after_rollout(desired, owner, result)
        elif plan.outcome.reason == "UpdateFailed" and endpoint is not None and desired.autoscaled:
            # SageMaker rolled back to the old config: keep scaling the variants it still runs
            # (autoscaling was stood down for the update) until the spec is fixed.
            running = {v.name for v in endpoint.variants}
            self._sync_autoscaling(
                replace(desired, variants=tuple(v for v in desired.variants if v.name in running)),
                result,
            )

    def _after_rollout(self, desired: DesiredEndpoint, owner: str, result: ReconcileResult) -> None:
        """Work that needs the endpoint InService on the desired config."""
        sm = self._aws.sagemaker
        memory = result.memory
        if memory.cleaned_for_config != desired.config_name:
            cleanup = plan_cleanup(
                desired,
                sm.owned_configs(desired.endpoint_name, owner),
                sm.owned_models(desired.endpoint_name, owner),
            )
            self._execute(Plan(cleanup, result.outcome), result)
            result.memory = replace(result.memory, cleaned_for_config=desired.config_name)

        if desired.autoscaled or memory.scaling_registered:
            self._sync_autoscaling(desired, result)

        models = {m.name: m for m in desired.models}
        for variant in desired.variants:
            model = models[variant.model_name]
            if model.multi_model_prefix is not None:
                found = self._aws.s3.list_models(model.multi_model_prefix, MODELS_LISTED)
                result.models_found[variant.name] = found
        if result.memory.warmed_for_config != desired.config_name:
            self._warm_up(desired, models, result)
            result.memory = replace(result.memory, warmed_for_config=desired.config_name)

    def _sync_autoscaling(self, desired: DesiredEndpoint, result: ReconcileResult) -> None:
        """Make Application Auto Scaling match the spec for the endpoint's variants."""
        names = {v.name for v in desired.variants}
        if result.endpoint is not None:
            names |= {v.name for v in result.endpoint.variants}
        observed = self._aws.autoscaling.observe(
            variant_resource_ids(desired.endpoint_name, frozenset(names))
        )
        for action in plan_autoscaling(desired, observed):
            self._apply(action, result)
        result.memory = replace(result.memory, scaling_registered=bool(desired.autoscaled))

    def _warm_up(
        self, desired: DesiredEndpoint, models: dict[str, ModelDefinition], result: ReconcileResult
    ) -> None:
        """Load each listed target model once per variant, so no user pays its cold start."""
        for variant in desired.variants:
            model = models[variant.model_name]
            if not model.warm_up:
                continue
            for target in model.target_models:
                try:
                    call = self._aws.runtime.invoke(
                        desired.endpoint_name,
                        WARM_UP_BODY,
                        variant=variant.name,
                        target_model=target,
                    )
                except AwsError as error:
                    result.warm_ups.append(WarmUp(variant.name, target, None, str(error)))
                    continue
                result.warm_ups.append(WarmUp(variant.name, target, round(call.seconds * 1000, 1)))

    def _apply(self, action: Action, result: ReconcileResult) -> None:
        if isinstance(action, RegisterScalableTarget | PutScalingPolicy | DeregisterScalableTarget):
            self._aws.autoscaling.execute(action)
        else:
            self._aws.sagemaker.execute(action)
        result.executed.append(action)

    def _execute(self, plan: Plan, result: ReconcileResult) -> None:
        for action in plan.actions:
            self._apply(action, result)
        result.outcome = plan.outcome

    def _fail(self, result: ReconcileResult, error: AwsError) -> None:
        result.aws_error = error
        if error.transient:
            result.outcome = Outcome.progressing(
                "AwsUnavailable", f"AWS is busy or unavailable, retrying: {error}"
            )
        else:
            result.outcome = Outcome.stalled("AwsRejected", f"AWS rejected a request: {error}")

    def delete(
        self, spec: ModelEndpointSpec, *, namespace: str, name: str, memory: Memory = Memory()
    ) -> ReconcileResult:
        """One pass of deletion; call again until the outcome is Ready."""
        endpoint_name = spec.endpoint_name or name
        if spec.deletion_policy == DeletionPolicy.RETAIN:
            return ReconcileResult(
                Outcome.ready(
                    "Retained", f"deletionPolicy is Retain: endpoint {endpoint_name} left in AWS"
                ),
                None,
                None,
            )
        owner = owner_id(namespace, name)
        sm = self._aws.sagemaker
        result = ReconcileResult(Outcome.progressing("Deleting", ""), None, None, memory=memory)
        try:
            endpoint = result.endpoint = sm.describe_endpoint(endpoint_name)
            if endpoint is not None and sm.owner_of(endpoint.arn) != owner:
                endpoint = None  # not ours: leave it, but still remove our configs and models
            gone = endpoint is None
            owned_configs = sm.owned_configs(endpoint_name, owner) if gone else frozenset()
            owned_models = sm.owned_models(endpoint_name, owner) if gone else frozenset()
            self._execute(
                plan_deletion(endpoint_name, endpoint, owned_configs, owned_models), result
            )
            if gone and (memory.scaling_registered or any(v.autoscaling for v in spec.variants)):
                self._deregister_scaling(endpoint_name, {v.name for v in spec.variants}, result)
        except AwsError as error:
            self._fail(result, error)
        return result

    def _deregister_scaling(
        self, endpoint_name: str, variant_names: set[str], result: ReconcileResult
    ) -> None:
        """Scalable targets outlive their endpoint in Application Auto Scaling: remove ours."""
        nothing_wanted = DesiredEndpoint(endpoint_name, "", (), (), ())
        observed = self._aws.autoscaling.observe(
            variant_resource_ids(endpoint_name, frozenset(variant_names))
        )
        for action in plan_autoscaling(nothing_wanted, observed):
            self._apply(action, result)
