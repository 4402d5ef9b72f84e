"""A pass that AWS failed: progressDeadlineSeconds judged from the remembered status alone.

A pass that cannot read the endpoint, the alarms or the metrics (or whose weight write is
refused) decides nothing from AWS: run_pass keeps what was remembered before the failure and
answers with the failure. Without more, a canary waiting on AWS would wait past its deadline
for as long as AWS fails (CloudWatch down: a step with no verdict stays Progressing for ever,
its candidate at the step's weight). So the shell asks this planner, with nothing but the
status, the spec, the clock and the failure, whether a wait's deadline has run out:

    the wait                                   deadline from       at the deadline
    an analysed step's verdict                 stepStartedAt       Paused/InsufficientTraffic
                                                                     (as without a verdict:
                                                                     onInsufficientTraffic
                                                                     applies once AWS answers)
    anything else in Initializing/Progressing  waitingSince (set   Paused/AwsUnavailable: goes
      (weights to apply, a step to start)        at the first        on by itself once AWS
                                                 failing pass)       answers
    Promoting, RollingBack, a fixed split      waitingSince        Stalled/AwsUnavailable,
                                                                     phase kept

It never writes (it has no endpoint to write to) and never moves towards a promotion: the
weights the status asks for stay as they were, and a pause only stops the canary where it is.
Paused and ended phases have no deadline to judge.
"""

from __future__ import annotations

from datetime import datetime

from serving_operator.api.trafficsplit import Phase, TrafficSplitSpec, TrafficSplitStatus
from serving_operator.planning.failures import AWS_UNAVAILABLE, AwsFailure, outcome_for_failure
from serving_operator.planning.outcome import Outcome
from serving_operator.planning.trafficsplit.findings import TrafficSplitPlan
from serving_operator.planning.trafficsplit.memory import readable
from serving_operator.planning.trafficsplit.observed import SplitObservation
from serving_operator.planning.trafficsplit.pass_state import PassState
from serving_operator.planning.trafficsplit.step_analysis import inconclusive_message
from serving_operator.planning.trafficsplit.steps import analysis_wanted, canary_steps, rollout_hash
from serving_operator.planning.trafficsplit.times import timestamp

_WAITING_ON_AWS = frozenset({Phase.INITIALIZING, Phase.PROGRESSING})
_ENDING = frozenset({Phase.PROMOTING, Phase.ROLLING_BACK})


def plan_after_failure(
    spec: TrafficSplitSpec, remembered: TrafficSplitStatus, now: datetime, failure: AwsFailure
) -> TrafficSplitPlan | None:
    """The status to keep after a pass AWS failed, when a wait's deadline is involved (None:
    nothing to judge, the failure's own outcome stands). `remembered` is what the failed pass
    left (run_pass's memory)."""
    status = readable(remembered)
    if status.phase is None or status.rollout_hash != rollout_hash(spec):
        return None  # the rollout has not started: nothing waits on AWS yet
    state = PassState(
        spec, SplitObservation(now=now, target=None, endpoint=None), status, endpoint_read=False
    )
    cause = outcome_for_failure(failure).message
    steps = canary_steps(spec)
    index = status.step_index or 0
    if (
        spec.weights is None
        and status.phase == Phase.PROGRESSING
        and index < len(steps)
        and status.step_started_at is not None
        and not status.analysis_done
        and analysis_wanted(spec, steps[index])
    ):
        if not state.deadline_passed(status.step_started_at, wake=False):
            return None
        message = inconclusive_message(state, index, why=f"AWS unavailable: {failure}")
        state.move(Phase.PAUSED, "InsufficientTraffic", message)
        state.record(f"step {index + 1}: no verdict by the deadline (AWS unavailable)")
        return state.plan(Outcome.stalled("InsufficientTraffic", message))
    waits = status.phase in _WAITING_ON_AWS or status.phase in _ENDING
    if spec.weights is not None:
        waits = status.phase == Phase.PROGRESSING
    if not waits:
        return None
    if status.waiting_since is None:
        state.update(waiting_since=timestamp(now))
    if not state.deadline_passed(state.status.waiting_since, wake=False):
        # The wait's start is kept, so that the deadline counts from the outage's start.
        return state.plan(outcome_for_failure(failure))
    message = (
        f"AWS failed for {spec.progress_deadline_seconds}s (progressDeadlineSeconds) while"
        f" the split waited on it: {cause}"
    )
    if spec.weights is None and status.phase in _WAITING_ON_AWS:
        state.move(Phase.PAUSED, AWS_UNAVAILABLE, f"{message}; goes on once AWS answers")
        return state.plan(Outcome.stalled(AWS_UNAVAILABLE, state.status.message or message))
    return state.plan(Outcome.stalled(AWS_UNAVAILABLE, message))
