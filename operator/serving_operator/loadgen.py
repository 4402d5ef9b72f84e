"""A bounded load generator for a SageMaker endpoint: steady traffic for a canary to be judged on.

It works the same against AWS and against the sandbox: it only calls InvokeEndpoint through
the SageMaker Runtime adapter. Calls are paced by a bucket of one token that refills 1/rps
seconds after it is taken, so two calls never start closer together than 1/rps seconds by
the pacing clock, and at most ceil(rps * duration) calls are made: a slow endpoint gets
fewer calls, never a burst to catch up. It returns once every call it started is answered.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from serving_operator.aws.base import AwsError
from serving_operator.aws.runtime import SageMakerRuntime


@dataclass(frozen=True)
class LoadProgress:
    """Where a run stands, after each answered call."""

    sent: int
    completed: int
    failed: int
    elapsed_seconds: float
    """Since the first call, by the pacing clock."""


@dataclass(frozen=True)
class LoadSummary:
    sent: int
    succeeded: int
    by_variant: Mapping[str, int]
    """Successful calls by the production variant that answered them."""
    errors: Mapping[str, int]
    """Failed calls by AWS error code (ModelError, ThrottlingException, ...)."""
    latency_p50_seconds: float | None
    """Of every answered call, failed ones too; None when no call was made."""
    latency_p99_seconds: float | None
    elapsed_seconds: float
    latencies_seconds: tuple[float, ...] = field(repr=False, default=())

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


@dataclass
class _Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    completed: int = 0
    by_variant: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


def generate_load(
    runtime: SageMakerRuntime,
    endpoint: str,
    rps: float,
    duration_seconds: float,
    *,
    body: bytes,
    content_type: str = "application/json",
    variant: str | None = None,
    concurrency: int = 4,
    on_progress: Callable[[LoadProgress], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> LoadSummary:
    """Invoke `endpoint` at up to `rps` calls a second for `duration_seconds`.

    `variant` names the production variant to call (TargetVariant); without it the
    endpoint's weights choose. At most `concurrency` calls are in flight: when all are
    busy the next call waits (and the run sends fewer calls). `on_progress` is called after
    each answered call, one call at a time: keep it quick. `clock` and `sleep` pace the
    calls (and tests may pass their own); latencies are measured with time.monotonic.
    """
    if rps <= 0 or duration_seconds <= 0:
        raise ValueError("rps and duration_seconds must be positive")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    most_calls = math.ceil(rps * duration_seconds)
    free_slots = threading.BoundedSemaphore(concurrency)
    tally = _Tally()
    started = clock()
    token_ready_at = started

    def one_call() -> None:
        answered_by: str | None = None
        error_code: str | None = None
        call_started = time.monotonic()
        try:
            invocation = runtime.invoke(endpoint, body, content_type=content_type, variant=variant)
            answered_by = invocation.invoked_variant
        except AwsError as error:
            error_code = error.code
        finally:
            latency = time.monotonic() - call_started
            free_slots.release()
        with tally.lock:
            tally.completed += 1
            tally.latencies.append(latency)
            if error_code is not None:
                tally.errors[error_code] += 1
            else:
                tally.by_variant[answered_by or ""] += 1
            if on_progress is not None:
                on_progress(
                    LoadProgress(
                        tally.sent, tally.completed, sum(tally.errors.values()), clock() - started
                    )
                )

    futures: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="loadgen") as pool:
        while tally.sent < most_calls:
            free_slots.acquire()
            now = clock()
            while now < token_ready_at:  # a loop: a sleep may end a hair early
                sleep(token_ready_at - now)
                now = clock()
            if now - started >= duration_seconds:
                free_slots.release()
                break
            # Refill from when this call really starts: a late call never makes the next early.
            token_ready_at = now + 1 / rps
            with tally.lock:
                tally.sent += 1
            futures.append(pool.submit(one_call))
    for future in futures:
        future.result()  # anything but an AWS error is a bug: let it out

    latencies = tuple(tally.latencies)
    return LoadSummary(
        sent=tally.sent,
        succeeded=sum(tally.by_variant.values()),
        by_variant=dict(tally.by_variant),
        errors=dict(tally.errors),
        latency_p50_seconds=_nearest_rank(latencies, 50),
        latency_p99_seconds=_nearest_rank(latencies, 99),
        elapsed_seconds=clock() - started,
        latencies_seconds=latencies,
    )


def _nearest_rank(samples: tuple[float, ...], p: float) -> float | None:
    """The smallest sample with at least p% of the samples at or below it (as CloudWatch)."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]
