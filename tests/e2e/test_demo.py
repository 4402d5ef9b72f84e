"""`make demo` brings the example to Ready, and `make demo-stop` leaves nothing running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_runs_and_demo_stop_leaves_nothing_running(tmp_path: Path) -> None:
    env = {**os.environ, "SERVING_OPERATOR_DEMO_DIR": str(tmp_path / "demo")}
    demo = [sys.executable, str(ROOT / "hack" / "demo.py")]
    started = subprocess.run(demo, env=env, capture_output=True, text=True, timeout=300)
    pids = json.loads((tmp_path / "demo" / "pids.json").read_text())
    try:
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        assert "InService" in started.stdout
        assert "edgemodel.serving.mlops.dev/edge-classifier condition met" in started.stdout
        canary = "trafficsplit.serving.mlops.dev/xgboost-bikerental-canary condition met"
        assert canary in started.stdout
        assert "modelendpoint.serving.mlops.dev/bikerental-async condition met" in started.stdout
        assert '"variant": "version-1-2-2"' in started.stdout  # the asynchronous result
        assert len(pids) == 4  # etcd, kube-apiserver, the sandbox, the operator
        assert all(alive(pid) for pid in pids)
    finally:
        stopped = subprocess.run(
            [*demo, "--stop"], env=env, capture_output=True, text=True, timeout=120
        )
    assert stopped.returncode == 0
    assert [pid for pid in pids if alive(pid)] == []
