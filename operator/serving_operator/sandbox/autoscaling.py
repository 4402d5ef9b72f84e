"""Application Auto Scaling that really scales SageMaker variants.

moto stores scalable targets and scaling policies but never acts on them. Here, on each
overlay tick, every target-tracking policy on a variant's invocations per instance is
evaluated against the invocations the overlay's runtime served:

  metric  = invocations in the last `autoscalingWindowSeconds` / CurrentInstanceCount
  desired = ceil(CurrentInstanceCount * metric / TargetValue), within [MinCapacity, MaxCapacity]

(the window stands in for CloudWatch's minute, so TargetValue keeps its meaning of
invocations per instance per minute at the default window of 60 s).

As in AWS (moto keeps them), deregistering a scalable target deletes its scaling policies.

Cooldowns. As in AWS, within ScaleOutCooldown of a scale-out the capacity it added counts
toward the next scale-out: another one goes ahead only if it asks for more than the last
one set (the metric divides by the instances actually running, so load that outgrows the
first step is followed step by step, as each step completes); a scale-in does not delay a
scale-out. A scale-in waits for ScaleInCooldown since the variant's last scaling in either
direction (AWS counts from the last scale-in, but needs 15 low minutes before it scales in;
this keeps the sandbox similarly conservative) and for a whole window of low traffic since
the policy was put or the last scaling; DisableScaleIn or a suspended dynamic scale-in
stops it. With several policies the largest capacity wins, as in AWS.

A scaling goes through the endpoint: DesiredInstanceCount at once, Updating, then InService
with CurrentInstanceCount after `updatingSeconds`. It is recorded as a scaling activity
(DescribeScalingActivities, which moto lacks, is answered here).

Inference components (ScalableDimension sagemaker:inference-component:DesiredCopyCount,
ResourceId inference-component/<name>, MinCapacity 0 allowed) scale the same way on their
invocations per copy (SageMakerInferenceComponentInvocationsPerCopy, or the custom metric
InvocationsPerCopy): metric = invocations in the window / CurrentCopyCount, and the change
goes through UpdateInferenceComponentRuntimeConfig's path (DesiredCopyCount at once, the
component Updating, then CurrentCopyCount). Target tracking does not scale out from zero
copies: as "Scale an endpoint to zero instances" (SageMaker developer guide) documents, a
StepScaling policy does, set off by an alarm on NoCapacityInvocationFailures; here the
calls the runtime refused for want of copies in the window stand in for that alarm, and the
policy's first step adjustment (ChangeInCapacity, ExactCapacity or PercentChangeInCapacity)
applies. SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution policies are
accepted and stored, not acted on (the sandbox does not model concurrency).

Asynchronous endpoints ("Autoscale an asynchronous endpoint", SageMaker developer guide):
target tracking on ApproximateBacklogSizePerInstance follows the queue async_inference.py
holds (metric = queued and in-process requests / CurrentInstanceCount), down to
MinCapacity 0; a StepScaling policy on a variant acts through the CloudWatch alarms whose
AlarmActions name its ARN (the documented HasBacklogWithoutCapacity alarm takes a variant
from zero to one instance): see `_step`. DescribeScalingPolicies lists those alarms under
their policy, and deleting a policy or its target leaves them in CloudWatch, as in AWS.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox.inference_components import InferenceComponentOverlay
from serving_operator.sandbox.moto_internals import (
    ApplicationAutoscalingBackend,
    accept_scalable_dimension,
)
from serving_operator.sandbox.sagemaker import SageMakerOverlay
from serving_operator.sandbox.wire import AwsRequest, error_response, json_response

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
_RESOURCE = re.compile(r"^endpoint/([^/]+)/variant/([^/]+)$")
_COMPONENT_RESOURCE = re.compile(r"^inference-component/([^/]+)$")
_DEFAULT_COOLDOWN_SECONDS = 300.0  # Application Auto Scaling's default for SageMaker variants


def _tracks(config: dict[str, Any] | None, metric: str, predefined: str | None = None) -> bool:
    """Whether a target-tracking configuration follows AWS/SageMaker's `metric`, named as a
    customized metric or as its predefined metric type."""
    if not config or "TargetValue" not in config:
        return False
    named = config.get("PredefinedMetricSpecification") or {}
    if predefined is not None and named.get("PredefinedMetricType") == predefined:
        return True
    custom = config.get("CustomizedMetricSpecification") or {}
    return custom.get("Namespace") == "AWS/SageMaker" and custom.get("MetricName") == metric


def tracks_invocations(config: dict[str, Any] | None) -> bool:
    """Whether a target-tracking configuration follows a variant's invocations per instance."""
    return _tracks(config, "InvocationsPerInstance", "SageMakerVariantInvocationsPerInstance")


