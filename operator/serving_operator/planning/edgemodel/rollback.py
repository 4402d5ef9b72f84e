"""Rolling a failed rollout back (rollout.onFailure RollBack).

CancelDeployment does not return devices that already run the new version, so when a stage
is aborted or fails its gate every thing group the rollout touched gets a deployment again
with the versions of our components it ran before the rollout (recorded ahead, see
stage_deployments), merged as always, without the failed stage's job configuration. The
decision is written ahead of its deployments too: the pass that makes it only records it,
the next deploys. The roll back is then judged like a stage, by its deployments' devices:
RolledBack only once each of them answered and none failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from serving_operator.planning.edgemodel.actions import Step
from serving_operator.planning.edgemodel.deployment import merged_deployment
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel
from serving_operator.planning.edgemodel.memory import Memory, Rollback, StagePhase
from serving_operator.planning.edgemodel.observed import DeviceCounts, ObservedGroup
from serving_operator.planning.outcome import Outcome

ROLLING_BACK = "RollingBack"
ROLLED_BACK = "RolledBack"
ROLLBACK_FAILED = "RollbackFailed"
ROLLBACK_DEADLINE_EXCEEDED = "RollbackDeadlineExceeded"
ROLLS_BACK = frozenset({StagePhase.ABORTED, StagePhase.GATE_FAILED})
"""Failures that roll back. Past the deadline the devices that answered succeeded; the rest
are offline and would not receive a roll back either: a person decides."""


@dataclass(frozen=True)
class RollBackPass:
    steps: tuple[Step, ...]
    memory: Memory
    outcome: Outcome


def plan_roll_back(
    desired: DesiredEdgeModel,
    groups: Mapping[str, ObservedGroup],
    memory: Memory,
    *,
    now: datetime,
    members: Mapping[str, frozenset[str]] | None = None,
) -> RollBackPass:
    """Deploy the previous versions to every group the rollout touched, until each carries
    them; then judge the roll back like a stage, by its deployments' IoT jobs: RolledBack
    (Stalled: only a spec change starts a new rollout) once every device answered and none
    failed; RollbackFailed when some failed; RollbackDeadlineExceeded when devices have not
    answered within stageDeadlineSeconds."""
    rollback = memory.rollback
    assert rollback is not None
    if rollback.started_at is None:
        rollback = replace(rollback, started_at=now)
    entry: dict[str, Any] = {"runWith": dict(desired.run_with)} if desired.run_with else {}
    steps: list[Step] = []
    waiting: list[str] = []
    for group_name, versions in memory.previous.items():
        group = groups.get(group_name)
        if group is None or group.arn is None:
            waiting.append(f"{group_name} (not found)")
            continue
        action = merged_deployment(
            thing_group=group_name,
            target_arn=group.arn,
            latest=group.latest,
            ours={n: {"componentVersion": v, **entry} for n, v in versions.items()},
            our_names=desired.component_names | memory.remembered_names | frozenset(versions),
            job_configuration={},
            failure_handling_policy=desired.failure_handling_policy,
            tags=dict(desired.tags),
            why=f"rolling back after stage {rollback.stage} failed",
            # No job configuration of ours: the failed stage's abort criteria and rollout
            # rate written before are dropped, so IoT does not abort the roll back itself.
            written=memory.written.get(group_name, {}),
        )
        if action is not None:
            steps.append(action)
            waiting.append(group_name)
    failed = f"stage {rollback.stage}: {rollback.reason}"
    if waiting:
        verdict = f"deploying the previous versions to {', '.join(waiting)}"
        return RollBackPass(
            tuple(steps),
            replace(memory, rollback=replace(rollback, done=False, verdict=verdict)),
            Outcome.progressing(ROLLING_BACK, f"{failed}; {verdict}"),
        )
    return _judged(desired, groups, memory, rollback, now, members, failed)


def _judged(
    desired: DesiredEdgeModel,
    groups: Mapping[str, ObservedGroup],
    memory: Memory,
    rollback: Rollback,
    now: datetime,
    members: Mapping[str, frozenset[str]] | None,
    failed: str,
) -> RollBackPass:
    """Every touched group carries its previous versions: the roll back as its devices
    report it (the roll back deployments' IoT jobs, over the groups' core devices when read,
    as a stage is judged)."""
    counts = DeviceCounts()
    devices: set[str] = set()
    processing = False
    unread: list[str] = []
    for group_name in memory.previous:
        group = groups[group_name]
        latest, job = group.latest, group.job
        if latest is None:
            continue  # nothing deployed there: nothing to roll back on its devices
        if job is None or job.job_id != latest.iot_job_id:
            unread.append(group_name)
            continue
        counts += job.counts
        processing = processing or job.processing
        devices |= (members or {}).get(group_name, frozenset())
    total = len(devices) or counts.total
    pending = (
        max(counts.in_progress, len(devices) - counts.executed, 0) if devices else counts.pending
    )
    if processing or unread:
        pending = max(pending, 1)
    failures = counts.failed + counts.rejected + counts.timed_out
    summary = f"{counts.succeeded}/{total} devices run the previous versions again"
    touched = ", ".join(memory.previous) or "no thing group"
    started = rollback.started_at or now
    rollback = replace(rollback, counts=counts)
    if pending:
        if (now - started).total_seconds() < desired.stage_deadline_seconds:
            verdict = f"{summary}; {pending} device(s) yet to answer"
            return RollBackPass(
                (),
                replace(memory, rollback=replace(rollback, done=False, verdict=verdict)),
                Outcome.progressing(ROLLING_BACK, f"{failed}; rolling back: {verdict}"),
            )
        verdict = (
            f"{summary}; {pending} device(s) did not answer within the"
            f" {desired.stage_deadline_seconds}s stage deadline (offline?)"
        )
        return RollBackPass(
            (),
            replace(memory, rollback=replace(rollback, done=False, verdict=verdict)),
            Outcome.stalled(ROLLBACK_DEADLINE_EXCEEDED, f"{failed}; roll back: {verdict}"),
        )
    if failures:
        verdict = f"{summary}; {failures} device(s) failed the roll back deployment"
        return RollBackPass(
            (),
            replace(memory, rollback=replace(rollback, done=False, verdict=verdict)),
            Outcome.stalled(ROLLBACK_FAILED, f"{failed}; roll back: {verdict}"),
        )
    verdict = f"{summary} ({touched})"
    return RollBackPass(
        (),
        replace(memory, rollback=replace(rollback, done=True, verdict=verdict)),
        Outcome.stalled(
            ROLLED_BACK,
            f"{failed}; rolled back: {touched} run(s) the versions from before this rollout"
            f" again, {verdict}; change the spec to roll out again",
        ),
    )
