"""Plan the smallest safe change that brings a SageMaker endpoint to its desired state."""

from __future__ import annotations

from serving_operator.planning.modelendpoint.actions import (
    Action,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteModel,
    UpdateEndpoint,
    UpdateWeightsAndCapacities,
    VariantWeightAndCapacity,
)
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint
from serving_operator.planning.modelendpoint.observed import (
    BUSY_STATUSES,
    EndpointStatus,
    ObservedArtifacts,
    ObservedEndpoint,
)
from serving_operator.planning.outcome import Outcome, Plan

_WEIGHT_TOLERANCE = 1e-6

UPDATE_FAILED = "UpdateFailed"
"""The reason of a Stalled outcome after SageMaker rolled an update back."""


def needs_artifacts(desired: DesiredEndpoint, endpoint: ObservedEndpoint | None) -> bool:
    """Whether planning needs to know which models and configs exist.

    Only a config switch does: it usually keeps most of the endpoint's models, so creating
    them all would mostly earn refusals, and those cost write calls, which SageMaker limits
    more tightly than reads. A create reads nothing: it creates every model and the config
    (see `plan_endpoint`). The steady state costs one DescribeEndpoint.
    """
    if endpoint is None:
        return False
    return (
        endpoint.status == EndpointStatus.IN_SERVICE and endpoint.config_name != desired.config_name
    )


def _create_all_artifacts(desired: DesiredEndpoint) -> list[Action]:
    """Every model and the config, unread. Their names are content hashes (planning/naming.py),
    so one that exists already is the one wanted: made by an earlier pass that stopped before
    recording it, or kept while the endpoint was deleted. SageMaker refuses to create it again
    and the adapter takes that refusal as done. Reading first would cost as many calls."""
    return _create_artifacts(desired, ObservedArtifacts(frozenset(), config_exists=False))


def _create_artifacts(desired: DesiredEndpoint, artifacts: ObservedArtifacts) -> list[Action]:
    actions: list[Action] = [
        CreateModel(model, desired.tags)
        for model in desired.models
        if model.name not in artifacts.existing_models
    ]
    if not artifacts.config_exists:
        actions.append(
            CreateEndpointConfig(desired.config_name, desired.config_request(), desired.tags)
        )
    return actions


def weight_and_capacity_changes(
    desired: DesiredEndpoint, endpoint: ObservedEndpoint
) -> tuple[VariantWeightAndCapacity, ...]:
    """Variants whose weight or instance count differ from the spec, on the same config.

    While `desired.weights_managed_by` names another writer (a TrafficSplit), weights are
    neither compared nor written.
    """
    manage_weights = desired.weights_managed_by is None
    changes = []
    for variant in desired.variants:
        observed = endpoint.variant(variant.name)
        if observed is None:
            continue
        weight = (
            observed.desired_weight
            if observed.desired_weight is not None
            else observed.current_weight
        )
        count = (
            observed.desired_instance_count
            if observed.desired_instance_count is not None
            else observed.current_instance_count
        )
        weight_differs = manage_weights and (
            weight is None or abs(weight - variant.weight) > _WEIGHT_TOLERANCE
        )
        # An autoscaler owns the count of an autoscaled variant: never write it.
        owned_count = variant.instance_count if variant.owns_instance_count else None
        count_differs = owned_count is not None and count != owned_count
        if weight_differs or count_differs:
            changes.append(
                VariantWeightAndCapacity(
                    variant.name, variant.weight if manage_weights else None, owned_count
                )
            )
    return tuple(changes)


