"""`serving-operator run` stops at once, in one line naming the fix, for what it cannot wait
out (no region, no Kubernetes credentials, CRDs missing or older), and starts anyway, saying
so once, when AWS does not answer."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from tests.support import controlplane, processes
from tests.support import operator as operator_support
from tests.support.cli import isolated_env, run_cli, stale_model_endpoint_crd
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.e2e

# Operators started here watch only this namespace, which nothing uses: they must never
# compete with the session's operator for the shared control plane's resources.
QUIET_NAMESPACE = "startup-tests-watch-nothing"


def run_operator(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`run` as a user types it; a fatal check ends it long before the timeout."""
    return run_cli(
        [
            "run",
            "--standalone",
            "-n",
            QUIET_NAMESPACE,
            "--metrics-port",
            "0",
            "--liveness-port",
            "0",
            *args,
        ],
        env,
        timeout=60,
    )


def assert_fatal_one_line(done: subprocess.CompletedProcess[str], expected: str) -> str:
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "; fix: " in lines[0]
    return lines[0]


@pytest.fixture
def healthy_env(
    tmp_path: Path,
    control_plane: controlplane.ControlPlane,
    admin_api: kubernetes.client.ApiClient,
    sandbox: Sandbox,
) -> dict[str, str]:
    return isolated_env(
        tmp_path,
        KUBECONFIG=str(control_plane.kubeconfig(controlplane.OPERATOR_USER)),
        **sandbox.env,
    )


def test_no_region_stops_run_with_how_to_set_one(healthy_env: dict[str, str]) -> None:
    env = {k: v for k, v in healthy_env.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    line = assert_fatal_one_line(run_operator(env), "no region set")
    assert "export AWS_REGION=" in line


def test_no_kubernetes_credentials_stop_run(healthy_env: dict[str, str], tmp_path: Path) -> None:
    env = {**healthy_env, "KUBECONFIG": str(tmp_path / "missing-kubeconfig")}
    line = assert_fatal_one_line(run_operator(env), "no Kubernetes credentials")
    assert "KUBECONFIG" in line


def test_missing_crds_stop_run(
    bare_control_plane: controlplane.ControlPlane, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = isolated_env(
        tmp_path,
        KUBECONFIG=str(bare_control_plane.kubeconfig(controlplane.ADMIN_USER)),
        **sandbox.env,
    )
    line = assert_fatal_one_line(
        run_operator(env), "modelendpoints.serving.mlops.dev is not installed"
    )
    assert "serving-operator crds | kubectl apply" in line


def test_older_crds_stop_run(
    bare_control_plane: controlplane.ControlPlane, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = isolated_env(
        tmp_path,
        KUBECONFIG=str(bare_control_plane.kubeconfig(controlplane.ADMIN_USER)),
        **sandbox.env,
    )
    with stale_model_endpoint_crd(bare_control_plane, tmp_path / "crds") as name:
        assert_fatal_one_line(run_operator(env), f"{name} differs from this version's")


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process listens on, as a second operator's would be."""
    with socket.socket() as blocker:
        blocker.bind(("0.0.0.0", 0))
        blocker.listen()
        yield blocker.getsockname()[1]


@pytest.mark.parametrize("flag", ["--liveness-port", "--metrics-port"])
def test_a_taken_port_is_one_line_naming_the_flag(
    healthy_env: dict[str, str], taken_port: int, flag: str
) -> None:
    done = run_operator(healthy_env, flag, str(taken_port))
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    assert f"{taken_port}" in errors[0]
    assert flag in errors[0]


def health(operator: operator_support.OperatorProcess) -> dict[str, Any]:
    with urllib.request.urlopen(operator.liveness_url, timeout=5) as response:
        probes: dict[str, Any] = json.loads(response.read())
        return probes


def test_aws_region_alone_starts_the_operator_and_aws_answers(
    healthy_env: dict[str, str],
    control_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    aws = {**sandbox.env, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": ""}
    operator = operator_support.start(
        tmp_path,
        control_plane.kubeconfig(controlplane.OPERATOR_USER),
        aws,
        args=["--standalone", "-n", QUIET_NAMESPACE],
    )
    try:
        processes.wait_until(
            lambda: health(operator).get("awsReachable") is True,
            timeout=30,
            what="the awsReachable probe",
            log=operator.log,
        )
        assert health(operator)["aws"] is True
    finally:
        operator.stop()
    assert "AWS answers: account 123456789012" in operator.log.read_text()


class HangUpServer:
    """Accepts TCP connections and closes them at once: an AWS endpoint that is down."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()


def test_unreachable_aws_starts_not_ready_and_says_so_once(
    healthy_env: dict[str, str],
    control_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    down = HangUpServer()
    operator = operator_support.start(
        tmp_path,
        control_plane.kubeconfig(controlplane.OPERATOR_USER),
        {**sandbox.env, "AWS_ENDPOINT_URL": down.url},
        args=["--standalone", "-n", QUIET_NAMESPACE],
    )
    try:
        # Three rounds of GetCallerIdentity, two tries each: retried with backoff.
        processes.wait_until(
            lambda: down.connections >= 6, timeout=60, what="retries", log=operator.log
        )
        assert operator.process.poll() is None
        assert health(operator)["awsReachable"] is False
    finally:
        operator.stop()
        down.close()
    told = [line for line in operator.log.read_text().splitlines() if "AWS does not answer" in line]
    assert len(told) == 1, told
    assert "readiness stays false" in told[0]
