"""Turn an EdgeModel pass into what users see: status per target and stage, Events."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from serving_operator.api.common import parse_rfc3339
from serving_operator.api.edgemodel import (
    ComponentVersionStatus,
    DeviceCounts,
    EdgeModelStatus,
    GroupDeploymentStatus,
    PreviousVersionsStatus,
    RecordedVersionStatus,
    RollbackStatus,
    SourceStatus,
    StageStatus,
    TargetRetryStatus,
    TargetStatus,
    rfc3339,
)
from serving_operator.planning.edgemodel import observed
from serving_operator.planning.edgemodel.actions import (
    DRIFT_CORRECTED,
    Action,
    describe_action,
)
from serving_operator.planning.edgemodel.memory import (
    FINAL_FAILURES,
    GroupDeployment,
    Memory,
    Rollback,
    SourceRecord,
    StageMemory,
    StagePhase,
)
from serving_operator.reconcile.edgemodel.reconciler import EdgeReconcileResult
from serving_operator.reconcile.report import Event, ObjectContext, PassReport

Context = ObjectContext[EdgeModelStatus]
PENDING = "Pending"
ROLLING_BACK = "RollingBack"
ROLLED_BACK = "RolledBack"


def _counts_to_status(counts: observed.DeviceCounts) -> DeviceCounts:
    return DeviceCounts(**dataclasses.asdict(counts))  # the same eight counters, by name


def _counts_from_status(counts: DeviceCounts | None) -> observed.DeviceCounts:
    return observed.DeviceCounts(**counts.model_dump()) if counts else observed.DeviceCounts()


def _moment(value: str | None) -> datetime | None:
    """A time of the status (the status model reads an older operator's Unix times as RFC
    3339 too)."""
    return parse_rfc3339(value)


EPOCH = datetime.fromtimestamp(0, UTC)
"""A stage's start when status has none: long past, as Unix time 0 was before."""


def memory_of(status: EdgeModelStatus) -> Memory:
    """What the last pass left to remember, read back from status."""
    stages = tuple(
        StageMemory(
            name=s.name,
            phase=StagePhase(s.phase),
            started_at=_moment(s.started_at) or EPOCH,
            gate_met_at=_moment(s.gate_met_at),
            deployments=tuple(
                GroupDeployment(
                    d.thing_group, d.deployment_id or "", d.iot_job_id, d.revision_id or ""
                )
                for d in s.deployments
            ),
            counts=_counts_from_status(s.devices),
            verdict=s.gate or "",
        )
        for s in status.stages
        if s.phase != PENDING and s.phase in StagePhase.__members__.values()
    )
    return Memory(
        rollout_id=status.rollout_id,
        stages=stages,
        published=frozenset(status.published_components),
        consumed_promotion=status.consumed_promotion,
        previous={
            p.thing_group: {c.name: c.version for c in p.components}
            for p in status.previous_versions
        },
        rollback=Rollback(
            status.rollback.stage, status.rollback.reason, status.rollback.phase == ROLLED_BACK
        )
        if status.rollback is not None
        else None,
        versions={v.name: (v.content_key, v.version) for v in status.component_versions},
        source=SourceRecord(status.source.uri, status.source.version, status.source.revision)
        if status.source is not None
        else None,
        retries={r.target: r.token for r in status.compilation_retries},
        consumed_retry=status.consumed_retry,
    )


def _stage_status(stage_names: list[str], memory: Memory) -> list[StageStatus]:
    statuses = []
    for name in stage_names:
        stage = memory.stage(name)
        if stage is None:
            statuses.append(StageStatus(name=name, phase=PENDING))
            continue
        statuses.append(
            StageStatus(
                name=name,
                phase=stage.phase.value,
                started_at=rfc3339(stage.started_at),
                gate_met_at=rfc3339(stage.gate_met_at) if stage.gate_met_at else None,
                deployments=[
                    GroupDeploymentStatus(
                        thing_group=d.thing_group,
                        deployment_id=d.deployment_id,
                        iot_job_id=d.iot_job_id,
                        revision_id=d.revision_id,
                    )
                    for d in stage.deployments
                ],
                devices=_counts_to_status(stage.counts),
                gate=stage.verdict or None,
            )
        )
    return statuses


