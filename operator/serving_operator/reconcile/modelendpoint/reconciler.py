"""One reconcile pass of a ModelEndpoint: read what the planner asks for, execute its plan."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import assert_never

from serving_operator.api.modelendpoint import DeletionPolicy, ModelEndpointSpec
from serving_operator.aws.base import AwsError
from serving_operator.aws.clients import Clients
from serving_operator.aws.sagemaker import Effect
from serving_operator.planning.failures import AwsFailure, outcome_for_failure
from serving_operator.planning.modelendpoint.actions import (
    Action,
    AutoscalingAction,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteModel,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
    Remember,
    Step,
    TagEndpoint,
    UpdateEndpoint,
    UpdateWeightsAndCapacities,
    WarmUpModel,
)
from serving_operator.planning.modelendpoint.autoscaling import variant_resource_ids
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint, desired_endpoint
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.modelendpoint.observed import (
    Lookups,
    ModelEndpointObservation,
    ObservedEndpoint,
)
from serving_operator.planning.modelendpoint.planner import (
    plan_model_endpoint,
    plan_model_endpoint_deletion,
)
from serving_operator.planning.outcome import Outcome, Plan
from serving_operator.planning.ownership import owner_id

WARM_UP_BODY = b"{}"
MODELS_LISTED = 100
# Each round of reads answers everything the planner asked; it never needs more than a few.
_MAX_LOOKUP_ROUNDS = 5

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
        now: float | None = None,
    ) -> ReconcileResult:
        """One pass; `now` (epoch seconds, the clock's when None) dates what is remembered."""
        desired = replace(
            desired_endpoint(spec, namespace=namespace, name=name),
            weights_managed_by=weights_managed_by,
        )
        result = ReconcileResult(Outcome.progressing("Observing", ""), None, desired, memory=memory)
        owner = owner_id(namespace, name)
        moment = time.time() if now is None else now
        try:
            observed = ModelEndpointObservation(
                self._aws.sagemaker.describe_endpoint(desired.endpoint_name, now=moment)
            )
            result.endpoint = observed.endpoint
            plan, observed = self._decide(
                lambda seen: plan_model_endpoint(
                    desired, seen, memory, owner=owner, adopt=spec.adopt, now=moment
                ),
                observed,
                desired,
                owner,
                moment,
            )
            # A read made is reported even if a write after it fails (the plan remembers it).
            result.models_listed = {k: list(v) for k, v in observed.models_listed.items()}
            self._execute(plan, result)
        except AwsError as error:
            self._fail(result, error)
        return result

    def delete(
        self, spec: ModelEndpointSpec, *, namespace: str, name: str, memory: Memory
    ) -> ReconcileResult:
        """One pass of deletion; call again until the outcome is Ready."""
        endpoint_name = spec.endpoint_name or name
        owner = owner_id(namespace, name)
        result = ReconcileResult(Outcome.progressing("Deleting", ""), None, None, memory=memory)

        def plan(observed: ModelEndpointObservation) -> Plan[Step] | Lookups:
            return plan_model_endpoint_deletion(
                endpoint_name,
                frozenset(v.name for v in spec.variants),
                observed,
                memory,
                owner=owner,
                retain=spec.deletion_policy == DeletionPolicy.RETAIN,
                autoscaled=any(v.autoscaling for v in spec.variants),
            )

        try:
            observed = ModelEndpointObservation(None)
            if spec.deletion_policy != DeletionPolicy.RETAIN:
                observed = ModelEndpointObservation(
                    self._aws.sagemaker.describe_endpoint(endpoint_name)
                )
            result.endpoint = observed.endpoint
            decided = self._decide(plan, observed, endpoint_name, owner, time.time())
            self._execute(decided[0], result)
        except AwsError as error:
            self._fail(result, error)
        return result

    def _decide(
        self,
        plan: Callable[[ModelEndpointObservation], Plan[Step] | Lookups],
        observed: ModelEndpointObservation,
        target: DesiredEndpoint | str,
        owner: str,
        now: float,
    ) -> tuple[Plan[Step], ModelEndpointObservation]:
        """Plan, reading what the planner asks for until it can decide."""
        decision = plan(observed)
        for _ in range(_MAX_LOOKUP_ROUNDS):
            if not isinstance(decision, Lookups):
                return decision, observed
            observed = self._look_up(decision, target, owner, observed, now)
            decision = plan(observed)
        raise RuntimeError(f"the planner kept asking for reads: {decision}")

    def _look_up(
        self,
        lookups: Lookups,
        target: DesiredEndpoint | str,
        owner: str,
        observed: ModelEndpointObservation,
        now: float,
    ) -> ModelEndpointObservation:
        """Read what the planner asked for, and nothing else. `target` is the desired
        endpoint, or only its name when the resource is being deleted; `now` dates a shared
        scaling read."""
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
                shared_since=shared_since,
                now=now,
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

    def _execute(self, plan: Plan[Step], result: ReconcileResult) -> None:
        """Carry out the steps in order; an AWS error stops the rest (memory included)."""
        for step in plan.actions:
            match step:
                case Remember(memory=memory):
                    result.memory = memory
                case WarmUpModel():
                    result.warm_ups.append(self._warm_up(step))
                case RegisterScalableTarget() | PutScalingPolicy() | DeregisterScalableTarget():
                    self._apply_autoscaling(step, result)
                case CreateModel() | CreateEndpointConfig():
                    self._create_hashed(step, result)
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
                    result.executed.append(step)
                case _:
                    assert_never(step)
        result.outcome = plan.outcome

    def _create_hashed(self, action: HashedCreate, result: ReconcileResult) -> None:
        if self._aws.sagemaker.execute(action) == Effect.EXISTED:
            result.found_existing.append(action)
        else:
            result.executed.append(action)

    def _apply_autoscaling(self, action: AutoscalingAction, result: ReconcileResult) -> None:
        self._aws.autoscaling.execute(action)
        result.executed.append(action)

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

    def _fail(self, result: ReconcileResult, error: AwsError) -> None:
        result.aws_failure = error.failure
        result.outcome = outcome_for_failure(error.failure)
