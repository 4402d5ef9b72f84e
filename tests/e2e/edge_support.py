"""What the EdgeModel end-to-end files share: thing groups with devices, the components
a group's latest deployment carries, and small readers of an EdgeModel's status."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from tests.e2e.helpers import wait_for_status
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox

# An AWS-published component someone else deployed to the fleet: it must survive.
OTHERS = {"aws.greengrass.Cli": {"componentVersion": "2.12.0"}}


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


def tell_devices(
    sandbox: Sandbox,
    pattern: str,
    outcome: str,
    *,
    only_for: str | None = None,
    except_for: str | None = None,
) -> None:
    """Devices matching `pattern` give `outcome`; with `only_for`, only for deployments
    naming it (a component version), with `except_for` only for those not naming it,
    succeeding with the others."""
    sandbox._admin(
        "POST",
        "devices",
        {"thingName": pattern, "outcome": outcome, "onlyFor": only_for, "exceptFor": except_for},
    )


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


def compilation_jobs(sandbox: Sandbox) -> set[str]:
    """Every Neo compilation job in the sandbox. The sandbox is the test session's: tests
    that ran before on this worker left theirs, with names that may contain this test's
    (`classifier` is in `edge-classifier-...`), so take a set before and compare after."""
    pages = sandbox.client("sagemaker").get_paginator("list_compilation_jobs").paginate()
    return {job["CompilationJobName"] for page in pages for job in page["CompilationJobSummaries"]}


def device_role(sandbox: Sandbox, alias: str, actions: list[str]) -> str:
    """A token exchange role allowed `actions` on every resource, behind role alias `alias`
    (what `serving-operator check` reads for the Greengrass device role); its ARN."""
    iam = sandbox.client("iam")
    role = f"tes-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "credentials.iot.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if actions:
        allowed = {"Effect": "Allow", "Action": actions, "Resource": "*"}
        policy = {"Version": "2012-10-17", "Statement": [allowed]}
        iam.put_role_policy(RoleName=role, PolicyName="tes", PolicyDocument=json.dumps(policy))
    sandbox.client("iot").create_role_alias(roleAlias=alias, roleArn=arn)
    return str(arn)
