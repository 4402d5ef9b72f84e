"""Judging a stage in flight (Deploying, Baking or AwaitingPromotion) by its IoT jobs'
execution counts: the transitions of its phase, as a table read top to bottom.

| when                                                   | next phase          |
| ------------------------------------------------------ | ------------------- |
| a group is deployed to for the first time (write-ahead) | Deploying           |
| a group is deployed to this pass                        | Deploying           |
| a group's job was canceled                              | Aborted             |
| an abort criterion is met                               | Aborted             |
| the gate is met, for less than bakeSeconds              | Baking              |
| the gate is met and baked, the stage is manual          | AwaitingPromotion   |
|   ... and the promote annotation has a new value        | Succeeded           |
| the gate is met and baked                               | Succeeded           |
| every device answered, below the gate                   | GateFailed          |
| stageDeadlineSeconds passed                             | DeadlineExceeded    |
| otherwise (devices still reporting)                     | Deploying           |

A stage is judged on its groups' core devices (child groups included, read from group
membership), not on the IoT jobs' counters alone: IoT rolls executions out at the job's
rollout rate, so while a job is processing targets its counters cover only the devices
reached so far. A device not reached yet, or still processing, is pending: the gate's share
is of every device, and "every device answered" waits for the rollout to reach them all.
Things in a group that are not core devices are not waited for (no nucleus answers).

The judgment is level-based: it depends on the counts of this pass, not on the phase the
stage was in, so a gate met and then lost (a device failing late) goes back to Deploying
and bakes again once met again. Only the time the gate was met and the time the stage
started are carried from the last pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from serving_operator.planning.edgemodel.desired import DesiredStage
from serving_operator.planning.edgemodel.memory import StageMemory, StagePhase
from serving_operator.planning.edgemodel.observed import DeviceCounts
from serving_operator.planning.edgemodel.stage_deployments import StageDeployments

WRITE_AHEAD_RECHECK_SECONDS = 0.5
"""After a pass that only recorded what groups ran before: deploy as soon as its status is
written (the driver's poll interval bounds it from below)."""


@dataclass(frozen=True)
class Judged:
    """The stage's next state, the promotion it consumed (if any), and when to look again
    (None: the driver's poll interval while devices report)."""

    record: StageMemory
    consumed_promotion: str | None = None
    recheck_after: float | None = None


@dataclass(frozen=True)
class StageFacts:
    """What judging a stage depends on."""

    stage: DesiredStage
    record: StageMemory
    """The stage as remembered, with this pass's deployments and counts."""
    deployed: StageDeployments
    now: datetime
    deadline_seconds: int
    promotion: str | None
    """The promote annotation's value now."""
    consumed: str | None
    """The last value acted on."""

    @property
    def counts(self) -> DeviceCounts:
        return self.deployed.counts

    @property
    def devices(self) -> int | None:
        """The groups' core devices, when read and there are any (a group without any
        falls back on what its job counts)."""
        return self.deployed.devices or None

    @property
    def total(self) -> int:
        """The devices the stage is judged on: its groups' core devices when read, else
        the executions the jobs count."""
        return self.counts.total if self.devices is None else self.devices

    @property
    def pending(self) -> int:
        """Devices yet to answer: not reached by the rollout yet, or still working on it
        (at least one while a job is processing targets)."""
        counts, devices = self.counts, self.devices
        pending = (
            counts.pending
            if devices is None
            else max(counts.in_progress, devices - counts.executed, 0)
        )
        return max(pending, 1) if self.deployed.processing else pending

    @property
    def success_percent(self) -> float:
        total = self.total
        if not total or (self.deployed.processing and self.devices is None):
            # Without membership a processing job's counters are a partial batch.
            return 0.0
        return min(100.0, 100.0 * self.counts.succeeded / total)

    @property
    def summary(self) -> str:
        counts = self.counts
        reached = f"; rollout of {', '.join(self.deployed.processing)} still reaching devices"
        return (
            f"{counts.succeeded}/{self.total} devices succeeded"
            f" ({self.success_percent:.0f}%, gate {self.stage.min_success_percent:g}%)"
            f"{reached if self.deployed.processing else ''}"
        )

    def to(self, phase: StagePhase, verdict: str) -> StageMemory:
        """The stage in `phase`, `verdict` saying why."""
        return replace(self.record, phase=phase, verdict=verdict)


Transition = Callable[[StageFacts], Judged | None]


def abort_verdict(stage: DesiredStage, counts: DeviceCounts) -> str | None:
    """The abort criterion `counts` meet, as IoT judges them, or None: the GGv2 API
    reference (IoTJobAbortCriteria) stops the deployment when "the number of things that
    receive the deployment exceeds the minNumberOfExecutedThings" and "the percentage of
    failures with type failureType exceeds the thresholdPercentage". Things that received
    it are the executions rolled out (queued, in progress or finished; the counters hold
    only those); the percentage is of the executions that finished. Both strict."""
    failures = {
        "FAILED": counts.failed,
        "REJECTED": counts.rejected,
        "TIMED_OUT": counts.timed_out,
        "ALL": counts.failed + counts.rejected + counts.timed_out,
    }
    received = counts.total
    for failure_type, threshold, minimum in stage.abort_criteria:
        if received > minimum and counts.executed > 0:
            share = 100.0 * failures[failure_type] / counts.executed
            if share > threshold:
                return (
                    f"abort criterion met: {failure_type} {share:.0f}% of {counts.executed}"
                    f" executed devices, {received} received (threshold {threshold:g}%,"
                    f" more than {minimum} received)"
                )
    return None


def judge_stage(
    stage: DesiredStage,
    record: StageMemory,
    deployed: StageDeployments,
    *,
    now: datetime,
    deadline_seconds: int,
    promotion: str | None,
    consumed: str | None,
) -> Judged:
    """The stage's next phase from this pass's deployments and counts (the table above)."""
    facts = StageFacts(
        stage,
        replace(
            record,
            deployments=deployed.deployments,
            counts=deployed.counts,
            jobs=deployed.jobs,
            failed_devices=deployed.failed_devices,
            unhealthy_devices=deployed.unhealthy_devices,
            unhealthy_count=deployed.unhealthy_count,
        ),
        deployed,
        now,
        deadline_seconds,
        promotion,
        consumed,
    )
    for transition in _UP_TO_THE_GATE:
        if (judged := transition(facts)) is not None:
            return judged
    # Below the gate: when it was met is forgotten, so a gate met again bakes again.
    below = replace(facts, record=replace(facts.record, gate_met_at=None))
    for transition in _BELOW_THE_GATE:
        if (judged := transition(below)) is not None:
            return judged
    return Judged(below.to(StagePhase.DEPLOYING, below.summary))


def _recording_what_groups_run(facts: StageFacts) -> Judged | None:
    if not facts.deployed.previous:
        return None
    groups = ", ".join(facts.deployed.previous)
    verdict = f"recording what {groups} run(s) now (for a roll back) before deploying"
    return Judged(facts.to(StagePhase.DEPLOYING, verdict), None, WRITE_AHEAD_RECHECK_SECONDS)


def _deploying(facts: StageFacts) -> Judged | None:
    if not facts.deployed.steps:
        return None
    return Judged(facts.to(StagePhase.DEPLOYING, "deploying"))


def _job_canceled(facts: StageFacts) -> Judged | None:
    canceled = facts.deployed.canceled_jobs
    if not canceled:
        return None
    verdict = (
        f"the IoT job of {', '.join(canceled)} was canceled"
        " (abort criteria met, or the deployment was canceled)"
    )
    return Judged(facts.to(StagePhase.ABORTED, verdict))


def _abort_criteria_met(facts: StageFacts) -> Judged | None:
    aborted = abort_verdict(facts.stage, facts.counts)
    return None if aborted is None else Judged(facts.to(StagePhase.ABORTED, aborted))


def _gate_met(facts: StageFacts) -> Judged | None:
    """Baking until bakeSeconds after the gate was first met, then waiting for a new value
    of the promote annotation if the stage is manual, then Succeeded."""
    stage, record = facts.stage, facts.record
    if not facts.total or facts.success_percent < stage.min_success_percent:
        return None
    met_at = record.gate_met_at if record.gate_met_at is not None else facts.now
    facts = replace(facts, record=replace(record, gate_met_at=met_at))
    baked = (facts.now - met_at).total_seconds()
    if baked < stage.bake_seconds:
        left = stage.bake_seconds - baked
        verdict = f"{facts.summary}; baking {left:.0f}s more"
        return Judged(facts.to(StagePhase.BAKING, verdict), None, left)
    if not stage.manual:
        return Judged(facts.to(StagePhase.SUCCEEDED, facts.summary))
    if facts.promotion is not None and facts.promotion != facts.consumed:
        return Judged(facts.to(StagePhase.SUCCEEDED, f"{facts.summary}; promoted"), facts.promotion)
    verdict = f"{facts.summary}; waiting for a new value of the promote annotation"
    return Judged(facts.to(StagePhase.AWAITING_PROMOTION, verdict))


def _gate_failed(facts: StageFacts) -> Judged | None:
    if not facts.total or facts.pending:
        return None
    return Judged(facts.to(StagePhase.GATE_FAILED, facts.summary))


def _past_deadline(facts: StageFacts) -> Judged | None:
    if (facts.now - facts.record.started_at).total_seconds() < facts.deadline_seconds:
        return None
    counts = facts.counts
    verdict = (
        f"{facts.summary}; {counts.queued} queued (offline?) and {counts.in_progress}"
        f" in progress after the {facts.deadline_seconds}s stage deadline"
    )
    return Judged(facts.to(StagePhase.DEADLINE_EXCEEDED, verdict))


_UP_TO_THE_GATE: tuple[Transition, ...] = (
    _recording_what_groups_run,
    _deploying,
    _job_canceled,
    _abort_criteria_met,
    _gate_met,
)
_BELOW_THE_GATE: tuple[Transition, ...] = (_gate_failed, _past_deadline)
