"""The kopf driver every kind shares, without a cluster: its pure parts, and one object's pass
from body in to status patch, Events and next check out.

The pass is reached the way kopf reaches it: `register` is run with kopf's decorators
replaced by ones that keep the handlers, which are then called with kopf's public
Body, Patch and Memo. Events go to kopf.info/kopf.warn, replaced by a recorder.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import kopf
import pydantic
import pytest

from serving_operator.api.common import KindInfo, StatusBase, StatusModel
from serving_operator.config import OperatorConfig
from serving_operator.handlers import driver
from serving_operator.handlers.driver import (
    INVALID_SPEC,
    KindController,
    _ObjectState,
    _pruned,
    _read_status,
    _recheck_seconds,
    status_patch,
)
from serving_operator.planning.outcome import Outcome
from serving_operator.reconcile.report import Event, ObjectContext, PassReport
from serving_operator.status import READY, STALLED, find_condition

CONFIG = OperatorConfig(resync_seconds=600.0, poll_seconds=15.0)
AWS = object()
"""What the driver hands each pass as its AWS clients; the stub only checks it is passed."""


class StubSpec(pydantic.BaseModel):
    replicas: int


class StubDetail(StatusModel):
    names: list[str] = pydantic.Field(default_factory=list)
    note: str | None = None


class StubStatus(StatusBase):
    phase: str | None = None
    detail: StubDetail | None = None


STUB = KindInfo(
    kind="Stub",
    spec_model=StubSpec,
    status_model=StubStatus,
    description="A kind for testing the driver.",
    plural="stubs",
    singular="stub",
    short_names=(),
)

Handler = Callable[..., Awaitable[None]]


def _body(
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    *,
    generation: int = 3,
    resource_version: str = "100",
    deletion_timestamp: str | None = None,
) -> kopf.Body:
    metadata: dict[str, Any] = {
        "name": "thing",
        "namespace": "ns",
        "generation": generation,
        "resourceVersion": resource_version,
    }
    if deletion_timestamp is not None:
        metadata["deletionTimestamp"] = deletion_timestamp
    return kopf.Body(
        {
            "apiVersion": "example.com/v1",
            "kind": "Stub",
            "metadata": metadata,
            "spec": {"replicas": 2} if spec is None else spec,
            "status": status or {},
        }
    )


def _memo() -> kopf.Memo:
    memo = kopf.Memo()
    memo.config = CONFIG
    memo.aws = AWS
    memo.executor = None  # the event loop's default thread pool
    return memo


# --- the pure parts ---------------------------------------------------------------------


def test_pruned_drops_none_and_empty_parts_at_every_depth() -> None:
    value = {"a": None, "b": [], "c": {}, "d": {"e": None, "f": [{"g": None, "h": 1}]}, "i": 0}
    assert _pruned(value) == {"d": {"f": [{"h": 1}]}, "i": 0}


def test_pruned_keeps_list_items_even_empty_ones() -> None:
    """A list's length means something (one entry per variant, say): only its items'
    insides are pruned."""
    assert _pruned([None, {}, {"a": None}, 1]) == [None, {}, {}, 1]


def test_status_patch_writes_none_as_null_and_prunes_nested_parts() -> None:
    status = StubStatus(phase=None, detail=StubDetail(names=[], note=None))
    conditions = [{"type": READY, "status": "True", "reason": "Done", "message": "done"}]
    patch = status_patch(status, 7, conditions)
    assert patch["phase"] is None  # a merge patch's null removes a stale value
    assert patch["detail"] == {}
    assert patch["observedGeneration"] == 7
    assert [c["type"] for c in patch["conditions"]] == [READY]
    assert patch["conditions"][0]["reason"] == "Done"


def test_status_patch_sets_generation_and_conditions_over_the_models() -> None:
    status = StubStatus(observed_generation=1, phase="Running")
    patch = status_patch(status, 4, [])
    assert patch == {"observedGeneration": 4, "conditions": [], "phase": "Running", "detail": None}


@pytest.mark.parametrize(
    ("report", "seconds"),
    [
        (PassReport(Outcome.progressing("Creating", ""), recheck_after=42.0), 42.0),
        (PassReport(Outcome.ready("Done", ""), recheck_after=5.0), 5.0),
        (PassReport(Outcome.progressing("Creating", "")), CONFIG.poll_seconds),
        (PassReport(Outcome.ready("Done", "")), CONFIG.resync_seconds),
        (PassReport(Outcome.stalled("Broken", "")), CONFIG.resync_seconds),
    ],
    ids=["recheck-wins", "recheck-wins-at-rest", "progressing-polls", "ready", "stalled"],
)
def test_recheck_seconds(report: PassReport[Any], seconds: float) -> None:
    assert _recheck_seconds(report, CONFIG) == seconds


def test_an_unreadable_status_starts_afresh() -> None:
    read = _read_status(StubStatus, {"observedGeneration": "not a number", "phase": "Running"})
    assert read == StubStatus()


def test_a_readable_status_is_read_through_the_model() -> None:
    read = _read_status(StubStatus, {"observedGeneration": 2, "phase": "Running", "x": 1})
    assert read == StubStatus(observed_generation=2, phase="Running")


def test_a_stale_body_gets_the_written_status_overlaid() -> None:
    """kopf applies the patch after the handler returns; a timer may still hold the body
    the last pass read, so what that pass wrote is laid over it."""
    state = _ObjectState()
    body = _body(status={"phase": "Old", "kept": 1}, resource_version="100")
    patch = kopf.Patch()
    patch.status["phase"] = "New"
    state.remember_written(body, patch)
    assert state.latest_status(body) == {"phase": "New", "kept": 1}


def test_a_newer_body_is_read_as_it_is() -> None:
    state = _ObjectState()
    patch = kopf.Patch()
    patch.status["phase"] = "New"
    state.remember_written(_body(resource_version="100"), patch)
    newer = _body(status={"phase": "Newest"}, resource_version="101")
    assert state.latest_status(newer) == {"phase": "Newest"}


def test_nothing_is_overlaid_before_a_pass_wrote() -> None:
    assert _ObjectState().latest_status(_body(status={"phase": "Old"})) == {"phase": "Old"}


# --- one object's pass, through the handlers kopf would call ----------------------------


@dataclass
class StubKind:
    """A KindController's calls, answering with a set report and keeping what they got."""

    report: PassReport[StubStatus] = field(
        default_factory=lambda: PassReport(Outcome.ready("Done", "all done"))
    )
    contexts: list[ObjectContext[StubStatus]] = field(default_factory=list)

    def reconcile(
        self, aws: Any, spec: StubSpec, context: ObjectContext[StubStatus]
    ) -> PassReport[StubStatus]:
        assert aws is AWS
        self.contexts.append(context)
        return self.report

    def controller(self) -> KindController[StubSpec, StubStatus]:
        return KindController(info=STUB, reconcile=self.reconcile, delete=self.reconcile)


