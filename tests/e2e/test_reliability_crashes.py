"""SIGKILL the operator at seeded random points in every kind of work it does, start a new one,
and check that everything converges with nothing made twice, nothing leaked, no update
applied twice and no canary step skipped or repeated.

One control plane and one operator lineage for the module (the session operator is
cluster-wide on the session control plane, so it must not see these objects); each test gets
a namespace of its own, whose objects leave the control plane after it (their AWS objects stay
in the sandbox under names of their own: deleting them through the operator took longer than
all the ModelEndpoint scenarios together). The kill point comes from the scenario's name and
the seed: the Nth call of one of the operations the scenario is certain to make, and then
either while the sandbox holds that call (it is applied after the operator is gone), at once,
or after a random delay (tests/support/crashes.py). The point is in every failure message.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest

from tests.e2e.edge_support import thing_group
from tests.e2e.helpers import wait_for_condition, wait_for_status, wait_gone
from tests.support import cluster, controlplane
from tests.support.crashes import (
    Call,
    CrashingOperator,
    KillPoint,
    abandon,
    choose_kill_point,
)
from tests.support.planes import create_namespace, own_control_plane
from tests.support.sandbox import FAST_EDGE, Sandbox
from tests.support.specs import edge_model, model_endpoint, variant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEEDS = (1, 2, 3, 4)
EDGE_SEEDS = (1, 2, 3)
"""The edge scenario is the slowest (Neo, Greengrass, two stages of devices): a seed fewer."""
BLUE, GREEN = "blue", "green"
HASH_LENGTH = 10  # serving_operator.planning.naming: children are "<endpoint>-<10 hex>"
CREATES = ("CreateModel", "CreateEndpointConfig", "CreateEndpoint")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fast_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """Short SageMaker and edge lifecycles for the module; the session's settings after."""
    before = sandbox._admin("GET", "settings")
    sandbox.settings(creatingSeconds=1.0, updatingSeconds=0.6, deletingSeconds=0.3, **FAST_EDGE)
    yield sandbox
    sandbox.settings(**before)


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.ControlPlane]:
    with own_control_plane(tmp_path_factory.mktemp("crashes") / "controlplane") as own:
        yield own


@pytest.fixture(scope="module")
def operators(
    tmp_path_factory: pytest.TempPathFactory,
    plane: controlplane.ControlPlane,
    fast_sandbox: Sandbox,
) -> Iterator[CrashingOperator]:
    lineage = CrashingOperator(tmp_path_factory.mktemp("operators"), plane, fast_sandbox)
    try:
        yield lineage
    finally:
        lineage.stop()


@pytest.fixture(scope="module")
def admin(plane: controlplane.ControlPlane) -> kubernetes.client.ApiClient:
    return cluster.api_client(plane.kubeconfig(controlplane.ADMIN_USER))


@pytest.fixture
def namespace(plane: controlplane.ControlPlane) -> Iterator[str]:
    name = f"crash-{uuid.uuid4().hex[:8]}"
    create_namespace(plane, name)
    yield name
    abandon(plane, name)


@pytest.fixture(scope="module")
def endpoints(admin: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin, "modelendpoints")


@pytest.fixture(scope="module")
def splits(admin: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin, "trafficsplits")


@pytest.fixture(scope="module")
def edge_models(admin: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin, "edgemodels")


@pytest.fixture(scope="module")
def edge_bucket(fast_sandbox: Sandbox) -> str:
    s3 = fast_sandbox.client("s3")
    bucket = f"crash-edge-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="classifier/model.tar.gz", Body=b"trained model")
    return bucket


# --------------------------------------------------------------------------- helpers


def child_of(endpoint: str) -> Any:
    """Whether a call names the endpoint or one of its hashed models and configs."""

    def matches(call: Call) -> bool:
        target = str(call.get("target", ""))
        suffix = target.removeprefix(f"{endpoint}-")
        return target == endpoint or (suffix != target and len(suffix) == HASH_LENGTH)

    return matches


LISTINGS = {
    "endpoints": ("list_endpoints", "Endpoints", "EndpointName"),
    "configs": ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"),
    "models": ("list_models", "Models", "ModelName"),
}


