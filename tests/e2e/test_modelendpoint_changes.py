"""Changes go out with the smallest safe AWS write, drift is corrected, Retain keeps AWS objects."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_events, wait_for_resyncs, wait_gone
from tests.support import cluster, processes
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e

WRITES = {
    "CreateModel",
    "CreateEndpointConfig",
    "CreateEndpoint",
    "UpdateEndpoint",
    "UpdateEndpointWeightsAndCapacities",
    "DeleteEndpoint",
    "DeleteEndpointConfig",
    "DeleteModel",
}


def writes(sandbox: Sandbox, prefix: str) -> Counter[str]:
    return Counter(
        c["operation"]
        for c in sandbox.calls()
        if c["operation"] in WRITES
        and c.get("target", "").startswith(prefix)
        and c["status"] == 200
    )


def percentages(obj: dict[str, Any]) -> dict[str, float]:
    return {v["name"]: v["currentWeightPercent"] for v in obj["status"]["variants"]}


@pytest.fixture
def ab_endpoint(
    operator: OperatorProcess, namespace: str, model_endpoints: cluster.Objects, model_bucket: str
) -> str:
    name = f"ab-{namespace}"
    model_endpoints.create(
        namespace,
        model_endpoint(
            name, [variant("blue", model_bucket, "v1"), variant("green", model_bucket, "v2")]
        ),
    )
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    return name


def test_weight_change_is_one_in_place_update_and_no_new_config(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    before = model_endpoints.get(namespace, ab_endpoint)
    assert before is not None
    sandbox.forget_calls()
    model_endpoints.patch_spec(
        namespace,
        ab_endpoint,
        {
            "variants": [
                variant("blue", model_bucket, "v1", weight=9),
                variant("green", model_bucket, "v2"),
            ]
        },
    )

    after = wait_for_condition(
        model_endpoints,
        namespace,
        ab_endpoint,
        "Ready",
        operator,
        also=lambda o: percentages(o) == {"blue": 90.0, "green": 10.0},
    )

    assert writes(sandbox, ab_endpoint) == Counter({"UpdateEndpointWeightsAndCapacities": 1})
    assert after["status"]["endpointConfigName"] == before["status"]["endpointConfigName"]


def test_image_change_is_one_new_config_and_update_then_old_objects_are_collected(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    before = model_endpoints.get(namespace, ab_endpoint)
    assert before is not None
    old_config = before["status"]["endpointConfigName"]
    sandbox.forget_calls()
    model_endpoints.patch_spec(
        namespace,
        ab_endpoint,
        {
            "variants": [
                variant("blue", model_bucket, "v1"),
                variant("green", model_bucket, "v3", image="img:3"),
            ]
        },
    )

    after = wait_for_condition(
        model_endpoints,
        namespace,
        ab_endpoint,
        "Ready",
        operator,
        also=lambda o: (
            o["status"]["endpointConfigName"] != old_config
            and o["status"].get("cleanedUpForConfigName") == o["status"]["endpointConfigName"]
        ),
    )

    assert writes(sandbox, ab_endpoint) == Counter(
        {
            "CreateModel": 1,
            "CreateEndpointConfig": 1,
            "UpdateEndpoint": 1,
            "DeleteEndpointConfig": 1,
            "DeleteModel": 1,
        }
    )
    sagemaker = sandbox.client("sagemaker")
    listed = sagemaker.list_endpoint_configs(NameContains=ab_endpoint, MaxResults=100)
    configs = {c["EndpointConfigName"] for c in listed["EndpointConfigs"]}
    assert after["status"]["endpointConfigName"] in configs
    assert old_config not in configs


def test_steady_state_resyncs_write_nothing(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
) -> None:
    sandbox.forget_calls()
    wait_for_resyncs(sandbox, ab_endpoint, operator)  # observe, do not act
    calls = [c for c in sandbox.calls() if c.get("target") == ab_endpoint]
    assert not writes(sandbox, ab_endpoint)
    assert {c["operation"] for c in calls} == {"DescribeEndpoint"}
    assert 1 <= len(calls) <= 4


def test_weights_changed_out_of_band_are_corrected_with_an_event(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
) -> None:
    sandbox.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=ab_endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredWeight": 5.0}],
    )

    def corrected() -> bool:
        described = sandbox.client("sagemaker").describe_endpoint(EndpointName=ab_endpoint)
        weights = {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}
        return described["EndpointStatus"] == "InService" and weights == {"blue": 1.0, "green": 1.0}

    processes.wait_until(
        corrected, timeout=30, interval=0.25, what="drift corrected", log=operator.log
    )
    events = wait_for_events(
        model_endpoints,
        namespace,
        ab_endpoint,
        operator,
        lambda events: any(e.reason == "DriftCorrected" for e in events),
        "DriftCorrected",
    )
    drift = [e for e in events if e.reason == "DriftCorrected"]
    assert "blue" in drift[0].message


def test_retain_policy_leaves_the_endpoint_running(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"keep-{namespace}"
    model_endpoints.create(
        namespace,
        model_endpoint(name, [variant("only", model_bucket, "v1")], deletionPolicy="Retain"),
    )
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)

    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator)

    sagemaker = sandbox.client("sagemaker")
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    sagemaker.delete_endpoint(EndpointName=name)