@dataclass
class KopfStandIn:
    """Keeps the handlers `register` hands kopf's decorators, and the Events posted."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)

    def decorator(self, *resource: str, id: str, **options: Any) -> Callable[[Handler], Handler]:
        def keep(handler: Handler) -> Handler:
            self.handlers[id] = handler
            return handler

        return keep

    def poster(self, event_type: str) -> Callable[..., None]:
        def post(body: kopf.Body, *, reason: str, message: str) -> None:
            self.events.append((event_type, reason, message))

        return post


@pytest.fixture
def kopf_stand_in(monkeypatch: pytest.MonkeyPatch) -> KopfStandIn:
    stand_in = KopfStandIn()
    for name in ("resume", "create", "update", "delete"):
        monkeypatch.setattr(kopf.on, name, stand_in.decorator)
    monkeypatch.setattr(kopf, "timer", stand_in.decorator)
    monkeypatch.setattr(kopf, "info", stand_in.poster("Normal"))
    monkeypatch.setattr(kopf, "warn", stand_in.poster("Warning"))
    return stand_in


def _change(stand_in: KopfStandIn, kind: StubKind, body: kopf.Body, memo: kopf.Memo) -> kopf.Patch:
    """One create event for `body`, as kopf would deliver it; returns the status patch."""
    driver.register(kind.controller(), CONFIG)
    patch = kopf.Patch()
    asyncio.run(stand_in.handlers["stub-create"](body=body, patch=patch, memo=memo))
    return patch


def _next_check_in(memo: kopf.Memo, started: float, ended: float) -> tuple[float, float]:
    """The bounds of how many seconds after the pass the next one was scheduled."""
    next_check: float = memo["object_state"].next_check
    return next_check - ended, next_check - started


def test_register_wires_every_handler_for_the_kind(kopf_stand_in: KopfStandIn) -> None:
    driver.register(StubKind().controller(), CONFIG)
    assert sorted(kopf_stand_in.handlers) == [
        "stub-create",
        "stub-delete",
        "stub-resume",
        "stub-sync",
        "stub-update",
    ]


def test_an_invalid_spec_stalls_with_one_warning(kopf_stand_in: KopfStandIn) -> None:
    kind, memo = StubKind(), _memo()
    started = time.monotonic()
    patch = _change(kopf_stand_in, kind, _body(spec={"replicas": "many"}), memo)
    low, high = _next_check_in(memo, started, time.monotonic())

    assert kind.contexts == []  # the kind's pass never ran
    assert patch.status["observedGeneration"] == 3
    stalled = find_condition(patch.status["conditions"], STALLED)
    assert stalled is not None
    assert stalled["status"] == "True"
    assert stalled["reason"] == INVALID_SPEC
    assert [(t, r) for t, r, _ in kopf_stand_in.events] == [("Warning", INVALID_SPEC)]
    assert low <= CONFIG.resync_seconds <= high


def test_an_invalid_spec_already_stalled_for_it_warns_no_more(
    kopf_stand_in: KopfStandIn,
) -> None:
    """The timer re-runs the pass; a Warning each time would flood the object's Events."""
    kind, memo = StubKind(), _memo()
    body = _body(spec={"replicas": "many"})
    first = _change(kopf_stand_in, kind, body, memo)
    again = _body(spec={"replicas": "many"}, status=dict(first.status), resource_version="101")
    kopf_stand_in.events.clear()

    second = _change(kopf_stand_in, kind, again, memo)

    assert kopf_stand_in.events == []
    assert "status" not in second  # the object holds that Stalled condition already


