"""AWS IoT jobs that run, where moto's stay QUEUED forever (and answer DescribeJob with the
invalid status "QUEUED", count one queued thing whatever the target, never expand groups).

A job targets things and thing groups (moto's IoT keeps those; a group counts its child
groups' things too): one execution per thing, rolled out (created QUEUED and notified) at the
job's rollout rate. Until the rollout reaches a thing its execution does not exist for the
APIs: jobProcessDetails, ListJobExecutionsForJob/ForThing and DescribeJobExecution see only
the executions rolled out so far, and `processingTargets` names the job's targets while some
are still to be rolled out (AWS IoT developer guide, iot-jobs-lifecycle.md: "When AWS IoT
Jobs rolls out a job execution for a target device, the job execution status is set to
QUEUED"; jobs-configurations-details.md: the rollout "will start at a rate of 50 job
executions per minute"). Each `advance()`:

- a continuous job picks up things added to its groups (to be rolled out) and marks
  REMOVED the rolled-out, not yet finished executions of things that left them (one not
  rolled out yet is simply never created);
- the rollout rolls out executions, at most jobExecutionsRolloutConfig.maximumPerMinute a
  minute, or at exponentialRate's rate (baseRatePerMinute, times incrementFactor each time
  rateIncreaseCriteria's number of things were notified or succeeded since the last raise);
  1000 a minute (IoT's maximum) without a rollout config;
- a notified device that is online starts its execution (IN_PROGRESS) after
  devicePickupSeconds, and after deviceApplySeconds ends it with the outcome it was told to
  have (admin API, below): SUCCEEDED, FAILED, REJECTED, or none (it stays IN_PROGRESS); a
  device that stays offline leaves its execution QUEUED forever (AWS: the in-progress
  timeout only starts at IN_PROGRESS); a succeeding device that runs lifecycles (the
  runLifecycles setting, or the entry's runLifecycle) carries a Greengrass deployment out
  for real from IN_PROGRESS on (nucleus.py), and its execution ends, no earlier than
  deviceApplySeconds, with what that gave: SUCCEEDED, or FAILED with the nucleus' details;
- timeoutConfig.inProgressTimeoutInMinutes ends an execution IN_PROGRESS that long as
  TIMED_OUT;
- abortConfig: once more than minNumberOfExecutedThings things have received the job (their
  executions rolled out, not removed or canceled) and those of the criterion's failureType
  (ALL: FAILED, REJECTED or TIMED_OUT) are more than thresholdPercentage of the executions
  that finished (SUCCEEDED, FAILED, REJECTED, TIMED_OUT), the job is CANCELED: its QUEUED
  executions with it, while IN_PROGRESS ones go on to their outcome (GGv2 API
  IoTJobAbortCriteria: the deployment stops when "the number of things that receive the
  deployment exceeds the minNumberOfExecutedThings" and "the percentage of failures with
  type failureType exceeds the thresholdPercentage"; IoT developer guide,
  jobs-configurations-details.md: on abort only QUEUED executions are canceled);
- a snapshot job is COMPLETED once every execution has finished; a continuous one stays
  IN_PROGRESS until it is canceled.

"Minutes" are jobMinuteSeconds long (edge_settings.py). Device outcomes come from the admin
API's device table: {"thingName": glob, "outcome": "succeed" | "fail" | "reject" |
"timeout" | "offline", "detailedStatus": ..., "reason": ..., "platform": {...},
"runLifecycle": true | false | null}; the first
entry whose glob matches a thing wins, and a thing no entry matches succeeds. A failing
Greengrass device reports detailed-deployment-status FAILED_ROLLBACK_COMPLETE when its
deployment asks for ROLLBACK, FAILED_ROLLBACK_NOT_REQUESTED otherwise, unless the entry
names another.

The job APIs (CreateJob, DescribeJob, ListJobs, CancelJob, DeleteJob, GetJobDocument,
ListJobExecutionsForJob, ListJobExecutionsForThing, DescribeJobExecution,
CancelJobExecution) are answered here; things and groups stay moto's.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox.edge_settings import EdgeSettings
from serving_operator.sandbox.moto_internals import IoTBackend
from serving_operator.sandbox.nucleus import DeviceRun
from serving_operator.sandbox.rest import rest_error, rest_page, rest_response
from serving_operator.sandbox.wire import AwsRequest

UNLIMITED_PER_MINUTE = 1000  # IoT's ceiling on maximumPerMinute, and its default rate
FINISHED = frozenset({"SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "REMOVED", "CANCELED"})
EXECUTED = frozenset({"SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"})
"""Executions that ran to an outcome: what abort criteria count."""
_FAILURE_TYPES = {
    "FAILED": frozenset({"FAILED"}),
    "REJECTED": frozenset({"REJECTED"}),
    "TIMED_OUT": frozenset({"TIMED_OUT"}),
    "ALL": frozenset({"FAILED", "REJECTED", "TIMED_OUT"}),
}
_COUNTERS = {
    "QUEUED": "numberOfQueuedThings",
    "IN_PROGRESS": "numberOfInProgressThings",
    "SUCCEEDED": "numberOfSucceededThings",
    "FAILED": "numberOfFailedThings",
    "REJECTED": "numberOfRejectedThings",
    "TIMED_OUT": "numberOfTimedOutThings",
    "REMOVED": "numberOfRemovedThings",
    "CANCELED": "numberOfCanceledThings",
}
OUTCOMES = ("succeed", "fail", "reject", "timeout", "offline")
DEFAULT_PLATFORM = {"os": "linux", "architecture": "aarch64"}


@dataclass
class DeviceBehaviour:
    """What a device does with the job executions it is sent (admin API)."""

    thing_pattern: str
    outcome: str = "succeed"
    detailed_status: str | None = None
    reason: str | None = None
    platform: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PLATFORM))
    run_lifecycle: bool | None = None
    """Whether a succeeding device runs the recipes' lifecycles (None: the runLifecycles
    setting decides)."""
    only_for: str | None = None
    """The outcome applies only to jobs whose document names this (e.g. a component
    version: a device broken by one version takes the version before it again); other jobs
    succeed."""
    except_for: str | None = None
    """The outcome applies only to jobs whose document does not name this (e.g. the version
    a device ran before: whatever version comes next breaks it, and rolling back to this one
    succeeds), for tests that cannot know the next version's name in advance."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceBehaviour:
        outcome = str(data.get("outcome", "succeed"))
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        return cls(
            thing_pattern=str(data.get("thingName", "*")),
            outcome=outcome,
            detailed_status=data.get("detailedStatus"),
            reason=data.get("reason"),
            platform={**DEFAULT_PLATFORM, **(data.get("platform") or {})},
            run_lifecycle=_optional_bool(data.get("runLifecycle")),
            only_for=data.get("onlyFor"),
            except_for=data.get("exceptFor"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "thingName": self.thing_pattern,
            "outcome": self.outcome,
            "detailedStatus": self.detailed_status,
            "reason": self.reason,
            "platform": self.platform,
            "runLifecycle": self.run_lifecycle,
            "onlyFor": self.only_for,
            "exceptFor": self.except_for,
        }


def _optional_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"runLifecycle must be true, false or null, got {value!r}")


