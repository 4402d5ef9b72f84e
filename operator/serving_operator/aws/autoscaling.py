"""Application Auto Scaling adapter for SageMaker variants."""

from __future__ import annotations

from typing import Any, assert_never

from serving_operator.aws.base import ServiceAdapter
from serving_operator.planning.modelendpoint.actions import (
    AutoscalingAction,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
)
from serving_operator.planning.modelendpoint.observed import ObservedScaling

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _target(resource_id: str) -> dict[str, str]:
    """The three parameters that name a variant's scalable target."""
    return {
        "ServiceNamespace": NAMESPACE,
        "ResourceId": resource_id,
        "ScalableDimension": DIMENSION,
    }


class ApplicationAutoScaling(ServiceAdapter):
    service = "application-autoscaling"

    def observe(self, resource_ids: list[str]) -> dict[str, ObservedScaling]:
        """Registered targets among `resource_ids`, with their policies."""
        if not resource_ids:
            return {}
        targets: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "ServiceNamespace": NAMESPACE,
            "ResourceIds": resource_ids,
            "ScalableDimension": DIMENSION,
        }
        while True:
            page = self.call("DescribeScalableTargets", **params)
            targets += page.get("ScalableTargets", [])
            if not page.get("NextToken"):
                break
            params["NextToken"] = page["NextToken"]
        observed = {}
        for target in targets:
            resource_id = target["ResourceId"]
            policies = self.call("DescribeScalingPolicies", **_target(resource_id)).get(
                "ScalingPolicies", []
            )
            observed[resource_id] = ObservedScaling(
                resource_id=resource_id,
                min_instances=int(target["MinCapacity"]),
                max_instances=int(target["MaxCapacity"]),
                policies={
                    p["PolicyName"]: p.get("TargetTrackingScalingPolicyConfiguration", {})
                    for p in policies
                },
            )
        return observed

    def execute(self, action: AutoscalingAction) -> None:
        match action:
            case RegisterScalableTarget(resource_id=rid, min_instances=low, max_instances=high):
                self.call(
                    "RegisterScalableTarget", **_target(rid), MinCapacity=low, MaxCapacity=high
                )
            case PutScalingPolicy(resource_id=rid, policy_name=name, configuration=config):
                self.call(
                    "PutScalingPolicy",
                    **_target(rid),
                    PolicyName=name,
                    PolicyType="TargetTrackingScaling",
                    TargetTrackingScalingPolicyConfiguration=dict(config),
                )
            case DeregisterScalableTarget(resource_id=rid):
                self.call("DeregisterScalableTarget", **_target(rid))
            case _:
                assert_never(action)
