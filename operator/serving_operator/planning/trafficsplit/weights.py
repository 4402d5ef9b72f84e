"""Weights as shares of traffic: what the split asks each variant to take, and when two sets
of weights mean the same split."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from serving_operator.api.trafficsplit import TrafficSplitSpec

SHARE_TOLERANCE = 1e-6


def shares(weights: Mapping[str, float | None]) -> dict[str, float]:
    values = {name: float(w or 0.0) for name, w in weights.items()}
    total = sum(values.values())
    return {name: (w / total if total else 0.0) for name, w in values.items()}


def same_shares(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> bool:
    left, right = shares(a), shares(b)
    return all(
        abs(left.get(name, 0.0) - right.get(name, 0.0)) <= SHARE_TOLERANCE
        for name in set(left) | set(right)
    )


def canary_weights(
    spec: TrafficSplitSpec, variants: Iterable[str], candidate_percent: float
) -> dict[str, float]:
    """Every production variant: the candidate its percent, the baseline the rest, others 0."""
    assert spec.baseline is not None
    assert spec.candidate is not None
    weights = dict.fromkeys(variants, 0.0)
    weights[spec.candidate] = float(candidate_percent)
    weights[spec.baseline] = float(100 - candidate_percent)
    return weights


def fixed_weights(spec: TrafficSplitSpec, variants: Iterable[str]) -> dict[str, float]:
    """Every production variant: the spec's weight, 0 for those it does not name."""
    assert spec.weights is not None
    weights = dict.fromkeys(variants, 0.0)
    weights.update({w.variant: w.weight for w in spec.weights})
    return weights
