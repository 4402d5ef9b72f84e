"""An index over moto's CloudWatch store, so a metric query costs what its answer holds.

moto keeps every datum ever put in one list per account and region. The sandbox's runtime
puts about five datums per InvokeEndpoint call, so a canary under 80 requests a second adds
some 400 a second, for the life of the sandbox (a test session shares one). Scanning that
whole list for each query of each GetMetricData made a look cost time in proportion to
everything ever invoked, on the thread the sandbox also serves traffic from: under
sustained traffic the operator's metric reads queued behind it and its canary passes stalled
until the traffic stopped. CloudWatch answers a query by metric and time range; so does this.
"""

from __future__ import annotations

import bisect
import datetime
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]
"""(namespace, metric name, dimensions as sorted (name, value) pairs): a CloudWatch metric."""


def metric_key(namespace: str, name: str, dimensions: Sequence[tuple[str, str]]) -> MetricKey:
    return namespace, name, tuple(sorted(dimensions))


def naive_utc(moment: datetime.datetime) -> datetime.datetime:
    """moto's timestamps are naive UTC; the parsers and callers may hand either kind."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment


@dataclass
class _Series:
    """One metric's datums in timestamp order (ties keep the order they were put in)."""

    times: list[datetime.datetime] = field(default_factory=list)
    datums: list[Any] = field(default_factory=list)

    def add(self, at: datetime.datetime, datum: Any) -> None:
        index = bisect.bisect_right(self.times, at)
        self.times.insert(index, at)
        self.datums.insert(index, datum)

    def between(self, start: datetime.datetime, end: datetime.datetime) -> list[Any]:
        first, past = bisect.bisect_left(self.times, start), bisect.bisect_left(self.times, end)
        return self.datums[first:past]


class MetricIndex:
    """Datums of one moto store by metric, caught up with the store before each query.

    moto only appends to its store; a store that got shorter, or a different list (moto's
    backends reset), is indexed afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: list[Any] | None = None
        self._indexed = 0
        self._series: dict[MetricKey, _Series] = {}

    def between(
        self, store: list[Any], key: MetricKey, start: datetime.datetime, end: datetime.datetime
    ) -> list[Any]:
        """The datums of metric `key` with start <= timestamp < end, oldest first."""
        with self._lock:
            self._catch_up(store)
            series = self._series.get(key)
            return [] if series is None else series.between(naive_utc(start), naive_utc(end))

    def _catch_up(self, store: list[Any]) -> None:
        if store is not self._store or len(store) < self._indexed:
            self._store, self._indexed, self._series = store, 0, {}
        end = len(store)  # calls may append while this runs; the rest waits for next time
        for datum in store[self._indexed : end]:
            key = metric_key(
                datum.namespace, datum.name, [(d.name, d.value) for d in datum.dimensions]
            )
            self._series.setdefault(key, _Series()).add(naive_utc(datum.timestamp), datum)
        self._indexed = end
