"""IAM adapter: what the caller's policies allow, asked of IAM's policy simulator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from serving_operator.aws.base import ServiceAdapter


def principal_arn(caller_arn: str) -> tuple[str, str | None]:
    """The IAM principal to simulate for a caller ARN, and the role name when it is a role.

    STS reports a role session (`arn:aws:sts::111:assumed-role/Role/session`); the simulator
    wants the role itself (`arn:aws:iam::111:role/Role`), whose path the session ARN omits.
    """
    parts = caller_arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return caller_arn, None
    partition, account, role = parts[1], parts[4], parts[5].split("/")[1]
    return f"arn:{partition}:iam::{account}:role/{role}", role


class Iam(ServiceAdapter):
    service = "iam"

    def role_arn(self, role_name: str) -> str:
        """The role's full ARN, with its path (GetRole)."""
        return str(self.call("GetRole", RoleName=role_name)["Role"]["Arn"])

    def simulate(
        self,
        principal: str,
        actions: Sequence[str],
        context: Sequence[tuple[str, str, str]] = (),
        resources: Sequence[str] = (),
    ) -> dict[str, str]:
        """Each action's decision for `principal` on any resource (or on `resources`):
        allowed, implicitDeny...

        `context`: (key, value, type) the simulator evaluates conditions with (ContextEntries;
        a stringList value is comma-separated)."""
        decisions: dict[str, str] = {}
        params: dict[str, Any] = {"PolicySourceArn": principal, "ActionNames": list(actions)}
        if resources:
            params["ResourceArns"] = list(resources)
        if context:
            params["ContextEntries"] = [
                {
                    "ContextKeyName": key,
                    "ContextKeyValues": value.split(",") if kind.endswith("List") else [value],
                    "ContextKeyType": kind,
                }
                for key, value, kind in context
            ]
        while True:
            page = self.call("SimulatePrincipalPolicy", **params)
            for result in page.get("EvaluationResults", []):
                decisions[str(result["EvalActionName"])] = str(result["EvalDecision"])
            if not page.get("IsTruncated"):
                return decisions
            params["Marker"] = page["Marker"]
