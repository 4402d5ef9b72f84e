"""What the AWS adapters report: plain, immutable records the planners read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EndpointStatus(StrEnum):
    """SageMaker's EndpointStatus values."""

    OUT_OF_SERVICE = "OutOfService"
    CREATING = "Creating"
    UPDATING = "Updating"
    SYSTEM_UPDATING = "SystemUpdating"
    ROLLING_BACK = "RollingBack"
    IN_SERVICE = "InService"
    DELETING = "Deleting"
    FAILED = "Failed"
    UPDATE_ROLLBACK_FAILED = "UpdateRollbackFailed"


# While SageMaker is busy with an endpoint it rejects further changes: wait it out.
BUSY_STATUSES = frozenset(
    {
        EndpointStatus.CREATING,
        EndpointStatus.UPDATING,
        EndpointStatus.SYSTEM_UPDATING,
        EndpointStatus.ROLLING_BACK,
        EndpointStatus.DELETING,
    }
)


@dataclass(frozen=True)
class ObservedVariant:
    name: str
    current_weight: float | None
    desired_weight: float | None
    current_instance_count: int | None
    desired_instance_count: int | None


@dataclass(frozen=True)
class ObservedEndpoint:
    name: str
    arn: str
    status: EndpointStatus
    config_name: str
    failure_reason: str | None
    variants: tuple[ObservedVariant, ...]

    def variant(self, name: str) -> ObservedVariant | None:
        return next((v for v in self.variants if v.name == name), None)


@dataclass(frozen=True)
class ObservedArtifacts:
    """Which of the desired immutable objects already exist in SageMaker."""

    existing_models: frozenset[str]
    config_exists: bool