def test_a_pass_writes_its_status_and_events_and_schedules_the_next(
    kopf_stand_in: KopfStandIn,
) -> None:
    kind = StubKind(
        PassReport(
            Outcome.progressing("Creating", "creating the thing"),
            status=StubStatus(phase="Creating"),
            events=[Event.normal("Created", "made the thing")],
            recheck_after=42.0,
        )
    )
    memo = _memo()
    started = time.monotonic()
    patch = _change(kopf_stand_in, kind, _body(status={"phase": "Old", "detail": {}}), memo)
    low, high = _next_check_in(memo, started, time.monotonic())

    (context,) = kind.contexts
    assert (context.namespace, context.name, context.generation) == ("ns", "thing", 3)
    assert context.status == StubStatus(phase="Old", detail=StubDetail())
    assert patch.status["phase"] == "Creating"
    assert patch.status["detail"] is None
    assert patch.status["observedGeneration"] == 3
    ready = find_condition(patch.status["conditions"], READY)
    assert ready is not None
    assert ready["status"] == "False"
    assert kopf_stand_in.events == [("Normal", "Created", "made the thing")]
    assert low <= 42.0 <= high


def test_a_pass_without_status_writes_the_conditions_only(kopf_stand_in: KopfStandIn) -> None:
    memo = _memo()
    patch = _change(kopf_stand_in, StubKind(), _body(status={"phase": "Kept"}), memo)
    assert sorted(patch.status) == ["conditions", "observedGeneration"]
    ready = find_condition(patch.status["conditions"], READY)
    assert ready is not None
    assert ready["status"] == "True"


def test_the_next_pass_reads_what_the_last_one_wrote_on_a_stale_body(
    kopf_stand_in: KopfStandIn,
) -> None:
    kind = StubKind(PassReport(Outcome.ready("Done", ""), status=StubStatus(phase="Running")))
    memo, body = _memo(), _body(status={"phase": "Old"})
    _change(kopf_stand_in, kind, body, memo)
    _change(kopf_stand_in, kind, body, memo)  # the same body: kopf has not applied the patch
    assert [c.status.phase for c in kind.contexts] == ["Old", "Running"]


