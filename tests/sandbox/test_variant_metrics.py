"""Per-variant model behaviour in the sandbox, seen as a canary analysis sees it: through
the AWS/SageMaker metrics in CloudWatch, after real InvokeEndpoint traffic.

Every CloudWatch answer is checked against botocore's output shape, and every ModelError
against its error shape.
"""

from __future__ import annotations

import datetime
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.parsers
import botocore.serialize
import pytest

from serving_operator.sandbox.behaviour import VariantBehaviour
from serving_operator.sandbox.cloudwatch import percentile
from tests.sandbox import endpoints
from tests.sandbox.canary import (
    behaviour_admin,
    binomial_tolerance,
    lognormal_quantile,
    metric_data,
    metric_query,
    only_value,
    order_statistic_bounds,
    set_behaviour,
)
from tests.sandbox.shapes import ErrorShapeRecorder, ShapeRecorder
from tests.support.sandbox import REGION, Sandbox

NO_RETRIES = botocore.config.Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=16
)


@pytest.fixture
def behaviours(sandbox: Sandbox) -> Iterator[None]:
    """Leaves no behaviour behind in the shared sandbox."""
    yield
    behaviour_admin(sandbox, "DELETE")


@pytest.fixture
def cloudwatch(sandbox: Sandbox, shapes: ShapeRecorder) -> Any:
    client = sandbox.client("cloudwatch")
    client.meta.events.register("before-parse.cloudwatch.*", shapes)
    return client


@pytest.fixture
def error_shapes() -> Iterator[ErrorShapeRecorder]:
    recorder = ErrorShapeRecorder()
    yield recorder
    assert recorder.errors == [], "\n".join(recorder.errors)


@pytest.fixture
def invoker(sandbox: Sandbox, error_shapes: ErrorShapeRecorder) -> Any:
    """A SageMaker Runtime client that does not retry; its errors are shape-checked."""
    client = sandbox.client("sagemaker-runtime", NO_RETRIES)
    client.meta.events.register("before-parse.sagemaker-runtime.*", error_shapes)
    return client


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _invoke(invoker: Any, endpoint: str, variant: str) -> tuple[int, dict[str, Any]]:
    """One call: (the model's status, what came back) — 200 and the response, or the
    ModelError's OriginalStatusCode and its error response."""
    try:
        response = invoker.invoke_endpoint(
            EndpointName=endpoint, Body=b"1.0,2.0", ContentType="text/csv", TargetVariant=variant
        )
    except invoker.exceptions.ModelError as error:
        return int(error.response["OriginalStatusCode"]), error.response
    response["Body"].read()
    assert response["InvokedProductionVariant"] == variant
    return 200, response


def _drive(invoker: Any, endpoint: str, calls: dict[str, int]) -> dict[str, Counter[int]]:
    """Exactly calls[variant] calls to each variant, 8 at a time: the model statuses seen."""
    plan = [variant for variant, count in calls.items() for _ in range(count)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda v: _invoke(invoker, endpoint, v)[0], plan))
    seen: dict[str, Counter[int]] = {variant: Counter() for variant in calls}
    for variant, status in zip(plan, statuses, strict=True):
        seen[variant][status] += 1
    return seen


# -- the admin API --------------------------------------------------------------------------
def test_behaviour_admin_api_sets_reads_and_resets(sandbox: Sandbox, behaviours: None) -> None:
    answer = set_behaviour(
        sandbox, "ep-x", "canary", errorRate5xx=0.02, latencyMs={"median": 20, "p99": 80}, seed=7
    )
    assert answer == {
        "endpoint": "ep-x",
        "variant": "canary",
        "errorRate5xx": 0.02,
        "errorRate4xx": 0.0,
        "latencyMs": {"median": 20.0, "p99": 80.0},
        "seed": 7,
    }
    baseline = set_behaviour(sandbox, "ep-x", "baseline", errorRate4xx=0.5)
    assert isinstance(baseline["seed"], int)  # derived from the names: the same every run
    assert set_behaviour(sandbox, "ep-x", "baseline", errorRate4xx=0.5)["seed"] == baseline["seed"]
    assert behaviour_admin(sandbox, "GET") == (200, [baseline, answer])
    assert behaviour_admin(sandbox, "GET", query="?variant=canary") == (200, [answer])

    for invalid, field in [
        ({"errorRate5xx": 1.5}, "errorRate5xx"),
        ({"errorRate5xx": 0.7, "errorRate4xx": 0.6}, "must not exceed 1"),
        ({"latencyMs": {"median": 50, "p99": 10}}, "latencyMs"),
        ({"latencyMs": {"median": "fast"}}, "latencyMs.median"),
        ({"seed": "seven"}, "seed"),
    ]:
        status, error = behaviour_admin(
            sandbox, "POST", {"endpoint": "ep-x", "variant": "canary", **invalid}
        )
        assert (status, field in error["error"]) == (400, True), error
    status, error = behaviour_admin(sandbox, "POST", {"variant": "canary"})
    assert (status, error["error"].startswith("endpoint")) == (400, True)
    assert behaviour_admin(sandbox, "GET", query="?variant=canary") == (200, [answer])

    assert behaviour_admin(sandbox, "DELETE", query="?endpoint=ep-x&variant=canary") == (
        200,
        {"ok": True, "forgotten": 1},
    )
    assert behaviour_admin(sandbox, "GET") == (200, [baseline])
    assert behaviour_admin(sandbox, "DELETE") == (200, {"ok": True, "forgotten": 1})
    assert behaviour_admin(sandbox, "GET") == (200, [])


