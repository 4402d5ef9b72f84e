"""CloudWatch's GetMetricData and GetMetricStatistics for the AWS/SageMaker namespace, and
the state CloudWatch gives an alarm PutMetricAlarm creates or updates.

moto (5.x) keeps every datum put, but answers queries on it wrongly for canary analysis:
GetMetricData fails on a percentile statistic (p99: it computes None, then cannot serialize
it), GetMetricStatistics ignores ExtendedStatistics, GetMetricData matches on dimensions
but ignores the namespace once dimensions are given, and both start their periods at the
first datum rather than at StartTime. Here the same data (moto's store, where runtime.py puts
the invocation metrics) is answered as CloudWatch does:

- datapoints per period from StartTime (rounded down to the metrics' own period), only of
  data whose dimensions are exactly those asked for; newest first unless ScanBy says not;
- SampleCount, Sum, Average, Minimum, Maximum, and percentiles pNN / pNN.NN computed from
  the recorded samples (nearest rank: the smallest sample at or above which p% lie);
- GetMetricData's metric math for arithmetic (+ - * / and parentheses) over query ids and
  numbers, datapoint by datapoint (CloudWatch's functions are not there: they are refused).

moto creates every alarm in state OK, and resets an alarm's state when PutMetricAlarm
updates it; CloudWatch creates alarms in INSUFFICIENT_DATA and leaves an updated alarm's
state as it was: the state is put right after moto has stored the alarm. moto's
DescribeAlarms applies only the first of its filters it finds (AlarmNames with StateValue
ALARM returns the named alarms in every state: a rollback check would fire on OK alarms);
here every filter given applies, as in CloudWatch.

Other namespaces stay with moto. Requests in the JSON protocol (what botocore speaks to
CloudWatch today) and in the query protocol (older botocore) are parsed and answered with
moto's own protocol machinery, so the answer is in the protocol asked in.
"""

from __future__ import annotations

import ast
import datetime
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox.metric_index import MetricIndex, metric_key, naive_utc
from serving_operator.sandbox.moto_internals import (
    MetricAggregatedDatum,
    MetricDatum,
    Protocol,
    ServiceException,
    parse_request,
    serialize_response,
)
from serving_operator.sandbox.wire import AwsRequest

NAMESPACE = "AWS/SageMaker"
_STANDARD_STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?|100)$")
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
_EPOCH = datetime.datetime(1970, 1, 1)


# CloudWatch's errors, answered in the protocol of the request: the serializer finds each by
# its code among the service model's errors, as it does moto's own.
class InvalidParameterValue(ServiceException):
    code = "InvalidParameterValue"


class InvalidParameterCombination(ServiceException):
    code = "InvalidParameterCombination"


class ValidationError(ServiceException):
    code = "ValidationError"


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank p-th percentile of `samples` (not empty): the smallest sample such
    that at least p% of the samples are at or below it."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class _Bucket:
    values: list[float]
    """Samples put one by one (Value or Values/Counts)."""
    aggregates: list[MetricAggregatedDatum]
    """Statistic sets (StatisticValues): they count in the standard statistics only."""
    unit: str | None = None

    def statistic(self, name: str) -> float | None:
        count = len(self.values) + sum(a.sample_count for a in self.aggregates)
        if count == 0:
            return None
        if name == "SampleCount":
            return float(count)
        total = sum(self.values) + sum(a.sum for a in self.aggregates)
        if name == "Sum":
            return total
        if name == "Average":
            return total / count
        if name == "Minimum":
            return min([*self.values, *(a.min for a in self.aggregates)])
        if name == "Maximum":
            return max([*self.values, *(a.max for a in self.aggregates)])
        match = _PERCENTILE.match(name)
        if match is None:
            raise InvalidParameterValue(f"The statistic {name} is not supported.")
        # CloudWatch has no percentiles of statistic sets, nor of negative values.
        if self.aggregates or not self.values or min(self.values) < 0:
            return None
        return percentile(self.values, float(match.group(1)))


def check_statistic(name: str) -> None:
    if name not in _STANDARD_STATISTICS and not _PERCENTILE.match(name):
        raise InvalidParameterValue(
            f"The value {name} for parameter Stat is not supported in the sandbox: use one"
            f" of {', '.join(_STANDARD_STATISTICS)} or a percentile such as p99 or p99.9."
        )


