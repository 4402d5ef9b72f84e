"""UpdateEndpoint's DeploymentConfig (deployment guardrails): its checks, the time its
traffic shifting takes, and the auto-rollback alarms that undo an update.

Time. A deployment waits WaitIntervalInSeconds between traffic shifting steps: once for
CANARY (after the canary), ceil(100 / step) times for LINEAR and ceil(100 / batch) times for
a RollingUpdatePolicy (steps of INSTANCE_COUNT: ceil(instances / step)); ALL_AT_ONCE shifts
at once. The overlay adds these waits, times `deploymentTimeScale`, to `updatingSeconds`
(the default scale 0 leaves them out). The final baking period and TerminationWaitInSeconds
are not simulated.

Rollback. When the update would finish, any alarm of AutoRollbackConfiguration that is in
ALARM state in CloudWatch (moto's, shared with the sandbox) rolls the update back.
"""

from __future__ import annotations

from typing import Any

from moto.backends import get_backend

# What the service model's documentation says each step may be, as a share of a variant's
# instances: CanarySize "less than or equal to 50%", LinearStepSize "10-50%",
# RollingUpdatePolicy.MaximumBatchSize "between 5% to 50%".
_CANARY_BOUNDS = (0.0, 50.0)
_LINEAR_BOUNDS = (10.0, 50.0)
_BATCH_BOUNDS = (5.0, 50.0)


def deployment_problem(deployment: dict[str, Any], variants: list[dict[str, Any]]) -> str | None:
    """Why SageMaker would refuse this DeploymentConfig for a config with these production
    variants (None if it would not)."""
    blue_green = deployment.get("BlueGreenUpdatePolicy")
    rolling = deployment.get("RollingUpdatePolicy")
    if blue_green and rolling:
        return (
            "Only one update policy can be used in the deployment configuration: specify"
            " BlueGreenUpdatePolicy or RollingUpdatePolicy, not both."
        )
    if blue_green:
        routing = blue_green.get("TrafficRoutingConfiguration") or {}
        routing_type = routing.get("Type")
        for wanted_type, member, bounds in (
            ("CANARY", "CanarySize", _CANARY_BOUNDS),
            ("LINEAR", "LinearStepSize", _LINEAR_BOUNDS),
        ):
            if routing_type != wanted_type:
                continue
            size = routing.get(member)
            if size is None:
                return f"{member} is required for traffic routing type {wanted_type}."
            problem = _size_problem(member, size, bounds, variants)
            if problem:
                return problem
    if rolling:
        return _size_problem(
            "MaximumBatchSize", rolling["MaximumBatchSize"], _BATCH_BOUNDS, variants
        )
    return None


def waiting_seconds(deployment: dict[str, Any] | None, variants: list[dict[str, Any]]) -> float:
    """The wait intervals the deployment's traffic shifting spends, in (unscaled) seconds."""
    if not deployment:
        return 0.0
    rolling = deployment.get("RollingUpdatePolicy")
    if rolling:
        steps = _steps(rolling["MaximumBatchSize"], variants)
        return float(steps * int(rolling.get("WaitIntervalInSeconds", 0)))
    routing = (deployment.get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration")
    if not routing:
        return 0.0
    wait = int(routing.get("WaitIntervalInSeconds", 0))
    if routing.get("Type") == "CANARY":
        return float(wait)
    if routing.get("Type") == "LINEAR" and "LinearStepSize" in routing:
        return float(_steps(routing["LinearStepSize"], variants) * wait)
    return 0.0


def alarm_in_alarm(account: str, region: str, deployment: dict[str, Any] | None) -> str | None:
    """The first of the deployment's auto-rollback alarms that is in ALARM state, if any."""
    alarms = ((deployment or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    known = get_backend("cloudwatch")[account][region].alarms
    for entry in alarms:
        alarm = known.get(entry.get("AlarmName", ""))
        if alarm is not None and alarm.state_value == "ALARM":
            name: str = alarm.name
            return name
    return None


def rollback_reason(alarm: str) -> str:
    """The endpoint's FailureReason after an auto-rollback (wording not confirmed against
    SageMaker's)."""
    return f"Rolled back the deployment because alarm {alarm} went into ALARM state."


def _instance_counts(variants: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [
        (str(v.get("VariantName", "")), int(v["InitialInstanceCount"]))
        for v in variants
        if v.get("InitialInstanceCount")
    ]


def _size_problem(
    member: str, size: dict[str, Any], bounds: tuple[float, float], variants: list[dict[str, Any]]
) -> str | None:
    low, high = bounds
    value = int(size.get("Value", 0))
    if size.get("Type") == "CAPACITY_PERCENT":
        if not low <= value <= high:
            return (
                f"{member} of {value}% (CAPACITY_PERCENT) is out of range: it must be between"
                f" {low:g}% and {high:g}% of a variant's instances."
            )
        return None
    for variant, count in _instance_counts(variants):
        share = 100.0 * value / count
        if not low <= share <= high:
            return (
                f"{member} of {value} instance(s) is {share:g}% of the {count} instance(s) of"
                f" variant {variant}: it must be between {low:g}% and {high:g}% of a"
                " variant's instances."
            )
    return None


def _steps(size: dict[str, Any], variants: list[dict[str, Any]]) -> int:
    """How many steps of this size shift all traffic (the most any variant needs)."""
    value = max(int(size.get("Value", 1)), 1)
    if size.get("Type") == "CAPACITY_PERCENT":
        return -(-100 // value)
    counts = [count for _, count in _instance_counts(variants)]
    return max((-(-count // value) for count in counts), default=1)