# -- ModelError -----------------------------------------------------------------------------
def test_a_failing_model_answers_model_error_as_sagemaker_does(
    control: Any,
    invoker: Any,
    model_bucket: str,
    sandbox: Sandbox,
    behaviours: None,
    cloudwatch: Any,
    error_shapes: ErrorShapeRecorder,
) -> None:
    model = endpoints.single_model(control, model_bucket)
    name = endpoints.endpoint(control, {"broken": model, "picky": model, "fine": model})
    endpoints.in_service(control, name)
    started = _now()
    set_behaviour(sandbox, name, "broken", errorRate5xx=1.0)
    set_behaviour(sandbox, name, "picky", errorRate4xx=1.0)

    status, error = _invoke(invoker, name, "broken")
    assert status == 500
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["Error"]["Code"] == "ModelError"
    assert error["Error"]["Message"].startswith("Received server error (500) from primary")
    assert error["LogStreamArn"] == (
        f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/sagemaker/Endpoints/{name}"
    )
    assert "stand-in model" in error["OriginalMessage"]
    status, error = _invoke(invoker, name, "picky")
    assert status == 400
    assert error["Error"]["Message"].startswith("Received client error (400) from primary")
    assert _invoke(invoker, name, "fine")[0] == 200
    assert error_shapes.checked == ["ModelError", "ModelError"]

    # The model's own status decides which error metric counts the call; every call that
    # reached a model is an invocation, and errors are 0 or 1 per call.
    sums = {
        (variant, metric): only_value(result)
        for variant in ("broken", "picky", "fine")
        for metric in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")
        for result in metric_data(
            cloudwatch, [metric_query("q", name, variant, metric, "Sum")], started
        ).values()
    }
    assert sums == {
        ("broken", "Invocations"): 1.0,
        ("broken", "Invocation4XXErrors"): 0.0,
        ("broken", "Invocation5XXErrors"): 1.0,
        ("picky", "Invocations"): 1.0,
        ("picky", "Invocation4XXErrors"): 1.0,
        ("picky", "Invocation5XXErrors"): 0.0,
        ("fine", "Invocations"): 1.0,
        ("fine", "Invocation4XXErrors"): 0.0,
        ("fine", "Invocation5XXErrors"): 0.0,
    }


# -- error rates and latency, per variant, through GetMetricData -------------------------------
BASELINE = {"errorRate5xx": 0.02, "latencyMs": {"median": 3.0, "p99": 12.0}, "seed": 11}
CANARY = {
    "errorRate5xx": 0.15,
    "errorRate4xx": 0.05,
    "latencyMs": {"median": 6.0, "p99": 30.0},
    "seed": 12,
}
CALLS = 800
LATENCY_PERCENTILES = (50, 90, 99)


