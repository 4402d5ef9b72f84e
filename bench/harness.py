"""What the end-to-end benchmarks share: a real control plane, the AWS sandbox made to
answer like SageMaker (per-call latency, per-operation rate limits), the operator as users
run it, fast bulk applies, and waiting for Ready by listing (never per-object polling).

The benchmarks print figures and their ratio to a goal; they assert nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import cluster, controlplane  # noqa: E402
from tests.support import operator as operator_support  # noqa: E402
from tests.support import sandbox as sandbox_support  # noqa: E402
from tests.support.image import install_as_the_image_does  # noqa: E402

GROUP, VERSION = cluster.GROUP, cluster.VERSION
NAMESPACE = "bench"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-2"
BUCKET = "bench-models"
VARIANTS = ("blue", "green")

# SageMaker documents no per-operation API rates (its control plane throttles "per account
# and Region" with limits visible only as ThrottlingException), so these are conservative
# choices, not AWS's numbers: every SageMaker operation gets its own bucket of 20 calls per
# second with a burst of 20, as AWS buckets each API separately.
AWS_PER_OPERATION_PER_SECOND = 20.0
AWS_PER_OPERATION_BURST = 20
# The operator's own default for SageMaker (aws/ratelimit.py DEFAULT_RATES: 8 calls per
# second, burst 16, for all its SageMaker calls together), below every per-operation bucket
# above, so a run at these settings is never throttled; the floor gets the same bucket.
CLIENT_CALLS_PER_SECOND = 8.0
CLIENT_BURST = 16
WORKERS = 16
# What a SageMaker control-plane call takes, measured from a client in the same Region:
# tens of milliseconds, sometimes more than a hundred.
LATENCY_MS = 30
LATENCY_JITTER_MS = 90

# Set-up phases (populating a cluster before measuring) lift every limit and shorten
# SageMaker's lifecycles; measurement phases put the realistic ones back.
SETUP_SANDBOX = {"creatingSeconds": 0.5, "updatingSeconds": 0.5, "deletingSeconds": 0.5}
SETUP_CALLS_PER_SECOND = 1000.0
SETUP_BURST = 1000


def model_endpoint(name: str, weights: Sequence[float] = (1.0, 1.0)) -> dict[str, Any]:
    """A ModelEndpoint of two variants, each serving its own stand-in artifact."""
    return {
        "apiVersion": f"{cluster.GROUP}/{cluster.VERSION}",
        "kind": "ModelEndpoint",
        "metadata": {"name": name},
        "spec": {
            "executionRoleArn": ROLE,
            "variants": [
                {
                    "name": variant,
                    "model": {"image": IMAGE, "modelDataUrl": artifact(variant)},
                    "instanceType": "ml.m5.large",
                    "instanceCount": 1,
                    "weight": weight,
                }
                for variant, weight in zip(VARIANTS, weights, strict=True)
            ],
        },
    }


def artifact(variant: str) -> str:
    return f"s3://{BUCKET}/{variant}/model.tar.gz"


def machine() -> str:
    """The machine the figures were taken on, and how busy it was."""
    load = os.getloadavg()
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{platform.node()}: {os.cpu_count()} x {cpu}, Python {platform.python_version()};"
        f" load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def banner(title: str) -> None:
    print(f"== {title}", flush=True)
    print(f"   machine: {machine()}", flush=True)


def goal_line(label: str, value: float, goal: float, unit: str, *, lower_is_better: bool) -> str:
    """`label: value (goal: ...) -> ratio to goal, met or missed`."""
    ratio = value / goal
    met = ratio <= 1.0 if lower_is_better else ratio >= 1.0
    sense = "≤" if lower_is_better else "≥"
    return (
        f"{label}: {value:,.2f}{unit} (goal {sense} {goal:,.2f}{unit});"
        f" {ratio:.2f}x the goal: {'met' if met else 'MISSED'}"
    )


@dataclass
class Stack:
    """A control plane, the sandbox and (once started) the operator, in one folder."""

    workdir: Path
    plane: controlplane.ControlPlane
    box: sandbox_support.Sandbox
    api: kubernetes.client.ApiClient
    operator: operator_support.OperatorProcess | None = None

    @property
    def custom(self) -> kubernetes.client.CustomObjectsApi:
        return kubernetes.client.CustomObjectsApi(self.api)

    def start_operator(
        self,
        *,
        calls_per_second: float = CLIENT_CALLS_PER_SECOND,
        burst: int = CLIENT_BURST,
        workers: int = WORKERS,
        poll_seconds: float = 15.0,
        resync_seconds: float = 600.0,
        env: dict[str, str] | None = None,
        image: bool = False,
    ) -> operator_support.OperatorProcess:
        """Start `serving-operator run`: from this checkout's virtualenv, or with `image`
        from one installed as the Dockerfile installs it (what users run: no test or
        sandbox dependencies loaded, so its memory is the image's)."""
        command = (
            [str(image_venv(self.workdir / "image-venv") / "bin" / "serving-operator")]
            if image
            else None
        )
        self.operator = operator_support.start(
            self.workdir / "operator",
            self.plane.kubeconfig(controlplane.OPERATOR_USER),
            self.box.env,
            extra_env={
                "SERVING_OPERATOR_POLL_SECONDS": str(poll_seconds),
                "SERVING_OPERATOR_RESYNC_SECONDS": str(resync_seconds),
                # The benchmarks' endpoints are plain: they call SageMaker only (S3 and
                # Application Auto Scaling only for multi-model and autoscaled variants).
                "SERVING_OPERATOR_AWS_RATE_LIMITS": ",".join(
                    f"{service}={calls_per_second:g}/{burst}"
                    for service in ("sagemaker", "s3", "application-autoscaling")
                ),
                "SERVING_OPERATOR_WORKERS": str(workers),
                **(env or {}),
            },
            command=command,
        )
        return self.operator

    def stop_operator(self) -> None:
        if self.operator is not None:
            self.operator.stop()
            self.operator = None

    def realistic_aws(self) -> None:
        """SageMaker's per-call latency and (our choice of) per-operation rate limits."""
        self.box.clear_faults()
        self.box.clear_rate_limits()
        self.box.add_fault(
            service="sagemaker",
            errorCode=None,
            count=-1,
            latencyMs=LATENCY_MS,
            latencyJitterMs=LATENCY_JITTER_MS,
            seed=11,
        )
        self.box.add_rate_limit(
            service="sagemaker",
            operation="*",
            perSecond=AWS_PER_OPERATION_PER_SECOND,
            burst=AWS_PER_OPERATION_BURST,
        )

    def unlimited_aws(self) -> None:
        self.box.clear_faults()
        self.box.clear_rate_limits()


def image_venv(folder: Path) -> Path:
    """A virtualenv with the package installed as the Dockerfile does (its dependencies,
    from lock/runtime.txt, and nothing else); made once per folder."""
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        install_as_the_image_does(python, ROOT)
    return folder


def admin_client(plane: controlplane.ControlPlane, pool: int = 64) -> kubernetes.client.ApiClient:
    """An admin client whose connection pool serves a thread pool of applies at once."""
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(
        config_file=str(plane.kubeconfig(controlplane.ADMIN_USER)),
        client_configuration=configuration,
    )
    configuration.connection_pool_maxsize = pool
    return kubernetes.client.ApiClient(configuration)


def apiserver_writes(plane: controlplane.ControlPlane, resource: str = "modelendpoints") -> int:
    """How many PATCH, PUT and POST requests the apiserver has served on `resource` (any
    subresource), from its own `apiserver_request_total` counter: a difference of two reads
    counts the writes in between, whoever made them."""
    api = admin_client(plane, pool=1)
    try:
        request = api.param_serialize(
            method="GET", resource_path="/metrics", auth_settings=["BearerToken"]
        )
        answer = api.call_api(*request)
        answer.read()
        text = answer.data.decode()
    finally:
        api.close()
    total = 0
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{") or f'resource="{resource}"' not in line:
            continue
        if any(f'verb="{verb}"' in line for verb in ("PATCH", "PUT", "POST")):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


@contextlib.contextmanager
def stack(sandbox_settings: dict[str, float] | None = None) -> Iterator[Stack]:
    """Start everything but the operator; stop everything, the operator included, after."""
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as folder:
        workdir = Path(folder)
        plane = controlplane.start(workdir / "controlplane")
        box: sandbox_support.Sandbox | None = None
        bench: Stack | None = None
        try:
            api = admin_client(plane)
            cluster.install_crds(api)
            cluster.grant_operator(api, controlplane.OPERATOR_USER)
            kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
            box = sandbox_support.start(workdir / "sandbox", sandbox_settings or SETUP_SANDBOX)
            s3 = box.client("s3")
            s3.create_bucket(Bucket=BUCKET)
            for variant in VARIANTS:
                s3.put_object(Bucket=BUCKET, Key=f"{variant}/model.tar.gz", Body=b"model")
            bench = Stack(workdir, plane, box, api)
            yield bench
        except BaseException:
            _print_log_tails(workdir)
            raise
        finally:
            if bench is not None:
                bench.stop_operator()
            if box is not None:
                box.stop()
            plane.stop()


def _print_log_tails(workdir: Path, lines: int = 30) -> None:
    """The last lines of the operator's and the sandbox's logs, before they are deleted."""
    for log in (workdir / "operator" / "operator.log", workdir / "sandbox" / "sandbox.log"):
        if log.exists():
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            print(f"--- {log.name} (last {lines} lines) ---", *tail, sep="\n", file=sys.stderr)


def apply_all(
    api: kubernetes.client.ApiClient, manifests: Sequence[dict[str, Any]], threads: int = 32
) -> float:
    """Create every manifest in the bench namespace from a thread pool; the seconds taken."""
    custom = kubernetes.client.CustomObjectsApi(api)
    started = time.monotonic()

    def create(manifest: dict[str, Any]) -> None:
        custom.create_namespaced_custom_object(
            cluster.GROUP, cluster.VERSION, NAMESPACE, "modelendpoints", manifest
        )

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, manifests))
    return time.monotonic() - started


