"""The InferenceComponent planner against a small model of SageMaker and Application Auto
Scaling that applies its actions the way AWS answers them (DescribeInferenceComponent's
Specification and RuntimeConfig), so "plan, apply, plan again" can be checked end to end."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from serving_operator.api.inferencecomponent import InferenceComponentSpec
from serving_operator.planning.inferencecomponent.actions import (
    ComponentAction,
    CreateComponentModel,
    CreateInferenceComponent,
    DeleteComponentModel,
    DeleteInferenceComponent,
    DeregisterCopyScaling,
    PutCopyScalingPolicy,
    PutScaleFromZero,
    RegisterCopyScaling,
    RemoveScaleFromZero,
    UpdateComponentCopies,
    UpdateInferenceComponent,
)
from serving_operator.planning.inferencecomponent.memory import ComponentMemory
from serving_operator.planning.inferencecomponent.observed import (
    ComponentLookups,
    ComponentObservation,
    HostEndpoint,
    HostVariant,
    ObservedComponent,
    ObservedCopyScaling,
    ObservedHostState,
    Read,
)
from serving_operator.planning.inferencecomponent.planner import (
    COMPONENT_NOT_OWNED,
    COMPUTE_DOES_NOT_FIT,
    ENDPOINT_HOSTS_NO_COMPONENTS,
    MODEL_ENDPOINT_NOT_FOUND,
    VARIANT_NOT_FOUND,
    WAITING_FOR_ENDPOINT,
    ZERO_COPIES_NOT_ALLOWED,
    plan_component_deletion,
    plan_inference_component,
)
from serving_operator.planning.outcome import OutcomeKind, Plan, Remember
from serving_operator.planning.ownership import OWNER_TAG

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
OWNER = "ml/small"


def host(
    *,
    instance_type: str = "ml.g5.12xlarge",
    managed_min: int | None = 1,
    hosts_components: bool = True,
    variants: tuple[str, ...] = ("shared",),
) -> HostEndpoint:
    return HostEndpoint(
        endpoint_name="llm-fleet",
        execution_role_arn=ROLE,
        variants=tuple(
            HostVariant(v, instance_type, hosts_components, managed_min) for v in variants
        ),
    )


def spec(**overrides: Any) -> InferenceComponentSpec:
    body: dict[str, Any] = {
        "endpointRef": {"name": "llm-fleet"},
        "model": {"image": "example.com/llm:1", "modelDataUrl": "s3://models/small/model.tar.gz"},
        "compute": {"cpuCores": 2, "minMemoryMiB": 4096, "accelerators": 1},
        "copyCount": 2,
    }
    body.update(overrides)
    return InferenceComponentSpec.model_validate(body)


def at(seconds: float) -> datetime:
    """A moment given in epoch seconds."""
    return datetime.fromtimestamp(seconds, UTC)


T1000 = at(1000.0)


@dataclass
class World:
    """SageMaker and Application Auto Scaling as far as a component is concerned."""

    endpoint_status: str | None = "InService"
    variants: frozenset[str] = frozenset({"shared"})
    component: ObservedComponent | None = None
    component_owner: str | None = None
    models: set[str] = field(default_factory=set)
    scaling: ObservedCopyScaling | None = None
    alarms: dict[str, Any] = field(default_factory=dict)
    roll_back: str | None = None
    """SageMaker's reason when the next UpdateInferenceComponent rolls back."""
    applied: list[ComponentAction] = field(default_factory=list)

    def observe(self, h: HostEndpoint | None, now: datetime = T1000) -> ComponentObservation:
        return ComponentObservation(now=now, host=h, component=self.component)

    def look_up(
        self, lookups: ComponentLookups, seen: ComponentObservation
    ) -> ComponentObservation:
        if lookups.endpoint:
            state = (
                ObservedHostState(self.endpoint_status, self.variants)
                if self.endpoint_status is not None
                else None
            )
            seen = replace(seen, endpoint=Read(state))
        if lookups.owner:
            seen = replace(seen, owner=Read(self.component_owner))
        if lookups.scaling:
            seen = replace(seen, scaling=Read(self.scaling))
        return seen

    def apply(self, action: ComponentAction) -> None:
        self.applied.append(action)
        match action:
            case CreateComponentModel(model_name=name):
                self.models.add(name)
            case CreateInferenceComponent():
                assert action.specification["ModelName"] in self.models or not action.specification[
                    "ModelName"
                ].startswith("small-")
                self.component = ObservedComponent(
                    name=action.component_name,
                    arn=f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{action.component_name}",
                    status="InService",
                    endpoint_name=action.endpoint_name,
                    variant_name=action.variant_name,
                    # SageMaker answers numbers as it stores them: 1.0 as 1.
                    specification=_as_aws(action.specification),
                    desired_copies=action.copy_count,
                    current_copies=action.copy_count,
                )
                self.component_owner = dict(action.tags)[OWNER_TAG]
            case UpdateInferenceComponent() if self.roll_back is not None:
                assert self.component is not None
                self.component = replace(self.component, failure_reason=self.roll_back)
            case UpdateInferenceComponent():
                assert self.component is not None
                copies = action.copy_count
                self.component = replace(
                    self.component,
                    specification=_as_aws(action.specification),
                    desired_copies=copies if copies is not None else self.component.desired_copies,
                    current_copies=copies if copies is not None else self.component.current_copies,
                )
            case UpdateComponentCopies(copy_count=copies):
                assert self.component is not None
                self.component = replace(
                    self.component, desired_copies=copies, current_copies=copies
                )
            case DeleteInferenceComponent():
                self.component = None
            case DeleteComponentModel(model_name=name):
                self.models.discard(name)
            case RegisterCopyScaling(min_copies=low, max_copies=high):
                policies = self.scaling.policies if self.scaling else {}
                self.scaling = ObservedCopyScaling(low, high, policies)
            case PutCopyScalingPolicy(policy_name=name, configuration=config):
                assert self.scaling is not None
                self.scaling = replace(
                    self.scaling, policies={**self.scaling.policies, name: config}
                )
            case DeregisterCopyScaling():
                self.scaling = None
                self.alarms.clear()
            case PutScaleFromZero(policy_name=name, configuration=config, alarm=alarm):
                assert self.scaling is not None
                self.scaling = replace(
                    self.scaling, policies={**self.scaling.policies, name: config}
                )
                self.alarms[alarm["AlarmName"]] = alarm
            case RemoveScaleFromZero(policy_name=name, alarm_name=alarm):
                assert self.scaling is not None
                policies = {k: v for k, v in self.scaling.policies.items() if k != name}
                self.scaling = replace(self.scaling, policies=policies)
                self.alarms.pop(alarm, None)


