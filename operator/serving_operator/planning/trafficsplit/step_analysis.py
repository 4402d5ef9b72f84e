"""Where a look's verdict moves the canary: the seam between the state machine and the
statistics.

A step that is analysed waits here (Progressing/Analysing) until a look is due: the first
once whole metric periods exist after the weights went live (windows.first_look_at), then
every analysis.interval. A due look asks for the windows (`SplitLookups`), has
analysis.look judge every check, and acts on the verdict:

    Fail          counts towards analysis.threshold: at it -> RollingBack, below it look
                  again in analysis.interval
    Pass          the step's analysis is done: its pause, then the next step
    Inconclusive  look again in analysis.interval; past spec.progressDeadlineSeconds since
                  the step went live -> Paused/InsufficientTraffic (Stalled: a person decides),
                  the candidate out of traffic meanwhile (analysis.onInsufficientTraffic:
                  Baseline, the default) or at the step's weight (Hold)
"""

from __future__ import annotations

from datetime import timedelta

from serving_operator.api.trafficsplit import OnInsufficientTraffic, Phase
from serving_operator.planning.outcome import Outcome
from serving_operator.planning.trafficsplit.analysis import Look, look
from serving_operator.planning.trafficsplit.endings import baseline_only, roll_back
from serving_operator.planning.trafficsplit.findings import TrafficSplitPlan
from serving_operator.planning.trafficsplit.observed import SplitLookups
from serving_operator.planning.trafficsplit.pass_state import PassState
from serving_operator.planning.trafficsplit.reasons import INSUFFICIENT_TRAFFIC
from serving_operator.planning.trafficsplit.statistics import Verdict
from serving_operator.planning.trafficsplit.steps import canary_steps, step_candidate_percents
from serving_operator.planning.trafficsplit.times import parse_time, timestamp
from serving_operator.planning.trafficsplit.windows import first_look_at, metrics_lookup


def takes_candidate_out(state: PassState) -> bool:
    """Whether a step stopped without a verdict takes the candidate out of traffic
    (analysis.onInsufficientTraffic: Baseline) rather than holding the step's weight."""
    analysis = state.spec.analysis
    return analysis is None or analysis.on_insufficient_traffic == OnInsufficientTraffic.BASELINE


def _traffic_clause(state: PassState, index: int) -> str:
    """What traffic the candidate has while the step waits, and what each request does."""
    count = len(canary_steps(state.spec))
    ahead = f"step {index + 2}'s weight and analysis" if index + 1 < count else "the promotion"
    if takes_candidate_out(state):
        held = "onInsufficientTraffic Baseline: the candidate is out of traffic"
    else:
        percent = step_candidate_percents(canary_steps(state.spec))[index]
        held = f"onInsufficientTraffic Hold: the candidate keeps {percent}%"
    return f"{held}; promote ({ahead}), retry (this step again) or abort"


def inconclusive_message(state: PassState, index: int, *, why: str | None) -> str:
    """Why a step's analysis stopped the split, and what the user can do; `why` is None when
    the cause is no longer known."""
    cause = f" ({why})" if why else ""
    return (
        f"step {index + 1}: analysis inconclusive for {state.spec.progress_deadline_seconds}s"
        f"{cause}; not promoted, not rolled back; {_traffic_clause(state, index)}"
    )


def stop_without_verdict(state: PassState, index: int, *, why: str) -> TrafficSplitPlan:
    """The step reached its deadline without a verdict: Paused/InsufficientTraffic, with the
    candidate's traffic as analysis.onInsufficientTraffic says."""
    message = inconclusive_message(state, index, why=why)
    state.move(Phase.PAUSED, INSUFFICIENT_TRAFFIC, message)
    if takes_candidate_out(state):
        state.record(f"step {index + 1}: no verdict by the deadline; candidate out of traffic")
    else:
        state.record(f"step {index + 1}: no verdict by the deadline; candidate held")
    return wait_without_verdict(state, index)


