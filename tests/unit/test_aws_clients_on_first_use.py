"""The operator's AWS clients are made on first use: a boto3 client holds its service's
model (SageMaker's ~18 MiB of RSS, S3's 8.5, IoT's 5), so a cluster with no EdgeModels never
pays for Greengrass's and IoT's, and one of plain ModelEndpoints pays only for SageMaker's."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from serving_operator.aws.clients import build_clients
from serving_operator.aws.ratelimit import ServiceLimits


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The services boto3 made a client for, in order (the real clients are still made)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    services: list[str] = []
    real = boto3.session.Session.client

    def counting(self: boto3.session.Session, service: str, *args: Any, **kwargs: Any) -> Any:
        services.append(service)
        return real(self, service, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(boto3.session.Session, "client", counting)
    return services


def test_building_the_bundle_makes_no_client(made: list[str]) -> None:
    clients = build_clients()
    assert clients.edge is not None
    assert made == []
    assert "none" in repr(clients)


def test_each_service_is_made_when_first_asked_for_and_only_once(made: list[str]) -> None:
    clients = build_clients()
    sagemaker = clients.sagemaker
    assert made == ["sagemaker"]
    assert clients.sagemaker is sagemaker
    clients.s3.service  # noqa: B018 - asking is the point
    assert made == ["sagemaker", "s3"]


def test_neo_shares_the_sagemaker_client_and_its_rate_limit(made: list[str]) -> None:
    limits = ServiceLimits({})
    clients = build_clients(limits)
    assert clients.edge is not None
    neo = clients.edge.neo
    assert neo._client is clients.sagemaker._client
    assert neo._limiter is limits.for_service("sagemaker") is clients.sagemaker._limiter
    assert made == ["sagemaker"]


def test_edge_services_wait_for_an_edge_model(made: list[str]) -> None:
    clients = build_clients()
    clients.sagemaker.service  # noqa: B018
    clients.cloudwatch.service  # noqa: B018
    assert not {"greengrassv2", "iot", "sts"} & set(made)
    assert clients.edge is not None
    clients.edge.greengrass.service  # noqa: B018
    assert made[-1] == "greengrassv2"


def test_threads_asking_at_once_share_one_client(made: list[str]) -> None:
    clients = build_clients()
    start = threading.Barrier(8)
    seen: list[object] = []

    def ask() -> None:
        start.wait()
        seen.append(clients.sagemaker)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == ["sagemaker"]
    assert len({id(adapter) for adapter in seen}) == 1
