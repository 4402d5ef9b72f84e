"""Spec builders shared by every tier: unit tests, the reconcile tier and end-to-end tests."""

from __future__ import annotations

from typing import Any

from serving_operator.api import GROUP, VERSION
from serving_operator.api.edgemodel import EdgeModelSpec
from serving_operator.api.modelendpoint import ModelEndpointSpec
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint, desired_endpoint
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedEndpoint,
    ObservedVariant,
)

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-2"


def variant(
    name: str,
    bucket: str = "bucket",
    version: str = "v1",
    *,
    weight: float = 1,
    count: int = 1,
    image: str = IMAGE,
    **extra: Any,
) -> dict[str, Any]:
    """A production variant serving s3://BUCKET/xgboost/VERSION/model.tar.gz."""
    return {
        "name": name,
        "model": {"image": image, "modelDataUrl": f"s3://{bucket}/xgboost/{version}/model.tar.gz"},
        "instanceType": "ml.m5.large",
        "instanceCount": count,
        "weight": weight,
        **extra,
    }


def model_endpoint_spec(*variants: dict[str, Any], **extra: Any) -> ModelEndpointSpec:
    return ModelEndpointSpec.model_validate(
        {"executionRoleArn": ROLE, "variants": list(variants), **extra}
    )


def desired(*variants: dict[str, Any], name: str = "bikes", **extra: Any) -> DesiredEndpoint:
    return desired_endpoint(model_endpoint_spec(*variants, **extra), namespace="ns", name=name)


def model_endpoint(name: str, variants: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A ModelEndpoint manifest, as a user applies it."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelEndpoint",
        "metadata": {"name": name},
        "spec": {"executionRoleArn": ROLE, "variants": variants, **spec},
    }


def in_service(
    want: DesiredEndpoint,
    status: EndpointStatus = EndpointStatus.IN_SERVICE,
    failure: str | None = None,
) -> ObservedEndpoint:
    """The endpoint as SageMaker shows it once it runs `want` exactly."""
    return ObservedEndpoint(
        name=want.endpoint_name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{want.endpoint_name}",
        status=status,
        config_name=want.config_name,
        failure_reason=failure,
        variants=tuple(
            ObservedVariant(v.name, v.weight, v.weight, v.instance_count, v.instance_count)
            for v in want.variants
        ),
    )


def quick_canary(body: dict[str, Any]) -> dict[str, Any]:
    """examples/xgboost-bikerental-canary.yaml at demo speed: one-second metrics, a look every
    2 s, 60 invocations a check, a 2 s pause, a wide error margin for so few samples, and a
    latency ceiling instead of a comparison of two small samples' p99s. The example itself
    keeps production values (a minute per look, 1000 invocations, a 10 minute pause)."""
    spec = body["spec"]
    spec["metricPeriodSeconds"] = 1
    spec["progressDeadlineSeconds"] = 180
    spec.pop("autoRollback", None)
    for step in spec["steps"]:
        if "pause" in step:
            step["pause"] = {"duration": 2}
    spec["analysis"] = {
        "interval": 2,
        "minSampleSize": 60,
        "metrics": [
            {"name": "errors", "type": "ErrorRate", "harmfulIncrease": 0.15},
            {
                "name": "p99",
                "type": "Latency",
                "percentile": 99,
                "thresholdRange": {"max": 1_000_000},
            },
        ],
    }
    return body


def edge_model_spec(**changes: Any) -> EdgeModelSpec:
    """A PyTorch classifier for a Jetson Nano and 64-bit ARM Linux, rolled out to a canary
    group, then the fleet; `changes` replace top-level spec fields."""
    base: dict[str, Any] = {
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
        "rollout": {
            "stages": [
                {"name": "canary", "thingGroups": ["canary"]},
                {"name": "fleet", "thingGroups": ["fleet"]},
            ],
            "stageDeadlineSeconds": 600,
        },
    }
    return EdgeModelSpec.model_validate(base | changes)


NEO_ROLE = "arn:aws:iam::123456789012:role/NeoRole"
ARM64_TARGET: dict[str, Any] = {
    "name": "arm64",
    "targetPlatform": {"os": "LINUX", "arch": "ARM64"},
}


def two_targets(nano_groups: list[str], arm64_groups: list[str]) -> list[dict[str, Any]]:
    """A Jetson Nano and 64-bit ARM Linux, each with thing groups of its own (one model per
    device: admission refuses two targets sharing a group, docs/edgemodel.md)."""
    return [
        {"name": "nano", "targetDevice": "jetson_nano", "thingGroups": nano_groups},
        {**ARM64_TARGET, "thingGroups": arm64_groups},
    ]


def edge_model(
    name: str,
    bucket: str,
    stages: list[dict[str, Any]],
    rollout_extra: dict[str, Any] | None = None,
    *,
    targets: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """An EdgeModel manifest: the classifier in `bucket` compiled for `targets` (default: 64-bit
    ARM Linux, deployed to every group of the rollout) and rolled out in `stages`."""
    return {
        "apiVersion": "serving.mlops.dev/v1alpha1",
        "kind": "EdgeModel",
        "metadata": {"name": name},
        "spec": {
            "source": f"s3://{bucket}/classifier/model.tar.gz",
            "framework": "PYTORCH",
            "frameworkVersion": "1.8",
            "dataInputConfig": '{"input0": [1, 3, 224, 224]}',
            "roleArn": NEO_ROLE,
            "outputS3Uri": f"s3://{bucket}/compiled",
            "targets": [ARM64_TARGET] if targets is None else targets,
            "rollout": {"stages": stages, "stageDeadlineSeconds": 120, **(rollout_extra or {})},
            **spec,
        },
    }
