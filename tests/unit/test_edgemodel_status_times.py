"""EdgeModel status times: written as RFC 3339 like every kind's, and a status an older
operator wrote with Unix times (JSON numbers) still read as the same moments, so an upgrade
neither restarts a stage's deadline nor its bake time, and the next pass rewrites them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from serving_operator.api.edgemodel import EdgeModelStatus
from serving_operator.planning.edgemodel.desired import desired_edge_model
from serving_operator.planning.edgemodel.memory import Memory, StageMemory, StagePhase
from serving_operator.planning.outcome import Outcome
from serving_operator.reconcile.edgemodel.reconciler import EdgeReconcileResult
from serving_operator.reconcile.edgemodel.report import memory_of, report_pass
from serving_operator.reconcile.report import ObjectContext
from tests.support.specs import edge_model_spec

DESIRED = desired_edge_model(edge_model_spec(), namespace="ml", name="classifier")
STARTED = 1_765_117_308.25
MET = 1_765_117_400.0


def _written(memory: Memory) -> dict[str, Any]:
    """The status a pass that leaves `memory` writes, as it goes to the apiserver."""
    context = ObjectContext(
        namespace="ml", name="classifier", generation=1, status=EdgeModelStatus(), annotations={}
    )
    report = report_pass(EdgeReconcileResult(Outcome.ready("", ""), DESIRED, memory), context)
    assert report.status is not None
    written: dict[str, Any] = report.status.model_dump(by_alias=True, mode="json")
    return written


def _older_operators_status() -> dict[str, Any]:
    return {
        "rolloutId": "r1",
        "stages": [
            {"name": "canary", "phase": "Baking", "startedAt": STARTED, "gateMetAt": MET},
            {"name": "fleet", "phase": "Pending"},
        ],
    }


def test_a_status_with_unix_times_is_read_as_the_same_moments() -> None:
    memory = memory_of(EdgeModelStatus.model_validate(_older_operators_status()))
    (canary,) = memory.stages
    assert canary.phase == StagePhase.BAKING
    assert canary.started_at == datetime.fromtimestamp(STARTED, UTC)
    assert canary.gate_met_at == datetime.fromtimestamp(MET, UTC)
    assert memory.rollout_id == "r1"


def test_the_next_pass_writes_them_as_rfc3339_and_reads_them_back_unchanged() -> None:
    memory = memory_of(EdgeModelStatus.model_validate(_older_operators_status()))
    written = _written(memory)
    canary = written["stages"][0]
    assert (canary["startedAt"], canary["gateMetAt"]) == (
        "2025-12-07T14:21:48.250000Z",
        "2025-12-07T14:23:20Z",
    )
    assert memory_of(EdgeModelStatus.model_validate(written)) == memory


def test_a_time_that_is_no_moment_reads_as_none_and_the_rest_of_status_survives() -> None:
    status = _older_operators_status()
    status["stages"][0] |= {"startedAt": 1e300, "gateMetAt": "not a time"}
    memory = memory_of(EdgeModelStatus.model_validate(status))
    (canary,) = memory.stages
    # As a status without them was read before: the stage began long ago, the gate is unmet.
    assert (canary.started_at, canary.gate_met_at) == (datetime.fromtimestamp(0, UTC), None)
    assert memory.rollout_id == "r1"


def test_times_round_trip_to_the_microsecond() -> None:
    moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    memory = Memory(
        rollout_id="r",
        stages=(StageMemory("canary", StagePhase.DEPLOYING, started_at=moment),),
    )
    written = _written(memory)
    assert written["stages"][0]["startedAt"] == "2026-03-01T12:00:00.123456Z"
    assert written["stages"][0]["gateMetAt"] is None
    assert memory_of(EdgeModelStatus.model_validate(written)) == memory
