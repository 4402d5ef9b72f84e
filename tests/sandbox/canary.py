"""Helpers for the canary tier of the sandbox: variant behaviour, CloudWatch queries, and
the statistics the tests judge recorded metrics by."""

from __future__ import annotations

import datetime
import json
import math
import urllib.error
import urllib.request
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

from tests.support.sandbox import Sandbox


def behaviour_admin(
    sandbox: Sandbox, method: str, payload: Any = None, query: str = ""
) -> tuple[int, Any]:
    """Calls /_sandbox/behaviour; the HTTP status and the decoded answer."""
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/behaviour{query}",
        data=json.dumps(payload).encode() if payload is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def set_behaviour(sandbox: Sandbox, endpoint: str, variant: str, **behaviour: Any) -> Any:
    status, answer = behaviour_admin(
        sandbox, "POST", {"endpoint": endpoint, "variant": variant, **behaviour}
    )
    assert status == 200, answer
    return answer


def metric_query(
    query_id: str,
    endpoint: str,
    variant: str,
    metric: str,
    stat: str,
    period: int = 3600,
) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": period,
            "Stat": stat,
        },
    }


def metric_data(
    cloudwatch: Any, queries: list[dict[str, Any]], start: datetime.datetime, **extra: Any
) -> dict[str, dict[str, Any]]:
    """GetMetricData from `start` to a minute from now: each result by its Id."""
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries,
        StartTime=start,
        EndTime=datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1),
        **extra,
    )
    return {r["Id"]: r for r in answer["MetricDataResults"]}


def only_value(result: dict[str, Any]) -> float:
    """The one datapoint of a result whose period spans the whole test."""
    assert len(result["Values"]) == 1, result
    value: float = result["Values"][0]
    return value


def binomial_tolerance(n: int, p: float, sds: float = 4.5) -> float:
    """How far an observed rate of n Bernoulli(p) trials may stray from p: `sds` standard
    deviations (4.5: a false failure about once in 150,000 runs, normal approximation)."""
    return sds * math.sqrt(p * (1 - p) / n)


def _log_binomial_pmf(n: int, k: int, a: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(a)
        + (n - k) * math.log1p(-a)
    )


def _at_least(n: int, k: int, a: float) -> float:
    """P(Binomial(n, a) >= k), exactly (summed in log space)."""
    return sum(math.exp(_log_binomial_pmf(n, j, a)) for j in range(k, n + 1))


def _bisect(predicate: Any, low: float = 1e-12, high: float = 1 - 1e-12) -> float:
    """The smallest a in (low, high) for which the monotone `predicate` holds."""
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if predicate(middle) else (middle, high)
    return high


def order_statistic_bounds(n: int, p: float, alpha: float = 1e-6) -> tuple[float, float]:
    """Distribution-free bounds on the level of the nearest-rank p-th percentile of n
    samples: the sample percentile is the k-th smallest sample (k = ceil(p n)), which lies
    below the population's a-quantile exactly when at least k samples do, i.e. with
    probability P(Binomial(n, a) >= k). Returns (a_low, a_high) such that the sample
    percentile falls below quantile a_low, or above quantile a_high, with probability at
    most alpha/2 each."""
    k = max(1, math.ceil(p / 100 * n))
    a_low = _bisect(lambda a: _at_least(n, k, a) > alpha / 2)
    a_high = _bisect(lambda a: _at_least(n, k, a) >= 1 - alpha / 2)
    return a_low, a_high


def lognormal_quantile(median: float, p99: float, level: float) -> float:
    """The `level`-quantile of the lognormal through `median` and `p99`."""
    if level >= 1:
        return math.inf
    sigma = math.log(p99 / median) / NormalDist().inv_cdf(0.99)
    return median * math.exp(sigma * NormalDist().inv_cdf(level))


def nearest_rank(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]
