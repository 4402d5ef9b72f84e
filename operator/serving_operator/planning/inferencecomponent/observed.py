"""What the InferenceComponent shell reads and hands to the planner: plain, immutable records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from serving_operator.planning.outcome import Lookups

T = TypeVar("T")


@dataclass(frozen=True)
class HostVariant:
    """A variant of the referenced ModelEndpoint's spec."""

    name: str
    instance_type: str | None
    hosts_components: bool
    managed_min_instances: int | None = None
    """managedInstanceScaling.minInstanceCount (None: no managed instance scaling)."""


@dataclass(frozen=True)
class HostEndpoint:
    """The referenced ModelEndpoint as the handler layer found it in Kubernetes."""

    endpoint_name: str
    """Its SageMaker endpoint name (spec.endpointName or its metadata.name)."""
    execution_role_arn: str
    variants: tuple[HostVariant, ...]
    outside_shard: str | None = None

    @property
    def hosts_components(self) -> bool:
        return bool(self.variants) and all(v.hosts_components for v in self.variants)


@dataclass(frozen=True)
class ObservedComponent:
    """DescribeInferenceComponent, reduced to what the planner compares."""

    name: str
    arn: str
    status: str
    endpoint_name: str
    variant_name: str | None
    specification: Mapping[str, Any]
    desired_copies: int | None
    current_copies: int | None
    failure_reason: str | None = None

    @property
    def model_name(self) -> str | None:
        name = self.specification.get("ModelName")
        return str(name) if name is not None else None


@dataclass(frozen=True)
class ObservedHostState:
    """DescribeEndpoint of the host, reduced: its status and variants."""

    status: str
    variants: frozenset[str]


@dataclass(frozen=True)
class ObservedCopyScaling:
    min_copies: int
    max_copies: int
    policies: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Read(Generic[T]):
    """A value that was read (which may be None: not there)."""

    value: T


@dataclass(frozen=True)
class ComponentLookups(Lookups):
    endpoint: bool = False
    owner: bool = False
    scaling: bool = False
    scaling_shared_since: datetime | None = None
    """With `scaling`: a read of other components' targets made at or after this moment
    will do (the hourly recheck); None reads now."""


@dataclass(frozen=True)
class ComponentObservation:
    now: datetime
    """The pass's clock, timezone-aware."""
    host: HostEndpoint | None
    component: ObservedComponent | None
    endpoint: Read[ObservedHostState | None] | None = None
    owner: Read[str | None] | None = None
    """The component's owner tag, once read."""
    scaling: Read[ObservedCopyScaling | None] | None = None

    def missing(self, wanted: ComponentLookups) -> ComponentLookups | None:
        """What of `wanted` is not read yet (None: all of it is)."""
        left = ComponentLookups(
            endpoint=wanted.endpoint and self.endpoint is None,
            owner=wanted.owner and self.owner is None,
            scaling=wanted.scaling and self.scaling is None,
            scaling_shared_since=wanted.scaling_shared_since,
        )
        return left if (left.endpoint or left.owner or left.scaling) else None
