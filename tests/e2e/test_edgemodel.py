"""EdgeModel end to end: Neo compiles each target, Greengrass publishes a component version
per target, and the rollout goes canary group -> fleet group, on the real control plane and
the AWS sandbox (Neo, Greengrass v2 and IoT jobs run with short lifecycles)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_status, wait_gone
from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.cli import isolated_env, run_cli
from tests.support.operator import OperatorProcess
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model

pytestmark = pytest.mark.e2e

# An AWS-published component someone else deployed to the fleet: it must survive.
OTHERS = {"aws.greengrass.Cli": {"componentVersion": "2.12.0"}}


@pytest.fixture
def models(sandbox: Sandbox, fast_edge: None) -> str:
    """A bucket with a trained model in it (compiled output goes there too)."""
    s3 = sandbox.client("s3")
    bucket = f"edge-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="classifier/model.tar.gz", Body=b"trained model")
    return bucket


def thing_group(sandbox: Sandbox, prefix: str, devices: int) -> tuple[str, list[str]]:
    iot = sandbox.client("iot")
    group = f"{prefix}-{uuid.uuid4().hex[:8]}"
    iot.create_thing_group(thingGroupName=group)
    names = []
    for index in range(devices):
        name = f"{group}-dev{index}"
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName=group, thingName=name)
        names.append(name)
    return group, names


def latest_components(sandbox: Sandbox, group: str) -> dict[str, Any]:
    greengrass = sandbox.client("greengrassv2")
    arn = sandbox.client("iot").describe_thing_group(thingGroupName=group)["thingGroupArn"]
    listed = greengrass.list_deployments(targetArn=arn)["deployments"]
    if not listed:
        return {}
    deployment = greengrass.get_deployment(deploymentId=listed[0]["deploymentId"])
    components: dict[str, Any] = deployment.get("components", {})
    return components


def stage(status: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in status["stages"] if s["name"] == name)
    return found


def wait_status(
    objects: cluster.Objects,
    namespace: str,
    name: str,
    operator: OperatorProcess,
    holds: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 90,
) -> dict[str, Any]:
    return wait_for_status(objects, namespace, name, operator, holds, what, timeout=timeout)


@pytest.fixture
def cli_env(
    tmp_path: Path, control_plane: controlplane.ControlPlane, sandbox: Sandbox
) -> dict[str, str]:
    return isolated_env(
        tmp_path,
        KUBECONFIG=str(control_plane.kubeconfig(controlplane.OPERATOR_USER)),
        **sandbox.env,
    )


def test_compiles_both_targets_rolls_out_canary_then_fleet_and_keeps_other_components(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
    cli_env: dict[str, str],
) -> None:
    canary, canary_devices = thing_group(sandbox, "canary", 1)
    fleet, fleet_devices = thing_group(sandbox, "fleet", 3)
    greengrass = sandbox.client("greengrassv2")
    fleet_arn = sandbox.client("iot").describe_thing_group(thingGroupName=fleet)["thingGroupArn"]
    greengrass.create_deployment(targetArn=fleet_arn, deploymentName="site", components=OTHERS)
    name = "classifier"
    edge_models.create(
        namespace,
        edge_model(
            name,
            models,
            [
                {"name": "canary", "thingGroups": [canary]},
                {"name": "fleet", "thingGroups": [fleet], "maximumPerMinute": 100},
            ],
        ),
    )

    ready = wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=120)

    status = ready["status"]
    assert (status["targetCount"], status["compiledCount"]) == (2, 2)
    assert (status["currentStage"], status["devicesOk"]) == ("fleet", "4/4")
    targets = {t["name"]: t for t in status["targets"]}
    sagemaker = sandbox.client("sagemaker")
    for target in targets.values():
        job = sagemaker.describe_compilation_job(CompilationJobName=target["compilationJobName"])
        assert job["CompilationJobStatus"] == target["compilationJobStatus"] == "COMPLETED"
        assert target["artifactS3Uri"] == job["ModelArtifacts"]["S3ModelArtifacts"]
        component = greengrass.describe_component(arn=target["componentArn"])
        assert component["status"]["componentState"] == target["componentState"] == "DEPLOYABLE"
        assert component["componentVersion"] == target["componentVersion"]
    assert targets["nano"]["componentName"] != targets["arm64"]["componentName"]
    assert [(s["name"], s["phase"]) for s in status["stages"]] == [
        ("canary", "Succeeded"),
        ("fleet", "Succeeded"),
    ]
    assert stage(status, "canary")["devices"]["succeeded"] == len(canary_devices)
    assert stage(status, "fleet")["devices"]["succeeded"] == len(fleet_devices)
    ours = {t["componentName"]: t["componentVersion"] for t in targets.values()}
    fleet_components = latest_components(sandbox, fleet)
    assert {n: c["componentVersion"] for n, c in fleet_components.items()} == {
        **{n: c["componentVersion"] for n, c in OTHERS.items()},
        **ours,
    }
    # One compilation job per target, one deployment per group: nothing made twice.
    jobs = sagemaker.list_compilation_jobs(NameContains=name)["CompilationJobSummaries"]
    assert sorted(j["CompilationJobName"] for j in jobs) == sorted(
        t["compilationJobName"] for t in targets.values()
    )
    history = greengrass.list_deployments(targetArn=fleet_arn, historyFilter="ALL")
    assert len(history["deployments"]) == 2  # the site's, then the merged one

    shown = run_cli(["edge-status", name, "-n", namespace, "-o", "json"], cli_env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert sorted((d["stage"], d["device"], d["status"]) for d in report["devices"]) == sorted(
        [("canary", d, "SUCCEEDED") for d in canary_devices]
        + [("fleet", d, "SUCCEEDED") for d in fleet_devices]
    )
    assert {d["detailedStatus"] for d in report["devices"]} == {"SUCCESSFUL"}
    table = run_cli(["edge-status", name, "-n", namespace], cli_env)
    assert table.returncode == 0
    assert all(d in table.stdout for d in fleet_devices)
    missing = run_cli(["edge-status", "nowhere", "-n", namespace], cli_env)
    assert (missing.returncode, missing.stderr.strip()) == (
        2,
        f"error: no EdgeModel {namespace}/nowhere",
    )

    edge_models.delete(namespace, name)
    wait_gone(edge_models, namespace, name, operator, timeout=60)
    assert latest_components(sandbox, fleet) == OTHERS
    assert latest_components(sandbox, canary) == {}
    for target in targets.values():
        with pytest.raises(greengrass.exceptions.ResourceNotFoundException):
            greengrass.describe_component(arn=target["componentArn"])


def tell_devices(sandbox: Sandbox, pattern: str, outcome: str) -> None:
    sandbox._admin("POST", "devices", {"thingName": pattern, "outcome": outcome})


def annotate(objects: cluster.Objects, namespace: str, name: str, key: str, value: str) -> None:
    objects.custom.patch_namespaced_custom_object(
        cluster.GROUP,
        cluster.VERSION,
        namespace,
        objects.plural,
        name,
        {"metadata": {"annotations": {key: value}}},
    )


def reason(obj: dict[str, Any], type_: str) -> str:
    found = cluster.condition(obj, type_)
    return str(found["reason"]) if found else ""


def test_a_failed_compilation_stalls_its_target_while_the_other_rolls_out(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, _ = thing_group(sandbox, "canary", 2)
    name = f"partial-{uuid.uuid4().hex[:6]}"
    sandbox._admin(
        "POST",
        "compilation-failures",
        {"namePattern": f"{name}-nano-*", "reason": "ClientError: InputConfiguration: bad shape"},
    )
    edge_models.create(
        namespace, edge_model(name, models, [{"name": "canary", "thingGroups": [canary]}])
    )

    stalled = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda o: (
            cluster.is_true(o, "Stalled")
            and any(s["phase"] == "Succeeded" for s in o["status"].get("stages", []))
        ),
        "Stalled on nano with canary rolled out",
    )

    assert reason(stalled, "Stalled") == "CompilationFailed"
    assert "bad shape" in cluster.condition(stalled, "Stalled")["message"]  # type: ignore[index]
    targets = {t["name"]: t for t in stalled["status"]["targets"]}
    assert targets["nano"]["compilationJobStatus"] == "FAILED"
    assert "bad shape" in targets["nano"]["failureReason"]
    assert targets["arm64"]["componentState"] == "DEPLOYABLE"
    deployed = latest_components(sandbox, canary)
    assert set(deployed) == {targets["arm64"]["componentName"]}
    assert stage(stalled["status"], "canary")["devices"]["succeeded"] == 2


def test_a_stage_aborted_by_failing_devices_does_not_go_on(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, devices = thing_group(sandbox, "canary", 4)
    fleet, _ = thing_group(sandbox, "fleet", 2)
    tell_devices(sandbox, devices[0], "fail")
    tell_devices(sandbox, devices[1], "fail")
    name = "aborted"
    criteria = [
        {"failureType": "FAILED", "thresholdPercentage": 40, "minNumberOfExecutedThings": 2}
    ]
    edge_models.create(
        namespace,
        edge_model(
            name,
            models,
            [
                {"name": "canary", "thingGroups": [canary], "abortCriteria": criteria},
                {"name": "fleet", "thingGroups": [fleet]},
            ],
            rollout_extra={"onFailure": "Halt"},
        ),
    )

    stalled = wait_for_condition(edge_models, namespace, name, "Stalled", operator, timeout=120)

    assert reason(stalled, "Stalled") == "StageAborted"
    canary_stage = stage(stalled["status"], "canary")
    assert canary_stage["phase"] == "Aborted"
    assert canary_stage["devices"]["failed"] >= 2
    assert stage(stalled["status"], "fleet")["phase"] == "Pending"
    assert latest_components(sandbox, fleet) == {}


def test_an_aborted_stage_rolls_its_groups_back_to_the_previous_version(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, devices = thing_group(sandbox, "canary", 4)
    fleet, _ = thing_group(sandbox, "fleet", 2)
    criteria = [
        {"failureType": "FAILED", "thresholdPercentage": 40, "minNumberOfExecutedThings": 2}
    ]
    name = "rollback"
    edge_models.create(
        namespace,
        edge_model(
            name,
            models,
            [
                {"name": "canary", "thingGroups": [canary], "abortCriteria": criteria},
                {"name": "fleet", "thingGroups": [fleet]},
            ],
        ),
    )
    first = wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=120)
    v1 = {t["componentName"]: t["componentVersion"] for t in first["status"]["targets"]}
    assert {n: c["componentVersion"] for n, c in latest_components(sandbox, canary).items()} == v1

    # The next version breaks half of the canary devices.
    tell_devices(sandbox, devices[0], "fail")
    tell_devices(sandbox, devices[1], "fail")
    edge_models.patch_spec(namespace, name, {"component": {"environment": {"THRESHOLD": "0.9"}}})

    rolled_back = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda obj: reason(obj, "Stalled") == "RolledBack",
        "the aborted canary stage rolled back",
        timeout=150,
    )

    status = rolled_back["status"]
    v2 = {t["componentName"]: t["componentVersion"] for t in status["targets"]}
    assert v2.keys() == v1.keys()
    assert v2 != v1
    assert stage(status, "canary")["phase"] == "Aborted"
    assert stage(status, "fleet")["phase"] == "Pending"
    assert status["rollback"]["stage"] == "canary"
    assert status["rollback"]["phase"] == "RolledBack"
    assert "abort criteri" in status["rollback"]["reason"]  # IoT or the operator judged
    assert (
        status["rollback"]["reason"] in (cluster.condition(rolled_back, "Stalled") or {})["message"]
    )
    remembered = {p["thingGroup"]: p["components"] for p in status["previousVersions"]}
    assert remembered == {canary: [{"name": n, "version": v} for n, v in sorted(v1.items())]}
    # The canary runs v1 again; the fleet was never touched by the failed rollout.
    for group in (canary, fleet):
        deployed = latest_components(sandbox, group)
        assert {n: c["componentVersion"] for n, c in deployed.items()} == v1
    processes.wait_until(
        lambda: any(e.reason == "RolledBack" for e in edge_models.events(namespace, name)),
        timeout=30,
        interval=0.25,
        what="a RolledBack Event",
        log=operator.log,
    )


def test_a_device_shared_with_a_group_on_another_version_stalls_the_stage(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, _ = thing_group(sandbox, "canary", 1)
    fleet, devices = thing_group(sandbox, "fleet", 2)
    sandbox.client("iot").add_thing_to_thing_group(thingGroupName=canary, thingName=devices[0])
    name = "shared"
    edge_models.create(
        namespace,
        edge_model(
            name,
            models,
            [
                {"name": "canary", "thingGroups": [canary]},
                {"name": "fleet", "thingGroups": [fleet]},
            ],
        ),
    )
    first = wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=120)
    v1 = {t["componentName"]: t["componentVersion"] for t in first["status"]["targets"]}

    edge_models.patch_spec(namespace, name, {"component": {"environment": {"THRESHOLD": "0.9"}}})
    stalled = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda obj: reason(obj, "Stalled") == "SharedDeviceConflict",
        "the shared device stalled the canary stage",
        timeout=120,
    )

    message = (cluster.condition(stalled, "Stalled") or {})["message"]
    assert f"device {devices[0]} is in thing groups {canary} and {fleet}" in message
    # Nothing was deployed: both groups still run v1.
    for group in (canary, fleet):
        deployed = latest_components(sandbox, group)
        assert {n: c["componentVersion"] for n, c in deployed.items()} == v1


def test_offline_devices_hit_the_stage_deadline(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, devices = thing_group(sandbox, "canary", 3)
    tell_devices(sandbox, devices[2], "offline")
    name = "offline"
    body = edge_model(name, models, [{"name": "canary", "thingGroups": [canary]}])
    body["spec"]["rollout"]["stageDeadlineSeconds"] = 6
    edge_models.create(namespace, body)

    stalled = wait_for_condition(edge_models, namespace, name, "Stalled", operator, timeout=120)

    assert reason(stalled, "Stalled") == "StageDeadlineExceeded"
    canary_stage = stage(stalled["status"], "canary")
    assert canary_stage["phase"] == "DeadlineExceeded"
    assert (canary_stage["devices"]["succeeded"], canary_stage["devices"]["queued"]) == (2, 1)
    assert "1 queued" in canary_stage["gate"]


def test_manual_gate_waits_survives_a_spec_change_and_promotes_once(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, _ = thing_group(sandbox, "canary", 1)
    fleet, _ = thing_group(sandbox, "fleet", 2)
    name = "manual"
    stages = [
        {"name": "canary", "thingGroups": [canary], "gate": {"manual": True}},
        {"name": "fleet", "thingGroups": [fleet]},
    ]
    edge_models.create(namespace, edge_model(name, models, stages))

    def awaiting(obj: dict[str, Any]) -> bool:
        return reason(obj, "Reconciling") == "AwaitingPromotion"

    waiting = wait_status(
        edge_models, namespace, name, operator, awaiting, "canary to await promotion"
    )
    first_versions = {
        t["componentName"]: t["componentVersion"] for t in waiting["status"]["targets"]
    }
    assert latest_components(sandbox, fleet) == {}

    # A spec change mid-rollout: new component versions, the rollout starts again at canary.
    edge_models.patch_spec(namespace, name, {"component": {"environment": {"THRESHOLD": "0.7"}}})
    changed = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda o: awaiting(o) and o["status"]["rolloutId"] != waiting["status"]["rolloutId"],
        "the changed spec to await promotion at canary",
    )
    new_versions = {t["componentName"]: t["componentVersion"] for t in changed["status"]["targets"]}
    assert new_versions.keys() == first_versions.keys()
    assert all(new_versions[n] != first_versions[n] for n in new_versions)
    assert {
        n: c["componentVersion"] for n, c in latest_components(sandbox, canary).items()
    } == new_versions
    assert latest_components(sandbox, fleet) == {}

    annotate(edge_models, namespace, name, "serving.mlops.dev/promote", "go")
    ready = wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=90)
    assert ready["status"]["consumedPromotion"] == "go"
    assert {
        n: c["componentVersion"] for n, c in latest_components(sandbox, fleet).items()
    } == new_versions
    assert [s["phase"] for s in ready["status"]["stages"]] == ["Succeeded", "Succeeded"]


def test_retain_leaves_components_and_deployments_in_aws(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, _ = thing_group(sandbox, "canary", 1)
    name = "retained"
    edge_models.create(
        namespace,
        edge_model(
            name, models, [{"name": "canary", "thingGroups": [canary]}], deletionPolicy="Retain"
        ),
    )
    ready = wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=120)
    targets = ready["status"]["targets"]

    edge_models.delete(namespace, name)
    wait_gone(edge_models, namespace, name, operator)

    greengrass = sandbox.client("greengrassv2")
    for target in targets:
        described = greengrass.describe_component(arn=target["componentArn"])
        assert described["status"]["componentState"] == "DEPLOYABLE"
    assert set(latest_components(sandbox, canary)) == {t["componentName"] for t in targets}


@pytest.fixture
def rechecking_operator(
    tmp_path: Path, sandbox: Sandbox
) -> Iterator[tuple[cluster.Objects, OperatorProcess]]:
    """An operator of its own (on a control plane of its own: the session operator rechecks
    rolled-out EdgeModels hourly) that rechecks them every 2 s, and its EdgeModels."""
    with own_control_plane(tmp_path / "controlplane", namespaces=[AT_REST_NAMESPACE]) as plane:
        process = operator_support.start(
            tmp_path / "operator",
            plane.kubeconfig(controlplane.OPERATOR_USER),
            sandbox.env,
            extra_env={"SERVING_OPERATOR_EDGE_RECHECK_SECONDS": "2"},
        )
        try:
            admin = cluster.api_client(plane.kubeconfig(controlplane.ADMIN_USER))
            yield cluster.Objects(admin, "edgemodels"), process
        finally:
            process.stop()


AT_REST_NAMESPACE = "at-rest"
# Someone else's deployment to the fleet after the rollout, made without merging.
SITE = {"aws.greengrass.Nucleus": {"componentVersion": "2.12.1"}, **OTHERS}


def test_a_deployment_by_someone_else_that_drops_ours_is_merged_again_at_rest(
    sandbox: Sandbox, models: str, rechecking_operator: tuple[cluster.Objects, OperatorProcess]
) -> None:
    edge_models, operator = rechecking_operator
    fleet, _ = thing_group(sandbox, "fleet", 2)
    name = "at-rest"
    edge_models.create(
        AT_REST_NAMESPACE, edge_model(name, models, [{"name": "fleet", "thingGroups": [fleet]}])
    )
    ready = wait_for_condition(edge_models, AT_REST_NAMESPACE, name, "Ready", operator, timeout=120)
    ours = {t["componentName"]: t["componentVersion"] for t in ready["status"]["targets"]}
    assert {n: c["componentVersion"] for n, c in latest_components(sandbox, fleet).items()} == ours

    greengrass = sandbox.client("greengrassv2")
    fleet_arn = sandbox.client("iot").describe_thing_group(thingGroupName=fleet)["thingGroupArn"]
    theirs = greengrass.create_deployment(
        targetArn=fleet_arn, deploymentName="site", components=SITE
    )["deploymentId"]
    assert latest_components(sandbox, fleet) == SITE  # ours are gone from the group

    def merged_again() -> bool:
        found = latest_components(sandbox, fleet)
        return {n: c["componentVersion"] for n, c in found.items()} == {
            **{n: c["componentVersion"] for n, c in SITE.items()},
            **ours,
        }

    processes.wait_until(
        merged_again, timeout=60, interval=0.5, what="ours merged again", log=operator.log
    )
    listed = greengrass.list_deployments(targetArn=fleet_arn)["deployments"]
    merge = listed[0]["deploymentId"]
    # The resource stays Ready, and records the merge as what the fleet is expected to run.
    rested = wait_status(
        edge_models,
        AT_REST_NAMESPACE,
        name,
        operator,
        lambda o: (
            cluster.is_true(o, "Ready")
            and stage(o["status"], "fleet")["deployments"][0]["deploymentId"] == merge
        ),
        "the merge recorded at rest",
    )
    assert stage(rested["status"], "fleet")["phase"] == "Succeeded"
    drift = [e for e in edge_models.events(AT_REST_NAMESPACE, name) if e.reason == "DriftCorrected"]
    assert len(drift) == 1, drift
    assert drift[0].type == "Warning"
    assert theirs in drift[0].message
    assert fleet in drift[0].message
    # Ours, theirs, ours merged into theirs: merged once, however many rechecks since.
    history = greengrass.list_deployments(targetArn=fleet_arn, historyFilter="ALL")
    assert len(history["deployments"]) == 3
