"""The Dockerfile itself, built without a Docker engine (buildah: hack/build-image.sh), and the
image's `serving-operator version` and `check` run inside it against the test control plane
and the AWS sandbox.

No container registry is reachable here, so the image is built FROM a Debian bookworm +
Debian python3.11 base made with debootstrap (`--local-base`); every step after FROM is the
Dockerfile's own. The release workflow builds FROM the digest-pinned python image instead.
tests/e2e/test_image.py covers what a built image does with a resource (reconcile to Ready).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from serving_operator import __version__
from tests.e2e.edge_support import device_role
from tests.support import cluster, controlplane
from tests.support.paths import ROOT
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model

# A build takes minutes (longer on a busy machine): the build fixture allows 30.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1800)]

TAG = "localhost/serving-operator:test"


def buildah_command(root: Path) -> list[str]:
    found = shutil.which("buildah")
    assert found, "buildah not found: apt-get install buildah debootstrap (.ci/run does)"
    return [found, "--root", str(root / "storage"), "--runroot", str(root / "run")]


@pytest.fixture(scope="module")
def built_image() -> Iterator[list[str]]:
    """The image built by hack/build-image.sh; yields the buildah command that reaches it."""
    root = ROOT / ".cache" / "buildah"
    command = [*buildah_command(root), "--storage-driver", "vfs"]
    done = subprocess.run(
        [str(ROOT / "hack" / "build-image.sh"), TAG, "--local-base"],
        capture_output=True,
        text=True,
        env={**os.environ, "BUILDAH_ROOT": str(root)},
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    try:
        yield command
    finally:
        # The base stays cached for the next build; the image (a few hundred MB in vfs) goes.
        subprocess.run([*command, "rm", "--all"], capture_output=True, check=False)
        subprocess.run([*command, "rmi", "-f", TAG], capture_output=True, check=False)


def run_in_image(
    buildah: list[str], *args: str, env: dict[str, str], volumes: dict[Path, str]
) -> subprocess.CompletedProcess[str]:
    """`serving-operator ARGS` in a fresh container of the image, with the host's network."""
    container = subprocess.run(
        [*buildah, "from", TAG], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        options = ["--isolation", "chroot", "--network", "host"]
        for name, value in env.items():
            options += ["--env", f"{name}={value}"]
        for source, target in volumes.items():
            options += ["-v", f"{source}:{target}:ro"]
        return subprocess.run(
            [*buildah, "run", *options, container, "--", "serving-operator", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        subprocess.run([*buildah, "rm", container], capture_output=True, check=False)


def test_the_image_knows_its_version_runs_as_its_user_and_labels_it(
    built_image: list[str],
) -> None:
    version = run_in_image(built_image, "version", "-o", "json", env={}, volumes={})
    assert version.returncode == 0, version.stderr
    assert json.loads(version.stdout)["version"] == __version__
    config = json.loads(
        subprocess.run(
            [*built_image, "inspect", "--type", "image", TAG],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["OCIv1"]["config"]
    assert config["User"] == "10001:10001"
    assert config["Labels"]["org.opencontainers.image.version"] == __version__
    assert config["Entrypoint"] == ["serving-operator"]


def test_check_inside_the_image_passes_against_a_cluster_and_the_sandbox(
    built_image: list[str],
    control_plane: controlplane.ControlPlane,
    admin_api: kubernetes.client.ApiClient,  # CRDs installed, the operator's user bound
    sandbox: Sandbox,
    namespace: str,
    tmp_path: Path,
) -> None:
    # An EdgeModel makes check read the Greengrass device role too (IoT and IAM from inside
    # the image), whatever other tests left in the cluster; its devices may read the bucket.
    edge = {**edge_model("image-check", "image-check-out", [{"name": "all", "thingGroups": ["g"]}])}
    cluster.Objects(admin_api, "edgemodels").create(namespace, edge)
    alias = f"image-check-{uuid.uuid4().hex[:6]}"
    device_role(sandbox, alias, ["s3:GetObject"])
    # The image's user (10001) reads a mounted kubeconfig, as from a Secret.
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(control_plane.kubeconfig(controlplane.OPERATOR_USER), kubeconfig)
    kubeconfig.chmod(0o644)
    tmp_path.chmod(0o755)
    env = {**sandbox.env, "KUBECONFIG": "/etc/serving-operator/kubeconfig", "HOME": "/nonexistent"}
    env = {k: v for k, v in env.items() if re.match(r"^(AWS_|KUBECONFIG$|HOME$)", k)}
    done = run_in_image(
        built_image,
        "check",
        "--role-alias",
        alias,
        "-o",
        "json",
        env=env,
        volumes={kubeconfig: "/etc/serving-operator/kubeconfig"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)
    checks = results["checks"] if isinstance(results, dict) else results
    assert {c["name"]: c["status"] for c in checks} == {
        "Kubernetes API": "ok",
        "CRDs": "ok",
        "RBAC": "ok",
        "AWS region": "ok",
        "AWS endpoint": "ok",
        "AWS credentials": "ok",
        "Greengrass device role": "ok",
    }
