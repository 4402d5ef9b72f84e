"""The status as the split's memory between passes: read back (a hand-edited status made
usable), and started afresh for a new rollout."""

from __future__ import annotations

from typing import Any

from serving_operator.api.trafficsplit import Phase, TrafficSplitSpec, TrafficSplitStatus
from serving_operator.planning.trafficsplit.steps import canary_steps, rollout_hash
from serving_operator.planning.trafficsplit.times import parse_time

TIMESTAMP_FIELDS = ("step_started_at", "waiting_since", "pause_started_at", "last_analysis_at")


def readable(status: TrafficSplitStatus) -> TrafficSplitStatus:
    """The previous status with what a pass cannot act on (a hand-edited status: a timestamp
    that does not parse, a negative step) reset, so the wait it timed starts again and the
    step is the first, instead of every pass failing."""
    reset: dict[str, Any] = {
        name: None
        for name in TIMESTAMP_FIELDS
        if getattr(status, name) is not None and parse_time(getattr(status, name)) is None
    }
    if status.step_index is not None and status.step_index < 0:
        reset["step_index"] = 0
    return status.model_copy(update=reset) if reset else status


def fresh_status(previous: TrafficSplitStatus, spec: TrafficSplitSpec) -> TrafficSplitStatus:
    """A new rollout: nothing of the old one but the requests already handled."""
    return TrafficSplitStatus(
        handled=previous.handled,
        rollout_hash=rollout_hash(spec),
        conditions=previous.conditions,
        observed_generation=previous.observed_generation,
        phase=Phase.INITIALIZING,
        step_index=0,
        step_count=len(canary_steps(spec)) or None,
    )
