"""One reconcile pass of a TrafficSplit: read the endpoint (and, when the planner asks, the
metrics and alarms), plan, write the weights. Decides nothing itself: what a refused write
leaves in status is the planner's word too (see `PassState.plan`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import assert_never

from serving_operator.api.trafficsplit import TrafficSplitSpec, TrafficSplitStatus
from serving_operator.aws.clients import Clients
from serving_operator.planning.outcome import Remember
from serving_operator.planning.trafficsplit.actions import SetWeights
from serving_operator.planning.trafficsplit.findings import SplitFindings, TrafficSplitPlan
from serving_operator.planning.trafficsplit.observed import (
    EndpointReferenceTarget,
    Requests,
    SplitLookups,
    SplitObservation,
)
from serving_operator.planning.trafficsplit.outage import plan_after_failure
from serving_operator.planning.trafficsplit.planner import (
    endpoint_read_since,
    plan_traffic_split,
)
from serving_operator.reconcile.passes import PassResult, run_pass
from serving_operator.reconcile.trafficsplit.weights import endpoint_weights, set_weights

SplitPass = PassResult[SetWeights, TrafficSplitStatus, SplitFindings, SplitObservation]
"""What one pass did: `memory` is the status to write, `findings` its transitions and look."""


@dataclass(frozen=True)
class SplitSurroundings:
    """What the handler layer knows from Kubernetes: the referenced ModelEndpoint, whether
    another TrafficSplit already manages its weights, and the manual-control annotations."""

    target: EndpointReferenceTarget | None
    competing_split: str | None = None
    requests: Requests = field(default_factory=Requests)


def _with_outage_plan(done: SplitPass, after: TrafficSplitPlan) -> SplitPass:
    """The failed pass, then the outage plan's steps (only `Remember`s: it has nothing to
    write with): its memory and outcome, the failed plan's transitions and look with its own.
    The AWS failure stays the pass's, so the driver backs off as after any failure."""
    memory = done.memory
    for step in after.actions:
        assert isinstance(step, Remember), f"an outage plan cannot write: {step}"
        memory = step.memory
    before = done.findings or SplitFindings()
    findings = SplitFindings(
        before.transitions + after.findings.transitions, before.look or after.findings.look
    )
    return replace(
        done,
        memory=memory,
        outcome=after.outcome,
        plan=replace(after, findings=findings),
    )


class TrafficSplitReconciler:
    def __init__(self, clients: Clients) -> None:
        self._aws = clients

    def reconcile(
        self,
        spec: TrafficSplitSpec,
        surroundings: SplitSurroundings,
        previous: TrafficSplitStatus,
        now: datetime,
    ) -> SplitPass:
        done: SplitPass = run_pass(
            memory=previous,
            observe=lambda: self._observe(spec, surroundings, previous, now),
            plan=lambda seen: plan_traffic_split(spec, seen, previous),
            look_up=lambda lookups, seen: self._look_up(spec, lookups, seen),
            execute=self._execute,
        )
        if done.aws_failure is not None:
            # AWS failed this pass: the deadline of what waits on AWS still counts, judged
            # from what the pass remembered (planning/trafficsplit/outage).
            after = plan_after_failure(spec, done.memory, now, done.aws_failure)
            if after is not None:
                return _with_outage_plan(done, after)
        return done

    def _observe(
        self,
        spec: TrafficSplitSpec,
        surroundings: SplitSurroundings,
        previous: TrafficSplitStatus,
        now: datetime,
    ) -> SplitObservation:
        """The endpoint's weights: a split on another's endpoint, or none, reads nothing."""
        target = surroundings.target
        since = endpoint_read_since(spec, previous, surroundings.requests, now)
        endpoint = (
            endpoint_weights(
                self._aws.sagemaker,
                target.endpoint_name,
                read_since=since.timestamp() if since is not None else None,
                now=now.timestamp(),
            )
            if target is not None and surroundings.competing_split is None
            else None
        )
        return SplitObservation(
            now=now,
            target=target,
            endpoint=endpoint,
            competing_split=surroundings.competing_split,
            requests=surroundings.requests,
        )

    def _look_up(
        self, spec: TrafficSplitSpec, lookups: SplitLookups, observed: SplitObservation
    ) -> SplitObservation:
        """Read what the planner asked for, and nothing else."""
        if lookups.alarms:
            observed = replace(observed, alarms=self._aws.cloudwatch.alarm_states(lookups.alarms))
        if lookups.metrics is not None:
            assert observed.endpoint is not None
            assert spec.analysis is not None
            variants = [v for v in (spec.baseline, spec.candidate) if v is not None]
            observed = replace(
                observed,
                metrics=self._aws.cloudwatch.read_analysis(
                    observed.endpoint.name, variants, spec.analysis.metrics, lookups.metrics
                ),
            )
        return observed

    def _execute(self, action: SetWeights) -> bool:
        match action:
            case SetWeights():
                set_weights(self._aws.sagemaker, action)
                return True
            case _:
                assert_never(action)
