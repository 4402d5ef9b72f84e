"""What goes wrong in AWS shows as the right condition, and the resource recovers once fixed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_events, wait_for_resyncs
from tests.support import cluster, processes
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import IMAGE, model_endpoint, variant

pytestmark = pytest.mark.e2e


def calls_for(sandbox: Sandbox, name: str) -> Counter[tuple[str, int]]:
    return Counter(
        (c["operation"], c["status"]) for c in sandbox.calls() if c.get("target") == name
    )


def test_failed_create_stalls_then_recovers_when_the_spec_is_fixed(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"fix-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("a", model_bucket, "absent")]))
    stalled = wait_for_condition(model_endpoints, namespace, name, "Stalled", operator)
    assert cluster.condition(stalled, "Stalled")["reason"] == "EndpointFailed"  # type: ignore[index]
    assert stalled["status"]["endpointStatus"] == "Failed"
    sandbox.forget_calls()

    model_endpoints.patch_spec(namespace, name, {"variants": [variant("a", model_bucket, "v1")]})
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)

    assert ready["status"]["endpointStatus"] == "InService"
    assert cluster.condition(ready, "Stalled")["status"] == "False"  # type: ignore[index]
    made = calls_for(sandbox, name)
    # SageMaker cannot update a Failed endpoint: it is deleted and created anew, once.
    assert made[("DeleteEndpoint", 200)] == 1
    assert made[("CreateEndpoint", 200)] == 1


def test_failed_update_keeps_serving_stalls_and_recovers(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"rollback-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("a", model_bucket, "v1")]))
    first = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    serving = first["status"]["endpointConfigName"]

    model_endpoints.patch_spec(
        namespace, name, {"variants": [variant("a", model_bucket, "absent", image=IMAGE + "-new")]}
    )
    stalled = wait_for_condition(model_endpoints, namespace, name, "Stalled", operator)
    message = cluster.condition(stalled, "Stalled")["message"]  # type: ignore[index]
    assert "Failed to download model data" in message
    assert cluster.condition(stalled, "Stalled")["reason"] == "UpdateFailed"  # type: ignore[index]
    # SageMaker rolled back: the old config keeps serving.
    assert stalled["status"]["endpointStatus"] == "InService"
    assert stalled["status"]["endpointConfigName"] == serving
    sandbox.forget_calls()
    wait_for_resyncs(sandbox, name, operator)
    assert calls_for(sandbox, name)[("DescribeEndpoint", 200)] >= 1
    assert not calls_for(sandbox, name)[("UpdateEndpoint", 200)], "a failed update is not retried"

    model_endpoints.patch_spec(namespace, name, {"variants": [variant("a", model_bucket, "v2")]})
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    assert ready["status"]["endpointConfigName"] not in (serving, None)
    assert ready["status"].get("failureReason") is None


def test_endpoint_deleted_out_of_band_is_recreated_with_an_event(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"gone-{namespace}"
    model_endpoints.create(
        namespace, model_endpoint(name, [variant("a", model_bucket, "v1", count=2)])
    )
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    sandbox.forget_calls()

    sandbox.client("sagemaker").delete_endpoint(EndpointName=name)

    processes.wait_until(
        lambda: calls_for(sandbox, name)[("CreateEndpoint", 200)] == 1,
        timeout=30,
        interval=0.25,
        what="the endpoint to be created again",
        log=operator.log,
    )
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    assert ready["status"]["endpointStatus"] == "InService"
    events = wait_for_events(
        model_endpoints,
        namespace,
        name,
        operator,
        lambda events: any(e.reason == "DriftDetected" for e in events),
        "DriftDetected",
    )
    drift = [e for e in events if e.reason == "DriftDetected"]
    assert any(
        "deleted outside the operator" in e.message or "no longer exists" in e.message
        for e in drift
    )


@pytest.fixture
def throttled_creates(sandbox: Sandbox) -> Iterator[None]:
    sandbox.add_fault(service="sagemaker", operation="CreateEndpoint", count=-1)
    try:
        yield
    finally:
        sandbox.clear_faults()


def test_throttling_is_reconciling_not_stalled_and_clears_by_itself(
    throttled_creates: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"throttled-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("a", model_bucket, "v1")]))

    waiting = wait_for_condition(model_endpoints, namespace, name, "Reconciling", operator)
    assert cluster.condition(waiting, "Reconciling")["reason"] == "AwsUnavailable"  # type: ignore[index]
    assert "ThrottlingException" in waiting["status"]["lastAwsError"]
    assert cluster.condition(waiting, "Stalled")["status"] == "False"  # type: ignore[index]

    sandbox.clear_faults()
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    assert "lastAwsError" not in ready["status"]


PROXY_ERROR_PAGE = """<!DOCTYPE html>
<html>
<head><title>500 Internal Server Error</title>
<style>body { font-family: Tahoma, Verdana, Arial, sans-serif; }</style></head>
<body>
<h1>Internal Server Error</h1>
<p>The proxy server could not handle the request POST&nbsp;/.</p>
<hr><address>Apache/2.4.62 Server at sagemaker.us-east-1.amazonaws.com Port 443</address>
</body></html>
"""


@pytest.fixture
def creates_answered_by_a_proxy_page(sandbox: Sandbox) -> Iterator[None]:
    """A proxy between the operator and SageMaker answering CreateEndpoint with its own
    error page, not AWS's error shape."""
    sandbox.add_fault(
        service="sagemaker",
        operation="CreateEndpoint",
        httpStatus=500,
        body=PROXY_ERROR_PAGE,
        count=-1,
    )
    try:
        yield
    finally:
        sandbox.clear_faults()


