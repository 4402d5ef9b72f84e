"""Turn a ModelEndpoint pass into what users see: its status, conditions and Events."""

from __future__ import annotations

from typing import assert_never

from serving_operator.api.common import parse_rfc3339, to_optional_rfc3339
from serving_operator.api.modelendpoint import (
    AsyncInferenceStatus,
    ModelEndpointStatus,
    VariantAutoscalingStatus,
    VariantStatus,
    WarmUpStatus,
)
from serving_operator.planning.modelendpoint.actions import (
    CreateEndpointConfig,
    CreateModel,
    describe_action,
)
from serving_operator.planning.modelendpoint.endpoint import (
    describe_drift,
    single_instance_variants,
)
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.reconcile.modelendpoint.reconciler import ReconcileResult
from serving_operator.reconcile.report import Event, ObjectContext, PassReport
from serving_operator.status import condition, find_condition, now_rfc3339

SINGLE_INSTANCE = "SingleInstance"

Context = ObjectContext[ModelEndpointStatus]


def memory_of(status: ModelEndpointStatus) -> Memory:
    """What the last pass left to remember, read back from status."""
    return Memory(
        attempted_config=status.attempted_config_name,
        cleaned_for_config=status.cleaned_up_for_config_name,
        warmed_for_config=status.warmed_up_for_config_name,
        scaling_registered=bool(status.autoscaling_registered),
        scaling_checked=status.autoscaling_checked,
        scaling_checked_at=parse_rfc3339(status.autoscaling_checked_at),
        models_listed_for_config=status.models_listed_for_config_name,
        models_listed_at=parse_rfc3339(status.models_listed_at),
    )


def percentages(weights: dict[str, float | None]) -> dict[str, float]:
    """Each variant's share of the requests, in percent (empty when all weights are 0)."""
    total = sum(w or 0.0 for w in weights.values())
    return {n: round(100.0 * (w or 0.0) / total, 2) for n, w in weights.items()} if total else {}


def _variants(result: ReconcileResult, before: ModelEndpointStatus) -> list[VariantStatus]:
    endpoint = result.endpoint
    if endpoint is None:
        return []
    current = percentages({v.name: v.current_weight for v in endpoint.variants})
    desired_share = percentages({v.name: v.desired_weight for v in endpoint.variants})
    desired = {v.name: v for v in result.desired.variants} if result.desired else {}
    models = {m.name: m for m in result.desired.models} if result.desired else {}
    # Warm-ups run after a rollout and the models are listed after a rollout and then hourly
    # (see the planner): between those, a multi-model variant keeps the last ones shown.
    previous = {v.name: v for v in before.variants}
    statuses = []
    for observed in endpoint.variants:
        spec = desired.get(observed.name)
        scaling = spec.autoscaling if spec else None
        model = models[spec.model_name] if spec and spec.model_name is not None else None
        prefix = model.multi_model_prefix if model else None
        kept = previous.get(observed.name) if prefix is not None else None
        warm_ups = [
            WarmUpStatus(target_model=w.target_model, milliseconds=w.milliseconds, error=w.error)
            for w in result.warm_ups
            if w.variant == observed.name
        ]
        if prefix is not None and prefix in result.models_listed:
            models_found = result.models_listed[prefix]  # listed now: even when empty
        else:
            models_found = kept.models_found if kept else []
        statuses.append(
            VariantStatus(
                name=observed.name,
                autoscaling=VariantAutoscalingStatus(
                    min_instances=scaling.min_instances,
                    max_instances=scaling.max_instances,
                    metric=scaling.metric,
                    target_value=scaling.target_value,
                )
                if scaling
                else None,
                container_hostnames=list(model.direct_hostnames) if model else [],
                models_found=models_found,
                warm_up=warm_ups or (kept.warm_up if kept else []),
                desired_weight=observed.desired_weight,
                current_weight=observed.current_weight,
                current_weight_percent=current.get(observed.name),
                desired_weight_percent=desired_share.get(observed.name),
                desired_instance_count=observed.desired_instance_count,
                current_instance_count=observed.current_instance_count,
            )
        )
    return statuses


