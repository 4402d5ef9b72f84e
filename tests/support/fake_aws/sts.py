"""STS (aws/sts.py): the caller's account and partition, which component ARNs name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from serving_operator.aws.sts import CallerIdentity
from tests.support.fake_aws.arns import ACCOUNT

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingSts:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def caller_identity(self) -> CallerIdentity:
        self.aws.record("GetCallerIdentity")
        partition = self.aws.partition
        return CallerIdentity(ACCOUNT, f"arn:{partition}:iam::{ACCOUNT}:user/test", "test")
