"""What a reconcile pass hands to the kopf driver, for every kind: free of kopf itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from serving_operator.api.common import StatusBase
from serving_operator.planning.outcome import Outcome
from serving_operator.status import READY, is_condition_true

StatusT = TypeVar("StatusT", bound=StatusBase)


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class Event:
    type: EventType
    reason: str
    message: str

    @classmethod
    def normal(cls, reason: str, message: str) -> Event:
        return cls(EventType.NORMAL, reason, message)

    @classmethod
    def warning(cls, reason: str, message: str) -> Event:
        return cls(EventType.WARNING, reason, message)


@dataclass(frozen=True)
class ObjectContext(Generic[StatusT]):
    """The object a pass is for, as the pass began."""

    namespace: str
    name: str
    generation: int
    status: StatusT
    """The status the last pass wrote, read back through the kind's status model."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The object's annotations (manual controls such as a promotion)."""
    related: Any = None
    """What the kind's handler found about the object in Kubernetes (other objects through
    kopf indexes, annotations), for kinds whose pass depends on it; None otherwise."""

    @property
    def conditions(self) -> list[dict[str, Any]]:
        return [c.model_dump(by_alias=True, mode="json") for c in self.status.conditions]

    @property
    def was_ready(self) -> bool:
        """Whether the last pass found the world matching this very generation."""
        return (
            is_condition_true(self.conditions, READY)
            and self.status.observed_generation == self.generation
        )


@dataclass
class PassReport(Generic[StatusT]):
    """What one pass found and did, for the driver to write and announce."""

    outcome: Outcome
    status: StatusT | None = None
    """The kind's status fields; None writes the conditions only."""
    events: list[Event] = field(default_factory=list)
    extra_conditions: list[dict[str, Any]] = field(default_factory=list)
    """Kind-specific conditions computed in this pass, besides Ready/Reconciling/Stalled."""
    recheck_after: float | None = None
    """Seconds until the next pass; None: poll while Progressing, resync otherwise."""
