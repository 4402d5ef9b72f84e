"""The operator's per-service client-side rate limit keeps it under AWS's own: with
SageMaker's limit set below the sandbox's AWS-side limit, a burst of new ModelEndpoints
converges without one throttled call.

A control plane and a sandbox of its own: the AWS-side limits and the throttled count must
see this operator's calls only (the session's operator resyncs other tests' leftovers).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest
from botocore.config import Config

from tests.e2e.helpers import wait_for_condition
from tests.support import cluster, controlplane
from tests.support import operator as operator_support
from tests.support import sandbox as sandbox_support
from tests.support.planes import own_control_plane
from tests.support.specs import model_endpoint, variant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACE = "limits"
ENDPOINTS = 12
# AWS-side: every SageMaker operation has its own bucket of 4 calls a second (AWS throttles
# per operation). The operator's one bucket for all of SageMaker stays below that.
SERVER_PER_SECOND, SERVER_BURST = 4, 4
CLIENT_LIMITS = "sagemaker=3/3"


@pytest.fixture
def private_sandbox(tmp_path: Path) -> Iterator[sandbox_support.Sandbox]:
    box = sandbox_support.start(
        tmp_path / "sandbox", {"creatingSeconds": 1, "updatingSeconds": 1, "deletingSeconds": 1}
    )
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def limits_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    with own_control_plane(tmp_path / "controlplane", namespaces=[NAMESPACE]) as plane:
        yield plane


def limit_sagemaker(box: sandbox_support.Sandbox) -> None:
    box.add_rate_limit(
        service="sagemaker", operation="*", perSecond=SERVER_PER_SECOND, burst=SERVER_BURST
    )


def test_a_burst_of_endpoints_converges_under_the_aws_limit_without_throttling(
    tmp_path: Path,
    limits_plane: controlplane.ControlPlane,
    private_sandbox: sandbox_support.Sandbox,
) -> None:
    bucket = "rate-limited-models"
    private_sandbox.client("s3").create_bucket(Bucket=bucket)
    private_sandbox.client("s3").put_object(
        Bucket=bucket, Key="xgboost/v1/model.tar.gz", Body=b"model"
    )

    # The AWS-side limit is real: a client without one is throttled at once.
    limit_sagemaker(private_sandbox)
    unlimited = private_sandbox.client(
        "sagemaker", config=Config(retries={"total_max_attempts": 1})
    )
    refusals: list[str] = []
    for _ in range(SERVER_BURST * 3):
        try:
            unlimited.list_endpoints()
        except botocore.exceptions.ClientError as error:
            refusals.append(error.response["Error"]["Code"])
    assert refusals
    assert set(refusals) == {"ThrottlingException"}
    assert private_sandbox.throttled() == len(refusals)
    private_sandbox.clear_rate_limits()  # also zeroes the count
    limit_sagemaker(private_sandbox)
    private_sandbox.forget_calls()

    operator = operator_support.start(
        tmp_path / "operator",
        limits_plane.kubeconfig(controlplane.OPERATOR_USER),
        private_sandbox.env,
        extra_env={
            "SERVING_OPERATOR_AWS_RATE_LIMITS": CLIENT_LIMITS,
            # Resync seldom: the burst of creations is what is measured.
            "SERVING_OPERATOR_RESYNC_SECONDS": "60",
        },
    )
    try:
        api = cluster.api_client(limits_plane.kubeconfig(controlplane.ADMIN_USER))
        endpoints = cluster.Objects(api, "modelendpoints")
        names = [f"limited-{i}" for i in range(ENDPOINTS)]
        for name in names:
            endpoints.create(NAMESPACE, model_endpoint(name, [variant("main", bucket)]))
        for name in names:
            wait_for_condition(endpoints, NAMESPACE, name, "Ready", operator, timeout=240)

        sagemaker_calls = [c for c in private_sandbox.calls() if c["service"] == "sagemaker"]
        assert private_sandbox.throttled() == 0
        # Far more calls than one burst: without the client-side limit they would have
        # been throttled, and the operator's own limit did hold calls back.
        assert len(sagemaker_calls) > SERVER_BURST * ENDPOINTS
        assert wait_seconds(operator, "sagemaker") > 0
        assert "sagemaker 3/3" in operator.log.read_text()
        print(
            f"{len(sagemaker_calls)} SageMaker calls, the client limit held them"
            f" {wait_seconds(operator, 'sagemaker'):.1f} s in all"
        )
    finally:
        operator.stop()


def wait_seconds(operator: operator_support.OperatorProcess, service: str) -> float:
    prefix = f'serving_operator_aws_rate_limit_wait_seconds_total{{service="{service}"}} '
    for line in operator.metrics().splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0
