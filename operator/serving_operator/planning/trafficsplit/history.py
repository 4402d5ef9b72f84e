"""status.history: what happened at each step (weights live, looks, promotion, roll-back),
the last HISTORY_LIMIT entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from serving_operator.api.trafficsplit import StepRecord, TrafficSplitStatus
from serving_operator.planning.trafficsplit.times import timestamp

HISTORY_LIMIT = 40


def with_record(
    status: TrafficSplitStatus, now: datetime, note: str, **fields: Any
) -> list[StepRecord]:
    """The history with one more entry: the step and live weights of `status`, at `now`."""
    entry = StepRecord(
        time=timestamp(now),
        step_index=status.step_index or 0,
        weights=dict(status.live_weights),
        note=note,
        **fields,
    )
    return [*status.history, entry][-HISTORY_LIMIT:]
