"""Deploying a stage: merge this EdgeModel's components into each of its thing groups'
deployments, and keep them merged once the stage passed.

A group deployed to for the first time in a rollout only has what it runs recorded (for a
roll back) in the pass that finds it; the next pass, starting from the status holding it,
deploys (write-ahead: status is written after a pass's AWS calls). A group that shares
devices with another group of ours running another version is not deployed to: Greengrass
would fail a device asked for two versions of one component.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from serving_operator.planning.edgemodel.actions import CreateDeployment
from serving_operator.planning.edgemodel.deployment import Components, carries, merged_deployment
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, DesiredStage
from serving_operator.planning.edgemodel.memory import GroupDeployment, JobReport, StageMemory
from serving_operator.planning.edgemodel.observed import (
    FAILED_DEVICES_SHOWN,
    DeviceCounts,
    DeviceFailure,
    ObservedDeployment,
    ObservedGroup,
)


@dataclass(frozen=True)
class StageDeployments:
    """A stage's groups as this pass finds them, and the deployments it makes to them."""

    steps: tuple[CreateDeployment, ...]
    deployments: tuple[GroupDeployment, ...]
    """The groups' latest deployments found carrying our components (judged by their jobs)."""
    counts: DeviceCounts
    """Their IoT jobs' execution counts, summed."""
    canceled_jobs: tuple[str, ...]
    """Groups whose job of that deployment was canceled."""
    missing_groups: tuple[str, ...]
    """Thing groups that do not exist."""
    previous: Mapping[str, Mapping[str, str]]
    """Groups to deploy for the first time in this rollout: what they run now. Recorded
    this pass; their deployments come in the next (write-ahead)."""
    conflicts: tuple[str, ...] = ()
    """Why a deployment would give a shared device two versions of one component."""
    devices: int | None = None
    """The core devices of the groups carrying our components (child groups included, a
    device in two of them once): what the stage is judged on. None: membership not read."""
    processing: tuple[str, ...] = ()
    """Groups whose IoT job is still rolling executions out (processingTargets): their
    counts cover only the devices reached so far."""
    jobs: tuple[JobReport, ...] = ()
    failed_devices: tuple[DeviceFailure, ...] = ()
    unhealthy_devices: tuple[str, ...] = ()
    """The first `FAILED_DEVICES_SHOWN` UNHEALTHY core devices of the stage's groups."""
    unhealthy_count: int = 0


def _shared_device_conflicts(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    group_name: str,
    ours: Components,
    groups: Mapping[str, ObservedGroup],
    members: Mapping[str, frozenset[str]],
) -> list[str]:
    """A device in `group_name` and in another group of ours whose latest deployment carries
    one of our components at another version, which this stage does not also update: it
    would be asked for two versions of one component (Greengrass fails such a device)."""
    found = []
    for other_name in desired.thing_groups:
        if other_name == group_name or other_name in stage.thing_groups:
            continue
        other = groups.get(other_name)
        if other is None or other.latest is None:
            continue
        shared = members.get(group_name, frozenset()) & members.get(other_name, frozenset())
        if not shared:
            continue
        for name, entry in sorted(ours.items()):
            theirs = other.latest.version_of(name)
            if theirs is not None and theirs != entry["componentVersion"]:
                found.append(
                    f"device {min(shared)} is in thing groups {group_name} and {other_name};"
                    f" {other_name} runs {name} {theirs} and stage {stage.name} would deploy"
                    f" {entry['componentVersion']} to {group_name}"
                )
                break
    return found


def _stage_merge(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    group_name: str,
    target_arn: str,
    latest: ObservedDeployment | None,
    ours: Components,
    why: str,
    written: Mapping[str, str],
    our_names: frozenset[str],
) -> CreateDeployment:
    """The group's latest deployment with this stage's versions of our components merged in,
    called only where the latest does not carry them, so there is always something to change."""
    action = merged_deployment(
        thing_group=group_name,
        target_arn=target_arn,
        latest=latest,
        ours=ours,
        our_names=our_names,
        job_configuration=stage.job_configuration,
        failure_handling_policy=desired.failure_handling_policy,
        tags=dict(desired.tags),
        why=why,
        written=written,
    )
    assert action is not None
    return action


