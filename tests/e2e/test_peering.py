"""Active/standby replicas with kopf peering: one acts, the other takes over when it goes.

Runs on a control plane of its own: the session's operator is cluster-wide and standalone,
so it would act on these resources too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from tests.e2e.helpers import wait_for_condition
from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e

NAMESPACE = "peers"
PEERING = "serving-operator"


@pytest.fixture
def peering_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    with own_control_plane(tmp_path / "controlplane", namespaces=[NAMESPACE]) as plane:
        api = cluster.api_client(plane.kubeconfig(controlplane.ADMIN_USER))
        # What the chart creates with peering.enabled and watchNamespaces: [peers].
        kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(
            "kopf.dev",
            "v1",
            NAMESPACE,
            "kopfpeerings",
            {
                "apiVersion": "kopf.dev/v1",
                "kind": "KopfPeering",
                "metadata": {"name": PEERING},
            },
        )
        yield plane


def replica(
    tmp_path: Path,
    plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    label: str,
    priority: int,
    extra_env: dict[str, str] | None = None,
) -> operator_support.OperatorProcess:
    return operator_support.start(
        tmp_path / label,
        plane.kubeconfig(controlplane.OPERATOR_USER),
        sandbox.env,
        args=["--peering", PEERING, "--priority", str(priority), "--namespace", NAMESPACE],
        extra_env=extra_env,
    )


def handled(process: operator_support.OperatorProcess, name: str) -> bool:
    return f"[{NAMESPACE}/{name}] Handler 'modelendpoint-create' succeeded" in (
        process.log.read_text()
    )


def test_one_replica_acts_and_the_standby_takes_over(
    tmp_path: Path,
    peering_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    model_bucket: str,
) -> None:
    api = cluster.api_client(peering_plane.kubeconfig(controlplane.ADMIN_USER))
    objects = cluster.Objects(api, "modelendpoints")
    active = replica(tmp_path, peering_plane, sandbox, "active", priority=200)
    standby = replica(tmp_path, peering_plane, sandbox, "standby", priority=100)
    try:
        # kopf starts a peering replica paused until it has seen its peers: the standby
        # never acts while the higher-priority replica is alive.
        first = f"first-{tmp_path.name[-8:]}".replace("_", "-")
        objects.create(NAMESPACE, model_endpoint(first, [variant("a", model_bucket, "v1")]))
        wait_for_condition(objects, NAMESPACE, first, "Ready", active)
        assert handled(active, first)
        assert not handled(standby, first)

        active.stop()  # a clean stop leaves the peering at once
        processes.wait_until(
            lambda: "Resuming operations" in standby.log.read_text(),
            timeout=90,
            what="the standby to resume",
            log=standby.log,
        )
        second = f"second-{tmp_path.name[-8:]}".replace("_", "-")
        objects.create(NAMESPACE, model_endpoint(second, [variant("a", model_bucket, "v2")]))
        wait_for_condition(objects, NAMESPACE, second, "Ready", standby)
        assert handled(standby, second)
    finally:
        active.stop()
        standby.stop()
