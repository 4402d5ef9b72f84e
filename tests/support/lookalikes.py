"""SageMaker objects that look like the operator's and are not: named exactly as it names a
resource's models and configs (`<endpoint>-<10 hex>`), so the name filter lets them through
and only the ownership tag keeps cleanup and deletion off them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from serving_operator.planning.naming import is_hashed_child_name, name_prefix
from tests.support.specs import ROLE


@dataclass(frozen=True)
class Lookalike:
    """A model and an endpoint config named exactly as the operator names its own."""

    model: str
    config: str


def lookalike_name(endpoint_name: str) -> str:
    name = f"{name_prefix(endpoint_name)}-{secrets.token_hex(5)}"
    assert is_hashed_child_name(name, endpoint_name)
    return name


def make_lookalike(
    sagemaker: Any, endpoint_name: str, bucket: str, tags: list[dict[str, str]]
) -> Lookalike:
    """A model and a config serving it, with `tags` (none, or another resource's)."""
    model, config = lookalike_name(endpoint_name), lookalike_name(endpoint_name)
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={
            "Image": "img:9",
            "ModelDataUrl": f"s3://{bucket}/xgboost/v3/model.tar.gz",
        },
        ExecutionRoleArn=ROLE,
        Tags=tags,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "theirs",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        Tags=tags,
    )
    return Lookalike(model, config)
