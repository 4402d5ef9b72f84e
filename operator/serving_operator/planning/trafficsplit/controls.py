"""The manual controls (promote, abort, retry annotations): each new value acts once, and
the value is remembered in status.handled. Like Argo Rollouts' and Flagger's, they are
idempotent: the same value again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from serving_operator.api.trafficsplit import HandledRequests, Phase
from serving_operator.planning.trafficsplit.findings import Transition
from serving_operator.planning.trafficsplit.memory import fresh_status
from serving_operator.planning.trafficsplit.observed import Requests
from serving_operator.planning.trafficsplit.pass_state import PassState
from serving_operator.planning.trafficsplit.reasons import INSUFFICIENT_TRAFFIC

ACTIVE_PHASES = frozenset({Phase.INITIALIZING, Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING})
"""The phases a promote or an abort acts in (and alarms are read in)."""


@dataclass(frozen=True)
class NewRequests:
    promote: bool
    abort: bool
    retry: bool

    @property
    def any(self) -> bool:
        return self.promote or self.abort or self.retry


def new_requests(requests: Requests, handled: HandledRequests) -> NewRequests:
    """Which annotations carry a value not handled yet."""
    return NewRequests(
        promote=requests.promote is not None and requests.promote != handled.promote,
        abort=requests.abort is not None and requests.abort != handled.abort,
        retry=requests.retry is not None and requests.retry != handled.retry,
    )


def retry_step(state: PassState) -> None:
    """Run a step stopped without a verdict again: its weights, then a new sequential test
    with a new deadline (a new test at the step's share of alpha: docs/trafficsplit-statistics.md
    says what a retried step costs the whole canary's bound)."""
    index = state.status.step_index or 0
    state.update(
        step_started_at=None,
        waiting_since=None,
        analysis_done=None,
        pause_started_at=None,
        last_analysis_at=None,
        sequential=[],
    )
    state.move(Phase.PROGRESSING, "StepRetried", f"step {index + 1} again: retry requested")
    state.record(f"step {index + 1}: retried")


def handle_requests(state: PassState) -> None:
    """Retry restarts a Failed or Aborted canary, or runs again a step stopped without a
    verdict (Paused/InsufficientTraffic); abort ends an active one (Aborted); promote
    skips the rest of an active one's waits (`state.promote_now`). A fixed split has nothing
    to promote, abort or retry: its values are only remembered."""
    requests, handled = state.observed.requests, state.status.handled
    new = new_requests(requests, handled)
    state.update(
        handled=HandledRequests(
            promote=requests.promote if new.promote else handled.promote,
            abort=requests.abort if new.abort else handled.abort,
            retry=requests.retry if new.retry else handled.retry,
        )
    )
    if state.spec.weights is not None:
        return
    if new.retry and state.status.phase in (Phase.FAILED, Phase.ABORTED):
        ended = state.status.phase
        state.status = fresh_status(state.status, state.spec)
        state.transitions.append(
            Transition(ended, Phase.INITIALIZING, "RetryRequested", "retry requested")
        )
    elif (
        new.retry
        and state.status.phase == Phase.PAUSED
        and state.status.reason == INSUFFICIENT_TRAFFIC
    ):
        retry_step(state)
    if new.abort and state.status.phase in ACTIVE_PHASES:
        state.move(Phase.ABORTED, "AbortRequested", "abort requested: all traffic to baseline")
    if new.promote and state.status.phase in ACTIVE_PHASES:
        state.promote_now = True
