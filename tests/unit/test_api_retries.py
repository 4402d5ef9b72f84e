"""Retries of failed Kubernetes API requests: they never give up, and back off to a cap."""

from __future__ import annotations

import itertools

from serving_operator.handlers.api_retries import EndlessBackoff


def test_delays_double_up_to_the_cap_and_never_end() -> None:
    delays = list(itertools.islice(EndlessBackoff(first=1, cap=15), 1000))
    assert delays[:6] == [1, 2, 4, 8, 15, 15]
    assert len(delays) == 1000
    assert max(delays) == 15


def test_every_request_starts_again_from_the_first_delay() -> None:
    backoff = EndlessBackoff()
    first = list(itertools.islice(backoff, 5))
    again = list(itertools.islice(backoff, 5))
    assert first == again == [1, 2, 4, 8, 15]