def test_a_pass_that_finds_nothing_new_sends_no_status(kopf_stand_in: KopfStandIn) -> None:
    """A resync at rest: what it would write is what the object holds, so no PATCH."""
    kind = StubKind(PassReport(Outcome.ready("Done", ""), status=StubStatus(phase="Running")))
    memo = _memo()
    first = _change(kopf_stand_in, kind, _body(status={"phase": "Old"}), memo)
    held = _body(status=dict(first.status), resource_version="101")

    again = _change(kopf_stand_in, kind, held, memo)

    assert dict(first.status)["phase"] == "Running"
    assert "status" not in again
    assert [c.status.phase for c in kind.contexts] == ["Old", "Running"]


def test_a_pass_writes_what_the_body_holds_when_the_last_write_said_otherwise(
    kopf_stand_in: KopfStandIn,
) -> None:
    """The body predates the last write (kopf has not delivered it yet), so the object holds
    that write, not the body's values: going back to the body's values must be written."""

    def reporting(phase: str) -> StubKind:
        return StubKind(PassReport(Outcome.ready("Done", ""), status=StubStatus(phase=phase)))

    written_old = _change(kopf_stand_in, reporting("Old"), _body(), _memo())
    memo, body = _memo(), _body(status=dict(written_old.status))
    _change(kopf_stand_in, reporting("Running"), body, memo)

    back = _change(kopf_stand_in, reporting("Old"), body, memo)

    assert back.status["phase"] == "Old"


def test_a_pass_writes_a_field_to_remove_that_the_object_still_has(
    kopf_stand_in: KopfStandIn,
) -> None:
    memo = _memo()
    kind = StubKind(PassReport(Outcome.ready("Done", ""), status=StubStatus(phase="Running")))
    first = _change(kopf_stand_in, kind, _body(status={"phase": "Old"}), memo)
    held = _body(status={**first.status, "detail": {"note": "stale"}}, resource_version="101")

    again = _change(kopf_stand_in, kind, held, memo)

    assert again.status["detail"] is None  # null: the merge patch removes it


def test_the_timer_waits_for_the_next_check_and_stops_at_deletion(
    kopf_stand_in: KopfStandIn,
) -> None:
    kind, memo = StubKind(), _memo()
    _change(kopf_stand_in, kind, _body(), memo)  # schedules the next pass a resync away
    timer = kopf_stand_in.handlers["stub-sync"]
    asyncio.run(timer(body=_body(), patch=kopf.Patch(), memo=memo))
    assert len(kind.contexts) == 1

    memo["object_state"].next_check = 0.0  # due now
    deleting = _body(deletion_timestamp="2026-01-01T00:00:00Z")
    asyncio.run(timer(body=deleting, patch=kopf.Patch(), memo=memo))
    assert len(kind.contexts) == 1  # only the delete handler may touch AWS now

    asyncio.run(timer(body=_body(), patch=kopf.Patch(), memo=memo))
    assert len(kind.contexts) == 2


def test_the_timer_looks_again_at_once_when_what_the_object_refers_to_changed(
    kopf_stand_in: KopfStandIn,
) -> None:
    """A component Stalled on a ModelEndpoint that does not exist yet: the endpoint's arrival
    in the index wakes it, without waiting for the resync."""
    kind, memo = StubKind(), _memo()
    seen = {"endpoint": None}

    def relate(body: kopf.Body, kwargs: Any) -> Any:
        return seen["endpoint"]

    controller = KindController(
        info=STUB, reconcile=kind.reconcile, delete=kind.reconcile, relate=relate
    )
    driver.register(controller, CONFIG)
    asyncio.run(kopf_stand_in.handlers["stub-create"](body=_body(), patch=kopf.Patch(), memo=memo))
    timer = kopf_stand_in.handlers["stub-sync"]
    asyncio.run(timer(body=_body(), patch=kopf.Patch(), memo=memo))
    assert len(kind.contexts) == 1  # nothing changed: the next pass is a resync away

    seen["endpoint"] = "fleet"
    asyncio.run(timer(body=_body(), patch=kopf.Patch(), memo=memo))
    assert [c.related for c in kind.contexts] == [None, "fleet"]
    asyncio.run(timer(body=_body(), patch=kopf.Patch(), memo=memo))
    assert len(kind.contexts) == 2
