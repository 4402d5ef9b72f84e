"""Bad specs are rejected by the real kube-apiserver, from the generated schema and CEL rules."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from tests.support import cluster
from tests.support.specs import model_endpoint

pytestmark = pytest.mark.e2e

GOOD_VARIANT = {
    "name": "a",
    "model": {"image": "img:1", "modelDataUrl": "s3://bucket/model.tar.gz"},
    "instanceType": "ml.m5.large",
}


def _variant(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(GOOD_VARIANT), **changes}


def _with(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = model_endpoint("rejected", [_variant()])
    mutate(body)
    return body


CASES: dict[str, tuple[dict[str, Any], str]] = {
    "all weights zero": (
        _with(
            lambda b: b["spec"].update(variants=[_variant(weight=0), _variant(name="b", weight=0)])
        ),
        "at least one variant must have a weight greater than 0",
    ),
    "duplicate variant names": (
        _with(lambda b: b["spec"].update(variants=[_variant(), _variant()])),
        "Duplicate value",
    ),
    "negative weight": (
        _with(lambda b: b["spec"].update(variants=[_variant(weight=-1)])),
        "weight",
    ),
    "zero instances": (
        _with(lambda b: b["spec"].update(variants=[_variant(instanceCount=0)])),
        "instanceCount",
    ),
    "instance type not ml.*": (
        _with(lambda b: b["spec"].update(variants=[_variant(instanceType="m5.large")])),
        'instanceType: Invalid value: "m5.large": must be an ML instance type such as ml.m5.large',
    ),
    "malformed S3 URI": (
        _with(lambda b: b["spec"]["variants"][0]["model"].update(modelDataUrl="https://x/y")),
        "modelDataUrl",
    ),
    "malformed role ARN": (
        _with(lambda b: b["spec"].update(executionRoleArn="SageMakerRole")),
        "executionRoleArn",
    ),
    "no variants": (_with(lambda b: b["spec"].update(variants=[])), "variants"),
    "unknown deletion policy": (
        _with(lambda b: b["spec"].update(deletionPolicy="Orphan")),
        "deletionPolicy",
    ),
    "reserved tag key": (
        _with(lambda b: b["spec"].update(tags={"serving.mlops.dev/owner": "me"})),
        "tag keys starting with aws: or serving.mlops.dev/ are reserved",
    ),
    "invalid variant name": (
        _with(lambda b: b["spec"].update(variants=[_variant(name="bad_name")])),
        "name",
    ),
    "name unusable as endpoint name": (
        _with(lambda b: b["metadata"].update(name="has.dots")),
        "metadata.name is not a valid SageMaker endpoint name",
    ),
    "image and containers together": (
        _with(
            lambda b: b["spec"]["variants"][0]["model"].update(
                containers=[{"hostname": "c1", "image": "img:1"}]
            )
        ),
        "set exactly one of model.image (one container) or model.containers",
    ),
    "more than 15 containers": (
        _with(
            lambda b: b["spec"]["variants"][0].update(
                model={"containers": [{"hostname": f"c{i}", "image": "img:1"} for i in range(16)]}
            )
        ),
        "containers",
    ),
    "multi-model URL is not a prefix": (
        _with(lambda b: b["spec"]["variants"][0]["model"].update(mode="MultiModel")),
        "S3 prefix ending in /",
    ),
    "target models without multi-model": (
        _with(lambda b: b["spec"]["variants"][0]["model"].update(targetModels=["a.tar.gz"])),
        "targetModels and warmUp apply only to mode: MultiModel",
    ),
    "instance type and serverless together": (
        _with(
            lambda b: b["spec"]["variants"][0].update(
                serverless={"memorySizeInMB": 2048, "maxConcurrency": 5}
            )
        ),
        "set exactly one of instanceType or serverless",
    ),
    "serverless memory off the 1024 steps": (
        _with(
            lambda b: b["spec"].update(
                variants=[
                    {
                        "name": "s",
                        "model": {"image": "i"},
                        "serverless": {"memorySizeInMB": 1500, "maxConcurrency": 5},
                    }
                ]
            )
        ),
        "memorySizeInMB",
    ),
    "autoscaling min above max": (
        _with(
            lambda b: b["spec"]["variants"][0].update(
                autoscaling={"minInstances": 5, "maxInstances": 2, "targetValue": 100}
            )
        ),
        "minInstances must be <= maxInstances",
    ),
    "autoscaling with two targets": (
        _with(
            lambda b: b["spec"]["variants"][0].update(
                autoscaling={
                    "minInstances": 1,
                    "maxInstances": 2,
                    "targetValue": 100,
                    "maxRequestsPerSecondPerInstance": 10,
                }
            )
        ),
        "set exactly one of targetValue or maxRequestsPerSecondPerInstance",
    ),
    "safety factor above 1": (
        _with(
            lambda b: b["spec"]["variants"][0].update(
                autoscaling={
                    "minInstances": 1,
                    "maxInstances": 2,
                    "maxRequestsPerSecondPerInstance": 10,
                    "safetyFactor": 1.5,
                }
            )
        ),
        "safetyFactor",
    ),
    "safety factor of 0": (
        _with(
            lambda b: b["spec"]["variants"][0].update(
                autoscaling={
                    "minInstances": 1,
                    "maxInstances": 2,
                    "maxRequestsPerSecondPerInstance": 10,
                    "safetyFactor": 0,
                }
            )
        ),
        "safetyFactor",
    ),
    "custom metric missing": (
        _with(
            lambda b: b["spec"]["variants"][0].update(
                autoscaling={
                    "minInstances": 1,
                    "maxInstances": 2,
                    "targetValue": 1,
                    "metric": "Custom",
                }
            )
        ),
        "customMetric is required with metric: Custom",
    ),
    "two deployment policies": (
        _with(
            lambda b: b["spec"].update(
                deployment={
                    "blueGreen": {},
                    "rollingUpdate": {"maximumBatchSizePercent": 10, "waitIntervalSeconds": 60},
                }
            )
        ),
        "set exactly one of blueGreen or rollingUpdate",
    ),
    "canary without a size": (
        _with(
            lambda b: b["spec"].update(
                deployment={"blueGreen": {"trafficRouting": {"type": "CANARY"}}}
            )
        ),
        "CANARY traffic routing needs canarySizePercent",
    ),
    "shadow with two production variants": (
        _with(
            lambda b: b["spec"].update(
                variants=[_variant(), _variant(name="b")], shadowVariants=[_variant(name="shadow")]
            )
        ),
        "with a shadow variant, SageMaker allows exactly one production variant",
    ),
    "canary above half the capacity": (
        _with(
            lambda b: b["spec"].update(
                deployment={
                    "blueGreen": {"trafficRouting": {"type": "CANARY", "canarySizePercent": 60}}
                }
            )
        ),
        "canarySizePercent",
    ),
    "shadow variant named like a production variant": (
        _with(lambda b: b["spec"].update(shadowVariants=[_variant()])),
        "shadow variant names must differ from production variant names",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_spec_is_rejected_at_admission(
    case: str, namespace: str, model_endpoints: cluster.Objects
) -> None:
    body, expected = CASES[case]
    with pytest.raises(ApiException) as rejected:
        model_endpoints.create(namespace, body)
    assert rejected.value.status == 422
    message = json.loads(rejected.value.body)["message"]
    assert expected in message


def test_valid_spec_is_admitted_with_defaults(
    namespace: str, model_endpoints: cluster.Objects
) -> None:
    body = model_endpoint("has-dots-in-spec-name", [_variant()], endpointName="explicit-name")
    body["metadata"]["name"] = "with.dots"
    created = model_endpoints.create(namespace, body)
    assert created["spec"]["deletionPolicy"] == "Delete"
    assert created["spec"]["variants"][0]["instanceCount"] == 1
    assert created["spec"]["variants"][0]["weight"] == 1