@dataclass(frozen=True)
class Failure:
    """How a device fails an execution on its own (e.g. no component version fits it)."""

    detailed_status: str
    reason: str
    error_stack: tuple[str, ...] = ()
    error_types: tuple[str, ...] = ()


@dataclass
class Execution:
    thing_name: str
    thing_arn: str
    queued_at: float
    status: str = "QUEUED"
    started_at: float | None = None
    last_updated: float = 0.0
    notified_at: float | None = None
    pickup_due: float | None = None
    apply_due: float | None = None
    details: dict[str, str] = field(default_factory=dict)
    force_canceled: bool = False
    version: int = 1
    offline_at: float | None = None
    """When its device was last seen offline while the execution waited for it."""
    device_run: DeviceRun | None = None
    """The deployment its device is carrying out for real (nucleus.py), if it runs lifecycles."""

    @property
    def rolled_out(self) -> bool:
        """Whether the job's rollout has reached it (before that, it does not exist for
        the APIs)."""
        return self.notified_at is not None or self.status != "QUEUED"

    def set_status(self, status: str, at: float, details: dict[str, str] | None = None) -> None:
        self.status, self.last_updated = status, at
        self.version += 1
        if details is not None:
            self.details = details
        if status in FINISHED:
            self.pickup_due = self.apply_due = None

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "status": self.status,
            "queuedAt": self.queued_at,
            "lastUpdatedAt": self.last_updated,
            "executionNumber": 1,
        }
        if self.started_at is not None:
            summary["startedAt"] = self.started_at
        return summary


