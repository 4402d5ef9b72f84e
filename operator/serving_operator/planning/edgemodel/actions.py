"""The steps an EdgeModel plan is made of: one AWS write each, or `Remember` (what to keep
in status once the writes before it succeeded)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, assert_never

from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.naming import content_hash
from serving_operator.planning.outcome import Remember
from serving_operator.planning.ownership import Tags

DRIFT_CORRECTED = "DriftCorrected"
"""The Event of a deployment that puts back what someone else's deployment dropped (a
Warning: someone deploys to the group without merging)."""


@dataclass(frozen=True)
class CreateCompilationJob:
    job_name: str
    target: str
    request: Mapping[str, Any]


@dataclass(frozen=True)
class StopCompilationJob:
    job_name: str


@dataclass(frozen=True)
class DeleteCompilationJob:
    """Deletion's clean-up of a finished Neo job (SageMaker DeleteCompilationJob)."""

    job_name: str


@dataclass(frozen=True)
class DeleteCompiledModel:
    """Deletion's clean-up of a compiled model Neo wrote (S3 DeleteObject), once no
    component version that names it is left."""

    uri: str


@dataclass(frozen=True)
class PublishEntrypoint:
    """Put the shipped inference entrypoint at `uri` unless it is there: before any
    component version names it, since Greengrass checks at CreateComponentVersion that every
    artifact can be read."""

    uri: str


@dataclass(frozen=True)
class CreateComponentVersion:
    component_name: str
    version: str
    recipe: Mapping[str, Any]
    client_token: str
    tags: Tags


@dataclass(frozen=True)
class DeleteComponentVersion:
    arn: str


@dataclass(frozen=True)
class MergeInputs:
    """What a deployment was merged from besides the group's latest deployment, so the
    merge can be redone over a newer one read just before it is made."""

    ours: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    our_names: frozenset[str] = frozenset()
    job_configuration: Mapping[str, Any] = field(default_factory=dict)
    failure_handling_policy: str | None = None
    written: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateDeployment:
    """A thing group's whole deployment: every other component kept, ours changed."""

    thing_group: str
    target_arn: str
    deployment_name: str
    components: Mapping[str, Mapping[str, Any]]
    deployment_policies: Mapping[str, Any]
    iot_job_configuration: Mapping[str, Any]
    tags: Mapping[str, str]
    replaces: str | None
    """The deployment it supersedes (None: the group's first)."""
    why: str
    drift: str | None = None
    """What someone else changed that this deployment puts back (None: a planned change)."""
    merge: MergeInputs = field(default_factory=MergeInputs, compare=False)
    wrote: Mapping[str, str] = field(default_factory=dict, compare=False)
    """The group-wide settings this deployment writes for this EdgeModel (see
    deployment.Written)."""

    @property
    def client_token(self) -> str:
        """Equal for a retry of this very change (the same base and content), so a lost
        answer never makes a second deployment; a merge over a new base gets a new one."""
        return content_hash([self.target_arn, self.components, self.replaces])


@dataclass(frozen=True)
class CancelDeployment:
    """Stop a thing group's deployment from reaching more devices: IoT cancels its job's
    QUEUED executions; devices that already run it keep it (GGv2 API CancelDeployment)."""

    thing_group: str
    deployment_id: str
    why: str


Action = (
    CreateCompilationJob
    | StopCompilationJob
    | DeleteCompilationJob
    | DeleteCompiledModel
    | PublishEntrypoint
    | CreateComponentVersion
    | DeleteComponentVersion
    | CreateDeployment
    | CancelDeployment
)
Step = Action | Remember[Memory]


def describe_action(action: Action) -> tuple[str, str]:
    """An Event reason and message for an action."""
    match action:
        case CreateCompilationJob(job_name=name, target=target):
            return "CompilationStarted", f"started Neo compilation job {name} for target {target}"
        case StopCompilationJob(job_name=name):
            return "CompilationStopped", f"stopping Neo compilation job {name}"
        case DeleteCompilationJob(job_name=name):
            return "CompilationJobDeleted", f"deleted Neo compilation job {name}"
        case DeleteCompiledModel(uri=uri):
            return "CompiledModelDeleted", f"deleted the compiled model {uri}"
        case PublishEntrypoint(uri=uri):
            return "EntrypointPublished", f"published the inference entrypoint at {uri}"
        case CreateComponentVersion(component_name=name, version=version):
            return "ComponentPublished", f"published Greengrass component {name} {version}"
        case DeleteComponentVersion(arn=arn):
            return "ComponentDeleted", f"deleted component version {arn}"
        case CreateDeployment(thing_group=group, components=components, why=why, drift=drift):
            listed = ", ".join(
                f"{n} {c.get('componentVersion')}" for n, c in sorted(components.items())
            )
            if drift is not None:
                return (
                    DRIFT_CORRECTED,
                    f"thing group {group}: {drift}; merged them again ({why}): {listed}",
                )
            return "Deployed", f"deployed to thing group {group} ({why}): {listed or 'nothing'}"
        case CancelDeployment(thing_group=group, deployment_id=deployment, why=why):
            return (
                "DeploymentCanceled",
                f"canceled deployment {deployment} of thing group {group} ({why}): devices"
                " that have not started it will not get it",
            )
    assert_never(action)
