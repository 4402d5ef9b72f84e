"""One reconcile pass of a ModelEndpoint against SageMaker."""

from __future__ import annotations

from dataclasses import dataclass, field

from serving_operator.api.modelendpoint import DeletionPolicy, ModelEndpointSpec
from serving_operator.aws.base import AwsError
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.planning.actions import Action, CreateEndpoint, UpdateEndpoint
from serving_operator.planning.desired import DesiredEndpoint, desired_endpoint, owner_id
from serving_operator.planning.endpoint import (
    needs_artifacts,
    plan_cleanup,
    plan_deletion,
    plan_endpoint,
)
from serving_operator.planning.observed import ObservedEndpoint
from serving_operator.planning.outcome import Outcome, OutcomeKind, Plan


@dataclass(frozen=True)
class Memory:
    """What the operator keeps in status between passes (all of it can be re-derived)."""

    attempted_config: str | None = None
    """The config the endpoint was last switched to; tells a failed update from a new one."""
    cleaned_for_config: str | None = None
    """The config after whose rollout unused configs and models were last deleted."""


@dataclass
class ReconcileResult:
    outcome: Outcome
    endpoint: ObservedEndpoint | None
    desired: DesiredEndpoint | None
    executed: list[Action] = field(default_factory=list)
    memory: Memory = Memory()
    aws_error: AwsError | None = None


class ModelEndpointReconciler:
    def __init__(self, sagemaker: SageMaker) -> None:
        self._sagemaker = sagemaker

    def reconcile(
        self, spec: ModelEndpointSpec, *, namespace: str, name: str, memory: Memory
    ) -> ReconcileResult:
        desired = desired_endpoint(spec, namespace=namespace, name=name)
        result = ReconcileResult(Outcome.progressing("Observing", ""), None, desired, memory=memory)
        try:
            self._reconcile(desired, owner_id(namespace, name), result)
        except AwsError as error:
            self._fail(result, error)
        return result

    def _reconcile(self, desired: DesiredEndpoint, owner: str, result: ReconcileResult) -> None:
        sm = self._sagemaker
        endpoint = result.endpoint = sm.describe_endpoint(desired.endpoint_name)
        artifacts = sm.observe_artifacts(desired) if needs_artifacts(desired, endpoint) else None
        plan = plan_endpoint(
            desired, endpoint, artifacts, last_attempted_config=result.memory.attempted_config
        )
        # Ownership costs a ListTags call, so it is checked only before a write.
        if plan.actions and endpoint is not None and not self._owns(endpoint, owner):
            result.outcome = Outcome.stalled(
                "EndpointNotOwned",
                f"SageMaker endpoint {endpoint.name} exists and was not created by this"
                " resource; choose another spec.endpointName",
            )
            return
        self._execute(plan, result)
        for action in result.executed:
            if isinstance(action, CreateEndpoint | UpdateEndpoint):
                result.memory = Memory(action.config_name, result.memory.cleaned_for_config)
        if (
            plan.outcome.kind == OutcomeKind.READY
            and result.memory.cleaned_for_config != desired.config_name
        ):
            cleanup = plan_cleanup(
                desired,
                sm.owned_configs(desired.endpoint_name, owner),
                sm.owned_models(desired.endpoint_name, owner),
            )
            self._execute(Plan(cleanup, plan.outcome), result)
            result.memory = Memory(result.memory.attempted_config, desired.config_name)

    def _owns(self, endpoint: ObservedEndpoint, owner: str) -> bool:
        return self._sagemaker.owner_of(endpoint.arn) == owner

    def _execute(self, plan: Plan, result: ReconcileResult) -> None:
        for action in plan.actions:
            self._sagemaker.execute(action)
            result.executed.append(action)
        result.outcome = plan.outcome

    def _fail(self, result: ReconcileResult, error: AwsError) -> None:
        result.aws_error = error
        if error.transient:
            result.outcome = Outcome.progressing(
                "AwsUnavailable", f"AWS is busy or unavailable, retrying: {error}"
            )
        else:
            result.outcome = Outcome.stalled("AwsRejected", f"AWS rejected a request: {error}")

    def delete(self, spec: ModelEndpointSpec, *, namespace: str, name: str) -> ReconcileResult:
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
        sm = self._sagemaker
        result = ReconcileResult(Outcome.progressing("Deleting", ""), None, None)
        try:
            endpoint = result.endpoint = sm.describe_endpoint(endpoint_name)
            if endpoint is not None and not self._owns(endpoint, owner):
                result.outcome = Outcome.ready(
                    "EndpointNotOwned",
                    f"endpoint {endpoint_name} was not created by this resource: left in place",
                )
                endpoint = None
            gone = endpoint is None
            owned_configs = sm.owned_configs(endpoint_name, owner) if gone else frozenset()
            owned_models = sm.owned_models(endpoint_name, owner) if gone else frozenset()
            self._execute(
                plan_deletion(endpoint_name, endpoint, owned_configs, owned_models), result
            )
        except AwsError as error:
            self._fail(result, error)
        return result
