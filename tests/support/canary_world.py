"""Seeded canaries through the real TrafficSplit planner, on simulated traffic.

An endpoint whose weights change one pass after they are written (as SageMaker's do once
InService), and whose traffic is drawn per CloudWatch period from a seeded generator: Poisson
invocations at the live shares, binomial errors at each variant's rate. The planner is asked,
its reads are answered from that traffic, its weight writes are applied, and the clock moves
to when it asked to look again. What a canary ends in, and when, is what the statistics'
promises are about: `bench/bench_canary_simulation.py` prints the rates with their intervals,
and tests/unit/test_canary_simulation.py pins them on small seeded batches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from serving_operator.api.trafficsplit import Phase, TrafficSplitSpec, TrafficSplitStatus
from serving_operator.planning.trafficsplit.actions import SetWeights
from serving_operator.planning.trafficsplit.findings import remembered, weight_writes
from serving_operator.planning.trafficsplit.observed import (
    AnalysisData,
    EndpointReferenceTarget,
    EndpointWeights,
    SplitLookups,
    SplitObservation,
    VariantTotals,
    VariantWeights,
)
from serving_operator.planning.trafficsplit.planner import plan_traffic_split

BASELINE, CANDIDATE = "baseline", "candidate"
START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PERIOD_SECONDS = 60
ENDED = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.ABORTED})


def canary_spec(steps: Sequence[int], **analysis: Any) -> TrafficSplitSpec:
    """A canary over `steps` (the candidate's percent at each), judged on 5xx errors each
    minute with the API's defaults unless `analysis` overrides them; a deadline far enough
    that only the statistics end it."""
    return TrafficSplitSpec.model_validate(
        {
            "endpointRef": {"name": "ep"},
            "baseline": BASELINE,
            "candidate": CANDIDATE,
            "steps": [{"setWeight": w} for w in steps],
            "analysis": {
                "interval": PERIOD_SECONDS,
                "metrics": [{"name": "errors", "type": "ErrorRate"}],
                **analysis,
            },
            "metricPeriodSeconds": PERIOD_SECONDS,
            "progressDeadlineSeconds": 24 * 3600,
        }
    )


@dataclass
class SimulatedEndpoint:
    per_minute: float
    """Invocations a minute, over all variants."""
    error_rates: Mapping[str, float]
    rng: np.random.Generator
    weights: dict[str, float] = field(default_factory=lambda: {BASELINE: 1.0, CANDIDATE: 0.0})
    pending: dict[str, float] | None = None
    periods: dict[int, dict[str, tuple[int, int]]] = field(default_factory=dict)

    def read(self) -> EndpointWeights:
        return EndpointWeights(
            "ep",
            "Updating" if self.pending is not None else "InService",
            tuple(
                VariantWeights(name, weight, (self.pending or self.weights)[name])
                for name, weight in self.weights.items()
            ),
        )

    def write(self, action: SetWeights) -> None:
        self.pending = action.as_dict

    def settle(self) -> None:
        if self.pending is not None:
            self.weights, self.pending = self.pending, None

    def _period(self, index: int) -> dict[str, tuple[int, int]]:
        """One period's (invocations, errors) by variant, drawn once, at the shares live when
        it is first read (the planner reads only periods after the step's weights went live)."""
        drawn = self.periods.get(index)
        if drawn is None:
            total = sum(self.weights.values()) or 1.0
            drawn = {}
            for name, weight in self.weights.items():
                expected = self.per_minute * PERIOD_SECONDS / 60 * weight / total
                calls = int(self.rng.poisson(expected)) if expected > 0 else 0
                errors = int(self.rng.binomial(calls, self.error_rates[name])) if calls else 0
                drawn[name] = (calls, errors)
            self.periods[index] = drawn
        return drawn

    def totals(self, start: datetime, end: datetime) -> dict[str, VariantTotals]:
        first = math.floor((start - START).total_seconds() / PERIOD_SECONDS)
        last = math.floor((end - START).total_seconds() / PERIOD_SECONDS)
        sums = {name: [0, 0] for name in self.weights}
        for index in range(first, last):
            for name, (calls, errors) in self._period(index).items():
                sums[name][0] += calls
                sums[name][1] += errors
        return {name: VariantTotals(c, e, 0) for name, (c, e) in sums.items()}


@dataclass(frozen=True)
class CanaryEnd:
    phase: Phase
    reason: str
    minutes: float
    """From the first weight write to the end (or to the simulation's limit)."""
    looks: int


def _observe(
    endpoint: SimulatedEndpoint, now: datetime, lookups: SplitLookups | None
) -> SplitObservation:
    data = None
    if lookups is not None and lookups.metrics is not None:
        window = lookups.metrics
        totals = endpoint.totals(window.start, window.end)
        in_window = endpoint.totals(window.window_start, window.end)
        data = AnalysisData(window, totals, {k: v.invocations for k, v in in_window.items()})
    return SplitObservation(
        now=now,
        target=EndpointReferenceTarget("ep", frozenset(endpoint.weights)),
        endpoint=endpoint.read(),
        metrics=data,
        alarms={} if lookups is not None and lookups.alarms else None,
    )


def run_canary(
    spec: TrafficSplitSpec,
    *,
    per_minute: float,
    baseline_error_rate: float,
    candidate_error_rate: float,
    rng: np.random.Generator,
    max_minutes: float = 24 * 60,
) -> CanaryEnd:
    """One canary from its first pass to Succeeded, Failed or the time limit."""
    endpoint = SimulatedEndpoint(
        per_minute, {BASELINE: baseline_error_rate, CANDIDATE: candidate_error_rate}, rng
    )
    status, now, looks = TrafficSplitStatus(), START, 0
    limit = START + timedelta(minutes=max_minutes)
    while now < limit:
        lookups: SplitLookups | None = None
        while True:
            decision = plan_traffic_split(spec, _observe(endpoint, now, lookups), status)
            if not isinstance(decision, SplitLookups):
                break
            lookups = decision
        if decision.findings.look is not None:
            looks += 1
        for action in weight_writes(decision):
            endpoint.write(action)
        status = remembered(decision)
        if status.phase in ENDED:
            break
        now += timedelta(seconds=decision.recheck_after or PERIOD_SECONDS)
        endpoint.settle()
    return CanaryEnd(status.phase, status.reason or "", (now - START).total_seconds() / 60, looks)


def wilson(successes: int, runs: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson interval of a rate measured as successes / runs."""
    if runs == 0:
        return 0.0, 1.0
    rate = successes / runs
    centre = (rate + z * z / (2 * runs)) / (1 + z * z / runs)
    half = z * math.sqrt(rate * (1 - rate) / runs + z * z / (4 * runs * runs)) / (1 + z * z / runs)
    return max(0.0, centre - half), min(1.0, centre + half)
