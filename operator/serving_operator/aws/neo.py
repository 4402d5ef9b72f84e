"""SageMaker Neo adapter: compilation jobs (there is no boto waiter: the planner follows them)."""

from __future__ import annotations

from typing import Any

from serving_operator.aws.base import AwsError, ServiceAdapter
from serving_operator.planning.edgemodel.observed import CompilationStatus, ObservedCompilation


def _is_not_found(error: AwsError) -> bool:
    """DescribeCompilationJob and StopCompilationJob declare ResourceNotFound for a job that
    does not exist (botocore sagemaker service model): the code says it, whatever the
    message's words. Older SageMaker answers name a missing resource in a ValidationException
    instead; that one only by its message."""
    if error.code == "ResourceNotFound":
        return True
    message = error.aws_message.lower()
    return error.code == "ValidationException" and any(
        words in message for words in ("not found", "does not exist", "could not find")
    )


class Neo(ServiceAdapter):
    """Neo's operations live in the SageMaker API."""

    service = "sagemaker"

    def describe(self, job_name: str) -> ObservedCompilation | None:
        try:
            response = self.call("DescribeCompilationJob", CompilationJobName=job_name)
        except AwsError as error:
            if _is_not_found(error):
                return None
            raise
        artifacts = response.get("ModelArtifacts") or {}
        status = CompilationStatus(response["CompilationJobStatus"])
        return ObservedCompilation(
            name=job_name,
            status=status,
            # ModelArtifacts is required in every answer, but names the compiled model
            # only once the job is COMPLETED.
            artifact_uri=(artifacts.get("S3ModelArtifacts") or None)
            if status == CompilationStatus.COMPLETED
            else None,
            failure_reason=response.get("FailureReason") or None,
        )

    def create(self, job_name: str, request: dict[str, Any]) -> None:
        try:
            self.call("CreateCompilationJob", CompilationJobName=job_name, **request)
        except AwsError as error:
            # A retry after a lost answer: the job is there, which is what we wanted.
            if error.code == "ResourceInUse":
                return
            raise

    def stop(self, job_name: str) -> None:
        try:
            self.call("StopCompilationJob", CompilationJobName=job_name)
        except AwsError as error:
            if _is_not_found(error):
                return
            raise

    def delete(self, job_name: str) -> None:
        """DeleteCompilationJob (a finished job only); one gone already is done."""
        try:
            self.call("DeleteCompilationJob", CompilationJobName=job_name)
        except AwsError as error:
            if _is_not_found(error):
                return
            raise

    def list_names(self, prefix: str) -> list[str]:
        """Job names containing `prefix` (NameContains), for tools and clean-up."""
        names: list[str] = []
        params: dict[str, Any] = {"NameContains": prefix, "MaxResults": 100}
        while True:
            page = self.call("ListCompilationJobs", **params)
            names += [j["CompilationJobName"] for j in page.get("CompilationJobSummaries", [])]
            if not page.get("NextToken"):
                return names
            params["NextToken"] = page["NextToken"]