def deploy_stage(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    components: Mapping[str, Components],
    groups: Mapping[str, ObservedGroup],
    record: StageMemory | None,
    remembered: Mapping[str, Mapping[str, str]],
    members: Mapping[str, frozenset[str]] | None,
    written: Mapping[str, Mapping[str, str]] | None = None,
    our_names: frozenset[str] | None = None,
    unhealthy: frozenset[str] | None = None,
) -> StageDeployments:
    """This pass's view of a stage not passed yet: the groups carrying our components, and a
    merge for each that does not (or only what it runs recorded, when `remembered` has not
    got it yet). `record` is the stage as remembered; a group whose latest deployment is not
    the one recorded there lost ours to someone else's deployment. Without `members` no
    shared devices are checked."""
    conflicts: list[str] = []
    steps: list[CreateDeployment] = []
    previous: dict[str, dict[str, str]] = {}
    deployments: list[GroupDeployment] = []
    counts = DeviceCounts()
    canceled: list[str] = []
    missing: list[str] = []
    processing: list[str] = []
    devices: set[str] = set()
    jobs: list[JobReport] = []
    failures: list[DeviceFailure] = []
    recorded = {d.thing_group: d for d in record.deployments} if record else {}
    names = desired.component_names | (our_names or frozenset())
    for group_name in stage.thing_groups:
        group = groups.get(group_name)
        if group is None or group.arn is None:
            missing.append(group_name)
            continue
        ours = components.get(group_name, {})
        if not ours:
            continue
        latest = group.latest
        if latest is not None and carries(latest, ours, names):
            deployments.append(
                GroupDeployment(
                    group_name, latest.deployment_id, latest.iot_job_id, latest.revision_id
                )
            )
            if members is not None:
                devices |= members.get(group_name, frozenset())
            job = group.job
            if job is not None and job.job_id == latest.iot_job_id:
                jobs.append(
                    JobReport(
                        group_name,
                        job.job_id,
                        job.status,
                        job.reason_code,
                        job.comment,
                        job.processing_targets,
                    )
                )
                failures += job.failed_devices
                counts += job.counts
                if job.status == "CANCELED":
                    canceled.append(group_name)
                elif job.processing:
                    processing.append(group_name)
            continue
        if members is not None:
            conflicts += _shared_device_conflicts(desired, stage, group_name, ours, groups, members)
        before = recorded.get(group_name)
        why = f"stage {stage.name}"
        drift = None
        if (
            before is not None
            and latest is not None
            and latest.deployment_id != before.deployment_id
        ):
            drift = (
                f"revision {latest.revision_id} made by someone else dropped or changed"
                " this EdgeModel's components"
            )
            why = f"stage {stage.name}: merging again, {drift}"
        action = _stage_merge(
            desired,
            stage,
            group_name,
            group.arn,
            latest,
            ours,
            why,
            (written or {}).get(group_name, {}),
            names,
        )
        if group_name in remembered:
            steps.append(replace(action, drift=drift))
        else:
            previous[group_name] = {
                n: v
                for n in sorted(desired.component_names)
                if latest is not None and (v := latest.version_of(n)) is not None
            }
    return StageDeployments(
        tuple(steps),
        tuple(deployments),
        counts,
        tuple(canceled),
        tuple(missing),
        previous,
        tuple(conflicts),
        None if members is None else len(devices),
        tuple(processing),
        tuple(jobs),
        tuple(failures[:FAILED_DEVICES_SHOWN]),
        tuple(sorted(devices & (unhealthy or frozenset()))[:FAILED_DEVICES_SHOWN]),
        len(devices & (unhealthy or frozenset())),
    )


@dataclass(frozen=True)
class KeptMerged:
    steps: tuple[CreateDeployment, ...]
    deployments: tuple[GroupDeployment, ...]


def keep_merged(
    desired: DesiredEdgeModel,
    stage: DesiredStage,
    components: Mapping[str, Components],
    groups: Mapping[str, ObservedGroup],
    record: StageMemory,
    written: Mapping[str, Mapping[str, str]] | None = None,
    our_names: frozenset[str] | None = None,
) -> KeptMerged:
    """A passed stage is never judged again, but each of its groups keeps our components:
    a later deployment by someone else that dropped or changed them (Greengrass deployments
    replace the group's whole set) is merged again, keeping theirs. The deployment found
    carrying ours becomes the one expected at rest."""
    steps: list[CreateDeployment] = []
    deployments: list[GroupDeployment] = []
    recorded = {d.thing_group: d for d in record.deployments}
    names = desired.component_names | (our_names or frozenset())
    for group_name in stage.thing_groups:
        group = groups.get(group_name)
        ours = components.get(group_name, {})
        before = recorded.get(group_name)
        if group is None or group.arn is None or not ours:
            if before is not None:
                deployments.append(before)
            continue
        latest = group.latest
        if latest is not None and carries(latest, ours, names):
            deployments.append(
                GroupDeployment(
                    group_name, latest.deployment_id, latest.iot_job_id, latest.revision_id
                )
            )
            continue
        drift = (
            f"deployment {latest.deployment_id} (revision {latest.revision_id}), made by someone"
            f" else after stage {stage.name} passed, dropped or changed this EdgeModel's"
            " components"
            if latest is not None
            else "the group has no deployment any more"
        )
        action = _stage_merge(
            desired,
            stage,
            group_name,
            group.arn,
            latest,
            ours,
            f"stage {stage.name} passed; merging again",
            (written or {}).get(group_name, {}),
            names,
        )
        steps.append(replace(action, drift=drift))
        if before is not None:
            deployments.append(before)
    return KeptMerged(tuple(steps), tuple(deployments))
