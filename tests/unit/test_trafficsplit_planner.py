"""The TrafficSplit state machine, pass by pass, against a small simulated endpoint.

The world here is the planner's inputs only: an endpoint whose weights change when a
SetWeights is applied (after `updating_passes` passes in Updating), a clock, and per-variant
invocation counts that grow with time at the variant's share of traffic.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonpatch
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from serving_operator.api.trafficsplit import (
    MIN_ALPHA,
    CheckResult,
    HandledRequests,
    Phase,
    TrafficSplitSpec,
    TrafficSplitStatus,
)
from serving_operator.cli.trafficsplit import canary_start, check_line, plot_history, plot_series
from serving_operator.planning.outcome import OutcomeKind, Plan, Remember
from serving_operator.planning.trafficsplit import statistics as stats
from serving_operator.planning.trafficsplit.actions import SetWeights
from serving_operator.planning.trafficsplit.findings import (
    TrafficSplitPlan,
    remembered,
    weight_writes,
)
from serving_operator.planning.trafficsplit.handback import deletion_outcome
from serving_operator.planning.trafficsplit.history import HISTORY_LIMIT
from serving_operator.planning.trafficsplit.observed import (
    AlarmState,
    AnalysisData,
    EndpointReferenceTarget,
    EndpointWeights,
    Requests,
    SplitLookups,
    SplitObservation,
    VariantTotals,
    VariantWeights,
)
from serving_operator.planning.trafficsplit.phases import PHASES
from serving_operator.planning.trafficsplit.planner import (
    SHARED_ENDPOINT_READ_SECONDS,
    endpoint_read_since,
    plan_traffic_split,
)
from serving_operator.planning.trafficsplit.steps import (
    canary_steps,
    rollout_hash,
    step_candidate_percents,
)
from serving_operator.planning.trafficsplit.weights import same_shares
from serving_operator.planning.trafficsplit.windows import metrics_lookup

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE, CAND = "blue", "green"

# Allowed phase changes of the state machine (a phase may always stay).
EDGES = {
    None: {Phase.INITIALIZING},
    Phase.INITIALIZING: {Phase.PROGRESSING, Phase.ABORTED, Phase.ROLLING_BACK},
    Phase.PROGRESSING: {
        Phase.PAUSED,
        Phase.PROMOTING,
        Phase.SUCCEEDED,
        Phase.ROLLING_BACK,
        Phase.FAILED,
        Phase.ABORTED,
    },
    Phase.PAUSED: {
        Phase.PROGRESSING,
        Phase.PROMOTING,
        Phase.SUCCEEDED,
        Phase.ROLLING_BACK,
        Phase.FAILED,
        Phase.ABORTED,
    },
    Phase.PROMOTING: {Phase.SUCCEEDED, Phase.ROLLING_BACK, Phase.FAILED, Phase.ABORTED},
    Phase.SUCCEEDED: {Phase.PROGRESSING},  # a fixed split correcting drift
    Phase.ROLLING_BACK: {Phase.FAILED},
    Phase.FAILED: {Phase.INITIALIZING},
    Phase.ABORTED: {Phase.INITIALIZING},
}


def canary_spec(**overrides: Any) -> TrafficSplitSpec:
    spec: dict[str, Any] = {
        "endpointRef": {"name": "ep"},
        "baseline": BASE,
        "candidate": CAND,
        "steps": [{"setWeight": 10}, {"setWeight": 30}, {"setWeight": 50}],
        "analysis": {
            "interval": 10,
            "minSampleSize": 200,
            "metrics": [{"name": "errors", "type": "ErrorRate"}],
        },
        "progressDeadlineSeconds": 300,
        "metricPeriodSeconds": 1,
    }
    spec.update(overrides)
    return TrafficSplitSpec.model_validate(spec)


@dataclass
class World:
    """An endpoint, a clock and traffic: what the reconciler would read."""

    weights: dict[str, float] = field(default_factory=lambda: {BASE: 1.0, CAND: 1.0})
    pending: dict[str, float] | None = None
    updating_passes: int = 1
    stuck: bool = False
    now: datetime = T0
    rps: float = 100.0
    error_rate: dict[str, float] = field(default_factory=lambda: {BASE: 0.0, CAND: 0.0})
    changed_at: datetime = T0
    """When the live weights last changed: traffic before it counts at the old shares."""
    alarms: dict[str, AlarmState] = field(default_factory=dict)
    requests: Requests = field(default_factory=Requests)
    calls: list[SetWeights] = field(default_factory=list)
    countdown: int = 0
    spec_weights: tuple[tuple[str, float], ...] = ((BASE, 1.0), (CAND, 1.0))
    """The ModelEndpoint's spec: what the endpoint serves once no split writes its weights."""

    def endpoint(self) -> EndpointWeights:
        status = "Updating" if self.pending is not None else "InService"
        return EndpointWeights(
            "ep",
            status,
            tuple(
                VariantWeights(
                    name,
                    weight,
                    (self.pending or self.weights)[name],
                )
                for name, weight in self.weights.items()
            ),
        )

    def apply(self, action: SetWeights) -> None:
        self.calls.append(action)
        self.pending = action.as_dict
        self.countdown = self.updating_passes

    def settle(self) -> None:
        if self.pending is not None and not self.stuck:
            if self.countdown <= 0:
                self.weights, self.pending = self.pending, None
                self.changed_at = self.now
            self.countdown -= 1

    def totals(self, start: datetime, end: datetime) -> dict[str, VariantTotals]:
        """Invocations in [start, end) at the live shares; the test's windows start after the
        last change, so the shares are constant over them (asserted)."""
        assert start >= self.changed_at, "a scored window straddles a weight change"
        seconds = (end - start).total_seconds()
        total = sum(self.weights.values())
        result = {}
        for name, weight in self.weights.items():
            calls = int(self.rps * seconds * weight / total)
            result[name] = VariantTotals(calls, round(calls * self.error_rate.get(name, 0.0)), 0)
        return result

    def observe(self, lookups: SplitLookups | None = None) -> SplitObservation:
        data = None
        if lookups is not None and lookups.metrics is not None:
            m = lookups.metrics
            totals = self.totals(m.start, m.end)
            data = AnalysisData(m, totals, {k: v.invocations for k, v in totals.items()})
        return SplitObservation(
            now=self.now,
            target=EndpointReferenceTarget(
                "ep", frozenset(self.weights), spec_weights=self.spec_weights
            ),
            endpoint=self.endpoint(),
            requests=self.requests,
            metrics=data,
            alarms=dict(self.alarms) if lookups is not None and lookups.alarms else None,
        )


