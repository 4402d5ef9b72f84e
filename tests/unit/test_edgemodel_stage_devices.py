"""A stage is judged on its thing groups' core devices, not on an IoT job's first batch: IoT
rolls executions out at the job's rollout rate, so while `processingTargets` is set the
job's counters cover only the devices reached so far (IoT developer guide,
iot-jobs-lifecycle.md and jobs-configurations-details.md)."""

from __future__ import annotations

from dataclasses import replace

from serving_operator.planning.edgemodel.actions import CancelDeployment, Step
from serving_operator.planning.edgemodel.desired import DesiredStage
from serving_operator.planning.edgemodel.memory import Memory, StagePhase
from serving_operator.planning.edgemodel.observed import (
    DeviceCounts,
    EdgeLookups,
    EdgeModelObservation,
    EdgeModelReads,
    ObservedDeployment,
    ObservedJob,
)
from serving_operator.planning.edgemodel.planner import plan_edge_model, plan_from_observation
from serving_operator.planning.edgemodel.stage_gate import abort_verdict
from serving_operator.planning.outcome import OutcomeKind, Plan
from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler
from tests.support.fake_aws import FakeAws, version_arn
from tests.unit.test_edgemodel_planner import (
    HALT,
    actions,
    at,
    compiled,
    deployed,
    desired,
    memory_of,
    spec,
)

CANARY = {f"cam-{i}" for i in range(10)}


def _batch(
    counts: DeviceCounts, *, processing: bool, members: set[str] | None = None
) -> tuple[EdgeModelObservation, Memory]:
    """The canary deployed, its job having reached a first batch; `members`: its core
    devices as read."""
    model = desired(rollout=HALT)
    observed = compiled(model)
    memory = memory_of(
        plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    )
    group = deployed(model, "canary", "j", counts)
    assert group.job is not None
    group = replace(group, job=replace(group.job, processing=processing))
    observed = replace(observed, groups={**observed.groups, "canary": group})
    if members is not None:
        observed = replace(observed, members={"canary": frozenset(members), "fleet": frozenset()})
    return observed, memory


def judge(observed: EdgeModelObservation, memory: Memory, seconds: float) -> Plan[Step]:
    return plan_from_observation(
        desired(rollout=HALT), observed, memory, now=at(seconds), promotion=None
    )


def test_a_first_batch_that_succeeded_does_not_pass_the_stage() -> None:
    # maximumPerMinute 2: two of ten devices reached, both succeeded.
    observed, memory = _batch(DeviceCounts(succeeded=2), processing=True, members=CANARY)
    plan = judge(observed, memory, 10.0)
    stage = memory_of(plan).stage("canary")
    assert stage is not None
    assert stage.phase == StagePhase.DEPLOYING
    assert "2/10 devices succeeded" in stage.verdict
    assert plan.outcome.kind == OutcomeKind.PROGRESSING


def test_a_first_batch_with_a_failure_does_not_fail_the_gate_while_processing() -> None:
    # One of ten failed: the 100% gate cannot be met, but a gate fails only once every
    # device answered; until the rollout reached them all the stage keeps deploying.
    observed, memory = _batch(DeviceCounts(succeeded=1, failed=1), processing=True, members=CANARY)
    plan = judge(observed, memory, 10.0)
    assert plan.outcome.kind == OutcomeKind.PROGRESSING
    # The rollout done and every device answered: now the gate fails.
    done = DeviceCounts(succeeded=9, failed=1)
    observed, memory = _batch(done, processing=False, members=CANARY)
    plan = judge(observed, memory, 20.0)
    assert plan.outcome.reason == "StageGateFailed"


def test_without_membership_a_processing_job_never_meets_the_gate() -> None:
    observed, memory = _batch(DeviceCounts(succeeded=2), processing=True)
    plan = judge(observed, memory, 10.0)
    assert plan.outcome.kind == OutcomeKind.PROGRESSING


def test_devices_the_job_has_not_reached_are_pending() -> None:
    # The rollout finished notifying, but only 8 of the 10 core devices have an execution
    # counted yet (a device added to a child group): not every device answered.
    observed, memory = _batch(DeviceCounts(succeeded=7, failed=1), processing=False, members=CANARY)
    plan = judge(observed, memory, 10.0)
    assert plan.outcome.kind == OutcomeKind.PROGRESSING
    assert "7/10 devices succeeded" in plan.outcome.message


def test_judging_a_stage_in_flight_asks_for_the_groups_members() -> None:
    observed, memory = _batch(DeviceCounts(succeeded=2), processing=True)
    asked = plan_edge_model(
        desired(rollout=HALT),
        EdgeModelReads(full=observed),
        memory,
        now=at(10.0),
        promotion=None,
    )
    assert asked == EdgeLookups(members=True)


