"""Application Auto Scaling target tracking in the sandbox changes variants' instance counts
the way it does in AWS: DesiredInstanceCount first, the endpoint Updating, then
CurrentInstanceCount once the instances are there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.sandbox import endpoints
from tests.sandbox.shapes import ShapeRecorder
from tests.support.sandbox import Sandbox

DIMENSION = "sagemaker:variant:DesiredInstanceCount"


class Autoscaling:
    """An Application Auto Scaling client, and the variants a test put under autoscaling."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.resources: list[str] = []

    def track(
        self,
        endpoint: str,
        *,
        low: int,
        high: int,
        target: float,
        scale_in_cooldown: int,
        scale_out_cooldown: int = 0,
        disable_scale_in: bool = False,
        custom: bool = False,
    ) -> str:
        """Register the variant "a" of the endpoint and put a target-tracking policy on it."""
        resource = f"endpoint/{endpoint}/variant/a"
        self.client.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=DIMENSION,
            MinCapacity=low,
            MaxCapacity=high,
        )
        self.resources.append(resource)
        metric: dict[str, Any]
        if custom:
            metric = {
                "CustomizedMetricSpecification": {
                    "MetricName": "InvocationsPerInstance",
                    "Namespace": "AWS/SageMaker",
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": endpoint},
                        {"Name": "VariantName", "Value": "a"},
                    ],
                    "Statistic": "Sum",
                }
            }
        else:
            metric = {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                }
            }
        self.client.put_scaling_policy(
            PolicyName="invocations",
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target,
                "ScaleOutCooldown": scale_out_cooldown,
                "ScaleInCooldown": scale_in_cooldown,
                "DisableScaleIn": disable_scale_in,
                **metric,
            },
        )
        return resource

    def activities(self, **filters: str) -> list[dict[str, Any]]:
        activities: list[dict[str, Any]] = self.client.describe_scaling_activities(
            ServiceNamespace="sagemaker", **filters
        )["ScalingActivities"]
        return activities


@pytest.fixture
def autoscaling(sandbox: Sandbox, shapes: ShapeRecorder) -> Iterator[Autoscaling]:
    client = sandbox.client("application-autoscaling")
    # DescribeScalingActivities is the overlay's own answer (moto has none): check its shape.
    client.meta.events.register(
        "before-parse.application-auto-scaling.DescribeScalingActivities", shapes
    )
    scaling = Autoscaling(client)
    yield scaling
    for resource in scaling.resources:  # the sandbox is shared: leave others' targets be
        client.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=DIMENSION
        )


def _counts(control: Any, name: str) -> tuple[str, int, int]:
    described = control.describe_endpoint(EndpointName=name)
    variant = endpoints.variants_of(described)["a"]
    return (
        described["EndpointStatus"],
        variant["DesiredInstanceCount"],
        variant["CurrentInstanceCount"],
    )


def test_load_above_the_target_scales_out_up_to_max_capacity(
    control: Any,
    runtime: Any,
    autoscaling: Autoscaling,
    model_bucket: str,
    shapes: ShapeRecorder,
    sandbox_settings: Callable[..., None],
) -> None:
    # 30 invocations in a 20 s window against 5 per instance: 6 instances wanted, 4 allowed.
    # The first step comes at the 6th call (2 instances); as in AWS, the scale-out cooldown
    # only holds back steps that ask for no more than the last one set, so it goes on to 4.
    sandbox_settings(autoscalingWindowSeconds=20)
    name = endpoints.endpoint(
        control, {"a": endpoints.single_model(control, model_bucket)}, count=1
    )
    endpoints.in_service(control, name)
    resource = autoscaling.track(
        name, low=1, high=4, target=5, scale_in_cooldown=3600, scale_out_cooldown=600
    )

    for _ in range(30):
        runtime.invoke_endpoint(EndpointName=name, Body=b"1.0")  # served while Updating too
    status, desired, current = _counts(control, name)
    assert desired > 1
    # DesiredInstanceCount leads; CurrentInstanceCount follows once the instances are there.
    assert current < desired if status == "Updating" else current == desired

    settled = endpoints.wait_until(
        lambda: control.describe_endpoint(EndpointName=name),
        lambda d: (
            d["EndpointStatus"] == "InService"
            and endpoints.variants_of(d)["a"]["CurrentInstanceCount"] == 4
        ),
        f"{name} to run 4 instances",
    )
    assert endpoints.variants_of(settled)["a"]["DesiredInstanceCount"] == 4

    activities = autoscaling.activities(ResourceId=resource)
    assert activities[0]["Description"] == "Setting desired instance count to 4."  # newest
    assert activities[-1]["Description"] == "Setting desired instance count to 2."
    assert {a["StatusCode"] for a in activities} == {"Successful"}
    assert {a["ScalableDimension"] for a in activities} == {DIMENSION}
    assert "DescribeScalingActivities" in shapes.checked


def test_idle_variant_scales_in_to_min_capacity_unless_scale_in_is_disabled(
    control: Any,
    autoscaling: Autoscaling,
    model_bucket: str,
    shapes: ShapeRecorder,
    sandbox_settings: Callable[..., None],
) -> None:
    sandbox_settings(autoscalingWindowSeconds=3)
    model = endpoints.single_model(control, model_bucket)
    shrinking = endpoints.endpoint(control, {"a": model}, count=3)
    kept = endpoints.endpoint(control, {"a": model}, count=3)
    endpoints.in_service(control, shrinking)
    endpoints.in_service(control, kept)
    # Put first, so that it has seen at least as long an idle window as the other.
    autoscaling.track(kept, low=1, high=4, target=5, scale_in_cooldown=0, disable_scale_in=True)
    # The customized form of the same metric is followed too.
    autoscaling.track(shrinking, low=1, high=4, target=5, scale_in_cooldown=0, custom=True)
    # Right after the policy is put there is not yet a whole window of low traffic.
    assert _counts(control, shrinking) == ("InService", 3, 3)

    endpoints.wait_until(
        lambda: dict(
            zip(("status", "desired", "current"), _counts(control, shrinking), strict=True)
        ),
        lambda c: c == {"status": "InService", "desired": 1, "current": 1},
        f"{shrinking} to scale in to 1 instance",
    )
    # Idle at least as long, on the same ticks: DisableScaleIn is what held it.
    assert _counts(control, kept) == ("InService", 3, 3)
    resources = {a["ResourceId"] for a in autoscaling.activities()}
    assert f"endpoint/{shrinking}/variant/a" in resources
    assert f"endpoint/{kept}/variant/a" not in resources
    assert "DescribeScalingActivities" in shapes.checked
