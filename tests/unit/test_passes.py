"""`run_pass`, the one loop under every kind's shell: it reads what the planner asks for and
plans again, executes in order, keeps the last memory a plan said to keep, and turns an AWS
error into an outcome that stops the rest of the plan."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from serving_operator.aws.base import AwsError
from serving_operator.planning.outcome import Lookups, Outcome, OutcomeKind, Plan, Remember
from serving_operator.reconcile.passes import (
    MAX_LOOKUP_ROUNDS,
    UndecidedPlannerError,
    run_pass,
)

DONE = Outcome.ready("Done", "all done")


@dataclass(frozen=True)
class Seen:
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Read(Lookups):
    what: str


def planner_wanting(*needed: str, steps: tuple[object, ...] = ("write",)):  # type: ignore[no-untyped-def]
    """A planner that asks for each of `needed` in turn, then plans `steps`."""

    def plan(seen: Seen) -> Plan[object] | Read:
        for what in needed:
            if what not in seen.reads:
                return Read(what)
        return Plan(steps, DONE, recheck_after=30.0)

    return plan


def read(lookups: Read, seen: Seen) -> Seen:
    return replace(seen, reads=(*seen.reads, lookups.what))


class Recorder:
    def __init__(self, fail_on: object = None, unchanged: object = None) -> None:
        self.calls: list[object] = []
        self._fail_on = fail_on
        self._unchanged = unchanged

    def __call__(self, step: object) -> bool:
        self.calls.append(step)
        if step == self._fail_on:
            raise AwsError("sagemaker", "UpdateEndpoint", "ThrottlingException", "slow down", 400)
        return step != self._unchanged


def test_reads_what_the_planner_asks_then_executes_its_plan() -> None:
    execute = Recorder()
    result = run_pass(
        memory="before",
        observe=Seen,
        plan=planner_wanting("alarms", "metrics", steps=("a", Remember("after"), "b")),
        look_up=read,
        execute=execute,
    )
    assert result.observed == Seen(("alarms", "metrics"))
    assert execute.calls == ["a", "b"]
    assert result.executed == ["a", "b"]
    assert result.memory == "after"
    assert result.outcome == DONE
    assert result.recheck_after == 30.0
    assert result.aws_failure is None


def test_an_aws_error_stops_the_rest_and_keeps_what_was_remembered_before_it() -> None:
    execute = Recorder(fail_on="b")
    steps = ("a", Remember("after a"), "b", Remember("after b"), "c")
    result = run_pass(
        memory="before",
        observe=Seen,
        plan=planner_wanting(steps=steps),
        look_up=read,
        execute=execute,
    )
    assert execute.calls == ["a", "b"]
    assert result.executed == ["a"]
    assert result.memory == "after a"
    assert result.outcome.kind == OutcomeKind.PROGRESSING
    assert result.aws_failure is not None
    assert result.aws_failure.code == "ThrottlingException"
    assert result.recheck_after is None, "a failed pass leaves the next look to the backoff"


def test_an_aws_error_while_reading_keeps_the_old_memory_and_executes_nothing() -> None:
    def failing_read(lookups: Read, seen: Seen) -> Seen:
        raise AwsError("cloudwatch", "GetMetricData", "AccessDeniedException", "no", 400)

    execute = Recorder()
    result = run_pass(
        memory="before",
        observe=Seen,
        plan=planner_wanting("metrics", steps=(Remember("after"), "a")),
        look_up=failing_read,
        execute=execute,
    )
    assert execute.calls == []
    assert result.memory == "before"
    assert result.plan is None
    assert result.observed == Seen()
    assert result.outcome.kind == OutcomeKind.STALLED


def test_a_step_found_done_already_is_not_reported_as_executed() -> None:
    execute = Recorder(unchanged="exists")
    result = run_pass(
        memory=None,
        observe=Seen,
        plan=planner_wanting(steps=("exists", "new")),
        look_up=read,
        execute=execute,
    )
    assert execute.calls == ["exists", "new"]
    assert result.executed == ["new"]


def test_a_planner_that_never_decides_is_a_bug_not_an_outcome() -> None:
    asked: list[str] = []

    def look_up(lookups: Read, seen: Seen) -> Seen:
        asked.append(lookups.what)
        return seen  # the planner asks again for the same read, forever

    with pytest.raises(UndecidedPlannerError):
        run_pass(
            memory=None,
            observe=Seen,
            plan=planner_wanting("metrics"),
            look_up=look_up,
            execute=Recorder(),
        )
    assert len(asked) == MAX_LOOKUP_ROUNDS
