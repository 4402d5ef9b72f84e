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


def test_classic_endpoint_config_and_model_names_are_unchanged_by_component_support() -> None:
    """The names are content hashes: a stored ModelEndpoint must not get a new config (and a
    rollout) from this version. Pinned from the version before component support."""
    spec = ModelEndpointSpec.model_validate(
        {"executionRoleArn": ROLE, "variants": [variant("a"), variant("b", version="v2")]}
    )
    desired = desired_endpoint(spec, namespace="ns", name="n")
    assert desired.config_name == "n-6d97d1978d"
    assert sorted(m.name for m in desired.models) == ["n-0be9718f0c", "n-36e975c14b"]


def test_the_inference_component_crd_prints_endpoint_copies_status_ready_age() -> None:
    from serving_operator.api import GROUP, INFERENCE_COMPONENT, VERSION
    from serving_operator.api.crdgen import crd_for

    crd = crd_for(INFERENCE_COMPONENT, GROUP, VERSION)
    (version,) = crd["spec"]["versions"]
    columns = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert columns == ["Endpoint", "Copies", "Status", "Ready", "Age"]  # -o wide adds more
    assert crd["spec"]["names"]["categories"] == ["mlserving"]
    assert version["subresources"] == {"status": {}}
