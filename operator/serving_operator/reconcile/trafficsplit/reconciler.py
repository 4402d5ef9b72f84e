"""One reconcile pass of a TrafficSplit: read the endpoint (and, when the planner asks, the
metrics and alarms), plan, write the weights. Decides nothing itself."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from serving_operator.api.trafficsplit import TrafficSplitSpec, TrafficSplitStatus
from serving_operator.aws.base import AwsError
from serving_operator.aws.clients import Clients
from serving_operator.planning.failures import AwsFailure, outcome_for_failure
from serving_operator.planning.trafficsplit.actions import SetWeights
from serving_operator.planning.trafficsplit.observed import (
    EndpointReferenceTarget,
    Lookups,
    Requests,
    SplitObservation,
)
from serving_operator.planning.trafficsplit.planner import (
    SplitPlan,
    endpoint_read_since,
    plan_traffic_split,
)
from serving_operator.reconcile.trafficsplit.weights import endpoint_weights, set_weights

# Alarms, then metrics: the planner never needs more rounds than that.
_MAX_LOOKUP_ROUNDS = 4


@dataclass(frozen=True)
class SplitSurroundings:
    """What the handler layer knows from Kubernetes: the referenced ModelEndpoint, whether
    another TrafficSplit already manages its weights, and the manual-control annotations."""

    target: EndpointReferenceTarget | None
    competing_split: str | None = None
    requests: Requests = field(default_factory=Requests)


@dataclass
class SplitPassResult:
    plan: SplitPlan
    executed: list[SetWeights] = field(default_factory=list)
    aws_failure: AwsFailure | None = None


class TrafficSplitReconciler:
    def __init__(self, clients: Clients) -> None:
        self._aws = clients

    def reconcile(
        self,
        spec: TrafficSplitSpec,
        surroundings: SplitSurroundings,
        previous: TrafficSplitStatus,
        now: datetime,
    ) -> SplitPassResult:
        target = surroundings.target
        since = endpoint_read_since(spec, previous, surroundings.requests, now)
        try:
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
            observed = SplitObservation(
                now=now,
                target=target,
                endpoint=endpoint,
                competing_split=surroundings.competing_split,
                requests=surroundings.requests,
            )
            plan = plan_traffic_split(spec, observed, previous)
            for _ in range(_MAX_LOOKUP_ROUNDS):
                if not isinstance(plan, Lookups):
                    break
                observed = self._read(spec, observed, plan)
                plan = plan_traffic_split(spec, observed, previous)
            if isinstance(plan, Lookups):
                raise RuntimeError(f"the TrafficSplit planner keeps asking for {plan}")
        except AwsError as error:
            return self._failed(previous, error)
        result = SplitPassResult(plan)
        for action in plan.actions:
            try:
                set_weights(self._aws.sagemaker, action)
            except AwsError as error:
                result.aws_failure = error.failure
                # The weights were not written: the status must not claim they were asked for.
                result.plan = replace(
                    plan,
                    actions=(),
                    outcome=outcome_for_failure(error.failure),
                    status=plan.status.model_copy(
                        update={"desired_weights": previous.desired_weights}
                    ),
                )
                return result
            result.executed.append(action)
        return result

    def _read(
        self, spec: TrafficSplitSpec, observed: SplitObservation, lookups: Lookups
    ) -> SplitObservation:
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

    @staticmethod
    def _failed(previous: TrafficSplitStatus, error: AwsError) -> SplitPassResult:
        return SplitPassResult(
            SplitPlan((), outcome_for_failure(error.failure), previous), aws_failure=error.failure
        )