def listed(sandbox: Sandbox, kind: str, endpoint: str) -> set[str]:
    """Every SageMaker object of `kind` named after `endpoint` (it or its hashed children),
    through all pages: the session's sandbox holds many other tests' objects."""
    operation, items, key = LISTINGS[kind]
    pages = sandbox.client("sagemaker").get_paginator(operation).paginate(NameContains=endpoint)
    matches = child_of(endpoint)
    return {i[key] for page in pages for i in page[items] if matches({"target": i[key]})}


def attempts(calls: list[Call], endpoint: str, operations: tuple[str, ...]) -> Counter[str]:
    """(operation target) -> how many times it was called, whatever the answer."""
    matches = child_of(endpoint)
    return Counter(
        f"{c['operation']} {c['target']}"
        for c in calls
        if c["operation"] in operations and matches(c)
    )


def successes(calls: list[Call], endpoint: str, operation: str) -> int:
    matches = child_of(endpoint)
    return sum(
        1 for c in calls if c["operation"] == operation and c["status"] == 200 and matches(c)
    )


def two_variants(name: str, bucket: str) -> dict[str, Any]:
    return model_endpoint(name, [variant(BLUE, bucket, "v1"), variant(GREEN, bucket, "v2")])


def ready_endpoint(
    operators: CrashingOperator, endpoints: cluster.Objects, namespace: str, name: str, bucket: str
) -> dict[str, Any]:
    endpoints.create(namespace, two_variants(name, bucket))
    return wait_for_condition(endpoints, namespace, name, "Ready", operators.running())


def assert_endpoint_converged(
    sandbox: Sandbox, name: str, status: dict[str, Any], point: KillPoint
) -> None:
    """The endpoint runs the config status names, and no model or config of it is left over."""
    sagemaker = sandbox.client("sagemaker")
    described = sagemaker.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService", point
    assert described["EndpointConfigName"] == status["endpointConfigName"], point
    config = sagemaker.describe_endpoint_config(EndpointConfigName=status["endpointConfigName"])
    in_use = {v["ModelName"] for v in config["ProductionVariants"]}
    configs = listed(sandbox, "configs", name)
    models = listed(sandbox, "models", name)
    assert configs == {status["endpointConfigName"]}, f"leftover configs after a kill at {point}"
    assert models == in_use, f"leftover models after a kill at {point}"


def created(calls: list[Call], endpoint: str) -> Counter[str]:
    """(operation target) -> how many creates of it succeeded. A create may be sent again
    after a kill (the operator creates an endpoint's models and config without reading
    first); SageMaker, and the sandbox, refuse it with a 400 when the name exists."""
    matches = child_of(endpoint)
    return Counter(
        f"{c['operation']} {c['target']}"
        for c in calls
        if c["operation"] in CREATES and c["status"] == 200 and matches(c)
    )


def assert_nothing_created_twice(calls: list[Call], name: str, point: KillPoint) -> None:
    twice = {call: n for call, n in created(calls, name).items() if n > 1}
    assert not twice, f"created twice after a kill at {point}: {twice}"


# --------------------------------------------------------------------------- ModelEndpoint


@pytest.mark.parametrize("seed", SEEDS)
def test_create_converges_once_after_a_kill(
    seed: int,
    operators: CrashingOperator,
    fast_sandbox: Sandbox,
    endpoints: cluster.Objects,
    namespace: str,
    model_bucket: str,
) -> None:
    name = f"crash-create-{seed:03d}-{namespace[-4:]}"
    point = choose_kill_point(
        "create",
        seed,
        [
            ("CreateEndpoint", 1),
            ("CreateModel", 2),
            ("CreateEndpointConfig", 1),
            ("DescribeEndpoint", 3),
        ],
        max_delay=1.5,
    )
    operators.running()  # before the change, as in a cluster
    fast_sandbox.forget_calls()
    endpoints.create(namespace, two_variants(name, model_bucket))

    operators.kill_at(point, child_of(name))

    ready = wait_for_condition(endpoints, namespace, name, "Ready", operators.running())
    calls = fast_sandbox.calls()
    assert_nothing_created_twice(calls, name, point)
    assert successes(calls, name, "CreateEndpoint") == 1, point
    assert successes(calls, name, "CreateModel") == 2, point
    assert successes(calls, name, "CreateEndpointConfig") == 1, point
    assert_endpoint_converged(fast_sandbox, name, ready["status"], point)


