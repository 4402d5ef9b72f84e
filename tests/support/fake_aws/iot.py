"""IoT's thing groups and the jobs Greengrass deployments run on, as the EdgeModel shell calls
them (aws/iot.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from serving_operator.planning.edgemodel.observed import DeviceFailure, ObservedJob
from tests.support.fake_aws.arns import group_arn

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingIot:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def thing_group_arn(self, name: str) -> str | None:
        self.aws.record("DescribeThingGroup", name)
        return group_arn(name) if name in self.aws.groups else None

    def describe_job(self, job_id: str) -> ObservedJob | None:
        self.aws.record("DescribeJob", job_id)
        return self.aws.jobs.get(job_id)

    def things_in_group(self, name: str) -> frozenset[str]:
        self.aws.record("ListThingsInThingGroup", name)
        return frozenset(self.aws.members.get(name, ()))

    def failed_devices(self, job_id: str) -> list[DeviceFailure]:
        self.aws.record("ListJobExecutionsForJob", job_id)
        return list(self.aws.failures.get(job_id, ()))
