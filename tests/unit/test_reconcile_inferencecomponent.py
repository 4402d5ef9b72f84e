"""The InferenceComponent shell with the recording fake adapters every reconcile test shares
(tests/support/fake_aws): what it reads, in which order it calls, what one failed call leaves,
and that its executor refuses an action it has no case for."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from serving_operator.api.inferencecomponent import InferenceComponentSpec, InferenceComponentStatus
from serving_operator.aws.base import AwsError
from serving_operator.planning.inferencecomponent.actions import (
    CreateComponentModel,
    CreateInferenceComponent,
)
from serving_operator.planning.inferencecomponent.desired import (
    desired_component,
    scaling_fingerprint,
)
from serving_operator.planning.inferencecomponent.memory import ComponentMemory
from serving_operator.planning.inferencecomponent.observed import (
    HostEndpoint,
    HostVariant,
    ObservedComponent,
)
from serving_operator.planning.inferencecomponent.planner import SCALING_POLICY_NAME
from serving_operator.planning.modelendpoint.observed import EndpointStatus, ObservedScaling
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.reconcile.inferencecomponent.reconciler import InferenceComponentReconciler
from serving_operator.reconcile.inferencecomponent.report import report_pass
from serving_operator.reconcile.report import ObjectContext
from tests.support.fake_aws import FakeAws, weighted_endpoint

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
HOST = HostEndpoint("fleet", ROLE, (HostVariant("shared", "ml.m5.4xlarge", True, 1),))
SPEC = InferenceComponentSpec.model_validate(
    {
        "endpointRef": {"name": "fleet"},
        "model": {"image": "img:1"},
        "compute": {"cpuCores": 1, "minMemoryMiB": 1024},
    }
)


def host_aws(status: EndpointStatus = EndpointStatus.IN_SERVICE, **state: Any) -> FakeAws:
    """AWS with the host endpoint `fleet` (its one variant `shared`) in `status`."""
    return FakeAws(endpoint=weighted_endpoint("fleet", {"shared": 1.0}, status), **state)


def run(aws: FakeAws, host: HostEndpoint | None = HOST) -> Any:
    return InferenceComponentReconciler(aws.clients()).reconcile(
        SPEC,
        host,
        ComponentMemory(),
        namespace="ml",
        name="small",
        now=datetime.fromtimestamp(1000.0, UTC),
    )


def test_a_missing_component_on_an_in_service_endpoint_is_created_with_its_model() -> None:
    aws = host_aws()
    result = run(aws)
    assert aws.operations == [
        "DescribeInferenceComponent",
        "DescribeEndpoint",
        "CreateComponentModel",
        "CreateInferenceComponent",
    ]
    assert aws.calls[:2] == [
        ("DescribeInferenceComponent", "small"),
        ("DescribeEndpoint", ("fleet", None)),
    ]
    (model,) = aws.written("CreateComponentModel")
    (component,) = aws.written("CreateInferenceComponent")
    assert isinstance(model, CreateComponentModel)
    assert isinstance(component, CreateInferenceComponent)
    assert component.specification["ModelName"] == model.model_name
    assert result.memory.owned
    assert result.memory.owned_models == (model.model_name,)
    report = report_pass(result, ObjectContext("ml", "small", 1, InferenceComponentStatus()))
    assert [e.reason for e in report.events] == ["ModelCreated", "ComponentCreated"]
    assert report.status is not None
    assert report.status.owned_models == [model.model_name]


def test_an_endpoint_not_in_service_yet_is_waited_for_without_writes() -> None:
    aws = host_aws(EndpointStatus.CREATING)
    result = run(aws)
    assert aws.writes == []
    assert result.outcome.kind == OutcomeKind.PROGRESSING
    assert result.outcome.reason == "WaitingForEndpoint"


def test_a_reference_the_planner_stalls_on_reads_nothing() -> None:
    aws = host_aws()
    result = run(aws, host=None)
    assert aws.calls == []
    assert result.outcome.kind == OutcomeKind.STALLED


def test_a_refused_create_leaves_the_memory_before_it_and_says_so() -> None:
    refused = AwsError(
        "sagemaker", "CreateInferenceComponent", "ValidationException", "no such image", 400
    )
    aws = host_aws(fail={"CreateInferenceComponent": refused})
    result = run(aws)
    assert result.memory == ComponentMemory()  # the Remember after the create never ran
    assert result.outcome.kind == OutcomeKind.STALLED
    report = report_pass(result, ObjectContext("ml", "small", 1, InferenceComponentStatus()))
    assert report.status is not None
    assert "no such image" in (report.status.last_aws_error or "")
    assert any(e.type == "Warning" for e in report.events)


@dataclass(frozen=True)
class UnknownAction:
    """What a new planner action looks like to the executor before it gains a case."""


def test_the_executor_refuses_an_unknown_action() -> None:
    aws = host_aws()
    with pytest.raises(AssertionError):
        InferenceComponentReconciler(aws.clients())._execute(UnknownAction())  # type: ignore[arg-type]
    assert aws.calls == []


AUTOSCALED = InferenceComponentSpec.model_validate(
    {
        **SPEC.model_dump(by_alias=True, exclude_none=True),
        "autoscaling": {"minCopies": 1, "maxCopies": 4, "targetInvocationsPerCopy": 10},
    }
)


def test_the_hourly_recheck_asks_the_adapter_for_a_shared_read_in_epoch_seconds() -> None:
    """The planner dates the read with datetimes; the copy scaling adapter keeps its shared
    reads in epoch seconds, so the shell hands it the window's start and the pass's clock so."""
    desired = desired_component(AUTOSCALED, HOST, HOST.variants[0], namespace="ml", name="small")
    assert desired.scaling is not None
    component = ObservedComponent(
        name="small",
        arn="arn:aws:sagemaker:us-east-1:123456789012:inference-component/small",
        status="InService",
        endpoint_name="fleet",
        variant_name="shared",
        specification=desired.specification,
        desired_copies=1,
        current_copies=1,
    )
    # Made to match at 00:16:40, in the first clock hour of the epoch.
    memory = ComponentMemory(
        owned=True,
        owned_models=(desired.model_name,),
        scaling_registered=True,
        scaling_checked=scaling_fingerprint(desired),
        scaling_checked_at=datetime.fromtimestamp(1000.0, UTC),
    )
    rid = desired.scaling.resource_id
    aws = host_aws(
        component=component,
        scaling={rid: ObservedScaling(rid, 1, 4, {SCALING_POLICY_NAME: desired.scaling.policy})},
    )
    result = InferenceComponentReconciler(aws.clients()).reconcile(
        AUTOSCALED,
        HOST,
        memory,
        namespace="ml",
        name="small",
        now=datetime.fromtimestamp(3700.0, UTC),  # the next clock hour
    )
    assert result.outcome.kind == OutcomeKind.READY
    assert aws.written("DescribeScalableTargets") == [((rid,), 3600.0, 3700.0)]
    assert result.memory == replace(memory, scaling_checked_at=datetime.fromtimestamp(3700.0, UTC))