def list_endpoints(api: kubernetes.client.ApiClient) -> list[dict[str, Any]]:
    """Every ModelEndpoint in the bench namespace, as plain dicts, in pages."""
    custom = kubernetes.client.CustomObjectsApi(api)
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page: dict[str, Any] = custom.list_namespaced_custom_object(
            cluster.GROUP,
            cluster.VERSION,
            NAMESPACE,
            "modelendpoints",
            limit=1000,
            **({"_continue": token} if token else {}),
        )
        items.extend(page["items"])
        token = page["metadata"].get("continue")
        if not token:
            return items


def is_ready(obj: dict[str, Any]) -> bool:
    """Ready=True for the current generation: what kubectl wait and kstatus check."""
    return cluster.is_true(obj, "Ready") and cluster.current_generation_observed(obj)


def wait_all_ready(
    api: kubernetes.client.ApiClient,
    count: int,
    *,
    timeout: float,
    progress: Callable[[int, float], None] | None = None,
) -> float:
    """Wait until `count` ModelEndpoints are Ready; the monotonic time it was first seen.

    Lists the namespace (one request, as a dashboard would) rather than polling each
    object; the interval grows with the count so the listing costs the apiserver little."""
    interval = max(0.5, count / 250)
    started = time.monotonic()
    deadline = started + timeout
    ready = 0
    last_report = started
    while time.monotonic() < deadline:
        ready = sum(1 for obj in list_endpoints(api) if is_ready(obj))
        now = time.monotonic()
        if ready >= count:
            return now
        if progress is not None and now - last_report >= 30:
            progress(ready, now - started)
            last_report = now
        time.sleep(interval)
    raise TimeoutError(f"only {ready} of {count} ModelEndpoints Ready after {timeout:.0f} s")


