"""Spec builders shared by every tier: unit tests, the reconcile tier and end-to-end tests."""

from __future__ import annotations

from typing import Any

from serving_operator.api import GROUP, VERSION
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