def one_pass(spec: TrafficSplitSpec, world: World, status: TrafficSplitStatus) -> TrafficSplitPlan:
    result = plan_traffic_split(spec, world.observe(), status)
    asked: list[SplitLookups] = []
    while isinstance(result, SplitLookups):
        assert result not in asked, "the planner asked twice for the same reads"
        asked.append(result)
        result = plan_traffic_split(spec, world.observe(result), status)
    for action in weight_writes(result):
        world.apply(action)
    for transition in result.findings.transitions:
        if transition.previous != transition.phase:
            # A new rollout (or a retry) may start from any phase.
            assert transition.phase in EDGES[transition.previous] | {Phase.INITIALIZING}, transition
    return result


def run(
    spec: TrafficSplitSpec,
    world: World,
    status: TrafficSplitStatus | None = None,
    until: Callable[[TrafficSplitPlan], bool] = lambda p: False,
    max_passes: int = 400,
) -> tuple[TrafficSplitPlan, TrafficSplitStatus]:
    """Passes until `until` holds, advancing the clock by the planner's recheck time."""
    status = status or TrafficSplitStatus()
    for _ in range(max_passes):
        plan = one_pass(spec, world, status)
        status = remembered(plan)
        if until(plan):
            return plan, status
        world.now += timedelta(seconds=plan.recheck_after or 1.0)
        world.settle()
    raise AssertionError(f"not reached in {max_passes} passes: {status.phase} {status.reason}")


def phase_is(*phases: Phase) -> Callable[[TrafficSplitPlan], bool]:
    return lambda plan: remembered(plan).phase in phases


# --------------------------------------------------------------------------- the plan's shape


def test_a_weight_write_sits_between_the_status_before_it_and_the_status_after_it() -> None:
    """The shell executes steps in order and stops at an AWS error, keeping the last
    `Remember` reached: a refused write must leave a status that moved on (the phase, the
    rollout) without claiming the weights it failed to ask for."""
    plan = plan_traffic_split(canary_spec(), World().observe(), TrafficSplitStatus())
    assert isinstance(plan, Plan)
    before, write, after = plan.actions
    assert isinstance(before, Remember)
    assert isinstance(write, SetWeights)
    assert isinstance(after, Remember)
    assert write.as_dict == {BASE: 90.0, CAND: 10.0}
    assert after.memory.desired_weights == write.as_dict
    assert before.memory.desired_weights == {}
    assert before.memory == after.memory.model_copy(update={"desired_weights": {}})
    assert before.memory.phase == Phase.PROGRESSING


def test_every_phase_has_its_function_in_the_state_machine_table() -> None:
    assert set(PHASES) == set(Phase)


def test_a_plan_without_writes_only_remembers() -> None:
    world = World(weights={BASE: 90.0, CAND: 10.0})
    status = TrafficSplitStatus(desired_weights={BASE: 90.0, CAND: 10.0})
    plan = plan_traffic_split(canary_spec(analysis=None), world.observe(), status)
    assert isinstance(plan, Plan)
    (only,) = plan.actions
    assert isinstance(only, Remember)
    assert only.memory == remembered(plan)


# --------------------------------------------------------------------------- fixed split


def test_fixed_split_sets_every_variant_in_one_call_and_then_holds() -> None:
    spec = TrafficSplitSpec.model_validate(
        {
            "endpointRef": {"name": "ep"},
            "weights": [{"variant": BASE, "weight": 90}, {"variant": CAND, "weight": 10}],
        }
    )
    world = World(weights={BASE: 1.0, CAND: 1.0, "other": 1.0})
    _, status = run(spec, world, until=lambda p: p.outcome.kind == OutcomeKind.READY)
    assert world.calls == [SetWeights("ep", ((BASE, 90.0), (CAND, 10.0), ("other", 0.0)))]
    assert status.phase == Phase.SUCCEEDED
    assert status.live_weights == {BASE: 90.0, CAND: 10.0, "other": 0.0}
    again = one_pass(spec, world, status)
    assert weight_writes(again) == ()
    # Someone else moves the weights: the split puts them back.
    world.weights = {BASE: 50.0, CAND: 50.0, "other": 0.0}
    corrected = one_pass(spec, world, remembered(again))
    assert [a.as_dict for a in weight_writes(corrected)] == [{BASE: 90.0, CAND: 10.0, "other": 0.0}]


# --------------------------------------------------------------------------- canary paths


def test_healthy_canary_walks_the_steps_then_promotes() -> None:
    spec = canary_spec()
    world = World()
    plan, status = run(spec, world, until=phase_is(Phase.SUCCEEDED))
    assert [a.as_dict[CAND] for a in world.calls] == [10.0, 30.0, 50.0, 100.0]
    assert plan.outcome.kind == OutcomeKind.READY
    assert status.live_weights == {BASE: 0.0, CAND: 100.0}
    looks = [h for h in status.history if h.verdict is not None]
    assert [h.verdict for h in looks if h.verdict == "Pass"] == ["Pass"] * 3
    assert all(c.sample_size >= 200 for h in looks if h.verdict == "Pass" for c in h.checks)


def test_shorthand_steps_end_at_max_weight() -> None:
    spec = canary_spec(steps=None, stepWeight=20, maxWeight=50)
    assert step_candidate_percents(canary_steps(spec)) == (20, 40, 50)


def test_keep_split_ends_on_the_last_step_weights() -> None:
    spec = canary_spec(onSuccess="KeepSplit")
    world = World()
    _, status = run(spec, world, until=phase_is(Phase.SUCCEEDED))
    assert status.live_weights == {BASE: 50.0, CAND: 50.0}


def test_raised_candidate_error_rate_rolls_back_to_the_baseline() -> None:
    spec = canary_spec()
    world = World(error_rate={BASE: 0.0, CAND: 0.2})
    plan, status = run(spec, world, until=phase_is(Phase.FAILED))
    assert status.live_weights == {BASE: 100.0, CAND: 0.0}
    assert status.reason == "AnalysisFailed"
    assert plan.outcome.kind == OutcomeKind.STALLED
    failing = [c for h in status.history for c in h.checks if c.verdict == "Fail"]
    assert failing
    # 20% errors against none: strong evidence long before minSampleSize, so the exact
    # error-share test decides, within its tenth of the step's Fail budget (alpha / steps).
    assert failing[0].reason == "ErrorShareIncreased"
    assert failing[0].sample_size < 200
    assert failing[0].share_p_value is not None
    assert failing[0].share_p_value <= 0.05 / len(spec.steps or ()) / 10
    assert all(a.as_dict[CAND] < 30 for a in world.calls), "rolled back before step 2"


