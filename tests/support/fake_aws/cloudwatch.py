"""CloudWatch alarms and metrics (aws/cloudwatch.py). A ModelEndpoint pass only writes
CloudWatch: the scale-out-from-zero alarm; a TrafficSplit pass only reads it: alarm states
and invocation metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from serving_operator.planning.trafficsplit.observed import (
    AlarmState,
    AnalysisData,
    MetricsLookup,
    VariantTotals,
)

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingCloudWatch:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def put_alarm(self, request: Any, actions: list[str]) -> None:
        name = request["AlarmName"]
        self.aws.record("PutMetricAlarm", name)
        self.aws.alarms[name] = list(actions)
        # PutMetricAlarm (botocore's model): a new alarm starts INSUFFICIENT_DATA; an update
        # leaves its state unchanged.
        self.aws.alarm_states.setdefault(name, AlarmState.INSUFFICIENT_DATA)

    def delete_alarm(self, name: str) -> bool:
        self.aws.record("DeleteAlarms", name)
        self.aws.alarm_states.pop(name, None)
        return self.aws.alarms.pop(name, None) is not None

    def alarm_states(self, names: Sequence[str]) -> dict[str, AlarmState]:
        """Each named alarm's state; one that does not exist is left out, as by the adapter."""
        self.aws.record("DescribeAlarms", tuple(names))
        return {n: self.aws.alarm_states[n] for n in names if n in self.aws.alarm_states}

    def read_analysis(
        self, endpoint: str, variants: Sequence[str], metrics: Any, lookup: MetricsLookup
    ) -> AnalysisData:
        """The same counts for whatever window is asked; no latency or custom values (as
        CloudWatch answers a query with no datapoints)."""
        self.aws.record("GetMetricData", (lookup.start, lookup.end))
        totals = {v: self.aws.metric_totals.get(v, VariantTotals(0, 0, 0)) for v in variants}
        return AnalysisData(lookup, totals, {v: t.invocations for v, t in totals.items()})
