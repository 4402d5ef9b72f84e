"""EdgeModel end to end at the devices: a device shared with a group on another version, offline
devices and the stage deadline, and someone else's deployment that drops ours at rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.edge_support import (
    OTHERS,
    latest_components,
    reason,
    stage,
    tell_devices,
    thing_group,
    wait_status,
)
from tests.e2e.helpers import wait_for_condition, wait_for_events
from tests.sandbox.endpoints import wait_until
from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.operator import OperatorProcess
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model

pytestmark = pytest.mark.e2e


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
    # Core devices that registered (they ran someone else's deployment), one of which is
    # offline now: the stage waits for it. (A thing that never connected is no core device
    # and is not waited for.)
    greengrass = sandbox.client("greengrassv2")
    arn = sandbox.client("iot").describe_thing_group(thingGroupName=canary)["thingGroupArn"]
    site = greengrass.create_deployment(targetArn=arn, deploymentName="site", components=OTHERS)
    wait_until(
        lambda: sandbox.client("iot").list_job_executions_for_job(jobId=site["iotJobId"]),
        lambda listed: (
            [s["jobExecutionSummary"]["status"] for s in listed["executionSummaries"]]
            == ["SUCCEEDED"] * len(devices)
        ),
        "the canary's devices to run someone else's deployment",
    )
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
    # Theirs dropped ours from the group. Read that deployment itself: the operator rechecks
    # every 2 s and may already have merged ours again into a newer one.
    assert greengrass.get_deployment(deploymentId=theirs)["components"] == SITE

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
    events = wait_for_events(
        edge_models,
        AT_REST_NAMESPACE,
        name,
        operator,
        lambda events: any(e.reason == "DriftCorrected" for e in events),
        "DriftCorrected",
    )
    drift = [e for e in events if e.reason == "DriftCorrected"]
    assert len(drift) == 1, drift
    assert drift[0].type == "Warning"
    assert theirs in drift[0].message
    assert fleet in drift[0].message
    # Ours, theirs, ours merged into theirs: merged once, however many rechecks since.
    history = greengrass.list_deployments(targetArn=fleet_arn, historyFilter="ALL")
    assert len(history["deployments"]) == 3
