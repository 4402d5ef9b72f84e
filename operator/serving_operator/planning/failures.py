"""What a failed AWS call means for a resource: wait, retry soon, or ask a person.

Shared by every kind. The AWS adapters sort errors into these categories (they know AWS's
error codes); the outcome each category leads to is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from serving_operator.planning.outcome import Outcome


class FailureCategory(StrEnum):
    TRANSIENT = "Transient"
    """Throttling, 5xx, network: AWS is busy or unreachable; retry with backoff."""
    BUSY = "Busy"
    """The object is mid-change ("...is in progress", a conflict): retry soon."""
    CREDENTIALS = "Credentials"
    """No, expired or invalid credentials: a person must configure them."""
    ACCESS_DENIED = "AccessDenied"
    """The credentials lack an IAM permission: a person must grant it."""
    REJECTED = "Rejected"
    """AWS refused the request as asked: the spec (or the AWS account) must change."""


@dataclass(frozen=True)
class AwsFailure:
    service: str
    operation: str
    code: str
    message: str
    category: FailureCategory
    iam_action: str
    """The IAM action the operation needs, e.g. sagemaker:CreateEndpoint."""

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}: {self.code}: {self.message}"


AWS_UNAVAILABLE = "AwsUnavailable"
AWS_BUSY = "AwsBusy"
AWS_CREDENTIALS = "AwsCredentials"
ACCESS_DENIED = "AccessDenied"
AWS_REJECTED = "AwsRejected"


def outcome_for_failure(failure: AwsFailure) -> Outcome:
    """Reconciling for what passes by itself, Stalled for what needs a person."""
    match failure.category:
        case FailureCategory.TRANSIENT:
            return Outcome.progressing(
                AWS_UNAVAILABLE, f"AWS is busy or unavailable, retrying: {failure}"
            )
        case FailureCategory.BUSY:
            return Outcome.progressing(
                AWS_BUSY, f"the AWS object is being changed, retrying shortly: {failure}"
            )
        case FailureCategory.CREDENTIALS:
            return Outcome.stalled(
                AWS_CREDENTIALS,
                f"no valid AWS credentials for {failure.service}.{failure.operation}"
                f" ({failure.code}: {failure.message}): give the operator credentials"
                " (IRSA or EKS Pod Identity in a cluster; AWS_PROFILE or AWS_ACCESS_KEY_ID"
                " elsewhere) and check them with `serving-operator check`",
            )
        case FailureCategory.ACCESS_DENIED:
            return Outcome.stalled(
                ACCESS_DENIED,
                f"AWS denied {failure.service}.{failure.operation}: grant the IAM action"
                f" {failure.iam_action} to the operator's role ({failure.message})",
            )
        case FailureCategory.REJECTED:
            return Outcome.stalled(AWS_REJECTED, f"AWS rejected a request: {failure}")
