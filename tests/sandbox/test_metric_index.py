"""The sandbox's index over moto's CloudWatch store answers as a scan of the store would."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from moto.backends import get_backend

from serving_operator.sandbox.metric_index import MetricIndex, metric_key

T0 = datetime.datetime(2026, 12, 7, 12, 0, 0)
DIMENSIONS = [("EndpointName", "ep"), ("VariantName", "blue")]


def store() -> Any:
    """A moto CloudWatch backend of a fresh account: its metric_data is moto's own list."""
    account = str(uuid.uuid4().int)[:12]
    return get_backend("cloudwatch")[account]["us-east-1"]


def put(backend: Any, name: str, seconds: float, value: float, dims: list[tuple[str, str]]) -> None:
    backend.put_metric_data(
        "AWS/SageMaker",
        [
            {
                "MetricName": name,
                "Value": value,
                "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
                "Timestamp": T0 + datetime.timedelta(seconds=seconds),
            }
        ],
    )


def values(datums: list[Any]) -> list[float]:
    return [d.value for d in datums]


def test_a_query_sees_its_metric_in_its_window_in_time_order() -> None:
    backend, index = store(), MetricIndex()
    put(backend, "Invocations", 30, 3.0, DIMENSIONS)
    put(backend, "Invocations", 10, 1.0, list(reversed(DIMENSIONS)))  # order of dims is no key
    put(backend, "Invocations", 20, 2.0, DIMENSIONS)
    put(backend, "Invocations", 20, 9.0, [("EndpointName", "ep")])  # another metric
    put(backend, "ModelLatency", 20, 7.0, DIMENSIONS)
    put(backend, "Invocations", 60, 6.0, DIMENSIONS)  # at the window's end: excluded
    key = metric_key("AWS/SageMaker", "Invocations", DIMENSIONS)
    window = (T0, T0 + datetime.timedelta(seconds=60))
    assert values(index.between(backend.metric_data, key, *window)) == [1.0, 2.0, 3.0]


def test_datums_put_after_a_query_are_seen_by_the_next() -> None:
    backend, index = store(), MetricIndex()
    key = metric_key("AWS/SageMaker", "Invocations", DIMENSIONS)
    window = (T0, T0 + datetime.timedelta(minutes=5))
    assert index.between(backend.metric_data, key, *window) == []
    put(backend, "Invocations", 5, 1.0, DIMENSIONS)
    assert values(index.between(backend.metric_data, key, *window)) == [1.0]
    put(backend, "Invocations", 1, 2.0, DIMENSIONS)  # late, earlier timestamp
    assert values(index.between(backend.metric_data, key, *window)) == [2.0, 1.0]


def test_a_store_replaced_by_a_reset_is_indexed_afresh() -> None:
    first, second, index = store(), store(), MetricIndex()
    key = metric_key("AWS/SageMaker", "Invocations", DIMENSIONS)
    window = (T0, T0 + datetime.timedelta(minutes=5))
    put(first, "Invocations", 5, 1.0, DIMENSIONS)
    assert values(index.between(first.metric_data, key, *window)) == [1.0]
    put(second, "Invocations", 6, 2.0, DIMENSIONS)
    assert values(index.between(second.metric_data, key, *window)) == [2.0]
    first.metric_data.clear()
    assert index.between(first.metric_data, key, *window) == []
