"""One check's outcome, in a shape both a terminal line and JSON can show."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not run, because something it depends on failed."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    """What was checked, as the user knows it: 'Kubernetes API', 'AWS region'..."""
    status: Status
    summary: str
    """What was found."""
    fix: str | None = None
    """What to do about it, when the check failed."""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "fix": self.fix,
            "details": self.details,
        }


def passed(name: str, summary: str, **details: Any) -> CheckResult:
    return CheckResult(name, Status.OK, summary, None, details)


def failed(name: str, summary: str, fix: str, **details: Any) -> CheckResult:
    return CheckResult(name, Status.FAILED, summary, fix, details)


def skipped(name: str, summary: str) -> CheckResult:
    return CheckResult(name, Status.SKIPPED, summary)
