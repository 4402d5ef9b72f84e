"""Greengrass v2 in the sandbox (moto has none): component versions, deployments with one
per target, cancel and delete, core devices and their effective deployments."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest
import yaml

from serving_operator.aws.greengrass import GreengrassV2
from serving_operator.aws.ratelimit import TokenBucket
from tests.sandbox.edge import (
    bucket_with,
    create_component,
    execution_statuses,
    group_of_things,
    recipe,
    tell_device,
    thing,
    unique,
)
from tests.sandbox.endpoints import wait_until
from tests.sandbox.shapes import ShapeRecorder
from tests.support.sandbox import Sandbox

ARTIFACT = "components/classifier/1.0.0/model.zip"


def _state(greengrass: Any, arn: str, state: str) -> dict[str, Any]:
    return wait_until(
        lambda: greengrass.describe_component(arn=arn),
        lambda d: d["status"]["componentState"] == state,
        f"{arn} to be {state}",
    )


def _deployable(greengrass: Any, sandbox: Sandbox, name: str | None = None) -> tuple[str, str]:
    """A DEPLOYABLE component version with an S3 artifact: (its name, its ARN)."""
    bucket = bucket_with(sandbox, ARTIFACT)
    name = name or unique("com.example.Classifier")
    arn = create_component(greengrass, recipe(name, artifacts=[f"s3://{bucket}/{ARTIFACT}"]))
    _state(greengrass, arn, "DEPLOYABLE")
    return name, arn


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    response: dict[str, Any] = raised.value.response
    return response


# -- components ------------------------------------------------------------------------------
def test_component_version_goes_from_requested_to_deployable(
    greengrass: Any, sandbox: Sandbox, shapes: ShapeRecorder
) -> None:
    bucket = bucket_with(sandbox, ARTIFACT)
    name = unique("com.example.Classifier")
    created = greengrass.create_component_version(
        inlineRecipe=json.dumps(recipe(name, artifacts=[f"s3://{bucket}/{ARTIFACT}"])).encode()
    )
    assert created["status"]["componentState"] == "REQUESTED"
    described = _state(greengrass, created["arn"], "DEPLOYABLE")
    assert described["platforms"] == [{"attributes": {"os": "linux"}}]
    assert described["publisher"] == "serving-operator tests"
    assert {"CreateComponentVersion", "DescribeComponent"} <= set(shapes.checked)


def test_an_artifact_that_cannot_be_read_is_refused_at_creation(
    greengrass: Any, sandbox: Sandbox
) -> None:
    """Greengrass reads each S3 artifact when the version is created and refuses a missing
    one (or one in another Region) with a ValidationException, making no version (GGv2
    troubleshooting.md, "Specified artifact resource cannot be accessed"; aws-cli#6261)."""
    bucket = bucket_with(sandbox, ARTIFACT)
    present, absent = f"s3://{bucket}/{ARTIFACT}", f"s3://{bucket}/nowhere/model.zip"
    name = unique("com.example.Broken")
    definition = recipe(name, artifacts=[present, absent])
    error = _error(
        lambda: greengrass.create_component_version(inlineRecipe=json.dumps(definition).encode())
    )["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "Invalid Input: Encountered following errors in Artifacts:"
        f" {{{absent} = Specified artifact resource cannot be accessed}}"
    )
    account = sandbox.client("sts").get_caller_identity()["Account"]
    components = f"arn:aws:greengrass:us-east-1:{account}:components:{name}"
    gone = _error(lambda: greengrass.list_component_versions(arn=components))["Error"]
    assert gone["Code"] == "ResourceNotFoundException"  # no version was made
    s3 = sandbox.client("s3")
    elsewhere = unique("edge-eu")
    s3.create_bucket(
        Bucket=elsewhere, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket=elsewhere, Key=ARTIFACT, Body=b"model bytes")
    far = f"s3://{elsewhere}/{ARTIFACT}"
    other = recipe(unique("com.example.Far"), artifacts=[far])
    refused = _error(
        lambda: greengrass.create_component_version(inlineRecipe=json.dumps(other).encode())
    )["Error"]
    assert far in refused["Message"]


def test_yaml_recipe_is_read_and_returned_in_either_format(
    greengrass: Any, shapes: ShapeRecorder
) -> None:
    definition = recipe(
        unique("com.example.Yaml"),
        "2.1.0",
        ComponentDependencies={
            "aws.greengrass.DLRImageClassification": {
                "VersionRequirement": ">=2.1.0 <3.0.0",
                "DependencyType": "HARD",
            }
        },
    )
    created = greengrass.create_component_version(inlineRecipe=yaml.safe_dump(definition).encode())
    as_yaml = greengrass.get_component(arn=created["arn"], recipeOutputFormat="YAML")
    assert yaml.safe_load(as_yaml["recipe"]) == definition
    as_json = greengrass.get_component(arn=created["arn"], recipeOutputFormat="JSON")
    assert json.loads(as_json["recipe"]) == definition
    assert "GetComponent" in shapes.checked


def test_a_version_is_immutable_but_a_repeated_client_token_is_idempotent(
    greengrass: Any,
) -> None:
    body = json.dumps(recipe(unique("com.example.Once"))).encode()
    token = str(uuid.uuid4())
    first = greengrass.create_component_version(inlineRecipe=body, clientToken=token)
    again = greengrass.create_component_version(inlineRecipe=body, clientToken=token)
    assert again["arn"] == first["arn"]
    conflict = _error(lambda: greengrass.create_component_version(inlineRecipe=body))
    assert conflict["Error"]["Code"] == "ConflictException"
    assert conflict["ResponseMetadata"]["HTTPStatusCode"] == 409


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"ComponentVersion": "1.0"}, "semantic version"),
        ({"RecipeFormatVersion": "2019-01-01"}, "RecipeFormatVersion"),
        (
            {
                "Manifests": [
                    {"Artifacts": [{"URI": "s3://bucket/model.tar.gz", "Unarchive": "TAR"}]}
                ]
            },
            "Unarchive",
        ),
        (
            {"ComponentDependencies": {"com.example.Other": {"DependencyType": "MAYBE"}}},
            "DependencyType",
        ),
    ],
)
def test_recipes_greengrass_refuses(
    greengrass: Any, change: dict[str, Any], complaint: str
) -> None:
    definition = {**recipe(unique("com.example.Bad")), **change}
    refused = _error(
        lambda: greengrass.create_component_version(inlineRecipe=json.dumps(definition).encode())
    )
    assert refused["Error"]["Code"] == "ValidationException"
    assert complaint in refused["Error"]["Message"]


