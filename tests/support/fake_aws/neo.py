"""SageMaker Neo's compilation jobs, as the EdgeModel shell calls them (aws/neo.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from serving_operator.planning.edgemodel.observed import CompilationStatus, ObservedCompilation

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingNeo:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def describe(self, job_name: str) -> ObservedCompilation | None:
        self.aws.record("DescribeCompilationJob", job_name)
        return self.aws.compilations.get(job_name)

    def create(self, job_name: str, request: dict[str, Any]) -> None:
        self.aws.record("CreateCompilationJob", job_name)
        self.aws.compilations.setdefault(
            job_name, ObservedCompilation(job_name, CompilationStatus.STARTING)
        )

    def delete(self, job_name: str) -> None:
        self.aws.record("DeleteCompilationJob", job_name)
        self.aws.compilations.pop(job_name, None)

    def stop(self, job_name: str) -> None:
        self.aws.record("StopCompilationJob", job_name)
        job = self.aws.compilations.get(job_name)
        if job is not None:
            self.aws.compilations[job_name] = replace(job, status=CompilationStatus.STOPPING)
