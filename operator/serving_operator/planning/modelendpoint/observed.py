"""What the AWS adapters report: plain, immutable records the planners read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from serving_operator.planning.outcome import Lookups
from serving_operator.planning.ownership import ObservedOwner


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


@dataclass(frozen=True)
class ObservedScaling:
    """A registered scalable target and its policies (name -> target tracking or step
    scaling config)."""

    resource_id: str
    min_instances: int
    max_instances: int
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    policy_alarms: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Policy name -> the CloudWatch alarms whose action it is (DescribeScalingPolicies'
    Alarms)."""


@dataclass(frozen=True)
class EndpointLookups(Lookups):
    """Reads the planner needs before it can decide. Each costs AWS calls, so the planner
    asks for them only when its decision depends on them; the steady state needs none."""

    artifacts: bool = False
    """Which of the desired models and config exist (before a create or a config switch)."""
    owner: bool = False
    """The endpoint's owner tag (before any write to an existing endpoint)."""
    owned_objects: bool = False
    """The configs and models this resource made for the endpoint (garbage collection)."""
    scaling_variants: frozenset[str] = frozenset()
    """Variants whose scalable targets and policies to read."""
    scaling_shared_since: datetime | None = None
    """When set, a namespace-wide scaling read taken at or after this moment
    will do, shared with other endpoints' periodic rechecks; None: read them now."""
    model_prefixes: frozenset[str] = frozenset()
    """Multi-model variants' S3 prefixes whose model files to list (reported in status)."""


@dataclass(frozen=True)
class ModelEndpointObservation:
    """What the reconciler read from AWS in this pass; None means "not read"."""

    endpoint: ObservedEndpoint | None
    artifacts: ObservedArtifacts | None = None
    owner: ObservedOwner | None = None
    owned_configs: frozenset[str] | None = None
    owned_models: frozenset[str] | None = None
    scaling: Mapping[str, ObservedScaling] | None = None
    scaling_read_for: frozenset[str] = frozenset()
    """The variants `scaling` was read for."""
    scaling_shared: bool = False
    """Whether `scaling` came from a shared read, which answers only a want that allows one."""
    models_listed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """By S3 prefix: the model files found under it (the prefixes listed in this pass)."""

    def missing(self, wanted: EndpointLookups) -> EndpointLookups | None:
        """The part of `wanted` not read yet, or None when everything is at hand."""
        rest = EndpointLookups(
            artifacts=wanted.artifacts and self.artifacts is None,
            owner=wanted.owner and self.owner is None,
            owned_objects=wanted.owned_objects
            and (self.owned_configs is None or self.owned_models is None),
            scaling_variants=frozenset()
            if self.scaling is not None
            and wanted.scaling_variants <= self.scaling_read_for
            and (not self.scaling_shared or wanted.scaling_shared_since is not None)
            else wanted.scaling_variants,
            model_prefixes=wanted.model_prefixes.difference(self.models_listed),
        )
        if rest.scaling_variants:
            rest = replace(rest, scaling_shared_since=wanted.scaling_shared_since)
        return None if rest == EndpointLookups() else rest
