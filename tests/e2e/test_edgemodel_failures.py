"""EdgeModel end to end when things go wrong: a failed compilation, a stage aborted by its
devices, and the roll back of an aborted stage to the version its groups ran before."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.edge_support import (
    latest_components,
    reason,
    stage,
    tell_devices,
    thing_group,
    wait_status,
)
from tests.e2e.helpers import wait_for_condition
from tests.support import cluster, processes
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model, two_targets

pytestmark = pytest.mark.e2e


def test_a_failed_compilation_stalls_its_target_while_the_other_rolls_out(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, _ = thing_group(sandbox, "canary", 2)
    jetsons, _ = thing_group(sandbox, "jetsons", 1)
    name = f"partial-{uuid.uuid4().hex[:6]}"
    sandbox._admin(
        "POST",
        "compilation-failures",
        {"namePattern": f"{name}-nano-*", "reason": "ClientError: InputConfiguration: bad shape"},
    )
    edge_models.create(
        namespace,
        edge_model(
            name,
            models,
            [{"name": "canary", "thingGroups": [canary, jetsons]}],
            targets=two_targets([jetsons], [canary]),
        ),
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


def test_a_component_version_greengrass_refuses_fails_its_targets_with_aws_message(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    """Greengrass reads every artifact at CreateComponentVersion and refuses one it cannot
    access, e.g. in a bucket of another Region (GGv2 troubleshooting, "Specified artifact
    resource cannot be accessed"): each target is Failed with that message, a Warning Event
    says so, and the resource is Stalled with reason ComponentRefused (not AwsRejected)."""
    canary, _ = thing_group(sandbox, "canary", 1)
    elsewhere = f"edge-eu-{uuid.uuid4().hex[:8]}"
    sandbox.client("s3").create_bucket(
        Bucket=elsewhere, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    name = f"refused-{uuid.uuid4().hex[:6]}"
    edge_models.create(
        namespace,
        edge_model(
            name,
            models,
            [{"name": "canary", "thingGroups": [canary]}],
            outputS3Uri=f"s3://{elsewhere}/compiled",
        ),
    )

    stalled = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda o: reason(o, "Stalled") == "ComponentRefused",
        "Stalled with ComponentRefused",
        timeout=120,
    )

    targets = {t["name"]: t for t in stalled["status"]["targets"]}
    for target in targets.values():
        assert "Specified artifact resource cannot be accessed" in target["failureReason"]
    refused = {r["componentName"] for r in stalled["status"]["refusedVersions"]}
    assert refused == {t["componentName"] for t in targets.values()}
    assert latest_components(sandbox, canary) == {}
    processes.wait_until(
        lambda: any(e.reason == "ComponentRefused" for e in edge_models.events(namespace, name)),
        timeout=30,
        interval=0.25,
        what="a ComponentRefused Event",
        log=operator.log,
    )


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
                {
                    "name": "canary",
                    "thingGroups": [canary],
                    "abortCriteria": criteria,
                    "maximumPerMinute": 50,
                    "inProgressTimeoutMinutes": 30,
                },
                {"name": "fleet", "thingGroups": [fleet]},
            ],
            rollout_extra={"onFailure": "Halt"},
        ),
    )

    stalled = wait_for_condition(edge_models, namespace, name, "Stalled", operator, timeout=120)

    assert reason(stalled, "Stalled") == "StageAborted"
    # Where AWS acts: the stage's abort criteria, rollout rate and timeout are what the
    # group's deployment and its IoT job carry, and IoT itself canceled the job.
    canary_arn = sandbox.client("iot").describe_thing_group(thingGroupName=canary)["thingGroupArn"]
    greengrass = sandbox.client("greengrassv2")
    [latest] = greengrass.list_deployments(targetArn=canary_arn)["deployments"]
    deployment = greengrass.get_deployment(deploymentId=latest["deploymentId"])
    expected = {
        "jobExecutionsRolloutConfig": {"maximumPerMinute": 50},
        "abortConfig": {"criteriaList": [{**c, "action": "CANCEL"} for c in criteria]},
        "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
    }
    assert deployment["iotJobConfiguration"] == expected
    job = sandbox.client("iot").describe_job(jobId=deployment["iotJobId"])["job"]
    assert job["jobExecutionsRolloutConfig"] == expected["jobExecutionsRolloutConfig"]
    assert job["timeoutConfig"] == expected["timeoutConfig"]
    assert [
        {k: c[k] for k in ("failureType", "thresholdPercentage", "minNumberOfExecutedThings")}
        for c in job["abortConfig"]["criteriaList"]
    ] == criteria
    assert (job["status"], job.get("reasonCode")) == ("CANCELED", "ABORTED")
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
    body = edge_model(
        name,
        models,
        [
            {"name": "canary", "thingGroups": [canary], "abortCriteria": criteria},
            {"name": "fleet", "thingGroups": [fleet]},
        ],
    )
    edge_models.create(namespace, body)
    first = wait_for_condition(edge_models, namespace, name, "Ready", operator, timeout=120)
    v1 = {t["componentName"]: t["componentVersion"] for t in first["status"]["targets"]}
    assert {n: c["componentVersion"] for n, c in latest_components(sandbox, canary).items()} == v1

    # The next version breaks half of the canary devices; the version before it runs there
    # again (a roll back is judged by its devices: RolledBack only once they all took it).
    # The next version's name is chosen by the clock when the operator first sees it, so
    # the devices fail whatever does not name v1's.
    change = {"component": {"environment": {"THRESHOLD": "0.9"}}}
    (v1_version,) = set(v1.values())
    tell_devices(sandbox, devices[0], "fail", except_for=v1_version)
    tell_devices(sandbox, devices[1], "fail", except_for=v1_version)
    edge_models.patch_spec(namespace, name, change)

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
    assert status["rollback"]["devices"]["succeeded"] == 4  # every canary device took it
    assert status["rollback"]["devices"]["failed"] == 0
    # The aborted stage says which devices failed and why.
    failed = {d["thingName"]: d for d in stage(status, "canary")["failedDevices"]}
    assert set(failed) <= {devices[0], devices[1]}
    assert failed
    assert all(d["cause"] for d in failed.values())
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
