"""A ModelEndpoint that hosts inference components: its endpoint config, its variants'
instance counts, its deletion after its components, and a TrafficSplit refused on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

from serving_operator.api.modelendpoint import ModelEndpointSpec
from serving_operator.api.trafficsplit import TrafficSplitSpec
from serving_operator.handlers.indexes import component_hosts, modelendpoint_targets
from serving_operator.labelselector import LabelSelector
from serving_operator.planning.modelendpoint.components import deletion_wait
from serving_operator.planning.modelendpoint.desired import desired_endpoint
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.planning.trafficsplit.observed import SplitObservation
from serving_operator.planning.trafficsplit.preconditions import target_problem
from tests.support.specs import ROLE, variant

FLEET: dict[str, Any] = {
    "executionRoleArn": ROLE,
    "variants": [
        {
            "name": "shared",
            "instanceType": "ml.g5.12xlarge",
            "instanceCount": 1,
            "managedInstanceScaling": {"minInstanceCount": 0, "maxInstanceCount": 4},
            "routingStrategy": "LEAST_OUTSTANDING_REQUESTS",
        }
    ],
}


def test_a_components_endpoint_config_has_no_model_and_carries_the_role() -> None:
    spec = ModelEndpointSpec.model_validate(FLEET)
    assert spec.hosts_components
    desired = desired_endpoint(spec, namespace="ml", name="llm-fleet")
    assert desired.models == ()
    assert desired.config_request() == {
        "ProductionVariants": [
            {
                "VariantName": "shared",
                "InitialVariantWeight": 1.0,
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 0,
                    "MaxInstanceCount": 4,
                },
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
        "ExecutionRoleArn": ROLE,
    }
    # SageMaker's managed instance scaling owns the count: the operator never writes it.
    assert not desired.variants[0].owns_instance_count


def test_a_classic_endpoint_config_is_unchanged() -> None:
    spec = ModelEndpointSpec.model_validate({"executionRoleArn": ROLE, "variants": [variant("a")]})
    desired = desired_endpoint(spec, namespace="ml", name="classic")
    assert "ExecutionRoleArn" not in desired.config_request()
    assert desired.variants[0].owns_instance_count


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([variant("a"), FLEET["variants"][0]], "never mixed"),
        (
            [{"name": "s", "serverless": {"memorySizeInMB": 2048, "maxConcurrency": 5}}],
            "needs instanceType",
        ),
        (
            [
                {
                    **variant("a"),
                    "managedInstanceScaling": {"minInstanceCount": 0, "maxInstanceCount": 2},
                }
            ],
            "managedInstanceScaling applies",
        ),
    ],
)
def test_mixed_or_misplaced_component_settings_are_refused(
    variants: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        ModelEndpointSpec.model_validate({"executionRoleArn": ROLE, "variants": variants})


def test_endpoint_deletion_waits_for_its_components_unless_retained() -> None:
    waiting = deletion_wait(("small", "large"), retain=False)
    assert waiting is not None
    assert waiting.kind == OutcomeKind.PROGRESSING
    assert "small, large" in waiting.message
    assert deletion_wait((), retain=False) is None
    assert deletion_wait(("small",), retain=True) is None


def test_the_indexes_see_a_components_endpoint() -> None:
    everything = LabelSelector()
    targets = modelendpoint_targets(everything)(
        namespace="ml", name="llm-fleet", spec=FLEET, labels={}
    )
    assert targets[("ml", "llm-fleet")].hosts_components
    hosts = component_hosts(everything)(namespace="ml", name="llm-fleet", spec=FLEET, labels={})
    host = hosts[("ml", "llm-fleet")]
    assert host.hosts_components
    assert host.execution_role_arn == ROLE
    assert host.variants[0].managed_min_instances == 0
    assert host.variants[0].instance_type == "ml.g5.12xlarge"
    classic = {"executionRoleArn": ROLE, "variants": [variant("a")]}
    assert not modelendpoint_targets(everything)(namespace="ml", name="c", spec=classic, labels={})[
        ("ml", "c")
    ].hosts_components


def test_a_traffic_split_on_a_components_endpoint_is_refused() -> None:
    everything = LabelSelector()
    target = modelendpoint_targets(everything)(
        namespace="ml", name="llm-fleet", spec=FLEET, labels={}
    )[("ml", "llm-fleet")]
    split = TrafficSplitSpec.model_validate(
        {"endpointRef": {"name": "llm-fleet"}, "weights": [{"variant": "shared", "weight": 1}]}
    )
    observed = SplitObservation(now=datetime.now(UTC), target=target, endpoint=None)
    problem = target_problem(split, observed)
    assert problem is not None
    assert problem.kind == OutcomeKind.STALLED
    assert problem.reason == "EndpointHostsInferenceComponents"
    assert "not weighted" in problem.message
