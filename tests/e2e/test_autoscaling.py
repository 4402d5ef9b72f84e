"""Load drives a real scale-out in the sandbox, and the operator leaves the new count alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_resyncs
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e


@pytest.fixture
def short_scaling_window(sandbox: Sandbox) -> Iterator[None]:
    """Target tracking over 20 s instead of a minute, so a test can drive it quickly."""
    sandbox.settings(autoscalingWindowSeconds=20)
    try:
        yield
    finally:
        sandbox.settings(autoscalingWindowSeconds=60)


def _count(obj: dict[str, Any]) -> int | None:
    return next(
        (v.get("currentInstanceCount") for v in obj["status"]["variants"] if v["name"] == "auto"),
        None,
    )


def drive_load(sandbox: Sandbox, name: str) -> None:
    runtime = sandbox.client("sagemaker-runtime")
    for i in range(30):  # 30 calls in the window on 1 instance, against a target of 5
        runtime.invoke_endpoint(
            EndpointName=name, Body=f'{{"i": {i}}}'.encode(), ContentType="application/json"
        )


def autoscaled_variant(bucket: str, instance_type: str = "ml.m5.large") -> dict[str, Any]:
    return variant("auto", bucket, "v1", count=1) | {
        "instanceType": instance_type,
        "autoscaling": {"minInstances": 1, "maxInstances": 4, "targetValue": 5},
    }


def create_and_scale_out(
    name: str,
    namespace: str,
    model_endpoints: cluster.Objects,
    sandbox: Sandbox,
    operator: OperatorProcess,
    bucket: str,
) -> dict[str, Any]:
    """An autoscaled endpoint, Ready, then loaded until the autoscaler adds instances.

    The sandbox's call log starts afresh once autoscaling is registered.
    """
    model_endpoints.create(namespace, model_endpoint(name, [autoscaled_variant(bucket)]))
    wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Ready",
        operator,
        also=lambda o: o["status"].get("autoscalingRegistered") is True,
    )
    sandbox.forget_calls()
    drive_load(sandbox, name)
    return wait_for_condition(
        model_endpoints, namespace, name, "Ready", operator, also=lambda o: (_count(o) or 0) >= 2
    )


def test_scale_out_under_load_is_reported_and_not_overwritten(
    short_scaling_window: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"scale-{namespace}"
    # The spec says instanceCount: 1; the autoscaler now owns the count and raises it.
    scaled = create_and_scale_out(name, namespace, model_endpoints, sandbox, operator, model_bucket)
    assert cluster.condition(scaled, "SingleInstance")["status"] == "False"  # type: ignore[index]

    wait_for_resyncs(sandbox, name, operator)  # it must leave the count alone
    described = sandbox.client("sagemaker").describe_endpoint(EndpointName=name)
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] >= 2
    overwrites = [
        c
        for c in sandbox.calls()
        if c.get("target") == name and c["operation"] == "UpdateEndpointWeightsAndCapacities"
    ]
    assert overwrites == []
    after = model_endpoints.get(namespace, name)
    assert after is not None
    assert (_count(after) or 0) >= 2


def test_instance_type_change_keeps_scaled_out_capacity_and_autoscaling(
    short_scaling_window: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"retype-{namespace}"
    scaled = create_and_scale_out(name, namespace, model_endpoints, sandbox, operator, model_bucket)
    capacity = _count(scaled)

    # SageMaker refuses to change the instance type of a scalable target: the operator
    # stands autoscaling down for the switch, keeps the reached count, and registers again.
    model_endpoints.patch_spec(
        namespace, name, {"variants": [autoscaled_variant(model_bucket, "ml.m5.xlarge")]}
    )
    switched = wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Ready",
        operator,
        also=lambda o: (
            o["status"]["endpointConfigName"] != scaled["status"]["endpointConfigName"]
            and o["status"].get("autoscalingRegistered") is True
        ),
    )
    assert (_count(switched) or 0) >= (capacity or 2)
    targets = sandbox.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{name}/variant/auto"]
    )["ScalableTargets"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(1, 4)]
    config = sandbox.client("sagemaker").describe_endpoint_config(
        EndpointConfigName=switched["status"]["endpointConfigName"]
    )
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
