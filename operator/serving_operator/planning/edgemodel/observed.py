"""What the AWS adapters report for an EdgeModel: plain, immutable records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from serving_operator.planning.outcome import Lookups


class CompilationStatus(StrEnum):
    """Neo's CompilationJobStatus values."""

    STARTING = "STARTING"
    INPROGRESS = "INPROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"


RUNNING_COMPILATIONS = frozenset({CompilationStatus.STARTING, CompilationStatus.INPROGRESS})


class ComponentState(StrEnum):
    REQUESTED = "REQUESTED"
    INITIATED = "INITIATED"
    DEPLOYABLE = "DEPLOYABLE"
    FAILED = "FAILED"
    DEPRECATED = "DEPRECATED"


@dataclass(frozen=True)
class ObservedCompilation:
    name: str
    status: CompilationStatus
    artifact_uri: str | None = None
    """ModelArtifacts.S3ModelArtifacts: Neo's answer, never a path we build."""
    failure_reason: str | None = None


@dataclass(frozen=True)
class ObservedComponentVersion:
    arn: str
    state: ComponentState
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObservedDeployment:
    """A thing group's latest deployment, with everything a merge must keep."""

    deployment_id: str
    revision_id: str
    iot_job_id: str | None
    status: str
    deployment_name: str = ""
    components: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    deployment_policies: Mapping[str, Any] = field(default_factory=dict)
    iot_job_configuration: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def version_of(self, component: str) -> str | None:
        entry = self.components.get(component)
        return None if entry is None else str(entry.get("componentVersion"))


@dataclass(frozen=True)
class DeviceCounts:
    """An IoT job's execution counters (jobProcessDetails)."""

    queued: int = 0
    in_progress: int = 0
    succeeded: int = 0
    failed: int = 0
    rejected: int = 0
    timed_out: int = 0
    removed: int = 0
    canceled: int = 0

    def __add__(self, other: DeviceCounts) -> DeviceCounts:
        return DeviceCounts(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)
        )

    @property
    def total(self) -> int:
        """Devices the stage is judged on (removed and canceled ones left the job)."""
        return self.pending + self.executed

    @property
    def pending(self) -> int:
        return self.queued + self.in_progress

    @property
    def executed(self) -> int:
        return self.succeeded + self.failed + self.rejected + self.timed_out


@dataclass(frozen=True)
class DeviceFailure:
    """A device whose execution of a deployment's job failed, with the nucleus' cause
    (statusDetails.detailsMap deployment-failure-cause, else detailed-deployment-status)."""

    thing_name: str
    status: str
    cause: str | None = None


FAILED_DEVICES_SHOWN = 10
"""Failed devices read and shown per job (the count covers them all)."""


@dataclass(frozen=True)
class ObservedJob:
    job_id: str
    status: str
    """IN_PROGRESS, CANCELED, COMPLETED, DELETION_IN_PROGRESS or SCHEDULED."""
    counts: DeviceCounts
    processing: bool = False
    """jobProcessDetails.processingTargets is not empty: IoT is still rolling executions
    out at the job's rollout rate, so `counts` cover only the devices reached so far (IoT
    developer guide, iot-jobs-lifecycle.md: "When AWS IoT Jobs rolls out a job execution
    for a target device, the job execution status is set to QUEUED")."""
    reason_code: str | None = None
    """The job's reasonCode (set by an abort or a cancel)."""
    comment: str | None = None
    processing_targets: tuple[str, ...] = ()
    failed_devices: tuple[DeviceFailure, ...] = ()
    """The first `FAILED_DEVICES_SHOWN` devices that failed, rejected or timed out."""


@dataclass(frozen=True)
class ObservedGroup:
    name: str
    arn: str | None
    """None: the thing group does not exist."""
    latest: ObservedDeployment | None = None
    job: ObservedJob | None = None
    """The IoT job of `latest`."""


@dataclass(frozen=True)
class EdgeModelObservation:
    compilations: Mapping[str, ObservedCompilation | None]
    """By job name."""
    components: Mapping[tuple[str, str], ObservedComponentVersion | None]
    """By (component name, version)."""
    groups: Mapping[str, ObservedGroup]
    published: Mapping[str, bool] | None = None
    """Component version ARNs this resource published -> whether they still exist; None: not
    read (only deletion reads them)."""
    in_use: Mapping[str, Mapping[str, str]] | None = None
    """Deletion's last read: every deployment target's latest deployment (any thing group
    or thing in the account) -> the components of ours it carries (name -> version); None:
    not read."""
    unhealthy: frozenset[str] | None = None
    """Core devices Greengrass reports UNHEALTHY (ListCoreDevices status); read with
    `members`."""
    members: Mapping[str, frozenset[str]] | None = None
    """Thing group -> its Greengrass core devices, child groups' included (a group's
    deployment reaches them all); None: not read (read when a pass would deploy or judge a
    stage in flight)."""


ComponentKey = tuple[str, str]
"""A component version by (component name, version)."""


@dataclass(frozen=True)
class AtRestView:
    """What a pass of a rolled-out EdgeModel reads first: a few calls that tell whether
    anything could have changed since the rollout."""

    components: Mapping[ComponentKey, ObservedComponentVersion | None]
    """The versions asked for (None: gone)."""
    latest_deployments: Mapping[str, str | None]
    """Thing group -> the ID of its latest deployment (None: it has none)."""


@dataclass(frozen=True)
class EdgeModelReads:
    """What a pass has read so far, as the planner asked: each part None until read, so
    the planner tells "not read" from "read and empty"."""

    at_rest: AtRestView | None = None
    full: EdgeModelObservation | None = None
    """Everything the rollout depends on; its `published` and `members` are read on their
    own, after it."""


@dataclass(frozen=True)
class EdgeLookups(Lookups):
    """Reads the planner needs before it can decide. Each costs AWS calls, so the planner
    asks only for what its decision depends on; a pass at rest needs only the first two."""

    component_versions: tuple[ComponentKey, ...] = ()
    """At rest: one DescribeComponent each (the version's ARN is built, not read)."""
    latest_deployments: tuple[str, ...] = ()
    """At rest: these thing groups' latest deployment IDs, one ListDeployments each."""
    everything: bool = False
    """Every target's compilation job, the component versions of those compiled, and every
    thing group of the rollout with its latest deployment and that deployment's IoT job."""
    published: frozenset[str] = frozenset()
    """Component version ARNs whose existence deletion depends on."""
    in_use: frozenset[str] = frozenset()
    """Component names whose versions deletion must find in use by any target's latest
    deployment before deleting them."""
    members: bool = False
    """The core devices of each existing thing group of the rollout, child groups included
    (who shares devices, and how many devices a stage is judged on)."""

    @property
    def at_rest(self) -> bool:
        return bool(self.component_versions or self.latest_deployments)
