"""What one pass builds up as it walks the state machine: the status it will remember, the
weight writes, the transitions to announce, when to look again; and the two waits every
phase shares (for the endpoint to apply weights, and for a deadline)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from serving_operator.api.trafficsplit import Phase, TrafficSplitSpec, TrafficSplitStatus
from serving_operator.planning.outcome import Outcome, Plan, Remember
from serving_operator.planning.trafficsplit.actions import SetWeights, describe_weights
from serving_operator.planning.trafficsplit.analysis import Look
from serving_operator.planning.trafficsplit.findings import (
    SplitFindings,
    SplitStep,
    TrafficSplitPlan,
    Transition,
)
from serving_operator.planning.trafficsplit.handback import hand_back
from serving_operator.planning.trafficsplit.history import new_record, with_record, with_summary
from serving_operator.planning.trafficsplit.observed import EndpointWeights, SplitObservation
from serving_operator.planning.trafficsplit.reasons import ENDPOINT_NOT_READY
from serving_operator.planning.trafficsplit.times import parse_time, timestamp
from serving_operator.planning.trafficsplit.weights import (
    canary_weights,
    fixed_weights,
    same_shares,
    shares,
)


@dataclass
class PassState:
    spec: TrafficSplitSpec
    observed: SplitObservation
    status: TrafficSplitStatus
    actions: list[SetWeights] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    recheck: float | None = None
    look: Look | None = None
    promote_now: bool = False
    """A new promote request in an active phase: the current step's waits are skipped."""
    endpoint_read: bool = True
    """Whether this pass read the endpoint (False: a pass AWS failed, see outage): only a
    pass that read it says what SageMaker serves."""
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
        entry = new_record(self.status, self.now, note, **fields)
        self.update(
            history=with_record(self.status, entry),
            step_summaries=with_summary(self.status, entry),
        )

    def plan(self, outcome: Outcome) -> TrafficSplitPlan:
        """The pass's answer. Weight writes sit between two `Remember`s: the first keeps the
        status with the weights asked for before this pass, so a refused write leaves a status
        that does not claim weights it never asked SageMaker for; the last keeps it all.

        Whatever path the pass took (a pause by spec, a request, a problem with the target),
        the live weights it remembers are the endpoint's CurrentWeights as read in this pass."""
        if self.endpoint_read:
            self.observe_live_weights()
            self.update(hand_back=hand_back(self.observed.target, self.status))
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

    def observe_live_weights(self) -> None:
        """status.liveWeights and candidateWeightPercent from the endpoint as this pass read
        it (CurrentWeight: what SageMaker serves, not what was asked for); nothing known when
        the pass read no endpoint."""
        endpoint = self.observed.endpoint
        if endpoint is None:
            self.update(live_weights={}, candidate_weight_percent=None)
            return
        current = {v.name: float(v.current_weight or 0.0) for v in endpoint.variants}
        candidate = self.spec.candidate
        self.update(
            live_weights=current,
            candidate_weight_percent=round(100.0 * shares(current)[candidate], 3)
            if candidate is not None and candidate in current
            else None,
        )

    def target_weights(self, candidate_percent: float) -> dict[str, float]:
        return canary_weights(self.spec, self.endpoint.variant_names, candidate_percent)

    def fixed_weights(self) -> dict[str, float]:
        return fixed_weights(self.spec, self.endpoint.variant_names)

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
        self.update(desired_weights=target)
        self.observe_live_weights()
        if live:
            self.update(waiting_since=None)
        elif self.status.waiting_since is None:
            self.update(waiting_since=timestamp(self.now))
        return live

    # ------------------------------------------------------------------ waits

    def deadline_passed(self, since: str | None, *, wake: bool = True) -> bool:
        """Whether spec.progressDeadlineSeconds has run out since `since`; if not (and
        `wake`), the pass looks again when it does."""
        started = parse_time(since)
        if started is None:
            return False
        deadline = started + timedelta(seconds=self.spec.progress_deadline_seconds)
        if self.now >= deadline:
            return True
        if wake:
            self.wake_at(deadline)
        return False

    def await_endpoint(self) -> Outcome:
        """The wait for SageMaker to apply the weights asked for: Stalled past the deadline."""
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
