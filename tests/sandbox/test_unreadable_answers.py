"""An answer that is not AWS's, as a proxy or load balancer in front of AWS gives it: the
sandbox answers a fault's raw HTML page, and the operator's adapter makes one readable line
of it.

Faults are put on ListNotebookInstances, which the operator never calls, so a shared
operator is not hit by them.
"""

from __future__ import annotations

import botocore.exceptions
import pytest
from botocore.config import Config

from serving_operator.aws.base import UNREADABLE_RESPONSE, AwsError, ServiceAdapter
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.planning.failures import outcome_for_failure
from tests.support.sandbox import Sandbox

OPERATION = {"service": "sagemaker", "operation": "ListNotebookInstances"}
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})
"""botocore retries a 5xx; every attempt would get the same page."""
GATEWAY_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><title>502 Bad Gateway</title><style>h1 { color: #c00; }</style></head>
<body>
<h1>502 Bad Gateway</h1>
<p>The upstream server sent an invalid response; the proxy could not reach sagemaker.</p>
<hr><center>squid/6.6</center>
</body>
</html>
"""


class _SageMaker(ServiceAdapter):
    service = "sagemaker"


def test_the_sandbox_answers_a_faults_page_as_is(faulted: Sandbox) -> None:
    faulted.add_fault(**OPERATION, httpStatus=502, body=GATEWAY_PAGE, count=1)
    client = faulted.client("sagemaker", ONE_ATTEMPT)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.list_notebook_instances()

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert raised.value.response["Error"]["Message"] == GATEWAY_PAGE


def test_the_adapter_makes_one_readable_line_of_a_page(faulted: Sandbox) -> None:
    faulted.add_fault(**OPERATION, httpStatus=502, body=GATEWAY_PAGE, count=1)
    adapter = _SageMaker(faulted.client("sagemaker", ONE_ATTEMPT), TokenBucket(1000, 1000))

    with pytest.raises(AwsError) as raised:
        adapter.call("ListNotebookInstances")

    error = raised.value
    assert (error.code, error.http_status) == (UNREADABLE_RESPONSE, 502)
    assert error.aws_message == (
        "HTTP 502 Bad Gateway: The upstream server sent an invalid response;"
        " the proxy could not reach sagemaker. squid/6.6"
    )
    message = outcome_for_failure(error.failure).message
    assert "\n" not in message
    assert "<" not in message
    assert "sagemaker.ListNotebookInstances" in message
