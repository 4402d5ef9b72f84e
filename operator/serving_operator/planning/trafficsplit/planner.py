"""One pure pass of a TrafficSplit, from (spec, observation, previous status): what must hold
first, a new rollout, the manual requests, the alarms, then the phase's own work (phases).

The answer is a `Plan` of weight writes and `Remember`s of the status (findings), or the
`SplitLookups` the pass needs read first: the alarms of spec.autoRollback in an active
phase, and the analysis windows once a look is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from serving_operator.api.trafficsplit import Phase, TrafficSplitSpec, TrafficSplitStatus
from serving_operator.planning.trafficsplit.controls import (
    ACTIVE_PHASES,
    handle_requests,
    new_requests,
)
from serving_operator.planning.trafficsplit.findings import TrafficSplitPlan, Transition
from serving_operator.planning.trafficsplit.fixed import plan_fixed
from serving_operator.planning.trafficsplit.memory import fresh_status, readable
from serving_operator.planning.trafficsplit.observed import (
    AlarmState,
    Requests,
    SplitLookups,
    SplitObservation,
)
from serving_operator.planning.trafficsplit.pass_state import PassState
from serving_operator.planning.trafficsplit.phases import plan_canary
from serving_operator.planning.trafficsplit.preconditions import endpoint_wait, target_problem
from serving_operator.planning.trafficsplit.steps import rollout_hash

SHARED_ENDPOINT_READ_SECONDS = 900.0
"""At rest, how old a read of the endpoint made by another pass (its ModelEndpoint's, which
reads it at every resync) a split's pass may use instead of reading it itself: more than
the default resync of 10 minutes, so the ModelEndpoint's last read is always at hand."""


def endpoint_read_since(
    spec: TrafficSplitSpec, previous: TrafficSplitStatus, requests: Requests, now: datetime
) -> datetime | None:
    """How recent a read of the endpoint this pass needs: at rest (this spec's split in force
    or its canary succeeded, no new manual request) one another pass made since this moment
    will do; otherwise (None) it reads the endpoint now."""
    at_rest = previous.phase == Phase.SUCCEEDED and previous.rollout_hash == rollout_hash(spec)
    if not at_rest or new_requests(requests, previous.handled).any:
        return None
    return now - timedelta(seconds=SHARED_ENDPOINT_READ_SECONDS)


def plan_traffic_split(
    spec: TrafficSplitSpec, observed: SplitObservation, previous: TrafficSplitStatus
) -> TrafficSplitPlan | SplitLookups:
    """The next pass of a TrafficSplit, or the reads it still needs."""
    previous = readable(previous)
    state = PassState(spec, observed, previous)
    problem = target_problem(spec, observed)
    if problem is not None:
        return state.plan(problem)
    if previous.rollout_hash != rollout_hash(spec) or previous.phase is None:
        state.status = fresh_status(previous, spec)
        state.transitions.append(
            Transition(previous.phase, Phase.INITIALIZING, "Initializing", "rollout started")
        )
    handle_requests(state)
    waiting = endpoint_wait(spec, observed)
    if waiting is not None:
        return state.plan(waiting)
    if spec.weights is not None:
        return plan_fixed(state)

    alarms = spec.auto_rollback.alarms if spec.auto_rollback is not None else []
    if alarms and state.status.phase in ACTIVE_PHASES:
        if observed.alarms is None:
            return SplitLookups(alarms=tuple(alarms))
        firing = sorted(name for name in alarms if observed.alarms.get(name) == AlarmState.ALARM)
        if firing:
            state.move(Phase.ROLLING_BACK, "AlarmFired", f"alarm(s) in ALARM: {', '.join(firing)}")
    return plan_canary(state)