def _until_paused_without_verdict(
    spec: TrafficSplitSpec, world: World
) -> tuple[TrafficSplitPlan, TrafficSplitStatus]:
    plan, status = run(spec, world, until=phase_is(Phase.PAUSED))
    assert status.reason == "InsufficientTraffic"
    assert plan.outcome.kind == OutcomeKind.STALLED
    verdicts = {h.verdict for h in status.history if h.verdict}
    assert verdicts == {"Inconclusive"}
    reasons = {c.reason for h in status.history for c in h.checks}
    assert reasons <= {"BelowMinSampleSize", "NoData"}
    assert "BelowMinSampleSize" in reasons
    return plan, status


def _settled(
    spec: TrafficSplitSpec, world: World, status: TrafficSplitStatus
) -> TrafficSplitStatus:
    """Passes until nothing is written or waited for any more."""
    _, status = run(
        spec,
        world,
        status,
        until=lambda p: not weight_writes(p) and world.pending is None and not p.recheck_after,
    )
    return status


def _with_insufficient_traffic(choice: str | None, **overrides: Any) -> TrafficSplitSpec:
    analysis: dict[str, Any] = {
        "interval": 10,
        "minSampleSize": 200,
        "metrics": [{"name": "errors", "type": "ErrorRate"}],
    }
    if choice is not None:
        analysis["onInsufficientTraffic"] = choice
    return canary_spec(progressDeadlineSeconds=60, analysis=analysis, **overrides)


def test_too_little_traffic_takes_the_candidate_out_of_traffic_by_default() -> None:
    """A step without a verdict at its deadline: neither promoted nor rolled back, and (the
    default, onInsufficientTraffic: Baseline) the candidate serves no one meanwhile."""
    spec = _with_insufficient_traffic(None)
    world = World(rps=2.0)
    plan, status = _until_paused_without_verdict(spec, world)
    assert "out of traffic" in (plan.outcome.message or "")
    status = _settled(spec, world, status)
    assert world.weights == {BASE: 100.0, CAND: 0.0}
    assert status.live_weights == {BASE: 100.0, CAND: 0.0}
    assert status.phase == Phase.PAUSED
    assert status.reason == "InsufficientTraffic"
    assert status.step_index == 0
    # It stays so however long one waits.
    world.now += timedelta(hours=1)
    later = one_pass(spec, world, status)
    assert remembered(later).phase == Phase.PAUSED
    assert weight_writes(later) == ()


def test_hold_keeps_the_step_weight_while_paused_without_a_verdict() -> None:
    spec = _with_insufficient_traffic("Hold")
    world = World(rps=2.0)
    plan, status = _until_paused_without_verdict(spec, world)
    assert "keeps 10%" in (plan.outcome.message or "")
    world.now += timedelta(hours=1)
    later = one_pass(spec, world, status)
    assert remembered(later).phase == Phase.PAUSED
    assert weight_writes(later) == ()
    assert remembered(later).live_weights == {BASE: 90.0, CAND: 10.0}
    # Switching the setting while paused takes the candidate out.
    baseline = _with_insufficient_traffic("Baseline")
    status = _settled(baseline, world, remembered(later))
    assert world.weights == {BASE: 100.0, CAND: 0.0}
    assert "out of traffic" in (status.message or "")


def test_promote_after_a_step_without_verdict_goes_to_the_next_step() -> None:
    """With the candidate out of traffic, promote skips the stopped step: the next step's
    weight (not the stopped step's again) and its analysis."""
    spec = _with_insufficient_traffic(None)
    world = World(rps=2.0)
    _, status = _until_paused_without_verdict(spec, world)
    status = _settled(spec, world, status)
    written = len(world.calls)
    world.requests = Requests(promote="p1")
    _, status = run(spec, world, status, until=lambda p: remembered(p).step_started_at is not None)
    assert status.step_index == 1
    assert status.phase == Phase.PROGRESSING
    assert [a.as_dict[CAND] for a in world.calls[written:]] == [30.0]
    assert "step 1: promoted by request" in [h.note for h in status.history]


def test_retry_runs_a_step_without_verdict_again() -> None:
    spec = _with_insufficient_traffic(None)
    world = World(rps=2.0)
    _, status = _until_paused_without_verdict(spec, world)
    status = _settled(spec, world, status)
    written = len(world.calls)
    world.rps = 2000.0  # the traffic is there now
    world.requests = Requests(retry="r1")
    _, status = run(
        spec,
        world,
        status,
        until=lambda p: remembered(p).step_index == 1 and remembered(p).step_started_at is not None,
    )
    assert status.handled.retry == "r1"
    assert [a.as_dict[CAND] for a in world.calls[written:]][:2] == [10.0, 30.0]
    notes = [h.note for h in status.history]
    assert "step 1: retried" in notes
    passes = [h for h in status.history if h.verdict == "Pass"]
    assert [h.step_index for h in passes] == [0]


def test_below_min_sample_size_is_never_a_pass() -> None:
    spec = canary_spec(progressDeadlineSeconds=10_000)
    world = World(rps=5.0)
    _, status = run(
        spec, world, until=lambda p: len([h for h in remembered(p).history if h.verdict]) >= 3
    )
    for record in status.history:
        for check in record.checks:
            if check.sample_size < 200 or check.baseline_sample_size < 200:
                assert check.verdict == "Inconclusive"


def test_no_data_pass_never_passes_a_step_that_starves_the_baseline() -> None:
    # At setWeight 100 the baseline gets no traffic: no data, and below minSampleSize.
    spec = canary_spec(
        steps=[{"setWeight": 100}],
        analysis={
            "interval": 10,
            "minSampleSize": 200,
            "noData": "Pass",
            "metrics": [{"name": "errors", "type": "ErrorRate"}],
        },
    )
    world = World(error_rate={BASE: 0.0, CAND: 1.0})
    _, status = run(spec, world, until=phase_is(Phase.PAUSED, Phase.SUCCEEDED, Phase.FAILED))
    assert status.phase == Phase.PAUSED
    assert status.reason == "InsufficientTraffic"
    looks = [h for h in status.history if h.verdict is not None]
    assert looks
    assert {h.verdict for h in looks} == {"Inconclusive"}
    assert {c.reason for h in looks for c in h.checks} == {"NoData"}


def _error_rate_analysis(alpha: float, harmful_increase: float) -> dict[str, Any]:
    return {
        "interval": 10,
        "minSampleSize": 200,
        "alpha": alpha,
        "metrics": [{"name": "errors", "type": "ErrorRate", "harmfulIncrease": harmful_increase}],
    }


