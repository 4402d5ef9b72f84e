"""A GitOps round trip: what Argo CD and Flux do with the examples, done with kubectl.

Apply server-side, wait for Ready with `kubectl wait`, apply again: nothing changes, `kubectl
diff` is empty, and no field manager but the applier owns any part of the spec (the operator
writes status and its own metadata only), so a GitOps tool never sees drift it did not make.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import wait_gone
from tests.support import cluster, controlplane
from tests.support.operator import OperatorProcess
from tests.support.paths import DEFAULT_ASSETS, EXAMPLES
from tests.support.sandbox import Sandbox, upload_demo_artifacts

pytestmark = pytest.mark.e2e

EXAMPLE = EXAMPLES / "xgboost-bikerental.yaml"
NAME = "xgboost-bikerental"
MANAGER = "gitops-test"


def kubectl(plane: controlplane.ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    kubeconfig: Path = plane.kubeconfig(controlplane.ADMIN_USER)
    return subprocess.run(
        [str(DEFAULT_ASSETS / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def spec_managers(obj: dict[str, Any]) -> set[str]:
    return {
        entry["manager"]
        for entry in obj["metadata"].get("managedFields", [])
        if "f:spec" in (entry.get("fieldsV1") or {})
    }


def test_apply_wait_apply_again_changes_nothing(
    control_plane: controlplane.ControlPlane,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
) -> None:
    upload_demo_artifacts(sandbox)
    apply = ("apply", "--server-side", f"--field-manager={MANAGER}", "-n", namespace)
    first = kubectl(control_plane, *apply, "-f", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    try:
        waited = kubectl(
            control_plane,
            "wait",
            "--for=condition=Ready",
            f"modelendpoint/{NAME}",
            "-n",
            namespace,
            "--timeout=120s",
        )
        assert waited.returncode == 0, waited.stderr
        before = model_endpoints.get(namespace, NAME)
        assert before is not None

        diff = kubectl(control_plane, "diff", "--server-side", "-n", namespace, "-f", str(EXAMPLE))
        assert (diff.returncode, diff.stdout) == (0, ""), diff.stdout + diff.stderr
        again = kubectl(control_plane, *apply, "-f", str(EXAMPLE))
        assert again.returncode == 0, again.stderr

        after = model_endpoints.get(namespace, NAME)
        assert after is not None
        assert after["metadata"]["generation"] == before["metadata"]["generation"]
        assert after["spec"] == before["spec"]
        assert spec_managers(after) == {MANAGER}
    finally:
        kubectl(control_plane, "delete", "-n", namespace, "-f", str(EXAMPLE), "--wait=false")
        wait_gone(model_endpoints, namespace, NAME, operator, timeout=90)