def _as_aws(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _as_aws(v) for k, v in value.items()}
    return value


def one_pass(
    world: World,
    s: InferenceComponentSpec,
    memory: ComponentMemory,
    h: HostEndpoint | None,
    now: datetime = T1000,
) -> tuple[Plan[Any, Any], ComponentMemory]:
    seen = world.observe(h, now)
    decision = plan_inference_component(s, seen, memory, namespace="ml", name="small")
    rounds = 0
    while isinstance(decision, ComponentLookups):
        rounds += 1
        assert rounds <= 5
        seen = world.look_up(decision, seen)
        decision = plan_inference_component(s, seen, memory, namespace="ml", name="small")
    for step in decision.actions:
        if isinstance(step, Remember):
            memory = step.memory
        else:
            world.apply(step)
    return decision, memory


def converge(
    world: World,
    s: InferenceComponentSpec,
    memory: ComponentMemory,
    h: HostEndpoint,
    now: datetime = T1000,
) -> tuple[Plan[Any, Any], ComponentMemory]:
    for _ in range(6):
        decision, memory = one_pass(world, s, memory, h, now)
        if decision.outcome.kind != OutcomeKind.PROGRESSING:
            return decision, memory
    raise AssertionError("did not converge")


def aws_actions(decision: Plan[Any, Any]) -> list[Any]:
    return [a for a in decision.actions if not isinstance(a, Remember)]


