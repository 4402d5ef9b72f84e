"""A valid ModelEndpoint is admitted with its defaults; the bad specs the real kube-apiserver
rejects are the corpus in tests/e2e/bad_input/ (tests/e2e/test_bad_input.py)."""

from __future__ import annotations

import pytest

from tests.support import cluster
from tests.support.specs import model_endpoint

pytestmark = pytest.mark.e2e

GOOD_VARIANT = {
    "name": "a",
    "model": {"image": "img:1", "modelDataUrl": "s3://bucket/model.tar.gz"},
    "instanceType": "ml.m5.large",
}


def test_valid_spec_is_admitted_with_defaults(
    namespace: str, model_endpoints: cluster.Objects
) -> None:
    body = model_endpoint("has-dots-in-spec-name", [GOOD_VARIANT], endpointName="explicit-name")
    body["metadata"]["name"] = "with.dots"
    created = model_endpoints.create(namespace, body)
    assert created["spec"]["deletionPolicy"] == "Delete"
    assert created["spec"]["variants"][0]["instanceCount"] == 1
    assert created["spec"]["variants"][0]["weight"] == 1


def test_a_relative_harm_is_admitted_with_its_floor(
    namespace: str, traffic_splits: cluster.Objects
) -> None:
    """relativeHarm's CEL rule (floor below maxIncrease + harmfulIncrease) admits what it
    should, with and without a maxIncrease; its rejections are in the bad-input corpus."""
    for name, extra in (
        ("relative", {}),
        (
            "relative-margin",
            {
                "maxIncrease": {"kind": "Absolute", "amount": 0.02},
                "relativeHarm": {"ratio": 1.5, "floor": 0.025},
            },
        ),
    ):
        metric = {"name": "errors", "type": "ErrorRate", "relativeHarm": {"ratio": 2}, **extra}
        created = traffic_splits.create(
            namespace,
            {
                "apiVersion": "serving.mlops.dev/v1alpha1",
                "kind": "TrafficSplit",
                "metadata": {"name": name},
                "spec": {
                    "endpointRef": {"name": "nowhere"},
                    "baseline": "a",
                    "candidate": "b",
                    "stepWeight": 10,
                    "maxWeight": 50,
                    "analysis": {"metrics": [metric]},
                },
            },
        )
        admitted = created["spec"]["analysis"]["metrics"][0]
        assert admitted["relativeHarm"] == metric["relativeHarm"] | (
            {} if "floor" in metric["relativeHarm"] else {"floor": 0.0005}
        )