def _targets(result: EdgeReconcileResult, before: EdgeModelStatus) -> list[TargetStatus]:
    if not result.views:
        return list(before.targets)
    return [
        TargetStatus(
            name=v.target.name,
            compilation_job_name=v.target.job_name,
            compilation_job_status=v.job_status,
            artifact_s3_uri=v.artifact_uri,
            failure_reason=v.failure_reason,
            component_name=v.target.component_name,
            component_version=v.target.component_version,
            component_arn=v.component_arn,
            component_state=v.component_state,
        )
        for v in result.views
    ]


def _rollback_status(rollback: Rollback | None) -> RollbackStatus | None:
    if rollback is None:
        return None
    return RollbackStatus(
        stage=rollback.stage,
        reason=rollback.reason,
        phase=ROLLED_BACK if rollback.done else ROLLING_BACK,
    )


def _action_event(action: Action) -> Event:
    reason, message = describe_action(action)
    if reason == DRIFT_CORRECTED:
        return Event.warning(reason, message)
    return Event.normal(reason, message)


def report_pass(result: EdgeReconcileResult, context: Context) -> PassReport[EdgeModelStatus]:
    memory = result.memory
    stage_names = [s.name for s in result.desired.stages] if result.desired else []
    stages = _stage_status(stage_names, memory)
    targets = _targets(result, context.status)
    devices = [s.devices for s in stages if s.devices is not None]
    succeeded = sum(d.succeeded for d in devices)
    total = sum(d.total for d in devices)
    status = EdgeModelStatus(
        targets=targets,
        stages=stages,
        rollout_id=memory.rollout_id,
        target_count=len(targets),
        compiled_count=sum(1 for t in targets if t.compilation_job_status == "COMPLETED"),
        current_stage=result.current_stage or context.status.current_stage,
        devices_ok=f"{succeeded}/{total}"
        if stages and any(s.phase != PENDING for s in stages)
        else None,
        published_components=sorted(memory.published),
        consumed_promotion=memory.consumed_promotion,
        last_aws_error=str(result.aws_failure) if result.aws_failure else None,
        previous_versions=[
            PreviousVersionsStatus(
                thing_group=group,
                components=[
                    ComponentVersionStatus(name=n, version=v) for n, v in sorted(versions.items())
                ],
            )
            for group, versions in memory.previous.items()
        ],
        rollback=_rollback_status(memory.rollback),
        source=SourceStatus(
            uri=memory.source.uri, version=memory.source.version, revision=memory.source.revision
        )
        if memory.source is not None
        else None,
        compilation_retries=[
            TargetRetryStatus(target=t, token=k) for t, k in sorted(memory.retries.items())
        ],
        consumed_retry=memory.consumed_retry,
        component_versions=[
            RecordedVersionStatus(name=n, version=v, content_key=k)
            for n, (k, v) in sorted(memory.versions.items())
        ],
    )
    events = [_action_event(a) for a in result.executed]
    previous = {s.name: s.phase for s in context.status.stages}
    for stage in memory.stages:
        if stage.phase.value != previous.get(stage.name):
            if stage.phase in FINAL_FAILURES:
                events.append(
                    Event.warning(
                        f"Stage{stage.phase.value}", f"stage {stage.name}: {stage.verdict}"
                    )
                )
            elif stage.phase == StagePhase.SUCCEEDED:
                events.append(
                    Event.normal("StageSucceeded", f"stage {stage.name}: {stage.verdict}")
                )
    before = context.status.rollback
    if (
        memory.rollback is not None
        and memory.rollback.done
        and (before is None or before.phase != ROLLED_BACK)
    ):
        events.append(
            Event.warning(
                ROLLED_BACK,
                f"stage {memory.rollback.stage} failed ({memory.rollback.reason}):"
                " every thing group it touched runs its previous versions again",
            )
        )
    return PassReport(
        outcome=result.outcome,
        status=status,
        events=events,
        recheck_after=result.recheck_after,
    )


def report_deletion(result: EdgeReconcileResult) -> PassReport[EdgeModelStatus]:
    return PassReport(
        outcome=result.outcome,
        events=[Event.normal(*describe_action(a)) for a in result.executed],
    )