def test_creation_waits_for_the_endpoint_then_creates_model_and_component() -> None:
    world = World(endpoint_status="Creating")
    decision, memory = one_pass(world, spec(), ComponentMemory(), host())
    assert decision.outcome.reason == WAITING_FOR_ENDPOINT
    assert world.applied == []
    world.endpoint_status = "InService"
    decision, memory = one_pass(world, spec(), memory, host())
    created = [a for a in world.applied if isinstance(a, CreateInferenceComponent)]
    assert [type(a) for a in world.applied] == [CreateComponentModel, CreateInferenceComponent]
    assert created[0].specification == {
        "ModelName": created[0].specification["ModelName"],
        "ComputeResourceRequirements": {
            "MinMemoryRequiredInMb": 4096,
            "NumberOfCpuCoresRequired": 2.0,
            "NumberOfAcceleratorDevicesRequired": 1.0,
        },
    }
    assert created[0].copy_count == 2
    assert created[0].variant_name == "shared"
    assert memory.owned
    assert memory.owned_models == (created[0].specification["ModelName"],)
    decision, memory = one_pass(world, spec(), memory, host())
    assert decision.outcome.kind == OutcomeKind.READY
    assert aws_actions(decision) == []


def test_an_existing_model_by_name_is_used_and_never_deleted() -> None:
    world = World()
    s = spec(model=None, modelName="shared-llm")
    decision, memory = converge(world, s, ComponentMemory(), host())
    assert decision.outcome.kind == OutcomeKind.READY
    assert not any(
        isinstance(a, CreateComponentModel | DeleteComponentModel) for a in world.applied
    )
    assert memory.owned_models == ()
    deletion = plan_component_deletion(
        "small", world.observe(None), memory, owner=OWNER, retain=False
    )
    assert not isinstance(deletion, ComponentLookups)
    assert not any(isinstance(a, DeleteComponentModel) for a in deletion.actions)


def test_an_image_change_updates_with_a_rolling_policy_then_retires_the_old_model() -> None:
    world = World()
    _, memory = converge(world, spec(), ComponentMemory(), host())
    old_model = memory.owned_models[0]
    world.applied.clear()
    changed = spec(
        model={"image": "example.com/llm:2", "modelDataUrl": "s3://models/small/model.tar.gz"}
    )
    decision, memory = one_pass(world, changed, memory, host())
    update = next(a for a in world.applied if isinstance(a, UpdateInferenceComponent))
    assert update.specification["ModelName"] != old_model
    assert update.deployment == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 0,
        }
    }
    assert update.copy_count == 2
    decision, memory = one_pass(world, changed, memory, host())
    assert DeleteComponentModel(old_model) in decision.actions
    assert memory.owned_models == (update.specification["ModelName"],)
    assert decision.outcome.kind == OutcomeKind.READY


def test_one_copy_is_updated_without_a_rolling_policy() -> None:
    world = World()
    _, memory = converge(world, spec(copyCount=1), ComponentMemory(), host())
    changed = spec(copyCount=1, compute={"cpuCores": 4, "minMemoryMiB": 4096, "accelerators": 1})
    one_pass(world, changed, memory, host())
    update = next(a for a in world.applied if isinstance(a, UpdateInferenceComponent))
    assert update.deployment is None


def test_a_copy_count_change_alone_uses_the_runtime_config() -> None:
    world = World()
    _, memory = converge(world, spec(), ComponentMemory(), host())
    world.applied.clear()
    decision, memory = one_pass(world, spec(copyCount=3), memory, host())
    assert aws_actions(decision) == [UpdateComponentCopies("small", 3)]


