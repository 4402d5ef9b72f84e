"""The IoT jobs behind deployments run as IoT runs them (moto's stay QUEUED, count one queued
thing whatever the group, and ignore rollout, abort and timeout configurations)."""

from __future__ import annotations

import itertools
from typing import Any

import botocore.config
import botocore.exceptions
import pytest

from tests.sandbox.edge import (
    FAST_EDGE,
    counters,
    execution_statuses,
    group_of_things,
    tell_device,
    thing,
    unique,
)
from tests.sandbox.endpoints import wait_until
from tests.sandbox.shapes import ShapeRecorder
from tests.support.sandbox import Sandbox

# An AWS-published component: devices deploy it without it being in the account.
PUBLIC = {"aws.greengrass.Cli": {"componentVersion": "2.12.0"}}
FINISHED = {"SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "REMOVED", "CANCELED"}


def _deploy(greengrass: Any, target: str, **job_configuration: Any) -> dict[str, Any]:
    created: dict[str, Any] = greengrass.create_deployment(
        targetArn=target,
        components=PUBLIC,
        **({"iotJobConfiguration": job_configuration} if job_configuration else {}),
    )
    return created


def _job(iot: Any, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = iot.describe_job(jobId=job_id)["job"]
    return job


def test_counters_follow_every_device_and_add_up(
    greengrass: Any, iot: Any, sandbox: Sandbox, shapes: ShapeRecorder
) -> None:
    group, things = group_of_things(iot, 5)
    tell_device(sandbox, things[1], "fail")
    tell_device(sandbox, things[2], "reject")
    tell_device(sandbox, things[3], "offline")
    created = _deploy(greengrass, group)
    seen: list[dict[str, int]] = []

    def settled(job: dict[str, Any]) -> bool:
        observed = counters(job)
        seen.append(observed)
        # Only the offline device is left, QUEUED.
        return observed["numberOfQueuedThings"] == 1 and observed["numberOfInProgressThings"] == 0

    job = wait_until(lambda: _job(iot, created["iotJobId"]), settled, "the devices to report")
    assert all(sum(observed.values()) == len(things) for observed in seen)
    assert counters(job) == {
        "numberOfQueuedThings": 1,
        "numberOfInProgressThings": 0,
        "numberOfSucceededThings": 2,
        "numberOfFailedThings": 1,
        "numberOfRejectedThings": 1,
        "numberOfTimedOutThings": 0,
        "numberOfRemovedThings": 0,
        "numberOfCanceledThings": 0,
    }
    assert (job["status"], job["targetSelection"]) == ("IN_PROGRESS", "CONTINUOUS")
    assert execution_statuses(iot, created["iotJobId"]) == {
        things[0]: "SUCCEEDED",
        things[1]: "FAILED",
        things[2]: "REJECTED",
        things[3]: "QUEUED",
        things[4]: "SUCCEEDED",
    }
    assert {"DescribeJob", "ListJobExecutionsForJob"} <= set(shapes.checked)


def test_an_offline_device_stays_queued_while_the_others_finish(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    group, things = group_of_things(iot, 2)
    tell_device(sandbox, things[0], "offline")
    created = _deploy(greengrass, group)
    # Both were notified together: by the time the online one is done, the other would be.
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: statuses[things[1]] == "SUCCEEDED",
        "the online device to succeed",
    )
    execution = iot.describe_job_execution(jobId=created["iotJobId"], thingName=things[0])
    assert execution["execution"]["status"] == "QUEUED"
    assert "startedAt" not in execution["execution"]
    # A device that never connected never registered as a core device.
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        greengrass.get_core_device(coreDeviceThingName=things[0])

    tell_device(sandbox, things[0], "succeed")  # it comes online
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: statuses[things[0]] == "SUCCEEDED",
        "the device back online to succeed",
    )


def test_abort_criteria_cancel_the_job_and_what_it_had_not_finished(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    group, things = group_of_things(iot, 4)
    tell_device(sandbox, things[0], "fail")
    tell_device(sandbox, things[1], "fail")
    tell_device(sandbox, things[2], "timeout")  # stays IN_PROGRESS
    tell_device(sandbox, things[3], "offline")  # stays QUEUED
    created = _deploy(
        greengrass,
        group,
        abortConfig={
            "criteriaList": [
                {
                    "failureType": "FAILED",
                    "action": "CANCEL",
                    "thresholdPercentage": 50.0,
                    "minNumberOfExecutedThings": 2,
                }
            ]
        },
    )
    job = wait_until(
        lambda: _job(iot, created["iotJobId"]),
        lambda j: j["status"] != "IN_PROGRESS",
        "the job to be aborted",
    )
    assert job["status"] == "CANCELED"
    assert counters(job)["numberOfFailedThings"] == 2
    # Only the QUEUED execution is canceled; the one IN_PROGRESS goes on (IoT developer
    # guide, jobs-configurations-details.md).
    assert counters(job)["numberOfCanceledThings"] == 1
    assert execution_statuses(iot, created["iotJobId"]) == {
        things[0]: "FAILED",
        things[1]: "FAILED",
        things[2]: "IN_PROGRESS",
        things[3]: "CANCELED",
    }
    deployment = greengrass.get_deployment(deploymentId=created["deploymentId"])
    assert deployment["deploymentStatus"] == "FAILED"


def test_abort_waits_for_the_minimum_number_of_executed_things(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    group, things = group_of_things(iot, 3)
    tell_device(sandbox, things[0], "fail")
    created = _deploy(
        greengrass,
        group,
        abortConfig={
            "criteriaList": [
                {
                    "failureType": "ALL",
                    "action": "CANCEL",
                    "thresholdPercentage": 10.0,
                    "minNumberOfExecutedThings": 4,  # more than the group has
                }
            ]
        },
    )
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: set(statuses.values()) <= FINISHED,
        "every device to finish",
    )
    assert _job(iot, created["iotJobId"])["status"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    ("threshold", "minimum", "aborted"),
    [
        (50.0, 1, False),  # 1 of 2 failed is 50%: not more than the threshold
        (49.99, 2, False),  # 2 received: not more than the minimum
        (49.99, 1, True),
    ],
)
def test_abort_criteria_are_strict_on_received_things_and_the_threshold(
    greengrass: Any, iot: Any, sandbox: Sandbox, threshold: float, minimum: int, aborted: bool
) -> None:
    """GGv2 API IoTJobAbortCriteria: the deployment stops when the things that receive it
    exceed minNumberOfExecutedThings and the failures exceed thresholdPercentage."""
    group, things = group_of_things(iot, 2)
    tell_device(sandbox, things[0], "fail")
    created = _deploy(
        greengrass,
        group,
        abortConfig={
            "criteriaList": [
                {
                    "failureType": "FAILED",
                    "action": "CANCEL",
                    "thresholdPercentage": threshold,
                    "minNumberOfExecutedThings": minimum,
                }
            ]
        },
    )
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: len(statuses) == 2 and set(statuses.values()) <= FINISHED,
        "both devices to finish",
    )
    status = _job(iot, created["iotJobId"])["status"]
    assert status == ("CANCELED" if aborted else "IN_PROGRESS")


def test_in_progress_timeout_times_the_execution_out(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    target, name = thing(iot)
    tell_device(sandbox, name, "timeout")
    created = _deploy(greengrass, target, timeoutConfig={"inProgressTimeoutInMinutes": 1})
    execution = wait_until(
        lambda: iot.describe_job_execution(jobId=created["iotJobId"], thingName=name)["execution"],
        lambda e: e["status"] in FINISHED,
        "the execution to time out",
    )
    assert execution["status"] == "TIMED_OUT"
    assert counters(_job(iot, created["iotJobId"]))["numberOfTimedOutThings"] == 1
    deployment = greengrass.get_deployment(deploymentId=created["deploymentId"])
    assert deployment["deploymentStatus"] == "FAILED"
    effective = greengrass.list_effective_deployments(coreDeviceThingName=name)
    assert effective["effectiveDeployments"][0]["coreDeviceExecutionStatus"] == "TIMED_OUT"


def test_maximum_per_minute_spreads_the_rollout(greengrass: Any, iot: Any) -> None:
    count = 3
    group, _ = group_of_things(iot, count)
    created = _deploy(greengrass, group, jobExecutionsRolloutConfig={"maximumPerMinute": 1})
    job = _job(iot, created["iotJobId"])
    # IoT rolls executions out at the rollout rate (IoT developer guide,
    # iot-jobs-lifecycle.md, jobs-configurations-details.md): in the first minute one
    # execution exists, and the counters cover only it while the targets are processing.
    assert sum(counters(job).values()) == 1
    assert job["jobProcessDetails"]["processingTargets"] == [group]
    assert len(execution_statuses(iot, created["iotJobId"])) == 1
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: len(statuses) == count and set(statuses.values()) == {"SUCCEEDED"},
        "every device to succeed",
        timeout=30,
    )
    summaries = iot.list_job_executions_for_job(jobId=created["iotJobId"])["executionSummaries"]
    starts = sorted(s["jobExecutionSummary"]["startedAt"] for s in summaries)
    minute = FAST_EDGE["jobMinuteSeconds"]
    # One device a (sandbox) minute: no two started within a minute of each other.
    assert all((b - a).total_seconds() >= minute for a, b in itertools.pairwise(starts))


def test_exponential_rate_starts_slow_and_speeds_up(greengrass: Any, iot: Any) -> None:
    count = 4
    group, _ = group_of_things(iot, count)
    created = _deploy(
        greengrass,
        group,
        jobExecutionsRolloutConfig={
            "exponentialRate": {
                "baseRatePerMinute": 1,
                "incrementFactor": 3.0,
                "rateIncreaseCriteria": {"numberOfSucceededThings": 1},
            }
        },
    )
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: len(statuses) == count and set(statuses.values()) == {"SUCCEEDED"},
        "every device to succeed",
        timeout=30,
    )
    summaries = iot.list_job_executions_for_job(jobId=created["iotJobId"])["executionSummaries"]
    runs = sorted(
        (s["jobExecutionSummary"]["startedAt"], s["jobExecutionSummary"]["lastUpdatedAt"])
        for s in summaries
    )
    first_succeeded_at = runs[0][1]
    second_wave = [started for started, _ in runs if started == runs[1][0]]
    # The first device goes alone at the base rate of one a minute; once it has succeeded
    # the rate is three a minute (one of them used by the first within the minute), so the
    # next devices go two at once.
    assert runs[1][0] >= first_succeeded_at
    assert len(second_wave) == 2


