"""`make demo`: a local control plane, the AWS sandbox and the operator, then the A/B example.

Everything runs on loopback and keeps running after this script returns, so you can try
kubectl against it; `make demo-stop` ends it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import cluster, controlplane, sandbox  # noqa: E402
from tests.support import operator as operator_support  # noqa: E402
from tests.support.paths import DEFAULT_ASSETS, EXAMPLES  # noqa: E402

# Where the demo keeps its processes' state and logs (tests use a folder of their own).
STATE = Path(os.environ.get("SERVING_OPERATOR_DEMO_DIR") or ROOT / ".cache" / "demo")
PIDS = STATE / "pids.json"
EXAMPLE = EXAMPLES / "xgboost-bikerental.yaml"
ENDPOINT = "xgboost-bikerental"


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(grace_seconds: float = 10) -> None:
    """Stop the demo's processes, newest first (operator, sandbox, kube-apiserver, etcd).

    kube-apiserver shuts down gracefully and may outlast a plain SIGTERM's caller: wait for
    each process group to go, and kill what is still there after the grace period.
    """
    if not PIDS.exists():
        return
    for pid in reversed(json.loads(PIDS.read_text())):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    PIDS.unlink()
    print("demo stopped")


def kubectl(kubeconfig: Path, *args: str) -> None:
    binary = DEFAULT_ASSETS / "kubectl"
    subprocess.run([str(binary), "--kubeconfig", str(kubeconfig), *args], check=True)


def main() -> int:
    if "--stop" in sys.argv:
        stop()
        return 0
    stop()
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    pids: list[int] = []
    print("starting etcd and kube-apiserver ...", flush=True)
    plane = controlplane.start(STATE / "controlplane", detach=True)
    pids += [p.pid for p in plane.processes]
    PIDS.write_text(json.dumps(pids))
    admin = plane.kubeconfig(controlplane.ADMIN_USER)
    api = cluster.api_client(admin)
    cluster.install_crds(api)
    cluster.grant_operator(api, controlplane.OPERATOR_USER)

    print("starting the AWS sandbox ...", flush=True)
    box = sandbox.start(
        STATE, {"creatingSeconds": 3, "updatingSeconds": 3, "deletingSeconds": 2}, detach=True
    )
    pids.append(box.process.pid)
    PIDS.write_text(json.dumps(pids))
    sandbox.upload_demo_artifacts(box)

    print("starting the operator ...", flush=True)
    operator = operator_support.start(
        STATE, plane.kubeconfig(controlplane.OPERATOR_USER), box.env, detach=True
    )
    pids.append(operator.process.pid)
    PIDS.write_text(json.dumps(pids))

    kubectl(admin, "apply", "-f", str(EXAMPLE))
    kubectl(admin, "wait", "--for=condition=Ready", f"modelendpoint/{ENDPOINT}", "--timeout=120s")
    print()
    kubectl(admin, "get", "modelendpoints")
    status = cluster.Objects(api, "modelendpoints").get("default", ENDPOINT)["status"]  # type: ignore[index]
    print("\nTraffic split (status.variants):")
    for v in status["variants"]:
        print(
            f"  {v['name']}: {v['currentWeightPercent']}% of requests,"
            f" {v['currentInstanceCount']} instance(s)"
        )
    described = box.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    described.pop("ResponseMetadata", None)
    print("\nSageMaker DescribeEndpoint:")
    print(json.dumps(described, indent=2, default=str))
    print(
        f"\nThe demo keeps running. Try:\n"
        f"  export KUBECONFIG={admin}\n"
        f"  {DEFAULT_ASSETS / 'kubectl'} describe modelendpoint {ENDPOINT}\n"
        f"  export AWS_ENDPOINT_URL={box.url} AWS_ACCESS_KEY_ID=testing"
        f" AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1\n"
        f"Logs are in {STATE}. Stop everything with: make demo-stop"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
