"""CloudWatch adapter: the canary analysis's metrics (GetMetricData) and alarms (DescribeAlarms)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from serving_operator.api.trafficsplit import AnalysisMetric, MetricType
from serving_operator.aws.base import AwsError, ServiceAdapter
from serving_operator.planning.trafficsplit.observed import (
    AlarmState,
    AnalysisData,
    MetricsLookup,
    VariantTotals,
)

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
_COUNTS = ("Invocations", "Invocation5XXErrors", "Invocation4XXErrors")
_QUERIES_PER_CALL = 500  # GetMetricData's limit


def _variant_dimensions(endpoint: str, variant: str) -> list[dict[str, str]]:
    return [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant},
    ]


def percentile_stat(percentile: float) -> str:
    """CloudWatch's name of a percentile statistic: 99 -> p99, 99.9 -> p99.9."""
    return f"p{percentile:g}"


def _query(
    query_id: str,
    namespace: str,
    metric: str,
    dimensions: list[dict[str, str]],
    stat: str,
    period: int,
) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


class CloudWatch(ServiceAdapter):
    service = "cloudwatch"

    def put_alarm(self, request: Mapping[str, Any], actions: Sequence[str]) -> None:
        """PutMetricAlarm (create or replace) with `actions` as its AlarmActions."""
        self.call("PutMetricAlarm", **dict(request), AlarmActions=list(actions))

    def delete_alarm(self, name: str) -> bool:
        """DeleteAlarms of one alarm; False when it was not there."""
        try:
            self.call("DeleteAlarms", AlarmNames=[name])
        except AwsError as error:
            if error.code == "ResourceNotFound":
                return False
            raise
        return True

    def alarm_states(self, names: Sequence[str]) -> dict[str, AlarmState]:
        """The state of each named alarm (metric or composite); missing alarms are left out."""
        states: dict[str, AlarmState] = {}
        params: dict[str, Any] = {
            "AlarmNames": list(names),
            "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        }
        while True:
            page = self.call("DescribeAlarms", **params)
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                states[alarm["AlarmName"]] = AlarmState(alarm["StateValue"])
            if not page.get("NextToken"):
                return states
            params["NextToken"] = page["NextToken"]

    def read_analysis(
        self,
        endpoint: str,
        variants: Sequence[str],
        metrics: Sequence[AnalysisMetric],
        lookup: MetricsLookup,
    ) -> AnalysisData:
        """Invocation counts since lookup.start, and each window check's value, per variant."""
        window = int((lookup.end - lookup.window_start).total_seconds())
        queries: list[dict[str, Any]] = []
        meaning: dict[str, tuple[str, str]] = {}  # query id -> (what, variant)
        for v_index, variant in enumerate(variants):
            dims = _variant_dimensions(endpoint, variant)
            for c_index, count in enumerate(_COUNTS):
                query_id = f"c{v_index}_{c_index}"
                queries.append(
                    _query(query_id, SAGEMAKER_NAMESPACE, count, dims, "Sum", lookup.period)
                )
                meaning[query_id] = (count, variant)
            for m_index, metric in enumerate(metrics):
                query_id = f"m{v_index}_{m_index}"
                if metric.type == MetricType.LATENCY:
                    queries.append(
                        _query(
                            query_id,
                            SAGEMAKER_NAMESPACE,
                            metric.latency_metric.value,
                            dims,
                            percentile_stat(metric.percentile),
                            window,
                        )
                    )
                elif metric.type == MetricType.CUSTOM:
                    assert metric.query is not None  # admission requires it
                    custom = metric.query
                    dimensions = [
                        {
                            "Name": name,
                            "Value": value.replace("$endpoint", endpoint).replace(
                                "$variant", variant
                            ),
                        }
                        for name, value in sorted(custom.dimensions.items())
                    ]
                    queries.append(
                        _query(
                            query_id,
                            custom.namespace,
                            custom.metric_name,
                            dimensions,
                            custom.stat,
                            window,
                        )
                    )
                else:
                    continue
                meaning[query_id] = (metric.name, variant)
        counts = [q for q in queries if q["Id"].startswith("c")]
        windows = [q for q in queries if not q["Id"].startswith("c")]
        values = self._metric_data(counts, lookup.start, lookup)
        if windows:
            values |= self._metric_data(windows, lookup.window_start, lookup)
        sums: dict[tuple[str, str], float] = {}
        latest: dict[tuple[str, str], float | None] = {}
        for query_id, (what, variant) in meaning.items():
            points = values.get(query_id, [])
            if what in _COUNTS:
                sums[(what, variant)] = sum(points)
            else:
                latest[(what, variant)] = points[0] if points else None
        totals = {
            variant: VariantTotals(
                invocations=round(sums.get(("Invocations", variant), 0.0)),
                errors_5xx=round(sums.get(("Invocation5XXErrors", variant), 0.0)),
                errors_4xx=round(sums.get(("Invocation4XXErrors", variant), 0.0)),
            )
            for variant in variants
        }
        return AnalysisData(
            lookup=lookup,
            totals=totals,
            window_invocations={v: t.invocations for v, t in totals.items()},
            values=latest,
        )

    def _metric_data(
        self, queries: list[dict[str, Any]], start: datetime, lookup: MetricsLookup
    ) -> dict[str, list[float]]:
        """Values by query id, newest first, over [start, end); a query whose period is the
        window's length has one datapoint, the window's (the one ending at `end`)."""
        values: dict[str, list[float]] = {}
        for first in range(0, len(queries), _QUERIES_PER_CALL):
            params: dict[str, Any] = {
                "MetricDataQueries": queries[first : first + _QUERIES_PER_CALL],
                "StartTime": start,
                "EndTime": lookup.end,
                "ScanBy": "TimestampDescending",
            }
            while True:
                page = self.call("GetMetricData", **params)
                for result in page.get("MetricDataResults", []):
                    values.setdefault(result["Id"], []).extend(result.get("Values", []))
                if not page.get("NextToken"):
                    break
                params["NextToken"] = page["NextToken"]
        return values
