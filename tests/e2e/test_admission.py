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
