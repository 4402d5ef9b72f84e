"""Asynchronous endpoints: the spec's asyncInference as the endpoint config's
AsyncInferenceConfig, and backlog autoscaling with the scale-out-from-zero step policy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving_operator.planning.modelendpoint.actions import (
    DeleteScaleOutAlarm,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    PutScaleOutAlarm,
    PutScalingPolicy,
    RegisterScalableTarget,
    UpdateEndpoint,
)
from serving_operator.planning.modelendpoint.autoscaling import plan_autoscaling
from serving_operator.planning.modelendpoint.endpoint import plan_endpoint
from serving_operator.planning.modelendpoint.observed import ObservedArtifacts, ObservedScaling
from tests.support.specs import desired as build
from tests.support.specs import in_service, variant

ASYNC = {
    "outputPath": "s3://bucket/async/out/",
    "failurePath": "s3://bucket/async/failed/",
    "maxConcurrentInvocationsPerInstance": 4,
    "notification": {
        "successTopic": "arn:aws:sns:us-east-1:123456789012:ok",
        "errorTopic": "arn:aws:sns:us-east-1:123456789012:failed",
        "includeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC"],
    },
}
BACKLOG = {
    "minInstances": 0,
    "maxInstances": 4,
    "metric": "ApproximateBacklogSizePerInstance",
    "targetValue": 5,
    "scaleInCooldownSeconds": 600,
    "scaleOutCooldownSeconds": 300,
}
RID = "endpoint/bikes/variant/a"


def test_async_inference_is_the_configs_async_inference_config() -> None:
    want = build(variant("a"), asyncInference=ASYNC)
    assert want.config_request()["AsyncInferenceConfig"] == {
        "OutputConfig": {
            "S3OutputPath": "s3://bucket/async/out/",
            "S3FailurePath": "s3://bucket/async/failed/",
            "NotificationConfig": {
                "SuccessTopic": "arn:aws:sns:us-east-1:123456789012:ok",
                "ErrorTopic": "arn:aws:sns:us-east-1:123456789012:failed",
                "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC"],
            },
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
    }
    assert want.async_output == ("s3://bucket/async/out/", "s3://bucket/async/failed/")
    assert build(variant("a")).async_output is None
    assert "AsyncInferenceConfig" not in build(variant("a")).config_request()


def test_a_changed_async_config_is_a_new_config_switched_to_with_update_endpoint() -> None:
    before = build(variant("a"), asyncInference=ASYNC)
    after = build(variant("a"), asyncInference={**ASYNC, "outputPath": "s3://bucket/v2/"})
    assert after.config_name != before.config_name
    # deterministic: the same spec names the same config
    assert build(variant("a"), asyncInference=ASYNC).config_name == before.config_name
    plan = plan_endpoint(after, in_service(before), ObservedArtifacts(frozenset(), False))
    assert plan.actions[-1] == UpdateEndpoint("bikes", after.config_name, None)
    # and once it runs, nothing more
    assert plan_endpoint(after, in_service(after), None).actions == ()


@pytest.mark.parametrize(
    "spec",
    [
        # two production variants
        {"variants": [variant("a"), variant("b")], "asyncInference": ASYNC},
        # serverless
        {
            "variants": [
                {
                    "name": "a",
                    "model": {"image": "i"},
                    "serverless": {"memorySizeInMB": 2048, "maxConcurrency": 1},
                }
            ],
            "asyncInference": ASYNC,
        },
        # scale to zero without asyncInference
        {"variants": [variant("a", autoscaling=BACKLOG)]},
        {"variants": [variant("a", autoscaling={**BACKLOG, "minInstances": 1})]},
        # an SNS topic that is not an SNS ARN, an output that is not S3
        {
            "variants": [variant("a")],
            "asyncInference": {**ASYNC, "notification": {"successTopic": "arn:aws:sqs:x"}},
        },
        {"variants": [variant("a")], "asyncInference": {"outputPath": "https://x/y"}},
    ],
)
def test_models_reject_what_the_cel_rules_reject(spec: dict[str, Any]) -> None:
    variants = spec.pop("variants")
    with pytest.raises(pydantic.ValidationError):
        build(*variants, **spec)


def test_backlog_autoscaling_is_target_tracking_plus_scale_out_from_zero() -> None:
    want = build(variant("a", autoscaling=BACKLOG), asyncInference=ASYNC)
    # SageMaker's InitialInstanceCount is at least 1 (botocore InitialTaskCount min 1)
    assert want.variants[0].instance_count == 1
    actions = plan_autoscaling(want, {})
    assert actions[0] == RegisterScalableTarget(RID, 0, 4)
    tracking = actions[1]
    assert isinstance(tracking, PutScalingPolicy)
    assert tracking.policy_type == "TargetTrackingScaling"
    # As the developer guide's "Autoscale an asynchronous endpoint" defines the policy.
    assert tracking.configuration == {
        "TargetValue": 5.0,
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 300,
        "DisableScaleIn": False,
        "CustomizedMetricSpecification": {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": "bikes"}],
            "Statistic": "Average",
        },
    }
    step, alarm = actions[2:]
    assert step == PutScalingPolicy(
        RID,
        "serving-operator-a-scale-out-from-zero",
        {
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Average",
            "Cooldown": 300,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
        "StepScaling",
    )
    assert isinstance(alarm, PutScaleOutAlarm)
    assert alarm.policy_name == step.policy_name
    assert alarm.alarm_name == "serving-operator-bikes-a-has-backlog-without-capacity"
    assert alarm.alarm == {
        "MetricName": "HasBacklogWithoutCapacity",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Average",
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "missing",
        "Dimensions": [{"Name": "EndpointName", "Value": "bikes"}],
        "Period": 60,
    }
    assert len(actions) == 4


def test_min_one_needs_no_scale_out_from_zero() -> None:
    want = build(variant("a", autoscaling={**BACKLOG, "minInstances": 1}), asyncInference=ASYNC)
    assert [type(a) for a in plan_autoscaling(want, {})] == [
        RegisterScalableTarget,
        PutScalingPolicy,
    ]


def apply(observed: dict[str, ObservedScaling], action: object) -> None:
    """A small Application Auto Scaling + CloudWatch: what each action leaves behind."""
    match action:
        case RegisterScalableTarget(resource_id=rid, min_instances=low, max_instances=high):
            have = observed.get(rid)
            observed[rid] = (
                replace(have, min_instances=low, max_instances=high)
                if have
                else ObservedScaling(rid, low, high)
            )
        case PutScalingPolicy(resource_id=rid, policy_name=name, configuration=config):
            have = observed[rid]
            observed[rid] = replace(have, policies={**have.policies, name: config})
        case DeleteScalingPolicy(resource_id=rid, policy_name=name):
            have = observed[rid]
            policies = {k: v for k, v in have.policies.items() if k != name}
            alarms = {k: v for k, v in have.policy_alarms.items() if k != name}
            observed[rid] = replace(have, policies=policies, policy_alarms=alarms)
        case PutScaleOutAlarm(resource_id=rid, policy_name=name, alarm_name=alarm):
            have = observed[rid]
            assert name in have.policies  # the alarm's action is the policy's ARN
            linked = {**have.policy_alarms, name: frozenset({alarm})}
            observed[rid] = replace(have, policy_alarms=linked)
        case DeregisterScalableTarget(resource_id=rid):
            del observed[rid]
        case DeleteScaleOutAlarm():
            pass


backlog_specs = st.one_of(
    st.none(),
    st.builds(
        lambda low, extra, target: {
            **BACKLOG,
            "minInstances": low,
            "maxInstances": 1 + extra,
            "targetValue": target,
        },
        st.integers(0, 1),
        st.integers(0, 3),
        st.sampled_from([1.0, 5.0]),
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(backlog_specs, min_size=1, max_size=4))
def test_backlog_scaling_converges_in_one_plan_and_then_plans_nothing(
    steps: list[dict[str, Any] | None],
) -> None:
    observed: dict[str, ObservedScaling] = {}
    for scaling in steps:
        want = build(
            variant("a", **({"autoscaling": scaling} if scaling else {})), asyncInference=ASYNC
        )
        for action in plan_autoscaling(want, observed):
            apply(observed, action)
        assert plan_autoscaling(want, observed) == ()
        step_policies = {n for s in observed.values() for n in s.policies if "from-zero" in n}
        wants_step = scaling is not None and scaling["minInstances"] == 0
        assert step_policies == (
            {"serving-operator-a-scale-out-from-zero"} if wants_step else set()
        )


def test_scale_out_from_zero_is_removed_with_its_alarm() -> None:
    zero = build(variant("a", autoscaling=BACKLOG), asyncInference=ASYNC)
    observed: dict[str, ObservedScaling] = {}
    for action in plan_autoscaling(zero, observed):
        apply(observed, action)
    one = build(variant("a", autoscaling={**BACKLOG, "minInstances": 1}), asyncInference=ASYNC)
    assert plan_autoscaling(one, observed) == (
        RegisterScalableTarget(RID, 1, 4),
        DeleteScalingPolicy(RID, "serving-operator-a-scale-out-from-zero"),
        DeleteScaleOutAlarm(RID, "serving-operator-bikes-a-has-backlog-without-capacity"),
    )
    # Autoscaling removed altogether: the target goes (and its policies with it), and the
    # alarm, which Application Auto Scaling leaves in CloudWatch, is deleted too.
    plain = build(variant("a"), asyncInference=ASYNC)
    assert plan_autoscaling(plain, observed) == (
        DeregisterScalableTarget(RID),
        DeleteScaleOutAlarm(RID, "serving-operator-bikes-a-has-backlog-without-capacity"),
    )


def test_an_alarm_deleted_out_of_band_is_put_back() -> None:
    want = build(variant("a", autoscaling=BACKLOG), asyncInference=ASYNC)
    observed: dict[str, ObservedScaling] = {}
    for action in plan_autoscaling(want, observed):
        apply(observed, action)
    observed[RID] = replace(observed[RID], policy_alarms={})
    (put,) = plan_autoscaling(want, observed)
    assert isinstance(put, PutScaleOutAlarm)
