"""What the spec says about a rollout: its steps written out, the candidate's percent in
each, which steps are analysed, and the hash that tells one rollout from the next."""

from __future__ import annotations

from serving_operator.api.trafficsplit import CanaryStep, TrafficSplitSpec
from serving_operator.planning.naming import content_hash


def canary_steps(spec: TrafficSplitSpec) -> tuple[CanaryStep, ...]:
    """The steps, with the stepWeight + maxWeight shorthand written out."""
    if spec.steps is not None:
        return tuple(spec.steps)
    if spec.step_weight is not None and spec.max_weight is not None:
        weights = list(range(spec.step_weight, spec.max_weight, spec.step_weight))
        weights.append(spec.max_weight)
        return tuple(CanaryStep(set_weight=w) for w in weights)
    return ()


def step_candidate_percents(steps: tuple[CanaryStep, ...]) -> tuple[int, ...]:
    """The candidate's percent in each step: a step without setWeight keeps the last one."""
    percents: list[int] = []
    current = 0
    for step in steps:
        if step.set_weight is not None:
            current = step.set_weight
        percents.append(current)
    return tuple(percents)


def analysis_wanted(spec: TrafficSplitSpec, step: CanaryStep) -> bool:
    """Whether the step is analysed: by default every step that sets a weight."""
    if spec.analysis is None or spec.skip_analysis:
        return False
    return step.analysis if step.analysis is not None else step.set_weight is not None


def named_variants(spec: TrafficSplitSpec) -> frozenset[str]:
    """The variants the split names: a fixed split's, or the baseline and the candidate."""
    if spec.weights is not None:
        return frozenset(w.variant for w in spec.weights)
    return frozenset(v for v in (spec.baseline, spec.candidate) if v is not None)


def rollout_hash(spec: TrafficSplitSpec) -> str:
    """What identifies one rollout: changing it restarts the canary; pausing does not."""
    return content_hash(
        spec.model_dump(
            mode="json",
            include={
                "endpoint_ref",
                "baseline",
                "candidate",
                "weights",
                "steps",
                "step_weight",
                "max_weight",
                "on_success",
            },
        )
    )
