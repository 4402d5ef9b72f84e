"""STS adapter: who the operator's AWS credentials belong to."""

from __future__ import annotations

from dataclasses import dataclass

from serving_operator.aws.base import ServiceAdapter


@dataclass(frozen=True)
class CallerIdentity:
    account: str
    arn: str
    user_id: str


class Sts(ServiceAdapter):
    service = "sts"

    def caller_identity(self) -> CallerIdentity:
        """GetCallerIdentity needs no IAM permission: it answers for any valid credentials."""
        response = self.call("GetCallerIdentity")
        return CallerIdentity(
            account=str(response["Account"]),
            arn=str(response["Arn"]),
            user_id=str(response["UserId"]),
        )
