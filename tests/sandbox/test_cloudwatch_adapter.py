"""The operator's CloudWatch adapter against the sandbox: what a canary analysis reads after
real InvokeEndpoint traffic (counts, errors, percentiles, a custom query) and alarm states."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from serving_operator.api.trafficsplit import AnalysisMetric
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.planning.trafficsplit.observed import AlarmState, MetricsLookup
from tests.sandbox import endpoints
from tests.sandbox.canary import behaviour_admin, set_behaviour
from tests.support.sandbox import Sandbox


@pytest.fixture
def behaviours(sandbox: Sandbox) -> Iterator[None]:
    yield
    behaviour_admin(sandbox, "DELETE")


@pytest.fixture
def adapter(sandbox: Sandbox) -> CloudWatch:
    return CloudWatch(sandbox.client("cloudwatch"), TokenBucket(1000, 1000))


def _calls(runtime: Any, endpoint: str, variant: str, count: int) -> int:
    """`count` calls to `variant`; how many the model failed (ModelError)."""
    failed = 0
    for _ in range(count):
        try:
            runtime.invoke_endpoint(
                EndpointName=endpoint, Body=b"1.0", ContentType="text/csv", TargetVariant=variant
            )["Body"].read()
        except runtime.exceptions.ModelError:
            failed += 1
    return failed


def test_read_analysis_counts_every_call_and_error_per_variant(
    sandbox: Sandbox,
    sandbox_settings: Callable[..., None],
    behaviours: None,
    adapter: CloudWatch,
    model_bucket: str,
) -> None:
    sandbox_settings(metricPeriodSeconds=1)
    control = sandbox.client("sagemaker")
    model = endpoints.single_model(control, model_bucket)
    name = endpoints.endpoint(control, {"blue": model, "green": model})
    endpoints.in_service(control, name)
    set_behaviour(sandbox, name, "blue", errorRate5xx=0.0, latencyMs={"median": 2, "p99": 5})
    set_behaviour(sandbox, name, "green", errorRate5xx=0.3, latencyMs={"median": 2, "p99": 5})
    # A span of 10 s (a period CloudWatch accepts) that began before the first call and ends
    # after the last: the percentile window can then be the whole span.
    start = datetime.datetime.fromtimestamp(int(time.time()) - 3, datetime.UTC)
    end = start + datetime.timedelta(seconds=10)
    runtime = sandbox.client("sagemaker-runtime")
    failed = {
        "blue": _calls(runtime, name, "blue", 40),
        "green": _calls(runtime, name, "green", 60),
    }
    assert failed["blue"] == 0
    assert failed["green"] > 0
    assert time.time() < end.timestamp(), "the calls took longer than the span"
    lookup = MetricsLookup(start=start, window_start=start, end=end, period=1)
    metrics = [
        AnalysisMetric.model_validate(
            {"name": "p50", "type": "Latency", "percentile": 50, "thresholdRange": {"max": 1e9}}
        ),
        AnalysisMetric.model_validate(
            {
                "name": "calls",
                "type": "Custom",
                "query": {
                    "namespace": "AWS/SageMaker",
                    "metricName": "Invocations",
                    "dimensions": {"EndpointName": "$endpoint", "VariantName": "$variant"},
                    "stat": "Sum",
                },
                "thresholdRange": {"min": 0},
            }
        ),
    ]
    data = adapter.read_analysis(name, ["blue", "green"], metrics, lookup)
    assert data.totals["blue"].invocations == 40
    assert data.totals["green"].invocations == 60
    assert data.totals["blue"].errors_5xx == 0
    assert data.totals["green"].errors_5xx == failed["green"]
    for variant in ("blue", "green"):
        latency = data.values[("p50", variant)]
        assert latency is not None
        assert latency > 0
        calls = data.values[("calls", variant)]
        assert calls is not None
        assert calls == data.totals[variant].invocations


def test_alarm_states_are_as_cloudwatch_keeps_them(sandbox: Sandbox, adapter: CloudWatch) -> None:
    cloudwatch = sandbox.client("cloudwatch")
    names = [endpoints.unique("alarm"), endpoints.unique("alarm")]
    for alarm in names:
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    try:
        cloudwatch.set_alarm_state(AlarmName=names[0], StateValue="ALARM", StateReason="test")
        states = adapter.alarm_states([*names, "no-such-alarm"])
        assert states == {names[0]: AlarmState.ALARM, names[1]: AlarmState.INSUFFICIENT_DATA}
    finally:
        cloudwatch.delete_alarms(AlarmNames=names)
