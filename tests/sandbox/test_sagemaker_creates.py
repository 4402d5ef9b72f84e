"""The SageMaker adapter takes SageMaker's refusal to create a model or endpoint config that
exists as done: their names are content hashes, so the one there is the one wanted (made by
a pass that stopped before recording it). Against the sandbox, which refuses as SageMaker does.
"""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from serving_operator.aws.base import AwsError
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.sagemaker import EXISTED, Effect, SageMaker
from serving_operator.planning.modelendpoint.actions import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
)
from serving_operator.planning.modelendpoint.desired import desired_endpoint
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint_spec, variant


def _calls(operation: str, outcome: str) -> float:
    labels = {"service": "sagemaker", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("serving_operator_aws_calls_total", labels) or 0.0


def test_creating_what_exists_is_done_and_counted_as_existed(
    sandbox: Sandbox, model_bucket: str
) -> None:
    spec = model_endpoint_spec(variant("a", model_bucket), variant("b", model_bucket, "v2"))
    want = desired_endpoint(spec, namespace="creates", name=f"ep-{uuid.uuid4().hex[:8]}")
    adapter = SageMaker(sandbox.client("sagemaker"), TokenBucket(1000, 1000))
    creates = [
        *(CreateModel(model, want.tags) for model in want.models),
        CreateEndpointConfig(want.config_name, want.config_request(), want.tags),
    ]
    before = {op: _calls(op, EXISTED) for op in ("CreateModel", "CreateEndpointConfig")}
    refusals_before = _calls("CreateModel", "ValidationException")

    assert [adapter.execute(action) for action in creates] == [Effect.DONE] * 3
    assert [adapter.execute(action) for action in creates] == [Effect.EXISTED] * 3

    assert _calls("CreateModel", EXISTED) - before["CreateModel"] == 2
    assert _calls("CreateEndpointConfig", EXISTED) - before["CreateEndpointConfig"] == 1
    assert _calls("CreateModel", "ValidationException") == refusals_before
    client = sandbox.client("sagemaker")
    described = client.describe_endpoint_config(EndpointConfigName=want.config_name)
    assert {v["ModelName"] for v in described["ProductionVariants"]} == want.model_names


def test_an_endpoint_that_exists_is_still_an_error(sandbox: Sandbox, model_bucket: str) -> None:
    """Only models and configs are named by their content; an endpoint is named by the user."""
    spec = model_endpoint_spec(variant("a", model_bucket))
    want = desired_endpoint(spec, namespace="creates", name=f"ep-{uuid.uuid4().hex[:8]}")
    adapter = SageMaker(sandbox.client("sagemaker"), TokenBucket(1000, 1000))
    for action in (
        *(CreateModel(model, want.tags) for model in want.models),
        CreateEndpointConfig(want.config_name, want.config_request(), want.tags),
        CreateEndpoint(want.endpoint_name, want.config_name, want.tags),
    ):
        assert adapter.execute(action) == Effect.DONE
    with pytest.raises(AwsError, match="already existing endpoint"):
        adapter.execute(CreateEndpoint(want.endpoint_name, want.config_name, want.tags))
