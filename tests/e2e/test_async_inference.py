"""An asynchronous ModelEndpoint against the real apiserver and the sandbox: Ready with its S3
locations in status, backlog scaling registered as the SageMaker developer guide documents it
("Autoscale an asynchronous endpoint"), scaled to zero, and `serving-operator invoke --async
--wait` answered from S3 after the scale-out from zero; a failure lands at the failure path."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_resyncs, wait_gone
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.paths import VENV_BIN
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e

DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@pytest.fixture
def quick_queue(sandbox: Sandbox) -> Iterator[None]:
    before = sandbox._admin("GET", "settings")
    sandbox.settings(asyncProcessingSeconds=0.5, autoscalingWindowSeconds=2, metricPeriodSeconds=1)
    yield
    sandbox.settings(
        **{
            k: before[k]
            for k in ("asyncProcessingSeconds", "autoscalingWindowSeconds", "metricPeriodSeconds")
        }
    )


def _invoke(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "serving-operator"), "invoke", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **sandbox.env},
        timeout=180,
    )


def _instances(obj: dict[str, Any]) -> int | None:
    return (
        obj["status"]["variants"][0].get("currentInstanceCount")
        if obj["status"].get("variants")
        else None
    )


def test_async_endpoint_scales_from_zero_answers_in_s3_and_fails_to_the_failure_path(
    quick_queue: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
    tmp_path: Path,
) -> None:
    name = f"async-{namespace}"
    prefix = f"s3://{model_bucket}/async/{namespace}"
    body = model_endpoint(
        name,
        [
            variant("a", model_bucket, count=1)
            | {
                "autoscaling": {
                    "minInstances": 0,
                    "maxInstances": 3,
                    "metric": "ApproximateBacklogSizePerInstance",
                    "targetValue": 5,
                    "scaleInCooldownSeconds": 0,
                    "scaleOutCooldownSeconds": 0,
                }
            }
        ],
        asyncInference={"outputPath": f"{prefix}/out", "failurePath": f"{prefix}/failed"},
    )
    model_endpoints.create(namespace, body)
    ready = wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Ready",
        operator,
        timeout=120,
        also=lambda o: o["status"].get("autoscalingRegistered") is True,
    )
    assert ready["status"]["asyncInference"] == {
        "outputPath": f"{prefix}/out",
        "failurePath": f"{prefix}/failed",
    }
    sagemaker = sandbox.client("sagemaker")
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=ready["status"]["endpointConfigName"]
    )
    assert config["AsyncInferenceConfig"]["OutputConfig"] == {
        "S3OutputPath": f"{prefix}/out",
        "S3FailurePath": f"{prefix}/failed",
    }

    # What Application Auto Scaling and CloudWatch hold: the documented set-up.
    resource = f"endpoint/{name}/variant/a"
    scaling = sandbox.client("application-autoscaling")
    (target,) = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    policies = {
        p["PolicyName"]: p
        for p in scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=DIMENSION
        )["ScalingPolicies"]
    }
    tracking = policies["serving-operator-a"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 5.0
    assert tracking["CustomizedMetricSpecification"] == {
        "MetricName": "ApproximateBacklogSizePerInstance",
        "Namespace": "AWS/SageMaker",
        "Dimensions": [{"Name": "EndpointName", "Value": name}],
        "Statistic": "Average",
    }
    step = policies["serving-operator-a-scale-out-from-zero"]
    assert step["PolicyType"] == "StepScaling"
    assert step["StepScalingPolicyConfiguration"]["AdjustmentType"] == "ChangeInCapacity"
    assert step["StepScalingPolicyConfiguration"]["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}
    ]
    alarm_name = f"serving-operator-{name}-a-has-backlog-without-capacity"
    (alarm,) = sandbox.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": name}]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 1.0
    assert alarm["AlarmActions"] == [step["PolicyARN"]]

    # Nothing queued: the autoscaler takes the variant to zero, and the operator leaves it.
    wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Ready",
        operator,
        timeout=60,
        also=lambda o: _instances(o) == 0,
    )

    # The autoscaler owns the count: the operator, looking again, does not write it back.
    sandbox.forget_calls()
    wait_for_resyncs(sandbox, name, operator)
    writes = [
        c["operation"]
        for c in sandbox.calls()
        if c.get("target") == name and c["operation"] == "UpdateEndpointWeightsAndCapacities"
    ]
    assert writes == []

    # A request at zero instances: the alarm's step policy adds one, and the result lands.
    request = tmp_path / "request.json"
    request.write_text('{"instances": [[2011, 1, 1, 0, 9.84]]}')
    done = _invoke(
        sandbox, name, "--async", "--data", str(request), "--upload-to", f"{prefix}/in", "--wait"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["variant"] == "a"
    assert f"output: {prefix}/out/" in done.stderr
    # It got there through the step policy (the variant may be back at zero by now).
    activities = scaling.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=resource
    )["ScalingActivities"]
    assert any(
        alarm_name in a["Cause"]
        and "scale-out-from-zero" in a["Cause"]
        and a["Description"] == "Setting desired instance count to 1."
        for a in activities
    ), [a["Cause"] for a in activities]

    # A missing input: the failure lands at the failure path, and the CLI exits 1.
    failed = _invoke(
        sandbox, name, "--async", "--input-location", f"{prefix}/in/missing.json", "--wait"
    )
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "missing.json" in failed.stderr
    failure_key = next(
        line.split(" ", 1)[1] for line in failed.stderr.splitlines() if line.startswith("failure:")
    )
    bucket, _, key = failure_key.removeprefix("s3://").partition("/")
    stored = json.loads(sandbox.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert "missing.json" in stored["failureReason"]

    # A new output path is a new endpoint config, switched to with UpdateEndpoint; the
    # backlog scaling is registered again after the switch.
    before = model_endpoints.get(namespace, name)
    assert before is not None
    old_config = before["status"]["endpointConfigName"]
    model_endpoints.patch_spec(
        namespace, name, {"asyncInference": {"outputPath": f"{prefix}/v2/out"}}
    )
    switched = wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Ready",
        operator,
        timeout=120,
        also=lambda o: (
            o["status"].get("endpointConfigName") != old_config
            and o["status"].get("autoscalingRegistered") is True
        ),
    )
    assert switched["status"]["asyncInference"] == {
        "outputPath": f"{prefix}/v2/out",
        "failurePath": f"{prefix}/failed",
    }
    calls = [c["operation"] for c in sandbox.calls() if c.get("target") == name]
    assert "UpdateEndpoint" in calls
    assert "DeleteEndpoint" not in calls
    again = _invoke(sandbox, name, "--async", "--input-location", f"{prefix}/in/missing.json")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"{prefix}/v2/out/")
    assert scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=DIMENSION
    )["ScalableTargets"]

    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator, timeout=120)
    # Deleting the endpoint deregisters the target and deletes the alarm AWS would leave.
    assert not scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    assert not sandbox.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
