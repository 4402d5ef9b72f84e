"""The operator's Application Auto Scaling adapter against the sandbox: `observe` reads many
variants' scaling with one DescribeScalingPolicies call, and still reads each variant's own
policies (and no one else's) when the namespace is too large to list."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from serving_operator.aws.autoscaling import (
    DIMENSION,
    NAMESPACE,
    POLICIES_PAGE,
    ApplicationAutoScaling,
)
from serving_operator.aws.ratelimit import TokenBucket
from tests.support.sandbox import Sandbox

POLICY = {
    "TargetValue": 70.0,
    "PredefinedMetricSpecification": {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    },
}


class Targets:
    """Scalable targets a test registers (each with one policy), removed after it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.resources: list[tuple[str, str]] = []

    def register(self, resource: str, *, low: int, high: int, policy: str) -> None:
        target = {"ServiceNamespace": NAMESPACE, "ResourceId": resource}
        self.client.register_scalable_target(
            **target, ScalableDimension=DIMENSION, MinCapacity=low, MaxCapacity=high
        )
        self.resources.append((resource, policy))
        self.client.put_scaling_policy(
            **target,
            ScalableDimension=DIMENSION,
            PolicyName=policy,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=POLICY,
        )


@pytest.fixture
def targets(sandbox: Sandbox) -> Iterator[Targets]:
    registered = Targets(sandbox.client("application-autoscaling"))
    yield registered
    # The sandbox is shared: leave others' targets be, and leave no policy behind (moto keeps
    # a deregistered target's policies, which AWS deletes with it).
    for resource, policy in registered.resources:
        registered.client.delete_scaling_policy(
            PolicyName=policy,
            ServiceNamespace=NAMESPACE,
            ResourceId=resource,
            ScalableDimension=DIMENSION,
        )
        registered.client.deregister_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=DIMENSION
        )


@pytest.fixture
def policy_calls(sandbox: Sandbox) -> Iterator[tuple[ApplicationAutoScaling, list[dict[str, Any]]]]:
    """The adapter, and the parameters of each DescribeScalingPolicies call it makes."""
    client = sandbox.client("application-autoscaling")
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    client.meta.events.register(
        "provide-client-params.application-autoscaling.DescribeScalingPolicies", record
    )
    return ApplicationAutoScaling(client, TokenBucket(1000, 1000)), calls


def _variant(endpoint: str, name: str) -> str:
    return f"endpoint/{endpoint}/variant/{name}"


def test_observe_reads_every_variants_policies_in_one_call(
    targets: Targets, policy_calls: tuple[ApplicationAutoScaling, list[dict[str, Any]]]
) -> None:
    adapter, calls = policy_calls
    endpoint, other = f"e-{uuid.uuid4().hex[:8]}", f"o-{uuid.uuid4().hex[:8]}"
    targets.register(_variant(endpoint, "a"), low=1, high=3, policy="op-a")
    targets.register(_variant(endpoint, "b"), low=2, high=4, policy="op-b")
    targets.register(_variant(other, "a"), low=1, high=2, policy="someone-elses")

    wanted = [_variant(endpoint, "a"), _variant(endpoint, "b"), _variant(endpoint, "gone")]
    observed = adapter.observe(wanted)

    assert len(calls) == 1
    assert "ResourceId" not in calls[0]
    assert sorted(observed) == wanted[:2]
    a, b = observed[wanted[0]], observed[wanted[1]]
    assert (a.min_instances, a.max_instances, list(a.policies)) == (1, 3, ["op-a"])
    assert (b.min_instances, b.max_instances, list(b.policies)) == (2, 4, ["op-b"])
    assert a.policies["op-a"]["TargetValue"] == POLICY["TargetValue"]


def test_observe_reads_variants_one_by_one_when_the_namespace_has_too_many_policies(
    targets: Targets, policy_calls: tuple[ApplicationAutoScaling, list[dict[str, Any]]]
) -> None:
    adapter, calls = policy_calls
    crowd = f"c-{uuid.uuid4().hex[:8]}"
    for index in range(POLICIES_PAGE + 1):  # more than one page: listing costs 2+ calls
        targets.register(_variant(crowd, f"v{index}"), low=1, high=2, policy=f"p{index}")
    endpoint = f"e-{uuid.uuid4().hex[:8]}"
    targets.register(_variant(endpoint, "a"), low=1, high=3, policy="op-a")
    targets.register(_variant(endpoint, "b"), low=1, high=5, policy="op-b")

    wanted = [_variant(endpoint, "a"), _variant(endpoint, "b")]
    observed = adapter.observe(wanted)

    # One namespace page (n - 1 for n = 2), then each variant on its own.
    assert [c.get("ResourceId") for c in calls] == [None, *wanted]
    assert {r: list(s.policies) for r, s in observed.items()} == {
        wanted[0]: ["op-a"],
        wanted[1]: ["op-b"],
    }
    assert observed[wanted[1]].max_instances == 5

    # Having learnt the namespace does not fit, the next read wastes no page on it.
    calls.clear()
    assert adapter.observe(wanted) == observed
    assert [c.get("ResourceId") for c in calls] == wanted