def test_changing_the_analysis_mid_step_restarts_the_sequential_test() -> None:
    # Issue 18: after one look the safety p-value is 0.172 under alpha 0.05 and
    # harmfulIncrease 0.01. Loosening alpha to 0.2 must not turn that old p-value into a
    # Pass of a different test: a fresh test of the new hypotheses on these counts gives p = 1.
    world = World(rps=1500, error_rate={BASE: 0.01, CAND: 0.012})
    before = canary_spec(steps=[{"setWeight": 10}], analysis=_error_rate_analysis(0.05, 0.01))
    plan, status = run(
        before, world, until=lambda p: any(s.looks >= 1 for s in remembered(p).sequential)
    )
    assert status.phase == Phase.PROGRESSING
    assert status.history[-1].checks[0].safety_p_value == pytest.approx(0.172, abs=0.001)

    after = canary_spec(steps=[{"setWeight": 10}], analysis=_error_rate_analysis(0.2, 0.002))
    world.now += timedelta(seconds=plan.recheck_after or 1.0)
    plan, status = run(after, world, status, until=lambda p: p.findings.look is not None)
    look = status.history[-1]
    assert look.verdict == "Inconclusive"
    assert look.checks[0].safety_p_value == 1.0
    assert [s.looks for s in status.sequential] == [1]
    assert "restarted" in look.note
    assert "errors" in look.note
    # The next look under the same analysis carries the state on, with no note.
    world.now += timedelta(seconds=plan.recheck_after or 1.0)
    _, status = run(after, world, status, until=lambda p: p.findings.look is not None)
    assert [s.looks for s in status.sequential] == [2]
    assert "restarted" not in status.history[-1].note


def test_adding_a_relative_harm_mid_step_restarts_the_test_and_status_reports_it() -> None:
    """relativeHarm is part of the test's identity; status then carries its p-value, and
    every ErrorRate check the smallest increase the counts can detect."""
    world = World(rps=1500, error_rate={BASE: 0.01, CAND: 0.012})
    before = canary_spec(steps=[{"setWeight": 10}], analysis=_error_rate_analysis(0.05, 0.01))
    plan, status = run(
        before, world, until=lambda p: any(s.looks >= 1 for s in remembered(p).sequential)
    )
    first = status.history[-1].checks[0]
    assert first.relative_safety_p_value is None
    assert first.detectable_increase is not None
    assert 0.0 < first.detectable_increase < 1.0

    analysis = _error_rate_analysis(0.05, 0.01)
    analysis["metrics"][0]["relativeHarm"] = {"ratio": 1.5}
    after = canary_spec(steps=[{"setWeight": 10}], analysis=analysis)
    world.now += timedelta(seconds=plan.recheck_after or 1.0)
    _, status = run(after, world, status, until=lambda p: p.findings.look is not None)
    look = status.history[-1]
    assert "restarted" in look.note
    check = look.checks[0]
    assert check.relative_safety_p_value is not None
    assert check.relative_safety_p_value == min(
        1.0,
        2
        * min(status.sequential[0].ratio_safety_p_value, status.sequential[0].floor_safety_p_value),
    )
    # More counts, smaller detectable increase.
    assert check.detectable_increase is not None
    assert check.detectable_increase < first.detectable_increase


def _first_look_with(spec: TrafficSplitSpec) -> TrafficSplitPlan:
    """A canary run to its first counted look (or its end)."""
    world = World(rps=100, error_rate={BASE: 0.01, CAND: 0.02})
    plan, _ = run(
        spec,
        world,
        until=lambda p: (
            any(s.looks >= 1 for s in remembered(p).sequential)
            or remembered(p).phase not in (Phase.INITIALIZING, Phase.PROGRESSING)
        ),
    )
    return plan


def _one_step_canary_with(alpha: float) -> TrafficSplitSpec:
    return canary_spec(steps=[{"setWeight": 50}], analysis=_error_rate_analysis(alpha, 0.01))


@pytest.mark.parametrize("alpha", [5.5e-17, 1e-17, 1e-300, 5e-324])
def test_an_alpha_the_statistics_cannot_handle_is_refused_at_admission(alpha: float) -> None:
    # Issue 18: an alpha below about 5.6e-17 made every look raise (1 - alpha rounds to 1).
    with pytest.raises(ValidationError, match="alpha"):
        _one_step_canary_with(alpha)


@settings(max_examples=40, deadline=None)
@given(alpha=st.floats(min_value=0.0, max_value=1.0, exclude_min=True, exclude_max=True))
@example(alpha=1e-17)
@example(alpha=MIN_ALPHA)
@example(alpha=math.nextafter(MIN_ALPHA, 1.0))
@example(alpha=math.nextafter(1.0, 0.0))
def test_the_planner_never_raises_for_an_admitted_alpha(alpha: float) -> None:
    try:
        spec = _one_step_canary_with(alpha)
    except ValidationError:
        return  # not admitted: the API server refuses it before the planner sees it
    assert _first_look_with(spec).findings.look is not None


def test_manual_gate_waits_for_promote_and_consumes_it_once() -> None:
    spec = canary_spec(steps=[{"setWeight": 10, "pause": {}}, {"setWeight": 40}])
    world = World()
    _, status = run(spec, world, until=phase_is(Phase.PAUSED))
    assert status.reason == "ManualGate"
    idle = one_pass(spec, world, status)
    assert remembered(idle).phase == Phase.PAUSED
    world.requests = Requests(promote="t1")
    _, status = run(spec, world, remembered(idle), until=lambda p: remembered(p).step_index == 1)
    assert status.handled.promote == "t1"
    _, status = run(spec, world, status, until=phase_is(Phase.SUCCEEDED))
    assert [a.as_dict[CAND] for a in world.calls] == [10.0, 40.0, 100.0]


def test_manual_promotion_waits_after_the_last_step() -> None:
    spec = canary_spec(promotion="Manual", steps=[{"setWeight": 20}])
    world = World()
    _, status = run(spec, world, until=phase_is(Phase.PAUSED))
    assert status.reason == "AwaitingPromotion"
    world.requests = Requests(promote="go")
    _, status = run(spec, world, status, until=phase_is(Phase.SUCCEEDED))
    assert status.live_weights[CAND] == 100.0


def test_abort_returns_traffic_then_retry_restarts() -> None:
    spec = canary_spec()
    world = World()
    _, status = run(spec, world, until=lambda p: remembered(p).step_index == 1)
    world.requests = Requests(abort="a1")
    plan, status = run(
        spec, world, status, until=lambda p: remembered(p).live_weights.get(CAND) == 0.0
    )
    assert status.phase == Phase.ABORTED
    assert plan.outcome.kind == OutcomeKind.STALLED
    # The same annotation value again changes nothing.
    assert remembered(one_pass(spec, world, status)).phase == Phase.ABORTED
    world.requests = Requests(abort="a1", retry="r1")
    _, status = run(spec, world, status, until=phase_is(Phase.SUCCEEDED))
    assert status.handled.retry == "r1"
    assert [a.as_dict[CAND] for a in world.calls][-4:] == [10.0, 30.0, 50.0, 100.0]


