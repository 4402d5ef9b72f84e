"""Inference components: SageMaker's component calls (their copy counts' Application Auto
Scaling is aws/copyscaling.py)."""

from __future__ import annotations

from typing import Any, assert_never

from serving_operator.aws.base import AwsError, ServiceAdapter
from serving_operator.aws.sagemaker import is_already_exists, is_not_found
from serving_operator.planning.inferencecomponent.actions import (
    CreateComponentModel,
    CreateInferenceComponent,
    DeleteComponentModel,
    DeleteInferenceComponent,
    SageMakerComponentAction,
    UpdateComponentCopies,
    UpdateInferenceComponent,
)
from serving_operator.planning.inferencecomponent.observed import ObservedComponent
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
