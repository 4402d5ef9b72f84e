"""Endpoint configs keep shadow variants, data capture and the rest of what moto drops;
endpoints show them; UpdateEndpoint's DeploymentConfig (deployment guardrails) is shown,
takes its traffic shifting time and rolls back on its alarms.

Every SageMaker response is checked against its output shape (the `control` fixture).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import botocore.exceptions
import pytest

from tests.sandbox import endpoints
from tests.sandbox.shapes import ShapeRecorder
from tests.support.sandbox import Sandbox

ACCOUNT = "123456789012"
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 20,
    "DestinationS3Uri": "s3://capture-bucket/endpoint",
    "KmsKeyId": "alias/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
}


def _variant(name: str, model: str, count: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": count,
        "InitialVariantWeight": 1.0,
        **extra,
    }


def _config(
    control: Any,
    production: list[dict[str, Any]],
    shadow: list[dict[str, Any]] | None = None,
    **extras: Any,
) -> str:
    name = endpoints.unique("cfg")
    if shadow:
        extras["ShadowProductionVariants"] = shadow
    control.create_endpoint_config(EndpointConfigName=name, ProductionVariants=production, **extras)
    return name


def _endpoint(control: Any, config: str) -> str:
    name = endpoints.unique("ep")
    control.create_endpoint(EndpointName=name, EndpointConfigName=config)
    endpoints.in_service(control, name)
    return name


def _rejected(call: Callable[[], Any]) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    message: str = raised.value.response["Error"]["Message"]
    return message


def _canary(wait: int, percent: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": wait,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": percent},
            },
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": 1800,
        },
        **extra,
    }


def _linear(wait: int, percent: int) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": wait,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": percent},
            },
        }
    }


@pytest.fixture
def model(control: Any, model_bucket: str) -> str:
    return endpoints.single_model(control, model_bucket)


class Alarms:
    """CloudWatch alarms (in moto's CloudWatch, which the overlay reads) put in a state."""

    def __init__(self, cloudwatch: Any) -> None:
        self.cloudwatch = cloudwatch
        self.made: list[str] = []

    def make(self, state: str) -> str:
        name = endpoints.unique("alarm")
        self.cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="Sandbox/Tests",  # a metric the sandbox never records
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        self.made.append(name)
        self.set_state(name, state)
        return name

    def set_state(self, name: str, state: str) -> None:
        self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


@pytest.fixture
def alarms(sandbox: Sandbox) -> Iterator[Alarms]:
    made = Alarms(sandbox.client("cloudwatch"))
    yield made
    if made.made:  # the sandbox is shared: leave no alarms behind
        made.cloudwatch.delete_alarms(AlarmNames=made.made)


# -- endpoint configs -------------------------------------------------------------------
def test_describe_endpoint_config_shows_shadow_variants_capture_and_kms(
    control: Any, model: str, model_bucket: str, shapes: ShapeRecorder
) -> None:
    shadow_model = endpoints.single_model(control, model_bucket)
    name = _config(
        control,
        [_variant("prod", model, 2)],
        [_variant("shadow", shadow_model, 1, InitialVariantWeight=0.5)],
        DataCaptureConfig=CAPTURE,
        KmsKeyId="alias/volumes",
        ExecutionRoleArn=endpoints.ROLE,
        EnableNetworkIsolation=True,
    )
    described = control.describe_endpoint_config(EndpointConfigName=name)
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["prod"]
    assert described["ShadowProductionVariants"] == [
        _variant("shadow", shadow_model, 1, InitialVariantWeight=0.5)
    ]
    assert described["DataCaptureConfig"] == CAPTURE
    assert described["KmsKeyId"] == "alias/volumes"
    assert described["ExecutionRoleArn"] == endpoints.ROLE
    assert described["EnableNetworkIsolation"] is True

    # Without them, none of these members appears (moto described DataCaptureConfig as {}).
    plain = control.describe_endpoint_config(
        EndpointConfigName=_config(control, [_variant("prod", model)])
    )
    assert not {"DataCaptureConfig", "ShadowProductionVariants", "KmsKeyId"} & set(plain)
    assert shapes.checked.count("DescribeEndpointConfig") == 2


SHADOW_CASES: dict[str, tuple[Callable[[str, str], dict[str, Any]], str]] = {
    "shadow variant named like the production variant": (
        lambda model, multi: {
            "ProductionVariants": [_variant("a", model)],
            "ShadowProductionVariants": [_variant("a", model)],
        },
        'The variant name "a" is used more than once',
    ),
    "two production variants with a shadow variant": (
        lambda model, multi: {
            "ProductionVariants": [_variant("a", model), _variant("b", model)],
            "ShadowProductionVariants": [_variant("s", model)],
        },
        "exactly one variant in ProductionVariants and one in ShadowProductionVariants",
    ),
    "two shadow variants": (
        lambda model, multi: {
            "ProductionVariants": [_variant("a", model)],
            "ShadowProductionVariants": [_variant("s", model), _variant("t", model)],
        },
        "exactly one variant in ProductionVariants and one in ShadowProductionVariants",
    ),
    "shadow variant of a model that does not exist": (
        lambda model, multi: {
            "ProductionVariants": [_variant("a", model)],
            "ShadowProductionVariants": [_variant("s", "no-such-model")],
        },
        f'Could not find model "arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/no-such-model".',
    ),
    "serverless shadow variant": (
        lambda model, multi: {
            "ProductionVariants": [_variant("a", model)],
            "ShadowProductionVariants": [
                {
                    "VariantName": "s",
                    "ModelName": model,
                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                }
            ],
        },
        "not supported with serverless variant s",
    ),
    "multi-model production variant with a shadow variant": (
        lambda model, multi: {
            "ProductionVariants": [_variant("a", multi)],
            "ShadowProductionVariants": [_variant("s", model)],
        },
        "not supported with multi-model model",
    ),
}


@pytest.mark.parametrize("case", sorted(SHADOW_CASES))
def test_invalid_shadow_configs_are_refused_like_sagemaker_does(
    case: str, control: Any, model: str, model_bucket: str
) -> None:
    multi = endpoints.model(
        control,
        PrimaryContainer={
            "Image": "img",
            "Mode": "MultiModel",
            "ModelDataUrl": f"s3://{model_bucket}/xgboost/",
        },
    )
    build, expected = SHADOW_CASES[case]
    name = endpoints.unique("cfg")
    message = _rejected(
        lambda: control.create_endpoint_config(EndpointConfigName=name, **build(model, multi))
    )
    assert expected in message
    with pytest.raises(botocore.exceptions.ClientError):  # nothing was kept
        control.describe_endpoint_config(EndpointConfigName=name)


def test_config_names_and_production_models_are_checked_too(control: Any, model: str) -> None:
    name = _config(control, [_variant("a", model)])
    message = _rejected(
        lambda: control.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=[_variant("a", model)]
        )
    )
    assert message == (
        "Cannot create already existing endpoint configuration"
        f' "arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{name}".'
    )
    message = _rejected(lambda: _config(control, [_variant("a", "missing-model")]))
    assert (
        message
        == f'Could not find model "arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/missing-model".'
    )


