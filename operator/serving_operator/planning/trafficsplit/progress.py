"""Progressing and Paused: the canary's steps, one after the other. Each step's waits, in
order (a step whose waits are all over hands over to the next within the same pass):

    spec.paused                      Paused/PausedBySpec      until the spec says otherwise
    (a step that stopped for         Paused/InsufficientTraffic until promote, abort or retry,
     lack of a decision)             the candidate out of traffic (onInsufficientTraffic:
                                     Baseline) or at the step's weight (Hold)
    the step's weights live          Paused/EndpointNotReady  progressDeadlineSeconds
    the analysis (step_analysis)     Progressing/Analysing    progressDeadlineSeconds
    the pause: a duration            Progressing/Pausing      pause.duration
               or a manual gate      Paused/ManualGate        until promote
    after the last step              Paused/AwaitingPromotion until promote (promotion: Manual)

A promote request skips what is left of the current step's waits (not spec.paused),
its weights too if they are not live; a retry of a step stopped without a verdict runs it
again (controls).
"""

from __future__ import annotations

from datetime import timedelta

from serving_operator.api.trafficsplit import CanaryStep, Phase, Promotion
from serving_operator.planning.outcome import Outcome
from serving_operator.planning.trafficsplit.endings import promote
from serving_operator.planning.trafficsplit.findings import TrafficSplitPlan
from serving_operator.planning.trafficsplit.observed import SplitLookups
from serving_operator.planning.trafficsplit.pass_state import PassState
from serving_operator.planning.trafficsplit.reasons import (
    AWAITING_PROMOTION,
    ENDPOINT_NOT_READY,
    INSUFFICIENT_TRAFFIC,
    MANUAL_GATE,
    PAUSED_BY_SPEC,
)
from serving_operator.planning.trafficsplit.step_analysis import (
    analyse_step,
    wait_without_verdict,
)
from serving_operator.planning.trafficsplit.steps import (
    analysis_wanted,
    canary_steps,
    step_candidate_percents,
)
from serving_operator.planning.trafficsplit.times import parse_time, timestamp


def progress(state: PassState) -> TrafficSplitPlan | SplitLookups:
    """Walk the steps from status.stepIndex until one has to wait, or all have passed."""
    steps = canary_steps(state.spec)
    percents = step_candidate_percents(steps)
    while True:
        index = state.status.step_index or 0
        if index >= len(steps):
            return _all_steps_passed(state, percents)
        waiting = _step(state, steps[index], index, percents[index])
        if waiting is not None:
            return waiting
        _next_step(state, index, len(steps))


def _step(
    state: PassState, step: CanaryStep, index: int, percent: int
) -> TrafficSplitPlan | SplitLookups | None:
    """The step's waits, in order; None once they are all over."""
    if state.spec.paused:
        state.move(Phase.PAUSED, PAUSED_BY_SPEC, "spec.paused is true")
        return state.plan(Outcome.progressing(PAUSED_BY_SPEC, "spec.paused is true"))
    if state.promote_now:
        # The rest of the step is skipped, its weights too when they are not live yet (a
        # promote while they are applied, or while a step without a verdict keeps the
        # candidate out of traffic): the next step's weights follow, or the promotion.
        state.record(f"step {index + 1}: promoted by request")
        return None
    if state.status.phase == Phase.PAUSED and state.status.reason == INSUFFICIENT_TRAFFIC:
        return wait_without_verdict(state, index)
    live = state.apply(state.target_weights(percent))
    if not live:
        outcome = state.await_endpoint()
        if outcome.reason == ENDPOINT_NOT_READY:
            state.move(Phase.PAUSED, ENDPOINT_NOT_READY, outcome.message)
        else:
            state.move(Phase.PROGRESSING, "ApplyingWeights", f"step {index + 1}")
        return state.plan(outcome)
    if state.status.step_started_at is None:
        state.update(step_started_at=timestamp(state.now))
        state.record(f"step {index + 1}: candidate at {percent}%")
    if analysis_wanted(state.spec, step) and not state.status.analysis_done:
        verdict = analyse_step(state)
        if verdict is not None:
            return verdict
    if step.pause is not None:
        return _pause(state, step, index)
    return None


def _pause(state: PassState, step: CanaryStep, index: int) -> TrafficSplitPlan | None:
    """A manual gate waits for a promote; a duration until it has passed."""
    assert step.pause is not None
    if step.pause.duration is None:
        message = f"step {index + 1} is a manual gate: promote to go on"
        state.move(Phase.PAUSED, MANUAL_GATE, message)
        return state.plan(Outcome.progressing(MANUAL_GATE, message))
    started = parse_time(state.status.pause_started_at)
    if started is None:
        started = state.now
        state.update(pause_started_at=timestamp(started))
    ends = started + timedelta(seconds=step.pause.duration)
    if state.now < ends:
        state.move(
            Phase.PROGRESSING, "Pausing", f"step {index + 1}: pausing until {timestamp(ends)}"
        )
        state.wake_at(ends)
        return state.plan(Outcome.progressing("Pausing", state.status.message or ""))
    return None


def _next_step(state: PassState, index: int, count: int) -> None:
    state.promote_now = False
    state.update(
        step_index=index + 1,
        step_started_at=None,
        waiting_since=None,
        analysis_done=None,
        pause_started_at=None,
        last_analysis_at=None,
        sequential=[],
    )
    if index + 1 < count:
        state.move(Phase.PROGRESSING, "StepStarted", f"step {index + 2}")


def _all_steps_passed(state: PassState, percents: tuple[int, ...]) -> TrafficSplitPlan:
    """Promote, or (promotion: Manual) hold the last step's weights until asked to."""
    if state.spec.promotion == Promotion.MANUAL and not state.promote_now:
        state.apply(state.target_weights(percents[-1]))
        state.move(Phase.PAUSED, AWAITING_PROMOTION, "all steps passed: promote to finish")
        return state.plan(Outcome.progressing(AWAITING_PROMOTION, "waiting for promote"))
    state.promote_now = False
    return promote(state)
