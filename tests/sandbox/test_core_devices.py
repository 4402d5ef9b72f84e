"""Sandbox core devices that run recipes for real (sandbox/nucleus.py): the manifest that fits
the device's platform, artifacts from S3 (ZIP unarchived), recipe variables, Install and Run
as processes, a step that exits non-zero breaking the component and failing the execution
with the nucleus' details, and public components only in versions AWS published.

Each test's scripts write into a folder of the test's own (given through the component's
configuration, so `{configuration:/Out}` is substituted too): what the device ran is read
from there."""

from __future__ import annotations

import io
import json
import urllib.error
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.edge import (
    FAST_EDGE,
    admin,
    bucket_with,
    create_component,
    group_of_things,
    tell_device,
    unique,
)
from tests.sandbox.endpoints import wait_until
from tests.support import processes
from tests.support.sandbox import Sandbox

AMD64 = {"os": "linux", "architecture": "amd64"}
SCRIPTS_SETTLE = 0.5
"""deviceRunSettleSeconds for scripts that end at once."""


@pytest.fixture
def clients(edge_clients: dict[str, Any], sandbox_settings: Callable[..., None]) -> Any:
    sandbox_settings(**FAST_EDGE, deviceRunSettleSeconds=SCRIPTS_SETTLE)
    return edge_clients


