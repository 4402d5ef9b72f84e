"""Plan Application Auto Scaling targets and target-tracking policies for a ModelEndpoint.

The autoscaler, not the operator, owns an autoscaled variant's instance count; the
operator only keeps the bounds and the policy as the spec says.
"""

from __future__ import annotations

from collections.abc import Mapping

from serving_operator.planning.modelendpoint.actions import (
    AutoscalingAction,
    DeleteScaleOutAlarm,
    DeleteScalingPolicy,
    DeregisterReason,
    DeregisterScalableTarget,
    PutScaleOutAlarm,
    PutScalingPolicy,
    RegisterScalableTarget,
)
from serving_operator.planning.modelendpoint.desired import (
    SCALE_OUT_SUFFIX,
    SCALING_POLICY_PREFIX,
    AutoscalingDefinition,
    DesiredEndpoint,
)
from serving_operator.planning.modelendpoint.observed import ObservedScaling

_TOLERANCE = 1e-6


def variant_resource_ids(endpoint_name: str, variant_names: frozenset[str]) -> list[str]:
    return sorted(f"endpoint/{endpoint_name}/variant/{name}" for name in variant_names)


def _same(observed: object, desired: object) -> bool:
    if isinstance(desired, float | int) and isinstance(observed, float | int):
        return abs(float(observed) - float(desired)) <= _TOLERANCE
    if isinstance(desired, Mapping) and isinstance(observed, Mapping):
        return all(_same(observed.get(k), v) for k, v in desired.items())
    if isinstance(desired, list) and isinstance(observed, list):
        return len(desired) == len(observed) and all(
            _same(o, d) for o, d in zip(observed, desired, strict=True)
        )
    return observed == desired


def plan_autoscaling(
    desired: DesiredEndpoint,
    observed: Mapping[str, ObservedScaling],
    removal: DeregisterReason = DeregisterReason.REMOVED_FROM_SPEC,
) -> tuple[AutoscalingAction, ...]:
    """Register, update or remove scaling so it matches the spec; nothing when it does."""
    actions: list[AutoscalingAction] = []
    wanted = {a.resource_id: a for a in desired.autoscaled}
    for resource_id, want in wanted.items():
        have = observed.get(resource_id)
        if have is None or (have.min_instances, have.max_instances) != (
            want.min_instances,
            want.max_instances,
        ):
            actions.append(
                RegisterScalableTarget(resource_id, want.min_instances, want.max_instances)
            )
        policy = have.policies.get(want.policy_name) if have else None
        if policy is None or not _same(policy, want.policy):
            actions.append(PutScalingPolicy(resource_id, want.policy_name, want.policy))
        actions += _plan_scale_out_from_zero(want, have)
    for resource_id, have in sorted(observed.items()):
        ours = any(name.startswith(SCALING_POLICY_PREFIX) for name in have.policies)
        if resource_id not in wanted and ours:
            # Deregistering a target deletes its policies too, but not their alarms.
            actions.append(DeregisterScalableTarget(resource_id, removal))
            actions += [
                DeleteScaleOutAlarm(resource_id, alarm)
                for name in sorted(have.policies)
                if name.startswith(SCALING_POLICY_PREFIX)
                for alarm in sorted(have.policy_alarms.get(name, ()))
                if alarm.startswith(SCALING_POLICY_PREFIX)
            ]
    return tuple(actions)


def _plan_scale_out_from_zero(
    want: AutoscalingDefinition, have: ObservedScaling | None
) -> list[AutoscalingAction]:
    """The step policy and alarm that scale an asynchronous endpoint out of zero instances:
    put when missing or changed, removed (policy and our alarm) when no longer wanted.
    The alarm is checked for being there and linked to the policy, not for its settings."""
    step = want.scale_out_from_zero
    policies = have.policies if have else {}
    alarms = have.policy_alarms if have else {}
    if step is None:
        actions: list[AutoscalingAction] = []
        for name in sorted(policies):
            if name.startswith(SCALING_POLICY_PREFIX) and name.endswith(SCALE_OUT_SUFFIX):
                actions.append(DeleteScalingPolicy(want.resource_id, name))
                actions += [
                    DeleteScaleOutAlarm(want.resource_id, alarm)
                    for alarm in sorted(alarms.get(name, ()))
                    if alarm.startswith(SCALING_POLICY_PREFIX)
                ]
        return actions
    have_policy = policies.get(step.policy_name)
    put_policy = have_policy is None or not _same(have_policy, step.policy)
    actions = []
    if put_policy:
        actions.append(
            PutScalingPolicy(want.resource_id, step.policy_name, step.policy, "StepScaling")
        )
    if put_policy or step.alarm_name not in alarms.get(step.policy_name, frozenset()):
        actions.append(
            PutScaleOutAlarm(want.resource_id, step.policy_name, step.alarm_name, step.alarm)
        )
    return actions
