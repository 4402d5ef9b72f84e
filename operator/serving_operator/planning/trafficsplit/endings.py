"""How a canary ends, and stays ended: promoted (Promoting -> Succeeded), rolled back
(RollingBack -> Failed) or aborted. Each holds its weights in force: weights moved out of
band are put back at the next pass."""

from __future__ import annotations

from serving_operator.api.trafficsplit import OnSuccess, Phase
from serving_operator.planning.outcome import Outcome, OutcomeKind
from serving_operator.planning.trafficsplit.actions import describe_weights
from serving_operator.planning.trafficsplit.findings import TrafficSplitPlan
from serving_operator.planning.trafficsplit.handback import hand_back
from serving_operator.planning.trafficsplit.pass_state import PassState
from serving_operator.planning.trafficsplit.steps import canary_steps, step_candidate_percents


def final_weights(state: PassState) -> dict[str, float]:
    """All traffic on the candidate, or (onSuccess: KeepSplit) the last step's split."""
    if state.spec.on_success == OnSuccess.KEEP_SPLIT:
        percents = step_candidate_percents(canary_steps(state.spec))
        return state.target_weights(percents[-1] if percents else 0)
    return state.target_weights(100)


def baseline_only(state: PassState) -> dict[str, float]:
    return state.target_weights(0)


def promote(state: PassState) -> TrafficSplitPlan:
    """Promoting until the endpoint runs the final weights (progress deadline), then
    Succeeded; Succeeded keeps them."""
    target = final_weights(state)
    if state.status.phase != Phase.SUCCEEDED:
        state.move(Phase.PROMOTING, "Promoting", f"moving to {describe_weights(target)}")
    if not state.apply(target):
        return state.plan(state.await_endpoint())
    message = f"canary succeeded: {describe_weights(target)}"
    hint = hand_back(state.observed.target, state.status)
    if hint is not None and hint.changes_traffic:
        message += f"; {hint.message}"
    if state.status.phase != Phase.SUCCEEDED:
        state.record("promoted")
    state.move(Phase.SUCCEEDED, "Succeeded", message)
    return state.plan(Outcome.ready("Succeeded", message))


def roll_back(state: PassState) -> TrafficSplitPlan:
    """RollingBack until the endpoint runs the baseline only (progress deadline), then
    Failed with the reason it rolled back for; Failed keeps the baseline only."""
    live = state.apply(baseline_only(state))
    phase = state.status.phase
    if not live:
        if phase != Phase.ROLLING_BACK:
            state.move(Phase.ROLLING_BACK, state.status.reason or "RollingBack", "rolling back")
        outcome = state.await_endpoint()
        return state.plan(
            outcome
            if outcome.kind == OutcomeKind.STALLED
            else Outcome.progressing("RollingBack", state.status.message or "rolling back")
        )
    if phase == Phase.ROLLING_BACK:
        state.record("rolled back")
        state.move(Phase.FAILED, state.status.reason or "RolledBack", state.status.message or "")
    return state.plan(
        Outcome.stalled(
            "RolledBack",
            f"canary rolled back ({state.status.reason}): {state.status.message};"
            " fix the candidate or request a retry",
        )
    )


def abort(state: PassState) -> TrafficSplitPlan:
    """Aborted: all traffic on the baseline, until a retry restarts the canary."""
    state.apply(baseline_only(state))
    return state.plan(
        Outcome.stalled("Aborted", "aborted: all traffic on the baseline; retry to restart")
    )
