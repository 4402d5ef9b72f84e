"""What an InferenceComponent remembers between passes (kept in its status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ComponentMemory:
    owned: bool = False
    """The component carries this resource's owner tag (we made it, or read the tag)."""
    owned_models: tuple[str, ...] = ()
    """Models this resource created that may still exist (deleted once unused)."""
    scaling_registered: bool = False
    scaling_checked: str | None = None
    scaling_checked_at: datetime | None = None
    attempted: str | None = None
    """Content hash of the specification last sent with UpdateInferenceComponent: an update
    SageMaker rolled back is not sent again until the spec changes."""
