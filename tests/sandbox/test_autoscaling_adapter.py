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
    TARGETS_PER_CALL,
    ApplicationAutoScaling,
)
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.planning.modelendpoint.actions import RegisterScalableTarget
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
        self.resources: list[tuple[str, str | None]] = []
        """Each target and its policy (None: the test deleted it)."""

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
        if policy is not None:
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


@pytest.fixture
def target_calls(sandbox: Sandbox) -> tuple[ApplicationAutoScaling, list[dict[str, Any]]]:
    """The adapter, and the parameters of each DescribeScalableTargets call it makes."""
    client = sandbox.client("application-autoscaling")
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    client.meta.events.register(
        "provide-client-params.application-autoscaling.DescribeScalableTargets", record
    )
    return ApplicationAutoScaling(client, TokenBucket(1000, 1000)), calls


HOUR = 3600.0


def test_rechecks_in_one_window_share_one_batched_read(
    targets: Targets, target_calls: tuple[ApplicationAutoScaling, list[dict[str, Any]]]
) -> None:
    adapter, calls = target_calls
    first, second, third = (f"e-{uuid.uuid4().hex[:8]}" for _ in range(3))
    targets.register(_variant(first, "a"), low=1, high=3, policy="op-a")
    targets.register(_variant(second, "a"), low=2, high=4, policy="op-b")
    mine, theirs = [_variant(first, "a")], [_variant(second, "a"), _variant(second, "b")]
    # Each endpoint was first made to match with a read of its own targets.
    adapter.observe(mine, now=HOUR - 100)
    adapter.observe(theirs, now=HOUR - 50)
    assert [c["ResourceIds"] for c in calls] == [mine, theirs]

    # The next window: the first recheck reads both endpoints' targets in one call, and the
    # other endpoint's recheck in that window is answered from it.
    calls.clear()
    observed = adapter.observe(mine, shared_since=HOUR, now=HOUR + 5)
    assert [sorted(c["ResourceIds"]) for c in calls] == [sorted(mine + theirs)]
    assert observed[mine[0]].max_instances == 3
    shared = adapter.observe(theirs, shared_since=HOUR, now=HOUR + 400)
    assert len(calls) == 1
    assert (shared[theirs[0]].min_instances, list(shared[theirs[0]].policies)) == (2, ["op-b"])

    # An endpoint the adapter has not seen (the operator restarted) reads its own targets,
    # and is in the batch of the window after.
    unseen = [_variant(third, "a")]
    assert adapter.observe(unseen, shared_since=HOUR, now=HOUR + 500) == {}
    assert calls[-1]["ResourceIds"] == unseen
    calls.clear()
    adapter.observe(theirs, shared_since=2 * HOUR, now=2 * HOUR + 1)
    assert [sorted(c["ResourceIds"]) for c in calls] == [sorted(mine + theirs + unseen)]


def test_a_shared_read_never_hides_a_write_or_a_fresh_read(
    targets: Targets, target_calls: tuple[ApplicationAutoScaling, list[dict[str, Any]]]
) -> None:
    adapter, calls = target_calls
    endpoint = f"e-{uuid.uuid4().hex[:8]}"
    targets.register(_variant(endpoint, "a"), low=1, high=3, policy="op-a")
    wanted = [_variant(endpoint, "a")]
    adapter.observe(wanted, shared_since=HOUR, now=HOUR + 1)

    # Someone else changes the target: a fresh read sees it at once; a recheck in the same
    # window keeps the shared answer (drift is seen in the next window), and sees it there.
    targets.client.register_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId=wanted[0],
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=7,
    )
    assert adapter.observe(wanted)[wanted[0]].max_instances == 7
    assert adapter.observe(wanted, shared_since=HOUR, now=HOUR + 2)[wanted[0]].max_instances == 3
    assert (
        adapter.observe(wanted, shared_since=2 * HOUR, now=2 * HOUR)[wanted[0]].max_instances == 7
    )

    # Our own write takes the target out of the shared read: the next recheck reads it.
    calls.clear()
    adapter.execute(RegisterScalableTarget(wanted[0], 1, 5))
    assert (
        adapter.observe(wanted, shared_since=2 * HOUR, now=2 * HOUR + 9)[wanted[0]].max_instances
        == 5
    )
    assert [c["ResourceIds"] for c in calls] == [wanted]


def test_a_batch_of_more_than_fifty_targets_is_read_fifty_at_a_time(
    target_calls: tuple[ApplicationAutoScaling, list[dict[str, Any]]],
) -> None:
    adapter, calls = target_calls
    endpoint = f"e-{uuid.uuid4().hex[:8]}"
    wanted = [_variant(endpoint, f"v{i}") for i in range(TARGETS_PER_CALL + 1)]
    assert adapter.observe(wanted) == {}  # none registered
    assert [len(c["ResourceIds"]) for c in calls] == [TARGETS_PER_CALL, 1]


def test_a_policy_found_gone_takes_its_target_out_of_the_shared_read(
    targets: Targets, target_calls: tuple[ApplicationAutoScaling, list[dict[str, Any]]]
) -> None:
    """An alarm's policy deleted by someone else after a shared read showed it: its ARN is
    None, and the next recheck reads the target afresh instead of planning on the old read
    (which would stop every pass on the missing policy until the window ends)."""
    adapter, calls = target_calls
    endpoint = f"e-{uuid.uuid4().hex[:8]}"
    wanted = [_variant(endpoint, "a")]
    targets.register(wanted[0], low=1, high=3, policy="op-a")
    assert "op-a" in adapter.observe(wanted, shared_since=HOUR, now=HOUR + 1)[wanted[0]].policies
    targets.client.delete_scaling_policy(
        ServiceNamespace=NAMESPACE,
        ResourceId=wanted[0],
        ScalableDimension=DIMENSION,
        PolicyName="op-a",
    )
    targets.resources[-1] = (wanted[0], None)
    assert adapter.policy_arn(wanted[0], "op-a") is None
    calls.clear()
    observed = adapter.observe(wanted, shared_since=HOUR, now=HOUR + 2)
    assert "op-a" not in observed[wanted[0]].policies
    assert [c["ResourceIds"] for c in calls] == [wanted]
