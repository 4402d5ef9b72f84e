"""Deletion is safe: Retain never deletes, even mid-update; a deletion during an update or a
staged rollout waits for AWS and then removes everything of ours; a namespace full of
resources goes away (emptied by kube-controller-manager's namespace controller, as in any
cluster) and leaves nothing of ours in AWS; an AWS object that is not ours (an endpoint
someone else took over, a model or config named exactly as ours but not tagged for this
resource) is never deleted.

Complements test_modelendpoint_changes.py (Retain of an endpoint at rest),
test_edgemodel.py (Retain and deletion of a finished rollout) and
test_adoption_and_availability.py (refusing, then adopting, an untagged endpoint).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes.client.rest import ApiException

from tests.e2e.edge_support import latest_components, thing_group
from tests.e2e.helpers import wait_for_condition, wait_for_status, wait_gone
from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.lookalikes import make_lookalike
from tests.support.operator import OperatorProcess
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import ROLE, edge_model, model_endpoint, variant

pytestmark = pytest.mark.e2e

SAGEMAKER_DELETES = {"DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"}
NANO_ONLY = [{"name": "nano", "targetDevice": "jetson_nano"}]


@pytest.fixture
def slow_updates(sandbox: Sandbox) -> Iterator[None]:
    """Endpoint updates that take long enough to delete a resource in the middle of one."""
    before = sandbox._admin("GET", "settings")
    sandbox.settings(updatingSeconds=6)
    yield
    sandbox.settings(**before)


def _sagemaker_names(sandbox: Sandbox, prefix: str) -> dict[str, set[str]]:
    """Endpoints, configs and models whose names start with `prefix` (every page)."""
    sagemaker = sandbox.client("sagemaker")

    def listed(operation: str, key: str, field: str) -> set[str]:
        pages = sagemaker.get_paginator(operation).paginate()
        return {
            item[field] for page in pages for item in page[key] if item[field].startswith(prefix)
        }

    return {
        "endpoints": listed("list_endpoints", "Endpoints", "EndpointName"),
        "configs": listed("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"),
        "models": listed("list_models", "Models", "ModelName"),
    }


def _deletes_of(sandbox: Sandbox, prefix: str) -> list[tuple[str, str]]:
    return [
        (c["operation"], c["target"])
        for c in sandbox.calls()
        if c["operation"] in SAGEMAKER_DELETES and str(c.get("target", "")).startswith(prefix)
    ]


def _start_update(
    model_endpoints: cluster.Objects,
    namespace: str,
    name: str,
    operator: OperatorProcess,
    bucket: str,
) -> None:
    """A new model version: a config switch, and the endpoint Updating."""
    model_endpoints.patch_spec(namespace, name, {"variants": [variant("only", bucket, "v2")]})
    wait_for_status(
        model_endpoints,
        namespace,
        name,
        operator,
        lambda obj: obj["status"].get("endpointStatus") == "Updating",
        "endpointStatus Updating",
    )


def test_retain_never_deletes_even_when_deleted_mid_update(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
    slow_updates: None,
) -> None:
    name = f"kept-{namespace}"
    body = model_endpoint(name, [variant("only", model_bucket, "v1")], deletionPolicy="Retain")
    model_endpoints.create(namespace, body)
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    _start_update(model_endpoints, namespace, name, operator, model_bucket)
    before = _sagemaker_names(sandbox, name)
    sandbox.forget_calls()

    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator)

    sagemaker = sandbox.client("sagemaker")
    processes.wait_until(
        lambda: sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService",
        timeout=30,
        what=f"endpoint {name} to finish its update",
    )
    assert _deletes_of(sandbox, name) == []
    # Both configs and both models stay: the old ones were not yet cleaned up.
    assert _sagemaker_names(sandbox, name) == before
    assert len(before["configs"]) == 2
    sagemaker.delete_endpoint(EndpointName=name)


def test_deleting_a_model_endpoint_mid_update_waits_then_removes_everything(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
    slow_updates: None,
) -> None:
    name = f"mid-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("only", model_bucket, "v1")]))
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    _start_update(model_endpoints, namespace, name, operator, model_bucket)
    sandbox.forget_calls()

    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator, timeout=90)

    assert _sagemaker_names(sandbox, name) == {
        "endpoints": set(),
        "configs": set(),
        "models": set(),
    }
    # SageMaker refuses to delete an endpoint mid-update: the operator waited, never tried.
    refused = [
        c
        for c in sandbox.calls()
        if c["operation"] == "DeleteEndpoint" and c.get("target") == name and c["status"] != 200
    ]
    assert refused == []


def test_an_endpoint_someone_else_took_over_is_never_deleted(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    """Someone removes our owner tag and switches the endpoint to their own config: it is
    theirs now. The resource stalls instead of switching it back, and its deletion removes
    only the configs and models it made."""
    name = f"taken-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("only", model_bucket, "v1")]))
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    ours = _sagemaker_names(sandbox, name)

    sagemaker = sandbox.client("sagemaker")
    arn = ready["status"]["endpointArn"]
    sagemaker.delete_tags(
        ResourceArn=arn, TagKeys=["serving.mlops.dev/owner", "serving.mlops.dev/managed-by"]
    )
    theirs = f"{name}-theirs"
    sagemaker.create_model(
        ModelName=theirs,
        PrimaryContainer={
            "Image": "img:9",
            "ModelDataUrl": f"s3://{model_bucket}/xgboost/v3/model.tar.gz",
        },
        ExecutionRoleArn=ROLE,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=theirs,
        ProductionVariants=[
            {
                "VariantName": "theirs",
                "ModelName": theirs,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=theirs)

    stalled = wait_for_condition(model_endpoints, namespace, name, "Stalled", operator)
    assert cluster.condition(stalled, "Stalled")["reason"] == "EndpointNotOwned"  # type: ignore[index]
    sandbox.forget_calls()
    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator)

    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"] == theirs
    left = _sagemaker_names(sandbox, name)
    assert left["configs"] == {theirs}
    assert left["models"] == {theirs}
    assert ours["configs"]
    assert not ours["configs"] & left["configs"]
    assert ("DeleteEndpoint", name) not in _deletes_of(sandbox, name)
    assert not any(target == theirs for _, target in _deletes_of(sandbox, name))
    sagemaker.delete_endpoint(EndpointName=name)


LOOKALIKE_TAGS = {
    "untagged": [],
    "another resource's": [
        {"Key": "serving.mlops.dev/managed-by", "Value": "serving-operator"},
        {"Key": "serving.mlops.dev/owner", "Value": "another-namespace/bikes"},
    ],
}
"""A copy made by hand, another install's object: neither is the resource's."""


def _lookalikes(sandbox: Sandbox, endpoint_name: str, bucket: str) -> set[str]:
    """For each of LOOKALIKE_TAGS, a model and an endpoint config named exactly as the
    operator names its own for `endpoint_name`."""
    sagemaker = sandbox.client("sagemaker")
    made = [make_lookalike(sagemaker, endpoint_name, bucket, t) for t in LOOKALIKE_TAGS.values()]
    return {name for pair in made for name in (pair.model, pair.config)}


def test_cleanup_and_deletion_leave_lookalikes_that_are_not_ours(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"lookalike-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("only", model_bucket, "v1")]))
    first = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    theirs = _lookalikes(sandbox, name, model_bucket)
    sandbox.forget_calls()

    # A new model version: once the endpoint runs the new config, cleanup deletes the old
    # config and model, and lists every object of the endpoint's name shape to find them.
    model_endpoints.patch_spec(namespace, name, {"variants": [variant("only", model_bucket, "v2")]})
    wait_for_status(
        model_endpoints,
        namespace,
        name,
        operator,
        lambda obj: (
            obj["status"].get("endpointConfigName")
            not in (None, first["status"]["endpointConfigName"])
            and obj["status"].get("cleanedUpForConfigName") == obj["status"]["endpointConfigName"]
        ),
        "the old config cleaned up",
        timeout=90,
    )
    after_cleanup = _sagemaker_names(sandbox, name)
    assert first["status"]["endpointConfigName"] not in after_cleanup["configs"]
    assert theirs <= after_cleanup["configs"] | after_cleanup["models"]

    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator, timeout=90)

    left = _sagemaker_names(sandbox, name)
    assert left["endpoints"] == set()
    assert left["configs"] | left["models"] == theirs
    assert not any(target in theirs for _, target in _deletes_of(sandbox, name))
    sagemaker = sandbox.client("sagemaker")
    for config in left["configs"]:
        sagemaker.delete_endpoint_config(EndpointConfigName=config)
    for model in left["models"]:
        sagemaker.delete_model(ModelName=model)


# --------------------------------------------------------------------------- EdgeModel


@pytest.fixture
def edge_bucket(sandbox: Sandbox, fast_edge: None) -> str:
    s3 = sandbox.client("s3")
    bucket = f"edge-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="classifier/model.tar.gz", Body=b"trained model")
    return bucket


def test_deleting_an_edge_model_mid_rollout_removes_its_components_everywhere(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    edge_bucket: str,
) -> None:
    """The canary stage is done and waits for a manual promotion; the fleet has nothing yet."""
    (canary, _), (fleet, _) = thing_group(sandbox, "canary", 2), thing_group(sandbox, "fleet", 2)
    name = "classifier"
    stages = [
        {"name": "canary", "thingGroups": [canary], "gate": {"manual": True}},
        {"name": "fleet", "thingGroups": [fleet]},
    ]
    edge_models.create(namespace, edge_model(name, edge_bucket, stages, targets=NANO_ONLY))
    waiting = wait_for_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda obj: any(
            s["name"] == "canary" and s["phase"] == "AwaitingPromotion"
            for s in obj["status"].get("stages", [])
        ),
        "the canary stage awaiting promotion",
        timeout=90,
    )
    component_arns = [t["componentArn"] for t in waiting["status"]["targets"]]
    assert latest_components(sandbox, canary)

    edge_models.delete(namespace, name)
    wait_gone(edge_models, namespace, name, operator, timeout=90)

    assert latest_components(sandbox, canary) == {}
    assert latest_components(sandbox, fleet) == {}
    greengrass = sandbox.client("greengrassv2")
    for arn in component_arns:
        with pytest.raises(greengrass.exceptions.ResourceNotFoundException):
            greengrass.describe_component(arn=arn)


# --------------------------------------------------------------------------- a namespace


@pytest.fixture
def namespace_controller_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    """A control plane of its own whose kube-controller-manager runs the namespace
    controller. The session's runs none: there each test's namespace is left Terminating
    at teardown (its finalizers stripped), so no test's leftovers are being deleted in AWS
    while the next test runs."""
    with own_control_plane(
        tmp_path / "controlplane", controllers=("namespace-controller",)
    ) as plane:
        yield plane


@pytest.fixture
def namespace_controller_operator(
    tmp_path: Path, namespace_controller_plane: controlplane.ControlPlane, sandbox: Sandbox
) -> Iterator[OperatorProcess]:
    process = operator_support.start(
        tmp_path / "operator",
        namespace_controller_plane.kubeconfig(controlplane.OPERATOR_USER),
        sandbox.env,
    )
    try:
        yield process
    finally:
        process.stop()


def _namespace_gone(core: kubernetes.client.CoreV1Api, namespace: str, seen: list[Any]) -> bool:
    """Whether `namespace` is gone; else what the namespace controller last said about it."""
    try:
        found = core.read_namespace(namespace)
    except ApiException as error:
        if error.status == 404:
            return True
        raise
    conditions = found.status.conditions if found.status is not None else None
    seen[:] = [(c.type, c.status, c.message) for c in conditions or []]
    return False


@pytest.mark.slow
def test_deleting_a_namespace_full_of_resources_finishes_and_leaves_nothing_of_ours(
    namespace_controller_plane: controlplane.ControlPlane,
    namespace_controller_operator: OperatorProcess,
    sandbox: Sandbox,
    model_bucket: str,
    edge_bucket: str,
) -> None:
    operator = namespace_controller_operator
    api = cluster.api_client(namespace_controller_plane.kubeconfig(controlplane.ADMIN_USER))
    model_endpoints, traffic_splits, edge_models = (
        cluster.Objects(api, plural) for plural in ("modelendpoints", "trafficsplits", "edgemodels")
    )
    core = kubernetes.client.CoreV1Api(api)
    namespace = f"crowd-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": namespace}})
    prefix = f"{namespace}-"
    endpoints = [f"{prefix}{index}" for index in range(20)]
    for name in endpoints:
        model_endpoints.create(
            namespace,
            model_endpoint(
                name, [variant("blue", model_bucket, "v1"), variant("green", model_bucket, "v2")]
            ),
        )
    for name in endpoints[:8]:
        traffic_splits.create(
            namespace,
            {
                "apiVersion": f"{cluster.GROUP}/{cluster.VERSION}",
                "kind": "TrafficSplit",
                "metadata": {"name": name},
                "spec": {
                    "endpointRef": {"name": name},
                    "weights": [
                        {"variant": "blue", "weight": 9},
                        {"variant": "green", "weight": 1},
                    ],
                },
            },
        )
    group, _ = thing_group(sandbox, "crowd", 1)
    for index in range(3):
        edge_models.create(
            namespace,
            edge_model(
                f"edge-{index}",
                edge_bucket,
                [{"name": "all", "thingGroups": [group]}],
                targets=NANO_ONLY,
            ),
        )
    for name in endpoints:
        wait_for_condition(model_endpoints, namespace, name, "Ready", operator, timeout=180)
    for name in endpoints[:8]:
        wait_for_condition(traffic_splits, namespace, name, "Ready", operator, timeout=60)
    published = []
    for index in range(3):
        ready = wait_for_condition(
            edge_models, namespace, f"edge-{index}", "Ready", operator, timeout=120
        )
        published += [t["componentArn"] for t in ready["status"]["targets"]]
    assert len(_sagemaker_names(sandbox, prefix)["endpoints"]) == 20

    # kube-controller-manager's namespace controller deletes everything in it; the operator
    # deletes each resource's AWS objects and then lets go of it (its finalizer).
    core.delete_namespace(namespace)
    conditions: list[Any] = []
    try:
        processes.wait_until(
            lambda: _namespace_gone(core, namespace, conditions),
            timeout=240,
            interval=0.5,
            what=f"namespace {namespace} to be gone",
            log=operator.log,
        )
    except TimeoutError as error:
        raise AssertionError(f"{error}\nthe namespace's last conditions: {conditions}") from None

    assert _sagemaker_names(sandbox, prefix) == {
        "endpoints": set(),
        "configs": set(),
        "models": set(),
    }
    assert latest_components(sandbox, group) == {}
    greengrass = sandbox.client("greengrassv2")
    for arn in published:
        with pytest.raises(greengrass.exceptions.ResourceNotFoundException):
            greengrass.describe_component(arn=arn)
    assert operator.alive()
    assert "Traceback" not in operator.log.read_text(encoding="utf-8", errors="replace")
