"""Control planes of a test's own, for tests the session's cluster-wide operator must not
see: CRDs and the operator's RBAC installed, the test's namespaces created."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import kubernetes

from tests.support import cluster, controlplane


def start_prepared(
    workdir: Path, *, namespaces: Sequence[str] = (), controllers: Sequence[str] = ()
) -> controlplane.ControlPlane:
    """Start a control plane (with these kube-controller-manager `controllers`, if any),
    install the CRDs, grant the operator's user its rules and create `namespaces`."""
    plane = controlplane.start(workdir, controllers=tuple(controllers))
    try:
        api = admin_api(plane)
        cluster.install_crds(api)
        cluster.grant_operator(api, controlplane.OPERATOR_USER)
        for name in namespaces:
            create_namespace(plane, name)
    except BaseException:
        plane.stop()
        raise
    return plane


@contextlib.contextmanager
def own_control_plane(
    workdir: Path, *, namespaces: Sequence[str] = (), controllers: Sequence[str] = ()
) -> Iterator[controlplane.ControlPlane]:
    plane = start_prepared(workdir, namespaces=namespaces, controllers=controllers)
    try:
        yield plane
    finally:
        plane.stop()


def admin_api(plane: controlplane.ControlPlane) -> kubernetes.client.ApiClient:
    return cluster.api_client(plane.kubeconfig(controlplane.ADMIN_USER))


def create_namespace(plane: controlplane.ControlPlane, name: str) -> None:
    kubernetes.client.CoreV1Api(admin_api(plane)).create_namespace({"metadata": {"name": name}})
