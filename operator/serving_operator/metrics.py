"""Prometheus metrics, served by `serving-operator run --metrics-port`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter(
    "serving_operator_reconciles_total",
    "Reconcile passes, by kind and outcome (Ready, Progressing, Stalled, Error).",
    ["kind", "outcome"],
)
RECONCILE_SECONDS = Histogram(
    "serving_operator_reconcile_duration_seconds",
    "Wall time of one reconcile pass, AWS calls included.",
    ["kind"],
)
AWS_CALLS = Counter(
    "serving_operator_aws_calls_total",
    "AWS API calls, by service, operation and outcome (ok or the AWS error code).",
    ["service", "operation", "outcome"],
)
AWS_CALL_SECONDS = Histogram(
    "serving_operator_aws_call_duration_seconds",
    "Wall time of AWS API calls, botocore's own retries included.",
    ["service", "operation"],
)
AWS_RATE_LIMIT_WAIT_SECONDS = Counter(
    "serving_operator_aws_rate_limit_wait_seconds",
    "Seconds AWS calls waited for the operator's own client-side rate limit, by service.",
    ["service"],
)
AWS_RETRIES = Counter(
    "serving_operator_aws_retries_total",
    "Attempts botocore retried (throttling, 5xx) before an AWS call returned.",
    ["service", "operation"],
)
CANARY_WEIGHT = Gauge(
    "serving_operator_canary_weight",
    "A TrafficSplit's live share of traffic per variant, in percent.",
    ["namespace", "name", "variant"],
)
CANARY_PHASE = Gauge(
    "serving_operator_canary_phase",
    "A TrafficSplit's phase: 1 for the phase it is in, 0 for the others.",
    ["namespace", "name", "phase"],
)
ANALYSIS_CHECKS = Counter(
    "serving_operator_analysis_checks_total",
    "Canary analysis checks, by verdict (Pass, Fail, Inconclusive).",
    ["namespace", "name", "result"],
)
