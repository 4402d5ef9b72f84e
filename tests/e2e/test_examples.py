"""Every example in examples/ reaches Ready against the sandbox, with what it promises in status."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from tests.e2e.edge_support import latest_components
from tests.e2e.helpers import wait_for_condition, wait_gone
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.paths import EXAMPLES, VENV_BIN
from tests.support.sandbox import (
    DEMO_THING_GROUPS,
    Sandbox,
    create_demo_devices,
    upload_demo_artifacts,
)
from tests.support.specs import quick_canary
from tests.support.traffic import Traffic

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_artifacts(sandbox: Sandbox) -> None:
    upload_demo_artifacts(sandbox)


def _variant(obj: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in obj["status"]["variants"] if v["name"] == name)


def check_ab(obj: dict[str, Any], sandbox: Sandbox) -> None:
    assert {v["name"]: v["currentWeightPercent"] for v in obj["status"]["variants"]} == {
        "version-0-90-2": 50.0,
        "version-1-2-2": 50.0,
    }
    # The lab's "target a specific variant and compare results", with the invoke command.
    request = Path(sandbox.log.parent / "request.json")
    request.write_text('{"instances": [[2011, 1, 1, 0, 9.84]]}')
    for name in ("version-0-90-2", "version-1-2-2"):
        done = subprocess.run(
            [
                str(VENV_BIN / "serving-operator"),
                "invoke",
                obj["status"]["endpointName"],
                "--variant",
                name,
                "--data",
                str(request),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **sandbox.env},
            check=True,
        )
        assert json.loads(done.stdout)["variant"] == name
        assert f"variant: {name}" in done.stderr


def check_multimodel(obj: dict[str, Any], sandbox: Sandbox) -> None:
    variant = _variant(obj, "all-models")
    assert variant["modelsFound"] == ["hyper1.tar.gz", "hyper2.tar.gz"]
    warmed = {w["targetModel"]: w for w in variant["warmUp"]}
    assert set(warmed) == {"hyper1.tar.gz", "hyper2.tar.gz"}
    assert all(w.get("error") is None and w["milliseconds"] > 0 for w in warmed.values())
    config = sandbox.client("sagemaker").describe_endpoint_config(
        EndpointConfigName=obj["status"]["endpointConfigName"]
    )
    model = sandbox.client("sagemaker").describe_model(
        ModelName=config["ProductionVariants"][0]["ModelName"]
    )
    assert model["PrimaryContainer"]["Mode"] == "MultiModel"


def check_pipeline(obj: dict[str, Any], sandbox: Sandbox) -> None:
    sagemaker = sandbox.client("sagemaker")
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=obj["status"]["endpointConfigName"]
    )
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert [c["ContainerHostname"] for c in model["Containers"]] == ["preprocess", "xgboost"]
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert "containerHostnames" not in _variant(obj, "pipeline")  # Serial: nothing to target


def check_autoscaling(obj: dict[str, Any], sandbox: Sandbox) -> None:
    scaling = _variant(obj, "version-1-2-2")["autoscaling"]
    assert scaling == {
        "minInstances": 2,
        "maxInstances": 8,
        "metric": "InvocationsPerInstance",
        "targetValue": 300.0,  # 10 requests/s x 60 x safety factor 0.5
    }
    resource = f"endpoint/{obj['status']['endpointName']}/variant/version-1-2-2"
    autoscaling = sandbox.client("application-autoscaling")
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)
    (policy,) = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource
    )["ScalingPolicies"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 300.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantInvocationsPerInstance"
    )


def check_async(obj: dict[str, Any], sandbox: Sandbox) -> None:
    assert obj["status"]["asyncInference"] == {
        "outputPath": "s3://serving-operator-demo/async/out",
        "failurePath": "s3://serving-operator-demo/async/failed",
    }
    config = sandbox.client("sagemaker").describe_endpoint_config(
        EndpointConfigName=obj["status"]["endpointConfigName"]
    )
    assert config["AsyncInferenceConfig"]["ClientConfig"] == {
        "MaxConcurrentInvocationsPerInstance": 4
    }
    resource = f"endpoint/{obj['status']['endpointName']}/variant/version-1-2-2"
    autoscaling = sandbox.client("application-autoscaling")
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 4)
    policies = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource
    )["ScalingPolicies"]
    assert sorted(p["PolicyType"] for p in policies) == ["StepScaling", "TargetTrackingScaling"]


CHECKS = {
    "async-endpoint.yaml": check_async,
    "xgboost-bikerental.yaml": check_ab,
    "xgboost-bikerental-multimodel.yaml": check_multimodel,
    "inference-pipeline.yaml": check_pipeline,
    "xgboost-bikerental-autoscaling.yaml": check_autoscaling,
}


EDGE_EXAMPLE = "edge-classifier.yaml"
ENTRYPOINT_SETTLE = 5.0
"""deviceRunSettleSeconds: long enough for the entrypoint to load its model or exit."""
CANARY_EXAMPLE = "xgboost-bikerental-canary.yaml"
COMPONENTS_EXAMPLE = "inference-components.yaml"


def test_every_example_has_a_check() -> None:
    assert {p.name for p in EXAMPLES.glob("*.yaml")} == {
        *CHECKS,
        EDGE_EXAMPLE,
        CANARY_EXAMPLE,
        COMPONENTS_EXAMPLE,
    }


def test_components_example_reaches_ready_and_each_component_answers_by_name(
    demo_artifacts: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    admin_api: kubernetes.client.ApiClient,
    model_endpoints: cluster.Objects,
    tmp_path: Path,
) -> None:
    endpoint, *parts = yaml.safe_load_all((EXAMPLES / COMPONENTS_EXAMPLE).read_text())
    components = cluster.Objects(admin_api, "inferencecomponents")
    model_endpoints.create(namespace, endpoint)
    for part in parts:
        components.create(namespace, part)
    wait_for_condition(model_endpoints, namespace, endpoint["metadata"]["name"], "Ready", operator)
    request = tmp_path / "request.json"
    request.write_text('{"inputs": "hello"}')
    placed = 0
    for part in parts:
        name = part["metadata"]["name"]
        ready = wait_for_condition(components, namespace, name, "Ready", operator)
        assert ready["status"]["currentCopyCount"] == part["spec"]["copyCount"]
        placed += part["spec"]["copyCount"]
        done = subprocess.run(
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
            check=True,
        )
        assert json.loads(done.stdout)["inferenceComponent"] == name
    # 2 + 8 + 16 cores, 4 + 32 + 96 GiB, 3 GPUs of copies: one ml.g5.12xlarge holds them.
    live = sandbox.client("sagemaker").describe_endpoint(EndpointName=endpoint["metadata"]["name"])
    assert live["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    assert placed == 4
    for part in parts:
        components.delete(namespace, part["metadata"]["name"])
    model_endpoints.delete(namespace, endpoint["metadata"]["name"])
    for part in parts:
        wait_gone(components, namespace, part["metadata"]["name"], operator)
    wait_gone(model_endpoints, namespace, endpoint["metadata"]["name"], operator)


@pytest.fixture
def one_second_metrics(sandbox: Sandbox) -> Iterator[None]:
    before = sandbox._admin("GET", "settings")
    sandbox.settings(metricPeriodSeconds=1)
    yield
    sandbox.settings(metricPeriodSeconds=before["metricPeriodSeconds"])


def test_canary_example_promotes_the_candidate_under_healthy_traffic(
    demo_artifacts: None,
    one_second_metrics: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    traffic_splits: cluster.Objects,
) -> None:
    endpoint = yaml.safe_load((EXAMPLES / "xgboost-bikerental.yaml").read_text())
    model_endpoints.create(namespace, endpoint)
    name = endpoint["metadata"]["name"]
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    body = quick_canary(yaml.safe_load((EXAMPLES / CANARY_EXAMPLE).read_text()))
    with Traffic(sandbox, name, rps=80):
        traffic_splits.create(namespace, body)
        done = wait_for_condition(
            traffic_splits, namespace, body["metadata"]["name"], "Ready", operator, timeout=240
        )
    assert done["status"]["phase"] == "Succeeded"
    live = sandbox.client("sagemaker").describe_endpoint(EndpointName=name)
    weights = {v["VariantName"]: v["CurrentWeight"] for v in live["ProductionVariants"]}
    assert weights == {"version-0-90-2": 0.0, "version-1-2-2": 100.0}

    traffic_splits.delete(namespace, body["metadata"]["name"])
    wait_gone(traffic_splits, namespace, body["metadata"]["name"], operator)
    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator)


def test_edge_example_compiles_and_rolls_out_to_every_device(
    demo_artifacts: None,
    fast_edge: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
) -> None:
    create_demo_devices(sandbox)
    # Devices run the recipes for real (fast_edge restores the settings after): each downloads
    # the compiled model and the entrypoint the operator published, installs variant.DLR's
    # environment, and runs the Run step, which exits (failing the deployment) unless the
    # entrypoint loads the model within the settle time.
    sandbox.settings(runLifecycles=True, deviceRunSettleSeconds=ENTRYPOINT_SETTLE)
    body = yaml.safe_load(Path(EXAMPLES / EDGE_EXAMPLE).read_text())
    # The example bakes its canary for 10 minutes, as one would; the test cannot wait that.
    body["spec"]["rollout"]["stages"][0]["gate"]["bakeSeconds"] = 1
    name = body["metadata"]["name"]
    edge_models.create(namespace, body)

    ready = wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=300)
    status = ready["status"]
    assert status["compiledCount"] == status["targetCount"] == 2
    assert {s["name"]: s["devices"]["succeeded"] for s in status["stages"]} == {
        "canary": DEMO_THING_GROUPS["edge-canary"] + DEMO_THING_GROUPS["edge-canary-jetson"],
        "fleet": DEMO_THING_GROUPS["edge-fleet"] + DEMO_THING_GROUPS["edge-fleet-jetson"],
    }
    # One model per device: the Jetsons' groups carry only the nano component, the others
    # only the arm64 one.
    names = {t["name"]: t["componentName"] for t in status["targets"]}
    for group in DEMO_THING_GROUPS:
        wanted = names["nano"] if group.endswith("-jetson") else names["arm64"]
        assert set(latest_components(sandbox, group)) == {wanted}, group

    edge_models.delete(namespace, name)
    wait_gone(edge_models, namespace, name, operator, timeout=120)


@pytest.mark.parametrize("example", sorted(CHECKS))
def test_example_reaches_ready(
    example: str,
    demo_artifacts: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
) -> None:
    body = yaml.safe_load(Path(EXAMPLES / example).read_text())
    name = body["metadata"]["name"]
    model_endpoints.create(namespace, body)

    ready = wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Ready",
        operator,
        also=lambda o: (
            o["status"].get("warmedUpForConfigName") == o["status"]["endpointConfigName"]
        ),
    )
    CHECKS[example](ready, sandbox)

    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator)
    listed = sandbox.client("sagemaker").list_endpoints(NameContains=name, MaxResults=100)
    assert name not in {e["EndpointName"] for e in listed["Endpoints"]}
    targets = sandbox.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    assert not [t for t in targets if t["ResourceId"].startswith(f"endpoint/{name}/")]