def test_with_autoscaling_the_operator_never_writes_the_copy_count_after_creation() -> None:
    autoscaled = spec(autoscaling={"minCopies": 1, "maxCopies": 4, "targetInvocationsPerCopy": 10})
    world = World()
    decision, memory = converge(world, autoscaled, ComponentMemory(), host())
    assert decision.outcome.kind == OutcomeKind.READY
    assert world.scaling is not None
    assert (world.scaling.min_copies, world.scaling.max_copies) == (1, 4)
    policy = world.scaling.policies["serving-operator-copies"]
    assert policy["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
    }
    # The autoscaler moves the count: not drift.
    assert world.component is not None
    world.component = replace(world.component, desired_copies=4, current_copies=4)
    world.applied.clear()
    decision, memory = one_pass(world, autoscaled, memory, host())
    assert aws_actions(decision) == []
    # An image change keeps the autoscaler's count: no RuntimeConfig in the update.
    changed = autoscaled.model_copy(
        update={"model": autoscaled.model.model_copy(update={"image": "example.com/llm:2"})}  # type: ignore[union-attr]
    )
    one_pass(world, changed, memory, host())
    update = next(a for a in world.applied if isinstance(a, UpdateInferenceComponent))
    assert update.copy_count is None
    assert update.deployment is not None  # four copies: rolling


def test_autoscaling_removed_from_the_spec_is_deregistered() -> None:
    autoscaled = spec(autoscaling={"minCopies": 1, "maxCopies": 4, "targetInvocationsPerCopy": 10})
    world = World()
    _, memory = converge(world, autoscaled, ComponentMemory(), host())
    _decision, memory = converge(world, spec(), memory, host())
    assert (
        DeregisterCopyScaling("inference-component/small", "serving-operator-small-no-capacity")
        in world.applied
    )
    assert world.scaling is None
    assert not memory.scaling_registered


def test_scaling_is_read_again_once_a_clock_hour_sharing_the_read_at_rest() -> None:
    autoscaled = spec(autoscaling={"minCopies": 1, "maxCopies": 4, "targetInvocationsPerCopy": 10})
    world = World()
    _, memory = converge(world, autoscaled, ComponentMemory(), host(), now=T1000)
    seen = world.observe(host(), now=at(1000.0 + 600))
    assert not isinstance(
        plan_inference_component(autoscaled, seen, memory, namespace="ml", name="small"),
        ComponentLookups,
    )
    # The next clock hour: read again, and another component's read of this hour will do.
    later = world.observe(host(), now=at(3600.0 + 100))
    asked = plan_inference_component(autoscaled, later, memory, namespace="ml", name="small")
    assert asked == ComponentLookups(scaling=True, scaling_shared_since=at(3600.0))
    # A changed autoscaling spec is read now, shared with nothing.
    changed = spec(autoscaling={"minCopies": 1, "maxCopies": 5, "targetInvocationsPerCopy": 10})
    asked = plan_inference_component(changed, seen, memory, namespace="ml", name="small")
    assert asked == ComponentLookups(scaling=True, scaling_shared_since=None)


def test_zero_min_copies_needs_managed_instance_scaling_to_zero() -> None:
    to_zero = spec(autoscaling={"minCopies": 0, "maxCopies": 2, "targetInvocationsPerCopy": 5})
    decision, _ = one_pass(World(), to_zero, ComponentMemory(), host(managed_min=1))
    assert decision.outcome.kind == OutcomeKind.STALLED
    assert decision.outcome.reason == ZERO_COPIES_NOT_ALLOWED
    world = World()
    decision, memory = converge(world, to_zero, ComponentMemory(), host(managed_min=0))
    assert decision.outcome.kind == OutcomeKind.READY
    # Target tracking cannot scale out from zero: the step policy and its alarm do.
    assert world.scaling is not None
    assert world.scaling.min_copies == 0
    assert world.scaling.policies["serving-operator-from-zero"]["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}
    ]
    alarm = world.alarms["serving-operator-small-no-capacity"]
    assert alarm["MetricName"] == "NoCapacityInvocationFailures"
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "small"}]
    # A minimum of one copy again: the step policy and its alarm go.
    one = spec(autoscaling={"minCopies": 1, "maxCopies": 2, "targetInvocationsPerCopy": 5})
    decision, _ = converge(world, one, memory, host(managed_min=0))
    assert decision.outcome.kind == OutcomeKind.READY
    assert "serving-operator-from-zero" not in world.scaling.policies
    assert world.alarms == {}