def print_progress(ready: int, seconds: float) -> None:
    print(f"   ... {ready:,} Ready after {seconds:,.0f} s", flush=True)


def populate(bench: Stack, count: int, prefix: str = "me") -> float:
    """Create `count` ModelEndpoints and wait until all are Ready, with every limit lifted
    and SageMaker's lifecycles short; the seconds it took. The operator must be running."""
    bench.unlimited_aws()
    bench.box.settings(**SETUP_SANDBOX)
    started = time.monotonic()
    manifests = [model_endpoint(f"{prefix}-{i:05d}") for i in range(count)]
    apply_all(bench.api, manifests)
    existing = len(list_endpoints(bench.api))
    wait_all_ready(bench.api, existing, timeout=120 + count, progress=print_progress)
    # The sandbox's call log would grow with every call the set-up made.
    bench.box.forget_calls()
    return time.monotonic() - started


def operations(calls: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call["operation"]] = counts.get(call["operation"], 0) + 1
    return dict(sorted(counts.items()))


def summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{op} {n}" for op, n in counts.items())


def write_json(path: Path | None, figures: dict[str, Any]) -> None:
    """Figures for bench/README.md (`make bench` collects them), if asked for."""
    if path is not None:
        path.write_text(json.dumps(figures, indent=2) + "\n")
