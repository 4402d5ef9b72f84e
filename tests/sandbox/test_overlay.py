"""The sandbox overlay behaves like SageMaker where moto does not, in botocore's shapes.

Requests go through boto3, which validates them against the service model; every raw
response the overlay produces (and the describes that show its state) is checked against
the operation's output shape.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.config
import botocore.exceptions
import pytest

from tests.sandbox.shapes import ShapeRecorder
from tests.support.sandbox import Sandbox

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"


@pytest.fixture
def recorder() -> ShapeRecorder:
    return ShapeRecorder()


@pytest.fixture
def sagemaker(sandbox: Sandbox, recorder: ShapeRecorder) -> Iterator[Any]:
    client = sandbox.client("sagemaker")
    client.meta.events.register("before-parse.sagemaker.*", recorder)
    yield client
    sandbox.clear_faults()
    assert recorder.errors == [], "\n".join(recorder.errors)


def _config(sagemaker: Any, bucket: str, version: str, *, count: int = 2) -> str:
    name = f"cfg-{uuid.uuid4().hex[:10]}"
    model = f"model-{uuid.uuid4().hex[:10]}"
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={
            "Image": "img",
            "ModelDataUrl": f"s3://{bucket}/xgboost/{version}/model.tar.gz",
        },
        ExecutionRoleArn=ROLE,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": v,
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": count,
                "InitialVariantWeight": 1.0,
            }
            for v in ("a", "b")
        ],
    )
    return name


def _wait_status(sagemaker: Any, name: str, status: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] == status:
            return described
        assert time.monotonic() < deadline, f"{name} stuck in {described['EndpointStatus']}"
        time.sleep(0.1)


def _endpoint(sagemaker: Any, config: str) -> str:
    name = f"ep-{uuid.uuid4().hex[:10]}"
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    return name


def test_create_goes_through_creating_to_in_service(
    sagemaker: Any, model_bucket: str, recorder: ShapeRecorder
) -> None:
    name = _endpoint(sagemaker, _config(sagemaker, model_bucket, "v1"))
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
    described = _wait_status(sagemaker, name, "InService")
    assert [
        (v["VariantName"], v["CurrentInstanceCount"], v["CurrentWeight"])
        for v in described["ProductionVariants"]
    ] == [("a", 2, 1.0), ("b", 2, 1.0)]
    assert {"CreateEndpoint", "DescribeEndpoint"} <= set(recorder.checked)


def test_create_with_missing_model_data_fails_with_sagemakers_reason(
    sagemaker: Any, model_bucket: str
) -> None:
    name = _endpoint(sagemaker, _config(sagemaker, model_bucket, "absent"))
    failed = _wait_status(sagemaker, name, "Failed")
    assert "Failed to download model data" in failed["FailureReason"]


def test_update_endpoint_switches_config_with_zero_downtime(
    sagemaker: Any, model_bucket: str, recorder: ShapeRecorder
) -> None:
    first = _config(sagemaker, model_bucket, "v1")
    name = _endpoint(sagemaker, first)
    with pytest.raises(botocore.exceptions.ClientError, match="in-progress"):
        sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=first)
    _wait_status(sagemaker, name, "InService")
    second = _config(sagemaker, model_bucket, "v2", count=3)
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=second)
    updating = sagemaker.describe_endpoint(EndpointName=name)
    # While updating, the old config keeps serving.
    assert (updating["EndpointStatus"], updating["EndpointConfigName"]) == ("Updating", first)
    done = _wait_status(sagemaker, name, "InService")
    assert done["EndpointConfigName"] == second
    assert {v["CurrentInstanceCount"] for v in done["ProductionVariants"]} == {3}
    assert "UpdateEndpoint" in recorder.checked


def test_failed_update_rolls_back_and_reports_why(sagemaker: Any, model_bucket: str) -> None:
    first = _config(sagemaker, model_bucket, "v1")
    name = _endpoint(sagemaker, first)
    _wait_status(sagemaker, name, "InService")
    sagemaker.update_endpoint(
        EndpointName=name, EndpointConfigName=_config(sagemaker, model_bucket, "absent")
    )
    time.sleep(0.05)
    rolled_back = _wait_status(sagemaker, name, "InService")
    assert rolled_back["EndpointConfigName"] == first
    assert "Failed to download model data" in rolled_back["FailureReason"]


def test_weight_update_keeps_instance_counts(sagemaker: Any, model_bucket: str) -> None:
    name = _endpoint(sagemaker, _config(sagemaker, model_bucket, "v1"))
    _wait_status(sagemaker, name, "InService")
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": "a", "DesiredWeight": 9.0}],
    )
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
    done = _wait_status(sagemaker, name, "InService")
    variants = {v["VariantName"]: v for v in done["ProductionVariants"]}
    assert (variants["a"]["CurrentWeight"], variants["a"]["CurrentInstanceCount"]) == (9.0, 2)
    assert (variants["b"]["CurrentWeight"], variants["b"]["CurrentInstanceCount"]) == (1.0, 2)
    with pytest.raises(botocore.exceptions.ClientError, match="not present"):
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=name,
            DesiredWeightsAndCapacities=[{"VariantName": "zzz", "DesiredWeight": 1.0}],
        )


def test_delete_goes_through_deleting_until_gone(sagemaker: Any, model_bucket: str) -> None:
    name = _endpoint(sagemaker, _config(sagemaker, model_bucket, "v1"))
    _wait_status(sagemaker, name, "InService")
    sagemaker.delete_endpoint(EndpointName=name)
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Deleting"
    deadline = time.monotonic() + 10
    while name in {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with pytest.raises(botocore.exceptions.ClientError, match="Could not find endpoint"):
        sagemaker.describe_endpoint(EndpointName=name)


def test_injected_throttling_is_seen_by_a_client_without_retries(sandbox: Sandbox) -> None:
    no_retries = sandbox.client(
        "sagemaker", botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    sandbox.add_fault(service="sagemaker", operation="ListEndpoints", count=1)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        no_retries.list_endpoints()
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    no_retries.list_endpoints()  # the fault is used up


def test_adaptive_retries_ride_out_throttling_and_5xx(sandbox: Sandbox) -> None:
    client = sandbox.client(
        "sagemaker", botocore.config.Config(retries={"total_max_attempts": 6, "mode": "adaptive"})
    )
    sandbox.add_fault(service="sagemaker", operation="ListModels", count=2)
    sandbox.add_fault(
        service="sagemaker",
        operation="ListModels",
        errorCode="InternalFailure",
        httpStatus=500,
        message="boom",
        count=1,
    )
    response = client.list_models()
    assert response["ResponseMetadata"]["RetryAttempts"] == 3


def test_latency_injection_slows_calls(sandbox: Sandbox) -> None:
    client = sandbox.client("sagemaker")
    sandbox.add_fault(
        service="sagemaker", operation="ListEndpointConfigs", errorCode=None, latencyMs=300, count=1
    )
    started = time.monotonic()
    client.list_endpoint_configs()
    # Behaviour, not performance: the injected delay must have been applied.
    assert time.monotonic() - started >= 0.3


def _outcomes(client: Any, calls: int) -> list[str]:
    """What each of `calls` ListNotebookInstances calls got: "ok" or the error code (the
    operator never calls it, so a shared operator is not hit by these faults)."""
    outcomes = []
    for _ in range(calls):
        try:
            client.list_notebook_instances()
            outcomes.append("ok")
        except botocore.exceptions.ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    return outcomes


def test_a_fault_with_a_rate_fails_that_share_of_calls_from_its_seeded_stream(
    sandbox: Sandbox,
) -> None:
    no_retries = sandbox.client(
        "sagemaker", botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    runs = []
    for _ in range(2):
        sandbox.clear_faults()
        sandbox.add_fault(
            service="sagemaker", operation="ListNotebookInstances", count=-1, rate=0.3, seed=11
        )
        runs.append(_outcomes(no_retries, 200))
    sandbox.clear_faults()
    assert runs[0] == runs[1], "the same seed gives the same failures"
    throttled = runs[0].count("ThrottlingException")
    assert set(runs[0]) == {"ok", "ThrottlingException"}
    assert 35 <= throttled <= 85, throttled  # 60 expected; binomial sd 6.5


def test_latency_and_error_faults_both_act_on_a_call(sandbox: Sandbox) -> None:
    no_retries = sandbox.client(
        "sagemaker", botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    operation = {"service": "sagemaker", "operation": "ListNotebookInstances"}
    sandbox.add_fault(**operation, errorCode=None, latencyMs=200, count=-1)
    sandbox.add_fault(**operation, errorCode="InternalFailure", httpStatus=500, count=1)
    try:
        started = time.monotonic()
        assert _outcomes(no_retries, 2) == ["InternalFailure", "ok"]
        assert time.monotonic() - started >= 0.4  # both calls were slowed
    finally:
        sandbox.clear_faults()


def test_pending_faults_list_what_is_left_and_a_spent_fault_leaves(sandbox: Sandbox) -> None:
    no_retries = sandbox.client(
        "sagemaker", botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    operation = {"service": "sagemaker", "operation": "ListNotebookInstances"}
    sandbox.add_fault(**operation, count=2)
    sandbox.add_fault(**operation, errorCode=None, latencyMs=1, count=-1)
    try:
        assert sandbox.pending_faults() == [{**operation, "count": 2}, {**operation, "count": -1}]
        assert _outcomes(no_retries, 1) == ["ThrottlingException"]
        assert sandbox.pending_faults() == [{**operation, "count": 1}, {**operation, "count": -1}]
        assert _outcomes(no_retries, 2) == ["ThrottlingException", "ok"]
        assert sandbox.pending_faults() == [{**operation, "count": -1}]
    finally:
        sandbox.clear_faults()
    assert sandbox.pending_faults() == []


def test_rate_limits_throttle_calls_past_the_bucket_and_refill(sandbox: Sandbox) -> None:
    no_retries = sandbox.client(
        "sagemaker", botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    sandbox.add_rate_limit(
        service="sagemaker", operation="ListNotebookInstances", perSecond=0.5, burst=2
    )
    try:
        started = time.monotonic()
        outcomes = _outcomes(no_retries, 6)
        elapsed = time.monotonic() - started
        admitted = outcomes.count("ok")
        assert outcomes[:2] == ["ok", "ok"]  # the burst
        assert admitted <= 2 + int(elapsed * 0.5) + 1
        assert sandbox.throttled() == 6 - admitted > 0
        time.sleep(2.1)  # one token back at 0.5 per second
        assert _outcomes(no_retries, 1) == ["ok"]
    finally:
        sandbox.clear_rate_limits()
    assert sandbox.throttled() == 0


def test_call_log_names_each_operation(sandbox: Sandbox) -> None:
    client = sandbox.client("sagemaker")
    sandbox.forget_calls()
    client.list_endpoints()
    with pytest.raises(botocore.exceptions.ClientError):
        client.describe_endpoint(EndpointName="never-created")
    # The operator may share this sandbox and resync its own endpoints meanwhile.
    ours = [
        (c["operation"], c["status"], c.get("target"))
        for c in sandbox.calls()
        if c["operation"] == "ListEndpoints" or c.get("target") == "never-created"
    ]
    assert ours == [("ListEndpoints", 200, None), ("DescribeEndpoint", 400, "never-created")]


def test_list_models_filters_by_name_sorts_and_pages_as_sagemaker_does(
    sagemaker: Any, model_bucket: str
) -> None:
    """moto answers every model in one page whatever the request; the operator's clean-up
    listing relies on NameContains and NextToken as SageMaker honours them."""
    prefix = f"lm-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{index:02d}" for index in range(12)]
    for name in names:
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
                "ModelDataUrl": f"s3://{model_bucket}/xgboost/v1/model.tar.gz",
            },
        )
    sagemaker.create_model(
        ModelName=f"other-{uuid.uuid4().hex[:8]}",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"},
    )
    first = sagemaker.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending")
    assert [m["ModelName"] for m in first["Models"]] == names[:10]  # default page: 10
    rest = sagemaker.list_models(
        NameContains=prefix, SortBy="Name", SortOrder="Ascending", NextToken=first["NextToken"]
    )
    assert [m["ModelName"] for m in rest["Models"]] == names[10:]
    assert "NextToken" not in rest
    newest = sagemaker.list_models(NameContains=prefix, MaxResults=100)["Models"]
    assert len(newest) == 12
    assert [m["CreationTime"] for m in newest] == sorted(
        (m["CreationTime"] for m in newest), reverse=True
    )


def _refusal(sagemaker: Any, create: str, **params: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        getattr(sagemaker, create)(**params)
    response: dict[str, Any] = refused.value.response
    return response


def test_creating_a_model_that_exists_is_refused_and_keeps_the_first(
    sagemaker: Any, sandbox: Sandbox, model_bucket: str
) -> None:
    name = f"model-{uuid.uuid4().hex[:10]}"
    first = {"Image": "img:1", "ModelDataUrl": f"s3://{model_bucket}/xgboost/v1/model.tar.gz"}
    created = sagemaker.create_model(ModelName=name, PrimaryContainer=first, ExecutionRoleArn=ROLE)
    arn = created["ModelArn"]
    refused = _refusal(
        sagemaker,
        "create_model",
        ModelName=name,
        PrimaryContainer={**first, "Image": "img:2"},
        ExecutionRoleArn=ROLE,
    )
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused["Error"] == {
        "Code": "ValidationException",
        "Message": f'Cannot create already existing model "{arn}".',
    }
    # Not through `sagemaker`: moto describes a model without VpcConfig off its shape.
    kept = sandbox.client("sagemaker").describe_model(ModelName=name)
    assert kept["PrimaryContainer"]["Image"] == "img:1"


def test_creating_an_endpoint_config_that_exists_is_refused_and_keeps_the_first(
    sagemaker: Any, model_bucket: str
) -> None:
    name = _config(sagemaker, model_bucket, "v1", count=2)
    described = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    variants = described["ProductionVariants"]
    refused = _refusal(
        sagemaker,
        "create_endpoint_config",
        EndpointConfigName=name,
        ProductionVariants=[{**v, "InitialInstanceCount": 5} for v in variants],
    )
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused["Error"] == {
        "Code": "ValidationException",
        "Message": "Cannot create already existing endpoint configuration"
        f' "{described["EndpointConfigArn"]}".',
    }
    again = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert [v["InitialInstanceCount"] for v in again["ProductionVariants"]] == [2, 2]
