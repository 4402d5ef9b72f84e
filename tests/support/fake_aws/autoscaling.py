"""Application Auto Scaling of endpoint variants, as the ModelEndpoint shell calls it
(aws/autoscaling.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serving_operator.planning.modelendpoint.actions import DeregisterScalableTarget
from serving_operator.planning.modelendpoint.observed import ObservedScaling
from tests.support.fake_aws.arns import scaling_policy_arn

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingAutoscaling:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def observe(
        self, resource_ids: list[str], *, shared_since: float | None = None, now: float = 0.0
    ) -> dict[str, ObservedScaling]:
        """Reads AWS's state now, shared or not; records whether a shared read would do, and
        the caller's clock."""
        self.aws.record("DescribeScalableTargets", (tuple(resource_ids), shared_since, now))
        return {r: s for r, s in self.aws.scaling.items() if r in resource_ids}

    def execute(self, action: Any) -> None:
        self.aws.record(type(action).__name__, action)
        if isinstance(action, DeregisterScalableTarget):
            self.aws.scaling.pop(action.resource_id, None)

    def policy_arn(self, resource_id: str, policy_name: str) -> str | None:
        self.aws.record("DescribeScalingPolicies", (resource_id, policy_name))
        if policy_name in self.aws.gone_policies:
            return None
        return scaling_policy_arn(resource_id, policy_name)
