"""Upgrading over an EdgeModel mid-rollout whose status an older operator wrote: its stage
times are Unix seconds (JSON numbers), this operator writes RFC 3339. The installed CRD must
accept what is stored (the apiserver validates the whole object on every write: the older
operator's own status patches during a rolling upgrade, kopf's finalizer and annotation
patches, kubectl apply), and this operator must read the old times as the same moments, so
the stage neither starts again nor forgets what its groups ran before, and rewrite them.
Its own control plane, so the shared operator is not involved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.edge_support import annotate, reason, stage, thing_group, wait_status
from tests.support import cluster, controlplane
from tests.support import operator as operator_support
from tests.support.operator import OperatorProcess
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model

pytestmark = pytest.mark.e2e

NAMESPACE = "upgrades"


@pytest.fixture
def own_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    with own_control_plane(tmp_path / "controlplane", namespaces=[NAMESPACE]) as plane:
        yield plane


def start(
    tmp_path: Path, plane: controlplane.ControlPlane, sandbox: Sandbox, label: str
) -> OperatorProcess:
    return operator_support.start(
        tmp_path / label, plane.kubeconfig(controlplane.OPERATOR_USER), sandbox.env
    )


def unix_time(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def as_rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def test_a_status_with_unix_times_is_accepted_understood_and_rewritten(
    tmp_path: Path, own_plane: controlplane.ControlPlane, sandbox: Sandbox
) -> None:
    api = cluster.api_client(own_plane.kubeconfig(controlplane.ADMIN_USER))
    edge_models = cluster.Objects(api, "edgemodels")
    s3 = sandbox.client("s3")
    bucket = f"upgrade-{tmp_path.name[-8:].lower().replace('_', '-')}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="classifier/model.tar.gz", Body=b"trained model")
    canary, _ = thing_group(sandbox, "canary", 1)
    fleet, _ = thing_group(sandbox, "fleet", 2)
    name = f"upgraded-{bucket[-6:]}"
    body = edge_model(
        name,
        bucket,
        [
            {"name": "canary", "thingGroups": [canary], "gate": {"manual": True}},
            {"name": "fleet", "thingGroups": [fleet]},
        ],
    )
    body["metadata"]["namespace"] = NAMESPACE
    edge_models.create(NAMESPACE, body)

    first = start(tmp_path, own_plane, sandbox, "first")
    try:
        waiting = wait_status(
            edge_models,
            NAMESPACE,
            name,
            first,
            lambda o: reason(o, "Reconciling") == "AwaitingPromotion",
            "canary to await promotion",
        )
    finally:
        first.stop()

    # What the older operator wrote: the same status with the stage's times as Unix seconds,
    # earlier than any this pass could make (so a stage started again would show).
    before: dict[str, Any] = waiting["status"]
    started = unix_time(stage(before, "canary")["startedAt"]) - 1000.25
    met = unix_time(stage(before, "canary")["gateMetAt"]) - 500.5
    older_stages = [
        s | {"startedAt": started, "gateMetAt": met} if s["name"] == "canary" else s
        for s in before["stages"]
    ]
    edge_models.custom.patch_namespaced_custom_object_status(
        cluster.GROUP,
        cluster.VERSION,
        NAMESPACE,
        "edgemodels",
        name,
        {"status": {"stages": older_stages}},
    )
    stored = edge_models.get(NAMESPACE, name)
    assert stored is not None
    assert stage(stored["status"], "canary")["startedAt"] == started  # kept as the number
    # A write to the object itself (as kopf's finalizer and annotation patches, or kubectl
    # apply) validates the stored status too.
    annotate(edge_models, NAMESPACE, name, "example.com/touched", "before-the-upgrade")

    second = start(tmp_path, own_plane, sandbox, "second")
    try:
        rewritten = wait_status(
            edge_models,
            NAMESPACE,
            name,
            second,
            lambda o: isinstance(stage(o.get("status", {}), "canary").get("startedAt"), str),
            "the stage's times rewritten as RFC 3339",
        )
        after = rewritten["status"]
        canary_stage = stage(after, "canary")
        assert (canary_stage["startedAt"], canary_stage["gateMetAt"]) == (
            as_rfc3339(started),
            as_rfc3339(met),
        )
        assert canary_stage["phase"] == "AwaitingPromotion"
        assert after["rolloutId"] == before["rolloutId"]
        assert after["previousVersions"] == before["previousVersions"]

        annotate(edge_models, NAMESPACE, name, "serving.mlops.dev/promote", "after-upgrade")
        ready = wait_status(
            edge_models, NAMESPACE, name, second, lambda o: cluster.is_true(o, "Ready"), "Ready"
        )
    finally:
        second.stop()

    assert [s["phase"] for s in ready["status"]["stages"]] == ["Succeeded", "Succeeded"]
    assert stage(ready["status"], "canary")["startedAt"] == as_rfc3339(started)
    greengrass, iot = sandbox.client("greengrassv2"), sandbox.client("iot")
    for group in (canary, fleet):
        arn = iot.describe_thing_group(thingGroupName=group)["thingGroupArn"]
        history = greengrass.list_deployments(targetArn=arn, historyFilter="ALL")["deployments"]
        assert len(history) == 1, (group, history)
