"""SageMaker's inference components, as the InferenceComponent shell calls them
(aws/inferencecomponents.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serving_operator.planning.inferencecomponent.observed import ObservedComponent

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingInferenceComponents:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def describe(self, name: str) -> ObservedComponent | None:
        self.aws.record("DescribeInferenceComponent", name)
        component = self.aws.component
        return component if component is not None and component.name == name else None

    def owner_of(self, name: str) -> str | None:
        """The component's owner tag, read as the adapter does: its ARN, then ListTags (the
        DescribeInferenceComponent before it is the adapter's and recorded alike)."""
        component = self.describe(name)
        if component is None:
            return None
        self.aws.record("ListTags", component.arn)
        return self.aws.component_owner

    def execute(self, action: Any) -> bool:
        """Records the write and says it changed something; the component does not change."""
        self.aws.record(type(action).__name__, action)
        return True