def test_alarm_in_alarm_state_rolls_back() -> None:
    spec = canary_spec(autoRollback={"alarms": ["latency-high"]})
    world = World(alarms={"latency-high": AlarmState.OK})
    _, status = run(spec, world, until=lambda p: remembered(p).step_index == 1)
    world.alarms = {"latency-high": AlarmState.ALARM}
    _, status = run(spec, world, status, until=phase_is(Phase.FAILED))
    assert status.reason == "AlarmFired"
    assert "latency-high" in (status.message or "")
    assert status.live_weights == {BASE: 100.0, CAND: 0.0}


def test_endpoint_stuck_updating_pauses_at_the_deadline() -> None:
    spec = canary_spec(progressDeadlineSeconds=30)
    world = World(stuck=True, rps=2000.0)
    plan, status = run(spec, world, until=phase_is(Phase.PAUSED))
    assert status.reason == "EndpointNotReady"
    assert plan.outcome.kind == OutcomeKind.STALLED
    assert world.now - T0 >= timedelta(seconds=30)
    assert len(world.calls) == 1, "no second write while SageMaker is busy"
    world.stuck = False
    world.settle()
    _, status = run(spec, world, status, until=phase_is(Phase.SUCCEEDED))


def test_spec_paused_holds_the_canary() -> None:
    world = World()
    _, status = run(canary_spec(), world, until=lambda p: remembered(p).step_index == 1)
    calls = len(world.calls)
    paused = canary_spec(paused=True)
    _, status = run(paused, world, status, until=phase_is(Phase.PAUSED))
    assert status.reason == "PausedBySpec"
    world.now += timedelta(hours=1)
    assert weight_writes(one_pass(paused, world, status)) == ()
    assert len(world.calls) == calls
    _, status = run(canary_spec(), world, status, until=phase_is(Phase.SUCCEEDED))


def test_changing_the_candidate_restarts_the_rollout() -> None:
    world = World(weights={BASE: 1.0, CAND: 1.0, "teal": 1.0})
    _, status = run(canary_spec(), world, until=phase_is(Phase.SUCCEEDED))
    plan = one_pass(canary_spec(candidate="teal"), world, status)
    assert remembered(plan).phase == Phase.PROGRESSING
    assert remembered(plan).step_index == 0


@pytest.mark.parametrize(
    ("observation", "reason"),
    [
        ({"target": None}, "ModelEndpointNotFound"),
        (
            {
                "target": EndpointReferenceTarget(
                    "ep", frozenset({BASE, CAND}), outside_shard="shard in (a)"
                )
            },
            "ModelEndpointInOtherShard",
        ),
        ({"competing_split": "first"}, "WeightsManagedElsewhere"),
        ({"target": EndpointReferenceTarget("ep", frozenset({BASE}))}, "VariantNotFound"),
    ],
)
def test_target_problems_stall_with_a_reason(observation: dict[str, Any], reason: str) -> None:
    observed = replace(World().observe(), **observation)
    plan = plan_traffic_split(canary_spec(), observed, TrafficSplitStatus())
    assert isinstance(plan, Plan)
    assert plan.outcome.kind == OutcomeKind.STALLED
    assert plan.outcome.reason == reason
    assert weight_writes(plan) == ()
    if reason == "WeightsManagedElsewhere":
        assert "first" in plan.outcome.message
    if reason == "ModelEndpointInOtherShard":
        assert "shard in (a)" in plan.outcome.message


# --------------------------------------------------------------------------- windows


@given(
    started=st.integers(min_value=0, max_value=10_000),
    offset=st.integers(min_value=0, max_value=1_000),
    period=st.sampled_from([1, 5, 60]),
    delay=st.one_of(st.none(), st.integers(min_value=0, max_value=300)),
)
def test_a_scored_window_never_starts_before_a_whole_period_after_the_change(
    started: int, offset: int, period: int, delay: int | None
) -> None:
    spec = canary_spec(
        metricPeriodSeconds=period,
        analysis={
            "interval": 10,
            "initialDelaySeconds": delay,
            "metrics": [{"name": "errors", "type": "ErrorRate"}],
        },
    )
    assert spec.analysis is not None
    step_started = T0 + timedelta(seconds=started, microseconds=300)
    now = step_started + timedelta(seconds=offset)
    lookup = metrics_lookup(spec.analysis, period, step_started, now)
    if lookup is None:
        return
    ingestion = delay if delay is not None else period
    assert lookup.start >= step_started + timedelta(seconds=ingestion)
    assert lookup.start.timestamp() % period == 0
    assert lookup.end <= now - timedelta(seconds=ingestion)
    assert lookup.end > lookup.start
    # The percentile window lies inside the scored span and is a period CloudWatch accepts.
    window = int((lookup.end - lookup.window_start).total_seconds())
    assert lookup.window_start >= lookup.start
    assert window in (1, 5, 10, 20, 30) or window % 60 == 0


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    error_rates=st.tuples(st.sampled_from([0.0, 0.01, 0.3]), st.sampled_from([0.0, 0.01, 0.3])),
    rps=st.sampled_from([1.0, 50.0, 400.0]),
    updating=st.integers(min_value=0, max_value=3),
    alarm_at=st.one_of(st.none(), st.integers(min_value=1, max_value=30)),
    request_at=st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from(["promote", "abort", "retry"]), st.integers(min_value=1, max_value=30)
        ),
    ),
)
def test_any_run_follows_the_edges_and_never_writes_while_busy(
    error_rates: tuple[float, float],
    rps: float,
    updating: int,
    alarm_at: int | None,
    request_at: tuple[str, int] | None,
) -> None:
    spec = canary_spec(progressDeadlineSeconds=60, autoRollback={"alarms": ["a"]})
    world = World(
        error_rate={BASE: error_rates[0], CAND: error_rates[1]},
        rps=rps,
        updating_passes=updating,
        alarms={"a": AlarmState.OK},
    )
    status = TrafficSplitStatus()
    for index in range(120):
        if alarm_at == index:
            world.alarms = {"a": AlarmState.ALARM}
        if request_at is not None and request_at[1] == index:
            world.requests = Requests(**{request_at[0]: "x"})
        busy = world.pending is not None
        plan = one_pass(spec, world, status)  # asserts the edges
        if busy:
            assert weight_writes(plan) == ()
        # A pass on the world as it now is, at the same moment, plans nothing new; after a
        # write-ahead pass (new weights recorded, not written) it writes exactly those.
        if not weight_writes(plan) and world.pending is None:
            following = one_pass(spec, copy.deepcopy(world), remembered(plan))
            asked = remembered(plan).desired_weights
            if asked and not same_shares(asked, world.weights):
                assert [a.as_dict for a in weight_writes(following)] == [asked]
            else:
                assert weight_writes(following) == ()
        if remembered(plan).phase == Phase.SUCCEEDED:
            assert remembered(plan).live_weights[CAND] == 100.0
        if remembered(plan).phase in (Phase.FAILED,):
            assert remembered(plan).live_weights[CAND] == 0.0
        status = remembered(plan)
        world.now += timedelta(seconds=plan.recheck_after or 1.0)
        world.settle()


