"""Desired state for every kind of variant, and the autoscaling planner."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving_operator.api.modelendpoint import AutoscalingSpec
from serving_operator.planning.modelendpoint.actions import (
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
    UpdateEndpoint,
    UpdateWeightsAndCapacities,
    VariantWeightAndCapacity,
)
from serving_operator.planning.modelendpoint.autoscaling import plan_autoscaling
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint
from serving_operator.planning.modelendpoint.endpoint import plan_endpoint, single_instance_variants
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedArtifacts,
    ObservedEndpoint,
    ObservedScaling,
    ObservedVariant,
)
from tests.support.specs import desired as build
from tests.support.specs import variant

SCALING = {"minInstances": 2, "maxInstances": 6, "maxRequestsPerSecondPerInstance": 10}


# -- requests the spec turns into ---------------------------------------------------------------
def test_multi_model_container_and_target_models() -> None:
    want = build(
        {
            "name": "mme",
            "model": {
                "image": "xgb:1",
                "modelDataUrl": "s3://bucket/bikerental-hyper/model/",
                "mode": "MultiModel",
                "targetModels": ["hyper1.tar.gz", "hyper2.tar.gz"],
                "warmUp": True,
            },
            "instanceType": "ml.m5.large",
        }
    )
    (model,) = want.models
    assert model.request["PrimaryContainer"] == {
        "Image": "xgb:1",
        "ModelDataUrl": "s3://bucket/bikerental-hyper/model/",
        "Mode": "MultiModel",
    }
    assert model.multi_model_prefix == "s3://bucket/bikerental-hyper/model/"
    assert model.target_models == ("hyper1.tar.gz", "hyper2.tar.gz")
    assert model.warm_up


def test_direct_multi_container_lists_hostnames() -> None:
    containers = [
        {"hostname": "xgboost", "image": "xgb:1"},
        {"hostname": "linear", "image": "ll:1", "modelDataUrl": "s3://bucket/ll/model.tar.gz"},
    ]
    want = build(
        {
            "name": "mce",
            "model": {"containers": containers, "inferenceExecution": "Direct"},
            "instanceType": "ml.m5.large",
        }
    )
    (model,) = want.models
    assert model.request["InferenceExecutionConfig"] == {"Mode": "Direct"}
    assert [c["ContainerHostname"] for c in model.request["Containers"]] == ["xgboost", "linear"]
    assert model.direct_hostnames == ("xgboost", "linear")
    assert "PrimaryContainer" not in model.request


def test_serial_pipeline_has_no_hostnames_to_target() -> None:
    want = build(
        {
            "name": "pipe",
            "model": {
                "containers": [
                    {"hostname": "pre", "image": "p:1"},
                    {"hostname": "xgb", "image": "x:1"},
                ]
            },
            "instanceType": "ml.m5.large",
        }
    )
    assert want.models[0].request["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert want.models[0].direct_hostnames == ()


def test_serverless_variant_has_no_instances_and_count_is_not_owned() -> None:
    want = build(
        {
            "name": "sls",
            "model": {"image": "img:1"},
            "serverless": {"memorySizeInMB": 2048, "maxConcurrency": 5},
        }
    )
    entry = want.config_request()["ProductionVariants"][0]
    assert entry["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in entry
    assert "InitialInstanceCount" not in entry
    assert single_instance_variants(want) == []


def test_data_capture_shadow_kms_and_vpc_reach_the_requests() -> None:
    want = build(
        variant("prod"),
        shadowVariants=[variant("shadow", model={"image": "img:2"})],
        dataCapture={"destinationS3Uri": "s3://bucket/capture", "samplingPercentage": 20},
        kmsKeyId="alias/serving",
        vpcConfig={"securityGroupIds": ["sg-0abc"], "subnets": ["subnet-0abc", "subnet-0def"]},
    )
    request = want.config_request()
    assert [v["VariantName"] for v in request["ShadowProductionVariants"]] == ["shadow"]
    assert request["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert request["DataCaptureConfig"]["CaptureOptions"] == [
        {"CaptureMode": "Input"},
        {"CaptureMode": "Output"},
    ]
    assert request["KmsKeyId"] == "alias/serving"
    assert all(
        m.request["VpcConfig"]["Subnets"] == ["subnet-0abc", "subnet-0def"] for m in want.models
    )
    assert want.config_name != build(variant("prod")).config_name


def test_deployment_guardrails_go_with_the_update() -> None:
    deployment = {
        "blueGreen": {
            "trafficRouting": {
                "type": "CANARY",
                "canarySizePercent": 10,
                "waitIntervalSeconds": 300,
            },
            "terminationWaitSeconds": 120,
        },
        "autoRollbackAlarms": ["bikes-5xx"],
    }
    old = build(variant("a"))
    new = build(variant("a", image="img:2"), deployment=deployment)
    endpoint = in_service(old)
    plan = plan_endpoint(new, endpoint, ObservedArtifacts(frozenset(), False))
    update = plan.actions[-1]
    assert isinstance(update, UpdateEndpoint)
    assert update.options is not None
    assert update.options["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            },
            "TerminationWaitInSeconds": 120,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "bikes-5xx"}]},
    }
    # Guardrails govern how a change rolls out; they are not a change of config.
    assert build(variant("a"), deployment=deployment).config_name == old.config_name


# -- autoscaling --------------------------------------------------------------------------------
def test_safety_factor_derives_the_target_from_tested_capacity() -> None:
    assert AutoscalingSpec.model_validate(SCALING).derived_target_value == 300.0  # 10 x 60 x 0.5
    explicit = AutoscalingSpec.model_validate({**SCALING, "safetyFactor": 0.8})
    assert explicit.derived_target_value == 480.0
    given = {"minInstances": 1, "maxInstances": 2, "targetValue": 70, "metric": "CPUUtilization"}
    assert AutoscalingSpec.model_validate(given).derived_target_value == 70


def in_service(want: DesiredEndpoint, counts: dict[str, int] | None = None) -> ObservedEndpoint:
    counts = counts or {}
    return ObservedEndpoint(
        want.endpoint_name,
        "arn",
        EndpointStatus.IN_SERVICE,
        want.config_name,
        None,
        tuple(
            ObservedVariant(
                v.name,
                v.weight,
                v.weight,
                counts.get(v.name, v.instance_count),
                counts.get(v.name, v.instance_count),
            )
            for v in want.variants
        ),
    )


def test_initial_count_is_clamped_into_the_autoscaling_bounds() -> None:
    want = build(variant("a", instanceCount=1, autoscaling=SCALING))
    assert want.variants[0].instance_count == 2


def test_autoscaler_owned_counts_are_never_overwritten() -> None:
    want = build(variant("a", autoscaling=SCALING), variant("b", instanceCount=2))
    scaled_out = in_service(want, {"a": 5})
    assert plan_endpoint(want, scaled_out, None).actions == ()
    # A weight change still goes out, without touching the autoscaled count.
    reweighted = build(variant("a", autoscaling=SCALING, weight=3), variant("b", instanceCount=2))
    assert plan_endpoint(reweighted, scaled_out, None).actions == (
        UpdateWeightsAndCapacities("bikes", (VariantWeightAndCapacity("a", 3.0, None),)),
    )


def test_config_switch_keeps_the_counts_an_autoscaler_reached() -> None:
    old = build(variant("a", autoscaling=SCALING))
    new = build(variant("a", autoscaling=SCALING, model={"image": "img:2"}))
    plan = plan_endpoint(new, in_service(old, {"a": 5}), ObservedArtifacts(frozenset(), False))
    update = plan.actions[-1]
    assert isinstance(update, UpdateEndpoint)
    assert update.options == {
        "RetainAllVariantProperties": True,
        "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredWeight"}],
    }
    plain = build(variant("a", model={"image": "img:2"}))
    switch = plan_endpoint(plain, in_service(old), ObservedArtifacts(frozenset(), False))
    assert switch.actions[-1] == UpdateEndpoint("bikes", plain.config_name, None)


def test_new_autoscaling_registers_target_and_policy() -> None:
    want = build(variant("a", autoscaling=SCALING))
    actions = plan_autoscaling(want, {})
    assert actions[0] == RegisterScalableTarget("endpoint/bikes/variant/a", 2, 6)
    assert isinstance(actions[1], PutScalingPolicy)
    assert actions[1].configuration["TargetValue"] == 300.0
    assert actions[1].configuration["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }


def observed_from(want: DesiredEndpoint) -> dict[str, ObservedScaling]:
    """What Application Auto Scaling reports once `want` is applied (with its own defaults)."""
    return {
        a.resource_id: ObservedScaling(
            a.resource_id,
            a.min_instances,
            a.max_instances,
            {a.policy_name: {**a.policy, "TargetValue": float(a.target_value)}},
        )
        for a in want.autoscaled
    }


def test_matching_autoscaling_plans_nothing() -> None:
    want = build(variant("a", autoscaling=SCALING))
    assert plan_autoscaling(want, observed_from(want)) == ()


def test_changed_bounds_or_target_are_reapplied() -> None:
    before = observed_from(build(variant("a", autoscaling=SCALING)))
    wider = build(variant("a", autoscaling={**SCALING, "maxInstances": 10}))
    assert plan_autoscaling(wider, before) == (
        RegisterScalableTarget("endpoint/bikes/variant/a", 2, 10),
    )
    hotter = build(variant("a", autoscaling={**SCALING, "safetyFactor": 0.7}))
    (put,) = plan_autoscaling(hotter, before)
    assert isinstance(put, PutScalingPolicy)
    assert put.configuration["TargetValue"] == 420.0


def test_removed_autoscaling_is_deregistered_but_foreign_targets_are_left() -> None:
    before = observed_from(build(variant("a", autoscaling=SCALING)))
    before["endpoint/bikes/variant/b"] = ObservedScaling(
        "endpoint/bikes/variant/b", 1, 3, {"someone-elses-policy": {}}
    )
    without = build(variant("a"), variant("b"))
    assert plan_autoscaling(without, before) == (
        DeregisterScalableTarget("endpoint/bikes/variant/a"),
    )


# -- admission-equivalent validation in the models -------------------------------------------------
@pytest.mark.parametrize(
    "variant",
    [
        {"name": "x", "model": {"image": "i"}},  # neither instanceType nor serverless
        {"name": "x", "model": {}, "instanceType": "ml.m5.large"},  # no image nor containers
        {
            "name": "x",
            "model": {"image": "i", "containers": [{"hostname": "h", "image": "i"}]},
            "instanceType": "ml.m5.large",
        },
    ],
)
def test_models_reject_what_the_cel_rules_reject(variant: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        build(variant)


def test_single_instance_variants_are_named() -> None:
    want = build(
        variant("one"), variant("two", instanceCount=2), variant("auto", autoscaling=SCALING)
    )
    assert single_instance_variants(want) == ["one"]


# -- property: autoscaling plans converge and are then empty -------------------------------------
scaling_specs = st.one_of(
    st.none(),
    st.builds(
        lambda low, extra, target, disable: {
            "minInstances": low,
            "maxInstances": low + extra,
            "targetValue": target,
            "disableScaleIn": disable,
        },
        st.integers(1, 4),
        st.integers(0, 4),
        st.sampled_from([5.0, 70.0, 300.0]),
        st.booleans(),
    ),
)


def apply_scaling(observed: dict[str, ObservedScaling], action: object) -> None:
    """A minimal Application Auto Scaling for the property below."""
    match action:
        case RegisterScalableTarget(resource_id=rid, min_instances=low, max_instances=high):
            policies = observed[rid].policies if rid in observed else {}
            observed[rid] = ObservedScaling(rid, low, high, policies)
        case PutScalingPolicy(resource_id=rid, policy_name=name, configuration=config):
            have = observed[rid]  # a policy needs its target first
            observed[rid] = ObservedScaling(
                rid, have.min_instances, have.max_instances, {**have.policies, name: config}
            )
        case DeregisterScalableTarget(resource_id=rid):
            del observed[rid]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(scaling_specs, scaling_specs), min_size=1, max_size=4))
def test_autoscaling_converges_in_one_plan_and_then_plans_nothing(
    steps: list[tuple[dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    observed: dict[str, ObservedScaling] = {}
    for first, second in steps:
        variants = [
            variant("a", **({"autoscaling": first} if first else {})),
            variant("b", **({"autoscaling": second} if second else {})),
        ]
        want = build(*variants)
        for action in plan_autoscaling(want, observed):
            apply_scaling(observed, action)
        assert plan_autoscaling(want, observed) == ()
        assert set(observed) == {a.resource_id for a in want.autoscaled}
