"""kopf wiring for ModelEndpoint: events in, one reconcile pass, status and events out.

One create/update/resume handler reacts to edges; a cheap timer makes the loop
level-triggered: it re-reads AWS every `poll_seconds` while work is in flight and every
`resync_seconds` otherwise, so drift is corrected and waits never block a worker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import kopf
import pydantic

from serving_operator.api import GROUP, MODEL_ENDPOINT, VERSION
from serving_operator.api.modelendpoint import ModelEndpointSpec
from serving_operator.config import OperatorConfig
from serving_operator.metrics import RECONCILE_SECONDS, RECONCILES
from serving_operator.planning.actions import describe_action
from serving_operator.planning.endpoint import describe_drift, single_instance_variants
from serving_operator.planning.outcome import Outcome, OutcomeKind
from serving_operator.reconcile.modelendpoint import (
    Memory,
    ModelEndpointReconciler,
    ReconcileResult,
)
from serving_operator.status import (
    READY,
    became_stalled,
    condition,
    find_condition,
    is_condition_true,
    kstatus_conditions,
    now_rfc3339,
)

SINGLE_INSTANCE = "SingleInstance"

RESOURCE = (GROUP, VERSION, MODEL_ENDPOINT.plural)
KIND = MODEL_ENDPOINT.kind
# Timer intervals are fixed when handlers are registered, so read the config now.
_CONFIG = OperatorConfig.from_env()


@dataclass
class _ObjectState:
    """Per-object, in-memory only: serialises passes and schedules the next one."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_check: float = 0.0


def _object_state(memo: kopf.Memo) -> _ObjectState:
    state = memo.get("model_endpoint_state")
    if not isinstance(state, _ObjectState):
        state = memo["model_endpoint_state"] = _ObjectState()
    return state


def _parse_spec(body: kopf.Body) -> ModelEndpointSpec:
    return ModelEndpointSpec.model_validate(dict(body.get("spec", {})))


def _memory(body: kopf.Body) -> Memory:
    status = body.get("status", {})
    return Memory(
        attempted_config=status.get("attemptedConfigName"),
        cleaned_for_config=status.get("cleanedUpForConfigName"),
        warmed_for_config=status.get("warmedUpForConfigName"),
        scaling_registered=bool(status.get("autoscalingRegistered")),
    )


def percentages(weights: dict[str, float | None]) -> dict[str, float]:
    """Each variant's share of the requests, in percent (empty when all weights are 0)."""
    total = sum(w or 0.0 for w in weights.values())
    return {n: round(100.0 * (w or 0.0) / total, 2) for n, w in weights.items()} if total else {}


def _single_instance_condition(
    result: ReconcileResult, generation: int, previous: list[dict[str, Any]]
) -> dict[str, Any]:
    single = single_instance_variants(result.desired) if result.desired else []
    message = (
        f"variant(s) {', '.join(single)} run on one instance, a single point of failure:"
        " set instanceCount to 2 or more (spread across Availability Zones) or autoscaling"
        if single
        else ""
    )
    reason = "SingleInstance" if single else "HighlyAvailable"
    return condition(
        SINGLE_INSTANCE, bool(single), reason, message, generation, previous, now_rfc3339()
    )


def _variant_details(result: ReconcileResult) -> dict[str, dict[str, Any]]:
    """What the spec and the pass add to each variant's status, by variant name."""
    details: dict[str, dict[str, Any]] = {}
    if result.desired is None:
        return details
    models = {m.name: m for m in result.desired.models}
    for variant in result.desired.variants:
        scaling = variant.autoscaling
        details[variant.name] = {
            "autoscaling": {
                "minInstances": scaling.min_instances,
                "maxInstances": scaling.max_instances,
                "metric": scaling.metric,
                "targetValue": scaling.target_value,
            }
            if scaling
            else None,
            "containerHostnames": list(models[variant.model_name].direct_hostnames) or None,
            "modelsFound": result.models_found.get(variant.name),
        }
    for warm in result.warm_ups:
        details.setdefault(warm.variant, {}).setdefault("warmUp", []).append(
            {
                "targetModel": warm.target_model,
                "milliseconds": warm.milliseconds,
                "error": warm.error,
            }
        )
    return details