@settings(max_examples=80, deadline=None)
@given(
    lost=st.integers(min_value=0, max_value=60),
    updating=st.integers(min_value=0, max_value=2),
    skip_analysis=st.booleans(),
)
def test_a_pass_whose_status_is_lost_repeats_no_write_and_no_step(
    lost: int, updating: int, skip_analysis: bool
) -> None:
    """The operator is killed after pass `lost` made its AWS writes and before its status
    was written: the next pass starts from the status before it. Every step's weights are
    still written once, in order, and every step is recorded once."""
    spec = canary_spec(
        skipAnalysis=skip_analysis,
        steps=[{"setWeight": 10, "pause": {"duration": 5}}, {"setWeight": 30}, {"setWeight": 50}],
    )
    world = World(updating_passes=updating)
    status = TrafficSplitStatus()
    for index in range(400):
        plan = one_pass(spec, world, status)
        if index != lost:
            status = remembered(plan)
        if status.phase == Phase.SUCCEEDED and world.pending is None:
            break
        world.now += timedelta(seconds=plan.recheck_after or 1.0)
        world.settle()
    assert status.phase == Phase.SUCCEEDED
    assert [a.as_dict[CAND] for a in world.calls] == [10.0, 30.0, 50.0, 100.0]
    assert [h.note for h in status.history if "candidate at" in h.note] == [
        "step 1: candidate at 10%",
        "step 2: candidate at 30%",
        "step 3: candidate at 50%",
    ]
    assert [h.note for h in status.history].count("promoted") == 1


@pytest.mark.parametrize("garbage", ["yesterday", "2026-13-45T99:00:00Z", ""])
def test_a_hand_edited_status_restarts_its_waits_instead_of_failing_every_pass(
    garbage: str,
) -> None:
    """Timestamps that do not parse (and a negative step) are reset: the canary goes on."""
    spec = canary_spec()
    world = World()
    _, status = run(spec, world, until=lambda p: remembered(p).step_started_at is not None)
    edited = status.model_copy(
        update={
            "step_started_at": garbage,
            "waiting_since": garbage,
            "last_analysis_at": garbage,
            "pause_started_at": garbage,
            "step_index": -2,
        }
    )
    plan = one_pass(spec, world, edited)
    assert remembered(plan).step_index == 0
    assert remembered(plan).step_started_at not in ("yesterday", "2026-13-45T99:00:00Z")
    plan, _ = run(
        spec, world, remembered(plan), until=lambda p: remembered(p).phase == Phase.SUCCEEDED
    )
    assert remembered(plan).live_weights[CAND] == 100.0


# --------------------------------------------------------------------------- reads at rest


def test_only_a_split_at_rest_may_use_a_recent_read_of_the_endpoint() -> None:
    """At rest (this spec's split in force, or its canary succeeded) a read another pass made
    in the last minutes will do; during a rollout, after a spec change or on a new request
    the endpoint is read now."""
    spec = canary_spec()
    world = World()
    _, done = run(spec, world, until=phase_is(Phase.SUCCEEDED))
    now = world.now
    shared = now - timedelta(seconds=SHARED_ENDPOINT_READ_SECONDS)
    assert endpoint_read_since(spec, done, Requests(), now) == shared
    assert endpoint_read_since(spec, TrafficSplitStatus(), Requests(), now) is None
    moving = done.model_copy(update={"phase": Phase.PROGRESSING})
    assert endpoint_read_since(spec, moving, Requests(), now) is None
    assert endpoint_read_since(canary_spec(candidate="red"), done, Requests(), now) is None
    assert endpoint_read_since(spec, done, Requests(retry="again"), now) is None
    handled = done.model_copy(update={"handled": HandledRequests(retry="again")})
    assert endpoint_read_since(spec, handled, Requests(retry="again"), now) == shared


# --------------------------------------------------------------------------- live weights


def test_live_weights_are_what_sagemaker_serves_even_while_paused_by_spec() -> None:
    """Issue 18: a canary paused while its first weights were being applied kept the live
    weights of the pass before (1/1, candidate 50%) while SageMaker served 90/10."""
    world = World(updating_passes=0)
    first = one_pass(canary_spec(), world, TrafficSplitStatus())
    assert [a.as_dict for a in weight_writes(first)] == [{BASE: 90.0, CAND: 10.0}]
    assert remembered(first).live_weights == {BASE: 1.0, CAND: 1.0}
    world.now += timedelta(seconds=1)
    world.settle()  # SageMaker now serves 90/10
    paused = one_pass(canary_spec(paused=True), world, remembered(first))
    status = remembered(paused)
    assert status.phase == Phase.PAUSED
    assert status.reason == "PausedBySpec"
    assert status.live_weights == {BASE: 90.0, CAND: 10.0}
    assert status.candidate_weight_percent == 10.0


def test_live_weights_are_not_claimed_when_the_pass_read_no_endpoint() -> None:
    world = World()
    _, status = run(canary_spec(), world, until=lambda p: remembered(p).step_index == 1)
    assert status.live_weights
    elsewhere = replace(world.observe(), endpoint=None, competing_split="first")
    plan = plan_traffic_split(canary_spec(), elsewhere, status)
    assert isinstance(plan, Plan)
    assert remembered(plan).live_weights == {}
    assert remembered(plan).candidate_weight_percent is None


# --------------------------------------------------------------------------- hand-back


def _model_endpoint(weights: tuple[tuple[str, float], ...]) -> dict[str, Any]:
    """A ModelEndpoint manifest as kept in Git: the second variant leaves its weight to the
    default."""
    variants: list[dict[str, Any]] = []
    for name, weight in weights:
        variant: dict[str, Any] = {"name": name, "instanceType": "ml.m5.large"}
        if weight != 1.0:
            variant["weight"] = weight
        variants.append(variant)
    return {"apiVersion": "serving.mlops.dev/v1alpha1", "spec": {"variants": variants}}


