"""The TrafficSplit state machine: one pure pass from (spec, observation, previous status).

    Initializing -> Progressing(step n) <-> Paused(reason) -> Promoting -> Succeeded
                         |                      |
                         +-> RollingBack -> Failed          (analysis failed, alarm fired)
                         +-> Aborted                        (abort requested; retry restarts)

A fixed split (spec.weights) goes Initializing -> Progressing -> Succeeded and keeps its
weights in force. Every wait has a deadline (spec.progressDeadlineSeconds): for the endpoint
to apply weights (Paused/EndpointNotReady) and for enough traffic to decide
(Paused/InsufficientTraffic). The planner says when to look again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from serving_operator.api.trafficsplit import (
    CanaryStep,
    HandledRequests,
    OnSuccess,
    Phase,
    Promotion,
    StepRecord,
    TrafficSplitSpec,
    TrafficSplitStatus,
)
from serving_operator.planning.naming import content_hash
from serving_operator.planning.outcome import Outcome, Plan, Remember
from serving_operator.planning.trafficsplit.actions import SetWeights, describe_weights
from serving_operator.planning.trafficsplit.analysis import (
    Look,
    first_look_at,
    look,
    metrics_lookup,
)
from serving_operator.planning.trafficsplit.findings import (
    SplitFindings,
    SplitStep,
    TrafficSplitPlan,
    Transition,
)
from serving_operator.planning.trafficsplit.observed import (
    AlarmState,
    EndpointWeights,
    Requests,
    SplitLookups,
    SplitObservation,
)
from serving_operator.planning.trafficsplit.statistics import Verdict

# Reasons a split pauses (status.reason while status.phase is Paused).
MANUAL_GATE = "ManualGate"
PAUSED_BY_SPEC = "PausedBySpec"
INSUFFICIENT_TRAFFIC = "InsufficientTraffic"
AWAITING_PROMOTION = "AwaitingPromotion"
ENDPOINT_NOT_READY = "EndpointNotReady"
# Reasons of Stalled outcomes before any phase work.
MODEL_ENDPOINT_NOT_FOUND = "ModelEndpointNotFound"
MODEL_ENDPOINT_IN_OTHER_SHARD = "ModelEndpointInOtherShard"
VARIANT_NOT_FOUND = "VariantNotFound"
WEIGHTS_MANAGED_ELSEWHERE = "WeightsManagedElsewhere"

ACTIVE_PHASES = frozenset({Phase.INITIALIZING, Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING})
SHARED_ENDPOINT_READ_SECONDS = 900.0
"""At rest, how old a read of the endpoint made by another pass (its ModelEndpoint's, which
reads it at every resync) a split's pass may use instead of reading it itself: more than
the default resync of 10 minutes, so the ModelEndpoint's last read is always at hand."""
HISTORY_LIMIT = 40
_SHARE_TOLERANCE = 1e-6


# --------------------------------------------------------------------------- spec helpers


def canary_steps(spec: TrafficSplitSpec) -> tuple[CanaryStep, ...]:
    """The steps, with the stepWeight + maxWeight shorthand written out."""
    if spec.steps is not None:
        return tuple(spec.steps)
    if spec.step_weight is not None and spec.max_weight is not None:
        weights = list(range(spec.step_weight, spec.max_weight, spec.step_weight))
        weights.append(spec.max_weight)
        return tuple(CanaryStep(set_weight=w) for w in weights)
    return ()


def step_candidate_percents(steps: tuple[CanaryStep, ...]) -> tuple[int, ...]:
    """The candidate's percent in each step: a step without setWeight keeps the last one."""
    percents: list[int] = []
    current = 0
    for step in steps:
        if step.set_weight is not None:
            current = step.set_weight
        percents.append(current)
    return tuple(percents)


def rollout_hash(spec: TrafficSplitSpec) -> str:
    """What identifies one rollout: changing it restarts the canary; pausing does not."""
    return content_hash(
        spec.model_dump(
            mode="json",
            include={
                "endpoint_ref",
                "baseline",
                "candidate",
                "weights",
                "steps",
                "step_weight",
                "max_weight",
                "on_success",
            },
        )
    )


