"""The InferenceComponent shell with recording fake adapters: what it reads, in which order it
calls, what one failed call leaves, and that its executor refuses an action it has no case for."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from serving_operator.api.inferencecomponent import InferenceComponentSpec, InferenceComponentStatus
from serving_operator.aws.base import AwsError
from serving_operator.aws.clients import Clients
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
    ObservedCopyScaling,
)
from serving_operator.planning.inferencecomponent.planner import SCALING_POLICY_NAME
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedEndpoint,
    ObservedVariant,
)
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.reconcile.inferencecomponent.reconciler import InferenceComponentReconciler
from serving_operator.reconcile.inferencecomponent.report import report_pass
from serving_operator.reconcile.report import ObjectContext

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
HOST = HostEndpoint("fleet", ROLE, (HostVariant("shared", "ml.m5.4xlarge", True, 1),))
SPEC = InferenceComponentSpec.model_validate(
    {
        "endpointRef": {"name": "fleet"},
        "model": {"image": "img:1"},
        "compute": {"cpuCores": 1, "minMemoryMiB": 1024},
    }
)


@dataclass
class Recorder:
    calls: list[str] = field(default_factory=list)
    endpoint_status: str | None = "InService"
    fail: str | None = None
    executed: list[Any] = field(default_factory=list)


class FakeSageMaker:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def describe_endpoint(self, name: str, **_: Any) -> ObservedEndpoint | None:
        self.recorder.calls.append(f"DescribeEndpoint {name}")
        if self.recorder.endpoint_status is None:
            return None
        return ObservedEndpoint(
            name,
            f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
            EndpointStatus(self.recorder.endpoint_status),
            "cfg",
            None,
            (ObservedVariant("shared", 1, 1, 1, 1),),
        )


class FakeComponents:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def describe(self, name: str) -> None:
        self.recorder.calls.append(f"DescribeInferenceComponent {name}")

    def execute(self, action: Any) -> bool:
        operation = type(action).__name__
        self.recorder.calls.append(operation)
        if self.recorder.fail == operation:
            raise AwsError("sagemaker", operation, "ValidationException", "no such image", 400)
        self.recorder.executed.append(action)
        return True


def clients(recorder: Recorder) -> Clients:
    return Clients(
        sagemaker=FakeSageMaker(recorder),  # type: ignore[arg-type]
        autoscaling=None,  # type: ignore[arg-type]
        s3=None,  # type: ignore[arg-type]
        runtime=None,  # type: ignore[arg-type]
        cloudwatch=None,  # type: ignore[arg-type]
        components=FakeComponents(recorder),  # type: ignore[arg-type]
        copy_scaling=object(),  # type: ignore[arg-type]
    )


def run(recorder: Recorder, host: HostEndpoint | None = HOST) -> Any:
    return InferenceComponentReconciler(clients(recorder)).reconcile(
        SPEC,
        host,
        ComponentMemory(),
        namespace="ml",
        name="small",
        now=datetime.fromtimestamp(1000.0, UTC),
    )


def test_a_missing_component_on_an_in_service_endpoint_is_created_with_its_model() -> None:
    recorder = Recorder()
    result = run(recorder)
    assert recorder.calls == [
        "DescribeInferenceComponent small",
        "DescribeEndpoint fleet",
        "CreateComponentModel",
        "CreateInferenceComponent",
    ]
    model, component = recorder.executed
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
    recorder = Recorder(endpoint_status="Creating")
    result = run(recorder)
    assert recorder.executed == []
    assert result.outcome.kind == OutcomeKind.PROGRESSING
    assert result.outcome.reason == "WaitingForEndpoint"


def test_a_reference_the_planner_stalls_on_reads_nothing() -> None:
    recorder = Recorder()
    result = run(recorder, host=None)
    assert recorder.calls == []
    assert result.outcome.kind == OutcomeKind.STALLED


def test_a_refused_create_leaves_the_memory_before_it_and_says_so() -> None:
    recorder = Recorder(fail="CreateInferenceComponent")
    result = run(recorder)
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
    recorder = Recorder()
    with pytest.raises(AssertionError):
        InferenceComponentReconciler(clients(recorder))._execute(UnknownAction())  # type: ignore[arg-type]
    assert recorder.calls == []


AUTOSCALED = InferenceComponentSpec.model_validate(
    {
        **SPEC.model_dump(by_alias=True, exclude_none=True),
        "autoscaling": {"minCopies": 1, "maxCopies": 4, "targetInvocationsPerCopy": 10},
    }
)


class InService(FakeComponents):
    def __init__(self, recorder: Recorder, component: ObservedComponent) -> None:
        super().__init__(recorder)
        self.component = component

    def describe(self, name: str) -> ObservedComponent:  # type: ignore[override]
        super().describe(name)
        return self.component


@dataclass
class FakeCopyScaling:
    scaling: ObservedCopyScaling
    reads: list[tuple[str, Any, Any]] = field(default_factory=list)

    def observe(
        self, resource_id: str, *, shared_since: Any = None, now: Any = None
    ) -> ObservedCopyScaling:
        self.reads.append((resource_id, shared_since, now))
        return self.scaling


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
    scaling = FakeCopyScaling(
        ObservedCopyScaling(1, 4, {SCALING_POLICY_NAME: desired.scaling.policy})
    )
    recorder = Recorder()
    aws = replace(
        clients(recorder),
        components=InService(recorder, component),
        copy_scaling=scaling,
    )
    result = InferenceComponentReconciler(aws).reconcile(
        AUTOSCALED,
        HOST,
        memory,
        namespace="ml",
        name="small",
        now=datetime.fromtimestamp(3700.0, UTC),  # the next clock hour
    )
    assert result.outcome.kind == OutcomeKind.READY
    assert scaling.reads == [(desired.scaling.resource_id, 3600.0, 3700.0)]
    assert result.memory == replace(memory, scaling_checked_at=datetime.fromtimestamp(3700.0, UTC))