def test_components_and_versions_are_listed_newest_first_and_deleted(
    greengrass: Any, shapes: ShapeRecorder
) -> None:
    name = unique("com.example.Listed")
    arns = [create_component(greengrass, recipe(name, v)) for v in ("1.0.0", "1.10.0", "1.2.0")]
    component_arn = arns[0].rsplit(":versions:", 1)[0]
    versions = greengrass.list_component_versions(arn=component_arn)["componentVersions"]
    assert [v["componentVersion"] for v in versions] == ["1.10.0", "1.2.0", "1.0.0"]
    listed = {c["componentName"]: c for c in greengrass.list_components()["components"]}
    assert listed[name]["latestVersion"]["componentVersion"] == "1.10.0"
    greengrass.delete_component(arn=arns[1])
    missing = _error(lambda: greengrass.describe_component(arn=arns[1]))
    assert missing["Error"]["Code"] == "ResourceNotFoundException"
    assert {"ListComponents", "ListComponentVersions"} <= set(shapes.checked)


# -- deployments -----------------------------------------------------------------------------
def test_group_deployment_reaches_every_device_and_stays_active(
    greengrass: Any, iot: Any, sandbox: Sandbox, shapes: ShapeRecorder
) -> None:
    name, _ = _deployable(greengrass, sandbox)
    group, things = group_of_things(iot, 3)
    created = greengrass.create_deployment(
        targetArn=group,
        deploymentName="classifier",
        components={name: {"componentVersion": "1.0.0"}},
        tags={"owner": "edgemodel"},
    )
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: statuses == dict.fromkeys(things, "SUCCEEDED"),
        "every device to succeed",
    )
    deployment = greengrass.get_deployment(deploymentId=created["deploymentId"])
    assert (deployment["deploymentStatus"], deployment["isLatestForTarget"]) == ("ACTIVE", True)
    assert (deployment["iotJobId"], deployment["revisionId"]) == (created["iotJobId"], "1")
    assert deployment["tags"] == {"owner": "edgemodel"}
    effective = greengrass.list_effective_deployments(coreDeviceThingName=things[0])
    assert [
        (e["deploymentId"], e["coreDeviceExecutionStatus"])
        for e in effective["effectiveDeployments"]
    ] == [(created["deploymentId"], "SUCCEEDED")]
    core = greengrass.get_core_device(coreDeviceThingName=things[0])
    assert core["status"] == "HEALTHY"
    in_group = greengrass.list_core_devices(thingGroupArn=group)["coreDevices"]
    assert sorted(d["coreDeviceThingName"] for d in in_group) == sorted(things)
    assert {"CreateDeployment", "GetDeployment", "ListEffectiveDeployments"} <= set(shapes.checked)


