"""Per target: one Neo compilation job, then one component version of its output.

Jobs run in parallel up to a limit and are followed to an end state; a failed target stops
only itself. A version is published once Neo's artifact exists and used once DEPLOYABLE.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from serving_operator.planning.edgemodel.actions import (
    CreateCompilationJob,
    CreateComponentVersion,
    PublishEntrypoint,
    Step,
)
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, DesiredTarget, recipe
from serving_operator.planning.edgemodel.observed import (
    RUNNING_COMPILATIONS,
    CompilationStatus,
    ComponentState,
    EdgeModelObservation,
)
from serving_operator.planning.naming import content_hash

DEFAULT_PARALLEL_COMPILATIONS = 4


class TargetPhase(StrEnum):
    WAITING = "Waiting"  # for a free compilation slot
    COMPILING = "Compiling"
    PUBLISHING = "Publishing"
    READY = "Ready"
    FAILED = "Failed"


@dataclass(frozen=True)
class TargetView:
    """Where one target stands, for the rollout and for status."""

    target: DesiredTarget
    phase: TargetPhase
    job_status: str | None = None
    artifact_uri: str | None = None
    failure_reason: str | None = None
    component_arn: str | None = None
    component_state: str | None = None

    @property
    def compiled(self) -> bool:
        return self.job_status == CompilationStatus.COMPLETED and self.artifact_uri is not None


def client_token(target: DesiredTarget) -> str:
    """The same version always gets the same token, so a retried create is idempotent."""
    return f"{content_hash([target.component_name, target.component_version])}-publish"


def plan_targets(
    desired: DesiredEdgeModel,
    observed: EdgeModelObservation,
    *,
    max_parallel: int = DEFAULT_PARALLEL_COMPILATIONS,
) -> tuple[tuple[Step, ...], tuple[TargetView, ...]]:
    jobs = {t.job_name: observed.compilations.get(t.job_name) for t in desired.targets}
    running = sum(1 for j in jobs.values() if j is not None and j.status in RUNNING_COMPILATIONS)
    steps: list[Step] = []
    views: list[TargetView] = []
    for target in desired.targets:
        job = jobs[target.job_name]
        if job is None:
            if running < max_parallel:
                running += 1
                steps.append(CreateCompilationJob(target.job_name, target.name, target.compilation))
                views.append(TargetView(target, TargetPhase.COMPILING, "STARTING"))
            else:
                views.append(TargetView(target, TargetPhase.WAITING))
            continue
        status = job.status.value
        if job.status in (CompilationStatus.FAILED, CompilationStatus.STOPPED):
            reason = job.failure_reason or (
                "the compilation job was stopped outside the operator"
                if job.status == CompilationStatus.STOPPED
                else "Neo gave no reason"
            )
            views.append(TargetView(target, TargetPhase.FAILED, status, failure_reason=reason))
            continue
        if job.status != CompilationStatus.COMPLETED:
            views.append(TargetView(target, TargetPhase.COMPILING, status))
            continue
        if not job.artifact_uri:
            views.append(
                TargetView(
                    target,
                    TargetPhase.FAILED,
                    status,
                    failure_reason="Neo reported no ModelArtifacts.S3ModelArtifacts",
                )
            )
            continue
        artifact = job.artifact_uri
        version = observed.components.get((target.component_name, target.component_version))
        if version is None and not target.version_recorded:
            # A version chosen this pass: published once status holds it (write-ahead).
            views.append(TargetView(target, TargetPhase.PUBLISHING, status, artifact))
            continue
        if version is None:
            if not any(isinstance(step, PublishEntrypoint) for step in steps):
                steps.append(PublishEntrypoint(desired.entrypoint_uri))
            steps.append(
                CreateComponentVersion(
                    target.component_name,
                    target.component_version,
                    recipe(desired, target, artifact),
                    client_token(target),
                    desired.tags,
                )
            )
            views.append(TargetView(target, TargetPhase.PUBLISHING, status, artifact))
            continue
        common = {
            "job_status": status,
            "artifact_uri": artifact,
            "component_arn": version.arn,
            "component_state": version.state.value,
        }
        if version.state == ComponentState.DEPLOYABLE:
            views.append(TargetView(target, TargetPhase.READY, **common))
        elif version.state in (ComponentState.FAILED, ComponentState.DEPRECATED):
            reason = "; ".join(version.errors) or f"component version is {version.state.value}"
            views.append(TargetView(target, TargetPhase.FAILED, failure_reason=reason, **common))
        else:
            views.append(TargetView(target, TargetPhase.PUBLISHING, **common))
    return tuple(steps), tuple(views)
