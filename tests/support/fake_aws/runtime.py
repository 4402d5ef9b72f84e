"""The SageMaker runtime (aws/runtime.py): the warm-up invocation a ModelEndpoint pass makes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from serving_operator.aws.runtime import Invocation

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingRuntime:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def invoke(self, endpoint_name: str, body: bytes, **target: str | None) -> Invocation:
        self.aws.record("InvokeEndpoint", target)
        return Invocation(b"{}", "application/json", target.get("variant"), 0.01)