def test_the_shell_judges_on_core_devices_of_the_group_and_its_children() -> None:
    """The shell reads the members recursively and keeps only Greengrass core devices: a
    thing without a nucleus stays QUEUED in the job forever and is not waited for."""
    model = desired()
    ours = {t.component_name: {"componentVersion": t.component_version} for t in model.targets}
    aws = FakeAws(
        compilations=dict(compiled(model).compilations),
        components={
            version_arn(t.component_name, t.component_version): c
            for t in model.targets
            if (c := compiled(model).components[(t.component_name, t.component_version)])
        },
        groups={"canary", "fleet"},
        members={"canary": {"gw-1", "gw-2", "sensor-1"}},
        not_core={"sensor-1"},
        deployments={"canary": ObservedDeployment("d-c", "1", "j-c", "ACTIVE", "canary", ours)},
        jobs={"j-c": ObservedJob("j-c", "IN_PROGRESS", DeviceCounts(succeeded=2, queued=1))},
    )
    memory = memory_of(
        plan_from_observation(model, compiled(model), Memory(), now=at(0.0), promotion=None)
    )
    result = EdgeModelReconciler(aws.clients()).reconcile(
        spec(), namespace="ml", name="classifier", memory=memory, annotations={}, now=at(5.0)
    )
    canary = result.memory.stage("canary")
    assert canary is not None
    assert canary.phase == StagePhase.SUCCEEDED
    assert "2/2 devices succeeded" in canary.verdict
    assert ("ListCoreDevices",) in [c[:1] for c in aws.calls]
    assert [d for op, d in aws.calls if op == "ListThingsInThingGroup"] == ["canary", "fleet"]


def _criterion(threshold: float, minimum: int) -> DesiredStage:
    model = desired(
        rollout={
            "stages": [
                {
                    "name": "canary",
                    "thingGroups": ["canary"],
                    "abortCriteria": [
                        {
                            "failureType": "FAILED",
                            "thresholdPercentage": threshold,
                            "minNumberOfExecutedThings": minimum,
                        }
                    ],
                }
            ]
        }
    )
    return model.stages[0]


def test_abort_criteria_read_as_aws_words_them() -> None:
    """GGv2 API IoTJobAbortCriteria: the deployment stops when the things that *receive* it
    *exceed* minNumberOfExecutedThings and the failures *exceed* thresholdPercentage."""
    # 1 of 2 finished failed, 4 received (two still queued or installing).
    counts = DeviceCounts(failed=1, succeeded=1, queued=1, in_progress=1)
    assert abort_verdict(_criterion(50, 1), counts) is None  # 50% does not exceed 50%
    assert abort_verdict(_criterion(49.99, 4), counts) is None  # 4 received: not more than 4
    # Received, not finished: 2 finished is below the minimum 3, 4 received exceed it.
    assert abort_verdict(_criterion(49.99, 3), counts) is not None


def test_a_halted_stage_cancels_its_active_deployment_once() -> None:
    """onFailure Halt: the operator's own verdict (here a failed gate, which IoT's abort
    criteria know nothing of) cancels the deployment the stage made, so IoT stops sending
    the failed version to devices that have not started it."""
    observed, memory = _batch(DeviceCounts(succeeded=8, failed=2), processing=False, members=CANARY)
    failed = judge(observed, memory, 10.0)
    assert failed.outcome.reason == "StageGateFailed"
    [cancel] = actions(failed, CancelDeployment)
    assert (cancel.thing_group, cancel.deployment_id) == ("canary", "d-j")
    # The next pass finds the stage failed: nothing more is written.
    again = judge(observed, memory_of(failed), 20.0)
    assert again.outcome.reason == "StageGateFailed"
    assert actions(again, CancelDeployment) == []
    # A deployment no longer ACTIVE (or replaced by someone else's) is left alone.
    group = observed.groups["canary"]
    assert group.latest is not None
    done = replace(group, latest=replace(group.latest, status="COMPLETED"))
    settled = judge(replace(observed, groups={**observed.groups, "canary": done}), memory, 10.0)
    assert actions(settled, CancelDeployment) == []


def test_a_stage_that_rolls_back_cancels_nothing() -> None:
    model = desired(rollout={**HALT, "onFailure": "RollBack"})
    observed, memory = _batch(DeviceCounts(succeeded=8, failed=2), processing=False, members=CANARY)
    plan = plan_from_observation(model, observed, memory, now=at(10.0), promotion=None)
    assert plan.outcome.reason == "RollingBack"
    assert actions(plan, CancelDeployment) == []
