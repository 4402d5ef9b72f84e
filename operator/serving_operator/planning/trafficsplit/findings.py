"""What a TrafficSplit pass answers, in the shape every kind's planner answers in
(planning/outcome): its steps are weight writes and `Remember`s of the status (the kind's
memory), and its findings are what the status and Events report beyond the outcome."""

from __future__ import annotations

from dataclasses import dataclass

from serving_operator.api.trafficsplit import Phase, TrafficSplitStatus
from serving_operator.planning.outcome import Plan, Remember
from serving_operator.planning.trafficsplit.actions import SetWeights
from serving_operator.planning.trafficsplit.analysis import Look


@dataclass(frozen=True)
class Transition:
    """A change of phase (or of the reason of a pause), announced as an Event."""

    previous: Phase | None
    phase: Phase
    reason: str
    message: str


@dataclass(frozen=True)
class SplitFindings:
    transitions: tuple[Transition, ...] = ()
    look: Look | None = None
    """The analysis look this pass made, if any."""


SplitStep = SetWeights | Remember[TrafficSplitStatus]
TrafficSplitPlan = Plan[SplitStep, SplitFindings]


def weight_writes(plan: TrafficSplitPlan) -> tuple[SetWeights, ...]:
    """The plan's AWS writes, in order."""
    return tuple(step for step in plan.actions if isinstance(step, SetWeights))


def remembered(plan: TrafficSplitPlan) -> TrafficSplitStatus:
    """The status the plan leaves once every step has run (its last `Remember`: a
    TrafficSplit plan always ends with one)."""
    memories = [step.memory for step in plan.actions if isinstance(step, Remember)]
    assert memories, "a TrafficSplit plan always remembers its status"
    return memories[-1]
