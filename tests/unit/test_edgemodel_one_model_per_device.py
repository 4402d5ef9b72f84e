"""One model per device (docs/edgemodel.md): every Neo target Greengrass runs has a platform
of its own, and the planner deploys nothing that would put two targets' models on a device
or that AWS would refuse by name."""

from __future__ import annotations

from dataclasses import replace

from serving_operator.api.edgemodel import NEO_TARGET_DEVICES, NO_GREENGRASS_DEVICES
from serving_operator.planning.edgemodel.actions import CreateDeployment
from serving_operator.planning.edgemodel.desired import (
    DEVICE_ARCHITECTURES,
    DesiredEdgeModel,
    desired_edge_model,
)
from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.edgemodel.observed import EdgeModelObservation, EdgeModelReads
from serving_operator.planning.edgemodel.planner import plan_edge_model, plan_from_observation
from serving_operator.planning.outcome import OutcomeKind, Plan
from tests.unit.test_edgemodel_planner import actions, at, compiled, desired, memory_of, spec
from tests.unit.test_edgemodel_rollback import running

PER_TARGET = {
    "targets": [
        {"name": "nano", "targetDevice": "jetson_nano", "thingGroups": ["canary-nano"]},
        {
            "name": "arm",
            "targetPlatform": {"os": "LINUX", "arch": "ARM64"},
            "thingGroups": ["canary-arm"],
        },
    ],
    "rollout": {"stages": [{"name": "canary", "thingGroups": ["canary-nano", "canary-arm"]}]},
}


def test_every_device_greengrass_runs_has_an_architecture() -> None:
    # Unmapped devices got {"os": "linux"} alone, which matches a core device of any
    # architecture: a Jetson's CUDA model on an x86 box.
    runnable = set(NEO_TARGET_DEVICES) - set(NO_GREENGRASS_DEVICES)
    assert runnable <= set(DEVICE_ARCHITECTURES), sorted(runnable - set(DEVICE_ARCHITECTURES))
    model = desired(targets=[{"name": "win", "targetDevice": "x86_win64"}])
    assert model.targets[0].platform == {"os": "windows", "architecture": "amd64"}
    model = desired(targets=[{"name": "box", "targetDevice": "deeplens"}])
    assert model.targets[0].platform == {"os": "linux", "architecture": "amd64"}


def observed_for(
    members: dict[str, set[str]] | None,
) -> tuple[DesiredEdgeModel, EdgeModelObservation]:
    model = desired(**PER_TARGET)
    observed = compiled(model)
    observed = replace(
        observed,
        groups={
            "canary-nano": running("canary-nano", {}),
            "canary-arm": running("canary-arm", {}),
        },
        members=None if members is None else {g: frozenset(t) for g, t in members.items()},
    )
    return model, observed


def test_a_device_in_groups_of_two_targets_stalls_before_any_deployment() -> None:
    # A child group of canary-nano that is also in canary-arm, or one thing added to both:
    # membership (child groups included) shows the device CEL cannot see.
    model, observed = observed_for({"canary-nano": {"jetson-1", "pi-1"}, "canary-arm": {"pi-1"}})
    first = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    plan = plan_from_observation(model, observed, memory_of(first), now=at(1.0), promotion=None)
    for each in (first, plan):
        assert (each.outcome.kind, each.outcome.reason) == (
            OutcomeKind.STALLED,
            "TargetsShareDevices",
        )
        assert actions(each, CreateDeployment) == []
    assert "device pi-1" in plan.outcome.message
    assert "target nano" in plan.outcome.message
    assert "target arm" in plan.outcome.message


def test_targets_on_devices_of_their_own_deploy() -> None:
    model, observed = observed_for({"canary-nano": {"jetson-1"}, "canary-arm": {"pi-1"}})
    first = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    plan = plan_from_observation(model, observed, memory_of(first), now=at(1.0), promotion=None)
    deployed = {d.thing_group: set(d.components) for d in actions(plan, CreateDeployment)}
    names = {t.name: t.component_name for t in model.targets}
    assert deployed == {"canary-nano": {names["nano"]}, "canary-arm": {names["arm"]}}


def test_a_default_component_name_beyond_128_characters_stalls_without_a_call() -> None:
    # serving.<namespace>.<name>-<target>: a 63-character namespace and a long name exceed
    # greengrassv2's ComponentNameString (max 128); every publish would be refused.
    model = desired_edge_model(spec(), namespace="n" * 63, name="m" * 60)
    plan = plan_edge_model(model, EdgeModelReads(), Memory(), now=at(0.0), promotion=None)
    assert isinstance(plan, Plan)
    assert (plan.outcome.reason, plan.actions) == ("ComponentNameTooLong", ())
    assert "spec.component.name" in plan.outcome.message
