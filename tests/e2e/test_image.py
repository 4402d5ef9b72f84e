"""The image, built the way the Dockerfile builds it, runs the operator to Ready.

No Docker engine here, so this repeats the Dockerfile's steps: a build context of exactly
what .dockerignore lets through, lock/runtime.txt with its hashes and then the package into a
fresh virtualenv, the sandbox removed, and the operator run as uid 10001 (the image's user)
against a control plane of its own and the session's AWS sandbox.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from tests.e2e.helpers import wait_for_condition, wait_gone
from tests.support import cluster, controlplane
from tests.support import operator as operator_support
from tests.support.image import install_as_the_image_does
from tests.support.paths import ROOT
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e

IMAGE_USER = ["setpriv", "--reuid=10001", "--regid=10001", "--clear-groups"]
NAMESPACE = "image"


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def build_context(into: Path) -> Path:
    """The files `docker build` would send: .dockerignore's allow-list, less its excludes."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "the context is an allow-list"
    allowed = [r[1:].rstrip("/") for r in rules if r.startswith("!")]
    excluded = [r for r in rules[1:] if not r.startswith("!")]
    for name in allowed:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                into / name,
                ignore=lambda folder, names: [
                    n
                    for n in names
                    if any(
                        fnmatch.fnmatch(
                            str((Path(folder) / n).relative_to(ROOT)), e.replace("**/", "*/")
                        )
                        for e in excluded
                    )
                ],
            )
        else:
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtualenv laid out as the image's /opt/venv, readable by the image's user."""
    root = Path(tempfile.mkdtemp(prefix="serving-operator-image-"))
    root.chmod(0o755)
    try:
        context = build_context(tmp_path_factory.mktemp("context"))
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install_as_the_image_does(venv / "bin" / "python", context)
        installed = next((venv / "lib").glob("python3*/site-packages/serving_operator"))
        shutil.rmtree(installed / "sandbox")  # as the Dockerfile's build stage does
        yield venv
    finally:
        shutil.rmtree(root, ignore_errors=True)


def as_image_user(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IMAGE_USER, str(venv / "bin" / "serving-operator"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        check=False,
    )


def test_the_dockerfile_installs_from_the_runtime_lock_and_drops_the_sandbox() -> None:
    text = dockerfile()
    assert "pip install --no-cache-dir --require-hashes --no-deps -r lock/runtime.txt" in text
    assert "pip install --no-cache-dir --no-index --no-deps --no-build-isolation ." in text
    assert "site-packages/serving_operator/sandbox" in text
    assert "USER 10001:10001" in text


def test_the_image_runs_as_its_user_without_the_sandbox(image: Path) -> None:
    version = as_image_user(image, "--version")
    assert version.returncode == 0, version.stderr
    from serving_operator import __version__

    assert version.stdout.strip() == __version__

    sandbox = as_image_user(image, "sandbox")
    assert sandbox.returncode == 2
    assert "serving-operator[sandbox]" in sandbox.stderr
    assert "Traceback" not in sandbox.stderr
    assert not list((image / "lib").glob("python3*/site-packages/moto"))


@pytest.fixture
def image_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    """A control plane of its own: the session's operator must not act on this test."""
    with own_control_plane(tmp_path / "controlplane") as plane:
        yield plane


def test_the_image_reconciles_an_example_to_ready(
    image: Path,
    image_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    model_bucket: str,
    tmp_path: Path,
) -> None:
    # The image's user reads its kubeconfig from a mounted secret; here, a readable copy.
    mounted = image.parent / "kubeconfig"
    shutil.copy(image_plane.kubeconfig(controlplane.OPERATOR_USER), mounted)
    mounted.chmod(0o644)
    process = operator_support.start(
        tmp_path / "operator",
        mounted,
        {**sandbox.env, "HOME": "/nonexistent", "PATH": os.environ.get("PATH", "")},
        command=[*IMAGE_USER, str(image / "bin" / "serving-operator")],
    )
    try:
        api = cluster.api_client(image_plane.kubeconfig(controlplane.ADMIN_USER))
        kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
        objects = cluster.Objects(api, "modelendpoints")
        name = f"image-{tmp_path.name[-6:]}".replace("_", "-").lower()
        objects.create(NAMESPACE, model_endpoint(name, [variant("a", model_bucket, "v1")]))
        ready = wait_for_condition(objects, NAMESPACE, name, "Ready", process)
        assert ready["status"]["endpointStatus"] == "InService"
        objects.delete(NAMESPACE, name)  # and what it made in AWS goes with it
        wait_gone(objects, NAMESPACE, name, process)
    finally:
        process.stop()
