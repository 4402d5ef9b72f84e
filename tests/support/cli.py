"""Running `serving-operator` commands as a user would, in an environment the test controls."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import yaml

from tests.support import cluster, processes
from tests.support.controlplane import ADMIN_USER, ControlPlane
from tests.support.paths import CRDS, VENV_BIN

CLI = str(VENV_BIN / "serving-operator")
# Variables that would let the machine's own AWS or Kubernetes set-up leak into a test.
OUTSIDE_VARIABLES = ("AWS_", "KUBECONFIG", "SERVING_OPERATOR_")


def isolated_env(tmp: Path, **values: str | None) -> dict[str, str]:
    """os.environ without AWS or Kubernetes settings, pointing both at nothing, then `values`
    (None removes a variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE_VARIABLES)}
    env |= {
        "HOME": str(tmp),  # no ~/.kube/config, no ~/.aws
        "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in values.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def token_kubeconfig(path: Path, server: str, ca_file: Path, user: str, token: str) -> Path:
    """A kubeconfig that authenticates with a bearer token (e.g. a service account's)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "test",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "test", "user": user}}],
        "current-context": user,
    }
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.contextmanager
def stale_model_endpoint_crd(plane: ControlPlane, folder: Path) -> Iterator[str]:
    """`plane` with this version's ModelEndpoint CRD less one spec field, as an older release
    would have installed it; removed again afterwards. Never use the shared control plane."""
    api = cluster.api_client(plane.kubeconfig(ADMIN_USER))
    folder.mkdir(parents=True, exist_ok=True)
    crd = yaml.safe_load((CRDS / "modelendpoints.serving.mlops.dev.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"].pop("deletionPolicy")
    (folder / "modelendpoints.serving.mlops.dev.yaml").write_text(yaml.safe_dump(crd))
    cluster.install_crds(api, folder)
    try:
        yield crd["metadata"]["name"]
    finally:
        ext = kubernetes.client.ApiextensionsV1Api(api)
        ext.delete_custom_resource_definition(crd["metadata"]["name"])
        processes.wait_until(
            lambda: not _crd_exists(ext, crd["metadata"]["name"]),
            timeout=30,
            what="the stale CRD to go",
        )


def _crd_exists(ext: kubernetes.client.ApiextensionsV1Api, name: str) -> bool:
    try:
        ext.read_custom_resource_definition(name)
    except kubernetes.client.rest.ApiException as error:
        if error.status == 404:
            return False
        raise
    return True
