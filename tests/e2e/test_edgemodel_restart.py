"""An operator SIGKILLed mid-compilation and mid-rollout picks up where it was: no second
compilation job and no second deployment for one desired state (its own control plane, so
the shared operator is not involved)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.edge_support import (
    annotate,
    reason,
    thing_group,
    wait_status,
)
from tests.support import cluster, controlplane
from tests.support import operator as operator_support
from tests.support.crashes import sigkill
from tests.support.operator import OperatorProcess
from tests.support.planes import own_control_plane
from tests.support.sandbox import FAST_EDGE, Sandbox
from tests.support.specs import edge_model

pytestmark = pytest.mark.e2e

NAMESPACE = "restarts"


@pytest.fixture
def own_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    with own_control_plane(tmp_path / "controlplane", namespaces=[NAMESPACE]) as plane:
        yield plane


@pytest.fixture
def slow_compilation(sandbox: Sandbox) -> Iterator[None]:
    before = sandbox._admin("GET", "settings")
    sandbox.settings(**{**FAST_EDGE, "compilationSeconds": 4})
    yield
    sandbox.settings(**before)


def start(
    tmp_path: Path, plane: controlplane.ControlPlane, sandbox: Sandbox, label: str
) -> OperatorProcess:
    return operator_support.start(
        tmp_path / label, plane.kubeconfig(controlplane.OPERATOR_USER), sandbox.env
    )


def test_sigkill_mid_compilation_and_mid_rollout_makes_nothing_twice(
    tmp_path: Path, own_plane: controlplane.ControlPlane, sandbox: Sandbox, slow_compilation: None
) -> None:
    api = cluster.api_client(own_plane.kubeconfig(controlplane.ADMIN_USER))
    edge_models = cluster.Objects(api, "edgemodels")
    s3 = sandbox.client("s3")
    bucket = f"restart-{tmp_path.name[-8:].lower().replace('_', '-')}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="classifier/model.tar.gz", Body=b"trained model")
    canary, _ = thing_group(sandbox, "canary", 1)
    fleet, _ = thing_group(sandbox, "fleet", 2)
    name = f"restarted-{bucket[-6:]}"
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
        wait_status(
            edge_models,
            NAMESPACE,
            name,
            first,
            lambda o: any(
                t.get("compilationJobStatus") in ("STARTING", "INPROGRESS")
                for t in o.get("status", {}).get("targets", [])
            ),
            "compilation under way",
        )
    finally:
        sigkill(first)

    second = start(tmp_path, own_plane, sandbox, "second")
    try:
        waiting = wait_status(
            edge_models,
            NAMESPACE,
            name,
            second,
            lambda o: reason(o, "Reconciling") == "AwaitingPromotion",
            "canary to await promotion",
        )
    finally:
        sigkill(second)

    third = start(tmp_path, own_plane, sandbox, "third")
    try:
        annotate(edge_models, NAMESPACE, name, "serving.mlops.dev/promote", "after-restarts")
        ready = wait_status(
            edge_models, NAMESPACE, name, third, lambda o: cluster.is_true(o, "Ready"), "Ready"
        )
    finally:
        third.stop()

    targets: list[dict[str, Any]] = ready["status"]["targets"]
    jobs = sandbox.client("sagemaker").list_compilation_jobs(NameContains=name)
    assert sorted(j["CompilationJobName"] for j in jobs["CompilationJobSummaries"]) == sorted(
        t["compilationJobName"] for t in targets
    )
    assert [t["componentVersion"] for t in targets] == [
        t["componentVersion"] for t in waiting["status"]["targets"]
    ]
    greengrass, iot = sandbox.client("greengrassv2"), sandbox.client("iot")
    for group in (canary, fleet):
        arn = iot.describe_thing_group(thingGroupName=group)["thingGroupArn"]
        history = greengrass.list_deployments(targetArn=arn, historyFilter="ALL")["deployments"]
        assert len(history) == 1, (group, history)
    assert [s["phase"] for s in ready["status"]["stages"]] == ["Succeeded", "Succeeded"]