@dataclass
class Job:
    job_id: str
    arn: str
    account: str
    region: str
    targets: list[str]
    target_selection: str
    document: str
    description: str | None
    rollout: dict[str, Any]
    abort: dict[str, Any]
    timeout: dict[str, Any]
    created: float
    status: str = "IN_PROGRESS"
    last_updated: float = 0.0
    completed: float | None = None
    force_canceled: bool = False
    comment: str | None = None
    reason_code: str | None = None
    executions: dict[str, Execution] = field(default_factory=dict)
    """Thing name -> its execution, in queueing order."""
    failure_detail: str = "FAILED_ROLLBACK_NOT_REQUESTED"
    """The detailed-deployment-status a failing Greengrass device reports."""
    preflight: Callable[[str, dict[str, str]], Failure | None] | None = None
    """How a device (name, platform) fails this job by itself, before any told outcome."""
    device_run: Callable[[str, dict[str, str]], DeviceRun] | None = None
    """Starts the job's deployment on a device (name, platform) that runs lifecycles."""
    notifications: list[float] = field(default_factory=list)
    rate_per_minute: float = UNLIMITED_PER_MINUTE
    raised_at_notified: int = 0
    raised_at_succeeded: int = 0

    def rolled_out(self) -> dict[str, Execution]:
        """Thing name -> execution, for the executions the rollout has created so far."""
        return {name: e for name, e in self.executions.items() if e.rolled_out}

    def counts(self) -> dict[str, int]:
        """jobProcessDetails' counters: only executions rolled out so far."""
        counts = dict.fromkeys(_COUNTERS.values(), 0)
        for execution in self.rolled_out().values():
            counts[_COUNTERS[execution.status]] += 1
        return counts

    def process_details(self) -> dict[str, Any]:
        details: dict[str, Any] = dict(self.counts())
        if self.status == "IN_PROGRESS" and any(not e.rolled_out for e in self.executions.values()):
            details["processingTargets"] = list(self.targets)
        return details

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "jobArn": self.arn,
            "jobId": self.job_id,
            "targetSelection": self.target_selection,
            "status": self.status,
            "forceCanceled": self.force_canceled,
            "targets": list(self.targets),
            "createdAt": self.created,
            "lastUpdatedAt": self.last_updated,
            "jobProcessDetails": self.process_details(),
            "isConcurrent": False,
        }
        optional: dict[str, Any] = {
            "description": self.description,
            "comment": self.comment,
            "reasonCode": self.reason_code,
            "completedAt": self.completed,
            "jobExecutionsRolloutConfig": self.rollout or None,
            "abortConfig": self.abort or None,
            "timeoutConfig": self.timeout or None,
        }
        described.update({key: value for key, value in optional.items() if value is not None})
        return described

    def summary(self, group_ids: dict[str, str]) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "jobArn": self.arn,
            "jobId": self.job_id,
            "targetSelection": self.target_selection,
            "status": self.status,
            "createdAt": self.created,
            "lastUpdatedAt": self.last_updated,
            "isConcurrent": False,
        }
        group_id = next((group_ids[t] for t in self.targets if t in group_ids), None)
        if group_id:
            summary["thingGroupId"] = group_id
        if self.completed is not None:
            summary["completedAt"] = self.completed
        return summary


def iot_backend(account: str, region: str) -> IoTBackend:
    return get_backend("iot")[account][region]


def things_targeted(backend: IoTBackend, targets: Iterable[str]) -> dict[str, str]:
    """Thing name -> thing ARN of every thing a job's targets name, child groups included."""
    found: dict[str, str] = {}
    groups = list(backend.thing_groups.values())
    for target in targets:
        if ":thing/" in target:
            name = target.rsplit("/", 1)[-1]
            thing = next((t for t in backend.things.values() if t.thing_name == name), None)
            if thing is not None:
                found[name] = thing.arn
        elif ":thinggroup/" in target:
            pending = [target.rsplit("/", 1)[-1]]
            seen: set[str] = set()
            while pending:
                group_name = pending.pop()
                if group_name in seen:
                    continue
                seen.add(group_name)
                for group in groups:
                    if group.thing_group_name == group_name:
                        for arn, thing in group.things.items():
                            found[thing.thing_name] = arn
                    elif group.parent_group_name == group_name:
                        pending.append(group.thing_group_name)
    return found


def target_exists(account: str, region: str, target: str) -> bool:
    backend = iot_backend(account, region)
    name = target.rsplit("/", 1)[-1]
    if ":thing/" in target:
        return any(t.thing_name == name for t in backend.things.values())
    if ":thinggroup/" in target:
        return any(g.thing_group_name == name for g in backend.thing_groups.values())
    return False


