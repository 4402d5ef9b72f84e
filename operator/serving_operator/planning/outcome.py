"""The one shape every kind's planner answers in, shared by every kind.

A planner is a pure function of (spec, what was observed, what was remembered, now). It
answers either with the `Lookups` it needs read before it can decide, or with a `Plan`: the
steps to execute in order (AWS writes, and `Remember` steps that say what to keep in status
once the writes before them succeeded), the outcome in kstatus terms, when to look again, and
the kind's own findings for its status and events. `reconcile.passes.run_pass` is the one loop
that asks, reads, plans again and executes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic

from typing_extensions import TypeVar

ActionT = TypeVar("ActionT", covariant=True)
FindingsT = TypeVar("FindingsT", covariant=True, default=None)
MemoryT = TypeVar("MemoryT", covariant=True)


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


class Lookups:
    """What a planner needs read before it can decide. Each kind's lookups derive from this;
    a planner answers with one instead of a plan, and is asked again once they are read."""

    __slots__ = ()


@dataclass(frozen=True)
class Remember(Generic[MemoryT]):
    """A step: keep `memory` in status from now on. Placed after the writes it depends on,
    so an AWS error before it leaves what was remembered before."""

    memory: MemoryT


@dataclass(frozen=True)
class Plan(Generic[ActionT, FindingsT]):
    """The steps to execute, in order, what they lead to, and when to look again.

    `recheck_after` (seconds) is a deadline the planner chose, e.g. the end of a canary pause
    or an analysis window. None leaves it to the driver: its poll interval while the outcome
    is Progressing, its resync interval otherwise. `findings` is what the kind's status and
    events report beyond the outcome (None for a kind that has nothing more to say).
    """

    actions: tuple[ActionT, ...]
    outcome: Outcome
    recheck_after: float | None = None
    # None is a FindingsT only when the kind declares none (FindingsT's default); a kind
    # with findings always passes them.
    findings: FindingsT = None  # type: ignore[assignment]
