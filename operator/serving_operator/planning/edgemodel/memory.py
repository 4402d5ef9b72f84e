"""What an EdgeModel remembers between passes (kept in its status)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from serving_operator.planning.edgemodel.observed import DeviceCounts


class StagePhase(StrEnum):
    DEPLOYING = "Deploying"
    BAKING = "Baking"
    AWAITING_PROMOTION = "AwaitingPromotion"
    SUCCEEDED = "Succeeded"
    ABORTED = "Aborted"
    GATE_FAILED = "GateFailed"
    DEADLINE_EXCEEDED = "DeadlineExceeded"


FINAL_FAILURES = frozenset(
    {StagePhase.ABORTED, StagePhase.GATE_FAILED, StagePhase.DEADLINE_EXCEEDED}
)


@dataclass(frozen=True)
class GroupDeployment:
    thing_group: str
    deployment_id: str
    iot_job_id: str | None
    revision_id: str


@dataclass(frozen=True)
class StageMemory:
    name: str
    phase: StagePhase
    started_at: datetime
    gate_met_at: datetime | None = None
    """Both aware, in UTC."""
    deployments: tuple[GroupDeployment, ...] = ()
    counts: DeviceCounts = field(default_factory=DeviceCounts)
    verdict: str = ""


@dataclass(frozen=True)
class Rollback:
    """A failed stage rolled the rollout back (rollout.onFailure RollBack)."""

    stage: str
    reason: str
    done: bool = False
    """Every touched group's latest deployment carries its previous versions again."""


@dataclass(frozen=True)
class SourceRecord:
    """The source object the compilations were made from (edge-fidelity L5)."""

    uri: str
    version: str
    """Its S3 VersionId, else its ETag."""
    revision: int = 0
    """How many times the object at `uri` changed since first seen: part of every job name
    once above 0, so a new upload compiles again."""


def next_source(record: SourceRecord | None, uri: str, version: str | None) -> SourceRecord | None:
    """The record after reading the object at `uri` as `version` (None: not readable)."""
    if version is None:
        return record if record is not None and record.uri == uri else None
    if record is None or record.uri != uri:
        return SourceRecord(uri, version, 0)
    if record.version == version:
        return record
    return SourceRecord(uri, version, record.revision + 1)


@dataclass(frozen=True)
class Memory:
    rollout_id: str | None = None
    """The rollout the stages belong to; a new one starts the stages again."""
    stages: tuple[StageMemory, ...] = ()
    published: frozenset[str] = frozenset()
    """ARNs of component versions this resource made (deleted with it)."""
    consumed_promotion: str | None = None
    previous: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per thing group this rollout touched: our component name -> the version it ran
    before (empty: none). Recorded before the first deployment overwrites it."""
    rollback: Rollback | None = None
    versions: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    source: SourceRecord | None = None
    """The source object as last read; its revision is in the job names."""
    retries: Mapping[str, str] = field(default_factory=dict)
    """Per target: the retry-compilation token its compilation was retried with (in its job
    name)."""
    consumed_retry: str | None = None
    """The last retry-compilation annotation value acted on."""
    """Per component name: (content key, version) of its current content's version
    (desired.next_version); recorded before that version is published (write-ahead)."""

    def stage(self, name: str) -> StageMemory | None:
        return next((s for s in self.stages if s.name == name), None)

    def with_stage(self, stage: StageMemory) -> Memory:
        kept = tuple(s for s in self.stages if s.name != stage.name)
        return replace(self, stages=(*kept, stage))
