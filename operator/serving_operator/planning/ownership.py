"""Which AWS objects are ours: the tags every kind puts on what it creates.

An object is touched only when its owner tag names the resource that reconciles it; an
untagged object is adopted only when the spec says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MANAGED_BY_TAG = "serving.mlops.dev/managed-by"
OWNER_TAG = "serving.mlops.dev/owner"
MANAGED_BY = "serving-operator"

Tags = tuple[tuple[str, str], ...]


def owner_id(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def ownership_tags(namespace: str, name: str) -> Tags:
    return ((MANAGED_BY_TAG, MANAGED_BY), (OWNER_TAG, owner_id(namespace, name)))


class Ownership(StrEnum):
    OURS = "Ours"
    UNTAGGED = "Untagged"  # made outside the operator: ours only by adoption
    SOMEONE_ELSES = "SomeoneElses"


@dataclass(frozen=True)
class ObservedOwner:
    """The owner tag an existing AWS object carries (None when it has none)."""

    owner: str | None

    def relation_to(self, owner: str) -> Ownership:
        if self.owner is None:
            return Ownership.UNTAGGED
        return Ownership.OURS if self.owner == owner else Ownership.SOMEONE_ELSES
