"""A multi-model endpoint at rest: its S3 prefix is listed after a rollout, not at each resync.

The listing's time lives in status (modelsListedAt), so this also proves it survives the
round trip through the API server: a pruned field would list the prefix at every pass. The
hourly relisting is covered by the unit tiers (tests/unit/test_multi_model_listing.py,
tests/unit/test_reconcile_modelendpoint.py), which control the clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_resyncs, wait_gone
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e


def _multi_model(bucket: str, prefix: str) -> dict[str, Any]:
    return variant(
        "all-models",
        model={
            "image": "img:multi",
            "mode": "MultiModel",
            "modelDataUrl": f"s3://{bucket}/{prefix}",
            "targetModels": ["hyper1.tar.gz"],
            "warmUp": True,
        },
        count=2,
    )


def _settled(obj: dict[str, Any]) -> bool:
    """Rolled out, warmed up and listed for the config the endpoint runs."""
    status = obj["status"]
    config = status.get("endpointConfigName")
    return (
        config is not None
        and status.get("warmedUpForConfigName") == config
        and status.get("modelsListedForConfigName") == config
    )


def _models_found(obj: dict[str, Any]) -> list[str]:
    (only,) = obj["status"]["variants"]
    found: list[str] = only["modelsFound"]
    return found


def test_the_prefix_is_listed_after_each_rollout_and_not_at_rest(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    s3 = sandbox.client("s3")
    for key in ("hyper/hyper1.tar.gz", "hyper/hyper2.tar.gz", "hyper-v2/hyper1.tar.gz"):
        s3.put_object(Bucket=model_bucket, Key=key, Body=b"model")
    name = f"multi-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [_multi_model(model_bucket, "hyper/")]))
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator, also=_settled)
    assert _models_found(ready) == ["hyper1.tar.gz", "hyper2.tar.gz"]
    (warm_up,) = ready["status"]["variants"][0]["warmUp"]
    assert warm_up["targetModel"] == "hyper1.tar.gz"
    listed_at = ready["status"]["modelsListedAt"]

    # At rest: a model uploaded now is not looked for at each resync.
    s3.put_object(Bucket=model_bucket, Key="hyper/hyper3.tar.gz", Body=b"model")
    sandbox.forget_calls()
    wait_for_resyncs(sandbox, name, operator, passes=3)
    operations = {c["operation"] for c in sandbox.calls()}
    assert "ListObjectsV2" not in operations
    rested = model_endpoints.get(namespace, name)
    assert rested is not None
    assert _models_found(rested) == ["hyper1.tar.gz", "hyper2.tar.gz"]  # kept, not re-read
    assert rested["status"]["modelsListedAt"] == listed_at

    # A new prefix is a new config: listed (and warmed up) as soon as its rollout is done.
    body = model_endpoint(name, [_multi_model(model_bucket, "hyper-v2/")])
    model_endpoints.patch_spec(namespace, name, body["spec"])
    switched = wait_for_condition(
        model_endpoints, namespace, name, "Ready", operator, also=_settled
    )
    assert switched["status"]["endpointConfigName"] != ready["status"]["endpointConfigName"]
    assert _models_found(switched) == ["hyper1.tar.gz"]

    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator)
