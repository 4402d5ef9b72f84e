"""The sandbox's CloudWatch under canary traffic: how long the operator's metric read takes.

A sandbox of its own, HISTORY datums already stored (what earlier tests of a session leave;
old timestamps, other endpoints), then an endpoint with two variants under RPS
InvokeEndpoint calls a second for SECONDS, while the operator's own CloudWatch adapter reads a
canary look's metrics (read_analysis: error counts and p99 latency of both variants) every
2 s. Prints the read's latency and the invocations answered. Goal: p99 of the read < 1 s,
whatever is stored. Prints figures; asserts nothing.

`.venv/bin/python bench/bench_sandbox_metrics.py [--quick]`
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.sandbox.endpoints import endpoint, in_service, single_model
from tests.support import sandbox as sandbox_support
from tests.support.traffic import Traffic

from serving_operator.api.trafficsplit import AnalysisMetric
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.planning.trafficsplit.observed import MetricsLookup

GOAL_P99_SECONDS = 1.0
BATCH = 1000  # PutMetricData's limit of data per call


def store_history(box: sandbox_support.Sandbox, datums: int) -> None:
    cloudwatch = box.client("cloudwatch")
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    for first in range(0, datums, BATCH):
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Value": 1.0,
                    "Timestamp": old + datetime.timedelta(milliseconds=i),
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": f"earlier-{i % 50}"},
                        {"Name": "VariantName", "Value": "v"},
                    ],
                }
                for i in range(first, min(first + BATCH, datums))
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    history, rps, seconds = (20_000, 40.0, 20) if args.quick else (300_000, 80.0, 90)
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-metrics-") as folder:
        box = sandbox_support.start(
            Path(folder), {"metric_period_seconds": 1, "creating_seconds": 0.5}
        )
        try:
            started = time.monotonic()
            store_history(box, history)
            print(
                f"stored {history:,} datums of earlier endpoints"
                f" in {time.monotonic() - started:.1f} s"
            )
            sagemaker = box.client("sagemaker")
            bucket = "bench-metrics"
            box.client("s3").create_bucket(Bucket=bucket)
            box.client("s3").put_object(
                Bucket=bucket, Key="xgboost/v1/model.tar.gz", Body=b"stand-in model"
            )
            name = endpoint(
                sagemaker,
                {"blue": single_model(sagemaker, bucket), "green": single_model(sagemaker, bucket)},
            )
            in_service(sagemaker, name)
            reader = CloudWatch(box.client("cloudwatch"), TokenBucket(100, 100))
            checks = [
                AnalysisMetric.model_validate({"name": "errors", "type": "ErrorRate"}),
                AnalysisMetric.model_validate(
                    {
                        "name": "latency",
                        "type": "Latency",
                        "percentile": 99,
                        "thresholdRange": {"max": 1_000_000},
                    }
                ),
            ]
            latencies: list[float] = []
            with Traffic(box, name, rps=rps) as traffic:
                look_started = datetime.datetime.now(datetime.UTC)
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    now = datetime.datetime.now(datetime.UTC)
                    lookup = MetricsLookup(
                        start=look_started,
                        window_start=now - datetime.timedelta(seconds=30),
                        end=now,
                        period=1,
                    )
                    begun = time.monotonic()
                    reader.read_analysis(name, ("blue", "green"), checks, lookup)
                    latencies.append(time.monotonic() - begun)
                    time.sleep(2)  # a canary look every 2 s, as the demo paces them
            answered = sum(traffic.answered.values())
        finally:
            box.stop()
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    print(
        f"{len(latencies)} metric reads over {seconds} s of traffic ({answered:,} invocations "
        f"answered, {answered / seconds:.0f}/s of {rps:.0f}/s asked): read p50 {p50:.3f} s, "
        f"p99 {p99:.3f} s, max {latencies[-1]:.3f} s; goal p99 < {GOAL_P99_SECONDS} s: "
        f"{p99 / GOAL_P99_SECONDS:.2f}x the goal"
    )


if __name__ == "__main__":
    main()