def status_patch(result: ReconcileResult, body: kopf.Body, endpoint_name: str) -> dict[str, Any]:
    """The whole status block for a pass; None values delete stale fields."""
    endpoint = result.endpoint
    variants = endpoint.variants if endpoint else ()
    current = percentages({v.name: v.current_weight for v in variants})
    desired = percentages({v.name: v.desired_weight for v in variants})
    generation = int(body.metadata.get("generation") or 0)
    status = body.get("status", {})
    previous = list(status.get("conditions", []))
    conditions = kstatus_conditions(
        result.outcome,
        generation,
        previous,
        extra=[_single_instance_condition(result, generation, previous)],
    )
    details = _variant_details(result)
    # Warm-up and models found are measured only after a rollout: keep the last ones.
    before = {v.get("name"): v for v in status.get("variants", [])}
    for name, extra in details.items():
        for key in ("warmUp", "modelsFound"):
            if extra.get(key) is None and before.get(name, {}).get(key):
                extra[key] = before[name][key]
    return {
        "observedGeneration": generation,
        "conditions": conditions,
        "endpointName": endpoint_name,
        "endpointArn": endpoint.arn if endpoint else None,
        "endpointStatus": endpoint.status.value if endpoint else None,
        "endpointConfigName": endpoint.config_name if endpoint else None,
        "failureReason": endpoint.failure_reason if endpoint else None,
        "variants": [
            {
                "name": v.name,
                "desiredWeight": v.desired_weight,
                "currentWeight": v.current_weight,
                "currentWeightPercent": current.get(v.name),
                "desiredWeightPercent": desired.get(v.name),
                "desiredInstanceCount": v.desired_instance_count,
                "currentInstanceCount": v.current_instance_count,
                **{k: x for k, x in details.get(v.name, {}).items() if x is not None},
            }
            for v in variants
        ],
        "variantCount": len(endpoint.variants) if endpoint else None,
        "lastAwsError": str(result.aws_error) if result.aws_error else None,
        "attemptedConfigName": result.memory.attempted_config,
        "cleanedUpForConfigName": result.memory.cleaned_for_config,
        "warmedUpForConfigName": result.memory.warmed_for_config,
        "autoscalingRegistered": result.memory.scaling_registered,
    }


def _was_ready_for_this_generation(body: kopf.Body) -> bool:
    status = body.get("status", {})
    return is_condition_true(status.get("conditions", []), READY) and status.get(
        "observedGeneration"
    ) == body.metadata.get("generation")


def _report(
    result: ReconcileResult,
    body: kopf.Body,
    *,
    written: Sequence[Mapping[str, Any]] = (),
    deleting: bool = False,
) -> None:
    """Events for a pass; `written` are the conditions this pass wrote to status."""
    # The spec did not change since the endpoint was last Ready, yet AWS needed a write or
    # is no longer as we left it: someone changed it out of band (console, CLI, a script).
    was_ready = not deleting and _was_ready_for_this_generation(body)
    drifted = bool(result.executed) and was_ready
    if was_ready and result.desired is not None:
        drift = describe_drift(result.desired, result.endpoint)
        if drift:
            kopf.warn(body, reason="DriftDetected", message=drift)
    for action in result.executed:
        reason, message = describe_action(action)
        if drifted:
            kopf.warn(body, reason="DriftCorrected", message=f"drift in AWS corrected: {message}")
        else:
            kopf.info(body, reason=reason, message=message)
    previous = body.get("status", {}).get("conditions", [])
    single = find_condition(written, SINGLE_INSTANCE)
    if single and single["status"] == "True" and not is_condition_true(previous, SINGLE_INSTANCE):
        kopf.warn(body, reason="SingleInstance", message=single["message"])
    if became_stalled(previous, result.outcome):
        kopf.warn(body, reason=result.outcome.reason, message=result.outcome.message)
    RECONCILES.labels(KIND, result.outcome.kind.value).inc()