def tracks_copies(config: dict[str, Any] | None) -> bool:
    """Whether a target-tracking configuration follows a component's invocations per copy."""
    return _tracks(config, "InvocationsPerCopy", "SageMakerInferenceComponentInvocationsPerCopy")


def tracks_backlog(config: dict[str, Any] | None) -> bool:
    """Whether a target-tracking configuration follows an asynchronous endpoint's queue per
    instance (SageMaker developer guide, "Autoscale an asynchronous endpoint")."""
    return _tracks(config, "ApproximateBacklogSizePerInstance")


BACKLOG_METRICS = frozenset(
    {"ApproximateBacklogSize", "ApproximateBacklogSizePerInstance", "HasBacklogWithoutCapacity"}
)
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _policy_description(policy: Any) -> dict[str, Any]:
    """A ScalingPolicy as DescribeScalingPolicies answers it (botocore's ScalingPolicy)."""
    described: dict[str, Any] = {
        "PolicyARN": policy.policy_arn,
        "PolicyName": policy.policy_name,
        "ServiceNamespace": policy.service_namespace,
        "ResourceId": policy.resource_id,
        "ScalableDimension": policy.scalable_dimension,
        "PolicyType": policy.policy_type,
        "CreationTime": float(policy.creation_time),
        "Alarms": [{"AlarmARN": a.alarm_arn, "AlarmName": a.name} for a in policy.alarms],
    }
    if policy.policy_type == "StepScaling":
        described["StepScalingPolicyConfiguration"] = policy.step_scaling_policy_configuration
    else:
        described["TargetTrackingScalingPolicyConfiguration"] = (
            policy.target_tracking_scaling_policy_configuration
        )
    return described


def _step_adjustment(config: dict[str, Any], breach: float) -> int | None:
    """The ScalingAdjustment of the step whose [lower, upper) bounds hold `breach` (the
    metric's distance from the alarm's threshold; a missing bound is infinite)."""
    for step in config.get("StepAdjustments") or []:
        lower = step.get("MetricIntervalLowerBound")
        upper = step.get("MetricIntervalUpperBound")
        if (lower is None or breach >= float(lower)) and (upper is None or breach < float(upper)):
            return int(step["ScalingAdjustment"])
    return None


SAGEMAKER_SCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"


@dataclass(frozen=True)
class _Scaling:
    at: float
    """time.monotonic() of the decision"""
    from_count: int
    to_count: int