# -- endpoints --------------------------------------------------------------------------
def test_endpoint_shows_its_configs_shadow_variants_and_data_capture(
    control: Any, model: str, shapes: ShapeRecorder
) -> None:
    plain = _config(control, [_variant("prod", model, 2)])
    name = _endpoint(control, plain)
    assert not {"ShadowProductionVariants", "DataCaptureConfig"} & set(
        control.describe_endpoint(EndpointName=name)
    )

    shadowed = _config(
        control,
        [_variant("prod", model, 2)],
        [_variant("shadow", model, 1, InitialVariantWeight=0.5)],
        DataCaptureConfig=CAPTURE,
    )
    control.update_endpoint(EndpointName=name, EndpointConfigName=shadowed)
    updating = control.describe_endpoint(EndpointName=name)
    # While updating, the endpoint still shows (and runs) its old config.
    assert updating["EndpointStatus"] == "Updating"
    assert "ShadowProductionVariants" not in updating

    done = endpoints.in_service(control, name)
    assert done["EndpointConfigName"] == shadowed
    assert done["ShadowProductionVariants"] == [
        {
            "VariantName": "shadow",
            "CurrentWeight": 0.5,
            "DesiredWeight": 0.5,
            "CurrentInstanceCount": 1,
            "DesiredInstanceCount": 1,
        }
    ]
    assert done["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 20,
        "DestinationS3Uri": "s3://capture-bucket/endpoint",
        "KmsKeyId": "alias/capture",
    }

    # Created straight from a config, with capture but no capture key: the summary's
    # required KmsKeyId is empty.
    unkeyed = {k: v for k, v in CAPTURE.items() if k != "KmsKeyId"}
    created = endpoints.in_service(
        control,
        _endpoint(control, _config(control, [_variant("prod", model)], DataCaptureConfig=unkeyed)),
    )
    assert created["DataCaptureConfig"]["KmsKeyId"] == ""
    assert "ShadowProductionVariants" not in created
    assert "DescribeEndpoint" in shapes.checked


# -- deployment guardrails --------------------------------------------------------------
def test_update_shows_its_deployment_config_and_retains_it_on_request(
    control: Any, model: str, alarms: Alarms
) -> None:
    name = _endpoint(control, _config(control, [_variant("a", model, 2)]))
    quiet = alarms.make("OK")
    rolling = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            "WaitIntervalInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 1800,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": quiet}]},
    }
    second = _config(control, [_variant("a", model, 3)])
    control.update_endpoint(EndpointName=name, EndpointConfigName=second, DeploymentConfig=rolling)
    done = endpoints.in_service(control, name)
    assert (done["EndpointConfigName"], done["LastDeploymentConfig"]) == (second, rolling)
    assert "FailureReason" not in done  # the alarm stayed OK

    third = _config(control, [_variant("a", model, 2)])
    control.update_endpoint(
        EndpointName=name, EndpointConfigName=third, RetainDeploymentConfig=True
    )
    assert endpoints.in_service(control, name)["LastDeploymentConfig"] == rolling

    control.update_endpoint(EndpointName=name, EndpointConfigName=second)
    assert "LastDeploymentConfig" not in endpoints.in_service(control, name)


