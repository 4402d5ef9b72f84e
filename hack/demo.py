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

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import cluster, controlplane, sandbox  # noqa: E402
from tests.support import operator as operator_support  # noqa: E402
from tests.support.paths import DEFAULT_ASSETS, EXAMPLES, VENV_BIN  # noqa: E402
from tests.support.specs import quick_canary  # noqa: E402

# Where the demo keeps its processes' state and logs (tests use a folder of their own).
STATE = Path(os.environ.get("SERVING_OPERATOR_DEMO_DIR") or ROOT / ".cache" / "demo")
PIDS = STATE / "pids.json"
EXAMPLE = EXAMPLES / "xgboost-bikerental.yaml"
ENDPOINT = "xgboost-bikerental"
EDGE_EXAMPLE = EXAMPLES / "edge-classifier.yaml"
CANARY_EXAMPLE = EXAMPLES / "xgboost-bikerental-canary.yaml"
ASYNC_EXAMPLE = EXAMPLES / "async-endpoint.yaml"
COMPONENTS_EXAMPLE = EXAMPLES / "inference-components.yaml"


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


def show_canary(admin: Path, box: sandbox.Sandbox) -> None:
    """The canary example at demo speed, under steady traffic, then the A/B report."""
    print("\nTrafficSplit: a canary 10% -> 30% -> 50% -> 100%, judged on live metrics ...")
    # The two model versions, as the sandbox serves them: both fail 1% of the calls; the
    # new one answers a little faster.
    for variant, median, p99 in (("version-0-90-2", 20, 60), ("version-1-2-2", 16, 50)):
        box._admin(
            "POST",
            "behaviour",
            {
                "endpoint": ENDPOINT,
                "variant": variant,
                "errorRate5xx": 0.01,
                "latencyMs": {"median": median, "p99": p99},
            },
        )
    body = quick_canary(yaml.safe_load(CANARY_EXAMPLE.read_text()))
    analysis = body["spec"]["analysis"]
    errors = next(m for m in analysis["metrics"] if m["type"] == "ErrorRate")
    print(
        f"The demo's canary is looser than {CANARY_EXAMPLE.name} so that it ends in minutes:"
        f" a look every {analysis['interval']} s on one-second metrics, minSampleSize"
        f" {analysis['minSampleSize']} (the example: 1000) and harmfulIncrease"
        f" {errors['harmfulIncrease']} (the example: 0.01), and a fixed latency ceiling instead"
        " of a p99 comparison. With so few invocations it catches only gross failures; keep"
        " the example's values in production (docs/trafficsplit-statistics.md)."
    )
    manifest = STATE / "canary.yaml"
    manifest.write_text(yaml.safe_dump(body))
    name = body["metadata"]["name"]
    env = {**os.environ, "KUBECONFIG": str(admin), "COLUMNS": "140", **box.env}
    cli = str(VENV_BIN / "serving-operator")
    load = subprocess.Popen(
        [cli, "load", ENDPOINT, "--rps", "80", "--duration", "240"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        kubectl(admin, "apply", "-f", str(manifest))
        kubectl(admin, "wait", "--for=condition=Ready", f"trafficsplit/{name}", "--timeout=240s")
    finally:
        load.terminate()
        load.wait(timeout=10)
    kubectl(admin, "get", "trafficsplits", "-o", "wide")
    plot = STATE / "canary.png"
    subprocess.run([cli, "compare", name, "--plot", str(plot)], env=env, check=True)
    print(f"(weights and error rates over time: {plot})")


def show_edge_rollout(admin: Path, box: sandbox.Sandbox) -> None:
    """Compile the edge example for two targets and roll it out: canary group, then fleet."""
    print("\nEdgeModel: Neo compilation per target, Greengrass rollout in stages ...", flush=True)
    sandbox.create_demo_devices(box)
    body = yaml.safe_load(EDGE_EXAMPLE.read_text())
    # The example bakes its canary for 10 minutes, as one would; the demo shows it in 5 s.
    body["spec"]["rollout"]["stages"][0]["gate"]["bakeSeconds"] = 5
    manifest = STATE / "edge-classifier.yaml"
    manifest.write_text(yaml.safe_dump(body))
    name = body["metadata"]["name"]
    kubectl(admin, "apply", "-f", str(manifest))
    kubectl(admin, "wait", "--for=condition=Ready", f"edgemodel/{name}", "--timeout=180s")
    kubectl(admin, "get", "edgemodels", "-o", "wide")
    subprocess.run(
        [str(VENV_BIN / "serving-operator"), "edge-status", name],
        env={**os.environ, "KUBECONFIG": str(admin), "COLUMNS": "140", **box.env},
        check=True,
    )


def show_async(admin: Path, box: sandbox.Sandbox) -> None:
    """The asynchronous example: Ready with its S3 locations and backlog scaling, then one
    request queued with `invoke --async` and its result read back from S3."""
    print("\nAsynchronous endpoint: requests queue, results land in S3 ...", flush=True)
    name = yaml.safe_load(ASYNC_EXAMPLE.read_text())["metadata"]["name"]
    kubectl(admin, "apply", "-f", str(ASYNC_EXAMPLE))
    kubectl(admin, "wait", "--for=condition=Ready", f"modelendpoint/{name}", "--timeout=120s")
    status = cluster.Objects(cluster.api_client(admin), "modelendpoints").get("default", name)
    assert status is not None
    print(f"  status.asyncInference: {json.dumps(status['status']['asyncInference'])}")
    request = STATE / "async-request.json"
    request.write_text('{"instances": [[2011, 1, 1, 0, 9.84]]}')
    command = [
        str(VENV_BIN / "serving-operator"),
        "invoke",
        name,
        "--async",
        "--data",
        str(request),
        "--upload-to",
        "s3://serving-operator-demo/async/in",
        "--wait",
        "--timeout",
        "60",
    ]
    print("  $ serving-operator invoke", name, "--async --data request.json --upload-to ... --wait")
    subprocess.run(command, env={**os.environ, **box.env}, check=True)


def show_inference_components(admin: Path, box: sandbox.Sandbox) -> None:
    """One fleet, three models: the components example, each invoked by name, then one
    component's new image rolled out alone."""
    print("\nInferenceComponents: three models of different sizes on one fleet ...", flush=True)
    endpoint, *parts = list(yaml.safe_load_all(COMPONENTS_EXAMPLE.read_text()))
    kubectl(admin, "apply", "-f", str(COMPONENTS_EXAMPLE))
    fleet = endpoint["metadata"]["name"]
    kubectl(admin, "wait", "--for=condition=Ready", f"modelendpoint/{fleet}", "--timeout=120s")
    names = [p["metadata"]["name"] for p in parts]
    for name in names:
        kubectl(
            admin, "wait", "--for=condition=Ready", f"inferencecomponent/{name}", "--timeout=120s"
        )
    kubectl(admin, "get", "inferencecomponents")
    env = {**os.environ, "KUBECONFIG": str(admin), **box.env}
    request = STATE / "component-request.json"
    request.write_text('{"inputs": "hello"}')
    cli = str(VENV_BIN / "serving-operator")
    for name in names:
        print(f"$ serving-operator invoke --component {name} --data {request.name}", flush=True)
        subprocess.run(
            [cli, "invoke", "--component", name, "--data", str(request)], env=env, check=True
        )
    sagemaker = box.client("sagemaker")
    before = {n: sagemaker.describe_inference_component(InferenceComponentName=n) for n in names}
    changed = names[0]
    image = parts[0]["spec"]["model"]["image"].rsplit(":", 1)[0] + ":demo-new-image"
    print(f"\nA new image for {changed} only (a rolling update of its copies) ...", flush=True)
    patch = json.dumps({"spec": {"model": {"image": image}}})
    kubectl(admin, "patch", "inferencecomponent", changed, "--type", "merge", "-p", patch)
    kubectl(
        admin,
        "wait",
        "--for=jsonpath={.status.observedGeneration}=2",
        f"inferencecomponent/{changed}",
        "--timeout=60s",
    )
    kubectl(
        admin, "wait", "--for=condition=Ready", f"inferencecomponent/{changed}", "--timeout=120s"
    )
    for name in names:
        after = sagemaker.describe_inference_component(InferenceComponentName=name)
        touched = after["LastModifiedTime"] != before[name]["LastModifiedTime"]
        print(
            f"  {name}: model {after['Specification']['ModelName']},"
            f" {after['RuntimeConfig']['CurrentCopyCount']} copies,"
            f" {'updated' if touched else 'untouched'}"
        )


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
    # SageMaker and Neo take minutes and an IoT rollout "minute" is a minute; the demo
    # compresses them to seconds.
    box = sandbox.start(
        STATE,
        {
            "creatingSeconds": 3,
            "updatingSeconds": 3,
            "deletingSeconds": 2,
            "compilationSeconds": 3,
            "jobMinuteSeconds": 5,
            "metricPeriodSeconds": 1,
            # The edge example's devices run its recipe for real: they download the model
            # and the operator's entrypoint, and serve XGBoost predictions.
            "runLifecycles": True,
            "deviceRunSettleSeconds": 5,
        },
        detach=True,
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
    show_canary(admin, box)
    show_edge_rollout(admin, box)
    show_async(admin, box)
    show_inference_components(admin, box)
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
