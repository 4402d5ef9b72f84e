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
    FROM_ZERO_POLICY_NAME,
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
from tests.support.recording import assert_a_refused_call_ends_its_pass

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


# -- any AWS call failing --
ZERO_HOST = HostEndpoint("fleet", ROLE, (HostVariant("shared", "ml.m5.4xlarge", True, 0),))
"""The host with managed instance scaling down to 0 instances: its components may scale to
zero copies."""


def _changed(spec: InferenceComponentSpec, **changes: Any) -> InferenceComponentSpec:
    return InferenceComponentSpec.model_validate(
        {**spec.model_dump(by_alias=True, exclude_none=True), **changes}
    )


FROM_ZERO = _changed(
    SPEC, autoscaling={"minCopies": 0, "maxCopies": 4, "targetInvocationsPerCopy": 10}
)
LIFE = [
    FROM_ZERO,  # created, then autoscaled with the scale-from-zero policy and alarm
    _changed(
        FROM_ZERO, autoscaling={"minCopies": 1, "maxCopies": 4, "targetInvocationsPerCopy": 10}
    ),
    _changed(SPEC, model={"image": "img:2"}, copyCount=2),  # by hand, on a new image
    _changed(SPEC, model={"image": "img:2"}, copyCount=3),  # scaled by hand
]
"""The specs a component goes through, each for a few passes."""


def _throttled(operation: str) -> AwsError:
    return AwsError("sagemaker", operation, "ThrottlingException", "Rate exceeded", 400)


def _walk(fail: dict[str, AwsError]) -> list[tuple[list[str], Any]]:
    """A life on the host `fleet`: the component created with its model, its copies
    autoscaled from zero, then from one, then by hand on a new image, scaled, then deleted:
    the calls of each pass and its result. Once after the create, the pass's status is lost
    (the operator restarted before writing it): the next pass reads the owner tag. With
    `fail`, each named operation fails whenever it is called; AWS's state moves on between
    passes as if every call had been answered."""
    passes: list[tuple[list[str], Any]] = []
    aws = host_aws(fail=fail)
    reconciler = InferenceComponentReconciler(aws.clients())
    now = datetime.fromtimestamp(1000.0, UTC)

    def running(spec: InferenceComponentSpec, calls: list[str]) -> None:
        """SageMaker runs `spec`'s component (tagged ours), and Application Auto Scaling
        has its copy scaling once a pass wrote it."""
        desired = desired_component(
            spec, ZERO_HOST, ZERO_HOST.variants[0], namespace="ml", name="small"
        )
        aws.component = ObservedComponent(
            name="small",
            arn="arn:aws:sagemaker:us-east-1:123456789012:inference-component/small",
            status="InService",
            endpoint_name="fleet",
            variant_name="shared",
            specification=desired.specification,
            desired_copies=desired.copy_count,
            current_copies=desired.copy_count,
        )
        aws.component_owner = "ml/small"
        scaling_writes = {
            "RegisterCopyScaling",
            "PutCopyScalingPolicy",
            "PutScalingPolicy",
            "DeleteScalingPolicy",
            "DeregisterCopyScaling",
        }
        if not scaling_writes & set(calls):
            return
        want = desired.scaling
        if want is None:
            aws.scaling = {}
            return
        policies = {SCALING_POLICY_NAME: want.policy}
        if want.from_zero is not None:
            policies[FROM_ZERO_POLICY_NAME] = want.from_zero.policy
        aws.scaling = {
            want.resource_id: ObservedScaling(
                want.resource_id, want.min_copies, want.max_copies, policies
            )
        }

    def step(run: Any, *args: Any, **kwargs: Any) -> ComponentMemory:
        before = len(aws.calls)
        result = run(*args, **kwargs)
        passes.append((aws.operations[before:], result))
        return result.memory  # type: ignore[no-any-return]

    memory = ComponentMemory()
    for spec in LIFE:
        for _ in range(3):
            memory = step(
                reconciler.reconcile, spec, ZERO_HOST, memory, namespace="ml", name="small", now=now
            )
            running(spec, passes[-1][0])
            if len(passes) == 1:
                memory = ComponentMemory()  # the create's status was never written
    for _ in range(2):
        memory = step(reconciler.delete, LIFE[-1], memory, namespace="ml", name="small", now=now)
        aws.component = None  # SageMaker finishes the deletion
    return passes


WALKED = sorted({op for calls, _ in _walk({}) for op in calls})


def test_the_walk_reaches_every_kind_of_call() -> None:
    """The walk is only as good as the calls it makes: create, read the owner, autoscale
    (from zero and not), update, scale by hand, and delete."""
    assert {
        "DescribeInferenceComponent",
        "DescribeEndpoint",
        "ListTags",
        "CreateComponentModel",
        "CreateInferenceComponent",
        "DescribeScalableTargets",
        "RegisterCopyScaling",
        "PutCopyScalingPolicy",
        "PutScalingPolicy",
        "PutMetricAlarm",
        "DeleteScalingPolicy",
        "DeleteAlarms",
        "UpdateInferenceComponent",
        "DeregisterCopyScaling",
        "UpdateComponentCopies",
        "DeleteInferenceComponent",
        "DeleteComponentModel",
    } <= set(WALKED)
    assert [r.outcome.reason for _, r in _walk({})][-1] == "Deleted"


@pytest.mark.parametrize("operation", WALKED)
def test_any_call_throttled_at_any_point_is_the_pass_outcome_never_an_exception(
    operation: str,
) -> None:
    """Whatever call AWS refuses with a throttle, the pass that made it ends Reconciling
    with AWS's error, and no pass raises."""
    assert_a_refused_call_ends_its_pass(_walk({operation: _throttled(operation)}), operation)