def test_compute_that_cannot_fit_the_instance_type_stalls() -> None:
    big = spec(compute={"cpuCores": 64, "minMemoryMiB": 4096, "accelerators": 1})
    decision, _ = one_pass(World(), big, ComponentMemory(), host(instance_type="ml.g5.12xlarge"))
    assert decision.outcome.reason == COMPUTE_DOES_NOT_FIT
    assert "64 CPU cores (it has 48)" in decision.outcome.message
    gpus = spec(compute={"minMemoryMiB": 1024, "accelerators": 1})
    decision, _ = one_pass(World(), gpus, ComponentMemory(), host(instance_type="ml.m5.xlarge"))
    assert decision.outcome.reason == COMPUTE_DOES_NOT_FIT
    # An instance type not in the table is left to SageMaker.
    decision, _ = converge(World(), big, ComponentMemory(), host(instance_type="ml.p5.48xlarge"))
    assert decision.outcome.kind == OutcomeKind.READY


def test_reference_problems_stall_with_reasons() -> None:
    cases = [
        (None, MODEL_ENDPOINT_NOT_FOUND),
        (host(hosts_components=False), ENDPOINT_HOSTS_NO_COMPONENTS),
        (host(variants=("a", "b")), VARIANT_NOT_FOUND),
    ]
    for h, reason in cases:
        world = World()
        decision, _ = one_pass(world, spec(), ComponentMemory(), h)
        assert (decision.outcome.kind, decision.outcome.reason) == (OutcomeKind.STALLED, reason)
        assert world.applied == []
    world = World(variants=frozenset({"a", "b"}))
    decision, _ = converge(
        world, spec(variantName="b"), ComponentMemory(), host(variants=("a", "b"))
    )
    assert decision.outcome.kind == OutcomeKind.READY


def test_a_component_of_that_name_made_by_someone_else_is_left_alone() -> None:
    world = World()
    converge(world, spec(), ComponentMemory(), host())
    world.component_owner = "other/team"
    world.applied.clear()
    decision, _ = one_pass(world, spec(copyCount=5), ComponentMemory(), host())
    assert decision.outcome.reason == COMPONENT_NOT_OWNED
    assert world.applied == []


def test_deletion_deregisters_scaling_deletes_component_then_models() -> None:
    autoscaled = spec(autoscaling={"minCopies": 1, "maxCopies": 4, "targetInvocationsPerCopy": 10})
    world = World()
    _, memory = converge(world, autoscaled, ComponentMemory(), host())
    first = plan_component_deletion("small", world.observe(None), memory, owner=OWNER, retain=False)
    assert not isinstance(first, ComponentLookups)
    assert [type(a) for a in aws_actions(first)] == [
        DeregisterCopyScaling,
        DeleteInferenceComponent,
    ]
    assert first.outcome.kind == OutcomeKind.PROGRESSING
    for step in first.actions:
        if isinstance(step, Remember):
            memory = step.memory
        else:
            world.apply(step)
    second = plan_component_deletion(
        "small", world.observe(None), memory, owner=OWNER, retain=False
    )
    assert not isinstance(second, ComponentLookups)
    assert [type(a) for a in aws_actions(second)] == [DeleteComponentModel]
    assert second.outcome.kind == OutcomeKind.READY


def test_retain_leaves_everything() -> None:
    world = World()
    _, memory = converge(world, spec(deletionPolicy="Retain"), ComponentMemory(), host())
    decision = plan_component_deletion(
        "small", world.observe(None), memory, owner=OWNER, retain=True
    )
    assert not isinstance(decision, ComponentLookups)
    assert decision.actions == ()
    assert decision.outcome.kind == OutcomeKind.READY


specs = st.builds(
    lambda image, cores, memory, gpus, copies, scaling, startup: spec(
        model={"image": f"example.com/llm:{image}"},
        compute={
            k: v
            for k, v in {"cpuCores": cores, "minMemoryMiB": memory, "accelerators": gpus}.items()
            if v is not None
        },
        copyCount=copies if scaling is None else max(scaling[0], min(copies, scaling[1])),
        autoscaling=None
        if scaling is None
        else {
            "minCopies": scaling[0],
            "maxCopies": scaling[1],
            "targetInvocationsPerCopy": scaling[2],
        },
        startupParameters=None if startup is None else {"modelDataDownloadTimeoutSeconds": startup},
    ),
    st.sampled_from(["1", "2", "3"]),
    st.one_of(st.none(), st.sampled_from([0.25, 0.5, 1.0, 2.0, 7.5])),
    st.integers(128, 65536),
    st.one_of(st.none(), st.integers(1, 4)),
    st.integers(0, 6),
    st.one_of(
        st.none(),
        st.tuples(st.integers(0, 3), st.integers(3, 8), st.floats(0.5, 1000, allow_nan=False)),
    ),
    st.one_of(st.none(), st.integers(60, 3600)),
)


