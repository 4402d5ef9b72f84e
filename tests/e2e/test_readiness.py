"""`/readyz` on the metrics port: ready only while the operator's identity may list what it
watches; kopf's `/healthz` (liveness) stays up meanwhile, since restarting would not help."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from tests.support import controlplane, processes
from tests.support import operator as operator_support
from tests.support.paths import CLUSTERROLE_RULES, PEERING_RULES
from tests.support.planes import admin_api, own_control_plane
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.e2e

OPERATOR_ROLE = "serving-operator"  # cluster.grant_operator binds it: these two files' rules


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    """A control plane of its own: this test changes the operator's ClusterRole."""
    with own_control_plane(tmp_path / "controlplane") as started:
        yield started


def readyz(operator: operator_support.OperatorProcess) -> tuple[int, dict[str, Any]]:
    url = operator.metrics_url.replace("/metrics", "/readyz")
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_ready_while_the_watched_kinds_can_be_listed_and_not_otherwise(
    plane: controlplane.ControlPlane, sandbox: Sandbox, tmp_path: Path
) -> None:
    rbac = kubernetes.client.RbacAuthorizationV1Api(admin_api(plane))
    rules = [
        *yaml.safe_load(CLUSTERROLE_RULES.read_text()),
        *yaml.safe_load(PEERING_RULES.read_text()),
    ]
    process = operator_support.start(
        tmp_path / "operator", plane.kubeconfig(controlplane.OPERATOR_USER), sandbox.env
    )
    try:
        processes.wait_until(
            lambda: readyz(process) == (200, {"ready": True}), timeout=60, what="ready"
        )
        # Take `list` away from the three kinds: what every watch stream starts with.
        kinds = next(r for r in rules if "modelendpoints" in r["resources"])
        fewer = [r for r in rules if r is not kinds] + [
            {**kinds, "verbs": [v for v in kinds["verbs"] if v != "list"]}
        ]
        rbac.patch_cluster_role(OPERATOR_ROLE, {"rules": fewer})
        processes.wait_until(lambda: readyz(process)[0] == 503, timeout=60, what="not ready")
        _, body = readyz(process)
        assert body["ready"] is False
        assert "cannot list /apis/serving.mlops.dev/v1alpha1/" in body["reason"]
        assert "HTTP 403" in body["reason"]
        assert process.alive()  # liveness: kopf's /healthz still answers
        rbac.patch_cluster_role(OPERATOR_ROLE, {"rules": rules})
        processes.wait_until(
            lambda: readyz(process) == (200, {"ready": True}), timeout=60, what="ready again"
        )
        # The metrics are still served beside it.
        assert "serving_operator_" in process.metrics()
    finally:
        process.stop()