def test_a_new_deployment_replaces_the_last_one_for_its_target(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    name, _ = _deployable(greengrass, sandbox)
    group, _ = group_of_things(iot, 1)
    components = {name: {"componentVersion": "1.0.0"}}
    first = greengrass.create_deployment(targetArn=group, components=components)
    second = greengrass.create_deployment(targetArn=group, components=components)

    old = greengrass.get_deployment(deploymentId=first["deploymentId"])
    assert (old["deploymentStatus"], old["isLatestForTarget"]) == ("INACTIVE", False)
    new = greengrass.get_deployment(deploymentId=second["deploymentId"])
    assert (new["deploymentStatus"], new["revisionId"]) == ("ACTIVE", "2")
    assert iot.describe_job(jobId=first["iotJobId"])["job"]["status"] == "CANCELED"

    latest = greengrass.list_deployments(targetArn=group)["deployments"]
    assert [d["deploymentId"] for d in latest] == [second["deploymentId"]]
    everything = greengrass.list_deployments(targetArn=group, historyFilter="ALL")
    assert [d["deploymentId"] for d in everything["deployments"]] == [
        second["deploymentId"],
        first["deploymentId"],
    ]


def test_every_targets_latest_deployment_is_read_for_the_components_it_uses(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    """What deletion reads before DeleteComponent (GreengrassV2.latest_components_of):
    ListDeployments without a targetArn lists every target's latest deployment."""
    name, _ = _deployable(greengrass, sandbox)
    other, _ = _deployable(greengrass, sandbox)
    uses, _ = group_of_things(iot, 1)
    replaced, _ = group_of_things(iot, 1)
    greengrass.create_deployment(targetArn=uses, components={name: {"componentVersion": "1.0.0"}})
    greengrass.create_deployment(
        targetArn=replaced, components={name: {"componentVersion": "1.0.0"}}
    )
    greengrass.create_deployment(
        targetArn=replaced, components={other: {"componentVersion": "1.0.0"}}
    )
    adapter = GreengrassV2(greengrass, TokenBucket(100, 100))
    found = adapter.latest_components_of(frozenset({name}))
    assert found[uses] == {name: "1.0.0"}
    assert replaced not in found  # its latest deployment no longer carries it


def test_only_a_canceled_deployment_can_be_deleted(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    name, _ = _deployable(greengrass, sandbox)
    group, things = group_of_things(iot, 1)
    tell_device(sandbox, things[0], "offline")
    created = greengrass.create_deployment(
        targetArn=group, components={name: {"componentVersion": "1.0.0"}}
    )
    refused = _error(lambda: greengrass.delete_deployment(deploymentId=created["deploymentId"]))
    assert refused["Error"]["Code"] == "ConflictException"

    greengrass.cancel_deployment(deploymentId=created["deploymentId"])
    canceled = greengrass.get_deployment(deploymentId=created["deploymentId"])
    assert canceled["deploymentStatus"] == "CANCELED"
    # The device had not received it: its execution is canceled with the job.
    assert execution_statuses(iot, created["iotJobId"]) == {things[0]: "CANCELED"}

    greengrass.delete_deployment(deploymentId=created["deploymentId"])
    gone = _error(lambda: greengrass.get_deployment(deploymentId=created["deploymentId"]))
    assert gone["Error"]["Code"] == "ResourceNotFoundException"


def test_thing_deployment_completes_with_its_device(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    name, _ = _deployable(greengrass, sandbox)
    target, _ = thing(iot)
    created = greengrass.create_deployment(
        targetArn=target, components={name: {"componentVersion": "1.0.0"}}
    )
    done = wait_until(
        lambda: greengrass.get_deployment(deploymentId=created["deploymentId"]),
        lambda d: d["deploymentStatus"] != "ACTIVE",
        "the deployment to finish",
    )
    assert done["deploymentStatus"] == "COMPLETED"
    assert iot.describe_job(jobId=created["iotJobId"])["job"]["status"] == "COMPLETED"


def test_deploying_to_a_target_that_does_not_exist_is_refused(greengrass: Any) -> None:
    refused = _error(
        lambda: greengrass.create_deployment(
            targetArn="arn:aws:iot:us-east-1:123456789012:thinggroup/never-made",
            components={},
        )
    )
    assert refused["Error"]["Code"] == "ResourceNotFoundException"


# -- what devices make of a deployment ---------------------------------------------------------
def _outcome(greengrass: Any, iot: Any, deployment: dict[str, Any], thing_name: str) -> Any:
    return wait_until(
        lambda: iot.describe_job_execution(jobId=deployment["iotJobId"], thingName=thing_name)[
            "execution"
        ],
        lambda e: e["status"] not in ("QUEUED", "IN_PROGRESS"),
        f"{thing_name} to finish",
    )


def test_a_version_that_is_not_in_the_account_fails_on_the_device(
    greengrass: Any, iot: Any
) -> None:
    group, things = group_of_things(iot, 1)
    created = greengrass.create_deployment(
        targetArn=group, components={unique("com.example.Ghost"): {"componentVersion": "9.9.9"}}
    )
    execution = _outcome(greengrass, iot, created, things[0])
    assert execution["status"] == "FAILED"
    details = execution["statusDetails"]["detailsMap"]
    assert details["detailed-deployment-status"] == "FAILED_NO_STATE_CHANGE"
    effective = greengrass.list_effective_deployments(coreDeviceThingName=things[0])
    entry = effective["effectiveDeployments"][0]
    assert "NO_AVAILABLE_COMPONENT_VERSION" in entry["statusDetails"]["errorStack"]


def test_a_component_without_a_manifest_for_the_device_fails_on_it(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    name = unique("com.example.X86Only")
    x86 = {"os": "linux", "architecture": "amd64"}
    arn = create_component(greengrass, recipe(name, platform=x86))
    _state(greengrass, arn, "DEPLOYABLE")
    group, things = group_of_things(iot, 2)
    tell_device(sandbox, things[1], "succeed", platform={"architecture": "amd64"})
    created = greengrass.create_deployment(
        targetArn=group, components={name: {"componentVersion": "1.0.0"}}
    )
    assert _outcome(greengrass, iot, created, things[0])["status"] == "FAILED"  # aarch64
    assert _outcome(greengrass, iot, created, things[1])["status"] == "SUCCEEDED"


def test_an_artifact_changed_after_the_version_was_made_fails_its_checksum(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    bucket = bucket_with(sandbox, ARTIFACT)
    name = unique("com.example.Drifted")
    arn = create_component(greengrass, recipe(name, artifacts=[f"s3://{bucket}/{ARTIFACT}"]))
    _state(greengrass, arn, "DEPLOYABLE")
    sandbox.client("s3").put_object(Bucket=bucket, Key=ARTIFACT, Body=b"retrained model")
    group, things = group_of_things(iot, 1)
    created = greengrass.create_deployment(
        targetArn=group, components={name: {"componentVersion": "1.0.0"}}
    )
    execution = _outcome(greengrass, iot, created, things[0])
    assert execution["status"] == "FAILED"
    assert "digest" in execution["statusDetails"]["detailsMap"]["deployment-failure-cause"]


@pytest.mark.parametrize(
    ("policy", "told", "status", "detail"),
    [
        ("ROLLBACK", {"outcome": "fail"}, "FAILED", "FAILED_ROLLBACK_COMPLETE"),
        ("DO_NOTHING", {"outcome": "fail"}, "FAILED", "FAILED_ROLLBACK_NOT_REQUESTED"),
        (
            "ROLLBACK",
            {"outcome": "fail", "detailedStatus": "FAILED_UNABLE_TO_ROLLBACK"},
            "FAILED",
            "FAILED_UNABLE_TO_ROLLBACK",
        ),
        ("ROLLBACK", {"outcome": "reject"}, "REJECTED", "REJECTED"),
    ],
)
def test_device_outcomes_told_through_the_admin_api(
    greengrass: Any,
    iot: Any,
    sandbox: Sandbox,
    policy: str,
    told: dict[str, str],
    status: str,
    detail: str,
) -> None:
    name, _ = _deployable(greengrass, sandbox)
    group, things = group_of_things(iot, 2)
    tell_device(sandbox, things[0], **told)
    created = greengrass.create_deployment(
        targetArn=group,
        components={name: {"componentVersion": "1.0.0"}},
        deploymentPolicies={"failureHandlingPolicy": policy},
    )
    execution = _outcome(greengrass, iot, created, things[0])
    assert execution["status"] == status
    assert execution["statusDetails"]["detailsMap"]["detailed-deployment-status"] == detail
    assert _outcome(greengrass, iot, created, things[1])["status"] == "SUCCEEDED"
    # A thing group's deployment stays ACTIVE whatever its devices do.
    described = greengrass.get_deployment(deploymentId=created["deploymentId"])
    assert described["deploymentStatus"] == "ACTIVE"
