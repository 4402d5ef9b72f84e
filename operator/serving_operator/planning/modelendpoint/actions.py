"""The steps a ModelEndpoint plan is made of.

An `Action` is one AWS write, executed by the AWS adapters and reported as an Event.
`WarmUpModel` is a call that changes nothing; `Remember` updates what the resource keeps
in its status, and is carried out only if every step before it succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from serving_operator.planning.modelendpoint.desired import ModelDefinition, Request
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.outcome import Remember
from serving_operator.planning.ownership import Tags


@dataclass(frozen=True)
class CreateModel:
    model: ModelDefinition
    tags: Tags


@dataclass(frozen=True)
class CreateEndpointConfig:
    config_name: str
    request: Request
    tags: Tags


@dataclass(frozen=True)
class CreateEndpoint:
    endpoint_name: str
    config_name: str
    tags: Tags


@dataclass(frozen=True)
class UpdateEndpoint:
    """Blue/green switch to a new config; SageMaker keeps serving the old one meanwhile."""

    endpoint_name: str
    config_name: str
    options: Request | None = None  # DeploymentConfig, RetainAllVariantProperties, ...


@dataclass(frozen=True)
class VariantWeightAndCapacity:
    variant_name: str
    weight: float | None
    instance_count: int | None


@dataclass(frozen=True)
class UpdateWeightsAndCapacities:
    endpoint_name: str
    changes: tuple[VariantWeightAndCapacity, ...]


@dataclass(frozen=True)
class TagEndpoint:
    """Adoption: mark an existing endpoint as this resource's."""

    endpoint_arn: str
    tags: Tags


@dataclass(frozen=True)
class DeleteEndpoint:
    endpoint_name: str


@dataclass(frozen=True)
class DeleteEndpointConfig:
    config_name: str


@dataclass(frozen=True)
class DeleteModel:
    model_name: str


@dataclass(frozen=True)
class RegisterScalableTarget:
    resource_id: str
    min_instances: int
    max_instances: int


@dataclass(frozen=True)
class PutScalingPolicy:
    resource_id: str
    policy_name: str
    configuration: Request
    policy_type: str = "TargetTrackingScaling"
    """TargetTrackingScaling, or StepScaling (the scale-out-from-zero policy)."""


@dataclass(frozen=True)
class DeleteScalingPolicy:
    resource_id: str
    policy_name: str


@dataclass(frozen=True)
class PutScaleOutAlarm:
    """The CloudWatch alarm whose action is a step scaling policy (PutMetricAlarm with
    AlarmActions = the policy's ARN, which the executor reads from the policy)."""

    resource_id: str
    policy_name: str
    alarm_name: str
    alarm: Request


@dataclass(frozen=True)
class DeleteScaleOutAlarm:
    """Deleting a step policy (or its target) leaves its alarm in CloudWatch: "Deleting a
    step scaling policy deletes the underlying alarm action, but it does not delete the
    CloudWatch alarm" (Application Auto Scaling user guide, step scaling policies)."""

    resource_id: str
    alarm_name: str


class DeregisterReason(StrEnum):
    REMOVED_FROM_SPEC = "RemovedFromSpec"
    STAND_DOWN_FOR_UPDATE = "StandDownForUpdate"
    """SageMaker refuses an update that changes the instance type of (or removes) a variant
    that is a scalable target: autoscaling stands down and is registered again after."""
    ENDPOINT_DELETED = "EndpointDeleted"
    """Scalable targets outlive their endpoint in Application Auto Scaling."""


@dataclass(frozen=True)
class DeregisterScalableTarget:
    resource_id: str
    reason: DeregisterReason = DeregisterReason.REMOVED_FROM_SPEC


@dataclass(frozen=True)
class WarmUpModel:
    """Load one target model of a multi-model variant, so no user pays its cold start."""

    endpoint_name: str
    variant_name: str
    target_model: str


SageMakerAction = (
    CreateModel
    | CreateEndpointConfig
    | CreateEndpoint
    | UpdateEndpoint
    | UpdateWeightsAndCapacities
    | TagEndpoint
    | DeleteEndpoint
    | DeleteEndpointConfig
    | DeleteModel
)
AutoscalingAction = (
    RegisterScalableTarget
    | PutScalingPolicy
    | DeregisterScalableTarget
    | DeleteScalingPolicy
    | PutScaleOutAlarm
    | DeleteScaleOutAlarm
)
Action = SageMakerAction | AutoscalingAction
Step = Action | WarmUpModel | Remember[Memory]


def describe_action(action: Action) -> tuple[str, str]:
    """An event reason and message for an action, as a user reads it in `kubectl describe`."""
    match action:
        case CreateModel(model=model):
            return "CreatedModel", f"created SageMaker model {model.name} ({model.summary})"
        case CreateEndpointConfig(config_name=name):
            return "CreatedEndpointConfig", f"created endpoint config {name}"
        case CreateEndpoint(endpoint_name=endpoint, config_name=config):
            return "CreatedEndpoint", f"creating endpoint {endpoint} with config {config}"
        case UpdateEndpoint(endpoint_name=endpoint, config_name=config):
            return "UpdatingEndpoint", f"updating endpoint {endpoint} to config {config}"
        case UpdateWeightsAndCapacities(endpoint_name=endpoint, changes=changes):
            described = ", ".join(
                f"{c.variant_name}: weight={c.weight}"
                + (f" instances={c.instance_count}" if c.instance_count is not None else "")
                for c in changes
            )
            return "UpdatedWeightsAndCapacities", f"endpoint {endpoint}: {described}"
        case TagEndpoint(endpoint_arn=arn):
            return "AdoptedEndpoint", f"adopted existing endpoint {arn}"
        case DeleteEndpoint(endpoint_name=endpoint):
            return "DeletingEndpoint", f"deleting endpoint {endpoint}"
        case DeleteEndpointConfig(config_name=name):
            return "DeletedEndpointConfig", f"deleted endpoint config {name}"
        case DeleteModel(model_name=name):
            return "DeletedModel", f"deleted SageMaker model {name}"
        case RegisterScalableTarget(resource_id=rid, min_instances=low, max_instances=high):
            return (
                "RegisteredScalableTarget",
                f"autoscaling {rid} between {low} and {high} instances",
            )
        case PutScalingPolicy(resource_id=rid, configuration=config, policy_type="StepScaling"):
            return (
                "PutScalingPolicy",
                f"step scaling on {rid}: scale out from zero when requests wait",
            )
        case PutScalingPolicy(resource_id=rid, configuration=config):
            return (
                "PutScalingPolicy",
                f"target tracking on {rid}: keep the metric at {config['TargetValue']}",
            )
        case DeleteScalingPolicy(resource_id=rid, policy_name=name):
            return "DeletedScalingPolicy", f"scaling policy {name} of {rid} deleted"
        case PutScaleOutAlarm(resource_id=rid, alarm_name=name):
            return "PutScaleOutAlarm", f"alarm {name} scales {rid} out from zero"
        case DeleteScaleOutAlarm(alarm_name=name):
            return "DeletedScaleOutAlarm", f"alarm {name} deleted"
        case DeregisterScalableTarget(resource_id=rid, reason=reason):
            why = {
                DeregisterReason.REMOVED_FROM_SPEC: "removed",
                DeregisterReason.STAND_DOWN_FOR_UPDATE: "stood down for the endpoint update",
                DeregisterReason.ENDPOINT_DELETED: "removed with the endpoint",
            }[reason]
            return "DeregisteredScalableTarget", f"autoscaling of {rid} {why}"
    assert_never(action)
