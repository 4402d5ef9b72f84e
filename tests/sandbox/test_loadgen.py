"""The load generator against the sandbox: real InvokeEndpoint traffic, counted three ways
(its own summary, the sandbox's call log, CloudWatch), paced under its rate, and finished
when it returns."""

from __future__ import annotations

import ast
import datetime
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.config
import pytest

import serving_operator.loadgen
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.loadgen import LoadProgress, generate_load
from tests.sandbox import endpoints
from tests.sandbox.canary import (
    behaviour_admin,
    metric_data,
    metric_query,
    nearest_rank,
    set_behaviour,
)
from tests.support.sandbox import Sandbox


@pytest.fixture
def adapter(sandbox: Sandbox) -> SageMakerRuntime:
    client = sandbox.client(
        "sagemaker-runtime",
        botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    return SageMakerRuntime(client, TokenBucket(1000, 1000))


@pytest.fixture
def endpoint(control: Any, model_bucket: str, sandbox: Sandbox) -> Iterator[str]:
    """Two variants of equal weight; "b" fails a fifth of its calls, "a" takes ~2 ms."""
    model = endpoints.single_model(control, model_bucket)
    name = endpoints.endpoint(control, {"a": model, "b": model})
    endpoints.in_service(control, name)
    set_behaviour(sandbox, name, "a", latencyMs={"median": 2, "p99": 6})
    set_behaviour(sandbox, name, "b", errorRate5xx=0.2)
    yield name
    behaviour_admin(sandbox, "DELETE", query=f"?endpoint={name}")


def _invocations_logged(sandbox: Sandbox, name: str) -> int:
    return sum(
        1 for c in sandbox.calls() if c["operation"] == "InvokeEndpoint" and c.get("target") == name
    )


def _sum(cloudwatch: Any, name: str, variant: str, metric: str, since: Any) -> float:
    result = metric_data(cloudwatch, [metric_query("q", name, variant, metric, "Sum")], since)["q"]
    return float(sum(result["Values"]))


def test_load_is_counted_bounded_and_finished_on_return(
    adapter: SageMakerRuntime, endpoint: str, sandbox: Sandbox
) -> None:
    rps, duration = 40.0, 1.5
    progress: list[LoadProgress] = []
    started = datetime.datetime.now(datetime.UTC)
    sandbox.forget_calls()

    summary = generate_load(
        adapter,
        endpoint,
        rps,
        duration,
        body=b'{"x": 1}',
        concurrency=4,
        on_progress=progress.append,
    )

    # Bounded: never more calls than the rate allows over the run, nor at any moment of it.
    assert 1 <= summary.sent <= math.ceil(rps * duration)
    for report in progress:
        # (1e-9: the pacing clock's floating-point rounding, not slack in the bound)
        assert report.sent <= math.floor(report.elapsed_seconds * rps + 1e-9) + 1, report
    # Counted: every call answered, each once, in the summary as in the sandbox's log.
    assert summary.sent == summary.succeeded + summary.failed
    assert [p.completed for p in progress] == list(range(1, summary.sent + 1))
    assert set(summary.by_variant) <= {"a", "b"}
    assert set(summary.errors) <= {"ModelError"}
    assert _invocations_logged(sandbox, endpoint) == summary.sent
    # Finished: nothing still in flight once it returned (the log stays as it was).
    assert _invocations_logged(sandbox, endpoint) == summary.sent
    # CloudWatch saw the same calls: successes of "a", and of "b" with its model errors.
    cloudwatch = sandbox.client("cloudwatch")
    invoked = {v: _sum(cloudwatch, endpoint, v, "Invocations", started) for v in ("a", "b")}
    assert invoked["a"] + invoked["b"] == summary.sent
    assert invoked["a"] == summary.by_variant.get("a", 0)  # "a" never fails
    assert _sum(cloudwatch, endpoint, "b", "Invocation5XXErrors", started) == summary.errors.get(
        "ModelError", 0
    )
    assert summary.latency_p50_seconds is not None
    assert summary.latency_p99_seconds is not None
    assert summary.latency_p50_seconds <= summary.latency_p99_seconds


class VirtualClock:
    """Pacing time that passes only when the load generator waits for its next token."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.now += seconds


def test_pacing_spaces_calls_by_one_over_rps(
    adapter: SageMakerRuntime, endpoint: str, sandbox: Sandbox
) -> None:
    """With pacing time that stands still while the calls run, the run is exactly on
    schedule: ceil(rps * duration) calls, 1/rps apart, each a real call to the sandbox."""
    clock = VirtualClock()
    sandbox.forget_calls()
    summary = generate_load(
        adapter,
        endpoint,
        20,
        3,
        body=b"{}",
        variant="a",
        concurrency=3,
        clock=clock,
        sleep=clock.sleep,
    )
    assert summary.sent == 60
    assert clock.waits == pytest.approx([1 / 20] * 59)
    assert summary.by_variant == {"a": 60}
    assert _invocations_logged(sandbox, endpoint) == 60


def test_latency_summary_covers_the_models_latency(
    adapter: SageMakerRuntime, endpoint: str, sandbox: Sandbox
) -> None:
    """The sandbox waits out each drawn model latency, so each call's latency as the caller
    sees it is at least its model's: so is every nearest-rank percentile."""
    started = datetime.datetime.now(datetime.UTC)
    summary = generate_load(adapter, endpoint, 50, 1, body=b"{}", variant="a", concurrency=4)
    assert summary.by_variant == {"a": summary.sent}
    cloudwatch = sandbox.client("cloudwatch")
    recorded = metric_data(
        cloudwatch,
        [
            metric_query("p50", endpoint, "a", "ModelLatency", "p50"),
            metric_query("p99", endpoint, "a", "ModelLatency", "p99"),
            metric_query("n", endpoint, "a", "ModelLatency", "SampleCount"),
        ],
        started,
    )
    assert sum(recorded["n"]["Values"]) == summary.sent
    [model_p50], [model_p99] = recorded["p50"]["Values"], recorded["p99"]["Values"]
    assert summary.latency_p50_seconds is not None
    assert summary.latency_p99_seconds is not None
    assert summary.latency_p50_seconds >= model_p50 / 1e6
    assert summary.latency_p99_seconds >= model_p99 / 1e6
    assert summary.latency_p50_seconds == nearest_rank(summary.latencies_seconds, 50)


def test_arguments_are_checked(adapter: SageMakerRuntime) -> None:
    for rps, duration, concurrency in ((0, 1, 1), (1, 0, 1), (1, 1, 0)):
        with pytest.raises(ValueError, match="must be"):
            generate_load(adapter, "ep", rps, duration, body=b"", concurrency=concurrency)


def test_the_load_generator_does_not_import_the_sandbox() -> None:
    """It runs against real AWS: no sandbox and no moto."""
    tree = ast.parse(Path(serving_operator.loadgen.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "serving_operator.aws.runtime" in imported  # the checker sees imports
    assert not {name for name in imported if name.startswith(("serving_operator.sandbox", "moto"))}
