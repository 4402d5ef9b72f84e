"""What a reconcile pass costs against the AWS sandbox: AWS calls and wall time.

For a fleet of ENDPOINTS plain and one of ENDPOINTS autoscaled endpoints, created through
the reconciler (no kopf, no cluster): the AWS calls to converge from nothing, then the
calls per endpoint per steady-state resync over STEADY_ROUNDS resyncs RESYNC_SECONDS apart
(simulated time, so periodic re-reads are in the average). Prints figures; asserts nothing.
Run with `make bench` (it starts its own sandbox on loopback). To compare with an older
commit, run this file against that commit's package:
`git archive <commit> operator | tar -x -C /tmp/before && PYTHONPATH=/tmp/before/operator
.venv/bin/python bench/bench_reconcile.py`.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import sandbox as sandbox_support  # noqa: E402

from serving_operator.api.modelendpoint import ModelEndpointSpec  # noqa: E402
from serving_operator.aws.autoscaling import ApplicationAutoScaling  # noqa: E402
from serving_operator.aws.base import CLIENT_CONFIG  # noqa: E402
from serving_operator.aws.clients import Clients  # noqa: E402
from serving_operator.aws.ratelimit import TokenBucket  # noqa: E402
from serving_operator.aws.runtime import SageMakerRuntime  # noqa: E402
from serving_operator.aws.s3 import S3  # noqa: E402
from serving_operator.aws.sagemaker import SageMaker  # noqa: E402
from serving_operator.planning.modelendpoint.memory import Memory  # noqa: E402
from serving_operator.planning.outcome import OutcomeKind  # noqa: E402
from serving_operator.reconcile.modelendpoint.reconciler import ModelEndpointReconciler  # noqa: E402

ENDPOINTS = 40
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
RESYNC_SECONDS = 600.0  # the operator's default resync
# Two hours of resyncs: long enough that the hourly scaling re-read is in the average.
STEADY_ROUNDS = 12
WRITES = ("Create", "Update", "Delete", "Put", "Register", "Deregister", "Add", "Tag")


def spec(i: int, *, autoscaled: bool) -> ModelEndpointSpec:
    scaling = (
        {
            "autoscaling": {
                "minInstances": 2,
                "maxInstances": 4,
                "maxRequestsPerSecondPerInstance": 10,
            }
        }
        if autoscaled
        else {}
    )
    return ModelEndpointSpec.model_validate(
        {
            "executionRoleArn": ROLE,
            "variants": [
                {
                    "name": f"v{v}",
                    "model": {
                        "image": f"img:{v}",
                        "modelDataUrl": f"s3://bench-models/{v}/model.tar.gz",
                    },
                    "instanceType": "ml.m5.large",
                    "instanceCount": 2,
                    **scaling,
                }
                for v in range(2)
            ],
        }
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        box = sandbox_support.start(
            Path(folder), {"creatingSeconds": 0.5, "updatingSeconds": 0.5, "deletingSeconds": 0}
        )
        try:
            s3 = box.client("s3")
            s3.create_bucket(Bucket="bench-models")
            for v in range(2):
                s3.put_object(Bucket="bench-models", Key=f"{v}/model.tar.gz", Body=b"m")
            steady_ms = run(box, autoscaled=False)
            run(box, autoscaled=True)
        finally:
            box.stop()
    print(
        f"=> one operator resyncing every {RESYNC_SECONDS:.0f} s keeps"
        f" ~{RESYNC_SECONDS * 1000 / steady_ms:,.0f} plain endpoints in sync on one thread"
        " (AWS's DescribeEndpoint quota is the real ceiling)"
    )


def _summary(calls: Counter[str]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))


def run(box: sandbox_support.Sandbox, *, autoscaled: bool) -> float:
    """Converge a fleet, then resync it at rest; print the calls; the ms per steady pass."""
    limiter = TokenBucket(1000, 1000)  # measure the operator, not the client-side limit
    clients = Clients(
        sagemaker=SageMaker(box.client("sagemaker", CLIENT_CONFIG), limiter),
        autoscaling=ApplicationAutoScaling(
            box.client("application-autoscaling", CLIENT_CONFIG), limiter
        ),
        s3=S3(box.client("s3", CLIENT_CONFIG), limiter),
        runtime=SageMakerRuntime(box.client("sagemaker-runtime", CLIENT_CONFIG), limiter),
        cloudwatch=None,  # type: ignore[arg-type]  # no ModelEndpoint pass reads CloudWatch
    )
    reconciler = ModelEndpointReconciler(clients)
    kind = "autoscaled" if autoscaled else "plain"
    specs = [spec(i, autoscaled=autoscaled) for i in range(ENDPOINTS)]
    memories = [Memory() for _ in specs]
    # An older checkout's reconciler takes no `now`: the same bench then measures "before".
    dated = "now" in inspect.signature(reconciler.reconcile).parameters

    def pass_all(now: float | None = None) -> list[OutcomeKind]:
        outcomes = []
        for i, s in enumerate(specs):
            moment = {"now": datetime.fromtimestamp(now, UTC)} if dated and now is not None else {}
            result = reconciler.reconcile(
                s, namespace="bench", name=f"{kind}-{i}", memory=memories[i], **moment
            )
            memories[i] = result.memory
            outcomes.append(result.outcome.kind)
        return outcomes

    box.forget_calls()
    started = time.perf_counter()
    passes = 0
    while True:
        passes += 1
        if all(k == OutcomeKind.READY for k in pass_all()):
            break
        time.sleep(0.2)
    converge = time.perf_counter() - started
    create_calls = Counter(c["operation"] for c in box.calls())

    box.forget_calls()
    started = time.perf_counter()
    clock = time.time()
    for round_ in range(1, STEADY_ROUNDS + 1):  # resyncs RESYNC_SECONDS apart, simulated
        assert all(k == OutcomeKind.READY for k in pass_all(clock + round_ * RESYNC_SECONDS))
    steady = (time.perf_counter() - started) / (STEADY_ROUNDS * ENDPOINTS)
    steady_calls = Counter(c["operation"] for c in box.calls())
    resyncs = STEADY_ROUNDS * ENDPOINTS
    writes = sum(n for op, n in steady_calls.items() if op.startswith(WRITES))

    print(f"{ENDPOINTS} {kind} endpoints x 2 variants, sandbox lifecycles of 0.5 s")
    print(
        f"  converge from nothing: {converge:.2f} s over {passes} passes;"
        f" {sum(create_calls.values()) / ENDPOINTS:.2f} AWS calls per endpoint"
    )
    print(f"    calls: {_summary(create_calls)}")
    print(
        f"  steady-state resync ({STEADY_ROUNDS} resyncs {RESYNC_SECONDS:.0f} s apart):"
        f" {steady * 1000:.2f} ms, {sum(steady_calls.values()) / resyncs:.2f} AWS calls"
        f" ({(sum(steady_calls.values()) - writes) / resyncs:.2f} reads,"
        f" {writes / resyncs:.2f} writes) per endpoint per resync"
    )
    print(f"    calls: {_summary(steady_calls)}")
    return steady * 1000


if __name__ == "__main__":
    main()
