"""Application Auto Scaling of inference component copies, as the InferenceComponent shell
calls it (aws/copyscaling.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serving_operator.planning.inferencecomponent.observed import ObservedCopyScaling
from tests.support.fake_aws.arns import scaling_policy_arn
from tests.support.fake_aws.autoscaling import RecordingAutoscaling

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingCopyScaling:
    """Reads the components' copy scaling through the variants' reader, as the adapter does
    (aws/copyscaling.py): the same DescribeScalableTargets, recorded alike."""

    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def observe(
        self, resource_id: str, *, shared_since: float | None = None, now: float = 0.0
    ) -> ObservedCopyScaling | None:
        reader = RecordingAutoscaling(self.aws)
        found = reader.observe([resource_id], shared_since=shared_since, now=now).get(resource_id)
        if found is None:
            return None
        return ObservedCopyScaling(found.min_instances, found.max_instances, found.policies)

    def execute(self, action: Any) -> bool:
        """Records the write (RegisterCopyScaling, PutCopyScalingPolicy, DeregisterCopyScaling
        by their action names); a deregistration removes the target."""
        self.aws.record(type(action).__name__, action)
        if type(action).__name__ == "DeregisterCopyScaling":
            return self.aws.scaling.pop(action.resource_id, None) is not None
        return True

    def put_step_policy(self, resource_id: str, name: str, configuration: Any) -> str:
        self.aws.record("PutScalingPolicy", (resource_id, name))
        return scaling_policy_arn(resource_id, name)

    def delete_policy(self, resource_id: str, name: str) -> bool:
        self.aws.record("DeleteScalingPolicy", (resource_id, name))
        return True
