"""When a step's analysis may look, and over which windows: whole CloudWatch periods after
the weights went live, never straddling a weight change."""

from __future__ import annotations

from datetime import datetime, timedelta

from serving_operator.api.trafficsplit import Analysis
from serving_operator.planning.trafficsplit.observed import MetricsLookup


def _align_down(moment: datetime, period: int) -> datetime:
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % period, tz=moment.tzinfo)


def _align_up(moment: datetime, period: int) -> datetime:
    down = _align_down(moment, period)
    return down if down == moment else down + timedelta(seconds=period)


def metrics_lookup(
    analysis: Analysis, metric_period: int, step_started: datetime, now: datetime
) -> MetricsLookup | None:
    """The windows a look at `now` may score, or None while there is no whole period yet.

    A window never straddles the weight change: counting starts at the first period boundary
    after the weights went live plus the initial delay, and ends at the last period boundary
    that CloudWatch has had the initial delay to ingest.
    """
    delay = timedelta(
        seconds=analysis.initial_delay_seconds
        if analysis.initial_delay_seconds is not None
        else metric_period
    )
    start = _align_up(step_started + delay, metric_period)
    end = _align_down(now - delay, metric_period)
    if end <= start:
        return None
    # Percentiles are taken over as much of the step as one CloudWatch period can span: a
    # percentile of one short window rests on too few requests to judge.
    span = longest_period_within(int((end - start).total_seconds()))
    return MetricsLookup(
        start=start, window_start=end - timedelta(seconds=span), end=end, period=metric_period
    )


# GetMetricData accepts these periods below a minute, and any multiple of 60.
_SHORT_PERIODS = (1, 5, 10, 20, 30)


def longest_period_within(seconds: int) -> int:
    """The longest period CloudWatch accepts that is at most `seconds` (at least 1)."""
    if seconds >= 60:
        return seconds - seconds % 60
    return max([p for p in _SHORT_PERIODS if p <= seconds] or [1])


def first_look_at(analysis: Analysis, metric_period: int, step_started: datetime) -> datetime:
    """The earliest moment `metrics_lookup` answers for a step that began at `step_started`."""
    delay = (
        analysis.initial_delay_seconds
        if analysis.initial_delay_seconds is not None
        else metric_period
    )
    start = _align_up(step_started + timedelta(seconds=delay), metric_period)
    return start + timedelta(seconds=metric_period + delay)