def test_a_succeeded_canary_says_what_deleting_it_hands_back_and_how_to_keep_it() -> None:
    """Issue 18: deleting a Succeeded canary handed the weights back to the ModelEndpoint's
    spec (50/50) without a word. The status says so first, with the patch that keeps the
    promotion, and the patch does keep it."""
    world = World()
    plan, status = run(canary_spec(), world, until=phase_is(Phase.SUCCEEDED))
    hint = status.hand_back
    assert hint is not None
    assert hint.weights == {BASE: 1.0, CAND: 1.0}
    assert hint.changes_traffic
    assert "blue 50%, green 50%" in hint.message
    assert "instead of blue 0%, green 100%" in hint.message
    assert hint.message in plan.outcome.message
    assert hint.patch is not None
    kept = jsonpatch.apply_patch(_model_endpoint(world.spec_weights), json.loads(hint.patch))
    weights = {v["name"]: v["weight"] for v in kept["spec"]["variants"]}
    assert same_shares(weights, status.live_weights)
    # The patch is made for that spec: on another order of variants it applies nowhere.
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(
            _model_endpoint(tuple(reversed(world.spec_weights))), json.loads(hint.patch)
        )
    # Once the ModelEndpoint's spec asks for the promoted weights, deleting changes nothing.
    world.spec_weights = tuple((n, float(w)) for n, w in weights.items())
    again = remembered(one_pass(canary_spec(), world, status))
    assert again.hand_back is not None
    assert not again.hand_back.changes_traffic
    assert again.hand_back.patch is None


def test_a_fixed_split_says_what_deleting_it_hands_back() -> None:
    spec = TrafficSplitSpec.model_validate(
        {
            "endpointRef": {"name": "ep"},
            "weights": [{"variant": BASE, "weight": 90}, {"variant": CAND, "weight": 10}],
        }
    )
    _, status = run(spec, World(), until=lambda p: p.outcome.kind == OutcomeKind.READY)
    assert status.hand_back is not None
    assert status.hand_back.changes_traffic
    assert "blue 50%, green 50% instead of blue 90%, green 10%" in status.hand_back.message


@pytest.mark.parametrize("on_delete", ["HandBack", "WaitForEndpointSpec"])
def test_deleting_waits_for_the_endpoint_spec_only_when_asked_to(on_delete: str) -> None:
    world = World()
    spec = canary_spec(onDelete=on_delete)
    _, status = run(spec, world, until=phase_is(Phase.SUCCEEDED))
    target = world.observe().target
    outcome = deletion_outcome(spec, target, status)
    if on_delete == "HandBack":
        assert outcome.kind == OutcomeKind.READY
        assert "blue 50%, green 50%" in outcome.message
        assert "it served blue 0%, green 100%" in outcome.message
    else:
        assert outcome.kind == OutcomeKind.PROGRESSING
        assert outcome.reason == "WaitingForEndpointSpec"
        assert status.hand_back is not None
        assert status.hand_back.patch is not None
        assert status.hand_back.patch in outcome.message
    # Committed: the spec asks for the promotion, and the split may go at once.
    matching = replace(target, spec_weights=((BASE, 0.0), (CAND, 100.0))) if target else None
    assert deletion_outcome(spec, matching, status).kind == OutcomeKind.READY
    # A ModelEndpoint that is gone holds nothing back.
    assert deletion_outcome(spec, None, status).kind == OutcomeKind.READY


def test_on_delete_is_not_part_of_the_rollout() -> None:
    assert rollout_hash(canary_spec(onDelete="WaitForEndpointSpec")) == rollout_hash(canary_spec())


# --------------------------------------------------------------------------- the whole canary


def test_the_plot_covers_every_step_of_a_canary_longer_than_its_history(tmp_path: Any) -> None:
    """Issue 18: `compare --plot` drew only the history's last 40 entries, so most of a long
    first step was missing. Every step's summary is kept, and the plot and the report's
    CloudWatch span start where the canary did."""
    spec = canary_spec(progressDeadlineSeconds=86400)
    world = World(rps=20.0)
    _, status = run(spec, world, until=phase_is(Phase.SUCCEEDED), max_passes=2000)
    looks = sum(s.looks for s in status.step_summaries)
    assert looks > HISTORY_LIMIT, "the canary must outgrow its history for this test"
    assert [s.step_index for s in status.step_summaries] == [0, 1, 2, 3]
    first = status.step_summaries[0]
    assert status.history[0].time > first.started_at, "the first step's start left the history"
    assert first.weights == {BASE: 90.0, CAND: 10.0}
    assert first.verdict == "Pass"
    assert [s.verdict for s in status.step_summaries[:3]] == ["Pass"] * 3

    split = {
        "metadata": {"name": "long"},
        "spec": spec.model_dump(by_alias=True, mode="json", exclude_none=True),
        "status": status.model_dump(by_alias=True, mode="json", exclude_none=True),
    }
    started = datetime.fromisoformat(first.started_at.replace("Z", "+00:00"))
    assert canary_start(split["status"]) == started
    timeline, plotted_looks = plot_series(split["status"])
    assert timeline[0] == (started, {BASE: 90.0, CAND: 10.0})
    candidate_shares = [round(w[CAND] / sum(w.values()) * 100) for _, w in timeline]
    assert sorted(set(candidate_shares)) == [10, 30, 50, 100]
    looked_steps = {c["name"] for _, checks in plotted_looks for c in checks}
    assert looked_steps == {"errors"}
    assert plotted_looks[0][0] < datetime.fromisoformat(
        status.history[0].time.replace("Z", "+00:00")
    ), "a look of the first step, from its summary"
    picture = tmp_path / "long.png"
    plot_history(split, str(picture))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_step_summaries_are_bounded_by_the_steps() -> None:
    spec = canary_spec(steps=[{"setWeight": w} for w in range(2, 100, 2)])
    _, status = run(spec, World(rps=2000.0), until=phase_is(Phase.SUCCEEDED), max_passes=3000)
    assert len(status.step_summaries) == len(spec.steps or ()) + 1


# --------------------------------------------------------------------------- decisions pinned
#
# The verdicts the planner reaches, recomputed look by look in the test from the counts it
# judged, with statistics.py's primitives (the likelihood ratios and the variance) and the
# rules the docs state: alpha spent as alpha / (steps x checks) per step and check, 9/10 of
# it for the normal mixture test from minSampleSize on and 1/10 for the exact error-share
# test at any size, Pass when the safety p-value reaches alpha from minSampleSize on.


@dataclass(frozen=True)
class _Counts:
    candidate: stats.VariantCounts
    baseline: stats.VariantCounts


def _judged_counts(status: TrafficSplitStatus, step: int) -> list[_Counts]:
    """The cumulative counts of each look of `step`, as its history entries recorded them."""
    judged = []
    for entry in status.history:
        if entry.step_index != step or entry.verdict is None:
            continue
        (check,) = entry.checks
        assert check.value is not None
        assert check.baseline_value is not None
        judged.append(
            _Counts(
                stats.VariantCounts(check.sample_size, round(check.value * check.sample_size)),
                stats.VariantCounts(
                    check.baseline_sample_size,
                    round(check.baseline_value * check.baseline_sample_size),
                ),
            )
        )
    return judged


