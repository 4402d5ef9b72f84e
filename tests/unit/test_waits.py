"""The tests' wait: a failure says what it waited for and what it saw at the deadline."""

from __future__ import annotations

import pytest

from tests.support.processes import wait_until


def test_a_timed_out_wait_describes_what_it_saw_at_the_deadline() -> None:
    looks: list[int] = []

    def never() -> bool:
        looks.append(len(looks))
        return False

    with pytest.raises(TimeoutError) as failure:
        wait_until(never, timeout=0.3, interval=0.05, what=lambda: f"look {looks[-1]} of many")
    assert len(looks) > 1
    assert f"look {looks[-1]} of many" in str(failure.value)  # the last look, not the first
    assert "look 0 of many" not in str(failure.value)


def test_a_wait_that_holds_returns_without_describing() -> None:
    def description() -> str:
        raise AssertionError("described although the wait held")

    wait_until(lambda: True, timeout=1, what=description)