def shares(weights: Mapping[str, float | None]) -> dict[str, float]:
    values = {name: float(w or 0.0) for name, w in weights.items()}
    total = sum(values.values())
    return {name: (w / total if total else 0.0) for name, w in values.items()}


def same_shares(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> bool:
    left, right = shares(a), shares(b)
    return all(
        abs(left.get(name, 0.0) - right.get(name, 0.0)) <= _SHARE_TOLERANCE
        for name in set(left) | set(right)
    )


def _timestamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse(value: str | None) -> datetime | None:
    """A timestamp of the status; None when there is none or it does not parse (hand-edited),
    and UTC when it names no zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_TIMESTAMP_FIELDS = ("step_started_at", "waiting_since", "pause_started_at", "last_analysis_at")


def _readable(status: TrafficSplitStatus) -> TrafficSplitStatus:
    """The previous status with what a pass cannot act on (a hand-edited status: a timestamp
    that does not parse, a negative step) reset, so the wait it timed starts again and the
    step is the first, instead of every pass failing."""
    reset: dict[str, Any] = {
        name: None
        for name in _TIMESTAMP_FIELDS
        if getattr(status, name) is not None and _parse(getattr(status, name)) is None
    }
    if status.step_index is not None and status.step_index < 0:
        reset["step_index"] = 0
    return status.model_copy(update=reset) if reset else status


def fresh_status(previous: TrafficSplitStatus, spec: TrafficSplitSpec) -> TrafficSplitStatus:
    """A new rollout: nothing of the old one but the requests already handled."""
    return TrafficSplitStatus(
        handled=previous.handled,
        rollout_hash=rollout_hash(spec),
        conditions=previous.conditions,
        observed_generation=previous.observed_generation,
        phase=Phase.INITIALIZING,
        step_index=0,
        step_count=len(canary_steps(spec)) or None,
    )


# --------------------------------------------------------------------------- one pass


@dataclass
class _Pass:
    spec: TrafficSplitSpec
    observed: SplitObservation
    status: TrafficSplitStatus
    actions: list[SetWeights] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    recheck: float | None = None
    look: Look | None = None
    promote_now: bool = False
    asked: Mapping[str, float] = field(init=False)
    """The weights the status this pass started from asks for (what is known to be written
    down, whatever happens to this pass's status)."""

    def __post_init__(self) -> None:
        self.asked = dict(self.status.desired_weights)

    @property
    def now(self) -> datetime:
        return self.observed.now

    @property
    def endpoint(self) -> EndpointWeights:
        assert self.observed.endpoint is not None
        return self.observed.endpoint

    def update(self, **fields: Any) -> None:
        self.status = self.status.model_copy(update=fields)

    def move(self, phase: Phase, reason: str, message: str) -> None:
        if phase != self.status.phase or reason != self.status.reason:
            self.transitions.append(Transition(self.status.phase, phase, reason, message))
        self.update(phase=phase, reason=reason, message=message)

    def wake_in(self, seconds: float) -> None:
        seconds = max(0.5, seconds)
        self.recheck = seconds if self.recheck is None else min(self.recheck, seconds)

    def wake_at(self, moment: datetime) -> None:
        self.wake_in((moment - self.now).total_seconds())

    def record(self, note: str, **fields: Any) -> None:
        entry = StepRecord(
            time=_timestamp(self.now),
            step_index=self.status.step_index or 0,
            weights=dict(self.status.live_weights),
            note=note,
            **fields,
        )
        self.update(history=[*self.status.history, entry][-HISTORY_LIMIT:])

    def plan(self, outcome: Outcome) -> TrafficSplitPlan:
        """The pass's answer. Weight writes sit between two `Remember`s: the first keeps the
        status with the weights asked for before this pass, so a refused write leaves a status
        that does not claim weights it never asked SageMaker for; the last keeps it all."""
        steps: list[SplitStep] = []
        if self.actions:
            steps.append(
                Remember(self.status.model_copy(update={"desired_weights": dict(self.asked)}))
            )
            steps += self.actions
        steps.append(Remember(self.status))
        return Plan(
            tuple(steps),
            outcome,
            self.recheck,
            SplitFindings(tuple(self.transitions), self.look),
        )

    # ------------------------------------------------------------------ weights

    def target_weights(self, candidate_percent: float) -> dict[str, float]:
        """Every production variant: the candidate its percent, the baseline the rest, others 0."""
        assert self.spec.baseline is not None
        assert self.spec.candidate is not None
        weights = {name: 0.0 for name in self.endpoint.variant_names}
        weights[self.spec.candidate] = float(candidate_percent)
        weights[self.spec.baseline] = float(100 - candidate_percent)
        return weights

    def fixed_weights(self) -> dict[str, float]:
        assert self.spec.weights is not None
        weights = {name: 0.0 for name in self.endpoint.variant_names}
        weights.update({w.variant: w.weight for w in self.spec.weights})
        return weights

    def apply(self, target: dict[str, float]) -> bool:
        """Ask for `target` if SageMaker is not already moving there; whether it is live.

        Write-ahead: weights that differ from what the status this pass started from asks
        for are only recorded (status.desiredWeights) in this pass and written by the next.
        The status is written after the pass's AWS calls, so an operator killed in between
        would otherwise restart from a status one step behind the endpoint and write the
        old step's weights again (then the new step's, a second time). Asking for weights
        when nothing was asked yet, or again after drift, depends on the spec alone and is
        written at once.

        A wait for the endpoint has the progress deadline: `deadline_passed` tells.
        """
        endpoint = self.endpoint
        current = {v.name: v.current_weight for v in endpoint.variants}
        moving_to = {
            v.name: v.desired_weight if v.desired_weight is not None else v.current_weight
            for v in endpoint.variants
        }
        if not same_shares(moving_to, target) and endpoint.in_service:
            if not self.asked or same_shares(self.asked, target):
                self.actions.append(SetWeights(endpoint.name, tuple(sorted(target.items()))))
            else:
                self.wake_in(0)  # write them once this status is written down
        live = endpoint.in_service and same_shares(current, target) and not self.actions
        candidate = self.spec.candidate
        self.update(
            desired_weights=target,
            live_weights={k: float(v or 0.0) for k, v in current.items()},
            candidate_weight_percent=round(100.0 * shares(current)[candidate], 3)
            if candidate is not None and candidate in current
            else None,
        )
        if live:
            self.update(waiting_since=None)
        elif self.status.waiting_since is None:
            self.update(waiting_since=_timestamp(self.now))
        return live

    def deadline_passed(self, since: str | None, *, wake: bool = True) -> bool:
        started = _parse(since)
        if started is None:
            return False
        deadline = started + timedelta(seconds=self.spec.progress_deadline_seconds)
        if self.now >= deadline:
            return True
        if wake:
            self.wake_at(deadline)
        return False

    def await_endpoint(self) -> Outcome:
        # No wake-up at the deadline: while SageMaker works the driver polls anyway.
        if self.deadline_passed(self.status.waiting_since, wake=False):
            message = (
                f"endpoint {self.endpoint.name} has not applied the weights within"
                f" {self.spec.progress_deadline_seconds}s (status {self.endpoint.status})"
            )
            return Outcome.stalled(ENDPOINT_NOT_READY, message)
        return Outcome.progressing(
            "ApplyingWeights",
            f"endpoint {self.endpoint.name} ({self.endpoint.status}) moving to"
            f" {describe_weights(self.status.desired_weights)}",
        )


def endpoint_read_since(
    spec: TrafficSplitSpec, previous: TrafficSplitStatus, requests: Requests, now: datetime
) -> datetime | None:
    """How recent a read of the endpoint this pass needs: at rest (this spec's split in force
    or its canary succeeded, no new manual request) one another pass made since this moment
    will do; otherwise (None) it reads the endpoint now."""
    handled = previous.handled
    new_request = (
        (requests.promote is not None and requests.promote != handled.promote)
        or (requests.abort is not None and requests.abort != handled.abort)
        or (requests.retry is not None and requests.retry != handled.retry)
    )
    at_rest = previous.phase == Phase.SUCCEEDED and previous.rollout_hash == rollout_hash(spec)
    if not at_rest or new_request:
        return None
    return now - timedelta(seconds=SHARED_ENDPOINT_READ_SECONDS)


def plan_traffic_split(
    spec: TrafficSplitSpec, observed: SplitObservation, previous: TrafficSplitStatus
) -> TrafficSplitPlan | SplitLookups:
    """The next pass of a TrafficSplit, or the reads it still needs."""
    previous = _readable(previous)
    state = _Pass(spec, observed, previous)
    problem = _check_target(spec, observed)
    if problem is not None:
        return state.plan(problem)
    if previous.rollout_hash != rollout_hash(spec) or previous.phase is None:
        state.status = fresh_status(previous, spec)
        state.transitions.append(
            Transition(previous.phase, Phase.INITIALIZING, "Initializing", "rollout started")
        )
    _handle_requests(state)
    if observed.endpoint is None:
        return state.plan(
            Outcome.progressing(
                "WaitingForEndpoint",
                f"SageMaker endpoint {observed.target.endpoint_name if observed.target else ''}"
                " does not exist yet",
            )
        )
    missing = _named_variants(spec) - observed.endpoint.variant_names
    if missing:
        return state.plan(
            Outcome.progressing(
                "WaitingForVariants",
                f"endpoint {observed.endpoint.name} does not run variant(s)"
                f" {', '.join(sorted(missing))} yet",
            )
        )
    if spec.weights is not None:
        return _plan_fixed(state)

    alarms = spec.auto_rollback.alarms if spec.auto_rollback is not None else []
    if alarms and state.status.phase in ACTIVE_PHASES:
        if observed.alarms is None:
            return SplitLookups(alarms=tuple(alarms))
        firing = sorted(name for name in alarms if observed.alarms.get(name) == AlarmState.ALARM)
        if firing:
            state.move(Phase.ROLLING_BACK, "AlarmFired", f"alarm(s) in ALARM: {', '.join(firing)}")
    return _plan_canary(state)


def _named_variants(spec: TrafficSplitSpec) -> frozenset[str]:
    if spec.weights is not None:
        return frozenset(w.variant for w in spec.weights)
    return frozenset(v for v in (spec.baseline, spec.candidate) if v is not None)


def _check_target(spec: TrafficSplitSpec, observed: SplitObservation) -> Outcome | None:
    if observed.target is None:
        return Outcome.stalled(
            MODEL_ENDPOINT_NOT_FOUND,
            f"ModelEndpoint {spec.endpoint_ref.name} not found in this namespace",
        )
    if observed.target.outside_shard is not None:
        # Its weights belong to the other shard's operator, which does not see this split.
        return Outcome.stalled(
            MODEL_ENDPOINT_IN_OTHER_SHARD,
            f"ModelEndpoint {spec.endpoint_ref.name} is handled by another shard: its labels"
            f" do not match this operator's selector {observed.target.outside_shard!r};"
            " label the TrafficSplit and its ModelEndpoint for the same shard",
        )
    if observed.competing_split is not None:
        return Outcome.stalled(
            WEIGHTS_MANAGED_ELSEWHERE,
            f"the weights of ModelEndpoint {spec.endpoint_ref.name} are managed by"
            f" TrafficSplit {observed.competing_split}",
        )
    missing = _named_variants(spec) - observed.target.variants
    if missing:
        return Outcome.stalled(
            VARIANT_NOT_FOUND,
            f"ModelEndpoint {spec.endpoint_ref.name} has no variant(s)"
            f" {', '.join(sorted(missing))}",
        )
    return None


def _handle_requests(state: _Pass) -> None:
    """Each new annotation value acts once; the value is remembered in status.handled."""
    requests, handled = state.observed.requests, state.status.handled
    new_abort = requests.abort is not None and requests.abort != handled.abort
    new_retry = requests.retry is not None and requests.retry != handled.retry
    new_promote = requests.promote is not None and requests.promote != handled.promote
    state.update(
        handled=HandledRequests(
            promote=requests.promote if new_promote else handled.promote,
            abort=requests.abort if new_abort else handled.abort,
            retry=requests.retry if new_retry else handled.retry,
        )
    )
    if state.spec.weights is not None:
        return  # a fixed split has nothing to promote, abort or retry
    if new_retry and state.status.phase in (Phase.FAILED, Phase.ABORTED):
        ended = state.status.phase
        state.status = fresh_status(state.status, state.spec)
        state.transitions.append(
            Transition(ended, Phase.INITIALIZING, "RetryRequested", "retry requested")
        )
    if new_abort and state.status.phase in ACTIVE_PHASES:
        state.move(Phase.ABORTED, "AbortRequested", "abort requested: all traffic to baseline")
    if new_promote and state.status.phase in ACTIVE_PHASES:
        state.promote_now = True


def _plan_fixed(state: _Pass) -> TrafficSplitPlan:
    target = state.fixed_weights()
    if state.status.phase not in (Phase.PROGRESSING, Phase.SUCCEEDED):
        state.move(Phase.PROGRESSING, "ApplyingWeights", describe_weights(target))
    if state.apply(target):
        message = f"weights in force: {describe_weights(target)}"
        state.move(Phase.SUCCEEDED, "SplitApplied", message)
        return state.plan(Outcome.ready("SplitApplied", message))
    if state.status.phase == Phase.SUCCEEDED:
        state.move(Phase.PROGRESSING, "ApplyingWeights", describe_weights(target))
    return state.plan(state.await_endpoint())


def _plan_canary(state: _Pass) -> TrafficSplitPlan | SplitLookups:
    phase = state.status.phase
    if phase == Phase.INITIALIZING:
        state.move(Phase.PROGRESSING, "StepStarted", "step 1")
        return _progress(state)
    if phase in (Phase.PROGRESSING, Phase.PAUSED):
        return _progress(state)
    if phase in (Phase.PROMOTING, Phase.SUCCEEDED):
        return _promote(state)
    return _roll_back(state)


def _baseline_only(state: _Pass) -> dict[str, float]:
    return state.target_weights(0)


def _roll_back(state: _Pass) -> TrafficSplitPlan:
    """RollingBack -> Failed, and Aborted: all traffic back on the baseline, kept there."""
    live = state.apply(_baseline_only(state))
    phase = state.status.phase
    if phase == Phase.ABORTED:
        return state.plan(
            Outcome.stalled("Aborted", "aborted: all traffic on the baseline; retry to restart")
        )
    if not live:
        if phase != Phase.ROLLING_BACK:
            state.move(Phase.ROLLING_BACK, state.status.reason or "RollingBack", "rolling back")
        outcome = state.await_endpoint()
        return state.plan(
            outcome
            if outcome.kind.value == "Stalled"
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


def _final_weights(state: _Pass) -> dict[str, float]:
    if state.spec.on_success == OnSuccess.KEEP_SPLIT:
        percents = step_candidate_percents(canary_steps(state.spec))
        return state.target_weights(percents[-1] if percents else 0)
    return state.target_weights(100)


def _promote(state: _Pass) -> TrafficSplitPlan:
    target = _final_weights(state)
    if state.status.phase != Phase.SUCCEEDED:
        state.move(Phase.PROMOTING, "Promoting", f"moving to {describe_weights(target)}")
    if not state.apply(target):
        return state.plan(state.await_endpoint())
    message = f"canary succeeded: {describe_weights(target)}"
    if state.status.phase != Phase.SUCCEEDED:
        state.record("promoted")
    state.move(Phase.SUCCEEDED, "Succeeded", message)
    return state.plan(Outcome.ready("Succeeded", message))


def _analysis_wanted(state: _Pass, step: CanaryStep) -> bool:
    if state.spec.analysis is None or state.spec.skip_analysis:
        return False
    return step.analysis if step.analysis is not None else step.set_weight is not None


def _progress(state: _Pass) -> TrafficSplitPlan | SplitLookups:
    """Progressing and Paused: the current step's weights, analysis and pause, in that order."""
    spec = state.spec
    steps = canary_steps(spec)
    percents = step_candidate_percents(steps)
    while True:
        index = state.status.step_index or 0
        if index >= len(steps):
            if spec.promotion == Promotion.MANUAL and not state.promote_now:
                state.apply(state.target_weights(percents[-1]))
                state.move(Phase.PAUSED, AWAITING_PROMOTION, "all steps passed: promote to finish")
                return state.plan(Outcome.progressing(AWAITING_PROMOTION, "waiting for promote"))
            state.promote_now = False
            return _promote(state)
        if spec.paused:
            state.move(Phase.PAUSED, PAUSED_BY_SPEC, "spec.paused is true")
            return state.plan(Outcome.progressing(PAUSED_BY_SPEC, "spec.paused is true"))
        step = steps[index]
        live = state.apply(state.target_weights(percents[index]))
        if (
            state.status.phase == Phase.PAUSED
            and state.status.reason == INSUFFICIENT_TRAFFIC
            and not state.promote_now
        ):
            # A status that lost its message (hand-edited, or written by an older operator)
            # still says why the split stopped and what the user can do.
            message = state.status.message or _inconclusive_message(state, index, why=None)
            state.move(Phase.PAUSED, INSUFFICIENT_TRAFFIC, message)
            return state.plan(Outcome.stalled(INSUFFICIENT_TRAFFIC, message))
        if not live:
            outcome = state.await_endpoint()
            if outcome.reason == ENDPOINT_NOT_READY:
                state.move(Phase.PAUSED, ENDPOINT_NOT_READY, outcome.message)
            else:
                state.move(Phase.PROGRESSING, "ApplyingWeights", f"step {index + 1}")
            return state.plan(outcome)
        if state.status.step_started_at is None:
            state.update(step_started_at=_timestamp(state.now))
            state.record(f"step {index + 1}: candidate at {percents[index]}%")
        if (
            _analysis_wanted(state, step)
            and not state.status.analysis_done
            and not state.promote_now
        ):
            verdict = _analyse(state)
            if isinstance(verdict, SplitLookups | Plan):
                return verdict
        if state.promote_now:
            state.record(f"step {index + 1}: promoted by request")
        elif step.pause is not None:
            waiting = _pause(state, step, index)
            if waiting is not None:
                return waiting
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
        if index + 1 < len(steps):
            state.move(Phase.PROGRESSING, "StepStarted", f"step {index + 2}")


def _inconclusive_message(state: _Pass, index: int, *, why: str | None) -> str:
    """Why a step's analysis stopped the split, and what the user can do; `why` is None when
    the cause is no longer known."""
    cause = f" ({why})" if why else ""
    return (
        f"step {index + 1}: analysis inconclusive for {state.spec.progress_deadline_seconds}s"
        f"{cause}; not promoted, not rolled back: promote, abort or retry"
    )


def _pause(state: _Pass, step: CanaryStep, index: int) -> TrafficSplitPlan | None:
    assert step.pause is not None
    if step.pause.duration is None:
        message = f"step {index + 1} is a manual gate: promote to go on"
        state.move(Phase.PAUSED, MANUAL_GATE, message)
        return state.plan(Outcome.progressing(MANUAL_GATE, message))
    started = _parse(state.status.pause_started_at)
    if started is None:
        started = state.now
        state.update(pause_started_at=_timestamp(started))
    ends = started + timedelta(seconds=step.pause.duration)
    if state.now < ends:
        state.move(
            Phase.PROGRESSING, "Pausing", f"step {index + 1}: pausing until {_timestamp(ends)}"
        )
        state.wake_at(ends)
        return state.plan(Outcome.progressing("Pausing", state.status.message or ""))
    return None


def _analyse(state: _Pass) -> TrafficSplitPlan | SplitLookups | None:
    """One look if one is due; None when the step's analysis has passed."""
    spec, analysis = state.spec, state.spec.analysis
    assert analysis is not None
    assert spec.baseline is not None
    assert spec.candidate is not None
    started = _parse(state.status.step_started_at)
    assert started is not None
    index = state.status.step_index or 0
    last = _parse(state.status.last_analysis_at)
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
    state.look = result
    state.update(
        last_analysis_at=_timestamp(state.now),
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
            return _roll_back(state)
    if result.verdict == Verdict.PASS:
        state.update(analysis_done=True)
        return None
    if result.verdict == Verdict.INCONCLUSIVE and state.deadline_passed(
        state.status.step_started_at
    ):
        why = "too little traffic" if result.insufficient_traffic else "no decision"
        message = _inconclusive_message(state, index, why=why)
        state.move(Phase.PAUSED, INSUFFICIENT_TRAFFIC, message)
        return state.plan(Outcome.stalled(INSUFFICIENT_TRAFFIC, message))
    state.move(Phase.PROGRESSING, "Analysing", f"step {index + 1}: verdict {result.verdict.value}")
    state.wake_in(analysis.interval)
    return state.plan(Outcome.progressing("Analysing", state.status.message or ""))
