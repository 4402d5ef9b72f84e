"""Prometheus metrics, served by `serving-operator run --metrics-port`."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
AWS_RETRIES = Counter(
    "serving_operator_aws_retries_total",
    "Attempts botocore retried (throttling, 5xx) before an AWS call returned.",
    ["service", "operation"],
)