def test_a_create_sent_again_after_a_kill_is_refused_and_what_it_made_is_used(
    operators: CrashingOperator,
    fast_sandbox: Sandbox,
    endpoints: cluster.Objects,
    namespace: str,
    model_bucket: str,
) -> None:
    """Killed while the sandbox holds the first CreateModel (applied after the kill, so the
    operator never heard back): the next operator creates the models and config without
    reading, SageMaker refuses the model that exists with a 400, and the operator uses it."""
    name = f"crash-resend-{namespace[-4:]}"
    point = KillPoint("CreateModel", 1, held=True)
    operators.running()
    fast_sandbox.forget_calls()
    endpoints.create(namespace, two_variants(name, model_bucket))

    operators.kill_at(point, child_of(name))

    ready = wait_for_condition(endpoints, namespace, name, "Ready", operators.running())
    calls = fast_sandbox.calls()
    sent_again = {call for call, n in attempts(calls, name, ("CreateModel",)).items() if n > 1}
    assert sent_again, "the kill left nothing to create again"
    matches = child_of(name)
    refused = {
        f"{c['operation']} {c['target']}"
        for c in calls
        if c["operation"] == "CreateModel" and c["status"] == 400 and matches(c)
    }
    assert refused == sent_again
    assert_nothing_created_twice(calls, name, point)
    assert successes(calls, name, "CreateModel") == 2
    assert successes(calls, name, "CreateEndpoint") == 1
    assert_endpoint_converged(fast_sandbox, name, ready["status"], point)


@pytest.mark.parametrize("seed", SEEDS)
def test_weight_change_is_applied_once_after_a_kill(
    seed: int,
    operators: CrashingOperator,
    fast_sandbox: Sandbox,
    endpoints: cluster.Objects,
    namespace: str,
    model_bucket: str,
) -> None:
    name = f"crash-weight-{seed:03d}-{namespace[-4:]}"
    before = ready_endpoint(operators, endpoints, namespace, name, model_bucket)
    point = choose_kill_point(
        "weight",
        seed,
        [("UpdateEndpointWeightsAndCapacities", 1), ("DescribeEndpoint", 3)],
        max_delay=1.5,
    )
    fast_sandbox.forget_calls()
    endpoints.patch_spec(
        namespace,
        name,
        {
            "variants": [
                variant(BLUE, model_bucket, "v1", weight=9),
                variant(GREEN, model_bucket, "v2"),
            ]
        },
    )

    operators.kill_at(point, child_of(name))

    after = wait_for_condition(
        endpoints,
        namespace,
        name,
        "Ready",
        operators.running(),
        also=lambda o: (
            {v["name"]: v["currentWeightPercent"] for v in o["status"]["variants"]}
            == {BLUE: 90.0, GREEN: 10.0}
        ),
    )
    calls = fast_sandbox.calls()
    assert successes(calls, name, "UpdateEndpointWeightsAndCapacities") == 1, point
    assert not attempts(calls, name, (*CREATES, "UpdateEndpoint")), point
    assert after["status"]["endpointConfigName"] == before["status"]["endpointConfigName"]
    assert_endpoint_converged(fast_sandbox, name, after["status"], point)


@pytest.mark.parametrize("seed", SEEDS)
def test_config_switch_is_applied_once_and_cleaned_up_after_a_kill(
    seed: int,
    operators: CrashingOperator,
    fast_sandbox: Sandbox,
    endpoints: cluster.Objects,
    namespace: str,
    model_bucket: str,
) -> None:
    name = f"crash-switch-{seed:03d}-{namespace[-4:]}"
    before = ready_endpoint(operators, endpoints, namespace, name, model_bucket)
    old_config = before["status"]["endpointConfigName"]
    point = choose_kill_point(
        "switch",
        seed,
        [
            ("UpdateEndpoint", 1),
            ("CreateEndpointConfig", 1),
            ("DeleteModel", 1),
            ("CreateModel", 1),
            ("DeleteEndpointConfig", 1),
            ("DescribeEndpoint", 3),
        ],
        max_delay=1.0,
    )
    fast_sandbox.forget_calls()
    endpoints.patch_spec(
        namespace,
        name,
        {
            "variants": [
                variant(BLUE, model_bucket, "v1"),
                variant(GREEN, model_bucket, "v3", image="img:3"),
            ]
        },
    )

    operators.kill_at(point, child_of(name))

    after = wait_for_condition(
        endpoints,
        namespace,
        name,
        "Ready",
        operators.running(),
        also=lambda o: (
            o["status"]["endpointConfigName"] != old_config
            and o["status"].get("cleanedUpForConfigName") == o["status"]["endpointConfigName"]
        ),
    )
    calls = fast_sandbox.calls()
    assert_nothing_created_twice(calls, name, point)
    assert successes(calls, name, "UpdateEndpoint") == 1, point
    assert successes(calls, name, "CreateEndpointConfig") == 1, point
    assert successes(calls, name, "CreateModel") == 1, point
    assert_endpoint_converged(fast_sandbox, name, after["status"], point)