def wait_without_verdict(state: PassState, index: int) -> TrafficSplitPlan:
    """Paused/InsufficientTraffic until promote, retry or abort: the candidate out of traffic
    (Baseline) or at the step's weight (Hold), kept so at every pass."""
    percent = step_candidate_percents(canary_steps(state.spec))[index]
    state.apply(
        baseline_only(state) if takes_candidate_out(state) else state.target_weights(percent)
    )
    message = state.status.message or ""
    if _traffic_clause(state, index) not in message:
        # Lost (hand-edited, an older operator) or written under the other setting: say it
        # again as it now is.
        message = inconclusive_message(state, index, why=None)
    state.move(Phase.PAUSED, INSUFFICIENT_TRAFFIC, message)
    return state.plan(Outcome.stalled(INSUFFICIENT_TRAFFIC, message))


def analyse_step(state: PassState) -> TrafficSplitPlan | SplitLookups | None:
    """Wait for a look to be due, ask for its windows, judge it; None when the step's
    analysis has passed."""
    spec, analysis = state.spec, state.spec.analysis
    assert analysis is not None
    assert spec.baseline is not None
    assert spec.candidate is not None
    started = parse_time(state.status.step_started_at)
    assert started is not None
    index = state.status.step_index or 0
    last = parse_time(state.status.last_analysis_at)
    due = last is None or state.now >= last + timedelta(seconds=analysis.interval)
    lookup = metrics_lookup(analysis, spec.metric_period_seconds, started, state.now)
    if lookup is None or not due:
        state.move(Phase.PROGRESSING, "Analysing", f"step {index + 1}: waiting for metrics")
        if lookup is None:
            state.wake_at(first_look_at(analysis, spec.metric_period_seconds, started))
        else:
            assert last is not None
            state.wake_at(last + timedelta(seconds=analysis.interval))
        return state.plan(Outcome.progressing("Analysing", state.status.message or ""))
    data = state.observed.metrics
    if data is None or data.lookup != lookup:
        alarms = spec.auto_rollback.alarms if spec.auto_rollback is not None else []
        return SplitLookups(metrics=lookup, alarms=tuple(alarms))
    result = look(
        analysis,
        data,
        spec.baseline,
        spec.candidate,
        state.status.sequential,
        steps=len(canary_steps(spec)),
    )
    return act_on_look(state, result)


def act_on_look(state: PassState, result: Look) -> TrafficSplitPlan | None:
    """Keep the look in status and history, and move the canary as its verdict says."""
    analysis = state.spec.analysis
    assert analysis is not None
    index = state.status.step_index or 0
    state.look = result
    state.update(
        last_analysis_at=timestamp(state.now),
        sequential=list(result.sequential),
        verdict=result.verdict.value,
    )
    note = "analysis"
    if result.restarted:
        note += (
            f"; spec.analysis changed: sequential test of {', '.join(result.restarted)}"
            " restarted from p = 1 on the step's counts"
        )
    state.record(note, verdict=result.verdict.value, checks=list(result.checks))
    failed = [c.name for c in result.checks if c.verdict == Verdict.FAIL.value]
    if result.verdict == Verdict.FAIL:
        state.update(failed_checks=state.status.failed_checks + 1)
        if state.status.failed_checks >= analysis.threshold:
            state.move(
                Phase.ROLLING_BACK,
                "AnalysisFailed",
                f"step {index + 1}: check(s) failed: {', '.join(failed)}",
            )
            return roll_back(state)
    if result.verdict == Verdict.PASS:
        state.update(analysis_done=True)
        return None
    if result.verdict == Verdict.INCONCLUSIVE and state.deadline_passed(
        state.status.step_started_at
    ):
        why = "too little traffic" if result.insufficient_traffic else "no decision"
        return stop_without_verdict(state, index, why=why)
    state.move(Phase.PROGRESSING, "Analysing", f"step {index + 1}: verdict {result.verdict.value}")
    state.wake_in(analysis.interval)
    return state.plan(Outcome.progressing("Analysing", state.status.message or ""))
