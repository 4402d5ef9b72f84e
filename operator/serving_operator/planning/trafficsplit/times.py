"""The moments a split keeps in status, as RFC 3339 strings to the second."""

from __future__ import annotations

from datetime import datetime

from serving_operator.api.common import parse_rfc3339, to_rfc3339


def timestamp(moment: datetime) -> str:
    return to_rfc3339(moment, microseconds=False)


def parse_time(value: str | None) -> datetime | None:
    return parse_rfc3339(value)
