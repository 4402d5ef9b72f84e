"""The operator as users run it: the `serving-operator run` process."""

from __future__ import annotations

import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support import processes
from tests.support.paths import VENV_BIN


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log: Path
    metrics_url: str
    liveness_url: str

    def metrics(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            return str(response.read().decode())

    def alive(self) -> bool:
        try:
            with urllib.request.urlopen(self.liveness_url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        processes.stop(self.process, timeout=20)

    def tracebacks(self) -> str:
        """Every traceback in the log, each with the line that announced it: what an
        assertion on the error count shows, so a failure says what raised."""
        lines = self.log.read_text(errors="replace").splitlines()
        found: list[str] = []
        for index, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                end = index + 1
                while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
                    end += 1
                found.extend(lines[max(index - 1, 0) : end + 1])
        return "\n".join(found)


def start(
    workdir: Path,
    kubeconfig: Path,
    aws_env: dict[str, str],
    *,
    extra_env: dict[str, str] | None = None,
    args: list[str] | None = None,
    detach: bool = False,
    command: list[str] | None = None,
) -> OperatorProcess:
    """Start `serving-operator run`; standalone and cluster-wide unless `args` say otherwise.

    `command` is how to call serving-operator (default: this checkout's virtualenv)."""
    metrics_port, liveness_port = processes.free_port(), processes.free_port()
    log = workdir / "operator.log"
    liveness = f"http://127.0.0.1:{liveness_port}/healthz"
    env = {
        **aws_env,
        "KUBECONFIG": str(kubeconfig),
        "SERVING_OPERATOR_POLL_SECONDS": "1",
        # Short, so the tests see drift corrected and steady-state resyncs that write nothing.
        "SERVING_OPERATOR_RESYNC_SECONDS": "3",
        **(extra_env or {}),
    }
    process = processes.start(
        [
            *(command or [str(VENV_BIN / "serving-operator")]),
            "run",
            *(args or ["--standalone"]),
            "--metrics-port",
            str(metrics_port),
            "--metrics-address",
            "127.0.0.1",
            "--liveness",
            liveness,
        ],
        log,
        env,
        detach=detach,
    )
    operator = OperatorProcess(process, log, f"http://127.0.0.1:{metrics_port}/metrics", liveness)
    processes.wait_until(
        lambda: operator.alive() or process.poll() is not None,
        timeout=60,
        what="the operator's liveness probe",
        log=log,
    )
    if process.poll() is not None:
        raise RuntimeError(f"operator exited: {log.read_text()[-4000:]}")
    return operator