def test_continuous_job_follows_the_group(greengrass: Any, iot: Any) -> None:
    group, things = group_of_things(iot, 2)
    created = _deploy(greengrass, group)
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: set(statuses.values()) == {"SUCCEEDED"},
        "the first devices to succeed",
    )
    newcomer = unique("cam")
    iot.create_thing(thingName=newcomer)
    group_name = group.rsplit("/", 1)[-1]
    iot.add_thing_to_thing_group(thingGroupName=group_name, thingName=newcomer)
    wait_until(
        lambda: execution_statuses(iot, created["iotJobId"]),
        lambda statuses: statuses.get(newcomer) == "SUCCEEDED",
        "the newcomer to get the deployment",
    )
    assert set(execution_statuses(iot, created["iotJobId"])) == {*things, newcomer}


def test_a_device_that_leaves_the_group_is_removed_from_the_job(
    greengrass: Any, iot: Any, sandbox: Sandbox
) -> None:
    group, things = group_of_things(iot, 2)
    tell_device(sandbox, things[0], "offline")
    created = _deploy(greengrass, group)
    iot.remove_thing_from_thing_group(thingGroupName=group.rsplit("/", 1)[-1], thingName=things[0])
    job = wait_until(
        lambda: _job(iot, created["iotJobId"]),
        lambda j: counters(j)["numberOfRemovedThings"] == 1,
        "the leaver's execution to be removed",
    )
    assert sum(counters(job).values()) == 2


