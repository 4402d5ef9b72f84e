"""Fault injection: make chosen AWS operations throttle, fail or slow down on demand.

A fault fails (or slows) the next `count` matching calls, or, with a `rate` below 1, each
matching call with that probability from its own seeded random stream: "20% throttling,
5% 5xx and 50-150 ms on every call" is three faults, and every matching fault acts on a
call (latencies add up; the first that fails the call answers it).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    service: str = "*"
    operation: str = "*"
    error_code: str | None = "ThrottlingException"
    """None: the fault only adds latency."""
    http_status: int = 400
    message: str = "Rate exceeded"
    body: str | None = None
    """The failed call's whole answer, sent as is instead of AWS's error shape: a proxy's or
    load balancer's error page (error_code is then only what the calls log is told)."""
    content_type: str = "text/html"
    """The Content-Type of `body`."""
    count: int = 1
    """How many matching calls fail; -1 for every call until cleared."""
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    """Latency is drawn uniformly from latency_ms to latency_ms + latency_jitter_ms."""
    rate: float = 1.0
    """The share of matching calls the fault acts on (a call it spares does not count)."""
    seed: int | None = None
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {self.rate}")
        self._random = random.Random(self.seed)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        seed = data.get("seed")
        return cls(
            service=data.get("service", "*"),
            operation=data.get("operation", "*"),
            error_code=data.get("errorCode", "ThrottlingException"),
            http_status=int(data.get("httpStatus", 400)),
            message=data.get("message", "Rate exceeded"),
            body=data.get("body"),
            content_type=data.get("contentType", "text/html"),
            count=int(data.get("count", 1)),
            latency_ms=int(data.get("latencyMs", 0)),
            latency_jitter_ms=int(data.get("latencyJitterMs", 0)),
            rate=float(data.get("rate", 1.0)),
            seed=None if seed is None else int(seed),
        )

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)

    def fires(self) -> bool:
        return self.rate >= 1.0 or self._random.random() < self.rate

    def latency(self) -> float:
        """Seconds this fault delays a call it acts on."""
        jitter = self._random.uniform(0, self.latency_jitter_ms) if self.latency_jitter_ms else 0
        return (self.latency_ms + jitter) / 1000


@dataclass(frozen=True)
class FaultEffect:
    delay_seconds: float = 0.0
    error: Fault | None = None
    """The fault that fails the call, if one does."""


class FaultTable:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        """The faults not used up yet, with how many calls each has left (-1: unlimited)."""
        with self._lock:
            return [
                {"service": f.service, "operation": f.operation, "count": f.count}
                for f in self._faults
            ]

    def take(self, service: str, operation: str) -> FaultEffect | None:
        """What the faults do to this call (each one that acts is used up by one), or None."""
        delay, error, acted = 0.0, None, False
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(service, operation) or not fault.fires():
                    continue
                if error is not None and fault.error_code:
                    continue  # the call already fails: this fault is not spent on it
                acted = True
                delay += fault.latency()
                if fault.error_code:
                    error = fault
                if fault.count > 0:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
        return FaultEffect(delay, error) if acted else None


@dataclass
class RateLimit:
    """AWS's own request rate limit on an operation: a token bucket per (service, operation),
    and a ThrottlingException for a call that finds it empty (as SageMaker's control plane
    answers past its per-account limits)."""

    service: str = "*"
    operation: str = "*"
    per_second: float = 10.0
    burst: int = 10
    _tokens: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("perSecond must be positive and burst at least 1")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateLimit:
        return cls(
            service=data.get("service", "*"),
            operation=data.get("operation", "*"),
            per_second=float(data.get("perSecond", 10.0)),
            burst=int(data.get("burst", 10)),
        )

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)

    def admit(self, service: str, operation: str, now: float) -> bool:
        """Take a token from this call's bucket (each operation has its own), if one is left."""
        key = (service, operation)
        tokens, updated = self._tokens.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * self.per_second)
        if tokens < 1.0:
            self._tokens[key] = (tokens, now)
            return False
        self._tokens[key] = (tokens - 1.0, now)
        return True


class RateLimits:
    def __init__(self) -> None:
        self._limits: list[RateLimit] = []
        self._lock = threading.Lock()
        self.throttled = 0
        """Calls refused since the limits were last cleared."""

    def add(self, limit: RateLimit) -> None:
        with self._lock:
            self._limits.append(limit)

    def clear(self) -> None:
        with self._lock:
            self._limits.clear()
            self.throttled = 0

    def admit(self, service: str, operation: str, now: float) -> bool:
        """Whether every limit matching this call has room for it."""
        with self._lock:
            for limit in self._limits:
                if limit.matches(service, operation) and not limit.admit(service, operation, now):
                    self.throttled += 1
                    return False
        return True
