"""Inference components: SageMaker's component calls and Application Auto Scaling of their
copy counts, as two small adapters sharing those services' rate limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never

from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import AwsError, ServiceAdapter
from serving_operator.aws.ratelimit import RateLimiter
from serving_operator.aws.sagemaker import is_already_exists, is_not_found
from serving_operator.planning.inferencecomponent.actions import (
    CopyScalingAction,
    CreateComponentModel,
    CreateInferenceComponent,
    DeleteComponentModel,
    DeleteInferenceComponent,
    DeregisterCopyScaling,
    PutCopyScalingPolicy,
    RegisterCopyScaling,
    SageMakerComponentAction,
    UpdateComponentCopies,
    UpdateInferenceComponent,
)
from serving_operator.planning.inferencecomponent.desired import COPY_DIMENSION
from serving_operator.planning.inferencecomponent.observed import (
    ObservedComponent,
    ObservedCopyScaling,
)
from serving_operator.planning.ownership import OWNER_TAG, Tags


def _tag_list(tags: Tags) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


class InferenceComponents(ServiceAdapter):
    service = "sagemaker"

    def describe(self, name: str) -> ObservedComponent | None:
        """DescribeInferenceComponent (None: it does not exist)."""
        try:
            found = self.call("DescribeInferenceComponent", InferenceComponentName=name)
        except AwsError as error:
            if is_not_found(error):
                return None
            raise
        runtime = found.get("RuntimeConfig") or {}
        return ObservedComponent(
            name=found["InferenceComponentName"],
            arn=found["InferenceComponentArn"],
            status=found.get("InferenceComponentStatus", ""),
            endpoint_name=found["EndpointName"],
            variant_name=found.get("VariantName"),
            specification=found.get("Specification") or {},
            desired_copies=runtime.get("DesiredCopyCount"),
            current_copies=runtime.get("CurrentCopyCount"),
            failure_reason=found.get("FailureReason"),
        )

    def owner_of(self, name: str) -> str | None:
        """The owner tag of the component (None: none, or it is gone)."""
        component = self.describe(name)
        if component is None:
            return None
        tags = self.call("ListTags", ResourceArn=component.arn).get("Tags", [])
        return next((str(t["Value"]) for t in tags if t["Key"] == OWNER_TAG), None)

    def execute(self, action: SageMakerComponentAction) -> bool:
        """Carry out one action; False when it found the work done (a model that exists,
        its name being a content hash; something to delete that is gone)."""
        match action:
            case CreateComponentModel(model_name=name, request=request, tags=tags):
                try:
                    self.call("CreateModel", ModelName=name, Tags=_tag_list(tags), **request)
                except AwsError as error:
                    if is_already_exists(error):
                        return False
                    raise
            case CreateInferenceComponent():
                self.call(
                    "CreateInferenceComponent",
                    InferenceComponentName=action.component_name,
                    EndpointName=action.endpoint_name,
                    VariantName=action.variant_name,
                    Specification=dict(action.specification),
                    RuntimeConfig={"CopyCount": action.copy_count},
                    Tags=_tag_list(action.tags),
                )
            case UpdateInferenceComponent():
                params: dict[str, Any] = {
                    "InferenceComponentName": action.component_name,
                    "Specification": dict(action.specification),
                }
                if action.copy_count is not None:
                    params["RuntimeConfig"] = {"CopyCount": action.copy_count}
                if action.deployment is not None:
                    params["DeploymentConfig"] = dict(action.deployment)
                self.call("UpdateInferenceComponent", **params)
            case UpdateComponentCopies(component_name=name, copy_count=copies):
                self.call(
                    "UpdateInferenceComponentRuntimeConfig",
                    InferenceComponentName=name,
                    DesiredRuntimeConfig={"CopyCount": copies},
                )
            case DeleteInferenceComponent(component_name=name):
                return self._delete("DeleteInferenceComponent", InferenceComponentName=name)
            case DeleteComponentModel(model_name=name):
                return self._delete("DeleteModel", ModelName=name)
            case _:
                assert_never(action)
        return True

    def _delete(self, operation: str, **params: Any) -> bool:
        try:
            self.call(operation, **params)
        except AwsError as error:
            if is_not_found(error):
                return False
            raise
        return True


def _target(resource_id: str) -> dict[str, str]:
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource_id,
        "ScalableDimension": COPY_DIMENSION,
    }


class CopyScaling(ServiceAdapter):
    """Application Auto Scaling of components' DesiredCopyCount. Reads go through the
    variants' reader with the components' dimension, so the hourly rechecks of many
    components share one batched read (aws/autoscaling.py)."""

    service = "application-autoscaling"

    def __init__(self, client: Any, limiter: RateLimiter) -> None:
        super().__init__(client, limiter)
        self._reader = ApplicationAutoScaling(client, limiter, COPY_DIMENSION)

    def observe(
        self, resource_id: str, *, shared_since: float | None = None, now: float | None = None
    ) -> ObservedCopyScaling | None:
        found = self._reader.observe([resource_id], shared_since=shared_since, now=now).get(
            resource_id
        )
        if found is None:
            return None
        return ObservedCopyScaling(
            min_copies=found.min_instances,
            max_copies=found.max_instances,
            policies=found.policies,
        )

    def put_step_policy(self, resource_id: str, name: str, configuration: Mapping[str, Any]) -> str:
        """PutScalingPolicy of a StepScaling policy; its ARN (for the alarm that sets it off)."""
        self._reader.forget(resource_id)
        answer = self.call(
            "PutScalingPolicy",
            **_target(resource_id),
            PolicyName=name,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration=dict(configuration),
        )
        return str(answer["PolicyARN"])

    def delete_policy(self, resource_id: str, name: str) -> bool:
        self._reader.forget(resource_id)
        try:
            self.call("DeleteScalingPolicy", **_target(resource_id), PolicyName=name)
        except AwsError as error:
            if error.code == "ObjectNotFoundException":
                return False
            raise
        return True

    def execute(self, action: CopyScalingAction) -> bool:
        try:
            return self._write(action)
        finally:
            self._reader.forget(action.resource_id)

    def _write(self, action: CopyScalingAction) -> bool:
        match action:
            case RegisterCopyScaling(resource_id=rid, min_copies=low, max_copies=high):
                self.call(
                    "RegisterScalableTarget", **_target(rid), MinCapacity=low, MaxCapacity=high
                )
            case PutCopyScalingPolicy(resource_id=rid, policy_name=name, configuration=config):
                self.call(
                    "PutScalingPolicy",
                    **_target(rid),
                    PolicyName=name,
                    PolicyType="TargetTrackingScaling",
                    TargetTrackingScalingPolicyConfiguration=dict(config),
                )
            case DeregisterCopyScaling(resource_id=rid, alarm_name=_):
                try:
                    self.call("DeregisterScalableTarget", **_target(rid))
                except AwsError as error:
                    # Gone already (deleting a component deregisters nothing by itself, but
                    # a retry after a lost answer finds it gone).
                    if error.code == "ObjectNotFoundException":
                        return False
                    raise
            case _:
                assert_never(action)
        return True