def test_an_html_error_page_shows_as_one_readable_line(
    creates_answered_by_a_proxy_page: None,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"proxied-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("a", model_bucket, "v1")]))

    waiting = wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Reconciling",
        operator,
        also=lambda obj: "lastAwsError" in obj["status"],
    )
    condition = cluster.condition(waiting, "Reconciling")
    assert condition is not None
    assert condition["reason"] == "AwsUnavailable"
    for text in (condition["message"], waiting["status"]["lastAwsError"]):
        assert "\n" not in text
        assert "<" not in text
        assert "sagemaker.CreateEndpoint" in text
        assert "HTTP 500 Internal Server Error: The proxy server could not handle" in text

    sandbox.clear_faults()
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)


def test_the_newest_spec_wins_and_nothing_is_sent_while_sagemaker_is_busy(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"queue-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("a", model_bucket, "v1")]))
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    sandbox.forget_calls()

    model_endpoints.patch_spec(namespace, name, {"variants": [variant("a", model_bucket, "v2")]})
    processes.wait_until(
        lambda: calls_for(sandbox, name)[("UpdateEndpoint", 200)] == 1,
        timeout=30,
        interval=0.05,
        what="the first update to start",
        log=operator.log,
    )
    model_endpoints.patch_spec(namespace, name, {"variants": [variant("a", model_bucket, "v3")]})

    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    sagemaker = sandbox.client("sagemaker")
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=ready["status"]["endpointConfigName"]
    )
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"].endswith("/v3/model.tar.gz")
    made = calls_for(sandbox, name)
    assert made[("UpdateEndpoint", 200)] == 2
    assert made[("UpdateEndpoint", 400)] == 0, "no update may be sent while one is in progress"


@pytest.fixture
def rejected_models(sandbox: Sandbox) -> Iterator[str]:
    """AWS refusing CreateModel as it does for an image the role cannot pull."""
    message = "Requested image 683313688378.dkr.ecr.us-east-1.amazonaws.com/missing:1 not found."
    sandbox.add_fault(
        service="sagemaker",
        operation="CreateModel",
        errorCode="ValidationException",
        httpStatus=400,
        message=message,
        count=-1,
    )
    try:
        yield message
    finally:
        sandbox.clear_faults()


