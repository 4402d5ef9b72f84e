"""Application Auto Scaling adapter for SageMaker variants."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, assert_never

from serving_operator.aws.base import ServiceAdapter
from serving_operator.aws.ratelimit import RateLimiter
from serving_operator.planning.modelendpoint.actions import (
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
)
from serving_operator.planning.modelendpoint.observed import ObservedScaling

ScalingWrite = (
    RegisterScalableTarget | PutScalingPolicy | DeregisterScalableTarget | DeleteScalingPolicy
)
"""The autoscaling actions that are Application Auto Scaling calls (the alarms are CloudWatch's)."""

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# The largest page DescribeScalingPolicies returns (its MaxResults maximum).
POLICIES_PAGE = 50
# DescribeScalableTargets takes at most 50 ResourceIds.
TARGETS_PER_CALL = 50
# How long a namespace found too large to list is read variant by variant without trying
# the listing again (accounts grow and shrink slowly).
LISTING_HINT_SECONDS = 3600.0


def _target(resource_id: str, dimension: str = DIMENSION) -> dict[str, str]:
    """The three parameters that name a scalable target (a variant's by default)."""
    return {
        "ServiceNamespace": NAMESPACE,
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
    }


@dataclass
class _SharedRead:
    """One read of many endpoints' targets, shared by the rechecks of one window."""

    taken_at: float
    found: dict[str, ObservedScaling]
    covered: set[str]
    """The resource IDs it answers for (registered or not)."""


class ApplicationAutoScaling(ServiceAdapter):
    service = "application-autoscaling"

    def __init__(self, client: Any, limiter: RateLimiter, dimension: str = DIMENSION) -> None:
        super().__init__(client, limiter)
        # The scalable dimension read: variants' instance counts, or (an adapter of its own)
        # inference components' copy counts.
        self.dimension = dimension
        # Pages a namespace listing needed at least, learned from the last one that ran out
        # of budget, and until when (monotonic) that is trusted: a listing that could not
        # fit is not tried again, so a large account pays no wasted page per read.
        self._pages_at_least = 1
        self._pages_known_until = 0.0
        # The last shared read, and when each target was last asked for with one: reconciles
        # run on several worker threads, and one lock makes a window's callers share a read.
        self._shared_lock = threading.Lock()
        self._shared: _SharedRead | None = None
        self._asked: dict[str, float] = {}

    def observe(
        self,
        resource_ids: list[str],
        *,
        shared_since: float | None = None,
        now: float | None = None,
    ) -> dict[str, ObservedScaling]:
        """Registered targets among `resource_ids`, with their policies.

        With `shared_since` (epoch seconds; `now` is the caller's clock, the system's when
        None) the answer may come from one shared read taken at or after that moment: the
        first caller of a window reads, in one batch, its own targets and those any caller
        asked for since the previous shared read (the other endpoints, whose periodic
        rechecks fall in the same window); the later callers get their part of that read.
        A target this adapter writes leaves the shared read, so it is read again.
        """
        if not resource_ids:
            return {}
        moment = time.time() if now is None else now
        if shared_since is None:
            with self._shared_lock:
                # An endpoint read now (first made to match, changed) rechecks later: the
                # first shared read of the next window includes it.
                self._asked.update(dict.fromkeys(resource_ids, moment))
            return self._read(resource_ids)
        with self._shared_lock:
            shared = self._shared
            if shared is None or not shared_since <= shared.taken_at <= moment:
                since = shared.taken_at if shared is not None else float("-inf")
                self._asked = {r: at for r, at in self._asked.items() if since <= at <= moment}
                batch = sorted(set(resource_ids) | set(self._asked))
                shared = self._shared = _SharedRead(moment, self._read(batch), set(batch))
            else:
                unread = [r for r in resource_ids if r not in shared.covered]
                if unread:
                    shared.found.update(self._read(unread))
                    shared.covered.update(unread)
            self._asked.update(dict.fromkeys(resource_ids, moment))
            return {r: shared.found[r] for r in resource_ids if r in shared.found}

    def forget(self, resource_id: str) -> None:
        """A target written elsewhere: it leaves the shared read, so it is read again."""
        self._forget_shared(resource_id)

    def _forget_shared(self, resource_id: str) -> None:
        with self._shared_lock:
            if self._shared is not None:
                self._shared.covered.discard(resource_id)
                self._shared.found.pop(resource_id, None)

    def _read(self, resource_ids: list[str]) -> dict[str, ObservedScaling]:
        """Registered targets among `resource_ids` as AWS has them now, with their policies."""
        targets: list[dict[str, Any]] = []
        for start in range(0, len(resource_ids), TARGETS_PER_CALL):
            params: dict[str, Any] = {
                "ServiceNamespace": NAMESPACE,
                "ResourceIds": resource_ids[start : start + TARGETS_PER_CALL],
                "ScalableDimension": self.dimension,
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
                    p["PolicyName"]: p.get("TargetTrackingScalingPolicyConfiguration")
                    or p.get("StepScalingPolicyConfiguration")
                    or {}
                    for p in policies.get(target["ResourceId"], [])
                },
                policy_alarms={
                    p["PolicyName"]: frozenset(a["AlarmName"] for a in p.get("Alarms", []))
                    for p in policies.get(target["ResourceId"], [])
                    if p.get("Alarms")
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
            resource_id: self.call(
                "DescribeScalingPolicies", **_target(resource_id, self.dimension)
            ).get("ScalingPolicies", [])
            for resource_id in resource_ids
        }

    def _list_namespace_policies(self, max_pages: int) -> list[dict[str, Any]] | None:
        """Every policy on a SageMaker variant, or None when that takes more than `max_pages`."""
        policies: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "ServiceNamespace": NAMESPACE,
            "ScalableDimension": self.dimension,
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

    def policy_arn(self, resource_id: str, policy_name: str) -> str | None:
        """A scaling policy's ARN (what a CloudWatch alarm names as its action); None when
        the policy is not there (deleted since a shared read showed it): that read is then
        forgotten, so the next pass reads the target afresh."""
        found = self.call(
            "DescribeScalingPolicies", **_target(resource_id), PolicyNames=[policy_name]
        ).get("ScalingPolicies", [])
        if not found:
            self._forget_shared(resource_id)
            return None
        return str(found[0]["PolicyARN"])

    def execute(self, action: ScalingWrite) -> None:
        try:
            self._write(action)
        finally:
            self._forget_shared(action.resource_id)

    def _write(self, action: ScalingWrite) -> None:
        match action:
            case RegisterScalableTarget(resource_id=rid, min_instances=low, max_instances=high):
                self.call(
                    "RegisterScalableTarget", **_target(rid), MinCapacity=low, MaxCapacity=high
                )
            case PutScalingPolicy(
                resource_id=rid, policy_name=name, configuration=config, policy_type=kind
            ):
                member = (
                    "StepScalingPolicyConfiguration"
                    if kind == "StepScaling"
                    else "TargetTrackingScalingPolicyConfiguration"
                )
                self.call(
                    "PutScalingPolicy",
                    **_target(rid),
                    PolicyName=name,
                    PolicyType=kind,
                    **{member: dict(config)},
                )
            case DeleteScalingPolicy(resource_id=rid, policy_name=name):
                self.call("DeleteScalingPolicy", **_target(rid), PolicyName=name)
            case DeregisterScalableTarget(resource_id=rid):
                self.call("DeregisterScalableTarget", **_target(rid))
            case _:
                assert_never(action)
