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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import cluster, controlplane, sandbox  # noqa: E402
from tests.support import operator as operator_support  # noqa: E402
from tests.support.paths import DEFAULT_ASSETS, EXAMPLES  # noqa: E402

STATE = ROOT / ".cache" / "demo"
PIDS = STATE / "pids.json"
EXAMPLE = EXAMPLES / "xgboost-bikerental.yaml"
ENDPOINT = "xgboost-bikerental"


def stop() -> None:
    if not PIDS.exists():
        return
    for pid in json.loads(PIDS.read_text()):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
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
