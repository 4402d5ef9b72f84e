"""The kopf wiring every kind shares: events in, one reconcile pass, status and events out.

A kind supplies a `KindController` (how to reconcile and delete one object, both blocking
and free of kopf) and gets from `register`: one create/update/resume handler for edges, a
cheap timer that makes the loop level-triggered (it re-reads AWS when the last pass asked,
or after the poll/resync interval), a per-object lock, the hop to a worker thread for
blocking AWS calls, invalid spec -> Stalled, deletion through the finalizer, kstatus
conditions (a status PATCH only when a pass changes something), Events and metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import kopf
import pydantic

from serving_operator.api import GROUP, VERSION
from serving_operator.api.common import Condition, KindInfo, StatusBase
from serving_operator.aws.clients import Clients
from serving_operator.config import OperatorConfig
from serving_operator.handlers.sharding import finalizer_for, selects, take_over_finalizers
from serving_operator.metrics import RECONCILE_SECONDS, RECONCILES
from serving_operator.planning.outcome import Outcome, OutcomeKind
from serving_operator.reconcile.report import Event, EventType, ObjectContext, PassReport
from serving_operator.status import became_stalled, kstatus_conditions

SpecT = TypeVar("SpecT", bound=pydantic.BaseModel)
StatusT = TypeVar("StatusT", bound=StatusBase)

INVALID_SPEC = "InvalidSpec"


@dataclass(frozen=True)
class KindController(Generic[SpecT, StatusT]):
    """How to reconcile one kind; both calls block (AWS) and run in a worker thread."""

    info: KindInfo
    reconcile: Callable[[Clients, SpecT, ObjectContext[StatusT]], PassReport[StatusT]]
    delete: Callable[[Clients, SpecT, ObjectContext[StatusT]], PassReport[StatusT]]
    relate: Callable[[kopf.Body, Mapping[str, Any]], Any] | None = None
    """Reads what a pass needs from Kubernetes besides the object (kopf indexes are among
    the handler's keyword arguments); the result reaches the pass as context.related."""

    def parse_spec(self, body: kopf.Body) -> SpecT:
        spec: SpecT = self.info.spec_model.model_validate(dict(body.get("spec", {})))  # type: ignore[assignment]
        return spec

    def context(
        self, body: kopf.Body, status: Mapping[str, Any], kwargs: Mapping[str, Any]
    ) -> ObjectContext[StatusT]:
        return ObjectContext(
            namespace=str(body.metadata.namespace),
            name=str(body.metadata.name),
            generation=int(body.metadata.get("generation") or 0),
            status=_read_status(self.info.status_model, status),  # type: ignore[arg-type]
            annotations={
                str(k): str(v) for k, v in (body.metadata.get("annotations") or {}).items()
            },
            related=self.relate(body, kwargs) if self.relate is not None else None,
        )


def _read_status(model: type[StatusBase], raw: Mapping[str, Any]) -> StatusBase:
    try:
        return model.model_validate(dict(raw))
    except pydantic.ValidationError:
        # Unreadable status (hand-edited, or from an incompatible version): start afresh;
        # everything in it can be re-derived from AWS.
        return model()


def _pruned(value: Any) -> Any:
    """`value` without None and empty lists or objects inside it."""
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def status_patch(
    status: StatusBase, generation: int, conditions: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The status block for a merge patch, from the kind's status model: every field, a
    None one as null so a stale value is removed; nested values without their empty parts."""
    written = status.model_copy(
        update={
            "observed_generation": generation,
            "conditions": [Condition.model_validate(c) for c in conditions],
        }
    )
    present = written.model_dump(by_alias=True, mode="json")
    return {key: _pruned(value) for key, value in present.items()}


@dataclass
class _ObjectState:
    """Per-object, in memory only: serialises passes and schedules the next one."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_check: float = 0.0
    written_status: dict[str, Any] = field(default_factory=dict)
    """The status the last pass wrote, and the resourceVersion of the body it read: kopf
    applies a status patch after the handler returns, so the next pass (often the timer)
    may still hold that body, without the patch."""
    written_over_version: str | None = None
    related: Any = None
    """What `relate` found for the last pass (the referenced objects, from kopf indexes)."""
    related_seen: bool = False

    def latest_status(self, body: kopf.Body) -> dict[str, Any]:
        status = dict(body.get("status", {}))
        if body.metadata.get("resourceVersion") == self.written_over_version:
            status.update(self.written_status)
        return status

    def remember_written(self, body: kopf.Body, patch: kopf.Patch) -> None:
        """Keep what this pass writes, and send nothing when the object holds it already."""
        if _holds(body.get("status", {}), patch.status) and _holds(
            self.latest_status(body), patch.status
        ):
            # A resync or poll that found nothing new (most passes, at rest): the same
            # values again would be a PATCH per object per pass that changes nothing. The
            # body read and the last write both hold them, so the object does too.
            for key in list(patch.status):
                del patch.status[key]
            if patch.get("status") == {}:
                del patch["status"]  # an empty {"status": {}} would still be sent
        self.written_status = dict(patch.status)
        self.written_over_version = body.metadata.get("resourceVersion")


def _holds(current: Mapping[str, Any], written: Mapping[str, Any]) -> bool:
    """Whether a status `current` already has every field of the merge patch `written` (a
    null removes its field, so an absent field holds it)."""
    return all(
        current.get(key) is None if value is None else current.get(key) == value
        for key, value in written.items()
    )


def _object_state(memo: kopf.Memo) -> _ObjectState:
    # kopf gives every object its own shallow copy of the operator's memo.
    state = memo.get("object_state")
    if not isinstance(state, _ObjectState):
        state = memo["object_state"] = _ObjectState()
    return state


def _post(body: kopf.Body, events: Sequence[Event]) -> None:
    for event in events:
        post = kopf.warn if event.type == EventType.WARNING else kopf.info
        post(body, reason=event.reason, message=event.message)


def _recheck_seconds(report: PassReport[Any], config: OperatorConfig) -> float:
    if report.recheck_after is not None:
        return report.recheck_after
    if report.outcome.kind == OutcomeKind.PROGRESSING:
        return config.poll_seconds
    return config.resync_seconds


def _write_conditions(
    body: kopf.Body, patch: kopf.Patch, outcome: Outcome, previous: Sequence[Mapping[str, Any]]
) -> None:
    """Conditions only, for passes that reach no AWS state (invalid spec, deletion)."""
    generation = int(body.metadata.get("generation") or 0)
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = kstatus_conditions(outcome, generation, previous)


async def _in_worker(memo: kopf.Memo, func: Callable[[], PassReport[Any]]) -> PassReport[Any]:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(memo.executor, func)


def _take_over_finalizers(body: kopf.Body, patch: kopf.Patch, own: str) -> None:
    taken = take_over_finalizers(body, patch, own)
    if taken:
        kopf.info(
            body,
            reason="FinalizerTakenOver",
            message=f"finalizer {own} replaces {', '.join(taken)} (another install's)",
        )


def register(controller: KindController[Any, Any], config: OperatorConfig) -> None:
    """Register kopf handlers for one kind. The timer interval and the shard's label
    selector (every handler's filter) are fixed here."""
    kind = controller.info.kind
    resource = (GROUP, VERSION, controller.info.plural)
    finalizer = finalizer_for(config.selector)
    in_shard = selects(config.selector)

    async def reconcile_once(
        body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, kwargs: Mapping[str, Any]
    ) -> None:
        state = _object_state(memo)
        async with state.lock:
            _take_over_finalizers(body, patch, finalizer)
            status = state.latest_status(body)
            previous = list(status.get("conditions", []))
            try:
                spec = controller.parse_spec(body)
            except pydantic.ValidationError as error:
                # Admission should have caught this; the CRD installed may be older than us.
                outcome = Outcome.stalled(INVALID_SPEC, f"spec is invalid: {error}")
                if became_stalled(previous, outcome):
                    kopf.warn(body, reason=outcome.reason, message=outcome.message)
                _write_conditions(body, patch, outcome, previous)
                state.remember_written(body, patch)
                RECONCILES.labels(kind, outcome.kind.value).inc()
                state.next_check = time.monotonic() + memo.config.resync_seconds
                return
            context = controller.context(body, status, kwargs)
            state.related, state.related_seen = context.related, True
            with RECONCILE_SECONDS.labels(kind).time():
                try:
                    report = await _in_worker(
                        memo, lambda: controller.reconcile(memo.aws, spec, context)
                    )
                except Exception:
                    # A bug, not an AWS answer (those are outcomes): kopf logs it and retries;
                    # the count feeds the chart's ServingOperatorReconcileErrors alert.
                    RECONCILES.labels(kind, "Error").inc()
                    raise
            conditions = kstatus_conditions(
                report.outcome, context.generation, previous, extra=report.extra_conditions
            )
            if report.status is not None:
                patch.status.update(status_patch(report.status, context.generation, conditions))
            else:
                patch.status["observedGeneration"] = context.generation
                patch.status["conditions"] = conditions
            state.remember_written(body, patch)
            _post(body, report.events)
            if became_stalled(previous, report.outcome):
                kopf.warn(body, reason=report.outcome.reason, message=report.outcome.message)
            RECONCILES.labels(kind, report.outcome.kind.value).inc()
            state.next_check = time.monotonic() + _recheck_seconds(report, memo.config)

    async def on_change(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any) -> None:
        """React to a new or changed spec at once; the timer carries the work to the end."""
        await reconcile_once(body, patch, memo, kwargs)

    async def on_timer(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any) -> None:
        """Poll while AWS works; resync on schedule otherwise (drift correction)."""
        # Once deletion has begun, only the delete handler may touch AWS (no re-creation).
        if body.metadata.deletion_timestamp is not None:
            return
        state = _object_state(memo)
        due = time.monotonic() >= state.next_check
        if not due and controller.relate is not None and state.related_seen:
            # What the object refers to changed (a ModelEndpoint created, changed or gone
            # under a TrafficSplit or an InferenceComponent): look again now, not at the
            # next resync. An index lookup, no API call.
            due = controller.relate(body, kwargs) != state.related
        if due:
            await reconcile_once(body, patch, memo, kwargs)

    async def on_delete(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any) -> None:
        """Delete what this object created in AWS (per its policy), then let kopf release it."""
        try:
            spec = controller.parse_spec(body)
        except pydantic.ValidationError as error:
            raise kopf.PermanentError(f"cannot read spec to delete AWS objects: {error}") from error
        state = _object_state(memo)
        async with state.lock:
            status = state.latest_status(body)
            context = controller.context(body, status, kwargs)
            report = await _in_worker(memo, lambda: controller.delete(memo.aws, spec, context))
        _post(body, report.events)
        if report.outcome.kind != OutcomeKind.READY:
            _write_conditions(body, patch, report.outcome, status.get("conditions", []))
            state.remember_written(body, patch)
            raise kopf.TemporaryError(
                report.outcome.message, delay=_recheck_seconds(report, memo.config)
            )
        _take_over_finalizers(body, patch, finalizer)
        kopf.info(body, reason=report.outcome.reason, message=report.outcome.message)

    handler_id = kind.lower()
    kopf.on.resume(*resource, id=f"{handler_id}-resume", when=in_shard)(on_change)
    kopf.on.create(*resource, id=f"{handler_id}-create", when=in_shard)(on_change)
    kopf.on.update(*resource, id=f"{handler_id}-update", when=in_shard)(on_change)
    kopf.timer(*resource, id=f"{handler_id}-sync", interval=config.poll_seconds, when=in_shard)(
        on_timer
    )
    kopf.on.delete(*resource, id=f"{handler_id}-delete", when=in_shard)(on_delete)
