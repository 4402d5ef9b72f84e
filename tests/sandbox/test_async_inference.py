"""InvokeEndpointAsync in the sandbox: the queue, results and failures in S3, SNS
notifications, the backlog metrics, and scaling from zero through the documented step policy.

boto3 validates each request against the sagemaker-runtime service model and parses each
answer by it (InferenceId from the body, OutputLocation and FailureLocation from headers).
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from serving_operator.planning.modelendpoint.desired import scale_out_from_zero
from tests.sandbox import endpoints
from tests.sandbox.canary import behaviour_admin, set_behaviour
from tests.support.sandbox import Sandbox

DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@pytest.fixture
def fast(sandbox_settings: Callable[..., None]) -> None:
    sandbox_settings(
        creatingSeconds=0.2,
        updatingSeconds=0.2,
        asyncProcessingSeconds=0.2,
        metricPeriodSeconds=1,
        autoscalingWindowSeconds=1,
    )


@pytest.fixture
def bucket(sandbox: Sandbox) -> str:
    name = f"async-{uuid.uuid4().hex[:10]}"
    sandbox.client("s3").create_bucket(Bucket=name)
    return name


def async_endpoint(
    sagemaker: Any,
    model_bucket: str,
    bucket: str,
    *,
    notification: dict[str, Any] | None = None,
    failure_path: bool = True,
    count: int = 1,
) -> str:
    model = endpoints.single_model(sagemaker, model_bucket)
    config = endpoints.unique("cfg")
    output: dict[str, Any] = {"S3OutputPath": f"s3://{bucket}/out"}
    if failure_path:
        output["S3FailurePath"] = f"s3://{bucket}/failed"
    if notification:
        output["NotificationConfig"] = notification
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "a",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": count,
            }
        ],
        AsyncInferenceConfig={
            "OutputConfig": output,
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2},
        },
    )
    assert (
        sagemaker.describe_endpoint_config(EndpointConfigName=config)["AsyncInferenceConfig"][
            "OutputConfig"
        ]
        == output
    )
    name = endpoints.unique("async")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    endpoints.in_service(sagemaker, name)
    return name


def read(sandbox: Sandbox, uri: str) -> bytes | None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3 = sandbox.client("s3")
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


def wait_for_object(sandbox: Sandbox, uri: str, timeout: float = 20) -> bytes:
    found = endpoints.wait_until(
        lambda: {"body": read(sandbox, uri)}, lambda d: d["body"] is not None, uri, timeout
    )
    body: bytes = found["body"]
    return body


def test_a_request_in_s3_is_answered_in_the_output_path(
    fast: None, control: Any, runtime: Any, model_bucket: str, bucket: str, sandbox: Sandbox
) -> None:
    name = async_endpoint(control, model_bucket, bucket)
    s3 = sandbox.client("s3")
    s3.put_object(Bucket=bucket, Key="in/one.json", Body=b"[1, 2]")
    queued = runtime.invoke_endpoint_async(
        EndpointName=name, InputLocation=f"s3://{bucket}/in/one.json", ContentType="text/csv"
    )
    assert queued["ResponseMetadata"]["HTTPStatusCode"] == 202
    inference_id = queued["InferenceId"]
    assert queued["OutputLocation"] == f"s3://{bucket}/out/{inference_id}.out"
    assert queued["FailureLocation"] == f"s3://{bucket}/failed/{inference_id}-error.out"
    result = json.loads(wait_for_object(sandbox, queued["OutputLocation"]))
    # the same answer InvokeEndpoint's stand-in model gives
    assert result["variant"] == "a"
    assert 0 <= result["prediction"] < 1
    assert read(sandbox, queued["FailureLocation"]) is None
    # A caller-chosen InferenceId names the output.
    named = runtime.invoke_endpoint_async(
        EndpointName=name, InputLocation=f"s3://{bucket}/in/one.json", InferenceId="mine-1"
    )
    assert named["InferenceId"] == "mine-1"
    assert json.loads(wait_for_object(sandbox, f"s3://{bucket}/out/mine-1.out")) == result
    # The payload inline instead of in S3 (the service model's Body, up to 128,000 bytes).
    inline = runtime.invoke_endpoint_async(EndpointName=name, Body=b"[1, 2]")
    assert json.loads(wait_for_object(sandbox, inline["OutputLocation"])) == result
    # The backlog metrics of a served endpoint: per instance too, as it has one.
    per_instance = endpoints.wait_until(
        lambda: {"points": _datapoints(sandbox, name, "ApproximateBacklogSizePerInstance")},
        lambda d: bool(d["points"]),
        "ApproximateBacklogSizePerInstance datapoints",
    )
    assert all(p >= 0 for p in per_instance["points"])
    assert 0.0 in _datapoints(sandbox, name, "HasBacklogWithoutCapacity")


def test_failures_land_in_the_failure_path(
    fast: None, control: Any, runtime: Any, model_bucket: str, bucket: str, sandbox: Sandbox
) -> None:
    name = async_endpoint(control, model_bucket, bucket)
    # A missing input object.
    missing = runtime.invoke_endpoint_async(
        EndpointName=name, InputLocation=f"s3://{bucket}/in/nothing-here.json"
    )
    failure = json.loads(wait_for_object(sandbox, missing["FailureLocation"]))
    assert failure["inferenceId"] == missing["InferenceId"]
    assert "nothing-here.json" in failure["failureReason"]
    assert read(sandbox, missing["OutputLocation"]) is None
    # The model fails the call (the sandbox's documented way: the variant's behaviour).
    sandbox.client("s3").put_object(Bucket=bucket, Key="in/x.json", Body=b"[1]")
    set_behaviour(sandbox, name, "a", errorRate5xx=1.0)
    try:
        broken = runtime.invoke_endpoint_async(
            EndpointName=name, InputLocation=f"s3://{bucket}/in/x.json"
        )
        failure = json.loads(wait_for_object(sandbox, broken["FailureLocation"]))
        assert "Received server error (500)" in failure["failureReason"]
        assert read(sandbox, broken["OutputLocation"]) is None
    finally:
        behaviour_admin(sandbox, "DELETE", query=f"?endpoint={name}")


def test_calls_the_endpoint_type_does_not_take_are_refused(
    fast: None, control: Any, runtime: Any, model_bucket: str, bucket: str
) -> None:
    name = async_endpoint(control, model_bucket, bucket)
    with pytest.raises(runtime.exceptions.ValidationError) as sync:
        runtime.invoke_endpoint(EndpointName=name, Body=b"[1]")
    assert "InvokeEndpointAsync" in sync.value.response["Error"]["Message"]
    real_time = endpoints.endpoint(control, {"a": endpoints.single_model(control, model_bucket)})
    endpoints.in_service(control, real_time)
    with pytest.raises(runtime.exceptions.ValidationError) as not_async:
        runtime.invoke_endpoint_async(EndpointName=real_time, InputLocation=f"s3://{bucket}/x")
    assert "AsyncInferenceConfig" in not_async.value.response["Error"]["Message"]


def test_results_are_published_to_the_sns_topics(
    fast: None, control: Any, runtime: Any, model_bucket: str, bucket: str, sandbox: Sandbox
) -> None:
    sns, sqs = sandbox.client("sns"), sandbox.client("sqs")
    topics = {k: sns.create_topic(Name=endpoints.unique(k))["TopicArn"] for k in ("ok", "bad")}
    queues = {}
    for kind, topic in topics.items():
        url = sqs.create_queue(QueueName=endpoints.unique(kind))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        queues[kind] = url
    name = async_endpoint(
        control,
        model_bucket,
        bucket,
        notification={
            "SuccessTopic": topics["ok"],
            "ErrorTopic": topics["bad"],
            "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC"],
        },
    )
    sandbox.client("s3").put_object(Bucket=bucket, Key="in/y.json", Body=b"[3]")
    good = runtime.invoke_endpoint_async(
        EndpointName=name, InputLocation=f"s3://{bucket}/in/y.json"
    )
    bad = runtime.invoke_endpoint_async(EndpointName=name, InputLocation=f"s3://{bucket}/in/no")
    wait_for_object(sandbox, good["OutputLocation"])
    wait_for_object(sandbox, bad["FailureLocation"])

    def event(kind: str) -> dict[str, Any]:
        found = endpoints.wait_until(
            lambda: sqs.receive_message(QueueUrl=queues[kind], WaitTimeSeconds=0),
            lambda d: bool(d.get("Messages")),
            f"a message on the {kind} topic",
        )
        message = json.loads(found["Messages"][0]["Body"])["Message"]
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    success = event("ok")
    assert success["invocationStatus"] == "Completed"
    assert success["inferenceId"] == good["InferenceId"]
    assert success["responseParameters"]["outputLocation"] == good["OutputLocation"]
    assert "inferenceResponse" in success  # IncludeInferenceResponseIn names this topic
    failed = event("bad")
    assert failed["invocationStatus"] == "Failed"
    assert failed["inferenceId"] == bad["InferenceId"]
    assert "inferenceResponse" not in failed


def _datapoints(sandbox: Sandbox, name: str, metric: str) -> list[float]:
    now = datetime.datetime.now(datetime.UTC)
    answer = sandbox.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=metric,
        Dimensions=[{"Name": "EndpointName", "Value": name}],
        StartTime=now - datetime.timedelta(minutes=5),
        EndTime=now + datetime.timedelta(minutes=1),
        Period=1,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in answer["Datapoints"]]


def test_scale_to_zero_and_out_from_zero_on_the_backlog(
    fast: None, control: Any, runtime: Any, model_bucket: str, bucket: str, sandbox: Sandbox
) -> None:
    """The documented set-up: target tracking on ApproximateBacklogSizePerInstance with
    MinCapacity 0, and a step policy driven by an alarm on HasBacklogWithoutCapacity."""
    name = async_endpoint(control, model_bucket, bucket)
    scaling = sandbox.client("application-autoscaling")
    resource = f"endpoint/{name}/variant/a"
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": DIMENSION,
    }
    scaling.register_scalable_target(**target, MinCapacity=0, MaxCapacity=2)
    try:
        scaling.put_scaling_policy(
            **target,
            PolicyName="backlog",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 5.0,
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateBacklogSizePerInstance",
                    "Namespace": "AWS/SageMaker",
                    "Dimensions": [{"Name": "EndpointName", "Value": name}],
                    "Statistic": "Average",
                },
                "ScaleInCooldown": 0,
                "ScaleOutCooldown": 0,
            },
        )
        step = scale_out_from_zero(name, "a")
        arn = scaling.put_scaling_policy(
            **target,
            PolicyName=step.policy_name,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration=dict(step.policy),
        )["PolicyARN"]
        cloudwatch = sandbox.client("cloudwatch")
        cloudwatch.put_metric_alarm(AlarmName=step.alarm_name, AlarmActions=[arn], **step.alarm)
        # The alarm is listed under its policy, as Application Auto Scaling does.
        (policy,) = scaling.describe_scaling_policies(**target, PolicyNames=[step.policy_name])[
            "ScalingPolicies"
        ]
        assert [a["AlarmName"] for a in policy["Alarms"]] == [step.alarm_name]

        # No backlog: target tracking scales the variant in to zero.
        def count() -> dict[str, Any]:
            described = control.describe_endpoint(EndpointName=name)
            return {**endpoints.variants_of(described)["a"], "status": described["EndpointStatus"]}

        endpoints.wait_until(
            count, lambda v: v["CurrentInstanceCount"] == 0 and v["status"] == "InService", "0"
        )
        # A request waits on zero instances: HasBacklogWithoutCapacity, the alarm, one instance.
        sandbox.client("s3").put_object(Bucket=bucket, Key="in/z.json", Body=b"[5]")
        queued = runtime.invoke_endpoint_async(
            EndpointName=name, InputLocation=f"s3://{bucket}/in/z.json"
        )
        endpoints.wait_until(count, lambda v: v["CurrentInstanceCount"] >= 1, "scale-out")
        assert json.loads(wait_for_object(sandbox, queued["OutputLocation"]))["variant"] == "a"
        activities = scaling.describe_scaling_activities(
            ServiceNamespace="sagemaker", ResourceId=resource
        )
        causes = [a["Cause"] for a in activities["ScalingActivities"]]
        assert any(step.alarm_name in c and step.policy_name in c for c in causes), causes
        assert 1.0 in _datapoints(sandbox, name, "HasBacklogWithoutCapacity")
        assert max(_datapoints(sandbox, name, "ApproximateBacklogSize")) >= 1.0
        # Deleting the step policy leaves the alarm (AWS does not delete it).
        scaling.delete_scaling_policy(**target, PolicyName=step.policy_name)
        alarms = cloudwatch.describe_alarms(AlarmNames=[step.alarm_name])["MetricAlarms"]
        assert [a["AlarmName"] for a in alarms] == [step.alarm_name]
        cloudwatch.delete_alarms(AlarmNames=[step.alarm_name])
    finally:
        scaling.deregister_scalable_target(**target)
