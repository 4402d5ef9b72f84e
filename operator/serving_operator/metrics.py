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
AWS_CALL_ATTEMPTS = Histogram(
    "serving_operator_aws_call_attempts",
    "Attempts botocore made for one AWS call (1: no retry); at most total_max_attempts (6).",
    ["service"],
    buckets=(1, 2, 3, 4, 5, 6),
)
AWS_RETRY_WAIT_SECONDS = Histogram(
    "serving_operator_aws_retry_wait_seconds",
    "How long botocore waited before a retry of an AWS call (exponential backoff with "
    "jitter), by retry number (1: the wait before the second attempt).",
    ["service", "retry"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
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
