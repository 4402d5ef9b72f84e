"""Building SageMaker models, configs and endpoints in the sandbox, and waiting on them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def model(sagemaker: Any, **definition: Any) -> str:
    """A model from a PrimaryContainer, or Containers (+ InferenceExecutionConfig)."""
    name = unique("model")
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, **definition)
    return name


def single_model(sagemaker: Any, bucket: str) -> str:
    return model(
        sagemaker,
        PrimaryContainer={
            "Image": "img",
            "ModelDataUrl": f"s3://{bucket}/xgboost/v1/model.tar.gz",
        },
    )


def endpoint(
    sagemaker: Any,
    variants: dict[str, str],
    *,
    count: int = 2,
    weights: dict[str, float] | None = None,
) -> str:
    """An endpoint whose variants (name -> model) all run `count` instances; not waited on."""
    config = unique("cfg")
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": model_name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": count,
                "InitialVariantWeight": (weights or {}).get(variant, 1.0),
            }
            for variant, model_name in variants.items()
        ],
    )
    name = unique("ep")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    return name


def wait_until(
    describe: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 20,
) -> dict[str, Any]:
    """Poll `describe` until `done` holds of its answer, or fail once the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        described = describe()
        if done(described):
            return described
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {described}"
        time.sleep(0.1)


def in_service(sagemaker: Any, name: str, timeout: float = 20) -> dict[str, Any]:
    return wait_until(
        lambda: sagemaker.describe_endpoint(EndpointName=name),
        lambda d: d["EndpointStatus"] == "InService",
        f"{name} to be InService",
        timeout,
    )


def variants_of(described: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["VariantName"]: v for v in described["ProductionVariants"]}
