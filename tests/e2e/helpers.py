"""Spec builders and waits shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support import cluster, processes
from tests.support.operator import OperatorProcess

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-2"


def variant(
    name: str, bucket: str, version: str, *, weight: float = 1, count: int = 1, image: str = IMAGE
) -> dict[str, Any]:
    return {
        "name": name,
        "model": {"image": image, "modelDataUrl": f"s3://{bucket}/xgboost/{version}/model.tar.gz"},
        "instanceType": "ml.m5.large",
        "instanceCount": count,
        "weight": weight,
    }


def model_endpoint(name: str, variants: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{cluster.GROUP}/{cluster.VERSION}",
        "kind": "ModelEndpoint",
        "metadata": {"name": name},
        "spec": {"executionRoleArn": ROLE, "variants": variants, **spec},
    }


def wait_for_condition(
    objects: cluster.Objects,
    namespace: str,
    name: str,
    type_: str,
    operator: OperatorProcess,
    *,
    timeout: float = 60,
    also: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """Wait until `type_` is True for the current generation, as `kubectl wait` would,
    and `also(obj)` holds."""
    found: list[dict[str, Any]] = []

    def check() -> bool:
        obj = objects.get(namespace, name)
        if (
            obj is not None
            and cluster.current_generation_observed(obj)
            and cluster.is_true(obj, type_)
            and also(obj)
        ):
            found.append(obj)
            return True
        return False

    processes.wait_until(
        check,
        timeout=timeout,
        interval=0.25,
        what=f"{type_}=True on {namespace}/{name}: last seen {objects.get(namespace, name)}",
        log=operator.log,
    )
    return found[-1]


def wait_gone(
    objects: cluster.Objects,
    namespace: str,
    name: str,
    operator: OperatorProcess,
    *,
    timeout: float = 60,
) -> None:
    processes.wait_until(
        lambda: objects.get(namespace, name) is None,
        timeout=timeout,
        interval=0.25,
        what=f"{namespace}/{name} to be deleted",
        log=operator.log,
    )
