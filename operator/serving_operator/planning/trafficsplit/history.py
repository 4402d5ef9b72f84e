"""status.history: what happened at each step (weights live, looks, promotion, roll-back),
the last HISTORY_LIMIT entries; and status.stepSummaries: one entry per step, kept for the
whole rollout (at most one per step and one for the ending), so that a long canary's first
steps are still known when their entries have left the history (`compare --plot`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from serving_operator.api.trafficsplit import StepRecord, StepSummary, TrafficSplitStatus
from serving_operator.planning.trafficsplit.times import timestamp

HISTORY_LIMIT = 40
SUMMARY_LIMIT = 60
"""More than the 50 steps a spec may have and the ending: a bound for hand-edited statuses."""


def new_record(status: TrafficSplitStatus, now: datetime, note: str, **fields: Any) -> StepRecord:
    """An entry: the step and live weights of `status`, at `now`."""
    return StepRecord(
        time=timestamp(now),
        step_index=status.step_index or 0,
        weights=dict(status.live_weights),
        note=note,
        **fields,
    )


def with_record(status: TrafficSplitStatus, entry: StepRecord) -> list[StepRecord]:
    """The history with one more entry."""
    return [*status.history, entry][-HISTORY_LIMIT:]


def with_summary(status: TrafficSplitStatus, entry: StepRecord) -> list[StepSummary]:
    """The step summaries with `entry` counted in its step's."""
    summaries = list(status.step_summaries)
    found = next((i for i, s in enumerate(summaries) if s.step_index == entry.step_index), None)
    if found is None:
        summary = StepSummary(
            step_index=entry.step_index,
            started_at=entry.time,
            ended_at=entry.time,
            weights=dict(entry.weights),
        )
        summaries.append(summary)
        found = len(summaries) - 1
    summary = summaries[found]
    update: dict[str, Any] = {
        "ended_at": entry.time,
        "end_weights": dict(entry.weights),
        "note": entry.note,
    }
    if entry.verdict is not None:
        if summary.looks == 0:
            update.update(first_looked_at=entry.time, first_checks=list(entry.checks))
        update.update(
            looks=summary.looks + 1,
            verdict=entry.verdict,
            looked_at=entry.time,
            checks=list(entry.checks),
        )
    summaries[found] = summary.model_copy(update=update)
    return summaries[-SUMMARY_LIMIT:]