@pytest.mark.parametrize("seed", SEEDS)
def test_delete_removes_everything_after_a_kill(
    seed: int,
    operators: CrashingOperator,
    fast_sandbox: Sandbox,
    endpoints: cluster.Objects,
    namespace: str,
    model_bucket: str,
) -> None:
    name = f"crash-delete-{seed:03d}-{namespace[-4:]}"
    ready_endpoint(operators, endpoints, namespace, name, model_bucket)
    point = choose_kill_point(
        "delete",
        seed,
        [
            ("DeleteEndpoint", 1),
            ("DeleteModel", 2),
            ("DeleteEndpointConfig", 1),
            ("DescribeEndpoint", 2),
        ],
        max_delay=1.0,
    )
    fast_sandbox.forget_calls()
    endpoints.delete(namespace, name)

    operators.kill_at(point, child_of(name))

    wait_gone(endpoints, namespace, name, operators.running())
    for kind in LISTINGS:
        assert not listed(fast_sandbox, kind, name), f"{kind} left after a kill at {point}"
    calls = fast_sandbox.calls()
    assert successes(calls, name, "DeleteEndpoint") == 1, point
    assert not attempts(calls, name, CREATES), f"re-created during deletion after a kill at {point}"


# --------------------------------------------------------------------------- TrafficSplit

CANARY_PERCENTS = (10, 30, 50)


def canary_split(name: str, endpoint: str) -> dict[str, Any]:
    """Three steps with short timed pauses, unjudged: the steps are what is under test."""
    return {
        "apiVersion": f"{cluster.GROUP}/{cluster.VERSION}",
        "kind": "TrafficSplit",
        "metadata": {"name": name},
        "spec": {
            "endpointRef": {"name": endpoint},
            "baseline": BLUE,
            "candidate": GREEN,
            "steps": [
                {"setWeight": CANARY_PERCENTS[0], "pause": {"duration": 1}},
                {"setWeight": CANARY_PERCENTS[1], "pause": {"duration": 1}},
                {"setWeight": CANARY_PERCENTS[2]},
            ],
            "skipAnalysis": True,
            "metricPeriodSeconds": 1,
            "progressDeadlineSeconds": 120,
        },
    }


