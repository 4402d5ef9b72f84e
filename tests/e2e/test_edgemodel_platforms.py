"""EdgeModel end to end, one model per device: each target's component reaches only its own
thing groups, and its manifest's platform keeps it off a device of another architecture.
The sandbox's devices have platforms (its device table), and Greengrass's resolution fails a
device whose platform no manifest of a deployed component meets."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.edge_support import latest_components, reason, thing_group, wait_status
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model

pytestmark = pytest.mark.e2e

AMD64 = {"os": "linux", "architecture": "amd64"}


def _executions(sandbox: Sandbox, thing: str) -> list[dict[str, Any]]:
    iot = sandbox.client("iot")
    summaries: list[dict[str, Any]] = iot.list_job_executions_for_thing(thingName=thing)[
        "executionSummaries"
    ]
    return [
        iot.describe_job_execution(jobId=s["jobId"], thingName=thing)["execution"]
        for s in summaries
    ]


def _components_reaching(sandbox: Sandbox, thing: str) -> set[str]:
    """The components of every deployment that reached the device (ListEffectiveDeployments)."""
    greengrass = sandbox.client("greengrassv2")
    names: set[str] = set()
    for effective in greengrass.list_effective_deployments(coreDeviceThingName=thing)[
        "effectiveDeployments"
    ]:
        deployment = greengrass.get_deployment(deploymentId=effective["deploymentId"])
        names |= set(deployment.get("components", {}))
    return names


def test_each_device_gets_only_its_own_targets_model(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    pis, (pi, stray) = thing_group(sandbox, "pis", 2)
    boxes, (box,) = thing_group(sandbox, "boxes", 1)
    # Sandbox devices are linux/aarch64 unless told: the box is x86_64, and so is a stray
    # device someone put among the Raspberry Pis.
    for thing in (box, stray):
        sandbox._admin(
            "POST", "devices", {"thingName": thing, "outcome": "succeed", "platform": AMD64}
        )
    name = "platforms"
    edge_models.create(
        namespace,
        edge_model(
            name,
            models,
            [
                {
                    "name": "all",
                    "thingGroups": [pis, boxes],
                    # The stray device fails: 2 of 3 devices is what this stage asks.
                    "gate": {"minSuccessPercent": 60},
                }
            ],
            targets=[
                {"name": "pi", "targetDevice": "rasp4b", "thingGroups": [pis]},
                {
                    "name": "box",
                    "targetPlatform": {"os": "LINUX", "arch": "X86_64"},
                    "thingGroups": [boxes],
                },
            ],
        ),
    )

    done = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda o: cluster.is_true(o, "Ready"),
        "Ready",
        timeout=120,
    )
    assert reason(done, "Ready") == "RolledOut"
    names = {t["name"]: t["componentName"] for t in done["status"]["targets"]}
    assert set(latest_components(sandbox, pis)) == {names["pi"]}
    assert set(latest_components(sandbox, boxes)) == {names["box"]}
    assert _components_reaching(sandbox, pi) == {names["pi"]}
    assert _components_reaching(sandbox, box) == {names["box"]}
    assert [e["status"] for e in _executions(sandbox, pi)] == ["SUCCEEDED"]
    assert [e["status"] for e in _executions(sandbox, box)] == ["SUCCEEDED"]
    # rasp4b's manifest says aarch64 (Neo's device table): the x86_64 device in the Pis'
    # group fails its deployment instead of installing a model built for another chip. It
    # used to say only {os: linux}, which every Linux device meets.
    [failed] = _executions(sandbox, stray)
    assert failed["status"] == "FAILED"
    assert "platform" in json_text(failed["statusDetails"]), failed["statusDetails"]


def json_text(value: Any) -> str:
    return str(value)
