"""Shadow variants, data capture and deployment guardrails reach SageMaker and act there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.helpers import wait_for_condition
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import IMAGE, model_endpoint, variant

pytestmark = pytest.mark.e2e

CANARY = {
    "blueGreen": {
        "trafficRouting": {"type": "CANARY", "canarySizePercent": 10, "waitIntervalSeconds": 60},
        "terminationWaitSeconds": 0,
    },
    "autoRollbackAlarms": [],
}


def test_shadow_variant_and_data_capture_are_live_on_the_endpoint(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"shadow-{namespace}"
    model_endpoints.create(
        namespace,
        model_endpoint(
            name,
            [variant("prod", model_bucket, "v1", count=2)],
            shadowVariants=[variant("challenger", model_bucket, "v2", image=IMAGE + "-next")],
            dataCapture={
                "destinationS3Uri": f"s3://{model_bucket}/capture",
                "samplingPercentage": 25,
            },
        ),
    )
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)

    described = sandbox.client("sagemaker").describe_endpoint(EndpointName=name)
    assert [v["VariantName"] for v in described["ShadowProductionVariants"]] == ["challenger"]
    capture = described["DataCaptureConfig"]
    assert (capture["EnableCapture"], capture["CurrentSamplingPercentage"]) == (True, 25)
    assert capture["DestinationS3Uri"] == f"s3://{model_bucket}/capture"


@pytest.fixture
def alarm(sandbox: Sandbox) -> Iterator[str]:
    cloudwatch = sandbox.client("cloudwatch")
    name = "bikes-5xx-errors"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    try:
        yield name
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])


def test_canary_update_carries_guardrails_and_an_alarm_rolls_it_back(
    alarm: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"canary-{namespace}"
    deployment = {**CANARY, "autoRollbackAlarms": [alarm]}
    model_endpoints.create(
        namespace,
        model_endpoint(name, [variant("prod", model_bucket, "v1", count=2)], deployment=deployment),
    )
    first = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)

    model_endpoints.patch_spec(
        namespace,
        name,
        {"variants": [variant("prod", model_bucket, "v2", count=2, image=IMAGE + "-v2")]},
    )
    second = wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Ready",
        operator,
        also=lambda o: o["status"]["endpointConfigName"] != first["status"]["endpointConfigName"],
    )
    sagemaker = sandbox.client("sagemaker")
    last = sagemaker.describe_endpoint(EndpointName=name)["LastDeploymentConfig"]
    routing = last["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert (routing["Type"], routing["CanarySize"]["Value"]) == ("CANARY", 10)
    assert last["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": alarm}]

    sandbox.client("cloudwatch").set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason="errors during the canary"
    )
    model_endpoints.patch_spec(
        namespace,
        name,
        {"variants": [variant("prod", model_bucket, "v3", count=2, image=IMAGE + "-v3")]},
    )
    stalled = wait_for_condition(model_endpoints, namespace, name, "Stalled", operator)

    assert cluster.condition(stalled, "Stalled")["reason"] == "UpdateFailed"  # type: ignore[index]
    assert alarm in cluster.condition(stalled, "Stalled")["message"]  # type: ignore[index]
    assert stalled["status"]["endpointConfigName"] == second["status"]["endpointConfigName"]
    assert stalled["status"]["endpointStatus"] == "InService"
