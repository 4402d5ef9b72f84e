"""Inference components: SageMaker's component calls and Application Auto Scaling of their
copy counts, as two small adapters sharing those services' rate limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never

from serving_operator.aws.base import AwsError, ServiceAdapter
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
    """Application Auto Scaling of one component's DesiredCopyCount."""

    service = "application-autoscaling"

    def observe(self, resource_id: str) -> ObservedCopyScaling | None:
        params = _target(resource_id)
        targets = self.call(
            "DescribeScalableTargets",
            ServiceNamespace=params["ServiceNamespace"],
            ResourceIds=[resource_id],
            ScalableDimension=COPY_DIMENSION,
        ).get("ScalableTargets", [])
        if not targets:
            return None
        policies = self.call("DescribeScalingPolicies", **params).get("ScalingPolicies", [])
        return ObservedCopyScaling(
            min_copies=int(targets[0]["MinCapacity"]),
            max_copies=int(targets[0]["MaxCapacity"]),
            policies={
                p["PolicyName"]: p.get("TargetTrackingScalingPolicyConfiguration")
                or p.get("StepScalingPolicyConfiguration")
                or {}
                for p in policies
            },
        )

    def put_step_policy(self, resource_id: str, name: str, configuration: Mapping[str, Any]) -> str:
        """PutScalingPolicy of a StepScaling policy; its ARN (for the alarm that sets it off)."""
        answer = self.call(
            "PutScalingPolicy",
            **_target(resource_id),
            PolicyName=name,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration=dict(configuration),
        )
        return str(answer["PolicyARN"])

    def delete_policy(self, resource_id: str, name: str) -> bool:
        try:
            self.call("DeleteScalingPolicy", **_target(resource_id), PolicyName=name)
        except AwsError as error:
            if error.code == "ObjectNotFoundException":
                return False
            raise
        return True

    def execute(self, action: CopyScalingAction) -> bool:
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
