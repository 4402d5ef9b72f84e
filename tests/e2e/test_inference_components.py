"""Inference components end to end: a ModelEndpoint that hosts three InferenceComponents of
different sizes reaches Ready, one component's image change rolls out without touching the
others, each is invoked by name from the CLI, and deletion goes components first.

The real operator process runs against the real kube-apiserver and the AWS sandbox.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_events, wait_for_status, wait_gone
from tests.support import cluster, processes
from tests.support.operator import OperatorProcess
from tests.support.paths import VENV_BIN
from tests.support.sandbox import Sandbox
from tests.support.specs import ROLE

pytestmark = pytest.mark.e2e

GROUP_VERSION = "serving.mlops.dev/v1alpha1"
# (name, cpu cores, memory MiB, copies): three sizes on one ml.m5.4xlarge fleet.
SIZES = (("small", 1, 2048, 1), ("medium", 2, 8192, 2), ("large", 4, 16384, 1))


@pytest.fixture
def components(admin_api: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin_api, "inferencecomponents")


def fleet(name: str) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "ModelEndpoint",
        "metadata": {"name": name},
        "spec": {
            "executionRoleArn": ROLE,
            "variants": [
                {
                    "name": "shared",
                    "instanceType": "ml.m5.4xlarge",
                    "instanceCount": 1,
                    "managedInstanceScaling": {"minInstanceCount": 1, "maxInstanceCount": 3},
                    "routingStrategy": "LEAST_OUTSTANDING_REQUESTS",
                }
            ],
        },
    }


def component(
    name: str, endpoint: str, bucket: str, cpus: int, memory: int, copies: int, image: str
) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "InferenceComponent",
        "metadata": {"name": name},
        "spec": {
            "endpointRef": {"name": endpoint},
            "model": {"image": image, "modelDataUrl": f"s3://{bucket}/xgboost/v1/model.tar.gz"},
            "compute": {"cpuCores": cpus, "minMemoryMiB": memory},
            "copyCount": copies,
        },
    }


def invoke(sandbox: Sandbox, component_name: str, request: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            str(VENV_BIN / "serving-operator"),
            "invoke",
            "--component",
            component_name,
            "--data",
            str(request),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **sandbox.env},
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_three_components_share_a_fleet_roll_out_one_by_one_and_are_invoked_by_name(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    components: cluster.Objects,
    model_bucket: str,
    tmp_path: Path,
) -> None:
    endpoint = f"fleet-{namespace}"
    names = {size: f"{size}-{namespace}" for size, *_ in SIZES}
    model_endpoints.create(namespace, fleet(endpoint))
    for size, cpus, memory, copies in SIZES:
        components.create(
            namespace,
            component(names[size], endpoint, model_bucket, cpus, memory, copies, f"{size}:1"),
        )

    ready_endpoint = wait_for_condition(model_endpoints, namespace, endpoint, "Ready", operator)
    assert ready_endpoint["status"]["endpointStatus"] == "InService"
    sagemaker = sandbox.client("sagemaker")
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=ready_endpoint["status"]["endpointConfigName"]
    )
    assert config["ExecutionRoleArn"] == ROLE
    (variant,) = config["ProductionVariants"]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 1,
        "MaxInstanceCount": 3,
    }
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}

    before: dict[str, dict[str, Any]] = {}
    for size, cpus, memory, copies in SIZES:
        ready = wait_for_condition(components, namespace, names[size], "Ready", operator)
        status = ready["status"]
        assert status["componentStatus"] == "InService"
        assert status["currentCopyCount"] == copies
        assert status["endpointName"] == endpoint
        described = sagemaker.describe_inference_component(InferenceComponentName=names[size])
        assert described["EndpointName"] == endpoint
        assert described["VariantName"] == "shared"
        assert described["RuntimeConfig"]["CurrentCopyCount"] == copies
        requirements = described["Specification"]["ComputeResourceRequirements"]
        assert requirements["MinMemoryRequiredInMb"] == memory
        assert requirements["NumberOfCpuCoresRequired"] == cpus
        model = sagemaker.describe_model(ModelName=described["Specification"]["ModelName"])
        assert model["PrimaryContainer"]["Image"] == f"{size}:1"
        before[size] = described
    wait_for_events(
        components,
        namespace,
        names["medium"],
        operator,
        lambda events: {"ModelCreated", "ComponentCreated"} <= {e.reason for e in events},
        "ModelCreated and ComponentCreated",
    )

    request = tmp_path / "request.json"
    request.write_text("[1, 2, 3]")
    for size, *_ in SIZES:
        answer = invoke(sandbox, names[size], request)
        assert answer["inferenceComponent"] == names[size]
        # The sandbox answers with the model that served the call.
        assert answer["model"] == before[size]["Specification"]["ModelName"]

    # The medium component's image changes: it rolls out (two copies: a rolling update);
    # the other two are not touched.
    medium = components.get(namespace, names["medium"])
    assert medium is not None
    spec = medium["spec"]
    spec["model"]["image"] = "medium:2"
    components.patch_spec(namespace, names["medium"], spec)
    wait_for_condition(components, namespace, names["medium"], "Ready", operator)
    after = sagemaker.describe_inference_component(InferenceComponentName=names["medium"])
    new_model = after["Specification"]["ModelName"]
    assert new_model != before["medium"]["Specification"]["ModelName"]
    assert sagemaker.describe_model(ModelName=new_model)["PrimaryContainer"]["Image"] == "medium:2"
    assert after["LastDeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"] == {
        "Type": "COPY_COUNT",
        "Value": 1,
    }
    for size in ("small", "large"):
        now = sagemaker.describe_inference_component(InferenceComponentName=names[size])
        assert now["LastModifiedTime"] == before[size]["LastModifiedTime"]
        assert now["Specification"]["ModelName"] == before[size]["Specification"]["ModelName"]
    assert invoke(sandbox, names["medium"], request)["model"] == new_model
    small_model = before["small"]["Specification"]["ModelName"]
    assert invoke(sandbox, names["small"], request)["model"] == small_model
    # The old model is deleted once the new one serves.
    old_model = before["medium"]["Specification"]["ModelName"]
    wait_for_status(
        components,
        namespace,
        names["medium"],
        operator,
        lambda obj: obj["status"].get("ownedModels") == [new_model],
        "the old model retired",
    )
    assert old_model not in {m["ModelName"] for m in sagemaker.list_models()["Models"]}

    # Deleting the endpoint first: it waits for its components.
    model_endpoints.delete(namespace, endpoint)
    waiting = wait_for_status(
        model_endpoints,
        namespace,
        endpoint,
        operator,
        lambda obj: (
            (cluster.condition(obj, "Reconciling") or {}).get("reason")
            == "WaitingForInferenceComponents"
        ),
        "the endpoint waiting for its components",
    )
    assert waiting["metadata"].get("deletionTimestamp")
    assert sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
    for size, *_ in SIZES:
        components.delete(namespace, names[size])
    for size, *_ in SIZES:
        wait_gone(components, namespace, names[size], operator)
    wait_gone(model_endpoints, namespace, endpoint, operator)
    left = sagemaker.list_inference_components(EndpointNameEquals=endpoint)
    assert left["InferenceComponents"] == []
    models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    assert not any(m.startswith(tuple(names.values())) for m in models)


@pytest.fixture
def fast_scaling(sandbox: Sandbox) -> Iterator[None]:
    """Autoscaling that looks at a one-second window, for this test; the settings after."""
    before = sandbox._admin("GET", "settings")
    sandbox.settings(autoscalingWindowSeconds=1)
    yield
    sandbox.settings(**before)


def test_copies_autoscale_to_zero_and_back(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    components: cluster.Objects,
    model_bucket: str,
    fast_scaling: None,
    tmp_path: Path,
) -> None:
    endpoint = f"zero-{namespace}"
    name = f"sparse-{namespace}"
    body = fleet(endpoint)
    body["spec"]["variants"][0].update(
        instanceType="ml.g5.xlarge",
        managedInstanceScaling={"minInstanceCount": 0, "maxInstanceCount": 2},
    )
    model_endpoints.create(namespace, body)
    sparse = component(name, endpoint, model_bucket, 2, 8192, 1, "sparse:1")
    sparse["spec"]["compute"]["accelerators"] = 1
    sparse["spec"]["autoscaling"] = {
        "minCopies": 0,
        "maxCopies": 2,
        "targetInvocationsPerCopy": 5,
        "scaleInCooldownSeconds": 0,
        "scaleOutCooldownSeconds": 0,
    }
    components.create(namespace, sparse)
    ready = wait_for_condition(components, namespace, name, "Ready", operator)
    assert ready["status"]["copiesManagedBy"] == "ApplicationAutoScaling"
    assert ready["status"]["autoscaling"] == {
        "minCopies": 0,
        "maxCopies": 2,
        "targetInvocationsPerCopy": 5.0,
    }

    resource = f"inference-component/{name}"
    autoscaling = sandbox.client("application-autoscaling")
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        ResourceIds=[resource],
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 2)
    policies = {
        p["PolicyName"]: p
        for p in autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource
        )["ScalingPolicies"]
    }
    tracking = policies["serving-operator-copies"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
    }
    assert policies["serving-operator-from-zero"]["PolicyType"] == "StepScaling"
    (alarm,) = sandbox.client("cloudwatch").describe_alarms(
        AlarmNames=[f"serving-operator-{name}-no-capacity"]
    )["MetricAlarms"]
    assert alarm["MetricName"] == "NoCapacityInvocationFailures"
    assert alarm["AlarmActions"] == [policies["serving-operator-from-zero"]["PolicyARN"]]

    # No traffic: the autoscaler takes the copies (and managed scaling the instances) to zero,
    # and the operator does not put them back.
    sagemaker = sandbox.client("sagemaker")
    wait_for_status(
        components,
        namespace,
        name,
        operator,
        lambda obj: (
            obj["status"].get("currentCopyCount") == 0
            and cluster.condition(obj, "Ready")["status"] == "True"
        ),  # type: ignore[index]
        "zero copies, Ready",
        timeout=90,
    )
    assert (
        sagemaker.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0].get(
            "CurrentInstanceCount"
        )
        == 0
    )

    # Scale-in slowed down (a spec change the operator applies to the policy alone: the
    # copy count stays the autoscaler's, zero, though copyCount says 1), so the copy that
    # comes back stays long enough to answer.
    current = components.get(namespace, name)
    assert current is not None
    slower = current["spec"]
    slower["autoscaling"]["scaleInCooldownSeconds"] = 600
    components.patch_spec(namespace, name, slower)
    wait_for_condition(components, namespace, name, "Ready", operator)
    (policy,) = [
        p
        for p in autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource
        )["ScalingPolicies"]
        if p["PolicyName"] == "serving-operator-copies"
    ]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["ScaleInCooldown"] == 600
    described = sagemaker.describe_inference_component(InferenceComponentName=name)
    assert described["RuntimeConfig"]["DesiredCopyCount"] == 0

    # A call finds no copy: refused, and that brings a copy back (the step policy).
    request = tmp_path / "request.json"
    request.write_text("[1]")
    refused = subprocess.run(
        [
            str(VENV_BIN / "serving-operator"),
            "invoke",
            "--component",
            name,
            "--data",
            str(request),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **sandbox.env},
        check=False,
    )
    assert refused.returncode != 0
    assert "no capacity" in refused.stderr
    # A client retries, as one would against a component at zero: each refused call counts
    # towards NoCapacityInvocationFailures until the step policy's copy is there.
    runtime = sandbox.client("sagemaker-runtime")

    def copy_back() -> bool:
        obj = components.get(namespace, name)
        if obj is not None and obj["status"].get("currentCopyCount") == 1:
            return True
        with contextlib.suppress(runtime.exceptions.ValidationError):
            runtime.invoke_endpoint(EndpointName=endpoint, Body=b"[1]", InferenceComponentName=name)
        return False

    processes.wait_until(
        copy_back, timeout=90, interval=1.0, what="a copy back from zero", log=operator.log
    )
    assert invoke(sandbox, name, request)["inferenceComponent"] == name

    components.delete(namespace, name)
    wait_gone(components, namespace, name, operator)
    assert (
        autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            ResourceIds=[resource],
        )["ScalableTargets"]
        == []
    )
    assert (
        sandbox.client("cloudwatch").describe_alarms(
            AlarmNames=[f"serving-operator-{name}-no-capacity"]
        )["MetricAlarms"]
        == []
    )
    model_endpoints.delete(namespace, endpoint)
    wait_gone(model_endpoints, namespace, endpoint, operator)


def test_an_update_that_does_not_fit_is_rolled_back_and_not_sent_again(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    components: cluster.Objects,
    model_bucket: str,
) -> None:
    """One ml.m5.xlarge (4 vCPUs), no managed scaling: a neighbour holds 2 cores, so the
    component's new 3-core copy cannot be placed; SageMaker rolls the update back and the old
    specification serves on. The operator says so and does not send the update again."""
    endpoint = f"tight-{namespace}"
    body = fleet(endpoint)
    variant = body["spec"]["variants"][0]
    variant.pop("managedInstanceScaling")
    variant["instanceType"] = "ml.m5.xlarge"
    model_endpoints.create(namespace, body)
    neighbour, name = f"neighbour-{namespace}", f"grower-{namespace}"
    components.create(namespace, component(neighbour, endpoint, model_bucket, 2, 2048, 1, "n:1"))
    components.create(namespace, component(name, endpoint, model_bucket, 1, 2048, 1, "g:1"))
    for each in (neighbour, name):
        wait_for_condition(components, namespace, each, "Ready", operator)
    sagemaker = sandbox.client("sagemaker")
    before = sagemaker.describe_inference_component(InferenceComponentName=name)

    grown = components.get(namespace, name)
    assert grown is not None
    spec = grown["spec"]
    spec["compute"]["cpuCores"] = 3
    components.patch_spec(namespace, name, spec)
    stalled = wait_for_condition(components, namespace, name, "Stalled", operator, timeout=90)
    condition = cluster.condition(stalled, "Stalled")
    assert condition is not None
    assert condition["reason"] == "UpdateFailed"
    assert "do not fit" in condition["message"]
    after = sagemaker.describe_inference_component(InferenceComponentName=name)
    assert after["InferenceComponentStatus"] == "InService"
    assert after["Specification"]["ModelName"] == before["Specification"]["ModelName"]
    assert after["Specification"]["ComputeResourceRequirements"]["NumberOfCpuCoresRequired"] == 1
    wait_for_events(
        components,
        namespace,
        name,
        operator,
        lambda events: any(e.type == "Warning" and e.reason == "UpdateFailed" for e in events),
        "an UpdateFailed Warning",
    )
    # Several more passes over both components (at rest: one read each): none sends the
    # rolled-back update again.
    sandbox.forget_calls()
    processes.wait_until(
        lambda: sum(c["operation"] == "DescribeInferenceComponent" for c in sandbox.calls()) >= 6,
        timeout=60,
        what="three more passes over each component",
        log=operator.log,
    )
    assert "UpdateInferenceComponent" not in {c["operation"] for c in sandbox.calls()}

    # Back to what fits: Ready again, no update needed (the old specification still serves).
    spec["compute"]["cpuCores"] = 1
    components.patch_spec(namespace, name, spec)
    wait_for_condition(components, namespace, name, "Ready", operator)
    for each in (neighbour, name):
        components.delete(namespace, each)
    model_endpoints.delete(namespace, endpoint)
    for each in (neighbour, name):
        wait_gone(components, namespace, each, operator)
    wait_gone(model_endpoints, namespace, endpoint, operator)
