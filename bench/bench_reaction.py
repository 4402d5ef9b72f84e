"""Reaction: how soon a weight edit reaches SageMaker on a busy cluster.

COUNT ModelEndpoints are created and left at rest (the set-up lifts every rate limit and
shortens SageMaker's lifecycles, then puts SageMaker's latency and rate limits back). Then
EDITS of them, one after another, get new variant weights: the time from the patch's
response to the UpdateEndpointWeightsAndCapacities call in the sandbox's call log (its
"time", when SageMaker answered). Goal: p50 < 0.5 s. Prints figures; asserts nothing.

The operator keeps the client-side limit it was started with for the set-up (its limits are
read once at start); at rest it makes so few calls that the limit never binds, and the
sandbox's count of throttled calls shows whether it did.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path
from typing import Any

import harness
from kubernetes import client

GOAL_P50_SECONDS = 0.5
UPDATE = "UpdateEndpointWeightsAndCapacities"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def edit_and_time(bench: harness.Stack, name: str, weights: tuple[float, float]) -> float | None:
    """Patch `name`'s weights; seconds until SageMaker answered its weight update (None: no
    such call within 30 s)."""
    custom = client.CustomObjectsApi(bench.api)
    current: dict[str, Any] = custom.get_namespaced_custom_object(
        harness.GROUP, harness.VERSION, harness.NAMESPACE, "modelendpoints", name
    )
    variants = current["spec"]["variants"]
    for variant, weight in zip(variants, weights, strict=True):
        variant["weight"] = weight
    bench.box.forget_calls()
    custom.patch_namespaced_custom_object(
        harness.GROUP,
        harness.VERSION,
        harness.NAMESPACE,
        "modelendpoints",
        name,
        {"spec": {"variants": variants}},
    )
    patched = time.time()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for call in bench.box.calls():
            if call["operation"] == UPDATE and call.get("target") == name:
                return float(call["time"]) - patched
        time.sleep(0.02)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="ModelEndpoints in the cluster")
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="100 resources, 20 edits")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.count, args.edits = 100, 20
    count, edits = args.count, min(args.edits, args.count)

    harness.banner(f"reaction: {edits} weight edits on a cluster of {count} ModelEndpoints")
    with harness.stack() as bench:
        bench.start_operator(
            calls_per_second=harness.SETUP_CALLS_PER_SECOND, burst=harness.SETUP_BURST
        )
        setup_seconds = harness.populate(bench, count)
        print(f"   set-up: {count:,} ModelEndpoints Ready in {setup_seconds:,.0f} s", flush=True)
        # SageMaker as in production: each call 30-120 ms, rate-limited per operation.
        bench.box.settings(updatingSeconds=5.0)
        bench.realistic_aws()
        step = count // edits
        reactions: list[float] = []
        missed = 0
        for edit in range(edits):
            name = f"me-{edit * step:05d}"
            reaction = edit_and_time(bench, name, (3.0, 1.0))
            if reaction is None:
                missed += 1
            else:
                reactions.append(reaction)
        throttled = bench.box.throttled()

    if not reactions:
        print("   no weight edit reached SageMaker within 30 s")
        return
    p50, p99 = percentile(reactions, 0.50), percentile(reactions, 0.99)
    print(
        f"   edit -> {UPDATE}: p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms,"
        f" mean {statistics.fmean(reactions) * 1000:,.0f} ms, max {max(reactions) * 1000:,.0f} ms"
        f" over {len(reactions)} edits ({missed} never reached SageMaker within 30 s);"
        f" throttled by AWS: {throttled}"
    )
    print("   " + harness.goal_line("p50", p50, GOAL_P50_SECONDS, " s", lower_is_better=True))
    harness.write_json(
        args.json,
        {
            "count": count,
            "edits": len(reactions),
            "missed": missed,
            "setupSeconds": setup_seconds,
            "p50Seconds": p50,
            "p99Seconds": p99,
            "goalP50Seconds": GOAL_P50_SECONDS,
            "throttled": throttled,
            "machine": harness.machine(),
        },
    )


if __name__ == "__main__":
    main()
