"""Fixtures of the sandbox tier: settings that are put back, and clients whose responses
are checked against botocore's shapes (JSON-protocol operations the sandbox answers)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.sandbox.shapes import ShapeRecorder
from tests.support.sandbox import FAST_EDGE, Sandbox


def current_settings(sandbox: Sandbox) -> dict[str, float]:
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/settings", timeout=10) as response:
        settings: dict[str, float] = json.loads(response.read())
    return settings


@pytest.fixture
def sandbox_settings(sandbox: Sandbox) -> Iterator[Callable[..., None]]:
    """Changes the shared sandbox's settings for one test, and puts them back after it."""
    before = current_settings(sandbox)
    yield sandbox.settings
    sandbox.settings(**before)


@pytest.fixture
def shapes() -> Iterator[ShapeRecorder]:
    recorder = ShapeRecorder()
    yield recorder
    assert recorder.errors == [], "\n".join(recorder.errors)


@pytest.fixture
def control(sandbox: Sandbox, shapes: ShapeRecorder) -> Any:
    """A SageMaker client; every response is checked against its output shape."""
    client = sandbox.client("sagemaker")
    client.meta.events.register("before-parse.sagemaker.*", shapes)
    return client


@pytest.fixture
def runtime(sandbox: Sandbox) -> Iterator[Any]:
    """A SageMaker Runtime client (REST-JSON: botocore parses headers and payload itself)."""
    yield sandbox.client("sagemaker-runtime")
    sandbox.clear_faults()


@pytest.fixture
def edge_clients(sandbox: Sandbox, shapes: ShapeRecorder) -> dict[str, Any]:
    """SageMaker (Neo), Greengrass v2 and IoT clients; every response checked against its
    output shape."""
    clients = {name: sandbox.client(name) for name in ("sagemaker", "greengrassv2", "iot")}
    for name, client in clients.items():
        client.meta.events.register(f"before-parse.{name}.*", shapes)
    return clients


@pytest.fixture
def clients(edge_clients: dict[str, Any], sandbox_settings: Callable[..., None]) -> Any:
    """The edge services' clients with the sandbox's edge timings compressed; a module that
    needs other settings (devices that run scripts) overrides this fixture."""
    sandbox_settings(**FAST_EDGE)
    return edge_clients


@pytest.fixture
def greengrass(clients: dict[str, Any]) -> Any:
    return clients["greengrassv2"]


@pytest.fixture
def iot(clients: dict[str, Any]) -> Any:
    return clients["iot"]


@pytest.fixture
def faulted(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The session's sandbox, its injected faults cleared after the test."""
    yield sandbox
    sandbox.clear_faults()
