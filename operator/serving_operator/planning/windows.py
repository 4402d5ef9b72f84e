"""Fixed windows of time every resource agrees on, so that rechecks falling in one window can
share one batched AWS read (the autoscaling reads of ModelEndpoints and InferenceComponents)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(now: datetime, length: timedelta) -> datetime:
    """The start of the `length`-long window `now` falls in: counted in whole windows from the
    Unix epoch, exactly (timedelta arithmetic, no float rounding), so the same for every
    resource (with an hour, the clock hour)."""
    return _EPOCH + (now - _EPOCH) // length * length