def test_jobs_made_through_iot_run_too_and_force_cancel_stops_running_ones(
    iot: Any, sandbox: Sandbox, shapes: ShapeRecorder
) -> None:
    group, things = group_of_things(iot, 2)
    tell_device(sandbox, things[0], "timeout")
    job_id = unique("job")
    iot.create_job(jobId=job_id, targets=[group], document='{"operation": "reboot"}')
    wait_until(
        lambda: execution_statuses(iot, job_id),
        lambda statuses: statuses == {things[0]: "IN_PROGRESS", things[1]: "SUCCEEDED"},
        "one device to run and one to succeed",
    )
    assert iot.get_job_document(jobId=job_id)["document"] == '{"operation": "reboot"}'
    assert [j["jobId"] for j in iot.list_jobs(status="IN_PROGRESS")["jobs"]].count(job_id) == 1
    iot.cancel_job(jobId=job_id, force=True, comment="stop it")
    job = _job(iot, job_id)
    assert (job["status"], job["forceCanceled"], job["comment"]) == ("CANCELED", True, "stop it")
    assert execution_statuses(iot, job_id)[things[0]] == "CANCELED"
    for_thing = iot.list_job_executions_for_thing(thingName=things[0])["executionSummaries"]
    assert [(s["jobId"], s["jobExecutionSummary"]["status"]) for s in for_thing] == [
        (job_id, "CANCELED")
    ]
    iot.delete_job(jobId=job_id)
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        iot.describe_job(jobId=job_id)
    assert {"CreateJob", "CancelJob", "ListJobs", "ListJobExecutionsForThing"} <= set(
        shapes.checked
    )


