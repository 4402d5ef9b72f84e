"""Valid EdgeModels are admitted with their defaults; the bad specs the real kube-apiserver
rejects are the corpus in tests/e2e/bad_input/ (tests/e2e/test_bad_input.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import kubernetes
import pytest

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
            {"name": "nano", "targetDevice": "jetson_nano", "thingGroups": ["canary-nano"]},
            {
                "name": "arm",
                "targetPlatform": {"os": "LINUX", "arch": "ARM64"},
                "thingGroups": ["canary"],
            },
        ],
        "rollout": {"stages": [{"name": "canary", "thingGroups": ["canary", "canary-nano"]}]},
    },
}


def _with(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    mutate(body["spec"])
    return body


def _target(spec: dict[str, Any], **target: Any) -> None:
    spec["targets"] = [{"name": "t", **target}]


@pytest.fixture
def edge_models(admin_api: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin_api, "edgemodels")


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
