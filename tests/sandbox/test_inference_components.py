"""Inference components in the sandbox, driven through boto3 as SageMaker documents them:
lifecycle, placement on the endpoint's instances within each copy's reservation, managed
instance scaling, rolling updates that leave other components alone, invocation by component
name, and copy autoscaling down to zero and back. Every SageMaker answer is checked against
its botocore output shape (the `control` fixture)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from serving_operator.sandbox.inference_components import instances_needed, place
from serving_operator.sandbox.instance_types import INSTANCE_RESOURCES, Resources
from tests.sandbox import endpoints
from tests.sandbox.endpoints import ROLE, unique, wait_until
from tests.support.sandbox import Sandbox

FAST = {"creatingSeconds": 0.3, "updatingSeconds": 0.3, "deletingSeconds": 0.2}
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


# Long enough that a describe right after a change still sees its in-between status.
STEADY = {"creatingSeconds": 3, "updatingSeconds": 3, "deletingSeconds": 3}


@pytest.fixture
def fast(sandbox_settings: Callable[..., None]) -> None:
    sandbox_settings(**FAST)


@pytest.fixture
def steady(sandbox_settings: Callable[..., None]) -> None:
    sandbox_settings(**STEADY)


def ic_endpoint(
    control: Any,
    *,
    instance_type: str = "ml.g5.12xlarge",
    count: int = 1,
    managed: tuple[int, int] | None = None,
) -> str:
    """An InService endpoint whose one variant "main" hosts inference components."""
    variant: dict[str, Any] = {
        "VariantName": "main",
        "InstanceType": instance_type,
        "InitialInstanceCount": count,
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
    }
    if managed is not None:
        variant["ManagedInstanceScaling"] = {
            "Status": "ENABLED",
            "MinInstanceCount": managed[0],
            "MaxInstanceCount": managed[1],
        }
    config = unique("cfg")
    control.create_endpoint_config(
        EndpointConfigName=config, ExecutionRoleArn=ROLE, ProductionVariants=[variant]
    )
    name = unique("ep")
    control.create_endpoint(EndpointName=name, EndpointConfigName=config)
    endpoints.in_service(control, name)
    return name


def spec(
    *,
    image: str = "llm:1",
    cpus: float = 4,
    memory: int = 16384,
    gpus: float = 1,
    artifact: str | None = None,
) -> dict[str, Any]:
    compute: dict[str, Any] = {"NumberOfCpuCoresRequired": cpus, "MinMemoryRequiredInMb": memory}
    if gpus:  # at least 1 when given (botocore's NumberOfAcceleratorDevices)
        compute["NumberOfAcceleratorDevicesRequired"] = gpus
    container: dict[str, Any] = {"Image": image}
    if artifact is not None:
        container["ArtifactUrl"] = artifact
    return {
        "Container": container,
        "ComputeResourceRequirements": compute,
    }


def component(
    control: Any, endpoint: str, copies: int = 1, name: str | None = None, **requirements: Any
) -> str:
    name = name or unique("ic")
    control.create_inference_component(
        InferenceComponentName=name,
        EndpointName=endpoint,
        VariantName="main",
        Specification=spec(**requirements),
        RuntimeConfig={"CopyCount": copies},
    )
    return name


def describe(control: Any, name: str) -> dict[str, Any]:
    described: dict[str, Any] = control.describe_inference_component(InferenceComponentName=name)
    described.pop("ResponseMetadata")
    return described


def settled(control: Any, name: str, status: str = "InService") -> dict[str, Any]:
    return wait_until(
        lambda: describe(control, name),
        lambda d: d["InferenceComponentStatus"] == status,
        f"{name} to be {status}",
    )


def copies(described: dict[str, Any]) -> tuple[int, int]:
    runtime = described["RuntimeConfig"]
    return runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]


def instances(control: Any, endpoint: str) -> int:
    variant = control.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    count: int = variant["CurrentInstanceCount"]
    return count


def gone(control: Any, name: str) -> None:
    def missing() -> dict[str, Any]:
        try:
            describe(control, name)
        except ClientError as error:
            return {"gone": error.response["Error"]["Code"] == "ValidationException"}
        return {"gone": False}

    wait_until(missing, lambda d: d["gone"], f"{name} to be deleted")


def test_lifecycle_create_describe_list_update_delete(
    control: Any, steady: None, sandbox: Sandbox
) -> None:
    endpoint = ic_endpoint(control)
    name = component(control, endpoint, copies=2)
    # The call log names the component a call is about (tests count reads per resource).
    assert [c["operation"] for c in sandbox.calls() if c.get("target") == name] == [
        "CreateInferenceComponent"
    ]
    creating = describe(control, name)
    assert creating["InferenceComponentStatus"] == "Creating"
    assert creating["EndpointName"] == endpoint
    assert creating["VariantName"] == "main"
    assert creating["InferenceComponentArn"].endswith(f":inference-component/{name}")
    described = settled(control, name)
    assert copies(described) == (2, 2)
    assert described["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"] == "llm:1"
    assert described["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == (
        16384
    )
    assert "FailureReason" not in described

    listed = control.list_inference_components(EndpointNameEquals=endpoint)
    assert [c["InferenceComponentName"] for c in listed["InferenceComponents"]] == [name]
    assert (
        control.list_inference_components(EndpointNameEquals=endpoint, StatusEquals="Creating")[
            "InferenceComponents"
        ]
        == []
    )

    control.update_inference_component_runtime_config(
        InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 3}
    )
    updating = describe(control, name)
    assert updating["InferenceComponentStatus"] == "Updating"
    assert copies(updating) == (3, 2)
    assert copies(settled(control, name)) == (3, 3)

    # An endpoint with components cannot be deleted: delete the components first.
    with pytest.raises(ClientError) as refused:
        control.delete_endpoint(EndpointName=endpoint)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert name in refused.value.response["Error"]["Message"]

    # Tags, on the component's ARN (the operator marks what it owns with a tag).
    arn = described["InferenceComponentArn"]
    control.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "me"}])
    control.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "you"}])
    assert control.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "you"}]
    control.delete_tags(ResourceArn=arn, TagKeys=["owner"])
    assert control.list_tags(ResourceArn=arn)["Tags"] == []

    control.delete_inference_component(InferenceComponentName=name)
    assert describe(control, name)["InferenceComponentStatus"] == "Deleting"
    gone(control, name)
    config = control.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    variant = control.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    assert "ModelName" not in variant
    assert variant["InstanceType"] == "ml.g5.12xlarge"  # a type moto's own list lacks
    control.delete_endpoint(EndpointName=endpoint)
    control.delete_endpoint_config(EndpointConfigName=config)


def test_a_missing_artifact_fails_the_component_and_rolls_an_update_back(
    control: Any, fast: None, model_bucket: str
) -> None:
    endpoint = ic_endpoint(control)
    missing = f"s3://{model_bucket}/llm/{unique('absent')}/model.tar.gz"
    present = f"s3://{model_bucket}/xgboost/v1/model.tar.gz"
    failing = component(control, endpoint, artifact=missing)
    failed = settled(control, failing, "Failed")
    assert missing in failed["FailureReason"]
    assert copies(failed) == (1, 0)
    # A model whose artifact is missing fails it the same way.
    model = endpoints.model(control, PrimaryContainer={"Image": "img", "ModelDataUrl": missing})
    by_model = unique("ic")
    control.create_inference_component(
        InferenceComponentName=by_model,
        EndpointName=endpoint,
        VariantName="main",
        Specification={**spec(), "ModelName": model},
        RuntimeConfig={"CopyCount": 1},
    )
    assert missing in settled(control, by_model, "Failed")["FailureReason"]

    working = component(control, endpoint, artifact=present)
    assert "FailureReason" not in settled(control, working)
    control.update_inference_component(
        InferenceComponentName=working, Specification=spec(image="llm:2", artifact=missing)
    )
    rolled_back = settled(control, working)
    assert "Rolled back the update" in rolled_back["FailureReason"]
    assert rolled_back["Specification"]["Container"]["ArtifactUrl"] == present
    for name in (failing, by_model, working):
        control.delete_inference_component(InferenceComponentName=name)


def test_list_filters_sorts_and_pages(control: Any, fast: None) -> None:
    endpoint = ic_endpoint(control, instance_type="ml.m5.24xlarge")
    prefix = unique("listed")
    names = [
        component(control, endpoint, name=f"{prefix}-{i}", cpus=1, memory=1024, gpus=0)
        for i in range(3)
    ]
    other = component(control, endpoint, cpus=1, memory=1024, gpus=0)

    def listed(**filters: Any) -> list[str]:
        page = control.list_inference_components(EndpointNameEquals=endpoint, **filters)
        return [c["InferenceComponentName"] for c in page["InferenceComponents"]]

    assert listed(NameContains=prefix.upper()) == names[::-1]  # newest first
    assert listed(NameContains=prefix, SortBy="Name", SortOrder="Ascending") == names
    first = control.list_inference_components(EndpointNameEquals=endpoint, MaxResults=3)
    assert len(first["InferenceComponents"]) == 3
    rest = control.list_inference_components(
        EndpointNameEquals=endpoint, MaxResults=3, NextToken=first["NextToken"]
    )
    assert "NextToken" not in rest
    seen = {c["InferenceComponentName"] for c in first["InferenceComponents"]}
    seen |= {c["InferenceComponentName"] for c in rest["InferenceComponents"]}
    assert seen == {*names, other}
    assert listed(VariantNameEquals="other") == []
    paginator = control.get_paginator("list_inference_components")
    pages = paginator.paginate(EndpointNameEquals=endpoint, PaginationConfig={"PageSize": 2})
    assert sum(len(p["InferenceComponents"]) for p in pages) == 4


def test_validation_errors(control: Any, fast: None, model_bucket: str) -> None:
    endpoint = ic_endpoint(control)

    def refused(**request: Any) -> str:
        with pytest.raises(ClientError) as error:
            control.create_inference_component(**request)
        assert error.value.response["Error"]["Code"] == "ValidationException"
        message: str = error.value.response["Error"]["Message"]
        return message

    good: dict[str, Any] = {
        "InferenceComponentName": unique("ic"),
        "EndpointName": endpoint,
        "VariantName": "main",
        "Specification": spec(),
        "RuntimeConfig": {"CopyCount": 1},
    }
    assert "Could not find endpoint" in refused(**{**good, "EndpointName": unique("missing")})
    assert "Could not find variant" in refused(**{**good, "VariantName": "nope"})
    assert "regular expression" in refused(**{**good, "InferenceComponentName": "bad_name"})
    missing_model = {**spec(), "ModelName": unique("missing")}
    assert "Could not find model" in refused(**{**good, "Specification": missing_model})
    assert "RuntimeConfig" in refused(**{k: v for k, v in good.items() if k != "RuntimeConfig"})

    # A variant that serves a model does not host components.
    model = endpoints.single_model(control, model_bucket)
    classic = endpoints.endpoint(control, {"main": model}, count=1)
    endpoints.in_service(control, classic)
    assert "cannot host inference components" in refused(**{**good, "EndpointName": classic})

    # Nor does an endpoint config without an ExecutionRoleArn: it cannot even be made.
    with pytest.raises(ClientError) as no_role:
        control.create_endpoint_config(
            EndpointConfigName=unique("cfg"),
            ProductionVariants=[
                {"VariantName": "main", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
            ],
        )
    assert "ExecutionRoleArn" in no_role.value.response["Error"]["Message"]

    name = component(control, endpoint, gpus=8)  # more GPUs than an instance: stays Creating
    with pytest.raises(ClientError) as twice:
        component(control, endpoint, name=name)
    assert "already existing" in twice.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as busy:  # still Creating
        control.update_inference_component_runtime_config(
            InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 2}
        )
    assert "in-progress" in busy.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        describe(control, unique("missing"))
    assert "Could not find inference component" in missing.value.response["Error"]["Message"]


def test_copies_that_do_not_fit_stay_creating_until_room_appears(control: Any, fast: None) -> None:
    # ml.g5.12xlarge: 48 vCPUs, 192 GiB, 4 GPUs. Three 1-GPU copies take three GPUs.
    endpoint = ic_endpoint(control, instance_type="ml.g5.12xlarge", count=1)
    big = component(control, endpoint, copies=3)
    assert copies(settled(control, big)) == (3, 3)
    # Two more copies, one GPU each: one fits, the other does not.
    late = component(control, endpoint, copies=2)
    stuck = wait_until(
        lambda: describe(control, late),
        lambda d: d["RuntimeConfig"]["CurrentCopyCount"] == 1 and "FailureReason" in d,
        "the copy that fits to be placed",
    )
    assert stuck["InferenceComponentStatus"] == "Creating"
    assert "Insufficient capacity" in stuck["FailureReason"]
    assert "placed 1 of 2" in stuck["FailureReason"]
    # A copy bigger than an instance never fits.
    huge = component(control, endpoint, gpus=8)
    never = wait_until(
        lambda: describe(control, huge),
        lambda d: "FailureReason" in d,
        "the reason the copy cannot be placed",
    )
    assert never["InferenceComponentStatus"] == "Creating"
    assert "more than one ml.g5.12xlarge instance has" in never["FailureReason"]
    # Room appears: the waiting component takes it and goes InService.
    control.update_inference_component_runtime_config(
        InferenceComponentName=big, DesiredRuntimeConfig={"CopyCount": 2}
    )
    placed = settled(control, late)
    assert copies(placed) == (2, 2)
    assert "FailureReason" not in placed
    for name in (big, late, huge):
        control.delete_inference_component(InferenceComponentName=name)


def test_managed_instance_scaling_grows_to_fit_and_shrinks_to_the_minimum(
    control: Any, fast: None
) -> None:
    # ml.g5.xlarge: one GPU per instance, so one copy per instance.
    endpoint = ic_endpoint(control, instance_type="ml.g5.xlarge", count=1, managed=(0, 3))
    name = component(control, endpoint, copies=2, cpus=2, memory=8192)
    assert copies(settled(control, name)) == (2, 2)
    assert instances(control, endpoint) == 2
    summary = control.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    assert summary["ManagedInstanceScaling"]["MaxInstanceCount"] == 3
    assert summary["RoutingConfig"]["RoutingStrategy"] == "LEAST_OUTSTANDING_REQUESTS"
    # The endpoint keeps running on its config once the config is deleted.
    config = control.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    control.delete_endpoint_config(EndpointConfigName=config)

    # Beyond MaxInstanceCount: three instances, three copies, the fourth waits.
    control.update_inference_component_runtime_config(
        InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 4}
    )
    capped = settled(control, name)
    assert copies(capped) == (4, 3)
    assert instances(control, endpoint) == 3

    control.update_inference_component_runtime_config(
        InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 1}
    )
    assert copies(settled(control, name)) == (1, 1)
    assert instances(control, endpoint) == 1
    # No copies left: MinInstanceCount 0 lets the endpoint go down to no instances.
    control.delete_inference_component(InferenceComponentName=name)
    gone(control, name)
    assert instances(control, endpoint) == 0
    control.delete_endpoint(EndpointName=endpoint)


def test_rolling_update_of_one_component_leaves_the_others_alone(
    control: Any, steady: None, runtime: Any
) -> None:
    endpoint = ic_endpoint(control, instance_type="ml.g5.12xlarge")
    rolled = component(control, endpoint, copies=2, image="llm:1")
    other = component(control, endpoint, copies=1, image="embed:1")
    settled(control, rolled)
    before = settled(control, other)

    control.update_inference_component(
        InferenceComponentName=rolled,
        Specification=spec(image="llm:2"),
        DeploymentConfig={
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 0,
            }
        },
    )
    assert describe(control, rolled)["InferenceComponentStatus"] == "Updating"
    # While it rolls, the old copies keep answering.
    served = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=b"1", InferenceComponentName=rolled
    )
    assert json.loads(served["Body"].read())["model"] == "llm:1"
    after = settled(control, rolled)
    image = after["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"]
    assert image == "llm:2"
    assert after["LastDeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"]["Value"] == 1
    served = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=b"1", InferenceComponentName=rolled
    )
    assert json.loads(served["Body"].read())["model"] == "llm:2"
    untouched = describe(control, other)
    assert untouched == before

    # A new spec whose copies do not fit rolls back: the old one keeps serving.
    control.update_inference_component(
        InferenceComponentName=rolled, Specification=spec(image="llm:3", gpus=3)
    )
    rolled_back = settled(control, rolled)
    assert "Rolled back" in rolled_back["FailureReason"]
    image = rolled_back["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"]
    assert image == "llm:2"
    with pytest.raises(ClientError) as too_big_a_batch:
        control.update_inference_component(
            InferenceComponentName=rolled,
            Specification=spec(image="llm:4"),
            DeploymentConfig={
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 80},
                    "WaitIntervalInSeconds": 0,
                }
            },
        )
    assert "between 5% and 50%" in too_big_a_batch.value.response["Error"]["Message"]


def test_invoke_by_component_name(
    control: Any, fast: None, runtime: Any, sandbox: Sandbox, model_bucket: str
) -> None:
    endpoint = ic_endpoint(control)
    llm = component(control, endpoint, image="llm:1")
    embed = component(control, endpoint, image="embed:1")
    # A component that stays Creating (a copy needs more GPUs than an instance has).
    waiting = component(control, endpoint, gpus=8)
    with pytest.raises(runtime.exceptions.ValidationError) as creating:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1", InferenceComponentName=waiting)
    assert "not in service (status: Creating)" in creating.value.response["Error"]["Message"]
    settled(control, llm)
    settled(control, embed)
    for name, image in ((llm, "llm:1"), (embed, "embed:1")):
        answer = runtime.invoke_endpoint(
            EndpointName=endpoint, Body=b"[1]", InferenceComponentName=name
        )
        document = json.loads(answer["Body"].read())
        assert (document["inferenceComponent"], document["model"]) == (name, image)
        assert answer["InvokedProductionVariant"] == "main"

    def message(**request: Any) -> str:
        with pytest.raises(runtime.exceptions.ValidationError) as error:
            runtime.invoke_endpoint(Body=b"1", **request)
        text: str = error.value.response["Error"]["Message"]
        return text

    assert "header is required" in message(EndpointName=endpoint)
    assert "not found" in message(EndpointName=endpoint, InferenceComponentName=unique("x"))
    model = endpoints.single_model(control, model_bucket)
    classic = endpoints.endpoint(control, {"a": model}, count=1)
    endpoints.in_service(control, classic)
    assert "not allowed" in message(EndpointName=classic, InferenceComponentName=llm)

    # The component's model answers as its behaviour says: here, always a 5xx.
    sandbox._admin(
        "POST", "behaviour", {"endpoint": endpoint, "variant": embed, "errorRate5xx": 1.0}
    )
    try:
        with pytest.raises(runtime.exceptions.ModelError):
            runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1", InferenceComponentName=embed)
    finally:
        sandbox._admin("DELETE", f"behaviour?endpoint={endpoint}")

    # Metrics per component, in AWS/SageMaker with the InferenceComponentName dimension.
    cloudwatch = sandbox.client("cloudwatch")
    metrics = cloudwatch.list_metrics(
        Namespace="AWS/SageMaker",
        Dimensions=[{"Name": "InferenceComponentName", "Value": embed}],
    )["Metrics"]
    names = {m["MetricName"] for m in metrics}
    assert {"Invocations", "InvocationsPerCopy", "Invocation5XXErrors", "ModelLatency"} <= names


def test_copy_autoscaling_to_zero_and_back(
    control: Any, sandbox_settings: Callable[..., None], runtime: Any, sandbox: Sandbox
) -> None:
    sandbox_settings(**FAST, autoscalingWindowSeconds=1)
    autoscaling = sandbox.client("application-autoscaling")
    endpoint = ic_endpoint(control, instance_type="ml.g5.xlarge", managed=(0, 2))
    name = component(control, endpoint, copies=1, cpus=2, memory=8192)
    settled(control, name)
    resource = f"inference-component/{name}"
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=DIMENSION,
        MinCapacity=0,
        MaxCapacity=2,
    )
    autoscaling.put_scaling_policy(
        PolicyName="invocations-per-copy",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
            # Counted from the last scaling: the first scale-in is not held back, and once a
            # copy is back, it stays long enough for the calls below.
            "ScaleInCooldown": 10,
            "ScaleOutCooldown": 0,
        },
    )
    # As "Scale an endpoint to zero instances" sets it up: a step policy brings the first copy.
    autoscaling.put_scaling_policy(
        PolicyName="from-zero",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=DIMENSION,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Maximum",
            "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ScalableDimension=DIMENSION, ResourceIds=[resource]
    )["ScalableTargets"]
    assert [t["MinCapacity"] for t in targets] == [0]

    # No traffic: target tracking takes the copies, and managed scaling the instances, to zero.
    zero = wait_until(
        lambda: describe(control, name),
        lambda d: copies(d) == (0, 0) and d["InferenceComponentStatus"] == "InService",
        "the component to scale to zero copies",
    )
    assert zero["RuntimeConfig"]["DesiredCopyCount"] == 0
    assert instances(control, endpoint) == 0
    with pytest.raises(runtime.exceptions.ValidationError) as no_capacity:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1", InferenceComponentName=name)
    assert "no capacity" in no_capacity.value.response["Error"]["Message"]
    # That refused call sets off the step policy: a copy, and an instance for it, come back.
    back = wait_until(
        lambda: describe(control, name),
        lambda d: copies(d) == (1, 1) and d["InferenceComponentStatus"] == "InService",
        "the component to scale back from zero",
    )
    assert back["RuntimeConfig"]["CurrentCopyCount"] == 1
    assert instances(control, endpoint) == 1
    answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1", InferenceComponentName=name)
    assert json.loads(answer["Body"].read())["inferenceComponent"] == name
    activities = autoscaling.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=resource
    )["ScalingActivities"]
    descriptions = [a["Description"] for a in activities]
    assert "Setting desired copy count to 0." in descriptions
    assert descriptions[0] == "Setting desired copy count to 1."
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=DIMENSION
    )


def test_placement_first_fit_keeps_placed_copies_and_sizes_managed_fleets() -> None:
    """The pure placement: copies already placed keep their room; new copies fit where they
    can; managed scaling picks the fewest instances that hold every copy."""
    g5_12 = INSTANCE_RESOURCES["ml.g5.12xlarge"]
    assert (g5_12.cpus, g5_12.memory_mb, g5_12.accelerators) == (48.0, 196608, 4.0)
    gpu = Resources(4, 16384, 1)
    cpu = Resources(8, 4096)
    # One instance, four GPUs: the newer component gets the GPU the older one leaves; and
    # when the older one grows, the newer one's placed copies keep their room.
    assert place(g5_12, 1, [(gpu, 3, 3), (gpu, 0, 2)]) == [3, 1]
    assert place(g5_12, 1, [(gpu, 1, 3), (gpu, 2, 2)]) == [2, 2]
    # CPU-only copies are bound by CPUs: 48 / 8 = 6 per instance.
    assert place(g5_12, 2, [(cpu, 0, 20)]) == [12]
    assert instances_needed(g5_12, [(gpu, 0, 9)], 0, 5) == 3
    assert instances_needed(g5_12, [(gpu, 0, 9)], 0, 2) == 2  # capped at the maximum
    assert instances_needed(g5_12, [(gpu, 0, 0)], 0, 2) == 0  # no copies, no instances
    assert instances_needed(g5_12, [(gpu, 0, 0)], 1, 2) == 1  # but not below the minimum
    assert place(g5_12, 3, [(Resources(1, 1024, 8), 0, 1)]) == [0]  # bigger than one instance
