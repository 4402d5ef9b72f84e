"""The executors in `reconcile/` refuse an action they have no case for, loudly.

Without a default case a new planner action would be recorded as executed while doing
nothing. mypy --strict catches the missing case first (`assert_never`); these tests show
the runtime side: an object outside the union raises before anything is called or recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from serving_operator.planning.outcome import Outcome, Plan, Remember
from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler
from serving_operator.reconcile.modelendpoint.reconciler import EndpointExecutor, ReconcileResult
from serving_operator.reconcile.modelendpoint.report import _found_events
from serving_operator.reconcile.passes import run_pass
from tests.support.fake_aws import FakeAws


@dataclass(frozen=True)
class UnknownAction:
    """What a new planner action looks like to an executor before it gains a case."""


OUTCOME = Outcome.ready("Done", "all done")


def test_the_edge_model_executor_refuses_an_unknown_action() -> None:
    aws = FakeAws()
    with pytest.raises(AssertionError):
        EdgeModelReconciler(aws.clients())._execute(UnknownAction())  # type: ignore[arg-type]
    assert aws.calls == []


def test_the_model_endpoint_executor_refuses_an_unknown_action() -> None:
    aws = FakeAws()
    executor = EndpointExecutor(aws.clients())
    with pytest.raises(AssertionError):
        executor.execute(UnknownAction())  # type: ignore[arg-type]
    assert executor.found_existing == []
    assert executor.warm_ups == []
    assert aws.calls == []


def test_a_pass_stops_at_an_action_its_executor_refuses() -> None:
    """run_pass lets the executor's AssertionError through (a bug, not an AWS error), and
    nothing after it runs or is remembered."""
    executed: list[object] = []

    def execute(step: object) -> bool:
        if isinstance(step, UnknownAction):
            raise AssertionError(step)
        executed.append(step)
        return True

    plan = Plan(("first", UnknownAction(), "never", Remember("never kept")), OUTCOME)
    with pytest.raises(AssertionError):
        run_pass(
            memory="kept",
            observe=lambda: None,
            plan=lambda _: plan,
            look_up=lambda _, seen: seen,
            execute=execute,
        )
    assert executed == ["first"]


def test_found_existing_events_refuse_an_action_that_cannot_be_found_existing() -> None:
    result = ReconcileResult(Outcome.ready("Done", ""), None, None)
    result.found_existing.append(UnknownAction())  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        _found_events(result)
