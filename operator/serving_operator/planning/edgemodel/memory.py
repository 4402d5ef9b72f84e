"""What an EdgeModel remembers between passes (kept in its status)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from serving_operator.planning.edgemodel.observed import DeviceCounts, DeviceFailure


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
class JobReport:
    """What IoT says of one group's deployment job, for a person (not for decisions)."""

    thing_group: str
    job_id: str
    status: str
    reason_code: str | None = None
    comment: str | None = None
    processing_targets: tuple[str, ...] = ()


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
    jobs: tuple[JobReport, ...] = ()
    failed_devices: tuple[DeviceFailure, ...] = ()
    """The first few devices that failed the stage's deployments, with their causes."""
    unhealthy_devices: tuple[str, ...] = ()
    """The first of the stage's core devices Greengrass reports UNHEALTHY."""
    unhealthy_count: int = 0
    """How many there are."""


@dataclass(frozen=True)
class Rollback:
    """A failed stage rolled the rollout back (rollout.onFailure RollBack)."""

    stage: str
    reason: str
    done: bool = False
    """Every touched group's latest deployment carries its previous versions again, and
    every device of those deployments answered without a failure."""
    started_at: datetime | None = None
    """When the roll back was decided (aware, UTC): its deadline is the stage deadline."""
    counts: DeviceCounts = field(default_factory=DeviceCounts)
    """The roll back deployments' IoT job counts, summed."""
    verdict: str = ""
    """Where the roll back stands, for a person."""


@dataclass(frozen=True)
class Refusal:
    """Greengrass refused to create a component version (CreateComponentVersion answered
    ValidationException or ConflictException): the target is Failed with AWS's message
    until the publish is tried again, `REFUSAL_RETRY_SECONDS` later."""

    message: str
    at: datetime
    """Aware, in UTC."""


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
    """Per component name: (content key, version) of its current content's version
    (desired.next_version); recorded before that version is published (write-ahead)."""
    source: SourceRecord | None = None
    """The source object as last read; its revision is in the job names."""
    retries: Mapping[str, str] = field(default_factory=dict)
    """Per target: the retry-compilation token its compilation was retried with (in its job
    name)."""
    consumed_retry: str | None = None
    """The last retry-compilation annotation value acted on."""
    refused: Mapping[tuple[str, str], Refusal] = field(default_factory=dict)
    """Component versions, by (name, version), Greengrass refused to create."""
    publish_nonce: str | None = None
    """Part of every CreateComponentVersion client token: set (written ahead of the publish)
    when this resource first publishes, and again when a version it published is found
    deleted, so a token never answers with a deleted version. A re-created resource starts
    without one and gets a new one."""
    deployed_to: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Every thing group this resource's deployments carry its components in, with those
    component names, across rollouts: a group or target dropped from the spec, or a renamed
    component, is removed from the groups that still run it, and deletion finds them all."""
    written: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per thing group: the group-wide deployment settings this EdgeModel last wrote there
    (deployment.Written), so a later merge changes only those and keeps everyone else's."""

    @property
    def remembered_names(self) -> frozenset[str]:
        """Every component name this resource's deployments carry somewhere."""
        return frozenset(n for names in self.deployed_to.values() for n in names)

    def stage(self, name: str) -> StageMemory | None:
        return next((s for s in self.stages if s.name == name), None)

    def with_stage(self, stage: StageMemory) -> Memory:
        kept = tuple(s for s in self.stages if s.name != stage.name)
        return replace(self, stages=(*kept, stage))
