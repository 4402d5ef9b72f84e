"""How each production variant's stand-in model behaves: its error rates and its latency.

Set per (endpoint, variant) through the admin API so that a canary and its baseline can be
told apart by their metrics, as they would be in SageMaker. Latency follows a lognormal
distribution fitted to the configured median and p99 (latencies are skewed to the right and
never negative, and two quantiles pin down a lognormal's two parameters). Every variant
draws from its own generator, seeded from the endpoint and variant names unless a seed is
given, so the same calls give the same outcomes from one run to the next.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

_Z_99 = NormalDist().inv_cdf(0.99)


class BehaviourError(ValueError):
    """A behaviour the admin API cannot accept; the message says which field and why."""


@dataclass(frozen=True)
class ModelOutcome:
    """One call's fate: the HTTP status the model answers with, and how long it takes."""

    status: int
    latency_ms: float


@dataclass
class VariantBehaviour:
    endpoint: str
    variant: str
    error_rate_5xx: float = 0.0
    error_rate_4xx: float = 0.0
    latency_median_ms: float = 0.0
    latency_p99_ms: float = 0.0
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.effective_seed)

    @property
    def effective_seed(self) -> int:
        if self.seed is not None:
            return self.seed
        digest = hashlib.sha256(f"{self.endpoint}\0{self.variant}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VariantBehaviour:
        endpoint, variant = data.get("endpoint"), data.get("variant")
        if not isinstance(endpoint, str) or not endpoint:
            raise BehaviourError("endpoint: the endpoint's name is required")
        if not isinstance(variant, str) or not variant:
            raise BehaviourError("variant: the production variant's name is required")
        rate_5xx = _rate(data, "errorRate5xx")
        rate_4xx = _rate(data, "errorRate4xx")
        if rate_5xx + rate_4xx > 1:
            raise BehaviourError("errorRate5xx + errorRate4xx must not exceed 1")
        latency = data.get("latencyMs") or {}
        if not isinstance(latency, dict):
            raise BehaviourError('latencyMs: expected {"median": ms, "p99": ms}')
        median = _number(latency, "median", "latencyMs.median")
        p99 = _number(latency, "p99", "latencyMs.p99", default=median)
        if median < 0 or p99 < median or (p99 > 0 and median == 0):
            raise BehaviourError("latencyMs: need 0 < median <= p99, or both 0 (no added latency)")
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise BehaviourError("seed: expected an integer")
        return cls(endpoint, variant, rate_5xx, rate_4xx, median, p99, seed)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "variant": self.variant,
            "errorRate5xx": self.error_rate_5xx,
            "errorRate4xx": self.error_rate_4xx,
            "latencyMs": {"median": self.latency_median_ms, "p99": self.latency_p99_ms},
            "seed": self.effective_seed,
        }

    def draw(self) -> ModelOutcome:
        """The next call's outcome. Both draws happen on every call, whatever the first
        gives, so the stream of outcomes depends only on the seed and the number of calls."""
        with _DRAW_LOCK:
            error_draw = self._random.random()
            normal_draw = self._random.gauss(0.0, 1.0)
        if error_draw < self.error_rate_5xx:
            status = 500
        elif error_draw < self.error_rate_5xx + self.error_rate_4xx:
            status = 400
        else:
            status = 200
        return ModelOutcome(status, self.latency_quantile(normal_draw))

    def latency_quantile(self, z: float) -> float:
        """The latency (ms) at standard normal quantile z: exp(mu + sigma z), where
        mu = ln(median) and sigma puts the 99th percentile at p99."""
        if self.latency_median_ms <= 0:
            return 0.0
        sigma = math.log(self.latency_p99_ms / self.latency_median_ms) / _Z_99
        return self.latency_median_ms * math.exp(sigma * z)


# One lock for every variant's generator: draws are quick, and calls run on many threads.
_DRAW_LOCK = threading.Lock()


class BehaviourTable:
    def __init__(self) -> None:
        self._behaviours: dict[tuple[str, str], VariantBehaviour] = {}
        self._lock = threading.Lock()

    def set(self, behaviour: VariantBehaviour) -> None:
        """Set (or replace, starting its random stream again) one variant's behaviour."""
        with self._lock:
            self._behaviours[(behaviour.endpoint, behaviour.variant)] = behaviour

    def get(self, endpoint: str, variant: str) -> VariantBehaviour | None:
        with self._lock:
            return self._behaviours.get((endpoint, variant))

    def describe(
        self, endpoint: str | None = None, variant: str | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            chosen = [
                b
                for (e, v), b in sorted(self._behaviours.items())
                if endpoint in (None, e) and variant in (None, v)
            ]
        return [b.to_json() for b in chosen]

    def reset(self, endpoint: str | None = None, variant: str | None = None) -> int:
        """Forget the behaviours matching the filter (all of them without one); how many."""
        with self._lock:
            gone = [
                key
                for key in self._behaviours
                if endpoint in (None, key[0]) and variant in (None, key[1])
            ]
            for key in gone:
                del self._behaviours[key]
        return len(gone)


def _number(data: dict[str, Any], key: str, label: str, default: float = 0.0) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BehaviourError(f"{label}: expected a number")
    return float(value)


def _rate(data: dict[str, Any], key: str) -> float:
    rate = _number(data, key, key)
    if not 0 <= rate <= 1:
        raise BehaviourError(f"{key}: a rate between 0 and 1")
    return rate
