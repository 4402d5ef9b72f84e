"""Does a TrafficSplit canary keep alpha's promises as a whole? Seeded canaries through the
real planner (tests/support/canary_world.py); prints figures with 95% intervals, asserts
nothing.

1. Identical variants: how often is the canary rolled back? (alpha bounds it, whole canary)
2. A candidate worse by exactly the harmful amount: how often is it promoted? (alpha too)
3. A candidate with 10x the baseline's errors (0.5% -> 5%): how long until it is rolled back,
   at 100, 1,000 and 10,000 invocations a minute?
4. A 0.1% baseline with a candidate twice as bad, at 1,000 invocations a minute: promoted
   under the absolute default; under relativeHarm {ratio: 2} how often promoted (alpha bounds
   it) and how long until it is rolled back; and what the relative harm costs identical
   variants (time to promote).
All with the API's defaults (alpha 0.05, minSampleSize 1,000, harmfulIncrease 0.01, a look a
minute) on 5xx errors; steps at 10/20/.../50% and so on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.canary_world import canary_spec, run_canary, wilson  # noqa: E402

from serving_operator.api.trafficsplit import Phase  # noqa: E402

ALPHA = 0.05
HARMFUL_INCREASE = 0.01
STEPS = {3: (10, 30, 50), 5: (10, 20, 30, 40, 50), 9: tuple(range(10, 100, 10))}
ERROR_RATES = (0.001, 0.01, 0.05)
SEED = 20261207


def _rate(label: str, hits: int, runs: int, goal: float) -> str:
    low, high = wilson(hits, runs)
    verdict = "within" if low <= goal else "ABOVE"
    return (
        f"  {label:<34} {hits / runs:7.4f}  95% [{low:.4f}, {high:.4f}]"
        f"  (goal <= {goal}: {verdict})"
    )


def whole_canary_rates(runs: int, per_minute: float) -> None:
    print(f"\nIdentical variants, {per_minute:,.0f} invocations a minute: rolled back")
    for count, steps in STEPS.items():
        spec = canary_spec(steps)
        for rate in ERROR_RATES:
            rng = np.random.default_rng([SEED, count, int(rate * 1e4)])
            ends = [
                run_canary(
                    spec,
                    per_minute=per_minute,
                    baseline_error_rate=rate,
                    candidate_error_rate=rate,
                    rng=rng,
                )
                for _ in range(runs)
            ]
            failed = sum(e.phase == Phase.FAILED for e in ends)
            print(_rate(f"{count} steps, {rate:.1%} errors", failed, runs, ALPHA))
    print(f"\nCandidate worse by harmfulIncrease ({HARMFUL_INCREASE:.0%}): promoted")
    for count, steps in STEPS.items():
        spec = canary_spec(steps)
        for rate in ERROR_RATES:
            rng = np.random.default_rng([SEED, count, int(rate * 1e4), 1])
            ends = [
                run_canary(
                    spec,
                    per_minute=per_minute,
                    baseline_error_rate=rate,
                    candidate_error_rate=rate + HARMFUL_INCREASE,
                    rng=rng,
                )
                for _ in range(runs)
            ]
            promoted = sum(e.phase == Phase.SUCCEEDED for e in ends)
            print(
                _rate(
                    f"{count} steps, {rate:.1%} -> {rate + HARMFUL_INCREASE:.1%}",
                    promoted,
                    runs,
                    ALPHA,
                )
            )


def _minutes(values: Sequence[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(ordered):6.1f} min, p90 {p90:6.1f} min"


def time_to_roll_back(runs: int) -> None:
    print("\nA 10x worse candidate (0.5% -> 5% errors), 5 steps from 10%: time to roll back")
    spec = canary_spec(STEPS[5])
    for per_minute in (100, 1_000, 10_000):
        rng = np.random.default_rng([SEED, per_minute])
        ends = [
            run_canary(
                spec,
                per_minute=per_minute,
                baseline_error_rate=0.005,
                candidate_error_rate=0.05,
                rng=rng,
            )
            for _ in range(runs)
        ]
        failed = [e for e in ends if e.phase == Phase.FAILED]
        early = sum(1 for e in failed if e.reason == "AnalysisFailed")
        print(
            f"  {per_minute:>6,} a minute: rolled back {len(failed)}/{runs}"
            f" ({early} by analysis), {_minutes([e.minutes for e in failed])};"
            f" promoted {sum(e.phase == Phase.SUCCEEDED for e in ends)}"
        )


def relative_harm(runs: int) -> None:
    per_minute, baseline, doubled = 1_000, 0.001, 0.002
    print(
        f"\nA 0.1% baseline, a candidate with twice its errors, {per_minute:,} invocations a"
        " minute, 5 steps from 10%"
    )
    relative = [{"name": "errors", "type": "ErrorRate", "relativeHarm": {"ratio": 2}}]
    forms = (
        ("absolute default", canary_spec(STEPS[5])),
        ("relativeHarm ratio 2", canary_spec(STEPS[5], metrics=relative)),
    )
    for label, spec in forms:
        for candidate in (doubled, baseline):
            rng = np.random.default_rng([SEED, per_minute, int(candidate * 1e4)])
            ends = [
                run_canary(
                    spec,
                    per_minute=per_minute,
                    baseline_error_rate=baseline,
                    candidate_error_rate=candidate,
                    rng=rng,
                    max_minutes=3 * 24 * 60,
                )
                for _ in range(runs)
            ]
            failed = [e for e in ends if e.phase == Phase.FAILED]
            promoted = [e for e in ends if e.phase == Phase.SUCCEEDED]
            name = f"{label}, {baseline:.1%} -> {candidate:.1%}"
            if candidate == doubled and spec is forms[1][1]:
                print(_rate(f"{name}: promoted", len(promoted), runs, ALPHA))
            elif candidate == doubled:
                low, high = wilson(len(promoted), runs)
                print(
                    f"  {name + ': promoted':<34} {len(promoted) / runs:7.4f}"
                    f"  95% [{low:.4f}, {high:.4f}]  (no promise: 0.1 points < harmfulIncrease)"
                )
            print(
                f"    rolled back {len(failed)}/{runs}, {_minutes([e.minutes for e in failed])};"
                f" promoted {len(promoted)}/{runs}, {_minutes([e.minutes for e in promoted])}"
                + ("" if candidate == doubled else f"  ({name})")
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="canaries per scenario")
    parser.add_argument("--quick", action="store_true", help="200 canaries per scenario")
    parser.add_argument("--per-minute", type=float, default=10_000)
    args = parser.parse_args()
    runs = 200 if args.quick else args.runs
    started = time.perf_counter()
    print(f"Seeded canaries through the real planner: {runs} per scenario, alpha {ALPHA}")
    whole_canary_rates(runs, args.per_minute)
    time_to_roll_back(max(50, runs // 10))
    relative_harm(max(50, runs // 10))
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
