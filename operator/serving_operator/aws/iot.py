"""AWS IoT adapter: thing groups and the jobs that carry deployments to devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from serving_operator.aws.base import AwsError, ServiceAdapter
from serving_operator.planning.edgemodel.observed import (
    FAILED_DEVICES_SHOWN,
    DeviceCounts,
    DeviceFailure,
    ObservedJob,
)

_COUNTERS = {
    "queued": "numberOfQueuedThings",
    "in_progress": "numberOfInProgressThings",
    "succeeded": "numberOfSucceededThings",
    "failed": "numberOfFailedThings",
    "rejected": "numberOfRejectedThings",
    "timed_out": "numberOfTimedOutThings",
    "removed": "numberOfRemovedThings",
    "canceled": "numberOfCanceledThings",
}


@dataclass(frozen=True)
class DeviceExecution:
    thing_name: str
    status: str
    detailed_status: str | None
    updated_at: str | None


class Iot(ServiceAdapter):
    service = "iot"

    def thing_group_arn(self, name: str) -> str | None:
        try:
            return str(self.call("DescribeThingGroup", thingGroupName=name)["thingGroupArn"])
        except AwsError as error:
            if error.code == "ResourceNotFoundException":
                return None
            raise

    def things_in_group(self, name: str) -> frozenset[str]:
        """The things in a thing group and its child groups: a group's deployment (its IoT
        job) reaches "every thing in a group and its child groups" (IoT developer guide,
        thing-groups.md), hence `recursive`."""
        things: set[str] = set()
        params: dict[str, Any] = {"thingGroupName": name, "maxResults": 250, "recursive": True}
        while True:
            page = self.call("ListThingsInThingGroup", **params)
            things.update(str(t) for t in page.get("things", []))
            if not page.get("nextToken"):
                return frozenset(things)
            params["nextToken"] = page["nextToken"]

    def describe_job(self, job_id: str) -> ObservedJob | None:
        try:
            job = self.call("DescribeJob", jobId=job_id)["job"]
        except AwsError as error:
            if error.code == "ResourceNotFoundException":
                return None
            raise
        details = job.get("jobProcessDetails") or {}
        return ObservedJob(
            job_id=job_id,
            status=str(job.get("status", "")),
            counts=DeviceCounts(**{f: int(details.get(k, 0)) for f, k in _COUNTERS.items()}),
            processing=bool(details.get("processingTargets")),
            reason_code=job.get("reasonCode") or None,
            comment=job.get("comment") or None,
            processing_targets=tuple(str(t) for t in details.get("processingTargets") or ()),
        )

    def failed_devices(self, job_id: str, limit: int = FAILED_DEVICES_SHOWN) -> list[DeviceFailure]:
        """The first `limit` devices whose execution of the job FAILED, TIMED_OUT or was
        REJECTED, each with the nucleus' deployment-failure-cause (DescribeJobExecution
        statusDetails.detailsMap; else its detailed-deployment-status)."""
        found: list[DeviceFailure] = []
        for status in ("FAILED", "TIMED_OUT", "REJECTED"):
            if len(found) >= limit:
                break
            page = self.call(
                "ListJobExecutionsForJob", jobId=job_id, status=status, maxResults=limit
            )
            for summary in page.get("executionSummaries", [])[: limit - len(found)]:
                thing = str(summary.get("thingArn", "")).rsplit("/", 1)[-1]
                details = self._details(job_id, thing)
                cause = details.get("deployment-failure-cause") or details.get(
                    "detailed-deployment-status"
                )
                found.append(DeviceFailure(thing, status, str(cause) if cause else None))
        return found

    def _details(self, job_id: str, thing_name: str) -> dict[str, Any]:
        try:
            execution = self.call("DescribeJobExecution", jobId=job_id, thingName=thing_name)
        except AwsError as error:
            if error.code == "ResourceNotFoundException":
                return {}
            raise
        return dict(
            (execution.get("execution", {}).get("statusDetails") or {}).get("detailsMap") or {}
        )

    def executions(self, job_id: str, limit: int = 1000) -> list[DeviceExecution]:
        """Each device's execution of a job (first `limit`), with Greengrass's detail."""
        found: list[DeviceExecution] = []
        params: dict[str, Any] = {"jobId": job_id, "maxResults": 100}
        while len(found) < limit:
            page = self.call("ListJobExecutionsForJob", **params)
            for summary in page.get("executionSummaries", []):
                execution = summary.get("jobExecutionSummary", {})
                thing = str(summary.get("thingArn", "")).rsplit("/", 1)[-1]
                found.append(
                    DeviceExecution(
                        thing,
                        str(execution.get("status", "")),
                        None,
                        _time(execution.get("lastUpdatedAt")),
                    )
                )
            if not page.get("nextToken"):
                break
            params["nextToken"] = page["nextToken"]
        return found[:limit]

    def execution_detail(self, job_id: str, thing_name: str) -> str | None:
        """Greengrass's detailed-deployment-status of one device."""
        execution = self.call("DescribeJobExecution", jobId=job_id, thingName=thing_name)
        details = (execution.get("execution", {}).get("statusDetails") or {}).get(
            "detailsMap"
        ) or {}
        value = details.get("detailed-deployment-status")
        return str(value) if value else None


def _time(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)
