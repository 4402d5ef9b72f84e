"""Plan one pass of an InferenceComponent: pure, from the spec, the host ModelEndpoint as
Kubernetes has it, what AWS showed and what earlier passes remembered.

Who writes what (../shared/STYLE.md): the component, its specification and its model are
this resource's; its copy count is this resource's unless `spec.autoscaling` is set, when
Application Auto Scaling owns DesiredCopyCount and the operator never writes it after
creation. The endpoint, its instances and its variants are the ModelEndpoint's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

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
from serving_operator.planning.inferencecomponent.desired import (
    FROM_ZERO_POLICY_NAME,
    SCALING_POLICY_NAME,
    DesiredComponent,
    desired_component,
    from_zero_alarm_name,
    pick_variant,
    scaling_fingerprint,
    scaling_resource_id,
)
from serving_operator.planning.inferencecomponent.instance_types import fit_problem
from serving_operator.planning.inferencecomponent.memory import ComponentMemory
from serving_operator.planning.inferencecomponent.observed import (
    ComponentLookups,
    ComponentObservation,
    ObservedComponent,
)
from serving_operator.planning.naming import content_hash
from serving_operator.planning.outcome import Outcome, Plan, Remember
from serving_operator.planning.ownership import owner_id
from serving_operator.planning.windows import window_start

Step = ComponentAction | Remember[ComponentMemory]
ComponentPlan = Plan[Step, DesiredComponent | None]

SCALING_RECHECK_SECONDS = 3600.0
"""How often the registered copy scaling is read again at rest (drift of the bounds)."""
_SCALING_RECHECK = timedelta(seconds=SCALING_RECHECK_SECONDS)


def scaling_window_start(now: datetime) -> datetime:
    """The start of the recheck window `now` falls in (a clock hour, the same for every
    component, so their rechecks share one batched read)."""
    return window_start(now, _SCALING_RECHECK)


# Reasons a person can match on (docs/troubleshooting.md).
MODEL_ENDPOINT_NOT_FOUND = "ModelEndpointNotFound"
MODEL_ENDPOINT_IN_OTHER_SHARD = "ModelEndpointInOtherShard"
ENDPOINT_HOSTS_NO_COMPONENTS = "EndpointHostsNoComponents"
VARIANT_NOT_FOUND = "VariantNotFound"
COMPUTE_DOES_NOT_FIT = "ComputeDoesNotFit"
ZERO_COPIES_NOT_ALLOWED = "ZeroCopiesNeedManagedScalingToZero"
COMPONENT_NOT_OWNED = "ComponentNotOwned"
COMPONENT_ON_OTHER_ENDPOINT = "ComponentOnOtherEndpoint"
COMPONENT_FAILED = "ComponentFailed"
UPDATE_FAILED = "UpdateFailed"
RECREATING_FAILED = "RecreatingFailedComponent"
WAITING_FOR_ENDPOINT = "WaitingForEndpoint"

_TOLERANCE = 1e-6


def _same(observed: object, desired: object) -> bool:
    """Whether what AWS shows has every part the desired request sets (numbers compared as
    numbers: SageMaker answers 1 for 1.0)."""
    if isinstance(desired, float | int) and isinstance(observed, float | int):
        return abs(float(observed) - float(desired)) <= _TOLERANCE
    if isinstance(desired, Mapping) and isinstance(observed, Mapping):
        return all(_same(observed.get(k), v) for k, v in desired.items())
    return observed == desired


def _stalled(reason: str, message: str) -> ComponentPlan:
    return Plan((), Outcome.stalled(reason, message), findings=None)


def _host_problem(
    spec: InferenceComponentSpec, observed: ComponentObservation
) -> ComponentPlan | None:
    host = observed.host
    ref = spec.endpoint_ref.name
    if host is None:
        return _stalled(
            MODEL_ENDPOINT_NOT_FOUND, f"ModelEndpoint {ref} not found in this namespace"
        )
    if host.outside_shard is not None:
        return _stalled(
            MODEL_ENDPOINT_IN_OTHER_SHARD,
            f"ModelEndpoint {ref} is handled by another shard: its labels do not match this"
            f" operator's selector {host.outside_shard!r}; label both for the same shard",
        )
    if not host.hosts_components:
        return _stalled(
            ENDPOINT_HOSTS_NO_COMPONENTS,
            f"ModelEndpoint {ref} serves models on its variants: an inference component needs"
            " an endpoint whose variants have no model (instanceType, managedInstanceScaling)",
        )
    return None


def _spec_problem(
    spec: InferenceComponentSpec,
    desired: DesiredComponent,
    host_min: int | None,
    instance_type: str | None,
) -> ComponentPlan | None:
    compute = spec.compute
    unfit = fit_problem(
        instance_type, compute.cpu_cores, compute.min_memory_mib, compute.accelerators
    )
    if unfit is not None:
        return _stalled(COMPUTE_DOES_NOT_FIT, unfit)
    if spec.autoscaling is not None and spec.autoscaling.min_copies == 0 and host_min != 0:
        return _stalled(
            ZERO_COPIES_NOT_ALLOWED,
            f"autoscaling.minCopies is 0, but variant {desired.variant_name} of ModelEndpoint"
            f" {spec.endpoint_ref.name} keeps instances (managedInstanceScaling.minInstanceCount"
            " must be 0 for components to scale to zero)",
        )
    return None


def _created(desired: DesiredComponent, memory: ComponentMemory) -> ComponentMemory:
    models = memory.owned_models
    if desired.model is not None and desired.model.name not in models:
        models = (*models, desired.model.name)
    return replace(memory, owned=True, owned_models=models)


def _create_model(desired: DesiredComponent) -> list[Step]:
    if desired.model is None:
        return []
    return [CreateComponentModel(desired.model.name, desired.model.request, desired.tags)]


def _plan_creation(
    desired: DesiredComponent, observed: ComponentObservation, memory: ComponentMemory
) -> ComponentPlan | ComponentLookups:
    missing = observed.missing(ComponentLookups(endpoint=True))
    if missing:
        return missing
    assert observed.endpoint is not None
    endpoint = observed.endpoint.value
    if endpoint is None or endpoint.status != "InService":
        state = "does not exist yet" if endpoint is None else f"is {endpoint.status}"
        return Plan(
            (),
            Outcome.progressing(
                WAITING_FOR_ENDPOINT,
                f"SageMaker endpoint {desired.endpoint_name} {state}; the component is created"
                " once it is InService",
            ),
            findings=desired,
        )
    if desired.variant_name not in endpoint.variants:
        return Plan(
            (),
            Outcome.progressing(
                WAITING_FOR_ENDPOINT,
                f"endpoint {desired.endpoint_name} does not run variant {desired.variant_name} yet",
            ),
            findings=desired,
        )
    steps: list[Step] = [
        *_create_model(desired),
        CreateInferenceComponent(
            desired.name,
            desired.endpoint_name,
            desired.variant_name,
            desired.specification,
            desired.copy_count,
            desired.tags,
        ),
        Remember(_created(desired, memory)),
    ]
    return Plan(
        tuple(steps),
        Outcome.progressing("Creating", f"creating inference component {desired.name}"),
        findings=desired,
    )


def _copies_now(component: ObservedComponent) -> int | None:
    return (
        component.desired_copies
        if component.desired_copies is not None
        else (component.current_copies)
    )


def _scaling_steps(
    desired: DesiredComponent, observed: ComponentObservation, memory: ComponentMemory
) -> tuple[list[Step], ComponentMemory] | ComponentLookups:
    """Register, update or remove the copy scaling, read at most hourly once it matches."""
    fingerprint = scaling_fingerprint(desired)
    wanted = desired.scaling is not None or memory.scaling_registered
    recent = (
        memory.scaling_checked == fingerprint
        and memory.scaling_checked_at is not None
        and scaling_window_start(observed.now) <= memory.scaling_checked_at <= observed.now
    )
    if not wanted or recent:
        return [], memory
    # Only the periodic recheck of what was made to match may share a read; after a change
    # (or the first time) the scaling is read now.
    shared = scaling_window_start(observed.now) if memory.scaling_checked == fingerprint else None
    missing = observed.missing(ComponentLookups(scaling=True, scaling_shared_since=shared))
    if missing:
        return missing
    assert observed.scaling is not None
    have = observed.scaling.value
    steps: list[Step] = []
    want = desired.scaling
    if want is not None:
        if have is None or (have.min_copies, have.max_copies) != (want.min_copies, want.max_copies):
            steps.append(RegisterCopyScaling(want.resource_id, want.min_copies, want.max_copies))
        policy = have.policies.get(SCALING_POLICY_NAME) if have is not None else None
        if policy is None or not _same(policy, want.policy):
            steps.append(PutCopyScalingPolicy(want.resource_id, SCALING_POLICY_NAME, want.policy))
        step = have.policies.get(FROM_ZERO_POLICY_NAME) if have is not None else None
        if want.from_zero is not None and (step is None or not _same(step, want.from_zero.policy)):
            steps.append(
                PutScaleFromZero(
                    want.resource_id,
                    FROM_ZERO_POLICY_NAME,
                    want.from_zero.policy,
                    want.from_zero.alarm,
                )
            )
        elif want.from_zero is None and step is not None:
            steps.append(
                RemoveScaleFromZero(
                    want.resource_id, FROM_ZERO_POLICY_NAME, from_zero_alarm_name(desired.name)
                )
            )
    elif have is not None and SCALING_POLICY_NAME in have.policies:
        steps.append(
            DeregisterCopyScaling(
                scaling_resource_id(desired.name), from_zero_alarm_name(desired.name)
            )
        )
    memory = replace(
        memory,
        scaling_registered=want is not None,
        scaling_checked=fingerprint,
        scaling_checked_at=observed.now,
    )
    steps.append(Remember(memory))
    return steps, memory


def _plan_existing(
    desired: DesiredComponent,
    component: ObservedComponent,
    observed: ComponentObservation,
    memory: ComponentMemory,
    owner: str,
) -> ComponentPlan | ComponentLookups:
    steps: list[Step] = []
    if not memory.owned:
        missing = observed.missing(ComponentLookups(owner=True))
        if missing:
            return missing
        assert observed.owner is not None
        if observed.owner.value != owner:
            whose = observed.owner.value or "no owner tag"
            return _stalled(
                COMPONENT_NOT_OWNED,
                f"inference component {desired.name} exists and is not this resource's"
                f" ({whose}); set spec.componentName to another name",
            )
        memory = replace(memory, owned=True)
        steps.append(Remember(memory))
    if component.endpoint_name != desired.endpoint_name or (
        component.variant_name not in (None, desired.variant_name)
    ):
        return _stalled(
            COMPONENT_ON_OTHER_ENDPOINT,
            f"inference component {desired.name} runs on endpoint {component.endpoint_name}"
            f" variant {component.variant_name}, not {desired.endpoint_name}"
            f" variant {desired.variant_name}; delete it or choose another componentName",
        )
    spec_differs = not _same(component.specification, desired.specification)
    copies_differ = desired.owns_copies and _copies_now(component) != desired.copy_count
    if component.status in ("Creating", "Updating", "Deleting"):
        # SageMaker says why a component waits (copies that do not fit yet, for one).
        why = f": {component.failure_reason}" if component.failure_reason else ""
        return Plan(
            tuple(steps),
            Outcome.progressing(
                component.status,
                f"inference component {desired.name} is {component.status}{why}",
            ),
            findings=desired,
        )
    attempt = content_hash(dict(desired.specification))
    if component.status == "Failed":
        if not spec_differs:
            return Plan(
                tuple(steps),
                Outcome.stalled(
                    COMPONENT_FAILED,
                    f"inference component {desired.name} failed:"
                    f" {component.failure_reason or '?'}; change the spec to try again",
                ),
                findings=desired,
            )
        # A failed component is not updated in place: deleted, then created from the new spec.
        steps += [
            DeleteInferenceComponent(desired.name),
            Remember(replace(memory, attempted=None)),
        ]
        return Plan(
            tuple(steps),
            Outcome.progressing(
                RECREATING_FAILED,
                f"inference component {desired.name} failed; deleting it to create it anew"
                " from the changed spec",
            ),
            findings=desired,
        )
    if spec_differs and memory.attempted == attempt and component.failure_reason:
        # SageMaker rolled this very update back (the old specification serves on).
        return Plan(
            tuple(steps),
            Outcome.stalled(
                UPDATE_FAILED,
                f"the update of inference component {desired.name} was rolled back:"
                f" {component.failure_reason}; the previous specification keeps serving."
                " Change the spec to try again",
            ),
            findings=desired,
        )
    if spec_differs:
        copies = _copies_now(component) or 0
        update = UpdateInferenceComponent(
            desired.name,
            desired.specification,
            desired.copy_count if desired.owns_copies else None,
            # A rolling update replaces copies in batches; with one copy or none there is
            # nothing to batch (SageMaker replaces it in place).
            desired.deployment if max(copies, desired.copy_count) > 1 else None,
        )
        steps += [
            *_create_model(desired),
            update,
            Remember(replace(_created(desired, memory), attempted=attempt)),
        ]
        return Plan(
            tuple(steps),
            Outcome.progressing("Updating", f"rolling out a new specification of {desired.name}"),
            findings=desired,
        )
    if copies_differ:
        steps.append(UpdateComponentCopies(desired.name, desired.copy_count))
        return Plan(
            tuple(steps),
            Outcome.progressing(
                "Updating", f"changing {desired.name} to {desired.copy_count} copies"
            ),
            findings=desired,
        )
    # InService on the desired specification: retire our models it no longer uses.
    retired = [m for m in memory.owned_models if m != desired.model_name]
    if retired:
        steps += [DeleteComponentModel(m) for m in retired]
        memory = replace(
            memory, owned_models=tuple(m for m in memory.owned_models if m not in retired)
        )
        steps.append(Remember(memory))
    scaling = _scaling_steps(desired, observed, memory)
    if isinstance(scaling, ComponentLookups):
        return scaling
    steps += scaling[0]
    serving = component.current_copies
    return Plan(
        tuple(steps),
        Outcome.ready(
            "InService",
            f"inference component {desired.name} is InService with {serving} copies on"
            f" endpoint {desired.endpoint_name}",
        ),
        findings=desired,
    )


def plan_inference_component(
    spec: InferenceComponentSpec,
    observed: ComponentObservation,
    memory: ComponentMemory,
    *,
    namespace: str,
    name: str,
) -> ComponentPlan | ComponentLookups:
    """One pass: the steps, the outcome, and the desired component as the findings."""
    problem = _host_problem(spec, observed)
    if problem is not None:
        return problem
    assert observed.host is not None
    variant = pick_variant(spec, observed.host)
    if isinstance(variant, str):
        return _stalled(VARIANT_NOT_FOUND, variant)
    desired = desired_component(spec, observed.host, variant, namespace=namespace, name=name)
    problem = _spec_problem(spec, desired, variant.managed_min_instances, variant.instance_type)
    if problem is not None:
        return problem
    if observed.component is None:
        return _plan_creation(desired, observed, memory)
    return _plan_existing(desired, observed.component, observed, memory, owner_id(namespace, name))


def plan_component_deletion(
    component_name: str,
    observed: ComponentObservation,
    memory: ComponentMemory,
    *,
    owner: str,
    retain: bool,
) -> Plan[Step] | ComponentLookups:
    """One pass of deletion; the resource may go once the outcome is Ready."""
    if retain:
        return Plan((), Outcome.ready("Retained", f"inference component {component_name} left"))
    steps: list[Step] = []
    component = observed.component
    if component is not None:
        if not memory.owned:
            missing = observed.missing(ComponentLookups(owner=True))
            if missing:
                return missing
            assert observed.owner is not None
            if observed.owner.value != owner:
                return Plan(
                    (),
                    Outcome.ready(
                        "NotOwned",
                        f"inference component {component_name} is not this resource's: left",
                    ),
                )
        if memory.scaling_registered:
            # First, so the autoscaler does not act on a component going away.
            steps.append(
                DeregisterCopyScaling(
                    scaling_resource_id(component_name), from_zero_alarm_name(component_name)
                )
            )
            memory = replace(memory, scaling_registered=False)
            steps.append(Remember(memory))
        if component.status != "Deleting":
            steps.append(DeleteInferenceComponent(component_name))
        return Plan(
            tuple(steps),
            Outcome.progressing("Deleting", f"deleting inference component {component_name}"),
        )
    if memory.scaling_registered:
        steps.append(
            DeregisterCopyScaling(
                scaling_resource_id(component_name), from_zero_alarm_name(component_name)
            )
        )
    steps += [DeleteComponentModel(m) for m in memory.owned_models]
    steps.append(Remember(replace(memory, owned_models=(), scaling_registered=False)))
    return Plan(
        tuple(steps),
        Outcome.ready("Deleted", f"inference component {component_name} and its model are gone"),
    )
