"""Turn a TrafficSplit pass into what users see: status, Events on every transition and
weight change, and the canary's Prometheus metrics."""

from __future__ import annotations

from serving_operator.api.trafficsplit import Phase, TrafficSplitSpec, TrafficSplitStatus
from serving_operator.metrics import ANALYSIS_CHECKS, CANARY_PHASE, CANARY_WEIGHT
from serving_operator.planning.failures import outcome_for_failure
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.planning.trafficsplit.actions import describe_weights
from serving_operator.planning.trafficsplit.findings import SplitFindings
from serving_operator.planning.trafficsplit.handback import deletion_outcome, hand_back
from serving_operator.planning.trafficsplit.observed import EndpointReferenceTarget
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
    hint = status.hand_back
    if (
        status.phase == Phase.SUCCEEDED
        and hint is not None
        and (context.status.phase != Phase.SUCCEEDED or context.status.hand_back != hint)
    ):
        # Said when the split succeeds (and when what it would hand back changes): before
        # anyone deletes it.
        events.append(Event.normal("HandBackOnDelete", hint.message))
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


def report_deletion(
    spec: TrafficSplitSpec, context: Context, target: EndpointReferenceTarget | None
) -> Report:
    """Whether the split may go (spec.onDelete), and what the endpoint gets back. What it
    gets back was said in status.handBack; if the ModelEndpoint's spec changed since, the
    new weights are said now, before they apply."""
    outcome = deletion_outcome(spec, target, context.status)
    events: list[Event] = []
    told = context.status.hand_back
    now = hand_back(target, context.status)
    if now is not None and (told is None or told.weights != now.weights):
        events.append(Event.normal("HandBackOnDelete", now.message))
    if outcome.kind == OutcomeKind.READY:
        for phase in Phase:
            CANARY_PHASE.labels(context.namespace, context.name, phase.value).set(0.0)
    # The driver announces a finished deletion's outcome as an Event.
    return Report(outcome=outcome, events=events)
