"""HA from the chart on a fresh cluster: `helm install --set peering.enabled=true` on an API
server that has never seen kopf's CRDs, then two replicas hand over.

The release holds both the peering object (ClusterKopfPeering) and, in the chart's crds/
folder, the CRD it needs; Helm installs crds/ first and waits for it. Had the CRDs been
templates next to the object (as before), `helm install` would stop with "no matches for kind
ClusterKopfPeering": Helm maps every object of a release before it creates any.

The pods run as local processes (tests/support/localpods.py): the Deployment's two replicas,
each drawing its own peering priority as in a pod, as the chart's ServiceAccount.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from tests.e2e.helpers import wait_for_condition
from tests.e2e.test_chart import CHART
from tests.e2e.test_helm_lifecycle import Helm, create_namespaces
from tests.support import cluster, controlplane, processes
from tests.support.localpods import LocalPods
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e


@pytest.fixture
def empty_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    """A control plane with no CRDs at all, kopf's included."""
    plane = controlplane.start(tmp_path / "controlplane")
    try:
        yield plane
    finally:
        plane.stop()


def handled(process: OperatorProcess, namespace: str, name: str) -> bool:
    return f"{namespace}/{name}" in process.log.read_text() and (
        "Handler 'modelendpoint-create' succeeded" in process.log.read_text()
    )


def test_peering_installs_on_an_empty_cluster_and_two_replicas_hand_over(
    tmp_path: Path,
    empty_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    model_bucket: str,
) -> None:
    admin = cluster.api_client(empty_plane.kubeconfig(controlplane.ADMIN_USER))
    ext = kubernetes.client.ApiextensionsV1Api(admin)
    assert not ext.list_custom_resource_definition().items
    suffix = uuid.uuid4().hex[:8]
    release_ns, workload_ns = f"ops-{suffix}", f"ml-{suffix}"
    create_namespaces(admin, release_ns, workload_ns)

    installed = Helm(empty_plane)(
        "install",
        "serving",
        str(CHART),
        "--namespace",
        release_ns,
        "--set",
        "peering.enabled=true",
        "--set",
        "replicaCount=2",
        "--set",
        "peering.lifetimeSeconds=15",
    )
    assert "STATUS: deployed" in installed
    peering = kubernetes.client.CustomObjectsApi(admin).get_cluster_custom_object(
        "kopf.dev", "v1", "clusterkopfpeerings", "serving-operator"
    )
    assert peering["metadata"]["labels"]["app.kubernetes.io/instance"] == "serving"

    endpoints = cluster.Objects(admin, "modelendpoints")
    with LocalPods(empty_plane, tmp_path / "pods", sandbox.env) as pods:
        processes.wait_until(lambda: len(pods.processes()) == 2, timeout=120, what="two replicas")
        first = f"first-{suffix}"
        endpoints.create(workload_ns, model_endpoint(first, [variant("a", model_bucket, "v1")]))
        replicas = pods.processes()
        processes.wait_until(
            lambda: any(handled(p, workload_ns, first) for p in replicas),
            timeout=90,
            what="one replica to handle the first endpoint",
        )
        (active,) = [p for p in replicas if handled(p, workload_ns, first)]
        (standby,) = [p for p in replicas if p is not active]
        wait_for_condition(endpoints, workload_ns, first, "Ready", active)
        assert not handled(standby, workload_ns, first), "both replicas acted"

        pods.evict(active)  # a clean stop leaves the peering at once
        processes.wait_until(
            lambda: "Resuming operations" in standby.log.read_text(),
            timeout=90,
            what="the standby to resume",
            log=standby.log,
        )
        second = f"second-{suffix}"
        endpoints.create(workload_ns, model_endpoint(second, [variant("a", model_bucket, "v2")]))
        wait_for_condition(endpoints, workload_ns, second, "Ready", standby)
        assert handled(standby, workload_ns, second)
        assert not pods.errors, pods.errors
        for name in (first, second):
            endpoints.delete(workload_ns, name)
        processes.wait_until(
            lambda: all(endpoints.get(workload_ns, n) is None for n in (first, second)),
            timeout=90,
            what="the endpoints to be deleted by the active replica",
            log=standby.log,
        )
