"""Bad EdgeModel specs are rejected by the real kube-apiserver (generated schema + CEL)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import kubernetes
import pytest
from kubernetes.client.rest import ApiException

from tests.support import cluster

pytestmark = pytest.mark.e2e

GOOD: dict[str, Any] = {
    "apiVersion": "serving.mlops.dev/v1alpha1",
    "kind": "EdgeModel",
    "metadata": {"name": "admitted"},
    "spec": {
        "source": "s3://models/classifier/model.tar.gz",
        "framework": "PYTORCH",
        "frameworkVersion": "1.8",
        "dataInputConfig": '{"input0": [1, 3, 224, 224]}',
        "roleArn": "arn:aws:iam::123456789012:role/Neo",
        "outputS3Uri": "s3://models/compiled",
        "targets": [
            {"name": "nano", "targetDevice": "jetson_nano"},
            {"name": "arm", "targetPlatform": {"os": "LINUX", "arch": "ARM64"}},
        ],
        "rollout": {"stages": [{"name": "canary", "thingGroups": ["canary"]}]},
    },
}


def _with(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    mutate(body["spec"])
    return body


def _target(spec: dict[str, Any], **target: Any) -> None:
    spec["targets"] = [{"name": "t", **target}]


CASES: dict[str, tuple[dict[str, Any], str]] = {
    "device and platform": (
        _with(
            lambda s: _target(
                s, targetDevice="rasp4b", targetPlatform={"os": "LINUX", "arch": "ARM64"}
            )
        ),
        "exactly one of targetDevice and targetPlatform",
    ),
    "neither device nor platform": (
        _with(lambda s: _target(s)),
        "exactly one of targetDevice and targetPlatform",
    ),
    "unknown device": (_with(lambda s: _target(s, targetDevice="toaster")), "Unsupported value"),
    "unknown framework": (_with(lambda s: s.update(framework="CAFFE")), "Unsupported value"),
    "NVIDIA on ARM_EABIHF": (
        _with(
            lambda s: _target(
                s,
                targetPlatform={"os": "LINUX", "arch": "ARM_EABIHF", "accelerator": "NVIDIA"},
                compilerOptions='{"gpu-code": "sm_72", "trt-ver": "7", "cuda-ver": "10.2"}',
            )
        ),
        "does not compile for this os/arch/accelerator",
    ),
    "MALI on X86_64": (
        _with(
            lambda s: _target(
                s, targetPlatform={"os": "LINUX", "arch": "X86_64", "accelerator": "MALI"}
            )
        ),
        "does not compile for this os/arch/accelerator",
    ),
    "NVIDIA without compiler options": (
        _with(
            lambda s: _target(
                s, targetPlatform={"os": "LINUX", "arch": "ARM64", "accelerator": "NVIDIA"}
            )
        ),
        "gpu-code, trt-ver and cuda-ver",
    ),
    "framework version for ONNX": (
        _with(lambda s: s.update(framework="ONNX")),
        "frameworkVersion only for",
    ),
    "source not in S3": (_with(lambda s: s.update(source="https://x/model.tar.gz")), "source"),
    "source not a tar.gz": (_with(lambda s: s.update(source="s3://models/model.zip")), "source"),
    "duplicate stage names": (
        _with(
            lambda s: s["rollout"].update(
                stages=[{"name": "a", "thingGroups": ["g"]}, {"name": "a", "thingGroups": ["h"]}]
            )
        ),
        "Duplicate value",
    ),
    "two rollout rates": (
        _with(
            lambda s: s["rollout"].update(
                stages=[
                    {
                        "name": "a",
                        "thingGroups": ["g"],
                        "maximumPerMinute": 5,
                        "exponentialRate": {"baseRatePerMinute": 1, "incrementFactor": 2},
                    }
                ]
            )
        ),
        "at most one of maximumPerMinute and exponentialRate",
    ),
    "no stages": (_with(lambda s: s["rollout"].update(stages=[])), "stages"),
}


@pytest.fixture
def edge_models(admin_api: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin_api, "edgemodels")


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_edge_model_is_rejected_at_admission(
    case: str, namespace: str, edge_models: cluster.Objects
) -> None:
    body, message = CASES[case]
    with pytest.raises(ApiException) as rejected:
        edge_models.create(namespace, body)
    assert rejected.value.status == 422
    assert message in str(rejected.value.body)


def test_valid_edge_model_is_admitted_with_defaults(
    namespace: str, edge_models: cluster.Objects
) -> None:
    nvidia = _with(
        lambda s: _target(
            s,
            targetPlatform={"os": "LINUX", "arch": "ARM64", "accelerator": "NVIDIA"},
            compilerOptions='{"gpu-code": "sm_72", "trt-ver": "7.1.3", "cuda-ver": "10.2"}',
        )
    )
    nvidia["metadata"]["name"] = "nvidia"
    for body in (copy.deepcopy(GOOD), nvidia):
        created = edge_models.create(namespace, body)
        spec = created["spec"]
        assert spec["deletionPolicy"] == "Delete"
        assert spec["rollout"]["failureHandlingPolicy"] == "ROLLBACK"
