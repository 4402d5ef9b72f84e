"""A fixed split (spec.weights): Initializing -> Progressing -> Succeeded, and its weights
kept in force (Succeeded -> Progressing when someone moves them, until they are back)."""

from __future__ import annotations

from serving_operator.api.trafficsplit import Phase
from serving_operator.planning.outcome import Outcome
from serving_operator.planning.trafficsplit.actions import describe_weights
from serving_operator.planning.trafficsplit.findings import TrafficSplitPlan
from serving_operator.planning.trafficsplit.handback import hand_back
from serving_operator.planning.trafficsplit.pass_state import PassState


def plan_fixed(state: PassState) -> TrafficSplitPlan:
    target = state.fixed_weights()
    if state.status.phase not in (Phase.PROGRESSING, Phase.SUCCEEDED):
        state.move(Phase.PROGRESSING, "ApplyingWeights", describe_weights(target))
    if state.apply(target):
        message = f"weights in force: {describe_weights(target)}"
        hint = hand_back(state.observed.target, state.status)
        if hint is not None and hint.changes_traffic:
            message += f"; {hint.message}"
        state.move(Phase.SUCCEEDED, "SplitApplied", message)
        return state.plan(Outcome.ready("SplitApplied", message))
    if state.status.phase == Phase.SUCCEEDED:
        state.move(Phase.PROGRESSING, "ApplyingWeights", describe_weights(target))
    return state.plan(state.await_endpoint())
