"""Convergence: COUNT ModelEndpoints (two variants each) applied at once; the time until all
are Ready, against the floor: the same AWS calls made by a minimal asyncio/boto3 script at
the same concurrency and the same client-side rate limit.

Both run against the sandbox answering like SageMaker: 30-120 ms per call, a rate limit per
operation (harness.py says which and why), endpoints Creating for CREATING_SECONDS (minutes
in AWS, compressed here). The floor does only what one endpoint needs: CreateModel x2,
CreateEndpointConfig, CreateEndpoint, then DescribeEndpoint every poll interval until
InService. Goal: operator time / floor time <= 1.3. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import harness
from botocore.config import Config

from serving_operator.aws.base import CLIENT_CONFIG
from serving_operator.aws.ratelimit import TokenBucket

GOAL_RATIO = 1.3


async def converge_floor(
    box: Any, names: list[str], *, poll_seconds: float, workers: int, rate: float, burst: int
) -> float:
    """Create every endpoint as a minimal script would; seconds until all are InService."""
    # The operator's retry and timeout settings, without its user agent.
    config = CLIENT_CONFIG.merge(Config(user_agent_extra="serving-bench-floor"))
    sagemaker = box.client("sagemaker", config)
    limiter = TokenBucket(rate, burst)
    executor = ThreadPoolExecutor(workers, thread_name_prefix="floor")
    loop = asyncio.get_running_loop()

    async def call(operation: str, **params: Any) -> dict[str, Any]:
        def blocking() -> dict[str, Any]:
            limiter.acquire()
            answer: dict[str, Any] = getattr(sagemaker, operation)(**params)
            return answer

        return await loop.run_in_executor(executor, blocking)

    async def create(name: str) -> None:
        for variant in harness.VARIANTS:
            await call(
                "create_model",
                ModelName=f"{name}-{variant}",
                ExecutionRoleArn=harness.ROLE,
                PrimaryContainer={
                    "Image": harness.IMAGE,
                    "ModelDataUrl": harness.artifact(variant),
                },
            )
        await call(
            "create_endpoint_config",
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": variant,
                    "ModelName": f"{name}-{variant}",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                    "InitialVariantWeight": 1.0,
                }
                for variant in harness.VARIANTS
            ],
        )
        await call("create_endpoint", EndpointName=name, EndpointConfigName=name)
        while True:
            await asyncio.sleep(poll_seconds)
            status = (await call("describe_endpoint", EndpointName=name))["EndpointStatus"]
            if status == "InService":
                return
            if status == "Failed":
                raise RuntimeError(f"floor endpoint {name} failed")

    started = time.monotonic()
    try:
        await asyncio.gather(*(create(name) for name in names))
    finally:
        executor.shutdown()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--creating-seconds", type=float, default=60.0)
    parser.add_argument("--poll-seconds", type=float, default=15.0, help="the operator's default")
    parser.add_argument("--quick", action="store_true", help="20 endpoints, short lifecycles")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.count, args.creating_seconds, args.poll_seconds = 20, 5.0, 2.0
    count = args.count

    harness.banner(f"convergence: {count} ModelEndpoints x 2 variants applied at once")
    print(
        f"   SageMaker Creating {args.creating_seconds:.0f} s, calls {harness.LATENCY_MS}-"
        f"{harness.LATENCY_MS + harness.LATENCY_JITTER_MS} ms, AWS limit"
        f" {harness.AWS_PER_OPERATION_PER_SECOND:.0f}/s (burst {harness.AWS_PER_OPERATION_BURST})"
        f" per operation; client limit {harness.CLIENT_CALLS_PER_SECOND:.0f}/s (burst"
        f" {harness.CLIENT_BURST}), {harness.WORKERS} workers, poll every"
        f" {args.poll_seconds:.0f} s",
        flush=True,
    )
    lifecycles = {"creatingSeconds": args.creating_seconds, "updatingSeconds": 1.0}
    with harness.stack(lifecycles) as bench:
        bench.realistic_aws()
        bench.box.forget_calls()
        floor_seconds = asyncio.run(
            converge_floor(
                bench.box,
                [f"floor-{i:05d}" for i in range(count)],
                poll_seconds=args.poll_seconds,
                workers=harness.WORKERS,
                rate=harness.CLIENT_CALLS_PER_SECOND,
                burst=harness.CLIENT_BURST,
            )
        )
        floor_calls = harness.operations(bench.box.calls())
        floor_throttled = bench.box.throttled()

        bench.start_operator(poll_seconds=args.poll_seconds)
        bench.realistic_aws()  # fresh buckets and throttle count for the operator's run
        bench.box.forget_calls()
        started = time.monotonic()
        apply_seconds = harness.apply_all(
            bench.api, [harness.model_endpoint(f"me-{i:05d}") for i in range(count)]
        )
        finished = harness.wait_all_ready(
            bench.api,
            count,
            timeout=600 + count * 5,
            progress=harness.print_progress,
        )
        operator_seconds = finished - started
        operator_calls = harness.operations(bench.box.calls())
        operator_throttled = bench.box.throttled()

    ratio = operator_seconds / floor_seconds
    floor_per = sum(floor_calls.values()) / count
    operator_per = sum(operator_calls.values()) / count
    print(f"   floor script: all InService after {floor_seconds:,.1f} s;", flush=True)
    print(f"     {floor_per:.2f} AWS calls per endpoint ({harness.summary(floor_calls)})")
    print(f"     throttled by AWS: {floor_throttled}")
    print(
        f"   operator: all Ready after {operator_seconds:,.1f} s"
        f" (the applies took {apply_seconds:.1f} s of it);"
    )
    print(f"     {operator_per:.2f} AWS calls per endpoint ({harness.summary(operator_calls)})")
    print(f"     throttled by AWS: {operator_throttled}")
    print(
        "   " + harness.goal_line("operator / floor", ratio, GOAL_RATIO, "x", lower_is_better=True)
    )
    harness.write_json(
        args.json,
        {
            "count": count,
            "floorSeconds": floor_seconds,
            "operatorSeconds": operator_seconds,
            "ratio": ratio,
            "goalRatio": GOAL_RATIO,
            "floorCallsPerEndpoint": floor_per,
            "operatorCallsPerEndpoint": operator_per,
            "floorCalls": floor_calls,
            "operatorCalls": operator_calls,
            "throttled": {"floor": floor_throttled, "operator": operator_throttled},
            "machine": harness.machine(),
        },
    )


if __name__ == "__main__":
    main()
