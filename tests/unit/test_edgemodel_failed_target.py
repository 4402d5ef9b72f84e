"""A target whose new version failed (compilation or publish) keeps the version its thing
groups run: the other targets roll out without uninstalling it (edge-fidelity H2)."""

from __future__ import annotations

from dataclasses import replace

from serving_operator.planning.edgemodel.actions import CreateDeployment
from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.edgemodel.observed import CompilationStatus, ObservedCompilation
from serving_operator.planning.edgemodel.planner import plan_from_observation
from tests.unit.test_edgemodel_planner import actions, at, compiled, desired, memory_of
from tests.unit.test_edgemodel_rollback import older, running


def test_a_failed_compilation_keeps_that_targets_running_version_deployed() -> None:
    # The fleet runs 1.0.7 of both targets; the new spec's nano compilation fails. The stage's
    # merge used to drop every name of ours it was not given: nano's working model went.
    model = desired()
    nano = next(t for t in model.targets if t.name == "nano")
    arm = next(t for t in model.targets if t.name == "arm")
    observed = compiled(model)
    observed = replace(
        observed,
        compilations={
            **observed.compilations,
            nano.job_name: ObservedCompilation(
                nano.job_name, CompilationStatus.FAILED, failure_reason="bad input shape"
            ),
        },
        groups={"canary": running("canary", older(model)), "fleet": running("fleet", {})},
        members={"canary": frozenset({"dev-1"}), "fleet": frozenset({"dev-2"})},
    )
    first = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    plan = plan_from_observation(model, observed, memory_of(first), now=at(1.0), promotion=None)
    [deployment] = [d for d in actions(plan, CreateDeployment) if d.thing_group == "canary"]
    versions = {n: c["componentVersion"] for n, c in deployment.components.items()}
    assert versions == {nano.component_name: "1.0.7", arm.component_name: arm.component_version}
    assert plan.outcome.reason == "CompilationFailed"
    assert "keep the version of a failed target" in plan.outcome.message
