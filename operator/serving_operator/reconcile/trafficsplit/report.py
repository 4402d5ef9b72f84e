"""Turn a TrafficSplit pass into what users see: status, Events on every transition and
weight change, and the canary's Prometheus metrics."""

from __future__ import annotations

from serving_operator.api.trafficsplit import Phase, TrafficSplitStatus
from serving_operator.metrics import ANALYSIS_CHECKS, CANARY_PHASE, CANARY_WEIGHT
from serving_operator.planning.failures import outcome_for_failure
from serving_operator.planning.outcome import Outcome
from serving_operator.planning.trafficsplit.actions import describe_weights
from serving_operator.planning.trafficsplit.findings import SplitFindings
from serving_operator.planning.trafficsplit.weights import shares
from serving_operator.reconcile.report import Event, ObjectContext, PassReport
from serving_operator.reconcile.trafficsplit.reconciler import SplitPass

Context = ObjectContext[TrafficSplitStatus]
Report = PassReport[TrafficSplitStatus]

_WARNING_PHASES = frozenset({Phase.ROLLING_BACK, Phase.FAILED, Phase.ABORTED})


def report_pass(result: SplitPass, context: Context, endpoint_name: str | None) -> Report:
    """`result.memory` is the status the pass leaves (what it remembered before, when it
    failed before its first `Remember`), `result.findings` its transitions and look."""
    status = result.memory.model_copy(update={"endpoint_name": endpoint_name})
    findings = result.findings or SplitFindings()
    events: list[Event] = []
    for transition in findings.transitions:
        message = f"{transition.previous or 'new'} -> {transition.phase}: {transition.message}"
        post = Event.warning if transition.phase in _WARNING_PHASES else Event.normal
        events.append(post(transition.reason, message))
    for action in result.executed:
        events.append(
            Event.normal(
                "WeightsSet",
                f"endpoint {action.endpoint_name}: {describe_weights(action.as_dict)}",
            )
        )
    if result.aws_failure is not None:
        # The failure itself (the outcome may be a deadline that ran out during it).
        failed = outcome_for_failure(result.aws_failure)
        events.append(Event.warning(failed.reason, failed.message))
    _export_metrics(context, status, findings)
    return Report(
        outcome=result.outcome,
        status=status,
        events=events,
        recheck_after=result.recheck_after,
    )


def _export_metrics(context: Context, status: TrafficSplitStatus, findings: SplitFindings) -> None:
    namespace, name = context.namespace, context.name
    for variant, share in shares(status.live_weights).items():
        CANARY_WEIGHT.labels(namespace, name, variant).set(round(100.0 * share, 3))
    for phase in Phase:
        CANARY_PHASE.labels(namespace, name, phase.value).set(1.0 if status.phase == phase else 0.0)
    if findings.look is not None:
        for check in findings.look.checks:
            ANALYSIS_CHECKS.labels(namespace, name, check.verdict).inc()


def report_deletion(context: Context) -> Report:
    endpoint = context.status.endpoint_name or "the endpoint"
    message = (
        f"TrafficSplit deleted: the weights of {endpoint} are the ModelEndpoint's again"
        " (its spec's weights apply at its next pass)"
    )
    for phase in Phase:
        CANARY_PHASE.labels(context.namespace, context.name, phase.value).set(0.0)
    return Report(
        # The driver announces a finished deletion's outcome as an Event.
        outcome=Outcome.ready("WeightsHandedBack", message),
    )
