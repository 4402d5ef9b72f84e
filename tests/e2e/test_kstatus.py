"""Flux and kubectl-wait-style tools read our resources through kstatus: check with the real one.

kstatus (sigs.k8s.io/cli-utils) is built from its Go module into .cache/bin, as the control
plane is. A resource must read InProgress from the moment it exists, Current once Ready, and
Failed when Stalled.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.e2e.helpers import wait_for_condition
from tests.support import cluster
from tests.support.controlplane import ControlPlane, assets_dir
from tests.support.operator import OperatorProcess
from tests.support.paths import DEFAULT_ASSETS
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e


def kstatus(obj: dict[str, Any]) -> str:
    binary = next(
        (f / "kstatus" for f in (assets_dir(), DEFAULT_ASSETS) if (f / "kstatus").exists()),
        DEFAULT_ASSETS / "kstatus",
    )
    done = subprocess.run(
        [str(binary)], input=json.dumps(obj) + "\n", capture_output=True, text=True, check=True
    )
    return str(json.loads(done.stdout)["status"])


def test_a_new_resource_is_in_progress_before_the_operator_acts(
    control_plane: ControlPlane,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    # The create response is the stored object: no operator pass can have happened yet.
    created = model_endpoints.create(
        namespace, model_endpoint(f"new-{namespace}", [variant("a", model_bucket, "v1")])
    )
    assert created["status"]["observedGeneration"] == 0
    assert cluster.condition(created, "Reconciling")["reason"] == "Pending"  # type: ignore[index]
    # No time before the operator computes one: absent, not "" (which tools cannot parse).
    assert "lastTransitionTime" not in cluster.condition(created, "Reconciling")  # type: ignore[operator]
    assert kstatus(created) == "InProgress"
    # Without the CRD's initial status the same object would read as healthy.
    assert kstatus({k: v for k, v in created.items() if k != "status"}) == "Current"


def test_ready_reads_current_and_stalled_reads_failed(
    operator: OperatorProcess,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    good, bad = f"good-{namespace}", f"bad-{namespace}"
    model_endpoints.create(namespace, model_endpoint(good, [variant("a", model_bucket, "v1")]))
    model_endpoints.create(namespace, model_endpoint(bad, [variant("a", model_bucket, "absent")]))
    ready = wait_for_condition(model_endpoints, namespace, good, "Ready", operator)
    assert kstatus(ready) == "Current"
    assert all(c["lastTransitionTime"] for c in ready["status"]["conditions"])
    assert kstatus(wait_for_condition(model_endpoints, namespace, bad, "Stalled", operator)) == (
        "Failed"
    )