def _p(previous: float, log_ratio: float) -> float:
    return previous if log_ratio <= 0 else min(previous, math.exp(-log_ratio))


def _expected_verdicts(
    looks: list[_Counts], *, alpha: float, harmful: float, min_sample_size: int, steps: int
) -> list[str]:
    fail_budget = alpha / steps  # one ErrorRate check
    harm_p = safety_p = share_p = 1.0
    verdicts = []
    for look in looks:
        c, b = look.candidate, look.baseline
        share_p = _p(share_p, stats.log_error_share_likelihood_ratio(c, b))
        if min(c.invocations, b.invocations) < min_sample_size:
            verdicts.append("Fail" if share_p <= fail_budget / 10 else "Inconclusive")
            continue
        difference = c.error_rate - b.error_rate
        harm_p = _p(
            harm_p,
            stats.log_one_sided_mixture_likelihood_ratio(
                difference, stats.difference_variance_for_testing(c, b), harmful
            ),
        )
        safety_p = _p(
            safety_p,
            stats.log_one_sided_mixture_likelihood_ratio(
                harmful - difference,
                stats.difference_variance_for_testing(c, b, b.error_rate + harmful),
                harmful,
            ),
        )
        if harm_p <= fail_budget * 0.9 or share_p <= fail_budget / 10:
            verdicts.append("Fail")
        elif safety_p <= alpha:
            verdicts.append("Pass")
        else:
            verdicts.append("Inconclusive")
    return verdicts


def _pinned_spec(*, alpha: float = 0.05, harmful: float = 0.01, threshold: int = 1) -> Any:
    return canary_spec(
        progressDeadlineSeconds=86400,
        analysis={
            "interval": 10,
            "minSampleSize": 200,
            "alpha": alpha,
            "threshold": threshold,
            "metrics": [{"name": "errors", "type": "ErrorRate", "harmfulIncrease": harmful}],
        },
    )


@pytest.mark.parametrize("threshold", [1, 2, 3])
def test_a_canary_rolls_back_on_the_look_where_failed_looks_reach_the_threshold(
    threshold: int,
) -> None:
    spec = _pinned_spec(threshold=threshold)
    world = World(rps=100.0, error_rate={BASE: 0.01, CAND: 0.04})
    _, status = run(spec, world, until=phase_is(Phase.FAILED), max_passes=2000)
    assert status.reason == "AnalysisFailed"
    looks = _judged_counts(status, 0)
    expected = _expected_verdicts(
        looks, alpha=0.05, harmful=0.01, min_sample_size=200, steps=len(spec.steps or ())
    )
    first_fail = expected.index("Fail")
    assert first_fail >= 1, "the scenario should take a few looks to decide"
    # Once failed, an always-valid p-value stays failed: the threshold-th failing look is
    # `threshold - 1` looks later, and the canary rolls back on it, not a look later.
    assert len(looks) == first_fail + threshold
    recorded = [h.verdict for h in status.history if h.step_index == 0 and h.verdict]
    assert recorded == expected
    assert recorded[-threshold:] == ["Fail"] * threshold
    assert status.failed_checks == threshold
    last_look = max(i for i, h in enumerate(status.history) if h.verdict)
    assert [h.note for h in status.history[last_look + 1 :]] == ["rolled back"]
    assert all(a.as_dict[CAND] <= 10.0 for a in world.calls), "never past the first step"


def _first_pass(
    *, alpha: float, harmful: float, error_rate: float = 0.01
) -> tuple[int, list[str], list[str]]:
    spec = _pinned_spec(alpha=alpha, harmful=harmful)
    world = World(rps=60.0, error_rate={BASE: 0.01, CAND: error_rate})
    _, status = run(spec, world, until=lambda p: remembered(p).step_index == 1, max_passes=4000)
    looks = _judged_counts(status, 0)
    expected = _expected_verdicts(
        looks, alpha=alpha, harmful=harmful, min_sample_size=200, steps=len(spec.steps or ())
    )
    recorded = [h.verdict or "" for h in status.history if h.step_index == 0 and h.verdict]
    return len(looks), recorded, expected


def test_alpha_and_harmful_increase_move_the_pass_where_the_math_says() -> None:
    """A candidate as good as the baseline passes its first step on the look the safety
    test reaches alpha: earlier with a looser alpha or a larger harmfulIncrease, later with a
    smaller one; each time on exactly the look the recomputation names."""
    passed_on = {}
    for alpha, harmful in [(0.05, 0.01), (0.2, 0.01), (0.05, 0.02), (0.05, 0.005)]:
        count, recorded, expected = _first_pass(alpha=alpha, harmful=harmful)
        assert recorded == expected, (alpha, harmful)
        assert expected[-1] == "Pass"
        assert "Pass" not in expected[:-1]
        passed_on[alpha, harmful] = count
    default = passed_on[0.05, 0.01]
    assert passed_on[0.2, 0.01] < default
    assert passed_on[0.05, 0.02] < default
    assert passed_on[0.05, 0.005] > default


def test_harmful_increase_decides_whether_a_worse_candidate_passes() -> None:
    """One percentage point worse (1% -> 2%): a test built to catch 0.01 must not pass it
    (it fails it), while one built only to catch 0.05 lets it through, as its bound says."""
    strict = _pinned_spec(harmful=0.01)
    world = World(rps=100.0, error_rate={BASE: 0.01, CAND: 0.02})
    _, status = run(strict, world, until=phase_is(Phase.FAILED), max_passes=4000)
    expected = _expected_verdicts(
        _judged_counts(status, 0), alpha=0.05, harmful=0.01, min_sample_size=200, steps=3
    )
    assert expected[-1] == "Fail"
    assert "Pass" not in expected

    _, recorded, expected = _first_pass(alpha=0.05, harmful=0.05, error_rate=0.02)
    assert recorded == expected
    assert expected[-1] == "Pass"


def test_compare_shows_the_smallest_harm_the_traffic_can_detect() -> None:
    check = CheckResult(
        name="errors",
        verdict="Inconclusive",
        reason="RatioNotYetExcluded",
        value=0.002,
        baseline_value=0.001,
        p_value=0.2,
        safety_p_value=1e-6,
        relative_safety_p_value=0.5,
        detectable_increase=0.0015,
    ).model_dump(by_alias=True, exclude_none=True)
    line = check_line(check)
    assert "p(not relatively harmful)=0.5" in line
    assert "smallest detectable harm (80% power): +0.15 points (2.5x the baseline's rate)" in line
    starved = {**check, "detectableIncrease": None}
    assert "none yet (too little traffic)" in check_line(starved)
