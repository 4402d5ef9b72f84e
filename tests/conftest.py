"""Fixtures for the integration tiers: a real control plane, the AWS sandbox, the operator.

Each is started once per session; each test gets its own namespace.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import kubernetes
import pytest
from kubernetes.client.rest import ApiException

from tests.support import cluster, controlplane
from tests.support import operator as operator_support
from tests.support import sandbox as sandbox_support

# Tests assert behaviour, never timing: hypothesis' per-example deadline (200 ms) would fail a
# property on a busy CI machine for being slow, so the suite's profile has none.
hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The reliability tier's files first (their tests take minutes each), the rest after in
    their usual order: xdist's `--dist loadfile` hands files out in this order, so the long
    ones run while the short ones fill the gaps, instead of one long file running alone at
    the end of `make test`."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serving-operator")


@pytest.fixture(scope="session")
def control_plane(workdir: Path) -> Iterator[controlplane.ControlPlane]:
    plane = controlplane.start(workdir / "controlplane")
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def admin_api(control_plane: controlplane.ControlPlane) -> kubernetes.client.ApiClient:
    api = cluster.api_client(control_plane.kubeconfig(controlplane.ADMIN_USER))
    cluster.install_crds(api)
    cluster.grant_operator(api, controlplane.OPERATOR_USER)
    return api


@pytest.fixture(scope="session")
def sandbox(workdir: Path) -> Iterator[sandbox_support.Sandbox]:
    box = sandbox_support.start(
        workdir / "sandbox",
        {"creatingSeconds": 1.5, "updatingSeconds": 1.5, "deletingSeconds": 1},
    )
    try:
        yield box
        # Every call the operator made in this session must be granted by the published
        # IAM policy (docs/iam-policy.json): a missing action fails the run here.
        missing = sandbox_support.calls_missing_from_the_policy(box)
        assert not missing, f"the operator called actions docs/iam-policy.json lacks: {missing}"
    finally:
        box.stop()


@pytest.fixture(scope="session")
def operator(
    workdir: Path,
    control_plane: controlplane.ControlPlane,
    admin_api: kubernetes.client.ApiClient,
    sandbox: sandbox_support.Sandbox,
) -> Iterator[operator_support.OperatorProcess]:
    process = operator_support.start(
        workdir / "operator",
        control_plane.kubeconfig(controlplane.OPERATOR_USER),
        sandbox.env,
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def namespace(admin_api: kubernetes.client.ApiClient) -> Iterator[str]:
    core = kubernetes.client.CoreV1Api(admin_api)
    name = f"test-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    try:
        yield name
    finally:
        _strip_finalizers(admin_api, name)
        core.delete_namespace(name)


def _strip_finalizers(api: kubernetes.client.ApiClient, namespace: str) -> None:
    """Leave nothing stuck behind a finalizer when a test fails half-way."""
    custom = kubernetes.client.CustomObjectsApi(api)
    for plural in ("modelendpoints", "trafficsplits", "edgemodels", "inferencecomponents"):
        items: list[dict[str, Any]] = custom.list_namespaced_custom_object(
            cluster.GROUP, cluster.VERSION, namespace, plural
        )["items"]
        for item in items:
            try:
                custom.patch_namespaced_custom_object(
                    cluster.GROUP,
                    cluster.VERSION,
                    namespace,
                    plural,
                    item["metadata"]["name"],
                    {"metadata": {"finalizers": None}},
                )
            except ApiException as error:
                if error.status != 404:
                    raise


@pytest.fixture
def model_endpoints(admin_api: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin_api, "modelendpoints")


@pytest.fixture(scope="session")
def model_bucket(sandbox: sandbox_support.Sandbox) -> str:
    """An S3 bucket in the sandbox holding stand-in model artifacts."""
    s3 = sandbox.client("s3")
    bucket = "serving-operator-models"
    s3.create_bucket(Bucket=bucket)
    for version in ("v1", "v2", "v3"):
        s3.put_object(Bucket=bucket, Key=f"xgboost/{version}/model.tar.gz", Body=b"model")
    return bucket


@pytest.fixture(scope="session")
def bare_control_plane(workdir: Path) -> Iterator[controlplane.ControlPlane]:
    """A second control plane that starts with no CRDs, for tests that need them missing or
    stale: the shared control plane's CRDs are never touched."""
    plane = controlplane.start(workdir / "bare-controlplane")
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def edge_models(admin_api: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin_api, "edgemodels")


@pytest.fixture
def fast_edge(sandbox: sandbox_support.Sandbox) -> Iterator[None]:
    """Short edge lifecycles for one test; the sandbox's settings and device table after."""
    before = sandbox._admin("GET", "settings")
    sandbox.settings(**sandbox_support.FAST_EDGE)
    yield
    sandbox._admin("DELETE", "devices")
    sandbox._admin("DELETE", "compilation-failures")
    sandbox.settings(**before)


@pytest.fixture
def traffic_splits(admin_api: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin_api, "trafficsplits")