def test_variant_metrics_show_each_variants_error_rate_and_latency(
    control: Any,
    invoker: Any,
    model_bucket: str,
    sandbox: Sandbox,
    sandbox_settings: Callable[..., None],
    behaviours: None,
    cloudwatch: Any,
    shapes: ShapeRecorder,
) -> None:
    sandbox_settings(metricPeriodSeconds=1)
    model = endpoints.single_model(control, model_bucket)
    name = endpoints.endpoint(control, {"baseline": model, "canary": model})
    endpoints.in_service(control, name)
    configured = {"baseline": BASELINE, "canary": CANARY}
    for variant, behaviour in configured.items():
        set_behaviour(sandbox, name, variant, **behaviour)

    started = _now()
    seen = _drive(invoker, name, {"baseline": CALLS, "canary": CALLS})

    queries = []
    for v in configured:
        queries += [
            metric_query(f"{v}_invocations", name, v, "Invocations", "Sum"),
            metric_query(f"{v}_5xx", name, v, "Invocation5XXErrors", "Sum"),
            metric_query(f"{v}_4xx", name, v, "Invocation4XXErrors", "Sum"),
            metric_query(f"{v}_5xx_rate", name, v, "Invocation5XXErrors", "Average"),
            metric_query(f"{v}_latency_count", name, v, "ModelLatency", "SampleCount"),
            metric_query(f"{v}_latency_min", name, v, "ModelLatency", "Minimum"),
            metric_query(f"{v}_latency_max", name, v, "ModelLatency", "Maximum"),
            metric_query(f"{v}_overhead_count", name, v, "OverheadLatency", "SampleCount"),
            *(
                metric_query(f"{v}_latency_p{p}", name, v, "ModelLatency", f"p{p}")
                for p in LATENCY_PERCENTILES
            ),
            {"Id": f"{v}_error_ratio", "Expression": f"{v}_5xx / {v}_invocations"},
        ]
    results = metric_data(cloudwatch, queries, started)
    value = {query_id: only_value(result) for query_id, result in results.items()}

    for variant, behaviour in configured.items():
        statuses = seen[variant]
        # Counts: exactly the calls made, and exactly the errors the callers saw.
        assert value[f"{variant}_invocations"] == CALLS
        assert value[f"{variant}_latency_count"] == CALLS
        assert value[f"{variant}_overhead_count"] == CALLS
        assert value[f"{variant}_5xx"] == statuses[500]
        assert value[f"{variant}_4xx"] == statuses[400]
        assert statuses[200] + statuses[500] + statuses[400] == CALLS
        # Error rates: the seeded draws are reproducible; they must also sit within a
        # binomial tolerance of the configured rate (4.5 standard deviations).
        for metric, key in (("5xx", "errorRate5xx"), ("4xx", "errorRate4xx")):
            rate = float(behaviour.get(key, 0.0))
            observed = value[f"{variant}_{metric}"] / CALLS
            assert abs(observed - rate) <= binomial_tolerance(CALLS, rate), (variant, metric)
        assert value[f"{variant}_5xx_rate"] == pytest.approx(statuses[500] / CALLS)
        assert value[f"{variant}_error_ratio"] == pytest.approx(statuses[500] / CALLS)

        # Latency: each percentile of the recorded samples lies where the configured
        # lognormal puts it (distribution-free order-statistic bounds, alpha 1e-6 each).
        latency = behaviour["latencyMs"]
        assert isinstance(latency, dict)
        percentiles = [value[f"{variant}_latency_p{p}"] for p in LATENCY_PERCENTILES]
        assert value[f"{variant}_latency_min"] <= percentiles[0]
        assert percentiles == sorted(percentiles)
        assert percentiles[-1] <= value[f"{variant}_latency_max"]
        for p, microseconds in zip(LATENCY_PERCENTILES, percentiles, strict=True):
            low, high = order_statistic_bounds(CALLS, p)
            bounds = (
                lognormal_quantile(latency["median"], latency["p99"], low),
                lognormal_quantile(latency["median"], latency["p99"], high),
            )
            assert bounds[0] <= microseconds / 1000 <= bounds[1], (variant, p, bounds)
    # The canary really is worse than the baseline, as configured.
    assert value["canary_latency_p50"] > value["baseline_latency_p50"]

    # GetMetricStatistics agrees, ExtendedStatistics included.
    statistics = cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=[
            {"Name": "EndpointName", "Value": name},
            {"Name": "VariantName", "Value": "canary"},
        ],
        StartTime=started,
        EndTime=_now() + datetime.timedelta(minutes=1),
        Period=3600,
        ExtendedStatistics=["p50", "p99"],
    )
    [point] = statistics["Datapoints"]
    assert point["Unit"] == "Microseconds"
    assert point["ExtendedStatistics"] == {
        "p50": value["canary_latency_p50"],
        "p99": value["canary_latency_p99"],
    }

    # Periods of one second (metricPeriodSeconds 1): whole seconds, newest first, and
    # together every invocation.
    per_second = metric_data(
        cloudwatch,
        [metric_query("each", name, "baseline", "Invocations", "Sum", period=1)],
        started,
    )["each"]
    assert sum(per_second["Values"]) == CALLS
    stamps = per_second["Timestamps"]
    assert all(stamp.microsecond == 0 for stamp in stamps)
    assert stamps == sorted(stamps, reverse=True)
    assert len(set(stamps)) == len(stamps)
    ascending = metric_data(
        cloudwatch,
        [metric_query("each", name, "baseline", "Invocations", "Sum", period=1)],
        started,
        ScanBy="TimestampAscending",
    )["each"]
    assert ascending["Timestamps"] == stamps[::-1]
    assert {"GetMetricData", "GetMetricStatistics"} <= set(shapes.checked)