@settings(max_examples=60, deadline=None)
@given(first=specs, second=specs)
def test_planning_again_after_applying_changes_nothing(
    first: InferenceComponentSpec, second: InferenceComponentSpec
) -> None:
    """From nothing to the first spec, then to the second: each converges, and planning
    again on the state reached asks for no AWS change."""
    world = World()
    memory = ComponentMemory()
    fleet = host(managed_min=0)
    for wanted in (first, second):
        decision, memory = converge(world, wanted, memory, fleet)
        assert decision.outcome.kind == OutcomeKind.READY, decision.outcome
        again, _ = one_pass(world, wanted, memory, fleet)
        assert aws_actions(again) == []
        assert world.component is not None
        assert world.component.specification["ModelName"] in world.models
        assert set(memory.owned_models) == {world.component.specification["ModelName"]}
        if wanted.autoscaling is None:
            assert world.component.desired_copies == wanted.initial_copies
            assert world.scaling is None
        else:
            assert world.scaling is not None
            zero = wanted.autoscaling.min_copies == 0
            assert ("serving-operator-from-zero" in world.scaling.policies) == zero
            assert bool(world.alarms) == zero


def test_an_update_sagemaker_rolled_back_is_not_sent_again_until_the_spec_changes() -> None:
    world = World()
    _, memory = converge(world, spec(), ComponentMemory(), host())
    world.roll_back = "the new copies did not pass their health check"
    bad = spec(model={"image": "example.com/llm:broken"})
    decision, memory = one_pass(world, bad, memory, host())
    assert any(isinstance(a, UpdateInferenceComponent) for a in decision.actions)
    world.applied.clear()
    decision, memory = one_pass(world, bad, memory, host())
    assert decision.outcome.reason == "UpdateFailed"
    assert "health check" in decision.outcome.message
    assert world.applied == []
    world.roll_back = None
    fixed = spec(model={"image": "example.com/llm:fixed"})
    decision, memory = converge(world, fixed, memory, host())
    assert decision.outcome.kind == OutcomeKind.READY
    assert world.component is not None
    assert world.component.specification["ModelName"] == memory.owned_models[0]


def test_a_failed_component_is_recreated_once_the_spec_changes() -> None:
    world = World()
    _, memory = converge(world, spec(), ComponentMemory(), host())
    assert world.component is not None
    world.component = replace(world.component, status="Failed", failure_reason="image not found")
    decision, memory = one_pass(world, spec(), memory, host())
    assert decision.outcome.reason == "ComponentFailed"
    assert aws_actions(decision) == []
    changed = spec(model={"image": "example.com/llm:2"})
    decision, memory = one_pass(world, changed, memory, host())
    assert aws_actions(decision) == [DeleteInferenceComponent("small")]
    assert decision.outcome.reason == "RecreatingFailedComponent"
    decision, memory = converge(world, changed, memory, host())
    assert decision.outcome.kind == OutcomeKind.READY
    assert world.component is not None
    assert world.component.status == "InService"


def test_a_component_waiting_for_room_says_what_sagemaker_says() -> None:
    world = World()
    _, memory = converge(world, spec(), ComponentMemory(), host())
    assert world.component is not None
    world.component = replace(
        world.component, status="Creating", failure_reason="no room for another copy"
    )
    decision, _ = one_pass(world, spec(), memory, host())
    assert decision.outcome.kind == OutcomeKind.PROGRESSING
    assert decision.outcome.message.endswith("is Creating: no room for another copy")
    assert aws_actions(decision) == []
