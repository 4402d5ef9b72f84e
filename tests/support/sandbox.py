"""The AWS sandbox as a process, with its admin API and boto3 clients pointed at it."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.support import processes
from tests.support.paths import VENV_BIN
from tests.support.xgboost_model import trained_xgboost

REGION = "us-east-1"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass
class Sandbox:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def env(self) -> dict[str, str]:
        return {**AWS_ENV, "AWS_ENDPOINT_URL": self.url}

    def client(self, service: str, config: Config | None = None) -> Any:
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        ).client(service, endpoint_url=self.url, config=config)

    def _admin(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.url}/_sandbox/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def settings(self, **values: float) -> None:
        self._admin("POST", "settings", values)

    def add_fault(self, **fault: Any) -> None:
        self._admin("POST", "faults", fault)

    def pending_faults(self) -> list[dict[str, Any]]:
        """The faults not used up yet: [{"service", "operation", "count"}]."""
        pending: list[dict[str, Any]] = self._admin("GET", "faults")
        return pending

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")

    def add_rate_limit(self, **limit: Any) -> None:
        self._admin("POST", "rate-limits", limit)

    def throttled(self) -> int:
        """Calls the sandbox's rate limits refused since they were last cleared."""
        return int(self._admin("GET", "rate-limits")["throttled"])

    def clear_rate_limits(self) -> None:
        self._admin("DELETE", "rate-limits")

    def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self._admin("GET", "calls")
        return calls

    def forget_calls(self) -> None:
        self._admin("DELETE", "calls")

    def operator_operations(self) -> list[tuple[str, str]]:
        """Every (service, operation) the operator's own clients called since the start."""
        found: list[list[str]] = self._admin("GET", "operator-operations")
        return [(service, operation) for service, operation in found]

    def stop(self) -> None:
        processes.stop(self.process)


# Calls that need no grant in the operator's policy: STS answers anyone; the policy
# simulator and the role alias are for the identity running `check`, not for the operator.
NEEDS_NO_GRANT = frozenset(
    {
        "sts:GetCallerIdentity",
        "iam:SimulatePrincipalPolicy",
        "iam:GetRole",
        "iot:DescribeRoleAlias",
    }
)


def calls_missing_from_the_policy(box: Sandbox) -> list[str]:
    """IAM actions of the operator's calls so far that docs/iam-policy.json does not grant."""
    from serving_operator.aws.permissions import action_for, policy_document

    granted = {a for s in policy_document()["Statement"] for a in s["Action"]}  # type: ignore[attr-defined]
    needed = {action_for(service, operation) for service, operation in box.operator_operations()}
    return sorted(needed - granted - NEEDS_NO_GRANT)


DEMO_BUCKET = "serving-operator-demo"
DEMO_ARTIFACTS = (
    "bikerental/xgboost-0-90-2/model.tar.gz",
    "bikerental/xgboost-1-2-2/model.tar.gz",
    "bikerental/preprocess/model.tar.gz",
    "bikerental-hyper/model/hyper1.tar.gz",
    "bikerental-hyper/model/hyper2.tar.gz",
    "llm/embeddings/model.tar.gz",
    "llm/chat-7b/model.tar.gz",
    "llm/code-34b/model.tar.gz",
)
DEMO_EDGE_MODEL = "edge/classifier/model.tar.gz"
FAST_EDGE = {
    "compilationStartingSeconds": 0.3,
    "compilationSeconds": 0.5,
    "compilationStoppingSeconds": 0.3,
    "componentSeconds": 0.3,
    "devicePickupSeconds": 0.2,
    "deviceApplySeconds": 0.3,
    "jobMinuteSeconds": 1.0,
}
"""Short edge lifecycles for tests: a job's 'minute' lasts a second."""

# The thing groups examples/edge-classifier.yaml rolls out to, with their devices.
DEMO_THING_GROUPS = {
    "edge-canary": 1,
    "edge-canary-jetson": 1,
    "edge-fleet": 2,
    "edge-fleet-jetson": 2,
}


def create_demo_devices(box: Sandbox) -> None:
    """IoT thing groups and things for the edge example (devices succeed by default)."""
    iot = box.client("iot")
    for group, devices in DEMO_THING_GROUPS.items():
        with contextlib.suppress(iot.exceptions.ResourceAlreadyExistsException):
            iot.create_thing_group(thingGroupName=group)
        for index in range(devices):
            thing = f"{group}-device-{index}"
            with contextlib.suppress(iot.exceptions.ResourceAlreadyExistsException):
                iot.create_thing(thingName=thing)
            iot.add_thing_to_thing_group(thingGroupName=group, thingName=thing)


def upload_demo_artifacts(box: Sandbox) -> None:
    """Stand-in model artifacts for everything in examples/ (SageMaker needs them to start)."""
    s3 = box.client("s3")
    # Uploaded before in this session: the objects are written again below.
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=DEMO_BUCKET)
    for key in DEMO_ARTIFACTS:
        s3.put_object(Bucket=DEMO_BUCKET, Key=key, Body=b"stand-in model")
    # The edge example's model is a real one: the sandbox's Neo compiles XGBoost with
    # Treelite, and devices that run lifecycles serve it.
    s3.put_object(Bucket=DEMO_BUCKET, Key=DEMO_EDGE_MODEL, Body=trained_xgboost()[0])


def start(
    workdir: Path, settings: dict[str, float] | None = None, *, detach: bool = False
) -> Sandbox:
    log = workdir / "sandbox.log"
    args = [str(VENV_BIN / "serving-operator"), "sandbox", "--port", "0"]
    if settings:
        args += ["--settings", json.dumps(settings)]
    process = processes.start(args, log, detach=detach)
    found: list[str] = []

    def listening() -> bool:
        match = re.search(
            r"sandbox listening on (http://\S+)", log.read_text() if log.exists() else ""
        )
        if match:
            found.append(match.group(1))
        return bool(match) or process.poll() is not None

    processes.wait_until(listening, timeout=60, what="the AWS sandbox to listen", log=log)
    if not found:
        raise RuntimeError(f"sandbox exited: {log.read_text()}")
    return Sandbox(found[0], process, log)