def test_aws_rejection_stalls_with_its_message_and_nothing_half_applied(
    rejected_models: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"rejected-{namespace}"
    model_endpoints.create(namespace, model_endpoint(name, [variant("a", model_bucket, "v1")]))

    stalled = wait_for_condition(model_endpoints, namespace, name, "Stalled", operator)
    condition = cluster.condition(stalled, "Stalled")
    assert condition is not None
    assert condition["reason"] == "AwsRejected"
    assert rejected_models in condition["message"]
    assert rejected_models in stalled["status"]["lastAwsError"]
    # Nothing that depends on the model was attempted.
    made = calls_for(sandbox, name)
    assert not made[("CreateEndpoint", 200)]
    wait_for_events(
        model_endpoints,
        namespace,
        name,
        operator,
        lambda events: any(e.type == "Warning" and rejected_models in e.message for e in events),
        f"a Warning naming {rejected_models}",
    )

    sandbox.clear_faults()  # the image is pushed: the next resync goes through
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)


@pytest.fixture
def weights_endpoint(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> Iterator[str]:
    """A Ready two-variant endpoint; faults injected by the test are cleared after it."""
    name = f"weights-{namespace}"
    # Two instances each: no SingleInstance warning to tell apart from the ones under test.
    variants = [
        variant("a", model_bucket, "v1", count=2),
        variant("b", model_bucket, "v2", count=2),
    ]
    model_endpoints.create(namespace, model_endpoint(name, variants))
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    try:
        yield name
    finally:
        sandbox.clear_faults()


def reweight(
    objects: cluster.Objects, namespace: str, name: str, bucket: str, weight_a: float
) -> None:
    """Give variant a `weight_a` against b's 1: a weights-only change, made in place."""
    objects.patch_spec(
        namespace,
        name,
        {
            "variants": [
                variant("a", bucket, "v1", weight=weight_a, count=2),
                variant("b", bucket, "v2", count=2),
            ]
        },
    )


def desired_weights(obj: dict[str, Any]) -> dict[str, float]:
    return {v["name"]: v["desiredWeight"] for v in obj["status"]["variants"]}


def test_a_busy_endpoint_is_reconciling_not_stalled_and_recovers(
    weights_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = weights_endpoint
    sandbox.add_fault(
        service="sagemaker",
        operation="UpdateEndpointWeightsAndCapacities",
        errorCode="ValidationException",
        message=f'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:'
        f'123456789012:endpoint/{name}".',
        httpStatus=400,
        count=2,
    )
    reweight(model_endpoints, namespace, name, model_bucket, 3)
    waiting = wait_for_condition(
        model_endpoints,
        namespace,
        name,
        "Reconciling",
        operator,
        also=lambda obj: "in-progress" in (obj["status"].get("lastAwsError") or ""),
    )
    assert cluster.condition(waiting, "Reconciling")["reason"] == "AwsBusy"  # type: ignore[index]
    assert cluster.condition(waiting, "Stalled")["status"] == "False"  # type: ignore[index]

    # The fault answers twice, then SageMaker takes the update: no change from the user.
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    assert desired_weights(ready) == {"a": 3.0, "b": 1.0}
    busy = calls_for(sandbox, name)[("UpdateEndpointWeightsAndCapacities", 400)]
    assert busy == 2
    stalls = [e for e in model_endpoints.events(namespace, name) if e.type == "Warning"]
    assert not stalls, [e.message for e in stalls]


def test_access_denied_stalls_naming_the_iam_action_and_clears_once_granted(
    weights_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = weights_endpoint
    sandbox.add_fault(
        service="sagemaker",
        operation="UpdateEndpointWeightsAndCapacities",
        errorCode="AccessDeniedException",
        message="User: arn:aws:sts::123456789012:assumed-role/operator is not authorized",
        httpStatus=400,
        count=-1,
    )
    reweight(model_endpoints, namespace, name, model_bucket, 4)
    stalled = wait_for_condition(model_endpoints, namespace, name, "Stalled", operator)
    condition = cluster.condition(stalled, "Stalled")
    assert condition is not None
    assert condition["reason"] == "AccessDenied"
    assert "sagemaker:UpdateEndpointWeightsAndCapacities" in condition["message"]
    wait_for_events(
        model_endpoints,
        namespace,
        name,
        operator,
        lambda events: any(e.reason == "AccessDenied" for e in events),
        "AccessDenied",
    )

    sandbox.clear_faults()  # the permission is granted: no change to the resource needed
    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    assert desired_weights(ready) == {"a": 4.0, "b": 1.0}