def plan_endpoint(
    desired: DesiredEndpoint,
    endpoint: ObservedEndpoint | None,
    artifacts: ObservedArtifacts | None,
    *,
    last_attempted_config: str | None = None,
) -> Plan[Action]:
    """Decide the next step for one endpoint.

    `artifacts` must be given whenever `needs_artifacts` says so; a create ignores them.
    `last_attempted_config`
    is the config the operator last switched the endpoint to; it tells a failed update
    (SageMaker rolled back to the old config) from one not yet tried.
    """
    name = desired.endpoint_name
    if endpoint is None:
        actions = [
            *_create_all_artifacts(desired),
            CreateEndpoint(name, desired.config_name, desired.tags),
        ]
        return Plan(
            tuple(actions),
            Outcome.progressing("Creating", f"creating endpoint {name}"),
        )

    if endpoint.status in BUSY_STATUSES:
        return Plan((), Outcome.progressing(endpoint.status.value, _busy_message(endpoint)))

    if endpoint.status == EndpointStatus.FAILED:
        if endpoint.config_name == desired.config_name:
            return Plan(
                (),
                Outcome.stalled(
                    "EndpointFailed",
                    f"endpoint {name} failed: {endpoint.failure_reason or 'no reason given'}",
                ),
            )
        # SageMaker cannot update a failed endpoint; the spec changed, so start over.
        return Plan(
            (DeleteEndpoint(name),),
            Outcome.progressing(
                "RecreatingFailedEndpoint",
                f"endpoint {name} failed and the spec changed: deleting it to create it anew",
            ),
        )

    if endpoint.status != EndpointStatus.IN_SERVICE:
        return Plan(
            (),
            Outcome.stalled(
                endpoint.status.value,
                f"endpoint {name} is {endpoint.status.value}:"
                f" {endpoint.failure_reason or 'no reason given'}",
            ),
        )

    if endpoint.config_name != desired.config_name:
        if last_attempted_config == desired.config_name and endpoint.failure_reason:
            return Plan(
                (),
                Outcome.stalled(
                    UPDATE_FAILED,
                    f"update of endpoint {name} to config {desired.config_name} failed and"
                    f" was rolled back: {endpoint.failure_reason}",
                ),
            )
        if artifacts is None:
            raise ValueError("artifacts must be observed to switch endpoint configs")
        return Plan(
            (
                *_create_artifacts(desired, artifacts),
                UpdateEndpoint(name, desired.config_name, desired.update_request() or None),
            ),
            Outcome.progressing(
                "Updating", f"updating endpoint {name} to config {desired.config_name}"
            ),
        )

    changes = weight_and_capacity_changes(desired, endpoint)
    if changes:
        return Plan(
            (UpdateWeightsAndCapacities(name, changes),),
            Outcome.progressing(
                "UpdatingWeightsAndCapacities",
                f"updating weights and instance counts of endpoint {name} in place",
            ),
        )
    return Plan((), Outcome.ready("InService", f"endpoint {name} is in service"))


def _busy_message(endpoint: ObservedEndpoint) -> str:
    return f"endpoint {endpoint.name} is {endpoint.status.value}; waiting for SageMaker"


def plan_cleanup(
    desired: DesiredEndpoint,
    owned_configs: frozenset[str],
    owned_models: frozenset[str],
) -> tuple[Action, ...]:
    """Delete configs and models this resource created that the endpoint no longer uses.

    Only call it once the endpoint is InService on the desired config.
    """
    configs = sorted(owned_configs - {desired.config_name})
    models = sorted(owned_models - desired.model_names)
    return (
        *(DeleteEndpointConfig(c) for c in configs),
        *(DeleteModel(m) for m in models),
    )


def plan_deletion(
    endpoint_name: str,
    endpoint: ObservedEndpoint | None,
    owned_configs: frozenset[str],
    owned_models: frozenset[str],
) -> Plan[Action]:
    """Delete the endpoint first, then, once it is gone, every config and model it used."""
    if endpoint is not None:
        if endpoint.status == EndpointStatus.DELETING:
            return Plan((), Outcome.progressing("Deleting", _busy_message(endpoint)))
        if endpoint.status in BUSY_STATUSES:
            # SageMaker refuses to delete an endpoint mid-create or mid-update.
            return Plan((), Outcome.progressing(endpoint.status.value, _busy_message(endpoint)))
        return Plan(
            (DeleteEndpoint(endpoint_name),),
            Outcome.progressing("Deleting", f"deleting endpoint {endpoint_name}"),
        )
    actions: tuple[Action, ...] = (
        *(DeleteEndpointConfig(c) for c in sorted(owned_configs)),
        *(DeleteModel(m) for m in sorted(owned_models)),
    )
    return Plan(
        actions, Outcome.ready("Deleted", f"endpoint {endpoint_name} and its objects are gone")
    )


def single_instance_variants(desired: DesiredEndpoint) -> list[str]:
    """Variants whose one instance is a single point of failure (no autoscaling, not serverless).

    Two or more instances are spread across Availability Zones; one is not.
    """
    return [v.name for v in desired.variants if v.owns_instance_count and v.instance_count == 1]


def describe_drift(desired: DesiredEndpoint, endpoint: ObservedEndpoint | None) -> str | None:
    """What changed outside the operator, for an endpoint that was Ready on `desired`.

    Weight and count drift is corrected at once (and reported with the correction); this
    names the changes that take SageMaker time to undo. Busy states the operator or an
    autoscaler cause (Updating, SystemUpdating) are not drift.
    """
    name = desired.endpoint_name
    if endpoint is None:
        return f"endpoint {name} no longer exists in SageMaker: creating it again"
    if endpoint.status == EndpointStatus.DELETING:
        return f"endpoint {name} is being deleted outside the operator: it will be re-created"
    if endpoint.status == EndpointStatus.FAILED:
        return f"endpoint {name} failed: {endpoint.failure_reason or 'no reason given'}"
    if endpoint.config_name != desired.config_name:
        return (
            f"endpoint {name} was switched to config {endpoint.config_name} outside the"
            f" operator; switching back to {desired.config_name}"
        )
    return None