def _status(result: ReconcileResult, context: Context, endpoint_name: str) -> ModelEndpointStatus:
    endpoint = result.endpoint
    memory = result.memory
    return ModelEndpointStatus(
        endpoint_name=endpoint_name,
        endpoint_arn=endpoint.arn if endpoint else None,
        endpoint_status=endpoint.status.value if endpoint else None,
        endpoint_config_name=endpoint.config_name if endpoint else None,
        failure_reason=endpoint.failure_reason if endpoint else None,
        variants=_variants(result, context.status),
        variant_count=len(endpoint.variants) if endpoint else None,
        last_aws_error=str(result.aws_failure) if result.aws_failure else None,
        attempted_config_name=memory.attempted_config,
        cleaned_up_for_config_name=memory.cleaned_for_config,
        warmed_up_for_config_name=memory.warmed_for_config,
        autoscaling_registered=memory.scaling_registered,
        autoscaling_checked=memory.scaling_checked,
        autoscaling_checked_at=to_optional_rfc3339(memory.scaling_checked_at),
        models_listed_for_config_name=memory.models_listed_for_config,
        models_listed_at=to_optional_rfc3339(memory.models_listed_at),
        weights_managed_by=result.desired.weights_managed_by if result.desired else None,
        async_inference=_async_status(result),
    )


def _async_status(result: ReconcileResult) -> AsyncInferenceStatus | None:
    paths = result.desired.async_output if result.desired else None
    if paths is None:
        return None
    return AsyncInferenceStatus(output_path=paths[0], failure_path=paths[1])


def _action_events(result: ReconcileResult, *, drifted: bool) -> list[Event]:
    events = []
    for action in result.executed:
        reason, message = describe_action(action)
        if drifted:
            events.append(Event.warning("DriftCorrected", f"drift in AWS corrected: {message}"))
        else:
            events.append(Event.normal(reason, message))
    return events


def _found_events(result: ReconcileResult) -> list[Event]:
    """A create SageMaker answered "already exists": no CreatedModel, as the operator made
    nothing, but a word on where the object came from, so the events account for it."""
    events = []
    for action in result.found_existing:
        match action:
            case CreateModel(model=model):
                events.append(
                    Event.normal(
                        "FoundModel",
                        f"SageMaker model {model.name} exists already (an earlier attempt"
                        " made it): using it",
                    )
                )
            case CreateEndpointConfig(config_name=name):
                events.append(
                    Event.normal(
                        "FoundEndpointConfig",
                        f"endpoint config {name} exists already (an earlier attempt made"
                        " it): using it",
                    )
                )
            case _:
                assert_never(action)
    return events


def _weights_writer_events(before: str | None, result: ReconcileResult) -> list[Event]:
    now = result.desired.weights_managed_by if result.desired else None
    if now == before:
        return []
    if now is None:
        return [
            Event.normal(
                "WeightsHandedBack", f"{before} no longer manages the weights: the spec's apply"
            )
        ]
    return [Event.normal("WeightsManagedBy", f"{now} writes the variants' weights from now on")]


def report_pass(
    result: ReconcileResult, context: Context, endpoint_name: str
) -> PassReport[ModelEndpointStatus]:
    # The spec did not change since the endpoint was last Ready, yet AWS needed a write or
    # is no longer as we left it: someone changed it out of band (console, CLI, a script).
    events: list[Event] = []
    # A weights writer that changed in this pass (a TrafficSplit took the weights, or handed
    # them back) explains a difference from AWS: that write is announced, not drift.
    writer_changed = context.status.weights_managed_by != (
        result.desired.weights_managed_by if result.desired else None
    )
    expected = not context.was_ready or writer_changed
    if not expected and result.desired is not None:
        drift = describe_drift(result.desired, result.endpoint)
        if drift:
            events.append(Event.warning("DriftDetected", drift))
    events += _action_events(result, drifted=not expected and bool(result.executed))
    events += _found_events(result)
    events += _weights_writer_events(context.status.weights_managed_by, result)

    single = single_instance_variants(result.desired) if result.desired else []
    single_condition = condition(
        SINGLE_INSTANCE,
        bool(single),
        SINGLE_INSTANCE if single else "HighlyAvailable",
        f"variant(s) {', '.join(single)} run on one instance, a single point of failure:"
        " set instanceCount to 2 or more (spread across Availability Zones) or autoscaling"
        if single
        else "",
        context.generation,
        context.conditions,
        now_rfc3339(),
    )
    before = find_condition(context.conditions, SINGLE_INSTANCE)
    if single and not (before and before.get("status") == "True"):
        events.append(Event.warning(SINGLE_INSTANCE, single_condition["message"]))
    return PassReport(
        outcome=result.outcome,
        status=_status(result, context, endpoint_name),
        events=events,
        extra_conditions=[single_condition],
    )


def report_deletion(result: ReconcileResult) -> PassReport[ModelEndpointStatus]:
    return PassReport(outcome=result.outcome, events=_action_events(result, drifted=False))