class Autoscaler:
    """Counts invocations per variant and scales variants whose policies ask for it."""

    def __init__(
        self, sagemaker: SageMakerOverlay, components: InferenceComponentOverlay | None = None
    ) -> None:
        self.sagemaker = sagemaker
        self.components = components
        accept_scalable_dimension(COMPONENT_DIMENSION)
        self._invocations: dict[tuple[str, str, str, str], deque[float]] = {}
        self._component_calls: dict[tuple[str, str, str, bool], deque[float]] = {}
        self._last_scaling: dict[tuple[str, str, str], _Scaling] = {}
        self._activities: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.backlog: Callable[[str, str, str], int] | None = None
        """An asynchronous endpoint's queue length (account, region, endpoint), if known."""
        self.handlers: dict[str, Callable[[AwsRequest], Response | None]] = {
            "DescribeScalingActivities": self._describe_scaling_activities,
            "DeregisterScalableTarget": self._deregister_scalable_target,
            "DescribeScalableTargets": self._describe_scalable_targets,
            "DescribeScalingPolicies": self._link_alarms,
            "DeleteScalingPolicy": self._keep_alarms,
        }

    # -- input --------------------------------------------------------------------------
    def record_invocation(
        self, account: str, region: str, endpoint: str, variant: str, now: float | None = None
    ) -> None:
        now = time.monotonic() if now is None else now
        with self.sagemaker.lock:
            times = self._invocations.setdefault((account, region, endpoint, variant), deque())
            times.append(now)
            self._forget_old(times, now)

    def record_component_invocation(
        self, account: str, region: str, component: str, *, served: bool, now: float | None = None
    ) -> None:
        """A call to an inference component: served by a copy, or refused for want of one."""
        now = time.monotonic() if now is None else now
        with self.sagemaker.lock:
            times = self._component_calls.setdefault((account, region, component, served), deque())
            times.append(now)
            self._forget_old(times, now)

    def component_calls_in_window(
        self, account: str, region: str, component: str, *, served: bool, now: float
    ) -> int:
        with self.sagemaker.lock:
            times = self._component_calls.get((account, region, component, served))
            if not times:
                return 0
            self._forget_old(times, now)
            return len(times)

    def _forget_old(self, times: deque[float], now: float) -> None:
        horizon = now - self.sagemaker.settings.autoscaling_window_seconds
        while times and times[0] <= horizon:
            times.popleft()

    def invocations_in_window(
        self, account: str, region: str, endpoint: str, variant: str, now: float | None = None
    ) -> int:
        now = time.monotonic() if now is None else now
        with self.sagemaker.lock:
            times = self._invocations.get((account, region, endpoint, variant))
            if not times:
                return 0
            self._forget_old(times, now)
            return len(times)

    # -- time ---------------------------------------------------------------------------
    def advance(self, scopes: set[tuple[str, str]], now: float | None = None) -> None:
        """Evaluate every SageMaker variant target in the (account, region) scopes seen."""
        now = time.monotonic() if now is None else now
        with self.sagemaker.lock:
            for account, region in sorted(scopes):
                backend = get_backend("applicationautoscaling")[account][region]
                for target in backend.describe_scalable_targets(NAMESPACE, None, DIMENSION):
                    self._evaluate(account, region, backend, target, now)
                for target in backend.describe_scalable_targets(
                    NAMESPACE, None, COMPONENT_DIMENSION
                ):
                    self._evaluate_component(account, region, backend, target, now)

    def _evaluate(
        self,
        account: str,
        region: str,
        backend: ApplicationAutoscalingBackend,
        target: Any,
        now: float,
    ) -> None:
        match = _RESOURCE.match(target.resource_id)
        if match is None:
            return
        endpoint_name, variant_name = match.groups()
        endpoint = self.sagemaker.endpoint_for(account, region, endpoint_name)
        if endpoint is None or endpoint.endpoint_status != "InService":
            return  # a scaling in progress (or any update) finishes first
        variant = next(
            (v for v in endpoint.production_variants if v["VariantName"] == variant_name), None
        )
        if variant is None or "CurrentInstanceCount" not in variant:
            return  # no such variant, or a serverless one
        mine = [
            policy
            for policy in backend.policies.values()
            if policy.service_namespace == NAMESPACE
            and policy.resource_id == target.resource_id
            and policy.scalable_dimension == DIMENSION
        ]
        tracking = [
            policy
            for policy in mine
            if policy.policy_type == "TargetTrackingScaling"
            and (
                tracks_invocations(policy.target_tracking_scaling_policy_configuration)
                or tracks_backlog(policy.target_tracking_scaling_policy_configuration)
            )
        ]
        stepping = [policy for policy in mine if policy.policy_type == "StepScaling"]
        if not tracking and not stepping:
            return

        window = self.sagemaker.settings.autoscaling_window_seconds
        current = int(variant["CurrentInstanceCount"])
        count = self.invocations_in_window(account, region, endpoint_name, variant_name, now)
        backlog = self.backlog(account, region, endpoint_name) if self.backlog else 0
        key = (account, region, target.resource_id)
        last = self._last_scaling.get(key, _Scaling(-math.inf, current, current))
        since_scaling = now - last.at

        def metric_of(policy: Any) -> float:
            config = policy.target_tracking_scaling_policy_configuration
            return (backlog if tracks_backlog(config) else count) / current

        desired, cause = current, ""
        if tracking and current:
            # Target tracking divides by the instances running: on 0 it has nothing to
            # track (a step policy on HasBacklogWithoutCapacity scales out from zero).
            desired, policy = self._choose(key, target, tracking, current, metric_of, now)
            config = policy.target_tracking_scaling_policy_configuration
            target_value = float(config["TargetValue"])
            metric = metric_of(policy)
            if tracks_backlog(config):
                cause = (
                    f"{backlog} requests in the queue on {current} instance(s): {metric:g}"
                    f" per instance against a target of {target_value:g}"
                )
            else:
                cause = (
                    f"{count} invocations in the last {window:g} s on {current} instance(s):"
                    f" {metric:g} invocations per instance against a target of {target_value:g}"
                )
            cause += f" triggered policy {policy.policy_name}"
        suspended = target.suspended_state or {}
        low = target.min_capacity if target.min_capacity is not None else 1
        high = target.max_capacity if target.max_capacity is not None else math.inf
        for policy in stepping:
            step = self._step(
                account, region, endpoint_name, policy, current, backlog, last, since_scaling
            )
            if step is None or suspended.get("DynamicScalingOutSuspended"):
                continue
            stepped = int(max(low, min(high, step[0])))
            if stepped > desired:
                desired, cause = stepped, step[1]
                self._last_scaling[key] = _Scaling(now, current, desired)
        if desired == current:
            return
        activity = self._activity(
            account,
            region,
            target.resource_id,
            DIMENSION,
            f"Setting desired instance count to {desired}.",
            cause,
        )

        def done() -> None:
            activity["StatusCode"] = "Successful"
            activity["StatusMessage"] = (
                f"Successfully set desired instance count to {desired}."
                " Change successfully fulfilled by sagemaker."
            )
            activity["EndTime"] = time.time()

        self.sagemaker.set_instance_count(endpoint, region, variant_name, desired, done)

    def _choose(
        self,
        key: tuple[str, str, str],
        target: Any,
        policies: list[Any],
        current: int,
        metric: float | Callable[[Any], float],
        now: float,
    ) -> tuple[int, Any]:
        """The capacity the target-tracking policies ask for (the largest), within the
        target's bounds and cooldowns; recorded as the target's last scaling if it changes.
        `metric` is the tracked value, or a function of the policy that gives it."""
        window = self.sagemaker.settings.autoscaling_window_seconds
        last = self._last_scaling.get(key, _Scaling(-math.inf, current, current))
        since_scaling = now - last.at
        suspended = target.suspended_state or {}
        low = target.min_capacity if target.min_capacity is not None else 1
        high = target.max_capacity if target.max_capacity is not None else math.inf

        choices: list[tuple[int, Any]] = []
        for policy in policies:
            config = policy.target_tracking_scaling_policy_configuration or {}
            target_value = float(config["TargetValue"])
            value = metric(policy) if callable(metric) else metric
            # ceil(current * metric / target), kept clear of float noise at exact multiples
            desired = math.ceil(round(current * value / target_value, 9))
            desired = int(max(low, min(high, desired)))
            if desired > current:
                cooldown = float(config.get("ScaleOutCooldown", _DEFAULT_COOLDOWN_SECONDS))
                cooling = last.to_count > last.from_count and since_scaling < cooldown
                if (cooling and desired <= last.to_count) or suspended.get(
                    "DynamicScalingOutSuspended"
                ):
                    desired = current
            elif desired < current:
                cooldown = float(config.get("ScaleInCooldown", _DEFAULT_COOLDOWN_SECONDS))
                observed = min(since_scaling, time.time() - float(policy.creation_time))
                if (
                    config.get("DisableScaleIn")
                    or suspended.get("DynamicScalingInSuspended")
                    or since_scaling < cooldown
                    or observed < window
                ):
                    desired = current
            choices.append((desired, policy))
        desired, policy = max(choices, key=lambda choice: choice[0])
        if desired != current:
            self._last_scaling[key] = _Scaling(now, current, desired)
        return desired, policy

    def _activity(
        self,
        account: str,
        region: str,
        resource_id: str,
        dimension: str,
        description: str,
        cause: str,
    ) -> dict[str, Any]:
        activity: dict[str, Any] = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": NAMESPACE,
            "ResourceId": resource_id,
            "ScalableDimension": dimension,
            "Description": description,
            "Cause": cause,
            "StartTime": time.time(),
            "StatusCode": "InProgress",
            "StatusMessage": description,
        }
        self._activities.setdefault((account, region), []).insert(0, activity)
        return activity

    def _evaluate_component(
        self,
        account: str,
        region: str,
        backend: ApplicationAutoscalingBackend,
        target: Any,
        now: float,
    ) -> None:
        match = _COMPONENT_RESOURCE.match(target.resource_id)
        if match is None or self.components is None:
            return
        name = match.group(1)
        component = self.components.component(account, region, name)
        if component is None or component.status != "InService":
            return  # a change in progress finishes first
        policies = [
            policy
            for policy in backend.policies.values()
            if policy.service_namespace == NAMESPACE
            and policy.resource_id == target.resource_id
            and policy.scalable_dimension == COMPONENT_DIMENSION
        ]
        window = self.sagemaker.settings.autoscaling_window_seconds
        current = component.desired
        copies = component.current
        key = (account, region, target.resource_id)
        if copies == 0:
            refused = self.component_calls_in_window(account, region, name, served=False, now=now)
            desired, cause = self._step_from_zero(target, policies, current, refused, window)
        else:
            tracking = [
                p
                for p in policies
                if p.policy_type == "TargetTrackingScaling"
                and tracks_copies(p.target_tracking_scaling_policy_configuration)
            ]
            if not tracking:
                return
            count = self.component_calls_in_window(account, region, name, served=True, now=now)
            metric = count / copies
            desired, policy = self._choose(key, target, tracking, current, metric, now)
            target_value = policy.target_tracking_scaling_policy_configuration["TargetValue"]
            cause = (
                f"{count} invocations in the last {window:g} s on {copies} copies:"
                f" {metric:g} invocations per copy against a target of {target_value:g}"
                f" triggered policy {policy.policy_name}"
            )
        if desired == current:
            return
        self._last_scaling[key] = _Scaling(now, current, desired)
        activity = self._activity(
            account,
            region,
            target.resource_id,
            COMPONENT_DIMENSION,
            f"Setting desired copy count to {desired}.",
            cause,
        )

        def done() -> None:
            activity["StatusCode"] = "Successful"
            activity["StatusMessage"] = (
                f"Successfully set desired copy count to {desired}."
                " Change successfully fulfilled by sagemaker."
            )
            activity["EndTime"] = time.time()

        self.components.set_copies(component, desired, done)

    @staticmethod
    def _step_from_zero(
        target: Any, policies: list[Any], current: int, refused: int, window: float
    ) -> tuple[int, str]:
        """What a StepScaling policy does for a component with no copies that refused calls
        in the window (the NoCapacityInvocationFailures alarm's stand-in)."""
        steps = [p for p in policies if p.policy_type == "StepScaling"]
        if refused == 0 or not steps:
            return current, ""
        policy = steps[0]
        config = policy.step_scaling_policy_configuration or {}
        adjustments = config.get("StepAdjustments") or []
        if not adjustments:
            return current, ""
        step = int(adjustments[0].get("ScalingAdjustment", 0))
        kind = config.get("AdjustmentType", "ChangeInCapacity")
        if kind == "ExactCapacity":
            desired = step
        elif kind == "PercentChangeInCapacity":
            desired = current + max(1, math.ceil(current * step / 100))
        else:
            desired = current + step
        high = target.max_capacity if target.max_capacity is not None else desired
        low = target.min_capacity if target.min_capacity is not None else 0
        desired = int(max(low, min(high, desired)))
        return desired, (
            f"{refused} invocations refused for want of copies in the last {window:g} s"
            f" (NoCapacityInvocationFailures) triggered policy {policy.policy_name}"
        )

    def _step(
        self,
        account: str,
        region: str,
        endpoint_name: str,
        policy: Any,
        current: int,
        backlog: int,
        last: _Scaling,
        since_scaling: float,
    ) -> tuple[int, str] | None:
        """A step scaling policy acting through its CloudWatch alarms (those whose
        AlarmActions name the policy's ARN): an alarm on the endpoint's backlog metrics is
        evaluated on the queue as it is now, and goes to ALARM or OK. The sandbox compresses
        the alarm's EvaluationPeriods x Period to this one look (time here is compressed);
        alarms on other metrics are not evaluated. In ALARM, the step whose bounds hold the
        breach (value - Threshold) adjusts the capacity; the policy's Cooldown holds off
        another scale-out that asks for no more than the last one set."""
        config = policy.step_scaling_policy_configuration or {}
        cloudwatch = get_backend("cloudwatch")[account][region]
        capacity_values = {
            "ApproximateBacklogSize": float(backlog),
            "HasBacklogWithoutCapacity": 1.0 if backlog and not current else 0.0,
        }
        if current:
            capacity_values["ApproximateBacklogSizePerInstance"] = backlog / current
        result: tuple[int, str] | None = None
        for alarm in list(cloudwatch.alarms.values()):
            if policy.policy_arn not in (alarm.alarm_actions or []):
                continue
            dimensions = {d.name: d.value for d in alarm.dimensions}
            if (
                alarm.namespace != "AWS/SageMaker"
                or alarm.metric_name not in BACKLOG_METRICS
                or dimensions != {"EndpointName": endpoint_name}
            ):
                continue
            value = capacity_values.get(alarm.metric_name)
            if value is None:
                continue  # ApproximateBacklogSizePerInstance is not published at 0 instances
            threshold = float(alarm.threshold)
            breached = _COMPARISONS[alarm.comparison_operator](value, threshold)
            state = "ALARM" if breached else "OK"
            if alarm.state_value != state:
                alarm.update_state(
                    f"Threshold Crossed: {alarm.metric_name} was {value:g}"
                    f" ({'' if breached else 'not '}{alarm.comparison_operator} {threshold:g}).",
                    json.dumps({"version": "1.0", "recentDatapoints": [value]}),
                    state,
                )
            if not breached:
                continue
            adjustment = _step_adjustment(config, value - threshold)
            if adjustment is None:
                continue
            kind = config.get("AdjustmentType", "ChangeInCapacity")
            if kind == "ExactCapacity":
                desired = adjustment
            elif kind == "PercentChangeInCapacity":
                desired = current + math.ceil(current * adjustment / 100)
            else:
                desired = current + adjustment
            cooldown = float(config.get("Cooldown", _DEFAULT_COOLDOWN_SECONDS))
            cooling = last.to_count > last.from_count and since_scaling < cooldown
            if desired > current and cooling and desired <= last.to_count:
                desired = current
            cause = (
                f"monitor alarm {alarm.name} in state ALARM ({alarm.metric_name} = {value:g})"
                f" triggered policy {policy.policy_name}"
            )
            if result is None or desired > result[0]:
                result = (desired, cause)
        return result

    # -- operations ---------------------------------------------------------------------
    def _sagemaker_policies(self, request: AwsRequest) -> list[Any]:
        backend = get_backend("applicationautoscaling")[self.sagemaker.account(request)][
            request.region
        ]
        return [p for p in backend.policies.values() if p.service_namespace == NAMESPACE]

    def _link_alarms(self, request: AwsRequest) -> Response | None:
        """A policy's Alarms are the CloudWatch alarms whose AlarmActions name its ARN (for a
        step policy, those the caller put with PutMetricAlarm); moto lists only alarms it
        made itself. moto then answers, except when PolicyNames is given, which moto ignores:
        those are answered here, filtered as Application Auto Scaling does."""
        params = request.json()
        with self.sagemaker.lock:
            alarms = get_backend("cloudwatch")[self.sagemaker.account(request)][
                request.region
            ].alarms
            policies = self._sagemaker_policies(request)
            for policy in policies:
                policy.alarms = [
                    alarm
                    for alarm in alarms.values()
                    if policy.policy_arn in (alarm.alarm_actions or [])
                ]
            names = params.get("PolicyNames")
            if not names or params.get("ServiceNamespace") != NAMESPACE:
                return None
            wanted = [
                _policy_description(policy)
                for policy in policies
                if policy.policy_name in names
                and params.get("ResourceId") in (None, policy.resource_id)
                and params.get("ScalableDimension") in (None, policy.scalable_dimension)
            ]
        return json_response({"ScalingPolicies": wanted})

    def _keep_alarms(self, request: AwsRequest) -> None:
        """Deleting a policy leaves its alarms in CloudWatch: "Deleting a step scaling policy
        deletes the underlying alarm action, but it does not delete the CloudWatch alarm"
        (Application Auto Scaling user guide, step scaling policies). moto deletes the
        alarms it lists for the policy, so the list is emptied first."""
        with self.sagemaker.lock:
            for policy in self._sagemaker_policies(request):
                policy.alarms = []
        return None

    def _describe_scalable_targets(self, request: AwsRequest) -> None:
        """moto leaves RoleARN out of a target registered without one; botocore's
        ScalableTarget requires it (application-autoscaling service-2.json), and for a
        service with a service-linked role AWS uses that role ("Application Auto Scaling uses
        a service-linked role, which it creates if it does not yet exist": RegisterScalable
        Target's RoleARN). Give SageMaker targets SageMaker's; moto then answers."""
        account = self.sagemaker.account(request)
        role = (
            f"arn:aws:iam::{account}:role/aws-service-role/{SAGEMAKER_SCALING_SERVICE}/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
        )
        with self.sagemaker.lock:
            backend: ApplicationAutoscalingBackend = get_backend("applicationautoscaling")[account][
                request.region
            ]
            for target in backend.describe_scalable_targets("sagemaker", None, None):
                if not target.role_arn:
                    target.role_arn = role

    def _deregister_scalable_target(self, request: AwsRequest) -> Response | None:
        """Delete the target's scaling policies, as AWS does; moto then deregisters the
        target itself (or answers that there is none), so this answers nothing."""
        params = request.json()
        target = (
            str(params.get("ServiceNamespace")),
            str(params.get("ResourceId")),
            str(params.get("ScalableDimension")),
        )
        with self.sagemaker.lock:
            backend = get_backend("applicationautoscaling")[self.sagemaker.account(request)][
                request.region
            ]
            if not backend.describe_scalable_targets(target[0], [target[1]], target[2]):
                # moto answers ValidationException; AWS answers ObjectNotFoundException, which
                # DeregisterScalableTarget declares: "thrown if the scalable target with the
                # specified service namespace, resource ID, and scalable dimension does not
                # exist" (application-autoscaling service-2.json, ObjectNotFoundException).
                return error_response(
                    "ObjectNotFoundException",
                    f"No scalable target registered for service namespace: {target[0]},"
                    f" resource ID: {target[1]}, scalable dimension: {target[2]}",
                )
            for key, policy in list(backend.policies.items()):
                if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
                    target
                ):
                    # its alarms stay in CloudWatch, as with DeleteScalingPolicy
                    policy.alarms = []
                    del backend.policies[key]
        return None

    def _describe_scaling_activities(self, request: AwsRequest) -> Response:
        params = request.json()
        namespace = params.get("ServiceNamespace")
        resource_id = params.get("ResourceId")
        dimension = params.get("ScalableDimension")
        if not namespace:
            return error_response("ValidationException", "ServiceNamespace is required.")
        with self.sagemaker.lock:
            activities = [
                dict(activity)
                for activity in self._activities.get(
                    (self.sagemaker.account(request), request.region), []
                )
                if activity["ServiceNamespace"] == namespace
                and (not resource_id or activity["ResourceId"] == resource_id)
                and (not dimension or activity["ScalableDimension"] == dimension)
            ]
        try:
            start = int(params.get("NextToken") or 0)
        except ValueError:
            return error_response("InvalidNextTokenException", "Invalid token.")
        size = int(params.get("MaxResults") or 50)
        payload: dict[str, Any] = {"ScalingActivities": activities[start : start + size]}
        if start + size < len(activities):
            payload["NextToken"] = str(start + size)
        return json_response(payload)