def test_metrics_are_stamped_at_the_start_of_their_minute_by_default(
    control: Any, invoker: Any, model_bucket: str, cloudwatch: Any
) -> None:
    name = endpoints.endpoint(control, {"a": endpoints.single_model(control, model_bucket)})
    endpoints.in_service(control, name)
    started = _now()
    for _ in range(3):
        assert _invoke(invoker, name, "a")[0] == 200
    result = metric_data(
        cloudwatch,
        [metric_query("each", name, "a", "Invocations", "Sum", period=1)],
        started - datetime.timedelta(minutes=1),
    )["each"]
    assert sum(result["Values"]) == 3
    assert {(t.second, t.microsecond) for t in result["Timestamps"]} == {(0, 0)}


def test_queries_cloudwatch_refuses_are_refused(
    control: Any, invoker: Any, model_bucket: str, cloudwatch: Any
) -> None:
    name = endpoints.endpoint(control, {"a": endpoints.single_model(control, model_bucket)})
    endpoints.in_service(control, name)
    _invoke(invoker, name, "a")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        metric_data(cloudwatch, [metric_query("q", name, "a", "ModelLatency", "tm99")], _now())
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="ModelLatency",
            StartTime=_now(),
            EndTime=_now() + datetime.timedelta(minutes=1),
            Period=60,
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_other_namespaces_stay_with_moto(cloudwatch: Any) -> None:
    namespace = endpoints.unique("Canary/Tests")
    started = _now() - datetime.timedelta(minutes=1)
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": "Checks", "Value": v} for v in (1.0, 2.0, 4.0)],
    )
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "checks",
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": "Checks"},
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=started,
        EndTime=_now() + datetime.timedelta(minutes=1),
    )
    assert sum(answer["MetricDataResults"][0]["Values"]) == 7.0


def test_query_protocol_clients_get_the_same_answer(
    control: Any, invoker: Any, model_bucket: str, sandbox: Sandbox, cloudwatch: Any
) -> None:
    """Older botocore speaks the query protocol (XML answers) to CloudWatch."""
    name = endpoints.endpoint(control, {"a": endpoints.single_model(control, model_bucket)})
    endpoints.in_service(control, name)
    started = _now()
    for _ in range(4):
        _invoke(invoker, name, "a")
    params = {
        "MetricDataQueries": [
            metric_query("invocations", name, "a", "Invocations", "Sum"),
            metric_query("p50", name, "a", "ModelLatency", "p50"),
        ],
        "StartTime": started,
        "EndTime": _now() + datetime.timedelta(minutes=1),
    }
    operation = cloudwatch.meta.service_model.operation_model("GetMetricData")
    serialized = botocore.serialize.create_serializer("query").serialize_to_request(
        params, operation
    )
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=sandbox.url + "/", data=serialized["body"], headers=serialized["headers"]
    )
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials("testing", "testing"), "monitoring", REGION
    ).add_auth(request)
    prepared = request.prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    with urllib.request.urlopen(
        urllib.request.Request(
            prepared.url, data=body, headers=dict(prepared.headers), method="POST"
        ),
        timeout=10,
    ) as response:
        raw = {
            "status_code": response.status,
            "headers": dict(response.headers),
            "body": response.read(),
        }
    assert raw["body"].startswith(b"<GetMetricDataResponse")
    parsed = botocore.parsers.create_parser("query").parse(raw, operation.output_shape)
    over_query = {r["Id"]: r["Values"] for r in parsed["MetricDataResults"]}
    over_json = {
        k: r["Values"]
        for k, r in metric_data(cloudwatch, params["MetricDataQueries"], started).items()
    }
    assert over_query == over_json
    assert over_query["invocations"] == [4.0]


