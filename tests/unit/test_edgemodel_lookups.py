"""What EdgeModel's planner asks to have read before it decides (`EdgeLookups`), pass by pass:
the few reads at rest first, everything only when they do not settle it, the groups' members
only before a deployment, and for deletion the published versions last. Pure."""

from __future__ import annotations

from dataclasses import replace

from serving_operator.planning.edgemodel.actions import CreateDeployment
from serving_operator.planning.edgemodel.at_rest import REST_RECHECK_SECONDS
from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.edgemodel.observed import (
    AtRestView,
    ComponentState,
    EdgeLookups,
    EdgeModelReads,
    ObservedComponentVersion,
)
from serving_operator.planning.edgemodel.planner import (
    EdgeFindings,
    plan_edge_model,
    plan_edge_model_deletion,
)
from serving_operator.planning.outcome import OutcomeKind, Plan
from tests.unit.test_edgemodel_planner import _left_there, _rolled_out_memory, at, compiled, desired
from tests.unit.test_edgemodel_shared_devices import observed_with, recorded

MODEL = desired()
KEYS = tuple((t.component_name, t.component_version) for t in MODEL.targets)


def _plan(reads: EdgeModelReads, memory: Memory) -> Plan[object, EdgeFindings] | EdgeLookups:
    return plan_edge_model(MODEL, reads, memory, now=at(0.0), promotion=None)


def test_nothing_read_and_not_rolled_out_asks_for_everything() -> None:
    assert _plan(EdgeModelReads(), Memory()) == EdgeLookups(everything=True)


def test_rolled_out_asks_first_for_its_versions_and_the_latest_deployments_only() -> None:
    memory = _rolled_out_memory(MODEL)
    assert _plan(EdgeModelReads(), memory) == EdgeLookups(
        component_versions=KEYS, latest_deployments=("canary", "fleet")
    )


def test_an_at_rest_view_that_shows_nothing_changed_settles_the_pass() -> None:
    memory = _rolled_out_memory(MODEL)
    view = AtRestView(compiled(MODEL).components, _left_there(memory))
    plan = _plan(EdgeModelReads(at_rest=view), memory)
    assert isinstance(plan, Plan)
    assert (plan.outcome.kind, plan.outcome.reason) == (OutcomeKind.READY, "RolledOut")
    assert (plan.actions, plan.recheck_after) == ((), REST_RECHECK_SECONDS)
    assert plan.findings == EdgeFindings(current_stage="fleet")


def test_an_at_rest_view_that_shows_a_change_asks_for_everything() -> None:
    memory = _rolled_out_memory(MODEL)
    gone = AtRestView({**compiled(MODEL).components, KEYS[0]: None}, _left_there(memory))
    theirs = AtRestView(compiled(MODEL).components, {**_left_there(memory), "fleet": "d-x"})
    deprecated = AtRestView(
        {k: ObservedComponentVersion("arn", ComponentState.DEPRECATED) for k in KEYS},
        _left_there(memory),
    )
    for view in (gone, theirs, deprecated):
        assert _plan(EdgeModelReads(at_rest=view), memory) == EdgeLookups(everything=True)


def test_everything_read_at_rest_plans_from_it_without_the_at_rest_reads() -> None:
    memory = _rolled_out_memory(MODEL)
    plan = _plan(EdgeModelReads(full=replace(compiled(MODEL), members={})), memory)
    assert isinstance(plan, Plan)
    assert plan.outcome.reason == "RolledOut"


def test_members_are_asked_for_only_when_the_plan_would_deploy() -> None:
    without_members = observed_with(MODEL, None)
    # The first pass of the rollout only records what the canary runs: no members.
    first = _plan(EdgeModelReads(full=without_members), Memory())
    assert isinstance(first, Plan)
    assert not [a for a in first.actions if isinstance(a, CreateDeployment)]
    # The next would deploy: it asks who shares devices, then decides with them.
    memory = recorded(MODEL, without_members)
    assert _plan(EdgeModelReads(full=without_members), memory) == EdgeLookups(members=True)
    shared = observed_with(MODEL, {"canary": {"dev-1", "dev-2"}, "fleet": {"dev-2"}})
    stalled = _plan(EdgeModelReads(full=shared), memory)
    assert isinstance(stalled, Plan)
    assert stalled.outcome.reason == "SharedDeviceConflict"
    apart = observed_with(MODEL, {"canary": {"dev-1"}, "fleet": {"dev-2"}})
    deploys = _plan(EdgeModelReads(full=apart), memory)
    assert isinstance(deploys, Plan)
    assert [a.thing_group for a in deploys.actions if isinstance(a, CreateDeployment)] == ["canary"]


def test_deletion_asks_for_everything_then_for_the_versions_published_and_found() -> None:
    memory = Memory(published=frozenset({"arn:remembered"}))
    assert plan_edge_model_deletion(MODEL, EdgeModelReads(), memory, retain=False) == (
        EdgeLookups(everything=True)
    )
    full = compiled(MODEL)
    found = {v.arn for v in full.components.values() if v is not None}
    asked = plan_edge_model_deletion(MODEL, EdgeModelReads(full=full), memory, retain=False)
    assert asked == EdgeLookups(published=frozenset({"arn:remembered", *found}))
    read = replace(full, published=dict.fromkeys(sorted(asked.published), True))
    # Before deleting a version: is it in any target's latest deployment?
    users = plan_edge_model_deletion(MODEL, EdgeModelReads(full=read), memory, retain=False)
    assert users == EdgeLookups(in_use=MODEL.component_names)
    plan = plan_edge_model_deletion(
        MODEL, EdgeModelReads(full=replace(read, in_use={})), memory, retain=False
    )
    assert isinstance(plan, Plan)
    assert plan.outcome.reason == "Deleting"


def test_deletion_with_nothing_published_asks_for_no_versions() -> None:
    nothing = replace(compiled(MODEL, state=None), groups={}, compilations={})
    plan = plan_edge_model_deletion(MODEL, EdgeModelReads(full=nothing), Memory(), retain=False)
    assert isinstance(plan, Plan)
    assert (plan.actions, plan.outcome.reason) == ((), "Deleted")


def test_retained_deletion_reads_nothing() -> None:
    plan = plan_edge_model_deletion(MODEL, EdgeModelReads(), Memory(), retain=True)
    assert isinstance(plan, Plan)
    assert plan.outcome.reason == "Retained"
