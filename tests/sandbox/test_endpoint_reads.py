"""The SageMaker adapter's shared endpoint reads against the sandbox: a pass that accepts a
recent read (a TrafficSplit at rest) gets the last one another pass made, never one that a
write to the endpoint made stale."""

from __future__ import annotations

from typing import Any

from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.planning.trafficsplit.actions import SetWeights
from serving_operator.reconcile.trafficsplit.weights import set_weights
from tests.sandbox.endpoints import endpoint, in_service, single_model
from tests.support.sandbox import Sandbox


def _adapter(sandbox: Sandbox) -> tuple[SageMaker, list[str]]:
    """The adapter, and the operations its client sends."""
    client = sandbox.client("sagemaker")
    sent: list[str] = []

    def record(model: Any, **_: Any) -> None:
        sent.append(model.name)

    client.meta.events.register("provide-client-params.sagemaker.*", record)
    return SageMaker(client, TokenBucket(1000, 1000)), sent


def test_a_recent_read_is_shared_until_a_write_to_the_endpoint(
    sandbox: Sandbox, model_bucket: str
) -> None:
    control = sandbox.client("sagemaker")
    model = single_model(control, model_bucket)
    name = endpoint(control, {"blue": model, "green": model}, count=1)
    in_service(control, name)
    adapter, sent = _adapter(sandbox)

    first = adapter.describe_endpoint(name, now=1000.0)  # a ModelEndpoint's pass
    assert first is not None
    assert adapter.describe_endpoint(name, read_since=900.0, now=1200.0) == first
    assert sent == ["DescribeEndpoint"]
    # Older than the caller accepts, or a clock that went back: read again.
    adapter.describe_endpoint(name, read_since=1100.0, now=1200.0)
    adapter.describe_endpoint(name, read_since=0.0, now=999.0)
    assert sent == ["DescribeEndpoint"] * 3

    sent.clear()
    set_weights(adapter, SetWeights(name, (("blue", 3.0), ("green", 1.0))))
    after = adapter.describe_endpoint(name, read_since=0.0, now=1300.0)
    assert sent == ["UpdateEndpointWeightsAndCapacities", "DescribeEndpoint"]
    assert after is not None
    assert {v.name: v.desired_weight for v in after.variants} == {"blue": 3.0, "green": 1.0}
