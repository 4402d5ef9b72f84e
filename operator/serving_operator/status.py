"""kstatus conditions (Ready, Reconciling, Stalled) and observedGeneration.

`kubectl wait --for=condition=Ready`, Argo CD and Flux read these; kopf's own
`status.<handler>` results are not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from serving_operator.api.common import to_rfc3339
from serving_operator.planning.outcome import Outcome, OutcomeKind

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"


def now_rfc3339() -> str:
    return to_rfc3339(datetime.now(UTC), microseconds=False)


def find_condition(conditions: Sequence[Mapping[str, Any]], type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def is_condition_true(conditions: Sequence[Mapping[str, Any]], type_: str) -> bool:
    found = find_condition(conditions, type_)
    return bool(found and found.get("status") == "True")


def condition(
    type_: str,
    is_true: bool,
    reason: str,
    message: str,
    generation: int,
    previous: Sequence[Mapping[str, Any]],
    now: str,
) -> dict[str, Any]:
    """One condition; its lastTransitionTime moves only when its status changes."""
    status = "True" if is_true else "False"
    before = find_condition(previous, type_)
    unchanged = before is not None and before.get("status") == status
    # The CRD's initial status (see crdgen.INITIAL_STATUS) carries no transition time.
    since = (before.get("lastTransitionTime") if before and unchanged else None) or now
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since,
        "observedGeneration": generation,
    }


def kstatus_conditions(
    outcome: Outcome,
    generation: int,
    previous: Sequence[Mapping[str, Any]],
    now: str | None = None,
    extra: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The three kstatus conditions for an outcome, then `extra` (kind-specific conditions
    computed in this pass), then every other previous condition as it was."""
    now = now or now_rfc3339()
    ours = [
        condition(
            READY,
            outcome.kind == OutcomeKind.READY,
            outcome.reason,
            outcome.message,
            generation,
            previous,
            now,
        ),
        condition(
            RECONCILING,
            outcome.kind == OutcomeKind.PROGRESSING,
            outcome.reason,
            outcome.message if outcome.kind == OutcomeKind.PROGRESSING else "",
            generation,
            previous,
            now,
        ),
        condition(
            STALLED,
            outcome.kind == OutcomeKind.STALLED,
            outcome.reason,
            outcome.message if outcome.kind == OutcomeKind.STALLED else "",
            generation,
            previous,
            now,
        ),
    ]
    written = {READY, RECONCILING, STALLED} | {c["type"] for c in extra}
    others = [_without_empty_time(c) for c in previous if c.get("type") not in written]
    return [*ours, *extra, *others]


def _without_empty_time(kept: Mapping[str, Any]) -> dict[str, Any]:
    """A condition kept as it was, except an empty lastTransitionTime (the default of
    earlier CRDs): absent, never "", since tools parse it as RFC 3339."""
    return {k: v for k, v in kept.items() if not (k == "lastTransitionTime" and v == "")}


def became_stalled(previous: Sequence[Mapping[str, Any]], outcome: Outcome) -> bool:
    """Whether this outcome newly stalls the resource (or stalls it for a new reason)."""
    if outcome.kind != OutcomeKind.STALLED:
        return False
    before = find_condition(previous, STALLED)
    return not (
        before and before.get("status") == "True" and before.get("message") == outcome.message
    )
