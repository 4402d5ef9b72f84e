"""One time format in every kind's status: RFC 3339 in UTC with "Z" (api/common.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from serving_operator.api.common import parse_rfc3339, to_rfc3339

MOMENT = datetime(2026, 12, 7, 14, 21, 48, 250000, tzinfo=UTC)


def test_written_in_utc_with_z_and_microseconds_unless_asked_not_to() -> None:
    assert to_rfc3339(MOMENT) == "2026-12-07T14:21:48.250000Z"
    assert to_rfc3339(MOMENT, microseconds=False) == "2026-12-07T14:21:48Z"
    elsewhere = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert to_rfc3339(elsewhere) == "2026-12-07T14:21:48.250000Z"


def test_read_back_as_the_same_moment_whatever_the_zone_notation() -> None:
    assert parse_rfc3339(to_rfc3339(MOMENT)) == MOMENT
    assert parse_rfc3339("2026-12-07T16:21:48.25+02:00") == MOMENT
    # An older ModelEndpoint status wrote "+00:00"; a hand-edited one may name no zone.
    assert parse_rfc3339("2026-12-07T14:21:48.250000+00:00") == MOMENT
    assert parse_rfc3339("2026-12-07T14:21:48.250000") == MOMENT


def test_nothing_or_nonsense_reads_as_no_time() -> None:
    assert parse_rfc3339(None) is None
    assert parse_rfc3339("") is None
    assert parse_rfc3339("yesterday") is None
