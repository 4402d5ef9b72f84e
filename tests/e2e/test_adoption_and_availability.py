"""Adopting an endpoint made outside the operator, and the SingleInstance warning."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_events, wait_for_resyncs
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import ROLE, model_endpoint, variant

pytestmark = pytest.mark.e2e


def _console_made_endpoint(sandbox: Sandbox, name: str, bucket: str) -> None:
    """An endpoint created by hand (console, notebook), with no ownership tags."""
    sagemaker = sandbox.client("sagemaker")
    sagemaker.create_model(
        ModelName=f"{name}-manual",
        PrimaryContainer={
            "Image": "img:0",
            "ModelDataUrl": f"s3://{bucket}/xgboost/v1/model.tar.gz",
        },
        ExecutionRoleArn=ROLE,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-manual",
        ProductionVariants=[
            {
                "VariantName": "legacy",
                "ModelName": f"{name}-manual",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-manual")
    deadline = time.monotonic() + 20
    while sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_existing_endpoint_is_refused_then_adopted_in_place(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"adopt-{namespace}"
    _console_made_endpoint(sandbox, name, model_bucket)
    body = model_endpoint(name, [variant("blue", model_bucket, "v2", count=2)])
    model_endpoints.create(namespace, body)

    refused = wait_for_condition(model_endpoints, namespace, name, "Stalled", operator)
    assert "adopt: true" in cluster.condition(refused, "Stalled")["message"]
    sandbox.forget_calls()

    model_endpoints.patch_spec(namespace, name, {"adopt": True})
    adopted = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)

    sagemaker = sandbox.client("sagemaker")
    described = sagemaker.describe_endpoint(EndpointName=name)
    assert described["EndpointConfigName"] == adopted["status"]["endpointConfigName"]
    tags = {
        t["Key"]: t["Value"]
        for t in sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
    }
    assert tags["serving.mlops.dev/owner"] == f"{namespace}/{name}"
    written = Counter(
        c["operation"] for c in sandbox.calls() if c.get("target") == name and c["status"] == 200
    )
    assert written["UpdateEndpoint"] == 1
    assert written["CreateEndpoint"] == 0
    assert written["DeleteEndpoint"] == 0
    # The hand-made config is not ours: it is never garbage-collected.
    configs = {
        c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
    }
    assert f"{name}-manual" in configs


def test_single_instance_variant_gets_a_warning_condition(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"spof-{namespace}"
    model_endpoints.create(
        namespace,
        model_endpoint(
            name,
            [
                variant("alone", model_bucket, "v1", count=1),
                variant("pair", model_bucket, "v2", count=2),
            ],
        ),
    )
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    single = cluster.condition(ready, "SingleInstance")
    assert single is not None
    assert single["status"] == "True"
    assert "alone" in single["message"]
    assert "pair" not in single["message"]
    # Once, although several passes (the create handler, then the timer) see the condition.
    sandbox.forget_calls()
    wait_for_resyncs(sandbox, name, operator)

    def single_instance_warnings(events: list[Any]) -> list[Any]:
        return [e for e in events if e.reason == "SingleInstance" and e.type == "Warning"]

    events = wait_for_events(
        model_endpoints,
        namespace,
        name,
        operator,
        lambda events: bool(single_instance_warnings(events)),
        "a SingleInstance Warning",
    )
    assert sum(e.count or 1 for e in single_instance_warnings(events)) == 1

    model_endpoints.patch_spec(
        namespace,
        name,
        {
            "variants": [
                variant("alone", model_bucket, "v1", count=2),
                variant("pair", model_bucket, "v2", count=2),
            ]
        },
    )
    fixed = wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Ready",
        operator,
        also=lambda o: cluster.condition(o, "SingleInstance")["status"] == "False",  # type: ignore[index]
    )
    assert all(v["currentInstanceCount"] == 2 for v in fixed["status"]["variants"])