class IotJobs:
    """Every IoT job of the sandbox, run as AWS runs them; device outcomes on demand."""

    def __init__(self, settings: EdgeSettings, account_of: Callable[[str], str]) -> None:
        self.settings = settings
        self.account_of = account_of
        self.lock = threading.RLock()
        self.jobs: dict[tuple[str, str, str], Job] = {}
        self.devices: list[DeviceBehaviour] = []
        self.handlers: dict[str, Callable[[AwsRequest], Response]] = {
            "CreateJob": self._create_job,
            "DescribeJob": self._describe_job,
            "ListJobs": self._list_jobs,
            "CancelJob": self._cancel_job,
            "UpdateJob": self._update_job,
            "DeleteJob": self._delete_job,
            "GetJobDocument": self._get_job_document,
            "ListJobExecutionsForJob": self._list_executions_for_job,
            "ListJobExecutionsForThing": self._list_executions_for_thing,
            "DescribeJobExecution": self._describe_execution,
            "CancelJobExecution": self._cancel_execution,
            "ListThingsInThingGroup": self._list_things_in_thing_group,
        }

    # -- devices (admin API) ------------------------------------------------------------
    def set_device(self, data: dict[str, Any]) -> None:
        behaviour = DeviceBehaviour.from_json(data)
        with self.lock:
            # The newest entry for the same glob replaces the older one.
            self.devices = [d for d in self.devices if d.thing_pattern != behaviour.thing_pattern]
            self.devices.insert(0, behaviour)

    def clear_devices(self) -> None:
        with self.lock:
            self.devices.clear()

    def device(self, thing_name: str, document: str = "") -> DeviceBehaviour:
        match = next(
            (d for d in self.devices if fnmatch.fnmatchcase(thing_name, d.thing_pattern)), None
        )
        if match is not None and (
            (match.only_for is not None and match.only_for not in document)
            or (match.except_for is not None and match.except_for in document)
        ):
            return DeviceBehaviour(
                thing_name, platform=dict(match.platform), run_lifecycle=match.run_lifecycle
            )
        return match or DeviceBehaviour(thing_name)

    # -- jobs ---------------------------------------------------------------------------
    def create_job(
        self,
        account: str,
        region: str,
        targets: list[str],
        *,
        job_id: str | None = None,
        target_selection: str = "SNAPSHOT",
        document: str = "{}",
        description: str | None = None,
        rollout: dict[str, Any] | None = None,
        abort: dict[str, Any] | None = None,
        timeout: dict[str, Any] | None = None,
        failure_detail: str = "FAILED_ROLLBACK_NOT_REQUESTED",
        preflight: Callable[[str, dict[str, str]], Failure | None] | None = None,
        device_run: Callable[[str, dict[str, str]], DeviceRun] | None = None,
    ) -> Job:
        job_id = job_id or str(uuid.uuid4())
        now = time.time()
        job = Job(
            job_id=job_id,
            arn=f"arn:aws:iot:{region}:{account}:job/{job_id}",
            account=account,
            region=region,
            targets=targets,
            target_selection=target_selection,
            document=document,
            description=description,
            rollout=rollout or {},
            abort=abort or {},
            timeout=timeout or {},
            created=now,
            last_updated=now,
            failure_detail=failure_detail,
            preflight=preflight,
            device_run=device_run,
        )
        exponential = job.rollout.get("exponentialRate")
        if exponential:
            job.rate_per_minute = float(exponential["baseRatePerMinute"])
        elif job.rollout.get("maximumPerMinute"):
            job.rate_per_minute = float(job.rollout["maximumPerMinute"])
        with self.lock:
            for name, arn in things_targeted(iot_backend(account, region), targets).items():
                job.executions[name] = Execution(name, arn, queued_at=now, last_updated=now)
            self.jobs[(account, region, job_id)] = job
            self._run(job, now)
        return job

    def cancel(
        self,
        job: Job,
        *,
        force: bool = False,
        comment: str | None = None,
        reason_code: str | None = None,
        now: float | None = None,
    ) -> None:
        """CancelJob: QUEUED executions are canceled (IN_PROGRESS ones too when forced)."""
        now = time.time() if now is None else now
        with self.lock:
            job.status, job.last_updated = "CANCELED", now
            job.completed = job.completed or now
            job.force_canceled = job.force_canceled or force
            job.comment = comment or job.comment
            job.reason_code = reason_code or job.reason_code
            # Executions not rolled out yet are never created.
            job.executions = job.rolled_out()
            for execution in job.executions.values():
                if execution.status == "QUEUED" or (force and execution.status == "IN_PROGRESS"):
                    execution.force_canceled = execution.status == "IN_PROGRESS"
                    execution.set_status("CANCELED", now)

    def delete(self, job: Job) -> None:
        with self.lock:
            self.jobs.pop((job.account, job.region, job.job_id), None)

    def job(self, account: str, region: str, job_id: str) -> Job | None:
        return self.jobs.get((account, region, job_id))

    # -- time ---------------------------------------------------------------------------
    def advance(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.lock:
            for job in list(self.jobs.values()):
                if job.status == "IN_PROGRESS":
                    self._run(job, now)
                else:
                    # A job canceled without force leaves its devices to finish what they
                    # have started.
                    self._finish_started(job, now)

    def _finish_started(self, job: Job, now: float) -> None:
        timeout_seconds = self._timeout_seconds(job)
        for execution in job.executions.values():
            if execution.status == "IN_PROGRESS":
                self._drive(job, execution, now, timeout_seconds)

    def _timeout_seconds(self, job: Job) -> float | None:
        minutes = job.timeout.get("inProgressTimeoutInMinutes")
        return float(minutes) * self.settings.job_minute_seconds if minutes else None

    def _run(self, job: Job, now: float) -> None:
        if job.target_selection == "CONTINUOUS":
            self._follow_membership(job, now)
        self._notify(job, now)
        timeout_seconds = self._timeout_seconds(job)
        for execution in job.executions.values():
            self._drive(job, execution, now, timeout_seconds)
        if self._should_abort(job):
            self._abort(job, now)
        elif job.target_selection == "SNAPSHOT" and all(
            e.status in FINISHED for e in job.executions.values()
        ):
            job.status, job.completed, job.last_updated = "COMPLETED", now, now

    def _follow_membership(self, job: Job, now: float) -> None:
        members = things_targeted(iot_backend(job.account, job.region), job.targets)
        for name, arn in members.items():
            if name not in job.executions:
                job.executions[name] = Execution(name, arn, queued_at=now, last_updated=now)
                job.last_updated = now
        for name, execution in list(job.executions.items()):
            if name in members or execution.status in FINISHED:
                continue
            if execution.rolled_out:
                execution.set_status("REMOVED", now)
                job.last_updated = now
            else:
                del job.executions[name]

    def _notify(self, job: Job, now: float) -> None:
        minute = self.settings.job_minute_seconds
        job.notifications = [t for t in job.notifications if t > now - minute]
        for execution in job.executions.values():
            if execution.status != "QUEUED" or execution.notified_at is not None:
                continue
            self._raise_rate(job)
            if len(job.notifications) >= max(1, int(job.rate_per_minute)):
                return
            execution.notified_at = execution.queued_at = execution.last_updated = now
            job.notifications.append(now)

    def _raise_rate(self, job: Job) -> None:
        """exponentialRate: raise the rate each time its criteria are met anew."""
        exponential = job.rollout.get("exponentialRate")
        if not exponential:
            return
        criteria = exponential.get("rateIncreaseCriteria") or {}
        notified = sum(1 for e in job.executions.values() if e.notified_at is not None)
        succeeded = sum(1 for e in job.executions.values() if e.status == "SUCCEEDED")
        by_notified = criteria.get("numberOfNotifiedThings")
        by_succeeded = criteria.get("numberOfSucceededThings")
        if (by_notified and notified - job.raised_at_notified >= by_notified) or (
            by_succeeded and succeeded - job.raised_at_succeeded >= by_succeeded
        ):
            job.rate_per_minute = min(
                UNLIMITED_PER_MINUTE, job.rate_per_minute * float(exponential["incrementFactor"])
            )
            job.raised_at_notified, job.raised_at_succeeded = notified, succeeded

    def _drive(
        self, job: Job, execution: Execution, now: float, timeout_seconds: float | None
    ) -> None:
        """Move one execution along as its device would, up to now."""
        behaviour = self.device(execution.thing_name, job.document)
        if execution.status == "QUEUED" and execution.notified_at is not None:
            if behaviour.outcome == "offline":
                execution.pickup_due, execution.offline_at = None, now
                return
            if execution.pickup_due is None:
                # A device back online picks the job up from then, not from the notification.
                noticed = max(execution.notified_at, execution.offline_at or 0.0)
                execution.pickup_due = noticed + self.settings.device_pickup_seconds
            if execution.pickup_due <= now:
                started = execution.pickup_due
                execution.started_at = started
                execution.set_status("IN_PROGRESS", started, {})
                execution.apply_due = started + self.settings.device_apply_seconds
                job.last_updated = started
                self._start_device_run(job, execution, behaviour)
        if execution.status != "IN_PROGRESS":
            return
        timeout_due = (
            execution.started_at + timeout_seconds
            if timeout_seconds is not None and execution.started_at is not None
            else None
        )
        apply_due = execution.apply_due
        if (
            apply_due is not None
            and apply_due <= now
            and (timeout_due is None or apply_due <= timeout_due)
        ):
            self._apply(job, execution, behaviour, apply_due)
        elif timeout_due is not None and timeout_due <= now:
            execution.set_status("TIMED_OUT", timeout_due)
            job.last_updated = timeout_due

    def runs_lifecycles(self, behaviour: DeviceBehaviour) -> bool:
        if behaviour.run_lifecycle is not None:
            return behaviour.run_lifecycle
        return self.settings.run_lifecycles

    def _start_device_run(self, job: Job, execution: Execution, behaviour: DeviceBehaviour) -> None:
        """A succeeding device that runs lifecycles starts carrying the deployment out as
        it picks the execution up, unless it cannot even resolve it."""
        if (
            job.device_run is None
            or behaviour.outcome != "succeed"
            or not self.runs_lifecycles(behaviour)
        ):
            return
        if job.preflight is not None and job.preflight(execution.thing_name, behaviour.platform):
            return
        execution.device_run = job.device_run(execution.thing_name, behaviour.platform)

    def _apply(self, job: Job, execution: Execution, behaviour: DeviceBehaviour, at: float) -> None:
        execution.apply_due = None
        if behaviour.outcome in ("timeout", "offline"):
            return  # the device never reports back: IN_PROGRESS until a timeout, if any
        run = execution.device_run
        if behaviour.outcome == "succeed" and run is not None:
            if not run.done() or run.result is None:
                execution.apply_due = at  # still installing: look again at the next tick
                return
            finished = max(at, run.finished_at)
            status = "SUCCEEDED" if run.result.succeeded else "FAILED"
            execution.set_status(status, finished, dict(run.result.details))
            job.last_updated = finished
            return
        failure = job.preflight(execution.thing_name, behaviour.platform) if job.preflight else None
        if behaviour.outcome == "reject":
            details = {"detailed-deployment-status": behaviour.detailed_status or "REJECTED"}
            if behaviour.reason:
                details["deployment-failure-cause"] = behaviour.reason
            execution.set_status("REJECTED", at, details)
        elif behaviour.outcome == "fail":
            reason = behaviour.reason or "The device was told to fail this deployment."
            execution.set_status(
                "FAILED",
                at,
                {
                    "detailed-deployment-status": behaviour.detailed_status or job.failure_detail,
                    "deployment-failure-cause": reason,
                    "deployment-error-stack": json.dumps(
                        ["DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN"]
                    ),
                    "deployment-error-types": json.dumps(["COMPONENT_ERROR"]),
                },
            )
        elif failure is not None:
            execution.set_status(
                "FAILED",
                at,
                {
                    "detailed-deployment-status": failure.detailed_status,
                    "deployment-failure-cause": failure.reason,
                    "deployment-error-stack": json.dumps(list(failure.error_stack)),
                    "deployment-error-types": json.dumps(list(failure.error_types)),
                },
            )
        else:
            execution.set_status("SUCCEEDED", at, {"detailed-deployment-status": "SUCCESSFUL"})
        job.last_updated = at

    def _should_abort(self, job: Job) -> bool:
        """The abort criteria as the GGv2 API reference words them (module docstring):
        strictly more things received than minNumberOfExecutedThings, strictly more
        failures than thresholdPercentage."""
        received = [e for e in job.rolled_out().values() if e.status not in ("REMOVED", "CANCELED")]
        executed = [e for e in received if e.status in EXECUTED]
        for criterion in job.abort.get("criteriaList") or []:
            if len(received) <= int(criterion.get("minNumberOfExecutedThings", 1)):
                continue
            if not executed:
                continue
            kinds = _FAILURE_TYPES.get(criterion.get("failureType", "ALL"), frozenset())
            failures = sum(1 for e in executed if e.status in kinds)
            if failures * 100.0 / len(executed) > float(criterion["thresholdPercentage"]):
                return True
        return False

    def _abort(self, job: Job, now: float) -> None:
        # Not forced: devices already installing finish (and report) what they started.
        self.cancel(
            job,
            comment="The job's abort criteria were met.",
            reason_code="ABORTED",
            now=now,
        )

    # -- IoT operations -----------------------------------------------------------------
    def _scope(self, request: AwsRequest) -> tuple[str, str]:
        return self.account_of(request.access_key), request.region

    def _requested_job(self, request: AwsRequest) -> Job | None:
        account, region = self._scope(request)
        return self.job(account, region, request.path_params.get("jobId", ""))

    @staticmethod
    def _no_job(request: AwsRequest) -> Response:
        job_id = request.path_params.get("jobId", "")
        return rest_error("ResourceNotFoundException", f"Job {job_id} does not exist.", 404)

    def _create_job(self, request: AwsRequest) -> Response:
        params = request.json()
        account, region = self._scope(request)
        job_id = request.path_params.get("jobId", "")
        targets = list(params.get("targets") or [])
        with self.lock:
            if self.job(account, region, job_id) is not None:
                return rest_error(
                    "ResourceAlreadyExistsException", f"Job {job_id} already exists.", 409
                )
            missing = [t for t in targets if not target_exists(account, region, t)]
            if missing:
                return rest_error(
                    "InvalidRequestException", f"Targets do not exist: {', '.join(missing)}", 400
                )
            job = self.create_job(
                account,
                region,
                targets,
                job_id=job_id,
                target_selection=params.get("targetSelection", "SNAPSHOT"),
                document=params.get("document") or "{}",
                description=params.get("description"),
                rollout=params.get("jobExecutionsRolloutConfig"),
                abort=params.get("abortConfig"),
                timeout=params.get("timeoutConfig"),
            )
            answer = {"jobArn": job.arn, "jobId": job.job_id}
            if job.description:
                answer["description"] = job.description
            return rest_response(answer)

    def _describe_job(self, request: AwsRequest) -> Response:
        with self.lock:
            job = self._requested_job(request)
            if job is None:
                return self._no_job(request)
            return rest_response({"job": job.describe()})

    def _get_job_document(self, request: AwsRequest) -> Response:
        with self.lock:
            job = self._requested_job(request)
            if job is None:
                return self._no_job(request)
            return rest_response({"document": job.document})

    def _list_jobs(self, request: AwsRequest) -> Response:
        account, region = self._scope(request)
        query = request.query
        backend = iot_backend(account, region)
        group_ids = {g.arn: g.thing_group_id for g in backend.thing_groups.values()}
        group_arns = {
            g.thing_group_name: g.arn
            for g in backend.thing_groups.values()
            if g.thing_group_name == query.get("thingGroupName")
            or g.thing_group_id == query.get("thingGroupId")
        }
        with self.lock:
            jobs = [
                job
                for (job_account, job_region, _), job in self.jobs.items()
                if (job_account, job_region) == (account, region)
                and query.get("status", job.status) == job.status
                and query.get("targetSelection", job.target_selection) == job.target_selection
                and (
                    not ("thingGroupName" in query or "thingGroupId" in query)
                    or any(t in group_arns.values() for t in job.targets)
                )
            ]
            return rest_page(request.query, "jobs", [job.summary(group_ids) for job in jobs], 100)

    def _cancel_job(self, request: AwsRequest) -> Response:
        params = request.json()
        with self.lock:
            job = self._requested_job(request)
            if job is None:
                return self._no_job(request)
            if job.status == "COMPLETED":
                # CancelJob declares InvalidRequestException (400), ResourceNotFound,
                # Throttling, ServiceUnavailable and LimitExceeded, not InvalidState
                # Transition (iot service-2.json; IoT API reference, CancelJob "Errors"):
                # a job that is done is a request CancelJob cannot carry out.
                return rest_error(
                    "InvalidRequestException",
                    f"Job {job.job_id} is COMPLETED and cannot be canceled.",
                    400,
                )
            self.cancel(
                job,
                force=request.query.get("force", "false").lower() == "true",
                comment=params.get("comment"),
                reason_code=params.get("reasonCode"),
            )
            answer = {"jobArn": job.arn, "jobId": job.job_id}
            if job.description:
                answer["description"] = job.description
            return rest_response(answer)

    def _update_job(self, request: AwsRequest) -> Response:
        """UpdateJob: a job's description and its rollout, abort and timeout configuration
        (Greengrass revises a deployment's job with the caller's permissions; iot
        service-2.json UpdateJob, no output members). A job that is done cannot change."""
        params = request.json()
        with self.lock:
            job = self._requested_job(request)
            if job is None:
                return self._no_job(request)
            if job.status != "IN_PROGRESS":
                return rest_error(
                    "InvalidRequestException",
                    f"Job {job.job_id} is {job.status} and cannot be updated.",
                    400,
                )
            if "description" in params:
                job.description = params["description"]
            for member, attribute in (
                ("jobExecutionsRolloutConfig", "rollout"),
                ("abortConfig", "abort"),
                ("timeoutConfig", "timeout"),
            ):
                if member in params:
                    setattr(job, attribute, dict(params[member] or {}))
            job.last_updated = time.time()
            return rest_response(None)

    def _delete_job(self, request: AwsRequest) -> Response:
        with self.lock:
            job = self._requested_job(request)
            if job is None:
                return self._no_job(request)
            forced = request.query.get("force", "false").lower() == "true"
            if job.status == "IN_PROGRESS" and not forced:
                return rest_error(
                    "InvalidStateTransitionException",
                    f"Job {job.job_id} is IN_PROGRESS: cancel it first, or delete it with force.",
                    409,
                )
            self.delete(job)
            return rest_response(None)

    def _list_things_in_thing_group(self, request: AwsRequest) -> Response:
        """moto's, with `recursive` (which moto ignores): child groups' things too, as IoT
        jobs reach them (IoT developer guide, thing-groups.md)."""
        account, region = self._scope(request)
        name = request.path_params.get("thingGroupName", "")
        backend = iot_backend(account, region)
        group = next((g for g in backend.thing_groups.values() if g.thing_group_name == name), None)
        if group is None:
            return rest_error(
                "ResourceNotFoundException", f"Thing Group {name} does not exist", 404
            )
        if request.query.get("recursive", "false").lower() == "true":
            things = sorted(things_targeted(backend, [group.arn]))
        else:
            things = sorted(t.thing_name for t in group.things.values())
        start = int(request.query.get("nextToken") or 0)
        size = int(request.query.get("maxResults") or 25)
        answer: dict[str, Any] = {"things": things[start : start + size]}
        if start + size < len(things):
            answer["nextToken"] = str(start + size)
        return rest_response(answer)

    def _list_executions_for_job(self, request: AwsRequest) -> Response:
        with self.lock:
            job = self._requested_job(request)
            if job is None:
                return self._no_job(request)
            wanted = request.query.get("status")
            summaries = [
                {"thingArn": e.thing_arn, "jobExecutionSummary": e.summary()}
                for e in job.rolled_out().values()
                if wanted in (None, e.status)
            ]
            return rest_page(request.query, "executionSummaries", summaries, 100)

    def _list_executions_for_thing(self, request: AwsRequest) -> Response:
        account, region = self._scope(request)
        thing = request.path_params.get("thingName", "")
        wanted = request.query.get("status")
        with self.lock:
            summaries = [
                {"jobId": job.job_id, "jobExecutionSummary": job.executions[thing].summary()}
                for (job_account, job_region, _), job in self.jobs.items()
                if (job_account, job_region) == (account, region)
                and thing in job.rolled_out()
                and wanted in (None, job.executions[thing].status)
                and request.query.get("jobId", job.job_id) == job.job_id
            ]
            return rest_page(request.query, "executionSummaries", summaries, 100)

    def _execution(self, request: AwsRequest) -> tuple[Job | None, Execution | None]:
        job = self._requested_job(request)
        if job is None:
            return None, None
        return job, job.rolled_out().get(request.path_params.get("thingName", ""))

    def _describe_execution(self, request: AwsRequest) -> Response:
        with self.lock:
            job, execution = self._execution(request)
            if job is None or execution is None:
                thing = request.path_params.get("thingName", "")
                return rest_error(
                    "ResourceNotFoundException",
                    f"No job execution of job {request.path_params.get('jobId')} for thing"
                    f" {thing}.",
                    404,
                )
            described: dict[str, Any] = {
                "jobId": job.job_id,
                "thingArn": execution.thing_arn,
                **{k: v for k, v in execution.summary().items() if k != "executionNumber"},
                "forceCanceled": execution.force_canceled,
                "statusDetails": {"detailsMap": dict(execution.details)},
                "executionNumber": 1,
                "versionNumber": execution.version,
            }
            timeout_minutes = job.timeout.get("inProgressTimeoutInMinutes")
            if execution.status == "IN_PROGRESS" and timeout_minutes and execution.started_at:
                left = (
                    execution.started_at
                    + timeout_minutes * self.settings.job_minute_seconds
                    - time.time()
                )
                described["approximateSecondsBeforeTimedOut"] = max(0, int(left))
            return rest_response({"execution": described})

    def _cancel_execution(self, request: AwsRequest) -> Response:
        with self.lock:
            job, execution = self._execution(request)
            if job is None or execution is None:
                return rest_error("ResourceNotFoundException", "No such job execution.", 404)
            forced = request.query.get("force", "false").lower() == "true"
            if execution.status in FINISHED or (execution.status == "IN_PROGRESS" and not forced):
                return rest_error(
                    "InvalidStateTransitionException",
                    f"The job execution is {execution.status} and cannot be canceled"
                    + ("" if execution.status in FINISHED else " without force")
                    + ".",
                    409,
                )
            execution.force_canceled = execution.status == "IN_PROGRESS"
            execution.set_status("CANCELED", time.time())
            return rest_response(None)
