"""The recording core of the AWS fake (tests/support/fake_aws): a log of the calls made,
and errors to raise.

A fake adapter calls `record` first in each method, so the call is logged even when it
fails, then answers from the fake's state (which stays in `FakeAws`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from serving_operator.aws.base import AwsError
from serving_operator.planning.outcome import OutcomeKind


@dataclass(kw_only=True)
class CallRecorder:
    """Keyword-only, so that a fake built on it keeps its own fields' positional order."""

    fail: Mapping[str, AwsError] = field(default_factory=dict)
    """Operation name -> the error it raises."""
    calls: list[tuple[str, Any]] = field(default_factory=list)
    """(operation name, what it was called with), in call order."""

    read_prefixes: ClassVar[tuple[str, ...]] = ("Describe", "List", "Get", "Head")
    """Operation names that start with one of these only read (AWS's read verbs: HeadObject
    reads an object's metadata); the rest write."""

    def record(self, operation: str, detail: Any = None) -> None:
        self.calls.append((operation, detail))
        if operation in self.fail:
            raise self.fail[operation]

    @property
    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    @property
    def writes(self) -> list[str]:
        return [op for op in self.operations if not op.startswith(self.read_prefixes)]

    def written(self, operation: str) -> list[Any]:
        """What each call of `operation` was called with, in call order."""
        return [detail for op, detail in self.calls if op == operation]


def assert_a_refused_call_ends_its_pass(
    passes: Iterable[tuple[list[str], Any]], operation: str
) -> None:
    """The reconcile tests' guard over a walk (a resource's life, pass by pass: the calls
    each pass made and its result) in which `operation` is throttled everywhere: every pass
    that made the call ends Reconciling with AWS's error naming it, made no call after it,
    and (the walk got here) raised nothing."""
    for calls, result in passes:
        if operation in calls:
            assert (result.outcome.kind, result.outcome.reason) == (
                OutcomeKind.PROGRESSING,
                "AwsUnavailable",
            ), calls
            assert result.aws_failure is not None
            assert result.aws_failure.operation == operation
            assert calls[-1] == operation, "nothing after the refused call"
