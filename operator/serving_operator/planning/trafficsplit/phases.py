"""The canary state machine: one function per phase, and the table that picks it.

    Initializing -> Progressing(step n) <-> Paused(reason) -> Promoting -> Succeeded
                         |                      |
                         +-> RollingBack -> Failed          (analysis failed, alarm fired)
                         +-> Aborted                        (abort requested)
    Failed, Aborted -> Initializing                         (retry requested)

Every wait has a deadline or a person to end it (as in Flagger and Argo Rollouts):

    phase (reason)                  waits for                       ends
    Progressing (ApplyingWeights)   the endpoint to apply a step    at progressDeadlineSeconds:
                                                                      Paused (EndpointNotReady)
    Progressing (Analysing)         a look due, then a verdict      at progressDeadlineSeconds:
                                                                      Paused (InsufficientTraffic)
    Progressing (Pausing)           the step's pause.duration       at its end
    Paused (ManualGate, AwaitingPromotion, InsufficientTraffic)     with a promote, abort, retry
    Paused (PausedBySpec)           spec.paused: false              with the user's edit
    Promoting, RollingBack          the endpoint to apply           at progressDeadlineSeconds:
                                                                      Stalled
    (a Paused phase at a deadline is Stalled too: the outcome a person must act on)

The deadlines count through AWS outages: a pass AWS failed is judged by outage from the
status alone (Paused/InsufficientTraffic for a verdict, Paused/AwsUnavailable for weights;
never a step forward).

The table below is the whole dispatch; the step loop behind Progressing and Paused is in
progress, the verdicts in step_analysis, the ends in endings. A fixed split (spec.weights)
is not a canary: see fixed. Alarms and manual requests act before the table (planner).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from serving_operator.api.trafficsplit import Phase
from serving_operator.planning.trafficsplit.endings import abort, promote, roll_back
from serving_operator.planning.trafficsplit.findings import TrafficSplitPlan
from serving_operator.planning.trafficsplit.observed import SplitLookups
from serving_operator.planning.trafficsplit.pass_state import PassState
from serving_operator.planning.trafficsplit.progress import progress

PhasePlanner = Callable[[PassState], TrafficSplitPlan | SplitLookups]


def initializing(state: PassState) -> TrafficSplitPlan | SplitLookups:
    """A new rollout (or a retry) starts at its first step."""
    state.move(Phase.PROGRESSING, "StepStarted", "step 1")
    return progress(state)


def progressing(state: PassState) -> TrafficSplitPlan | SplitLookups:
    """The current step's weights, analysis and pause, then the next step."""
    return progress(state)


def paused(state: PassState) -> TrafficSplitPlan | SplitLookups:
    """Every pause belongs to a step: the step loop resumes it where it waits."""
    return progress(state)


def promoting(state: PassState) -> TrafficSplitPlan:
    return promote(state)


def succeeded(state: PassState) -> TrafficSplitPlan:
    """Terminal: the final weights kept in force."""
    return promote(state)


def rolling_back(state: PassState) -> TrafficSplitPlan:
    return roll_back(state)


def failed(state: PassState) -> TrafficSplitPlan:
    """Terminal until a retry: the baseline only kept in force."""
    return roll_back(state)


def aborted(state: PassState) -> TrafficSplitPlan:
    """Terminal until a retry: the baseline only kept in force."""
    return abort(state)


PHASES: Mapping[Phase, PhasePlanner] = {
    Phase.INITIALIZING: initializing,
    Phase.PROGRESSING: progressing,
    Phase.PAUSED: paused,
    Phase.PROMOTING: promoting,
    Phase.SUCCEEDED: succeeded,
    Phase.ROLLING_BACK: rolling_back,
    Phase.FAILED: failed,
    Phase.ABORTED: aborted,
}


def plan_canary(state: PassState) -> TrafficSplitPlan | SplitLookups:
    phase = state.status.phase
    assert phase is not None  # a status without a phase starts a new rollout (planner)
    return PHASES[phase](state)
