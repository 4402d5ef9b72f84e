"""One writer of the weights: while a TrafficSplit manages them, a ModelEndpoint pass neither
compares nor writes weights, and a config switch keeps the weights in force."""

from __future__ import annotations

from dataclasses import replace

from serving_operator.planning.modelendpoint.actions import UpdateWeightsAndCapacities
from serving_operator.planning.modelendpoint.endpoint import (
    plan_endpoint,
    weight_and_capacity_changes,
)
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedEndpoint,
    ObservedVariant,
)
from serving_operator.planning.outcome import OutcomeKind
from tests.support.specs import desired, variant


def _endpoint(config: str, weights: dict[str, float], counts: dict[str, int]) -> ObservedEndpoint:
    return ObservedEndpoint(
        name="bikes",
        arn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/bikes",
        status=EndpointStatus.IN_SERVICE,
        config_name=config,
        failure_reason=None,
        variants=tuple(
            ObservedVariant(name, weight, weight, counts[name], counts[name])
            for name, weight in weights.items()
        ),
    )


def test_managed_weights_are_left_alone_and_not_drift() -> None:
    spec = desired(variant("blue", weight=1), variant("green", weight=1))
    managed = replace(spec, weights_managed_by="TrafficSplit/canary")
    endpoint = _endpoint(spec.config_name, {"blue": 90, "green": 10}, {"blue": 1, "green": 1})
    assert weight_and_capacity_changes(spec, endpoint)  # the spec alone would revert the split
    assert weight_and_capacity_changes(managed, endpoint) == ()
    plan = plan_endpoint(managed, endpoint, None)
    assert plan.actions == ()
    assert plan.outcome.kind == OutcomeKind.READY


def test_counts_are_still_written_without_a_weight() -> None:
    spec = desired(variant("blue", count=2), variant("green", count=1))
    managed = replace(spec, weights_managed_by="TrafficSplit/canary")
    endpoint = _endpoint(spec.config_name, {"blue": 90, "green": 10}, {"blue": 1, "green": 1})
    plan = plan_endpoint(managed, endpoint, None)
    (action,) = plan.actions
    assert isinstance(action, UpdateWeightsAndCapacities)
    assert [(c.variant_name, c.weight, c.instance_count) for c in action.changes] == [
        ("blue", None, 2)
    ]


def test_a_config_switch_retains_the_managed_weights() -> None:
    managed = replace(
        desired(variant("blue"), variant("green")), weights_managed_by="TrafficSplit/canary"
    )
    request = managed.update_request()
    assert request["RetainAllVariantProperties"] is True
    assert request["ExcludeRetainedVariantProperties"] == [
        {"VariantPropertyType": "DesiredInstanceCount"}
    ]
    unmanaged = desired(variant("blue"), variant("green")).update_request()
    assert "RetainAllVariantProperties" not in unmanaged
