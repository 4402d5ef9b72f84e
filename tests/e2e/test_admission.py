"""Bad specs are rejected by the real kube-apiserver, from the generated schema and CEL rules."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from tests.e2e.helpers import model_endpoint
from tests.support import cluster

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
        "instanceType",
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
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_spec_is_rejected_at_admission(
    case: str, namespace: str, model_endpoints: cluster.Objects
) -> None:
    body, expected = CASES[case]
    with pytest.raises(ApiException) as rejected:
        model_endpoints.create(namespace, body)
    assert rejected.value.status == 422
    assert expected in rejected.value.body


def test_valid_spec_is_admitted_with_defaults(
    namespace: str, model_endpoints: cluster.Objects
) -> None:
    body = model_endpoint("has-dots-in-spec-name", [_variant()], endpointName="explicit-name")
    body["metadata"]["name"] = "with.dots"
    created = model_endpoints.create(namespace, body)
    assert created["spec"]["deletionPolicy"] == "Delete"
    assert created["spec"]["variants"][0]["instanceCount"] == 1
    assert created["spec"]["variants"][0]["weight"] == 1
