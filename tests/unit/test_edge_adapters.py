"""EdgeModel's AWS adapters read AWS's answers as botocore's service models define them.

Real boto3 clients answered through botocore's Stubber, which checks each canned answer
against the operation's output shape (and each request against its input shape), so an
answer here is one AWS could give.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from serving_operator.aws.greengrass import GreengrassV2
from serving_operator.aws.neo import Neo
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.planning.edgemodel.observed import ComponentState

ARN = "arn:aws:greengrass:us-east-1:123456789012:components:serving.ml.c-nano:versions:1.0.1"


def _client(service: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(service)  # type: ignore[call-overload]


@pytest.fixture
def greengrass() -> Iterator[tuple[GreengrassV2, Stubber]]:
    client = _client("greengrassv2")
    with Stubber(client) as stubber:
        yield GreengrassV2(client, TokenBucket(100, 100)), stubber


@pytest.fixture
def neo() -> Iterator[tuple[Neo, Stubber]]:
    client = _client("sagemaker")
    with Stubber(client) as stubber:
        yield Neo(client, TokenBucket(100, 100)), stubber


def test_a_failed_version_without_errors_keeps_its_message(
    greengrass: tuple[GreengrassV2, Stubber],
) -> None:
    adapter, stubber = greengrass
    stubber.add_response(
        "describe_component",
        {
            "arn": ARN,
            "status": {
                "componentState": "FAILED",
                "message": "The recipe's artifact could not be validated",
            },
        },
        {"arn": ARN},
    )
    found = adapter.describe_component(ARN)
    assert found is not None
    assert found.state == ComponentState.FAILED
    assert found.errors == ("The recipe's artifact could not be validated",)


def test_per_artifact_errors_are_listed(greengrass: tuple[GreengrassV2, Stubber]) -> None:
    adapter, stubber = greengrass
    stubber.add_response(
        "describe_component",
        {
            "arn": ARN,
            "status": {
                "componentState": "FAILED",
                "message": "failed",
                "errors": {"s3://b/m.tar.gz": "Specified artifact resource cannot be accessed"},
            },
        },
        {"arn": ARN},
    )
    found = adapter.describe_component(ARN)
    assert found is not None
    assert found.errors == ("s3://b/m.tar.gz: Specified artifact resource cannot be accessed",)


@pytest.mark.parametrize("message", ["Job xyz", "", "compilation job c-1 is gone"])
def test_resource_not_found_is_not_found_by_its_code_alone(
    neo: tuple[Neo, Stubber], message: str
) -> None:
    adapter, stubber = neo
    stubber.add_client_error(
        "describe_compilation_job",
        service_error_code="ResourceNotFound",
        service_message=message,
        http_status_code=400,
        expected_params={"CompilationJobName": "c-1"},
    )
    assert adapter.describe("c-1") is None
    stubber.add_client_error(
        "stop_compilation_job",
        service_error_code="ResourceNotFound",
        service_message=message,
        http_status_code=400,
        expected_params={"CompilationJobName": "c-1"},
    )
    adapter.stop("c-1")