@pytest.mark.parametrize(
    ("deployment", "wait_seconds"),
    [
        pytest.param(_canary(wait=200), 2.0, id="canary: one wait interval"),
        pytest.param(_linear(wait=100, percent=50), 2.0, id="linear 50%: two wait intervals"),
    ],
)
def test_traffic_shifting_waits_keep_the_endpoint_updating_longer(
    deployment: dict[str, Any],
    wait_seconds: float,
    control: Any,
    model: str,
    sandbox_settings: Callable[..., None],
) -> None:
    updating_seconds = 0.5
    # A second of WaitIntervalInSeconds lasts 10 ms: the waits add `wait_seconds`.
    sandbox_settings(
        creatingSeconds=0.2, updatingSeconds=updating_seconds, deploymentTimeScale=0.01
    )
    first = _config(control, [_variant("a", model, 2)])
    name = _endpoint(control, first)
    second = _config(control, [_variant("a", model, 2)])

    started = time.monotonic()
    control.update_endpoint(
        EndpointName=name, EndpointConfigName=second, DeploymentConfig=deployment
    )
    # Asked well after updatingSeconds, the endpoint is still shifting traffic.
    past_updating = started + updating_seconds + 0.5
    held = endpoints.wait_until(
        lambda: {"asked": time.monotonic(), **control.describe_endpoint(EndpointName=name)},
        lambda d: d["asked"] >= past_updating or d["EndpointStatus"] != "Updating",
        "updatingSeconds to pass",
    )
    assert (held["EndpointStatus"], held["EndpointConfigName"]) == ("Updating", first)

    done = endpoints.in_service(control, name)
    assert time.monotonic() - started >= updating_seconds + wait_seconds
    assert (done["EndpointConfigName"], done["LastDeploymentConfig"]) == (second, deployment)


def test_an_alarm_in_alarm_state_rolls_the_update_back(
    control: Any, model: str, alarms: Alarms
) -> None:
    first = _config(control, [_variant("a", model, 2)])
    name = _endpoint(control, first)
    quiet, firing = alarms.make("OK"), alarms.make("ALARM")
    deployment = _canary(
        wait=60,
        AutoRollbackConfiguration={"Alarms": [{"AlarmName": quiet}, {"AlarmName": firing}]},
    )
    second = _config(control, [_variant("a", model, 3)])
    control.update_endpoint(
        EndpointName=name, EndpointConfigName=second, DeploymentConfig=deployment
    )
    rolled_back = endpoints.in_service(control, name)
    assert rolled_back["EndpointConfigName"] == first
    assert endpoints.variants_of(rolled_back)["a"]["CurrentInstanceCount"] == 2
    assert rolled_back["FailureReason"] == (
        f"Rolled back the deployment because alarm {firing} went into ALARM state."
    )
    assert rolled_back["LastDeploymentConfig"] == deployment

    # Once the alarm is back to OK, the same deployment goes through.
    alarms.set_state(firing, "OK")
    control.update_endpoint(
        EndpointName=name, EndpointConfigName=second, RetainDeploymentConfig=True
    )
    done = endpoints.in_service(control, name)
    assert done["EndpointConfigName"] == second
    assert "FailureReason" not in done


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        pytest.param(_canary(wait=60, percent=60), "CanarySize of 60%", id="canary over 50%"),
        pytest.param(_linear(wait=60, percent=5), "LinearStepSize of 5%", id="linear under 10%"),
        pytest.param(
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60}
                }
            },
            "CanarySize is required",
            id="canary without a size",
        ),
        pytest.param(
            {
                **_canary(wait=60),
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": 60,
                },
            },
            "Only one update policy",
            id="both update policies",
        ),
        pytest.param(
            {
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": 60,
                }
            },
            "is 100% of the 1 instance(s) of variant a",
            id="rolling batch of a whole variant",
        ),
    ],
)
def test_invalid_deployment_configs_are_refused(
    deployment: dict[str, Any], expected: str, control: Any, model: str
) -> None:
    first = _config(control, [_variant("a", model, 1)])
    name = _endpoint(control, first)
    second = _config(control, [_variant("a", model, 1)])
    message = _rejected(
        lambda: control.update_endpoint(
            EndpointName=name, EndpointConfigName=second, DeploymentConfig=deployment
        )
    )
    assert expected in message
    unchanged = control.describe_endpoint(EndpointName=name)
    assert (unchanged["EndpointStatus"], unchanged["EndpointConfigName"]) == ("InService", first)
    assert "LastDeploymentConfig" not in unchanged
