"""A client-side token bucket, so a burst of reconciles stays under AWS's API rate limits."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol


class TokenBucket:
    """Allows `rate` calls per second on average and bursts of up to `burst` calls."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class RateLimiter(Protocol):
    """What an adapter waits on before each call."""

    def acquire(self) -> float: ...


class AllOf:
    """Waits on every limiter in turn: a service's own bucket, then an overall cap."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self._limiters = limiters

    def acquire(self) -> float:
        return sum(limiter.acquire() for limiter in self._limiters)


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.per_second > 0 and math.isfinite(self.per_second)) or self.burst < 1:
            raise ValueError(
                f"{self.per_second:g}/{self.burst}: the rate must be positive and the burst"
                " at least 1"
            )

    def __str__(self) -> str:
        return f"{self.per_second:g}/{self.burst}"


# The client-side limit of each service the operator calls (the botocore service name).
# AWS throttles per account and region, per operation, so each default stays below the
# lowest published limit among the operations the operator calls, leaving room for other
# callers in the account (consoles, CI, other tools) and for several shards.
#
# - sagemaker (endpoints, configs, models, tags; Neo's compilation jobs): AWS publishes no
#   per-operation TPS for SageMaker's control plane (neither "Amazon SageMaker AI endpoints
#   and quotas", https://docs.aws.amazon.com/general/latest/gr/sagemaker.html, nor the
#   developer guide's quotas page list one; the account's figures show only in the Service
#   Quotas console). A conservative 8/s: under the operator's old shared limit of 10/s, which
#   has not been seen throttled.
# - application-autoscaling: no published TPS either
#   (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-quotas.html
#   lists only counts); conservative 4/s, calls are rare (autoscaled variants only).
# - cloudwatch: DescribeAlarms is 9 TPS and GetMetricData 50 TPS per account and Region
#   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html):
#   5/s with a burst of 8 stays under the lower one.
# - s3: 5,500 GET/HEAD (ListObjectsV2 included) per second per prefix
#   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html): 20/s
#   is far below; only multi-model endpoints list artifacts.
# - sagemaker-runtime: InvokeEndpoint's limit scales with the endpoint's instances; the
#   operator only warms multi-model endpoints' models: 10/s.
# - greengrassv2, iot: their quota pages list per-API TPS that differ by operation; not
#   checked here, so conservative 2/s and 5/s (EdgeModel rollouts poll a few objects each).
# - sts: GetCallerIdentity, once at start-up and for component ARNs: 5/s.
DEFAULT_RATES: Mapping[str, Rate] = MappingProxyType(
    {
        "sagemaker": Rate(8, 16),
        "application-autoscaling": Rate(4, 8),
        "cloudwatch": Rate(5, 8),
        "s3": Rate(20, 40),
        "sagemaker-runtime": Rate(10, 20),
        "greengrassv2": Rate(2, 4),
        "iot": Rate(5, 10),
        "sts": Rate(5, 10),
    }
)


def parse_rates(text: str) -> dict[str, Rate]:
    """`sagemaker=10/20,cloudwatch=5` -> per-service rates (burst defaults to twice the rate).

    Raises ValueError naming the part that is wrong."""
    rates: dict[str, Rate] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        service, equals, value = (s.strip() for s in part.partition("="))
        if not equals:
            raise ValueError(f"{part!r}: expected service=perSecond/burst, e.g. sagemaker=8/16")
        if service not in DEFAULT_RATES:
            raise ValueError(
                f"{service!r} is not a service the operator calls; one of: "
                + ", ".join(sorted(DEFAULT_RATES))
            )
        per_second, slash, burst = value.partition("/")
        try:
            rate = float(per_second)
            rates[service] = Rate(rate, int(burst) if slash else max(1, math.ceil(rate * 2)))
        except ValueError as error:
            raise ValueError(f"{part!r}: {error}") from error
    return rates


class ServiceLimits:
    """One token bucket per AWS service, each optionally also held to an overall cap."""

    def __init__(
        self,
        rates: Mapping[str, Rate],
        overall: Rate | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rates = {**DEFAULT_RATES, **rates}
        self.overall = overall

        def bucket(rate: Rate) -> TokenBucket:
            return TokenBucket(rate.per_second, rate.burst, clock=clock, sleep=sleep)

        cap = bucket(overall) if overall is not None else None
        self._limiters: dict[str, RateLimiter] = {}
        for service, rate in self.rates.items():
            own = bucket(rate)
            self._limiters[service] = AllOf(own, cap) if cap is not None else own

    def for_service(self, service: str) -> RateLimiter:
        return self._limiters[service]

    def describe(self) -> str:
        text = ", ".join(f"{s} {r}" for s, r in sorted(self.rates.items()))
        return text + (f"; at most {self.overall} overall" if self.overall else "")
