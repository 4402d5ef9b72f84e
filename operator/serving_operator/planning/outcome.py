"""What a planner concludes, in kstatus terms, and when to look again. Shared by every kind."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

ActionT = TypeVar("ActionT", covariant=True)


class OutcomeKind(StrEnum):
    READY = "Ready"  # the world matches the spec
    PROGRESSING = "Progressing"  # work in flight; come back soon
    STALLED = "Stalled"  # cannot progress without a change from the user


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    reason: str
    message: str

    @classmethod
    def ready(cls, reason: str, message: str) -> Outcome:
        return cls(OutcomeKind.READY, reason, message)

    @classmethod
    def progressing(cls, reason: str, message: str) -> Outcome:
        return cls(OutcomeKind.PROGRESSING, reason, message)

    @classmethod
    def stalled(cls, reason: str, message: str) -> Outcome:
        return cls(OutcomeKind.STALLED, reason, message)


@dataclass(frozen=True)
class Plan(Generic[ActionT]):
    """The actions to execute, in order, what they lead to, and when to look again.

    `recheck_after` (seconds) is a deadline the planner chose, e.g. the end of a canary pause
    or an analysis window. None leaves it to the driver: its poll interval while the outcome
    is Progressing, its resync interval otherwise.
    """

    actions: tuple[ActionT, ...]
    outcome: Outcome
    recheck_after: float | None = None
