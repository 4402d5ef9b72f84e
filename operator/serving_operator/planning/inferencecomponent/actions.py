"""What an InferenceComponent pass may do in AWS: plain records the shell executes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from serving_operator.planning.ownership import Tags

Request = Mapping[str, Any]


@dataclass(frozen=True)
class CreateComponentModel:
    """CreateModel for the component's own model (content-hashed name, ours)."""

    model_name: str
    request: Request
    tags: Tags


@dataclass(frozen=True)
class CreateInferenceComponent:
    component_name: str
    endpoint_name: str
    variant_name: str
    specification: Request
    copy_count: int
    tags: Tags


@dataclass(frozen=True)
class UpdateInferenceComponent:
    """A change of the specification: SageMaker replaces the copies (rolling when several)."""

    component_name: str
    specification: Request
    copy_count: int | None
    """None: the copy count is not ours to write (the autoscaler owns it)."""
    deployment: Request | None


@dataclass(frozen=True)
class UpdateComponentCopies:
    """UpdateInferenceComponentRuntimeConfig: only the copy count changes."""

    component_name: str
    copy_count: int


@dataclass(frozen=True)
class DeleteInferenceComponent:
    component_name: str


@dataclass(frozen=True)
class DeleteComponentModel:
    model_name: str


@dataclass(frozen=True)
class RegisterCopyScaling:
    """RegisterScalableTarget on sagemaker:inference-component:DesiredCopyCount."""

    resource_id: str
    min_copies: int
    max_copies: int


@dataclass(frozen=True)
class PutCopyScalingPolicy:
    resource_id: str
    policy_name: str
    configuration: Request


@dataclass(frozen=True)
class PutScaleFromZero:
    """PutScalingPolicy (StepScaling), then PutMetricAlarm with the policy's ARN as action."""

    resource_id: str
    policy_name: str
    configuration: Request
    alarm: Request


@dataclass(frozen=True)
class RemoveScaleFromZero:
    """DeleteScalingPolicy of the step policy and DeleteAlarms of its alarm."""

    resource_id: str
    policy_name: str
    alarm_name: str


@dataclass(frozen=True)
class DeregisterCopyScaling:
    """DeregisterScalableTarget (which deletes its policies) and the scale-from-zero alarm."""

    resource_id: str
    alarm_name: str


SageMakerComponentAction = (
    CreateComponentModel
    | CreateInferenceComponent
    | UpdateInferenceComponent
    | UpdateComponentCopies
    | DeleteInferenceComponent
    | DeleteComponentModel
)
CopyScalingAction = RegisterCopyScaling | PutCopyScalingPolicy | DeregisterCopyScaling
ScaleFromZeroAction = PutScaleFromZero | RemoveScaleFromZero
ComponentAction = SageMakerComponentAction | CopyScalingAction | ScaleFromZeroAction
