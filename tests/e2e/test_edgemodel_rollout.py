"""EdgeModel end to end, the path users take: Neo compiles each target, Greengrass publishes a
component version per target, the rollout goes canary group -> fleet group keeping other
components; a manual gate; Retain. On the real control plane and the AWS sandbox (Neo,
Greengrass v2 and IoT jobs run with short lifecycles)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.edge_support import (
    OTHERS,
    annotate,
    compilation_jobs,
    latest_components,
    reason,
    stage,
    thing_group,
    wait_status,
)
from tests.e2e.helpers import wait_for_condition, wait_gone
from tests.support import cluster
from tests.support.cli import run_cli
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model, two_targets

pytestmark = pytest.mark.e2e


def test_compiles_both_targets_rolls_out_canary_then_fleet_and_keeps_other_components(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
    cli_env: dict[str, str],
) -> None:
    canary, canary_devices = thing_group(sandbox, "canary", 1)
    jetsons, jetson_devices = thing_group(sandbox, "jetsons", 1)
    fleet, fleet_devices = thing_group(sandbox, "fleet", 3)
    greengrass = sandbox.client("greengrassv2")
    fleet_arn = sandbox.client("iot").describe_thing_group(thingGroupName=fleet)["thingGroupArn"]
    greengrass.create_deployment(targetArn=fleet_arn, deploymentName="site", components=OTHERS)
    jobs_before = compilation_jobs(sandbox)
    name = "classifier"
    edge_models.create(
        namespace,
        edge_model(
            name,
            models,
            [
                {"name": "canary", "thingGroups": [canary, jetsons]},
                {"name": "fleet", "thingGroups": [fleet], "maximumPerMinute": 100},
            ],
            # The Jetsons run the nano model only; the 64-bit ARM boxes the arm64 one.
            targets=two_targets([jetsons], [canary, fleet]),
        ),
    )

    ready = wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=120)

    status = ready["status"]
    assert (status["targetCount"], status["compiledCount"]) == (2, 2)
    assert (status["currentStage"], status["devicesOk"]) == ("fleet", "5/5")
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
    assert stage(status, "canary")["devices"]["succeeded"] == len(canary_devices) + 1
    assert stage(status, "fleet")["devices"]["succeeded"] == len(fleet_devices)
    ours = {targets["arm64"]["componentName"]: targets["arm64"]["componentVersion"]}
    assert set(latest_components(sandbox, jetsons)) == {targets["nano"]["componentName"]}
    fleet_components = latest_components(sandbox, fleet)
    assert {n: c["componentVersion"] for n, c in fleet_components.items()} == {
        **{n: c["componentVersion"] for n, c in OTHERS.items()},
        **ours,
    }
    # One compilation job per target, one deployment per group: nothing made twice.
    made = compilation_jobs(sandbox) - jobs_before
    assert made == {t["compilationJobName"] for t in targets.values()}
    history = greengrass.list_deployments(targetArn=fleet_arn, historyFilter="ALL")
    assert len(history["deployments"]) == 2  # the site's, then the merged one

    shown = run_cli(["edge-status", name, "-n", namespace, "-o", "json"], cli_env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert sorted((d["stage"], d["device"], d["status"]) for d in report["devices"]) == sorted(
        [("canary", d, "SUCCEEDED") for d in canary_devices + jetson_devices]
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
    # Deletion takes a pass per step (remove from groups, delete versions, then jobs and
    # compiled models), each reading Greengrass at the operator's 2 calls/s with the other
    # tests' EdgeModels: give it as long as the other edge deletions get.
    wait_gone(edge_models, namespace, name, operator, timeout=180)
    assert latest_components(sandbox, fleet) == OTHERS
    assert latest_components(sandbox, canary) == {}
    for target in targets.values():
        with pytest.raises(greengrass.exceptions.ResourceNotFoundException):
            greengrass.describe_component(arn=target["componentArn"])


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


def test_two_edge_models_on_one_group_keep_each_others_components(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    """Two EdgeModels merge into one thing group's deployment at the same time: the
    operator's per-group lock and its re-read before CreateDeployment keep both; deleting
    one removes only its components, and deletes the compiled models and Neo jobs it made."""
    canary, _ = thing_group(sandbox, "canary", 2)
    names = ("classifier", "detector")
    for name in names:
        edge_models.create(
            namespace, edge_model(name, models, [{"name": "canary", "thingGroups": [canary]}])
        )
    ready = {
        name: wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=180)
        for name in names
    }
    components = {
        name: {t["componentName"]: t["componentVersion"] for t in obj["status"]["targets"]}
        for name, obj in ready.items()
    }
    deployed = {n: c["componentVersion"] for n, c in latest_components(sandbox, canary).items()}
    assert deployed == {**components["classifier"], **components["detector"]}

    detector = ready["detector"]["status"]["targets"]
    edge_models.delete(namespace, "detector")
    wait_gone(edge_models, namespace, "detector", operator, timeout=120)
    deployed = {n: c["componentVersion"] for n, c in latest_components(sandbox, canary).items()}
    assert deployed == components["classifier"]
    jobs = compilation_jobs(sandbox)
    assert not {t["compilationJobName"] for t in detector} & jobs
    s3 = sandbox.client("s3")
    for target in detector:
        bucket, _, key = target["artifactS3Uri"].removeprefix("s3://").partition("/")
        assert s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0) == 0
