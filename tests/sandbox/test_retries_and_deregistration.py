"""What the operator's AWS calls do under injected faults, as its metrics show them, and the
sandbox deleting a scalable target's policies on deregistration, as AWS does.

Faults are put on ListNotebookInstances, which the operator never calls, so a shared
operator is not hit by them.
"""

from __future__ import annotations

import uuid

import pytest
from botocore.config import Config
from prometheus_client import REGISTRY

from serving_operator.aws.base import CLIENT_CONFIG, MAX_ATTEMPTS, AwsError, ServiceAdapter
from serving_operator.aws.ratelimit import TokenBucket
from tests.support.sandbox import Sandbox

OPERATION = {"service": "sagemaker", "operation": "ListNotebookInstances"}
RETRIES = Config(retries=CLIENT_CONFIG.retries)
"""The operator's retry settings without its user agent: the sandbox counts calls with that
agent as the operator's, and the operator's IAM policy does not grant ListNotebookInstances."""


class _SageMaker(ServiceAdapter):
    service = "sagemaker"


def _attempts_up_to(attempts: int) -> float:
    value = REGISTRY.get_sample_value(
        "serving_operator_aws_call_attempts_bucket",
        {"service": "sagemaker", "le": f"{float(attempts)}"},
    )
    return value or 0.0


def _waits(retry: int) -> tuple[float, float]:
    """How many waits before retry number `retry` were observed, and their total."""
    labels = {"service": "sagemaker", "retry": str(retry)}
    count = REGISTRY.get_sample_value("serving_operator_aws_retry_wait_seconds_count", labels)
    total = REGISTRY.get_sample_value("serving_operator_aws_retry_wait_seconds_sum", labels)
    return count or 0.0, total or 0.0


def test_the_operators_clients_retry_each_call_on_its_own_without_a_client_wide_limiter() -> None:
    """Adaptive mode's client-wide limiter slowed every resource's calls for the throttling
    of a few to about half a call per second; standard mode backs off per call."""
    assert CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}


def test_a_call_retried_twice_counts_three_attempts_and_two_timed_waits(faulted: Sandbox) -> None:
    adapter = _SageMaker(faulted.client("sagemaker", RETRIES), TokenBucket(1000, 1000))
    faulted.add_fault(**OPERATION, count=1)
    faulted.add_fault(**OPERATION, errorCode="InternalFailure", httpStatus=500, count=1)
    before = {n: _attempts_up_to(n) for n in (2, 3)}
    waits_before = [_waits(retry) for retry in (1, 2, 3)]

    adapter.call("ListNotebookInstances")

    assert _attempts_up_to(2) == before[2]
    assert _attempts_up_to(3) == before[3] + 1
    after = [_waits(retry) for retry in (1, 2, 3)]
    for retry in (0, 1):  # one wait before the second attempt, one before the third
        assert after[retry][0] == waits_before[retry][0] + 1
        assert after[retry][1] > waits_before[retry][1]
    assert after[2] == waits_before[2]


def test_a_call_that_never_gets_through_stops_at_the_attempt_limit(faulted: Sandbox) -> None:
    # Three attempts rather than CLIENT_CONFIG's six: the same bound, a shorter backoff.
    config = Config(retries={"mode": "standard", "total_max_attempts": 3})
    adapter = _SageMaker(faulted.client("sagemaker", config), TokenBucket(1000, 1000))
    faulted.add_fault(**OPERATION, count=-1)
    before = {n: _attempts_up_to(n) for n in (2, 3)}
    sent_before = sum(1 for c in faulted.calls() if c["operation"] == OPERATION["operation"])

    with pytest.raises(AwsError) as raised:
        adapter.call("ListNotebookInstances")

    assert raised.value.code == "ThrottlingException"
    assert raised.value.transient
    assert _attempts_up_to(2) == before[2]
    assert _attempts_up_to(3) == before[3] + 1
    sent = sum(1 for c in faulted.calls() if c["operation"] == OPERATION["operation"])
    assert sent - sent_before == 3


def test_deregistering_a_scalable_target_deletes_its_policies(sandbox: Sandbox) -> None:
    client = sandbox.client("application-autoscaling")
    dimension = "sagemaker:variant:DesiredInstanceCount"
    resource = f"endpoint/dereg-{uuid.uuid4().hex[:8]}/variant/a"
    target = {"ServiceNamespace": "sagemaker", "ResourceId": resource}
    client.register_scalable_target(
        **target, ScalableDimension=dimension, MinCapacity=1, MaxCapacity=2
    )
    client.put_scaling_policy(
        **target,
        ScalableDimension=dimension,
        PolicyName="invocations",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    )
    assert len(client.describe_scaling_policies(**target)["ScalingPolicies"]) == 1

    client.deregister_scalable_target(**target, ScalableDimension=dimension)

    assert client.describe_scaling_policies(**target)["ScalingPolicies"] == []
    assert (
        client.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])[
            "ScalableTargets"
        ]
        == []
    )
    # AWS's answer, not moto's ValidationException (sandbox/autoscaling.py).
    with pytest.raises(client.exceptions.ObjectNotFoundException):
        client.deregister_scalable_target(**target, ScalableDimension=dimension)