def _write_conditions(body: kopf.Body, patch: kopf.Patch, outcome: Outcome) -> None:
    """Conditions only, for passes that reach no endpoint state (invalid spec, deletion)."""
    generation = int(body.metadata.get("generation") or 0)
    previous = list(body.get("status", {}).get("conditions", []))
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = kstatus_conditions(outcome, generation, previous)


async def _run(memo: kopf.Memo, func: Any, *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(memo.executor, lambda: func(*args, **kwargs))


async def _reconcile_once(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo) -> Outcome:
    state = _object_state(memo)
    async with state.lock:
        try:
            spec = _parse_spec(body)
        except pydantic.ValidationError as error:
            # Admission should have caught this; the CRD installed may be older than us.
            outcome = Outcome.stalled("InvalidSpec", f"spec is invalid: {error}")
            if became_stalled(body.get("status", {}).get("conditions", []), outcome):
                kopf.warn(body, reason=outcome.reason, message=outcome.message)
            _write_conditions(body, patch, outcome)
            state.next_check = time.monotonic() + memo.config.resync_seconds
            return outcome
        reconciler = ModelEndpointReconciler(memo.aws)
        with RECONCILE_SECONDS.labels(KIND).time():
            result: ReconcileResult = await _run(
                memo,
                reconciler.reconcile,
                spec,
                namespace=body.metadata.namespace,
                name=body.metadata.name,
                memory=_memory(body),
            )
        endpoint_name = spec.endpoint_name or body.metadata.name
        status = status_patch(result, body, endpoint_name)
        patch.status.update(status)
        _report(result, body, written=status["conditions"])
        wait = (
            memo.config.poll_seconds
            if result.outcome.kind == OutcomeKind.PROGRESSING
            else memo.config.resync_seconds
        )
        state.next_check = time.monotonic() + wait
        return result.outcome


@kopf.on.resume(*RESOURCE)
@kopf.on.create(*RESOURCE)
@kopf.on.update(*RESOURCE)
async def reconcile_model_endpoint(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    """React to a new or changed spec at once; the timer carries the work to the end."""
    await _reconcile_once(body, patch, memo)


@kopf.timer(*RESOURCE, interval=_CONFIG.poll_seconds)
async def keep_model_endpoint_in_sync(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    """Poll while SageMaker works; resync on schedule otherwise (drift correction)."""
    # Once deletion has begun, only the delete handler may touch AWS (no re-creation).
    if body.metadata.deletion_timestamp is not None:
        return
    if time.monotonic() >= _object_state(memo).next_check:
        await _reconcile_once(body, patch, memo)


@kopf.on.delete(*RESOURCE)
async def delete_model_endpoint(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    """Delete what this resource created in AWS (unless Retain), then let kopf release it."""
    try:
        spec = _parse_spec(body)
    except pydantic.ValidationError as error:
        raise kopf.PermanentError(f"cannot read spec to delete AWS objects: {error}") from error
    reconciler = ModelEndpointReconciler(memo.aws)
    async with _object_state(memo).lock:
        result: ReconcileResult = await _run(
            memo,
            reconciler.delete,
            spec,
            namespace=body.metadata.namespace,
            name=body.metadata.name,
            memory=_memory(body),
        )
    _report(result, body, deleting=True)
    if result.outcome.kind != OutcomeKind.READY:
        _write_conditions(body, patch, result.outcome)
        delay = (
            memo.config.poll_seconds
            if result.outcome.kind == OutcomeKind.PROGRESSING
            else memo.config.resync_seconds
        )
        raise kopf.TemporaryError(result.outcome.message, delay=delay)
    kopf.info(body, reason=result.outcome.reason, message=result.outcome.message)
