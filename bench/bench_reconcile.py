"""What a reconcile pass costs against the AWS sandbox: AWS calls and wall time.

Creates ENDPOINTS endpoints through the reconciler (no kopf, no cluster), waits until
they are InService, then measures steady-state passes: the resync every resource pays
every SERVING_OPERATOR_RESYNC_SECONDS. Prints figures and ratios; asserts nothing.
Run with `make bench` (it starts its own sandbox on loopback).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
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
from serving_operator.reconcile.modelendpoint import ModelEndpointReconciler  # noqa: E402

ENDPOINTS = 40
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"


def spec(i: int) -> ModelEndpointSpec:
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
            run(box)
        finally:
            box.stop()


def run(box: sandbox_support.Sandbox) -> None:
    s3 = box.client("s3")
    s3.create_bucket(Bucket="bench-models")
    for v in range(2):
        s3.put_object(Bucket="bench-models", Key=f"{v}/model.tar.gz", Body=b"m")
    limiter = TokenBucket(1000, 1000)  # measure the operator, not the client-side limit
    clients = Clients(
        sagemaker=SageMaker(box.client("sagemaker", CLIENT_CONFIG), limiter),
        autoscaling=ApplicationAutoScaling(
            box.client("application-autoscaling", CLIENT_CONFIG), limiter
        ),
        s3=S3(box.client("s3", CLIENT_CONFIG), limiter),
        runtime=SageMakerRuntime(box.client("sagemaker-runtime", CLIENT_CONFIG), limiter),
    )
    reconciler = ModelEndpointReconciler(clients)
    specs = [spec(i) for i in range(ENDPOINTS)]
    memories = [Memory() for _ in specs]

    def pass_all() -> list[OutcomeKind]:
        outcomes = []
        for i, s in enumerate(specs):
            result = reconciler.reconcile(
                s, namespace="bench", name=f"bench-{i}", memory=memories[i]
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
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        assert all(k == OutcomeKind.READY for k in pass_all())
    steady = (time.perf_counter() - started) / (rounds * ENDPOINTS)
    steady_calls = Counter(c["operation"] for c in box.calls())

    print(f"{ENDPOINTS} endpoints x 2 variants, sandbox lifecycles of 0.5 s")
    print(
        f"converge from nothing: {converge:.2f} s over {passes} passes;"
        f" {sum(create_calls.values()) / ENDPOINTS:.1f} AWS calls per endpoint"
    )
    print("  calls: " + ", ".join(f"{op} {n}" for op, n in sorted(create_calls.items())))
    per_pass = sum(steady_calls.values()) / (rounds * ENDPOINTS)
    print(
        f"steady-state resync: {steady * 1000:.2f} ms and {per_pass:.2f} AWS calls per"
        f" endpoint per pass ({', '.join(sorted(steady_calls))}), 0 writes"
        if not set(steady_calls) - {"DescribeEndpoint"}
        else f"steady calls: {steady_calls}"
    )
    print(
        f"=> one operator resyncing every 600 s keeps ~{600 / steady:,.0f} endpoints in sync"
        " on one thread (AWS's DescribeEndpoint quota is the real ceiling)"
    )


if __name__ == "__main__":
    main()
