"""kstatus conditions and the client-side token bucket."""

from __future__ import annotations

import pytest

from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.planning.outcome import Outcome
from serving_operator.status import became_stalled, kstatus_conditions


def by_type(conditions: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {c["type"]: c for c in conditions}


def test_ready_outcome_sets_the_three_kstatus_conditions() -> None:
    conditions = by_type(kstatus_conditions(Outcome.ready("InService", "ok"), 3, [], "T1"))
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Reconciling"]["status"] == "False"
    assert conditions["Stalled"]["status"] == "False"
    assert all(c["observedGeneration"] == 3 for c in conditions.values())


def test_transition_time_moves_only_when_status_changes() -> None:
    first = kstatus_conditions(Outcome.progressing("Creating", "wait"), 1, [], "T1")
    same = by_type(kstatus_conditions(Outcome.progressing("Creating", "still"), 1, first, "T2"))
    assert same["Reconciling"]["lastTransitionTime"] == "T1"
    done = by_type(kstatus_conditions(Outcome.ready("InService", "ok"), 1, first, "T3"))
    assert done["Ready"]["lastTransitionTime"] == "T3"
    assert done["Reconciling"]["lastTransitionTime"] == "T3"
    assert done["Stalled"]["lastTransitionTime"] == "T1"


def test_a_transition_time_is_set_or_absent_never_empty() -> None:
    # What earlier CRDs stored: the initial status's condition, defaulted to "".
    previous = [
        {"type": "Reconciling", "status": "True", "reason": "Pending", "lastTransitionTime": ""},
        {"type": "Elsewhere", "status": "True", "lastTransitionTime": ""},
    ]
    outcome = Outcome.progressing("Creating", "w")
    conditions = by_type(kstatus_conditions(outcome, 2, previous, "T9"))
    assert conditions["Reconciling"]["lastTransitionTime"] == "T9"
    assert "lastTransitionTime" not in conditions["Elsewhere"]
    assert all(c.get("lastTransitionTime") != "" for c in conditions.values())


def test_other_condition_types_are_kept() -> None:
    previous = [{"type": "SingleInstance", "status": "True"}]
    assert by_type(kstatus_conditions(Outcome.ready("r", "m"), 1, previous))["SingleInstance"] == {
        "type": "SingleInstance",
        "status": "True",
    }


def test_stalled_warns_once_per_distinct_message() -> None:
    stalled = Outcome.stalled("EndpointFailed", "boom")
    assert became_stalled([], stalled)
    conditions = kstatus_conditions(stalled, 1, [])
    assert not became_stalled(conditions, stalled)
    assert became_stalled(conditions, Outcome.stalled("EndpointFailed", "other"))
    assert not became_stalled(conditions, Outcome.ready("r", "m"))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_paces_calls() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.5)
    assert waits[4] == pytest.approx(0.5)
    assert clock.now == pytest.approx(1.0)


def test_bucket_refills_while_idle_up_to_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    clock.now += 100
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_bucket_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0, burst=1)


def test_weight_percentages_follow_the_seeds_splits() -> None:
    from serving_operator.reconcile.modelendpoint.report import percentages

    assert percentages({"a": 1.0, "b": 1.0}) == {"a": 50.0, "b": 50.0}
    assert percentages({"old": 9.0, "new": 1.0}) == {"old": 90.0, "new": 10.0}
    assert percentages({"old": 0.7, "new": 0.3}) == {"old": 70.0, "new": 30.0}
    assert percentages({"a": 0.0, "b": None}) == {}


def test_the_initial_status_condition_gets_a_transition_time_on_the_first_pass() -> None:
    from serving_operator.api.crdgen import INITIAL_STATUS

    previous = INITIAL_STATUS["conditions"]
    written = kstatus_conditions(
        Outcome.progressing("Creating", "creating"), 1, previous, now="2026-01-01T00:00:00Z"
    )
    reconciling = next(c for c in written if c["type"] == "Reconciling")
    assert reconciling["status"] == "True"
    assert reconciling["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert reconciling["reason"] == "Creating"