class CloudWatchOverlay:
    """Answers GetMetricData and GetMetricStatistics on AWS/SageMaker metrics, and sets the
    state of the alarms moto stores."""

    def __init__(self, account_of: Callable[[AwsRequest], str], metric_period: Callable[[], float]):
        self._account_of = account_of
        self._metric_period = metric_period
        self._indexes: dict[tuple[str, str], MetricIndex] = {}

    def handle(self, request: AwsRequest) -> Response | None:
        """The answer to `request`, or None to leave it to moto."""
        if request.service != "monitoring" or request.operation not in (
            "GetMetricData",
            "GetMetricStatistics",
            "DescribeAlarms",
        ):
            return None
        parsed = self._parse(request)
        if parsed is None:
            return None
        protocol, params = parsed
        if not _is_ours(request.operation, params):
            return None
        account = self._account_of(request)
        backend = get_backend("cloudwatch")[account][request.region]
        index = self._indexes.setdefault((account, request.region), MetricIndex())
        data = _IndexedStore(backend.metric_data, index)
        result: Any
        try:
            if request.operation == "DescribeAlarms":
                result = _describe_alarms(list(backend.alarms.values()), params)
            elif request.operation == "GetMetricData":
                result = self._metric_data(data, params)
            else:
                result = self._metric_statistics(data, params)
        except ServiceException as error:
            result = error
        body, status, headers = serialize_response(
            "cloudwatch", request.operation, protocol, result
        )
        if protocol == "json":
            headers["Content-Type"] = _JSON_CONTENT_TYPE
        return Response(body, status=status, headers=headers)

    def before_moto(self, request: AwsRequest) -> Callable[[], None] | None:
        """For PutMetricAlarm, what to do once moto has stored the alarm: give it the state
        CloudWatch would (INSUFFICIENT_DATA when new, its old state when updated)."""
        if request.service != "monitoring" or request.operation != "PutMetricAlarm":
            return None
        parsed = self._parse(request)
        if parsed is None:
            return None
        name = str(parsed[1].get("AlarmName", ""))
        alarms = get_backend("cloudwatch")[self._account_of(request)][request.region].alarms
        before = alarms.get(name)
        kept = (
            None
            if before is None
            else (
                before.state_value,
                before.state_reason,
                before.state_reason_data,
                before.state_updated_timestamp,
                before.history,
            )
        )

        def settle() -> None:
            alarm = alarms.get(name)
            if alarm is None or alarm is before:
                return  # moto refused it
            if kept is None:
                alarm.state_value = "INSUFFICIENT_DATA"
            else:
                (
                    alarm.state_value,
                    alarm.state_reason,
                    alarm.state_reason_data,
                    alarm.state_updated_timestamp,
                    alarm.history,
                ) = kept

        return settle

    def _parse(self, request: AwsRequest) -> tuple[Protocol, dict[str, Any]] | None:
        """(protocol, parameters), or None for a protocol moto does not speak either (CBOR)."""
        protocol = _request_protocol(request.header("content-type") or "")
        if protocol is None:
            return None
        params = parse_request(
            "cloudwatch", request.operation, protocol, request.body, request.headers, request.path
        )
        return protocol, params

    # -- GetMetricData --------------------------------------------------------------------
    def _metric_data(self, data: _IndexedStore, params: dict[str, Any]) -> dict[str, Any]:
        start, end = _window(params, "The parameter EndTime must be greater than StartTime.")
        queries: list[dict[str, Any]] = params.get("MetricDataQueries", [])
        ids = [q.get("Id") for q in queries]
        if len(set(ids)) != len(ids):
            raise ValidationError(
                "The values for parameter Id in MetricDataQueries are not unique."
            )
        series: dict[str, dict[datetime.datetime, float]] = {}
        for number, query in enumerate(queries, 1):
            if "MetricStat" not in query and "Expression" not in query:
                raise ValidationError(
                    f"The parameter MetricDataQueries.member.{number}.MetricStat is required.\n"
                )
        for query in queries:
            if "MetricStat" in query:
                stat = query["MetricStat"]
                check_statistic(stat["Stat"])
                buckets = self._buckets(
                    data,
                    stat["Metric"],
                    start,
                    end,
                    _period(stat["Period"]),
                    stat.get("Unit"),
                )
                series[query["Id"]] = {
                    at: value
                    for at, bucket in buckets.items()
                    if (value := bucket.statistic(stat["Stat"])) is not None
                }
        for query in queries:
            if "Expression" in query:
                series[query["Id"]] = _evaluate(query["Expression"], series)
        newest_first = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        results = []
        for query in queries:
            if not query.get("ReturnData", True):
                continue
            points = sorted(series[query["Id"]].items(), reverse=newest_first)
            default_label = (
                query["MetricStat"]["Metric"]["MetricName"]
                if "MetricStat" in query
                else query["Id"]
            )
            results.append(
                {
                    "Id": query["Id"],
                    "Label": query.get("Label") or default_label,
                    "Timestamps": [_aware(at) for at, _ in points],
                    "Values": [value for _, value in points],
                    "StatusCode": "Complete",
                }
            )
        return {"MetricDataResults": results, "Messages": []}

    # -- GetMetricStatistics ----------------------------------------------------------------
    def _metric_statistics(self, data: _IndexedStore, params: dict[str, Any]) -> dict[str, Any]:
        start, end = _window(
            params, "The parameter StartTime must be less than the parameter EndTime."
        )
        statistics: list[str] = params.get("Statistics", [])
        extended: list[str] = params.get("ExtendedStatistics", [])
        if not statistics and not extended:
            raise InvalidParameterCombination(
                "Must specify either Statistics or ExtendedStatistics"
            )
        if statistics and extended:
            # CloudWatch takes one or the other, not both.
            raise InvalidParameterCombination(
                "The parameters Statistics and ExtendedStatistics are mutually exclusive and"
                " you have specified both."
            )
        for name in extended:
            if not _PERCENTILE.match(name):
                raise InvalidParameterValue(
                    f"The value {name} for parameter ExtendedStatistics is not supported."
                )
        metric = {
            "Namespace": params["Namespace"],
            "MetricName": params["MetricName"],
            "Dimensions": params.get("Dimensions", []),
        }
        buckets = self._buckets(
            data, metric, start, end, _period(params["Period"]), params.get("Unit")
        )
        datapoints = []
        for at, bucket in sorted(buckets.items()):
            point: dict[str, Any] = {"Timestamp": _aware(at), "Unit": bucket.unit or "None"}
            for name in statistics:
                point[name] = bucket.statistic(name)
            percentiles = {name: bucket.statistic(name) for name in extended}
            if extended:
                point["ExtendedStatistics"] = {
                    k: v for k, v in percentiles.items() if v is not None
                }
            datapoints.append(point)
        return {"Label": params["MetricName"], "Datapoints": datapoints}

    # -- shared ---------------------------------------------------------------------------
    def _buckets(
        self,
        data: _IndexedStore,
        metric: dict[str, Any],
        start: datetime.datetime,
        end: datetime.datetime,
        period: int,
        unit: str | None,
    ) -> dict[datetime.datetime, _Bucket]:
        """The matching samples by period, the periods counted from StartTime rounded down
        to the metrics' own period (as CloudWatch rounds StartTime to the minute)."""
        origin = _round_down(start, self._metric_period())
        key = metric_key(
            metric["Namespace"],
            metric["MetricName"],
            [(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])],
        )
        buckets: dict[datetime.datetime, _Bucket] = {}
        for datum in data.index.between(data.store, key, origin, end):
            if unit and datum.unit != unit:
                continue
            index = int((naive_utc(datum.timestamp) - origin).total_seconds() // period)
            at = origin + datetime.timedelta(seconds=index * period)
            bucket = buckets.setdefault(at, _Bucket([], []))
            bucket.unit = bucket.unit or datum.unit
            if isinstance(datum, MetricDatum):
                bucket.values.append(datum.value)
            elif isinstance(datum, MetricAggregatedDatum):
                bucket.aggregates.append(datum)
        return buckets


@dataclass(frozen=True)
class _IndexedStore:
    """moto's list of every datum of one account and region, with the index queried."""

    store: list[Any]
    index: MetricIndex


def _request_protocol(content_type: str) -> Protocol | None:
    """The protocol a CloudWatch request is in, from its Content-Type: botocore's model for
    monitoring lists `protocols: ["query", "json", "smithy-rpc-v2-cbor"]`; the JSON protocol
    is sent as application/x-amz-json-1.0 and the query protocol as form data. Decided here
    rather than by moto's `determine_request_protocol`, whose signature changed in a patch
    release (5.2.6). None for CBOR, which moto cannot parse either."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == _JSON_CONTENT_TYPE:
        return "json"
    if media_type == "application/x-www-form-urlencoded":
        return "query"
    return None


def _describe_alarms(alarms: list[Any], params: dict[str, Any]) -> dict[str, Any]:
    names = set(params.get("AlarmNames", []))
    prefix = params.get("AlarmNamePrefix", "")
    state = params.get("StateValue")
    action_prefix = params.get("ActionPrefix")
    # Without AlarmTypes, CloudWatch describes metric alarms only.
    types = set(params.get("AlarmTypes") or ["MetricAlarm"])
    chosen = [
        alarm
        for alarm in sorted(alarms, key=lambda a: str(a.name))
        if (not names or alarm.name in names)
        and str(alarm.name).startswith(prefix)
        and (state is None or alarm.state_value == state)
        and (
            action_prefix is None
            or any(str(action).startswith(action_prefix) for action in alarm.alarm_actions)
        )
    ]
    result: dict[str, Any] = {}
    if "MetricAlarm" in types:
        result["MetricAlarms"] = [a for a in chosen if a.rule is None]
    if "CompositeAlarm" in types:
        result["CompositeAlarms"] = [a for a in chosen if a.rule is not None]
    return result


def _is_ours(operation: str, params: dict[str, Any]) -> bool:
    if operation == "DescribeAlarms":
        # Alarm trees are moto's to walk.
        return not (params.get("ChildrenOfAlarmName") or params.get("ParentsOfAlarmName"))
    if operation == "GetMetricStatistics":
        return bool(params.get("Namespace") == NAMESPACE)
    queries = params.get("MetricDataQueries", [])
    if any(str(q.get("Expression", "")).lstrip().upper().startswith("SELECT") for q in queries):
        return False  # Metrics Insights: moto's (rough) answer, not ours
    return any(
        q.get("MetricStat", {}).get("Metric", {}).get("Namespace") == NAMESPACE for q in queries
    )


def _window(params: dict[str, Any], message: str) -> tuple[datetime.datetime, datetime.datetime]:
    start, end = naive_utc(params["StartTime"]), naive_utc(params["EndTime"])
    if start >= end:
        raise ValidationError(message)
    return start, end


def _period(value: Any) -> int:
    period = int(value)
    if (
        period < 1
        or (period > 60 and period % 60)
        or (period < 60 and period not in (1, 5, 10, 20, 30))
    ):
        raise InvalidParameterValue(
            "The parameter Period must be 1, 5, 10, 20, 30, 60, or a multiple of 60"
            f" (got {period})."
        )
    return period


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(tzinfo=datetime.UTC)


def _round_down(moment: datetime.datetime, seconds: float) -> datetime.datetime:
    if seconds <= 0:
        return moment
    elapsed = (moment - _EPOCH).total_seconds()
    return _EPOCH + datetime.timedelta(seconds=math.floor(elapsed / seconds) * seconds)


_Series = dict[datetime.datetime, float]


def _evaluate(expression: str, series: dict[str, _Series]) -> _Series:
    """Arithmetic metric math: each datapoint of the result is the expression evaluated on
    the operands' datapoints at that timestamp (a timestamp missing from one is skipped)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as error:
        raise ValidationError(f"Invalid metric math expression: {expression}") from error

    def value(node: ast.expr) -> _Series | float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in series:
                raise ValidationError(f"Unknown metric id {node.id} in expression {expression}")
            return series[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return _combine(lambda a, _: -a, value(node.operand), 0.0)
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, ast.Add | ast.Sub | ast.Mult | ast.Div
        ):
            return _combine(_OPERATORS[type(node.op)], value(node.left), value(node.right))
        raise ValidationError(
            f"Metric math beyond + - * / is not supported in the sandbox: {expression}"
        )

    result = value(tree)
    if isinstance(result, float):
        raise ValidationError(f"The expression {expression} names no metric.")
    return result


def _divide(a: float, b: float) -> float:
    return a / b if b else math.nan


_OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: _divide,
}


def _combine(
    operator: Callable[[float, float], float], left: _Series | float, right: _Series | float
) -> _Series | float:
    if isinstance(left, float) and isinstance(right, float):
        return operator(left, right)
    if isinstance(left, float):
        assert isinstance(right, dict)
        combined = {at: operator(left, v) for at, v in right.items()}
    elif isinstance(right, float):
        combined = {at: operator(v, right) for at, v in left.items()}
    else:
        combined = {at: operator(v, right[at]) for at, v in left.items() if at in right}
    # CloudWatch leaves out the datapoints where division by zero gives no number.
    return {at: v for at, v in combined.items() if not math.isnan(v)}
