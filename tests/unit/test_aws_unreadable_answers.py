"""An answer that is not AWS's (a proxy's or load balancer's HTML error page) becomes one
line a person can read in conditions and events: the service, the operation, the HTTP status
and the page's first words, never the page's markup.

The adapters call real boto3 clients, and botocore parses each answer as it would from the
network: a before-send handler hands it the raw answer instead of sending the request (a
Stubber cannot, as it skips the parsing that turns such a page into an error).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from serving_operator.aws.base import READABLE_LENGTH, AwsError, ServiceAdapter
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.aws.sts import Sts
from serving_operator.planning.failures import FailureCategory, outcome_for_failure
from serving_operator.planning.outcome import OutcomeKind

NGINX_500 = b"""<!DOCTYPE html>
<html>
<head><title>500 Internal Server Error</title>
<style>body { width: 35em; margin: 0 auto; font-family: Tahoma, sans-serif; }</style>
<script>window.dataLayer = window.dataLayer || [];</script>
</head>
<body>
<h1>Internal Server Error</h1>
<p>The server encountered an internal error and was unable to complete your request.
Either the server is overloaded or there is an error in the application.</p>
<!-- request id 1f2e3d -->
<hr><address>nginx/1.25.3 &amp; friends</address>
</body>
</html>
"""
# botocore's own check for a generic error page: a 5xx whose body starts with <html>. Its
# error then carries the status's phrase only.
BARE_502 = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>awselb/2.0</center></body></html>"  # noqa: E501


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def _answering(service: str, status: int, body: bytes) -> Any:
    """A boto3 client whose every request is answered with `body` at `status`, unsent."""
    client = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(
        service,  # type: ignore[call-overload]
        endpoint_url="https://aws.example.invalid",
        # One attempt: botocore would retry a 5xx, each time with the same page.
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, {"Content-Type": "text/html"}, _Body(body))

    client.meta.events.register("before-send", answer)
    return client


CALLS = [
    pytest.param(
        SageMaker, "sagemaker", "DescribeEndpoint", {"EndpointName": "bikes"}, id="json-sagemaker"
    ),
    pytest.param(
        CloudWatch,
        "cloudwatch",
        "PutMetricAlarm",
        {
            "AlarmName": "latency-high",
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "MetricName": "ModelLatency",
            "Namespace": "AWS/SageMaker",
            "Period": 60,
            "Statistic": "Average",
            "Threshold": 1.0,
        },
        id="cloudwatch",
    ),
    # Query protocol: botocore cannot parse the page as XML and raises ResponseParserError.
    pytest.param(Sts, "sts", "GetCallerIdentity", {}, id="query-sts"),
    pytest.param(S3, "s3", "ListObjectsV2", {"Bucket": "models"}, id="rest-xml-s3"),
]


def _failure_of(adapter: ServiceAdapter, operation: str, params: dict[str, Any]) -> AwsError:
    with pytest.raises(AwsError) as raised:
        adapter.call(operation, **params)
    return raised.value


def _assert_one_readable_line(text: str, service: str, operation: str, status: int) -> None:
    assert "\n" not in text
    assert "<" not in text
    assert f"{service}.{operation}" in text
    assert f"HTTP {status}" in text
    # The condition's words, the call, the status and at most READABLE_LENGTH of the page.
    assert len(text) < READABLE_LENGTH + 150, text


@pytest.mark.parametrize(("adapter_type", "service", "operation", "params"), CALLS)
def test_an_html_error_page_becomes_one_readable_line(
    adapter_type: type[ServiceAdapter], service: str, operation: str, params: dict[str, Any]
) -> None:
    adapter = adapter_type(_answering(service, 500, NGINX_500), TokenBucket(100, 100))

    error = _failure_of(adapter, operation, params)

    outcome = outcome_for_failure(error.failure)
    # The condition's message, and the Warning event's, which repeats it.
    _assert_one_readable_line(outcome.message, service, operation, 500)
    _assert_one_readable_line(str(error.failure), service, operation, 500)
    assert "HTTP 500 Internal Server Error: The server encountered an internal error" in (
        outcome.message
    )
    assert "window.dataLayer" not in outcome.message
    assert "request id" not in outcome.message
    assert error.failure.category == FailureCategory.TRANSIENT
    assert outcome.kind == OutcomeKind.PROGRESSING


@pytest.mark.parametrize(("adapter_type", "service", "operation", "params"), CALLS)
def test_a_bare_html_page_botocore_reduces_to_its_status_phrase_is_still_read(
    adapter_type: type[ServiceAdapter], service: str, operation: str, params: dict[str, Any]
) -> None:
    adapter = adapter_type(_answering(service, 502, BARE_502), TokenBucket(100, 100))

    error = _failure_of(adapter, operation, params)

    message = outcome_for_failure(error.failure).message
    _assert_one_readable_line(message, service, operation, 502)
    assert message.endswith("HTTP 502 Bad Gateway: awselb/2.0")


def test_a_long_page_is_cut_at_a_word_within_the_limit() -> None:
    words = " ".join(f"word{index}" for index in range(200))
    page = f"<html><body><p>{words}</p></body></html>".encode()
    adapter = SageMaker(_answering("sagemaker", 503, page), TokenBucket(100, 100))

    error = _failure_of(adapter, "DescribeEndpoint", {"EndpointName": "bikes"})

    head = "HTTP 503 Service Unavailable: "
    assert error.aws_message.startswith(head)
    text = error.aws_message.removeprefix(head)
    assert text.endswith("…")
    assert len(text) <= READABLE_LENGTH + 1
    assert all(word.startswith("word") and word[4:].isdigit() for word in text[:-1].split())


def test_an_aws_error_keeps_its_code_and_message() -> None:
    """The readable line is for answers that are not AWS's; AWS's own errors are unchanged."""
    body = b'{"__type": "ValidationException", "message": "Could not find endpoint \\"bikes\\"."}'
    client = _answering("sagemaker", 400, body)
    adapter = SageMaker(client, TokenBucket(100, 100))

    error = _failure_of(adapter, "DescribeEndpoint", {"EndpointName": "bikes"})

    assert (error.code, error.aws_message) == (
        "ValidationException",
        'Could not find endpoint "bikes".',
    )


def test_a_request_botocore_refuses_before_sending_is_rejected_not_retried() -> None:
    # FrameworkVersion "2" breaks botocore's pattern [0-9]\.[A-Za-z0-9.]+: ParamValidationError,
    # raised before any request. It was a 599 (TRANSIENT: "AWS busy", retried forever).
    from serving_operator.aws.neo import Neo

    client = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url="https://aws.example.invalid",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    neo = Neo(client, TokenBucket(1000, 1000))
    request = {
        "RoleArn": "arn:aws:iam::123456789012:role/Neo",
        "InputConfig": {
            "S3Uri": "s3://models/model.tar.gz",
            "Framework": "PYTORCH",
            "FrameworkVersion": "2",
            "DataInputConfig": "{}",
        },
        "OutputConfig": {"S3OutputLocation": "s3://models/out/", "TargetDevice": "rasp4b"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 900},
    }
    with pytest.raises(AwsError) as raised:
        neo.create("job", request)
    assert raised.value.code == "ParamValidationError"
    assert raised.value.category == FailureCategory.REJECTED
    assert outcome_for_failure(raised.value.failure).kind == OutcomeKind.STALLED


def test_neos_concurrent_compilation_quota_is_waited_out_not_stalled() -> None:
    # The concurrent compilation jobs quota frees when running jobs end: Reconciling with
    # back-off. Elsewhere ResourceLimitExceeded (e.g. an instance quota) still needs a person.
    quota = AwsError(
        "sagemaker",
        "CreateCompilationJob",
        "ResourceLimitExceeded",
        "You have reached the limit of concurrent compilation jobs",
        400,
    )
    assert quota.category == FailureCategory.TRANSIENT
    assert outcome_for_failure(quota.failure).kind == OutcomeKind.PROGRESSING
    endpoint = AwsError(
        "sagemaker", "CreateEndpoint", "ResourceLimitExceeded", "instance quota", 400
    )
    assert endpoint.category == FailureCategory.REJECTED
