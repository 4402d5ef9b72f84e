"""Building edge fixtures in the sandbox: artifacts, things and groups, recipes, and telling
devices what to do through the admin API."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

from tests.support.sandbox import FAST_EDGE, Sandbox

__all__ = ["FAST_EDGE"]

ROLE = "arn:aws:iam::123456789012:role/NeoRole"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def admin(sandbox: Sandbox, method: str, path: str, payload: Any = None) -> Any:
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/{path}",
        data=json.dumps(payload).encode() if payload is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def tell_device(sandbox: Sandbox, thing_name: str, outcome: str, **extra: Any) -> None:
    """What the device(s) matching `thing_name` (a glob) do with job executions."""
    admin(sandbox, "POST", "devices", {"thingName": thing_name, "outcome": outcome, **extra})


def bucket_with(sandbox: Sandbox, *keys: str, body: bytes = b"model bytes") -> str:
    s3 = sandbox.client("s3")
    bucket = unique("edge")
    s3.create_bucket(Bucket=bucket)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return bucket


def group_of_things(iot: Any, count: int, prefix: str = "cam") -> tuple[str, list[str]]:
    """A thing group (its ARN) with `count` new things in it (their names)."""
    group = unique("fleet")
    arn: str = iot.create_thing_group(thingGroupName=group)["thingGroupArn"]
    names = []
    for _ in range(count):
        name = unique(prefix)
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName=group, thingName=name)
        names.append(name)
    return arn, names


def thing(iot: Any) -> tuple[str, str]:
    name = unique("gw")
    arn: str = iot.create_thing(thingName=name)["thingArn"]
    return arn, name


def recipe(
    name: str,
    version: str = "1.0.0",
    artifacts: list[str] | None = None,
    platform: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": name,
        "ComponentVersion": version,
        "ComponentDescription": "An image classifier compiled by Neo",
        "ComponentPublisher": "serving-operator tests",
        "Manifests": [
            {
                "Platform": platform or {"os": "linux"},
                "Artifacts": [{"URI": uri, "Unarchive": "NONE"} for uri in artifacts or []],
                "Lifecycle": {"Run": "python3 {artifacts:path}/serve.py"},
            }
        ],
        **extra,
    }


def create_component(greengrass: Any, definition: dict[str, Any]) -> str:
    arn: str = greengrass.create_component_version(inlineRecipe=json.dumps(definition).encode())[
        "arn"
    ]
    return arn


def counters(job: dict[str, Any]) -> dict[str, int]:
    details = job["jobProcessDetails"]
    return {key: value for key, value in details.items() if key.startswith("numberOf")}


def execution_statuses(iot: Any, job_id: str) -> dict[str, str]:
    """Thing name -> its execution's status."""
    summaries = iot.list_job_executions_for_job(jobId=job_id)["executionSummaries"]
    return {s["thingArn"].rsplit("/", 1)[-1]: s["jobExecutionSummary"]["status"] for s in summaries}