def green_percent(weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return round(100.0 * weights.get(GREEN, 0.0) / total, 3) if total else 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_canary_takes_every_step_once_in_order_after_a_kill(
    seed: int,
    operators: CrashingOperator,
    fast_sandbox: Sandbox,
    endpoints: cluster.Objects,
    splits: cluster.Objects,
    namespace: str,
    model_bucket: str,
) -> None:
    endpoint = f"crash-canary-{seed:03d}-{namespace[-4:]}"
    ready_endpoint(operators, endpoints, namespace, endpoint, model_bucket)
    point = choose_kill_point(
        "canary",
        seed,
        [("UpdateEndpointWeightsAndCapacities", 4)],  # the steps, then the promotion
        max_delay=1.5,
    )
    fast_sandbox.forget_calls()
    splits.create(namespace, canary_split("canary", endpoint))

    operators.kill_at(point, child_of(endpoint))

    done = wait_for_status(
        splits,
        namespace,
        "canary",
        operators.running(),
        lambda o: o.get("status", {}).get("phase") == "Succeeded",
        "phase Succeeded",
        timeout=90,
    )
    history = done["status"]["history"]
    steps = [(h["stepIndex"], h["note"]) for h in history if "candidate at" in h.get("note", "")]
    assert steps == [
        (index, f"step {index + 1}: candidate at {percent}%")
        for index, percent in enumerate(CANARY_PERCENTS)
    ], f"steps after a kill at {point}: {history}"
    recorded = [green_percent(h["weights"]) for h in history if "candidate at" in h.get("note", "")]
    assert recorded == [float(p) for p in CANARY_PERCENTS], point
    assert [h["note"] for h in history].count("promoted") == 1, point
    described = fast_sandbox.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    live = {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}
    assert green_percent(live) == 100.0, point
    # Three steps and the promotion: four weight writes, none repeated.
    writes = successes(fast_sandbox.calls(), endpoint, "UpdateEndpointWeightsAndCapacities")
    assert writes == len(CANARY_PERCENTS) + 1, f"{writes} weight writes after a kill at {point}"


# --------------------------------------------------------------------------- EdgeModel


@pytest.mark.parametrize("seed", EDGE_SEEDS)
def test_compilation_and_staged_rollout_make_nothing_twice_after_a_kill(
    seed: int,
    operators: CrashingOperator,
    fast_sandbox: Sandbox,
    edge_models: cluster.Objects,
    namespace: str,
    edge_bucket: str,
) -> None:
    canary, _ = thing_group(fast_sandbox, "crash-canary", 1)
    fleet, _ = thing_group(fast_sandbox, "crash-fleet", 2)
    name = f"crash-edge-{seed:03d}-{namespace[-4:]}"
    point = choose_kill_point(
        "edge",
        seed,
        [
            ("CreateDeployment", 2),
            # edge_model()'s one target: one compilation and one component version.
            ("CreateComponentVersion", 1),
            ("CreateCompilationJob", 1),
        ],
        max_delay=1.0,
    )
    operators.running()
    fast_sandbox.forget_calls()
    edge_models.create(
        namespace,
        edge_model(
            name,
            edge_bucket,
            [
                {"name": "canary", "thingGroups": [canary]},
                {"name": "fleet", "thingGroups": [fleet]},
            ],
        ),
    )

    # Only this test's EdgeModel compiles, publishes or deploys while it runs (the earlier
    # ones are rolled out and only read), so every such call in the log is its own.
    operators.kill_at(point, lambda _: True)

    ready = wait_for_condition(
        edge_models, namespace, name, "Ready", operators.running(), timeout=90
    )
    status = ready["status"]
    targets: list[dict[str, Any]] = status["targets"]
    pages = (
        fast_sandbox.client("sagemaker")
        .get_paginator("list_compilation_jobs")
        .paginate(NameContains=name)
    )
    jobs = [j["CompilationJobName"] for page in pages for j in page["CompilationJobSummaries"]]
    assert sorted(jobs) == sorted(t["compilationJobName"] for t in targets), (
        f"compilation jobs after a kill at {point}"
    )
    calls = fast_sandbox.calls()
    for operation in ("CreateCompilationJob", "CreateComponentVersion"):
        answered = Counter(c["status"] < 300 for c in calls if c["operation"] == operation)
        assert answered == Counter({True: len(targets)}), (
            f"{operation} calls after a kill at {point}: {answered} (True: succeeded)"
        )
    greengrass, iot = fast_sandbox.client("greengrassv2"), fast_sandbox.client("iot")
    for group in (canary, fleet):
        arn = iot.describe_thing_group(thingGroupName=group)["thingGroupArn"]
        history = greengrass.list_deployments(targetArn=arn, historyFilter="ALL")["deployments"]
        assert len(history) == 1, f"deployments to {group} after a kill at {point}: {history}"
    assert [(s["name"], s["phase"]) for s in status["stages"]] == [
        ("canary", "Succeeded"),
        ("fleet", "Succeeded"),
    ], point


ROLLBACK_SEEDS = (1, 2)
"""Seed 1 kills while the sandbox holds the first deployment, seed 2 just after it."""
# Someone else's component on the canary group: the roll back must keep it too.
SITE_COMPONENTS = {"aws.greengrass.Cli": {"componentVersion": "2.12.0"}}
ARM64_ONLY = [{"name": "arm64", "targetPlatform": {"os": "LINUX", "arch": "ARM64"}}]


def latest_deployment(sandbox: Sandbox, group: str) -> dict[str, Any]:
    greengrass, iot = sandbox.client("greengrassv2"), sandbox.client("iot")
    arn = iot.describe_thing_group(thingGroupName=group)["thingGroupArn"]
    listed = greengrass.list_deployments(targetArn=arn, historyFilter="LATEST_ONLY")
    latest: dict[str, Any] = greengrass.get_deployment(
        deploymentId=listed["deployments"][0]["deploymentId"]
    )
    return latest


def versions(components: dict[str, Any]) -> dict[str, str]:
    return {name: str(entry["componentVersion"]) for name, entry in components.items()}


@pytest.mark.parametrize("seed", ROLLBACK_SEEDS)
def test_a_roll_back_restores_what_a_group_ran_after_a_kill_at_its_first_deployment(
    seed: int,
    operators: CrashingOperator,
    fast_sandbox: Sandbox,
    edge_models: cluster.Objects,
    namespace: str,
    edge_bucket: str,
) -> None:
    """The group runs v1 of our component (and someone else's); the kill comes at v2's first
    deployment to it, before the status of that pass is written. The devices fail v2, the
    stage is aborted, and the roll back must deploy exactly what the group ran before."""
    canary, _ = thing_group(fast_sandbox, "crash-rollback", 2)
    fleet, _ = thing_group(fast_sandbox, "crash-rollback-fleet", 1)
    iot, greengrass = fast_sandbox.client("iot"), fast_sandbox.client("greengrassv2")
    canary_arn = iot.describe_thing_group(thingGroupName=canary)["thingGroupArn"]
    greengrass.create_deployment(
        targetArn=canary_arn, deploymentName="site", components=SITE_COMPONENTS
    )
    name = f"crash-back-{seed:03d}-{namespace[-4:]}"
    criteria = [
        {"failureType": "FAILED", "thresholdPercentage": 40, "minNumberOfExecutedThings": 2}
    ]
    body = edge_model(
        name,
        edge_bucket,
        [
            {"name": "canary", "thingGroups": [canary], "abortCriteria": criteria},
            {"name": "fleet", "thingGroups": [fleet]},
        ],
        targets=ARM64_ONLY,
    )
    edge_models.create(namespace, body)
    first = wait_for_condition(
        edge_models, namespace, name, "Ready", operators.running(), timeout=90
    )
    v1 = {t["componentName"]: t["componentVersion"] for t in first["status"]["targets"]}
    before = versions(latest_deployment(fast_sandbox, canary)["components"])
    assert before == {**versions(SITE_COMPONENTS), **v1}
    point = choose_kill_point("rollback", seed, [("CreateDeployment", 1)], max_delay=1.0)
    # The canary's devices fail whatever is not v1 (v2's name comes from the clock), and take
    # v1 again: a roll back is RolledBack only once its devices answered without a failure.
    (v1_version,) = set(v1.values())
    fast_sandbox._admin(
        "POST", "devices", {"thingName": f"{canary}-*", "outcome": "fail", "exceptFor": v1_version}
    )
    try:
        fast_sandbox.forget_calls()
        # v2: new component versions; the first CreateDeployment from here is the canary's.
        edge_models.patch_spec(
            namespace, name, {"component": {"environment": {"THRESHOLD": "0.9"}}}
        )

        operators.kill_at(point, lambda call: call["operation"] == "CreateDeployment")

        rolled_back = wait_for_status(
            edge_models,
            namespace,
            name,
            operators.running(),
            lambda o: (cluster.condition(o, "Stalled") or {}).get("reason") == "RolledBack",
            f"RolledBack after a kill at {point}",
            timeout=120,
        )
    finally:
        fast_sandbox._admin("DELETE", "devices")
    status = rolled_back["status"]
    v2 = {t["componentName"]: t["componentVersion"] for t in status["targets"]}
    assert v2.keys() == v1.keys(), point
    assert v2 != v1, point
    assert status["rollback"]["stage"] == "canary", point
    remembered = {p["thingGroup"]: p["components"] for p in status["previousVersions"]}
    assert remembered == {canary: [{"name": n, "version": v} for n, v in sorted(v1.items())]}, (
        f"previous versions after a kill at {point}"
    )
    after = latest_deployment(fast_sandbox, canary)
    assert versions(after["components"]) == before, f"the canary after a kill at {point}"
    # v2 reached the canary (that deployment was the one the kill hit) and was rolled back.
    history = greengrass.list_deployments(targetArn=canary_arn, historyFilter="ALL")
    deployed = [
        versions(greengrass.get_deployment(deploymentId=d["deploymentId"])["components"])
        for d in history["deployments"]
    ]
    assert {**versions(SITE_COMPONENTS), **v2} in deployed, point
    assert versions(latest_deployment(fast_sandbox, fleet)["components"]) == v1, point