# -- alarms -------------------------------------------------------------------------------
def test_alarms_round_trip(cloudwatch: Any, shapes: ShapeRecorder) -> None:
    prefix = endpoints.unique("canary-alarm")
    dimensions = [
        {"Name": "EndpointName", "Value": "ep"},
        {"Name": "VariantName", "Value": "canary"},
    ]
    cloudwatch.put_metric_alarm(
        AlarmName=f"{prefix}-errors",
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=dimensions,
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=0.05,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    cloudwatch.put_metric_alarm(
        AlarmName=f"{prefix}-latency",
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=dimensions,
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=1,
        Threshold=200_000.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    try:
        described = {
            a["AlarmName"]: a
            for a in cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
        }
        errors, latency = described[f"{prefix}-errors"], described[f"{prefix}-latency"]
        assert len(described) == 2
        assert errors["StateValue"] == latency["StateValue"] == "INSUFFICIENT_DATA"
        assert (errors["Statistic"], errors["Threshold"], errors["EvaluationPeriods"]) == (
            "Average",
            0.05,
            2,
        )
        assert errors["Dimensions"] == dimensions
        assert latency["ExtendedStatistic"] == "p99"

        cloudwatch.set_alarm_state(
            AlarmName=f"{prefix}-errors", StateValue="ALARM", StateReason="canary failing"
        )
        firing = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")
        assert [a["AlarmName"] for a in firing["MetricAlarms"]] == [f"{prefix}-errors"]
        assert firing["MetricAlarms"][0]["StateReason"] == "canary failing"
        # Every filter applies at once (moto alone would apply only the first it finds).
        named_and_firing = cloudwatch.describe_alarms(
            AlarmNames=[f"{prefix}-errors", f"{prefix}-latency"], StateValue="ALARM"
        )
        assert [a["AlarmName"] for a in named_and_firing["MetricAlarms"]] == [f"{prefix}-errors"]
        # Updating an alarm leaves its state as it was (moto alone would reset it).
        cloudwatch.put_metric_alarm(
            AlarmName=f"{prefix}-errors",
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Dimensions=dimensions,
            Statistic="Average",
            Period=60,
            EvaluationPeriods=2,
            Threshold=0.1,
            ComparisonOperator="GreaterThanThreshold",
        )
        [updated] = cloudwatch.describe_alarms(AlarmNames=[f"{prefix}-errors"])["MetricAlarms"]
        assert (updated["Threshold"], updated["StateValue"]) == (0.1, "ALARM")
        cloudwatch.set_alarm_state(AlarmName=f"{prefix}-errors", StateValue="OK", StateReason="ok")
        assert (
            cloudwatch.describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")["MetricAlarms"]
            == []
        )
        with pytest.raises(cloudwatch.exceptions.ResourceNotFound):
            cloudwatch.set_alarm_state(
                AlarmName=f"{prefix}-absent", StateValue="ALARM", StateReason="x"
            )
    finally:
        cloudwatch.delete_alarms(AlarmNames=[f"{prefix}-errors", f"{prefix}-latency"])
    assert cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == []
    assert shapes.checked.count("DescribeAlarms") >= 4


# -- the statistics, against known values -----------------------------------------------------
def test_percentiles_and_bounds_match_known_values() -> None:
    hundred = [float(v) for v in range(100, 0, -1)]
    assert (percentile(hundred, 50), percentile(hundred, 99), percentile(hundred, 100)) == (
        50.0,
        99.0,
        100.0,
    )
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # rank ceil(1.5) = 2
    assert percentile([3.0, 1.0, 2.0], 0.1) == 1.0

    canary = VariantBehaviour("ep", "canary", latency_median_ms=20, latency_p99_ms=80)
    assert canary.latency_quantile(0.0) == pytest.approx(20)
    assert canary.latency_quantile(NormalDist().inv_cdf(0.99)) == pytest.approx(80)
    assert lognormal_quantile(20, 80, 0.5) == pytest.approx(20)
    assert lognormal_quantile(20, 80, 0.99) == pytest.approx(80)

    # The median of 101 samples is the 51st: below the population median with probability
    # P(Binomial(101, 0.5) >= 51) = 1/2, so the bounds straddle 0.5 symmetrically.
    low, high = order_statistic_bounds(101, 50, alpha=0.05)
    assert low < 0.5 < high
    assert low == pytest.approx(1 - high, abs=0.01)
    # Textbook 95% interval for the median of 101: ranks 41..61, i.e. levels about 0.40..0.60.
    assert (low, high) == (pytest.approx(0.40, abs=0.015), pytest.approx(0.60, abs=0.015))
