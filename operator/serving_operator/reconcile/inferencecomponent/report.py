"""Turn an InferenceComponent pass into what users see: its status, conditions and Events."""

from __future__ import annotations

from typing import assert_never

from serving_operator.api.common import parse_rfc3339, to_optional_rfc3339
from serving_operator.api.inferencecomponent import (
    ComponentAutoscalingStatus,
    InferenceComponentStatus,
)
from serving_operator.planning.failures import outcome_for_failure
from serving_operator.planning.inferencecomponent.actions import (
    ComponentAction,
    CreateComponentModel,
    CreateInferenceComponent,
    DeleteComponentModel,
    DeleteInferenceComponent,
    DeregisterCopyScaling,
    PutCopyScalingPolicy,
    PutScaleFromZero,
    RegisterCopyScaling,
    RemoveScaleFromZero,
    UpdateComponentCopies,
    UpdateInferenceComponent,
)
from serving_operator.planning.inferencecomponent.memory import ComponentMemory
from serving_operator.reconcile.inferencecomponent.reconciler import ComponentPass, DeletionPass
from serving_operator.reconcile.report import Event, ObjectContext, PassReport

Context = ObjectContext[InferenceComponentStatus]
Report = PassReport[InferenceComponentStatus]

AUTOSCALER = "ApplicationAutoScaling"


def memory_of(status: InferenceComponentStatus) -> ComponentMemory:
    """What the last pass left to remember, read back from status."""
    return ComponentMemory(
        owned=bool(status.owned),
        owned_models=tuple(status.owned_models),
        scaling_registered=bool(status.autoscaling_registered),
        scaling_checked=status.autoscaling_checked,
        scaling_checked_at=parse_rfc3339(status.autoscaling_checked_at),
        attempted=status.attempted_specification,
    )


def describe_action(action: ComponentAction) -> tuple[str, str]:
    """(reason, message) of the Event announcing an executed action."""
    match action:
        case CreateComponentModel(model_name=name):
            return "ModelCreated", f"created model {name}"
        case CreateInferenceComponent():
            return (
                "ComponentCreated",
                f"created inference component {action.component_name} on endpoint"
                f" {action.endpoint_name} variant {action.variant_name}"
                f" with {action.copy_count} copies",
            )
        case UpdateInferenceComponent():
            how = " (rolling update)" if action.deployment is not None else ""
            return (
                "ComponentUpdated",
                f"updating inference component {action.component_name} to model"
                f" {action.specification.get('ModelName')}{how}",
            )
        case UpdateComponentCopies():
            return (
                "CopiesChanged",
                f"inference component {action.component_name}: {action.copy_count} copies",
            )
        case DeleteInferenceComponent(component_name=name):
            return "ComponentDeleting", f"deleting inference component {name}"
        case DeleteComponentModel(model_name=name):
            return "ModelDeleted", f"deleted model {name}"
        case RegisterCopyScaling():
            return (
                "AutoscalingRegistered",
                f"copies of {action.resource_id} scale between {action.min_copies}"
                f" and {action.max_copies}",
            )
        case PutCopyScalingPolicy():
            return (
                "AutoscalingPolicySet",
                f"{action.resource_id}: target {action.configuration.get('TargetValue')}"
                " invocations per copy",
            )
        case DeregisterCopyScaling(resource_id=rid):
            return "AutoscalingRemoved", f"{rid}: autoscaling deregistered"
        case PutScaleFromZero():
            return (
                "ScaleFromZeroSet",
                f"{action.resource_id}: a refused call (NoCapacityInvocationFailures, alarm"
                f" {action.alarm['AlarmName']}) brings a copy back from zero",
            )
        case RemoveScaleFromZero(resource_id=rid):
            return "ScaleFromZeroRemoved", f"{rid}: scale-out from zero removed"
        case _:
            assert_never(action)


def _memory_fields(memory: ComponentMemory) -> dict[str, object]:
    return {
        "owned": memory.owned,
        "owned_models": list(memory.owned_models),
        "autoscaling_registered": memory.scaling_registered,
        "autoscaling_checked": memory.scaling_checked,
        "autoscaling_checked_at": to_optional_rfc3339(memory.scaling_checked_at),
        "attempted_specification": memory.attempted,
    }


def report_pass(result: ComponentPass, context: Context) -> Report:
    before = context.status
    update: dict[str, object] = _memory_fields(result.memory)
    observed = result.observed
    component = observed.component if observed is not None else None
    desired = result.findings
    if component is not None:
        update.update(
            component_name=component.name,
            component_arn=component.arn,
            component_status=component.status,
            endpoint_name=component.endpoint_name,
            variant_name=component.variant_name,
            model_name=component.model_name,
            desired_copy_count=component.desired_copies,
            current_copy_count=component.current_copies,
            failure_reason=component.failure_reason,
        )
    elif observed is not None and result.aws_failure is None:
        update.update(
            component_arn=None,
            component_status=None,
            desired_copy_count=None,
            current_copy_count=None,
            failure_reason=None,
        )
    if desired is not None:
        update.update(
            component_name=desired.name,
            endpoint_name=desired.endpoint_name,
            variant_name=desired.variant_name,
            copies_managed_by=None if desired.owns_copies else AUTOSCALER,
            autoscaling=ComponentAutoscalingStatus(
                min_copies=desired.scaling.min_copies,
                max_copies=desired.scaling.max_copies,
                target_invocations_per_copy=float(desired.scaling.policy["TargetValue"]),
            )
            if desired.scaling is not None
            else None,
        )
    events = [Event.normal(*describe_action(a)) for a in result.executed]
    if result.aws_failure is not None:
        failed = outcome_for_failure(result.aws_failure)
        update["last_aws_error"] = failed.message
        events.append(Event.warning(failed.reason, failed.message))
    else:
        update["last_aws_error"] = None
    status = before.model_copy(update=update)
    return Report(
        outcome=result.outcome, status=status, events=events, recheck_after=result.recheck_after
    )


def report_deletion(result: DeletionPass) -> Report:
    events = [Event.normal(*describe_action(a)) for a in result.executed]
    if result.aws_failure is not None:
        failed = outcome_for_failure(result.aws_failure)
        events.append(Event.warning(failed.reason, failed.message))
    return Report(outcome=result.outcome, events=events)
