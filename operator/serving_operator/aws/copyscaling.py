"""Application Auto Scaling of inference components' copy counts (DesiredCopyCount)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never

from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import AwsError, ServiceAdapter
from serving_operator.aws.ratelimit import RateLimiter
from serving_operator.planning.inferencecomponent.actions import (
    CopyScalingAction,
    DeregisterCopyScaling,
    PutCopyScalingPolicy,
    RegisterCopyScaling,
)
from serving_operator.planning.inferencecomponent.desired import COPY_DIMENSION
from serving_operator.planning.inferencecomponent.observed import ObservedCopyScaling


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
