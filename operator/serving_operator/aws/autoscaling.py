"""Application Auto Scaling adapter for SageMaker variants."""

from __future__ import annotations

import time
from typing import Any, assert_never

from serving_operator.aws.base import ServiceAdapter
from serving_operator.aws.ratelimit import RateLimiter
from serving_operator.planning.modelendpoint.actions import (
    AutoscalingAction,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
)
from serving_operator.planning.modelendpoint.observed import ObservedScaling

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# The largest page DescribeScalingPolicies returns (its MaxResults maximum).
POLICIES_PAGE = 50
# How long a namespace found too large to list is read variant by variant without trying
# the listing again (accounts grow and shrink slowly).
LISTING_HINT_SECONDS = 3600.0


def _target(resource_id: str) -> dict[str, str]:
    """The three parameters that name a variant's scalable target."""
    return {
        "ServiceNamespace": NAMESPACE,
        "ResourceId": resource_id,
        "ScalableDimension": DIMENSION,
    }


class ApplicationAutoScaling(ServiceAdapter):
    service = "application-autoscaling"

    def __init__(self, client: Any, limiter: RateLimiter) -> None:
        super().__init__(client, limiter)
        # Pages a namespace listing needed at least, learned from the last one that ran out
        # of budget, and until when (monotonic) that is trusted: a listing that could not
        # fit is not tried again, so a large account pays no wasted page per read.
        self._pages_at_least = 1
        self._pages_known_until = 0.0

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
        policies = self._policies([t["ResourceId"] for t in targets])
        return {
            target["ResourceId"]: ObservedScaling(
                resource_id=target["ResourceId"],
                min_instances=int(target["MinCapacity"]),
                max_instances=int(target["MaxCapacity"]),
                policies={
                    p["PolicyName"]: p.get("TargetTrackingScalingPolicyConfiguration", {})
                    for p in policies.get(target["ResourceId"], [])
                },
            )
            for target in targets
        }

    def _policies(self, resource_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The scaling policies of `resource_ids`, by resource ID.

        DescribeScalingPolicies filters by one ResourceId at most, so reading n targets one
        by one costs n calls. Without a ResourceId it lists the whole namespace, 50 a page:
        one call when the account has few policies, many when it has thousands. So the
        namespace is listed for at most n - 1 pages (never more calls than one per target),
        and only if it is not exhausted by then are the targets read one by one (and straight
        away for the next hour, when the listing could not fit a read of that size).
        """
        if not resource_ids:
            return {}
        wanted = set(resource_ids)
        budget = len(resource_ids) - 1
        too_large = time.monotonic() < self._pages_known_until and self._pages_at_least > budget
        if budget >= 1 and not too_large:
            listed = self._list_namespace_policies(max_pages=budget)
            if listed is not None:
                found: dict[str, list[dict[str, Any]]] = {}
                for policy in listed:
                    if policy["ResourceId"] in wanted:
                        found.setdefault(policy["ResourceId"], []).append(policy)
                return found
        return {
            resource_id: self.call("DescribeScalingPolicies", **_target(resource_id)).get(
                "ScalingPolicies", []
            )
            for resource_id in resource_ids
        }

    def _list_namespace_policies(self, max_pages: int) -> list[dict[str, Any]] | None:
        """Every policy on a SageMaker variant, or None when that takes more than `max_pages`."""
        policies: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "ServiceNamespace": NAMESPACE,
            "ScalableDimension": DIMENSION,
            "MaxResults": POLICIES_PAGE,
        }
        for _ in range(max_pages):
            page = self.call("DescribeScalingPolicies", **params)
            policies += page.get("ScalingPolicies", [])
            if not page.get("NextToken"):
                return policies
            params["NextToken"] = page["NextToken"]
        self._pages_at_least = max_pages + 1
        self._pages_known_until = time.monotonic() + LISTING_HINT_SECONDS
        return None

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
