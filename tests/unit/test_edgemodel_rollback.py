"""Rolling a failed rollout back (rollout.onFailure): the versions each touched thing group
ran before are recorded a pass before its first deployment (write-ahead) and deployed again,
merged as always. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from serving_operator.planning.edgemodel.actions import CreateDeployment, Step
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel
from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.edgemodel.observed import (
    DeviceCounts,
    EdgeModelObservation,
    ObservedDeployment,
    ObservedGroup,
    ObservedJob,
)
from serving_operator.planning.edgemodel.planner import plan_from_observation
from serving_operator.planning.outcome import OutcomeKind, Plan
from tests.unit.test_edgemodel_planner import (
    GROUP_ARN,
    OTHER,
    actions,
    at,
    compiled,
    deployed,
    desired,
    memory_of,
)

# Two failed devices abort: more than one received (AWS: "exceeds minNumberOfExecutedThings").
ABORT = [{"failureType": "FAILED", "thresholdPercentage": 50, "minNumberOfExecutedThings": 1}]


def rollout(on_failure: str = "RollBack", **canary: Any) -> dict[str, Any]:
    return {
        "stages": [
            {"name": "canary", "thingGroups": ["canary"], "abortCriteria": ABORT, **canary},
            {"name": "fleet", "thingGroups": ["fleet"], "abortCriteria": ABORT},
        ],
        "stageDeadlineSeconds": 600,
        "onFailure": on_failure,
    }


def running(group: str, components: dict[str, Any], job: str = "theirs") -> ObservedGroup:
    """A group whose latest deployment (not ours) runs `components`."""
    latest = ObservedDeployment(
        deployment_id=f"d-{job}",
        revision_id="1",
        iot_job_id=job,
        status="ACTIVE",
        deployment_name=group,
        components=components,
    )
    return ObservedGroup(group, GROUP_ARN.format(group), latest)


def older(model: DesiredEdgeModel) -> dict[str, Any]:
    return {t.component_name: {"componentVersion": "1.0.7"} for t in model.targets}


def with_groups(observed: EdgeModelObservation, **groups: ObservedGroup) -> EdgeModelObservation:
    return replace(observed, groups={**observed.groups, **groups})


def plan(
    model: DesiredEdgeModel, observed: EdgeModelObservation, memory: Memory, now: float
) -> Plan[Step]:
    step = plan_from_observation(model, observed, memory, now=at(now), promotion=None)
    return step


def rolling_back(
    model: DesiredEdgeModel, observed: EdgeModelObservation, memory: Memory, now: float
) -> Plan[Step]:
    """The pass that decides to roll back (written ahead: it deploys nothing), then the one
    that deploys the previous versions."""
    decided = plan(model, observed, memory, now)
    assert actions(decided, CreateDeployment) == []
    assert (decided.outcome.reason, decided.recheck_after) == ("RollingBack", 0.5)
    rollback = memory_of(decided).rollback
    assert rollback is not None
    assert not rollback.done
    return plan(model, observed, memory_of(decided), now + 1.0)


def test_first_touch_records_what_the_group_ran_a_pass_before_deploying() -> None:
    model = desired(rollout=rollout())
    observed = with_groups(compiled(model), canary=running("canary", {**OTHER, **older(model)}))
    first = plan(model, observed, Memory(), 0.0)
    expected = {t.component_name: "1.0.7" for t in model.targets}
    # Write-ahead: this pass only records them (its status is written after its AWS calls,
    # so a deployment in it could be made and the record lost); the next pass deploys.
    assert actions(first, CreateDeployment) == []
    assert memory_of(first).previous == {"canary": expected}
    assert (first.outcome.reason, first.recheck_after) == ("RollingOut", 0.5)
    assert "recording what canary run(s) now" in first.outcome.message
    second = plan(model, observed, memory_of(first), 1.0)
    (deployment,) = actions(second, CreateDeployment)
    assert deployment.thing_group == "canary"
    assert memory_of(second).previous == {"canary": expected}


def test_a_pass_whose_status_is_lost_after_its_deployment_still_rolls_back_the_group() -> None:
    """The operator is killed after the deployment pass's CreateDeployment, before its status
    is written: the restarted operator plans from the status before it, which already holds
    what the group ran, and the roll back restores exactly that."""
    model = desired(rollout=rollout())
    before = with_groups(compiled(model), canary=running("canary", {**OTHER, **older(model)}))
    recorded = memory_of(plan(model, before, Memory(), 0.0))  # written to status
    deploying = plan(model, before, recorded, 1.0)
    (deployment,) = actions(deploying, CreateDeployment)
    # AWS made it; the status of `deploying` is lost. The devices then fail it.
    failing = with_groups(
        before,
        canary=deployed(model, "canary", "j", DeviceCounts(failed=2), extra=OTHER),
    )
    assert dict(deployment.components) == dict(failing.groups["canary"].latest.components)  # type: ignore[union-attr]
    restarted = rolling_back(model, failing, recorded, 5.0)
    assert restarted.outcome.reason == "RollingBack"
    (back,) = actions(restarted, CreateDeployment)
    assert dict(back.components) == {**OTHER, **older(model)}
    assert memory_of(restarted).previous == recorded.previous


def test_an_aborted_stage_deploys_the_previous_versions_again_then_stalls_rolled_back() -> None:
    model = desired(rollout=rollout())
    before = with_groups(compiled(model), canary=running("canary", {**OTHER, **older(model)}))
    memory = memory_of(plan(model, before, Memory(), 0.0))
    failing = with_groups(
        before,
        canary=deployed(model, "canary", "j", DeviceCounts(failed=2, succeeded=1), extra=OTHER),
    )

    rolling = rolling_back(model, failing, memory, 10.0)

    (back,) = actions(rolling, CreateDeployment)
    assert back.thing_group == "canary"
    assert dict(back.components) == {**OTHER, **older(model)}
    assert back.replaces == "d-j"
    assert (rolling.outcome.kind, rolling.outcome.reason) == (
        OutcomeKind.PROGRESSING,
        "RollingBack",
    )
    assert "abort criterion met" in rolling.outcome.message
    rollback = memory_of(rolling).rollback
    assert rollback is not None
    assert (rollback.stage, rollback.done) == ("canary", False)

    # A roll back is judged like a stage: RolledBack only once its devices answered.
    assert "abortConfig" not in back.iot_job_configuration
    carried = running("canary", {**OTHER, **older(model)}, "back")
    restored = with_groups(
        before,
        canary=replace(carried, job=ObservedJob("back", "IN_PROGRESS", DeviceCounts(queued=2))),
    )
    reporting = plan(model, restored, memory_of(rolling), 20.0)
    assert actions(reporting, CreateDeployment) == []
    assert (reporting.outcome.kind, reporting.outcome.reason) == (
        OutcomeKind.PROGRESSING,
        "RollingBack",
    )
    assert "2 device(s) yet to answer" in reporting.outcome.message
    restored = with_groups(
        before,
        canary=replace(carried, job=ObservedJob("back", "IN_PROGRESS", DeviceCounts(succeeded=2))),
    )
    done = plan(model, restored, memory_of(reporting), 30.0)
    assert actions(done, CreateDeployment) == []
    assert (done.outcome.kind, done.outcome.reason) == (OutcomeKind.STALLED, "RolledBack")
    assert "2/2 devices run the previous versions again" in done.outcome.message
    assert "change the spec" in done.outcome.message
    # Not retried: the same spec keeps it rolled back, and the fleet never gets it.
    again = plan(model, restored, memory_of(done), 40.0)
    assert (again.outcome.reason, actions(again, CreateDeployment)) == ("RolledBack", [])


def test_a_group_that_ran_none_of_ours_gets_our_components_removed_and_keeps_others() -> None:
    model = desired(rollout=rollout())
    before = with_groups(compiled(model), canary=running("canary", OTHER))
    memory = memory_of(plan(model, before, Memory(), 0.0))
    assert memory.previous == {"canary": {}}
    failing = with_groups(
        before,
        canary=deployed(model, "canary", "j", DeviceCounts(failed=3), extra=OTHER),
    )
    (back,) = actions(rolling_back(model, failing, memory, 10.0), CreateDeployment)
    assert dict(back.components) == OTHER


def test_a_failed_later_stage_rolls_back_every_group_the_rollout_touched() -> None:
    model = desired(rollout=rollout())
    before = with_groups(
        compiled(model),
        canary=running("canary", older(model)),
        fleet=running("fleet", OTHER),
    )
    memory = memory_of(plan(model, before, Memory(), 0.0))
    canary_ok = with_groups(
        before, canary=deployed(model, "canary", "c", DeviceCounts(succeeded=2))
    )
    memory = memory_of(plan(model, canary_ok, memory, 10.0))  # canary passes, fleet deployed
    assert set(memory.previous) == {"canary", "fleet"}
    fleet_failing = with_groups(
        canary_ok, fleet=deployed(model, "fleet", "f", DeviceCounts(failed=2), extra=OTHER)
    )
    rolling = rolling_back(model, fleet_failing, memory, 20.0)
    backs = {d.thing_group: dict(d.components) for d in actions(rolling, CreateDeployment)}
    assert backs == {"canary": older(model), "fleet": OTHER}
    rollback = memory_of(rolling).rollback
    assert rollback is not None
    assert rollback.stage == "fleet"


def test_a_gate_that_fails_rolls_back_too() -> None:
    model = desired(rollout=rollout())
    before = with_groups(compiled(model), canary=running("canary", older(model)))
    memory = memory_of(plan(model, before, Memory(), 0.0))
    gate_failed = with_groups(
        before, canary=deployed(model, "canary", "j", DeviceCounts(succeeded=3, rejected=1))
    )
    rolling = rolling_back(model, gate_failed, memory, 10.0)
    assert rolling.outcome.reason == "RollingBack"
    assert [dict(d.components) for d in actions(rolling, CreateDeployment)] == [older(model)]


def test_halt_leaves_the_devices_as_they_are() -> None:
    model = desired(rollout=rollout("Halt"))
    before = with_groups(compiled(model), canary=running("canary", older(model)))
    memory = memory_of(plan(model, before, Memory(), 0.0))
    failing = with_groups(before, canary=deployed(model, "canary", "j", DeviceCounts(failed=2)))
    halted = plan(model, failing, memory, 10.0)
    assert (halted.outcome.reason, actions(halted, CreateDeployment)) == ("StageAborted", [])
    assert memory_of(halted).rollback is None


def test_a_stage_past_its_deadline_halts_even_with_roll_back() -> None:
    model = desired(rollout=rollout())
    before = with_groups(compiled(model), canary=running("canary", older(model)))
    memory = memory_of(plan(model, before, Memory(), 0.0))
    offline = with_groups(
        before, canary=deployed(model, "canary", "j", DeviceCounts(succeeded=1, queued=2))
    )
    late = plan(model, offline, memory, 600.0)
    assert (late.outcome.reason, actions(late, CreateDeployment)) == ("StageDeadlineExceeded", [])


def test_a_spec_change_after_a_roll_back_starts_a_new_rollout() -> None:
    model = desired(rollout=rollout())
    before = with_groups(compiled(model), canary=running("canary", older(model)))
    memory = memory_of(plan(model, before, Memory(), 0.0))
    failing = with_groups(before, canary=deployed(model, "canary", "j", DeviceCounts(failed=2)))
    rolled = memory_of(rolling_back(model, failing, memory, 10.0))
    fixed = desired(
        rollout=rollout(),
        component={"runCommand": "python3 -m serve --fixed"},
    )
    restored = with_groups(compiled(fixed), canary=running("canary", older(model), "back"))
    new = plan(fixed, restored, rolled, 20.0)
    assert memory_of(new).rollback is None
    assert actions(new, CreateDeployment) == []  # what the canary runs is recorded first
    (deployment,) = actions(plan(fixed, restored, memory_of(new), 21.0), CreateDeployment)
    assert {n: c["componentVersion"] for n, c in deployment.components.items()} == {
        t.component_name: t.component_version for t in fixed.targets
    }
    assert memory_of(new).previous == {"canary": {n: "1.0.7" for n in older(model)}}


def test_a_roll_back_whose_devices_fail_or_stay_silent_is_not_called_rolled_back() -> None:
    model = desired(rollout=rollout())
    before = with_groups(compiled(model), canary=running("canary", {**OTHER, **older(model)}))
    memory = memory_of(plan(model, before, Memory(), 0.0))
    failing = with_groups(
        before, canary=deployed(model, "canary", "j", DeviceCounts(failed=2), extra=OTHER)
    )
    rolling = rolling_back(model, failing, memory, 10.0)
    carried = running("canary", {**OTHER, **older(model)}, "back")

    def back(counts: DeviceCounts) -> EdgeModelObservation:
        job = ObservedJob("back", "IN_PROGRESS", counts)
        return with_groups(before, canary=replace(carried, job=job))

    failed = plan(model, back(DeviceCounts(succeeded=1, failed=1)), memory_of(rolling), 20.0)
    assert (failed.outcome.kind, failed.outcome.reason) == (OutcomeKind.STALLED, "RollbackFailed")
    rollback = memory_of(failed).rollback
    assert rollback is not None
    assert not rollback.done
    silent = plan(model, back(DeviceCounts(queued=2)), memory_of(rolling), 10.0 + 601)
    assert silent.outcome.reason == "RollbackDeadlineExceeded"
