"""InvokeEndpoint in the sandbox behaves like SageMaker Runtime, and leaves SageMaker's
AWS/SageMaker metrics in CloudWatch.

boto3 validates each request against the service model and parses each answer by it: a
response header or error code the model does not declare would not come through.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import botocore.config
import botocore.exceptions
import pytest

from tests.sandbox import endpoints
from tests.sandbox.shapes import ShapeRecorder
from tests.support.sandbox import Sandbox


def _invoke(runtime: Any, name: str, body: bytes = b"1.0,2.0", **headers: str) -> dict[str, Any]:
    response: dict[str, Any] = runtime.invoke_endpoint(
        EndpointName=name, Body=body, ContentType="text/csv", **headers
    )
    response["Document"] = json.loads(response["Body"].read())
    return response


def _rejected(runtime: Any, name: str, **headers: str) -> str:
    """The message of the ValidationError (modelled, 400) the call gets."""
    with pytest.raises(runtime.exceptions.ValidationError) as raised:
        runtime.invoke_endpoint(EndpointName=name, Body=b"1.0", **headers)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message: str = raised.value.response["Error"]["Message"]
    return message


def test_invocations_spread_over_variants_by_weight_unless_one_is_named(
    control: Any, runtime: Any, model_bucket: str, sandbox: Sandbox
) -> None:
    model = endpoints.single_model(control, model_bucket)
    name = endpoints.endpoint(control, {"a": model, "b": model})
    endpoints.in_service(control, name)

    sandbox.forget_calls()
    seen = []
    for _ in range(50):
        response = _invoke(runtime, name)
        assert response["ContentType"] == "application/json"
        assert response["Document"]["variant"] == response["InvokedProductionVariant"]
        seen.append(response["InvokedProductionVariant"])
    assert set(seen) == {"a", "b"}  # weights 1/1: 50 draws reach both
    # The call log knows the operation and the endpoint it names.
    logged = [(c["operation"], c["status"]) for c in sandbox.calls() if c.get("target") == name]
    assert logged == [("InvokeEndpoint", 200)] * 50

    named = [_invoke(runtime, name, TargetVariant="b") for _ in range(5)]
    assert {r["InvokedProductionVariant"] for r in named} == {"b"}
    # A stand-in model: the same request to the same model gets the same prediction.
    assert len({r["Document"]["prediction"] for r in named}) == 1
    assert named[0]["Document"]["model"] == model
    other = _invoke(runtime, name, body=b"9.0,9.0", TargetVariant="b")
    assert other["Document"]["prediction"] != named[0]["Document"]["prediction"]

    assert "Variant zzz not found" in _rejected(runtime, name, TargetVariant="zzz")


def test_weight_zero_variant_gets_no_traffic(control: Any, runtime: Any, model_bucket: str) -> None:
    model = endpoints.single_model(control, model_bucket)
    name = endpoints.endpoint(control, {"a": model, "b": model}, weights={"b": 0.0})
    endpoints.in_service(control, name)
    assert {_invoke(runtime, name)["InvokedProductionVariant"] for _ in range(20)} == {"a"}
    assert _invoke(runtime, name, TargetVariant="b")["InvokedProductionVariant"] == "b"


def test_only_an_endpoint_in_service_answers(control: Any, runtime: Any, model_bucket: str) -> None:
    assert _rejected(runtime, "never-created") == (
        "Endpoint never-created of account 123456789012 not found."
    )
    name = endpoints.endpoint(control, {"a": endpoints.single_model(control, model_bucket)})
    assert "is not in service (status: Creating)" in _rejected(runtime, name)
    endpoints.in_service(control, name)
    assert _invoke(runtime, name)["InvokedProductionVariant"] == "a"


def test_injected_faults_match_invoke_endpoint(
    control: Any, model_bucket: str, sandbox: Sandbox
) -> None:
    name = endpoints.endpoint(control, {"a": endpoints.single_model(control, model_bucket)})
    endpoints.in_service(control, name)
    no_retries = sandbox.client(
        "sagemaker-runtime",
        botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    sandbox.add_fault(
        service="sagemaker",
        operation="InvokeEndpoint",
        errorCode="ModelNotReadyException",
        httpStatus=429,
        message="Model not ready",
    )
    with pytest.raises(no_retries.exceptions.ModelNotReadyException):
        no_retries.invoke_endpoint(EndpointName=name, Body=b"1.0")
    assert _invoke(no_retries, name)["InvokedProductionVariant"] == "a"  # used up


def _multi_model(control: Any, bucket: str, s3: Any, models: list[str]) -> tuple[str, str]:
    """A multi-model endpoint (one variant "a") over a fresh S3 prefix holding `models`."""
    prefix = f"mme/{uuid.uuid4().hex[:10]}"
    for target in models:
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{target}", Body=b"model")
    model = endpoints.model(
        control,
        PrimaryContainer={
            "Image": "img",
            "Mode": "MultiModel",
            "ModelDataUrl": f"s3://{bucket}/{prefix}/",
        },
    )
    return endpoints.endpoint(control, {"a": model}), prefix


def _timed(call: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_multi_model_endpoint_loads_each_target_model_on_first_use(
    control: Any,
    runtime: Any,
    model_bucket: str,
    sandbox: Sandbox,
    sandbox_settings: Callable[..., None],
) -> None:
    sandbox_settings(coldStartMs=800)
    name, _ = _multi_model(control, model_bucket, sandbox.client("s3"), ["a.tar.gz", "b.tar.gz"])
    endpoints.in_service(control, name)

    cold, cold_seconds = _timed(lambda: _invoke(runtime, name, TargetModel="a.tar.gz"))
    warm, warm_seconds = _timed(lambda: _invoke(runtime, name, TargetModel="a.tar.gz"))
    other, other_seconds = _timed(lambda: _invoke(runtime, name, TargetModel="b.tar.gz"))
    # Behaviour, not performance: the cold start's wait applies to each model's first call
    # only (a warm call taking the whole 0.8 s would mean the load happened again).
    assert cold_seconds >= 0.8
    assert warm_seconds < 0.8
    assert other_seconds >= 0.8
    assert cold["Document"]["targetModel"] == warm["Document"]["targetModel"] == "a.tar.gz"
    assert cold["Document"]["prediction"] == warm["Document"]["prediction"]
    assert other["Document"]["targetModel"] == "b.tar.gz"


def test_multi_model_endpoint_rejects_missing_or_absent_target_models(
    control: Any, runtime: Any, model_bucket: str, sandbox: Sandbox
) -> None:
    name, prefix = _multi_model(control, model_bucket, sandbox.client("s3"), ["a.tar.gz"])
    single = endpoints.endpoint(control, {"a": endpoints.single_model(control, model_bucket)})
    endpoints.in_service(control, name)
    endpoints.in_service(control, single)

    assert _rejected(runtime, name, TargetModel="absent.tar.gz").startswith(
        f"Failed to download model data(bucket: {model_bucket}, key: {prefix}/absent.tar.gz)."
    )
    assert "multi-model endpoint" in _rejected(runtime, name)  # no TargetModel at all
    assert _rejected(runtime, single, TargetModel="a.tar.gz") == (
        f"Endpoint {single} is not a multi-model endpoint and does not support target model header."
    )


def test_direct_invocation_routes_to_the_named_container(
    control: Any, runtime: Any, model_bucket: str, shapes: ShapeRecorder
) -> None:
    model = endpoints.model(
        control,
        Containers=[
            {"Image": "pre", "ContainerHostname": "preprocess"},
            {
                "Image": "xgb",
                "ContainerHostname": "xgboost",
                "ModelDataUrl": f"s3://{model_bucket}/xgboost/v1/model.tar.gz",
            },
        ],
        InferenceExecutionConfig={"Mode": "Direct"},
    )
    assert control.describe_model(ModelName=model)["InferenceExecutionConfig"] == {"Mode": "Direct"}
    assert "DescribeModel" in shapes.checked
    name = endpoints.endpoint(control, {"a": model})
    single = endpoints.endpoint(control, {"a": endpoints.single_model(control, model_bucket)})
    endpoints.in_service(control, name)
    endpoints.in_service(control, single)

    for hostname in ("xgboost", "preprocess"):
        answer = _invoke(runtime, name, TargetContainerHostname=hostname)
        assert answer["Document"]["containerHostname"] == hostname
    assert "Container hostname nope not found" in _rejected(
        runtime, name, TargetContainerHostname="nope"
    )
    assert "name one in the" in _rejected(runtime, name)  # direct mode needs a hostname
    assert "direct invocation" in _rejected(runtime, single, TargetContainerHostname="xgboost")


def _statistics(
    cloudwatch: Any, metric: str, dimensions: dict[str, str], statistic: str
) -> tuple[float, set[str]]:
    """The statistic summed over the datapoints of the last hour, and the units seen."""
    now = datetime.datetime.now(datetime.UTC)
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - datetime.timedelta(hours=1),
        EndTime=now + datetime.timedelta(minutes=5),
        Period=3600,
        Statistics=[statistic],
    )
    points = answer["Datapoints"]
    return sum(p[statistic] for p in points), {p.get("Unit", "") for p in points}


def test_invocations_leave_sagemaker_metrics_in_cloudwatch(
    control: Any, runtime: Any, model_bucket: str, sandbox: Sandbox, shapes: ShapeRecorder
) -> None:
    cloudwatch = sandbox.client("cloudwatch")
    # botocore speaks the JSON protocol to CloudWatch here: moto answers it, in its shapes.
    cloudwatch.meta.events.register("before-parse.cloudwatch.*", shapes)
    model = endpoints.single_model(control, model_bucket)
    name = endpoints.endpoint(control, {"a": model, "b": model}, count=2)
    endpoints.in_service(control, name)

    for _ in range(3):
        _invoke(runtime, name, TargetVariant="a")
    _invoke(runtime, name, TargetVariant="b")
    _rejected(runtime, name, TargetVariant="a", TargetModel="x.tar.gz")  # a 4xx on "a"

    a = {"EndpointName": name, "VariantName": "a"}
    assert _statistics(cloudwatch, "Invocations", a, "Sum") == (3.0, {"None"})
    assert _statistics(cloudwatch, "Invocations", {**a, "VariantName": "b"}, "Sum")[0] == 1.0
    # Two instances: each call counts half an invocation per instance.
    assert _statistics(cloudwatch, "InvocationsPerInstance", a, "Sum")[0] == 1.5
    latency, units = _statistics(cloudwatch, "ModelLatency", a, "SampleCount")
    assert (latency, units) == (3.0, {"Microseconds"})
    assert _statistics(cloudwatch, "Invocation4XXErrors", a, "Sum")[0] == 1.0
    assert "GetMetricStatistics" in shapes.checked

    now = datetime.datetime.now(datetime.UTC)
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "invocations",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocations",
                        "Dimensions": [{"Name": k, "Value": v} for k, v in a.items()],
                    },
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - datetime.timedelta(hours=1),
        EndTime=now + datetime.timedelta(minutes=5),
    )
    assert sum(data["MetricDataResults"][0]["Values"]) == 3.0