def zipped(files: dict[str, str]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return raw.getvalue()


def upload(sandbox: Sandbox, bucket: str, key: str, body: bytes) -> str:
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def component(
    greengrass: Any,
    lifecycle: dict[str, Any],
    *,
    artifacts: list[dict[str, str]] | None = None,
    platform: dict[str, str] | None = None,
    manifests: list[dict[str, Any]] | None = None,
    dependencies: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """A DEPLOYABLE component version: (its name, its version)."""
    name = unique("com.example.Device")
    definition: dict[str, Any] = {
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": name,
        "ComponentVersion": "1.0.0",
        "ComponentConfiguration": {"DefaultConfiguration": configuration or {"Out": "/nowhere"}},
        "Manifests": manifests
        or [
            {
                "Platform": platform or {"os": "linux"},
                "Artifacts": artifacts or [],
                "Lifecycle": lifecycle,
            }
        ],
    }
    if dependencies:
        definition["ComponentDependencies"] = dependencies
    arn = create_component(greengrass, definition)
    wait_until(
        lambda: greengrass.describe_component(arn=arn),
        lambda d: d["status"]["componentState"] == "DEPLOYABLE",
        f"{arn} to be DEPLOYABLE",
    )
    return name, "1.0.0"


def deploy_to_device(
    sandbox: Sandbox,
    greengrass: Any,
    iot: Any,
    components: dict[str, dict[str, Any]],
    *,
    platform: dict[str, str] | None = None,
    policy: str = "ROLLBACK",
    timeout: float = 30,
) -> tuple[str, dict[str, Any]]:
    """Deploy to a new group of one device that runs lifecycles; (the device, its execution
    once it ended)."""
    group, (device,) = group_of_things(iot, 1, prefix="core")
    tell_device(sandbox, device, "succeed", runLifecycle=True, platform=platform or AMD64)
    created = greengrass.create_deployment(
        targetArn=group,
        components=components,
        deploymentPolicies={"failureHandlingPolicy": policy},
    )
    execution = wait_until(
        lambda: iot.describe_job_execution(jobId=created["iotJobId"], thingName=device)[
            "execution"
        ],
        lambda e: e["status"] in ("SUCCEEDED", "FAILED", "TIMED_OUT", "REJECTED"),
        f"{device} to finish the deployment",
        timeout,
    )
    return device, execution


def configured(out: Path, version: str = "1.0.0", **more: Any) -> dict[str, Any]:
    return {
        "componentVersion": version,
        "configurationUpdate": {"merge": json.dumps({"Out": str(out), **more})},
    }


def details(execution: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = execution["statusDetails"]["detailsMap"]
    return found


# -- lifecycle steps and recipe variables ------------------------------------------------------
def test_install_and_run_really_run_with_artifacts_and_recipe_variables(
    sandbox: Sandbox, greengrass: Any, iot: Any, tmp_path: Path
) -> None:
    bucket = bucket_with(sandbox)
    app = upload(
        sandbox,
        bucket,
        "app/tool.zip",
        zipped({"bin/hello.sh": 'echo "$1 from $(basename "$PWD")" > "$2"\n'}),
    )
    data = upload(sandbox, bucket, "app/data.txt", b"model weights\n")
    name, version = component(
        greengrass,
        {
            "Install": (
                "cp {artifacts:path}/data.txt {configuration:/Out}/installed.txt"
                " && echo {configuration:/Nested/Level} {iot:thingName}"
                " > {configuration:/Out}/variables.txt"
            ),
            "Setenv": {"GREETING": "{configuration:/Greeting}"},
            "Run": 'sh {artifacts:decompressedPath}/tool/bin/hello.sh "$GREETING"'
            " {configuration:/Out}/ran.txt",
        },
        artifacts=[{"URI": app, "Unarchive": "ZIP"}, {"URI": data}],
        configuration={"Out": "/nowhere", "Greeting": "hi", "Nested": {"Level": 3}},
    )
    device, execution = deploy_to_device(
        sandbox, greengrass, iot, {name: configured(tmp_path, version, Greeting="hello")}
    )
    assert execution["status"] == "SUCCEEDED", execution
    assert details(execution) == {"detailed-deployment-status": "SUCCESSFUL"}
    assert (tmp_path / "installed.txt").read_text() == "model weights\n"
    assert (tmp_path / "variables.txt").read_text().split() == ["3", device]
    # Run ran in the component's own work directory, with the merged configuration.
    assert (tmp_path / "ran.txt").read_text() == f"hello from {name}\n"


@pytest.mark.parametrize(
    ("lifecycle", "policy", "detailed"),
    [
        ({"Install": "exit 3", "Run": "true"}, "ROLLBACK", "FAILED_ROLLBACK_COMPLETE"),
        ({"Run": "echo starting; exit 1"}, "DO_NOTHING", "FAILED_ROLLBACK_NOT_REQUESTED"),
    ],
    ids=["install", "run"],
)
def test_a_step_that_exits_non_zero_breaks_the_component_and_fails_the_execution(
    sandbox: Sandbox,
    greengrass: Any,
    iot: Any,
    tmp_path: Path,
    lifecycle: dict[str, str],
    policy: str,
    detailed: str,
) -> None:
    name, version = component(greengrass, lifecycle)
    device, execution = deploy_to_device(
        sandbox, greengrass, iot, {name: configured(tmp_path, version)}, policy=policy
    )
    assert execution["status"] == "FAILED", execution
    assert details(execution) == {
        "detailed-deployment-status": detailed,
        "deployment-failure-cause": f"Service {name} in broken state after deployment",
        "deployment-error-stack": json.dumps(
            ["DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN"]
        ),
        "deployment-error-types": json.dumps(["USER_COMPONENT_ERROR"]),
    }
    health = greengrass.get_core_device(coreDeviceThingName=device)["status"]
    # Rolled back, the device runs what it ran before; left as it is, it has a broken one.
    assert health == ("HEALTHY" if policy == "ROLLBACK" else "UNHEALTHY")


def test_a_run_that_keeps_running_is_running_and_a_later_crash_makes_the_device_unhealthy(
    sandbox: Sandbox, greengrass: Any, iot: Any, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    name, version = component(
        greengrass,
        {"Run": f"while [ ! -e {stop} ]; do sleep 0.05; done; exit 4"},
    )
    device, execution = deploy_to_device(
        sandbox, greengrass, iot, {name: configured(tmp_path, version)}
    )
    assert execution["status"] == "SUCCEEDED", execution
    assert greengrass.get_core_device(coreDeviceThingName=device)["status"] == "HEALTHY"
    stop.touch()
    wait_until(
        lambda: greengrass.get_core_device(coreDeviceThingName=device),
        lambda d: d["status"] == "UNHEALTHY",
        f"{device} to be UNHEALTHY once its component exited 4",
    )


def test_the_device_uses_the_first_manifest_its_platform_meets(
    sandbox: Sandbox, greengrass: Any, iot: Any, tmp_path: Path
) -> None:
    def writes(marker: str) -> dict[str, str]:
        return {"Run": f"touch {{configuration:/Out}}/{marker}"}

    name, version = component(
        greengrass,
        {},
        manifests=[
            {"Platform": {"os": "linux", "architecture": "aarch64"}, "Lifecycle": writes("arm")},
            {
                "Platform": {"os": "linux", "architecture": "/amd64|x86/", "neo.target": "ml_c5"},
                "Lifecycle": writes("ml_c5"),
            },
            {"Platform": {"os": "linux", "architecture": "*"}, "Lifecycle": writes("any")},
        ],
    )
    platform = {**AMD64, "neo.target": "ml_c5"}
    _, execution = deploy_to_device(
        sandbox, greengrass, iot, {name: configured(tmp_path, version)}, platform=platform
    )
    assert execution["status"] == "SUCCEEDED", execution
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml_c5"]


# -- variant.DLR and the public components ---------------------------------------------------
DLR = {"variant.DLR": {"VersionRequirement": ">=1.6.0 <2.0.0", "DependencyType": "HARD"}}
IMPORTS_NUMPY = 'python3 -c "import numpy" && touch {configuration:/Out}/numpy'


@pytest.mark.parametrize("activated", [True, False], ids=["activated", "system-python"])
def test_variant_dlr_installs_an_environment_a_run_step_must_activate(
    sandbox: Sandbox,
    greengrass: Any,
    iot: Any,
    tmp_path: Path,
    activated: bool,
    sandbox_settings: Callable[..., None],
) -> None:
    # A Run step that fails does so only once Python has tried the import: on a busy machine
    # that takes longer than the short settle the other scripts use, and the nucleus (like the
    # sandbox) reports a Run step RUNNING once it outlives the settle.
    sandbox_settings(deviceRunSettleSeconds=5.0)
    activate = ". {variant.DLR:configuration:/MLRootPath}/greengrass_ml_dlr_venv/bin/activate"
    run = f"{activate} && {IMPORTS_NUMPY}" if activated else IMPORTS_NUMPY
    name, version = component(greengrass, {"Run": run}, dependencies=DLR)
    _, execution = deploy_to_device(sandbox, greengrass, iot, {name: configured(tmp_path, version)})
    if activated:
        assert execution["status"] == "SUCCEEDED", execution
        # Run is a long-lived process: the nucleus reports it RUNNING once started, and the
        # script may still be importing NumPy then (slowly, on a busy machine).
        processes.wait_until(
            lambda: (tmp_path / "numpy").exists(), timeout=60, what="the Run step to import NumPy"
        )
    else:
        # The device's own python3 has no NumPy: only variant.DLR's environment does.
        assert execution["status"] == "FAILED", execution
        assert not (tmp_path / "numpy").exists()


@pytest.mark.parametrize(
    ("dependency", "requirement"),
    [("variant.DRL", ">=1.6.0 <2.0.0"), ("variant.DLR", ">=9.0.0"), ("variant.DLR", "1.6.13")],
    ids=["typo", "impossible", "unpublished"],
)
def test_a_public_dependency_aws_never_published_fails_as_on_a_device(
    sandbox: Sandbox, greengrass: Any, iot: Any, tmp_path: Path, dependency: str, requirement: str
) -> None:
    name, version = component(
        greengrass,
        {"Run": "true"},
        dependencies={dependency: {"VersionRequirement": requirement}},
    )
    _, execution = deploy_to_device(sandbox, greengrass, iot, {name: configured(tmp_path, version)})
    assert execution["status"] == "FAILED", execution
    assert details(execution)["detailed-deployment-status"] == "FAILED_NO_STATE_CHANGE"
    assert details(execution)["deployment-failure-cause"].startswith(
        "NoAvailableComponentVersionException"
    )


def test_a_public_component_deployed_at_a_version_aws_never_published_fails(
    sandbox: Sandbox, greengrass: Any, iot: Any
) -> None:
    _, execution = deploy_to_device(
        sandbox, greengrass, iot, {"variant.DLR": {"componentVersion": "1.5.0"}}
    )
    assert execution["status"] == "FAILED", execution
    assert "NoAvailableComponentVersionException" in details(execution)["deployment-failure-cause"]


def test_without_run_lifecycle_a_device_only_does_what_it_is_told(
    sandbox: Sandbox, greengrass: Any, iot: Any, tmp_path: Path
) -> None:
    """The default (runLifecycles false): the device table's outcome, no process."""
    name, version = component(greengrass, {"Run": "touch {configuration:/Out}/ran; exit 1"})
    group, (device,) = group_of_things(iot, 1, prefix="told")
    created = greengrass.create_deployment(
        targetArn=group, components={name: configured(tmp_path, version)}
    )
    execution = wait_until(
        lambda: iot.describe_job_execution(jobId=created["iotJobId"], thingName=device)[
            "execution"
        ],
        lambda e: e["status"] == "SUCCEEDED",
        f"{device} to succeed as told",
    )
    assert details(execution) == {"detailed-deployment-status": "SUCCESSFUL"}
    assert not (tmp_path / "ran").exists()


def test_the_run_lifecycles_setting_is_a_boolean(
    sandbox: Sandbox, sandbox_settings: Callable[..., None]
) -> None:
    sandbox_settings(runLifecycles=True)
    assert admin(sandbox, "GET", "settings")["runLifecycles"] is True
    sandbox_settings(runLifecycles=False)
    assert admin(sandbox, "GET", "settings")["runLifecycles"] is False
    with pytest.raises(urllib.error.HTTPError) as refused:
        admin(sandbox, "POST", "settings", {"runLifecycles": "yes"})
    assert refused.value.code == 400
