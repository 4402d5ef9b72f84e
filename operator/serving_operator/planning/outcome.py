"""What a reconcile pass concluded, in kstatus terms."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from serving_operator.planning.actions import Action


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
class Plan:
    actions: tuple[Action, ...]
    outcome: Outcome
