"""Thing groups that share devices must not ask a device for two versions of one component:
the planner stalls before such a deployment; the reconcile shell only reads the members."""

from __future__ import annotations

from dataclasses import replace

from serving_operator.planning.edgemodel.actions import CreateDeployment
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel
from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.edgemodel.observed import EdgeModelObservation, ObservedDeployment
from serving_operator.planning.edgemodel.planner import plan_from_observation
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler
from tests.support.fake_aws import FakeAws, version_arn
from tests.unit.test_edgemodel_planner import (
    actions,
    at,
    compiled,
    desired,
    memory_of,
    recorded_versions,
    spec,
)
from tests.unit.test_edgemodel_rollback import older, running


def observed_with(
    model: DesiredEdgeModel, members: dict[str, set[str]] | None
) -> EdgeModelObservation:
    """The fleet runs an older version of ours; the canary runs nothing of ours yet."""
    observed = compiled(model)
    observed = replace(
        observed,
        groups={
            **observed.groups,
            "canary": running("canary", {}),
            "fleet": running("fleet", older(model)),
        },
    )
    if members is None:
        return observed
    return replace(observed, members={g: frozenset(t) for g, t in members.items()})


def test_a_device_in_a_group_running_another_version_stalls_the_stage() -> None:
    model = desired()
    observed = observed_with(model, {"canary": {"dev-1", "dev-2"}, "fleet": {"dev-2", "dev-3"}})
    plan = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    stage = plan.findings.current_stage
    assert (plan.outcome.kind, plan.outcome.reason) == (OutcomeKind.STALLED, "SharedDeviceConflict")
    assert actions(plan, CreateDeployment) == []
    assert stage == "canary"
    for named in ("device dev-2", "canary and fleet", "1.0.7"):
        assert named in plan.outcome.message
    assert any(t.component_version in plan.outcome.message for t in model.targets)


def recorded(model: DesiredEdgeModel, observed: EdgeModelObservation) -> Memory:
    """The memory of the pass that recorded what the first stage's groups run (write-ahead):
    the next pass deploys."""
    plan = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    assert actions(plan, CreateDeployment) == []
    return memory_of(plan)


def test_groups_without_shared_devices_deploy() -> None:
    model = desired()
    observed = observed_with(model, {"canary": {"dev-1"}, "fleet": {"dev-2", "dev-3"}})
    memory = recorded(model, observed)
    plan = plan_from_observation(model, observed, memory, now=at(1.0), promotion=None)
    assert [d.thing_group for d in actions(plan, CreateDeployment)] == ["canary"]


def test_groups_of_one_stage_are_updated_together_and_may_share_devices() -> None:
    model = desired(rollout={"stages": [{"name": "all", "thingGroups": ["canary", "fleet"]}]})
    observed = observed_with(model, {"canary": {"dev-1", "dev-2"}, "fleet": {"dev-2"}})
    memory = recorded(model, observed)
    plan = plan_from_observation(model, observed, memory, now=at(1.0), promotion=None)
    assert sorted(d.thing_group for d in actions(plan, CreateDeployment)) == ["canary", "fleet"]


def test_the_same_version_elsewhere_or_none_of_ours_is_no_conflict() -> None:
    model = desired()
    same = {t.component_name: {"componentVersion": t.component_version} for t in model.targets}
    for fleet in (running("fleet", same), running("fleet", {"com.example.Other": {}})):
        observed = replace(
            observed_with(model, {"canary": {"dev-1"}, "fleet": {"dev-1"}}),
            groups={**compiled(model).groups, "canary": running("canary", {}), "fleet": fleet},
        )
        memory = recorded(model, observed)
        plan = plan_from_observation(model, observed, memory, now=at(1.0), promotion=None)
        assert [d.thing_group for d in actions(plan, CreateDeployment)] == ["canary"]


def test_the_shell_reads_members_only_when_a_pass_would_deploy() -> None:
    desired_spec = spec()
    model = desired()
    aws = FakeAws(
        compilations=dict(compiled(model).compilations),
        components={
            version_arn(t.component_name, t.component_version): c
            for t in model.targets
            if (c := compiled(model).components[(t.component_name, t.component_version)])
        },
        groups={"canary", "fleet"},
        members={"canary": {"dev-1", "dev-2"}, "fleet": {"dev-2"}},
        deployments={
            "fleet": ObservedDeployment("d-f", "1", "j-f", "ACTIVE", "fleet", older(model))
        },
    )
    reconciler = EdgeModelReconciler(aws.clients())
    first = reconciler.reconcile(
        desired_spec,
        namespace="ml",
        name="classifier",
        memory=Memory(versions=recorded_versions(model)),
        annotations={},
        now=at(0.0),
    )
    # The pass that only records what the canary runs would deploy nothing: no member reads.
    assert (first.outcome.reason, aws.writes) == ("RollingOut", [])
    assert "ListThingsInThingGroup" not in aws.operations
    result = reconciler.reconcile(
        desired_spec,
        namespace="ml",
        name="classifier",
        memory=first.memory,
        annotations={},
        now=at(1.0),
    )
    assert result.outcome.reason == "SharedDeviceConflict"
    assert "dev-2" in result.outcome.message
    assert aws.writes == []
    assert sorted(d for op, d in aws.calls if op == "ListThingsInThingGroup") == [
        "canary",
        "fleet",
    ]

    # Compiling (nothing to deploy): no member reads.
    quiet = FakeAws(groups={"canary", "fleet"}, members=aws.members)
    EdgeModelReconciler(quiet.clients()).reconcile(
        desired_spec,
        namespace="ml",
        name="classifier",
        memory=Memory(),
        annotations={},
        now=at(0.0),
    )
    assert "ListThingsInThingGroup" not in quiet.operations
