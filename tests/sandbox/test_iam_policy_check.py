"""The session's IAM policy check sees the operator's calls, and fails when the policy lacks one.

A sandbox of its own: the calls made here must not count against the shared session's check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serving_operator.aws import permissions
from serving_operator.aws.base import CLIENT_CONFIG
from tests.support import sandbox as sandbox_support


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[sandbox_support.Sandbox]:
    box = sandbox_support.start(tmp_path)
    try:
        yield box
    finally:
        box.stop()


def test_the_check_fails_when_the_policy_lacks_an_operation_the_operator_called(
    own_sandbox: sandbox_support.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator_client = own_sandbox.client("sagemaker", CLIENT_CONFIG)  # the operator's agent
    someone_else = own_sandbox.client("sagemaker")
    operator_client.list_endpoint_configs()
    someone_else.list_endpoints()  # not the operator's call: never counted

    assert ("sagemaker", "ListEndpointConfigs") in own_sandbox.operator_operations()
    assert ("sagemaker", "ListEndpoints") not in own_sandbox.operator_operations()
    assert sandbox_support.calls_missing_from_the_policy(own_sandbox) == []

    without = tuple(
        a for a in permissions.OPERATOR_ACTIONS if a.action != "sagemaker:ListEndpointConfigs"
    )
    monkeypatch.setattr(permissions, "OPERATOR_ACTIONS", without)
    assert sandbox_support.calls_missing_from_the_policy(own_sandbox) == [
        "sagemaker:ListEndpointConfigs"
    ]