def test_faults_can_target_rest_operations_by_name(sandbox: Sandbox, iot: Any) -> None:
    greengrass = sandbox.client(
        "greengrassv2", botocore.config.Config(retries={"total_max_attempts": 1})
    )
    sandbox.add_fault(service="greengrass", operation="CreateDeployment", count=1)
    try:
        group, _ = group_of_things(iot, 1)
        with pytest.raises(botocore.exceptions.ClientError, match="Throttling"):
            greengrass.create_deployment(targetArn=group, components=PUBLIC)
        greengrass.list_deployments()  # another operation: not the fault's
        greengrass.create_deployment(targetArn=group, components=PUBLIC)  # used up
    finally:
        sandbox.clear_faults()
    logged = [c["operation"] for c in sandbox.calls() if c["service"] == "greengrass"]
    assert {"CreateDeployment", "ListDeployments"} <= set(logged)


def test_executions_not_rolled_out_yet_do_not_exist_but_their_devices_are_core_devices(
    greengrass: Any, iot: Any
) -> None:
    group, things = group_of_things(iot, 3)
    created = _deploy(greengrass, group, jobExecutionsRolloutConfig={"maximumPerMinute": 1})
    job_id = created["iotJobId"]
    [first] = execution_statuses(iot, job_id)
    later = next(t for t in things if t != first)
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFound"):
        iot.describe_job_execution(jobId=job_id, thingName=later)
    # The devices are online: their nucleus registered them as core devices, so a fleet's
    # size is known before the rollout reaches every device.
    pages = greengrass.get_paginator("list_core_devices").paginate()  # the session's devices
    listed = [d for page in pages for d in page["coreDevices"]]
    assert set(things) <= {d["coreDeviceThingName"] for d in listed}
    # Canceling the job: what was not rolled out is never created.
    iot.cancel_job(jobId=job_id)
    job = _job(iot, job_id)
    assert sum(counters(job).values()) == 1
    assert "processingTargets" not in job["jobProcessDetails"]


def test_things_in_a_thing_group_recursive_counts_child_groups(iot: Any) -> None:
    parent, direct = group_of_things(iot, 1)
    child = unique("fleet")
    parent_name = parent.rsplit("/", 1)[-1]
    iot.create_thing_group(thingGroupName=child, parentGroupName=parent_name)
    nested = unique("cam")
    iot.create_thing(thingName=nested)
    iot.add_thing_to_thing_group(thingGroupName=child, thingName=nested)

    flat = iot.list_things_in_thing_group(thingGroupName=parent_name)["things"]
    deep = iot.list_things_in_thing_group(thingGroupName=parent_name, recursive=True)["things"]
    assert flat == direct
    assert sorted(deep) == sorted([*direct, nested])
    pages = iot.get_paginator("list_things_in_thing_group").paginate(
        thingGroupName=parent_name, recursive=True, PaginationConfig={"PageSize": 1}
    )
    assert sorted(t for page in pages for t in page["things"]) == sorted(deep)
