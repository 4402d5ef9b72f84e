"""Merging this EdgeModel's components into a thing group's deployment.

Greengrass keeps one deployment per thing group and a new one replaces the last,
uninstalling whatever it lacks. So the group's latest deployment is the base: every other
component, its policies, job configuration and tags are kept; only ours change, with the
group-wide settings this EdgeModel wrote (see `merged_deployment`). The base is read again
just before the deployment is made, and the merge redone over it (`rebased`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from serving_operator.planning.edgemodel.actions import CreateDeployment, MergeInputs
from serving_operator.planning.edgemodel.observed import ObservedDeployment
from serving_operator.planning.naming import content_hash

Components = Mapping[str, Mapping[str, Any]]


def carries(latest: ObservedDeployment | None, ours: Components, our_names: frozenset[str]) -> bool:
    """Whether `latest` deploys exactly our wanted versions and none of our other names."""
    present = {} if latest is None else latest.components
    if any(name not in ours for name in present if name in our_names):
        return False
    return all(
        name in present and present[name].get("componentVersion") == entry["componentVersion"]
        for name, entry in ours.items()
    )


FAILURE_HANDLING = "deploymentPolicies.failureHandlingPolicy"
JOB_CONFIGURATION = "iotJobConfiguration."
Written = Mapping[str, str]
"""The group-wide settings this EdgeModel last wrote to a group's deployment: field path
(`deploymentPolicies.failureHandlingPolicy`, `iotJobConfiguration.<key>`) -> a digest of
the value written. A field still holding that value is this EdgeModel's to change or drop;
one holding anything else was set by someone else since, and is theirs."""


def setting_digest(value: Any) -> str:
    return content_hash(value)


def _ours_still(written: Written, path: str, value: Any) -> bool:
    return path in written and written[path] == setting_digest(value)


def merged_deployment(
    *,
    thing_group: str,
    target_arn: str,
    latest: ObservedDeployment | None,
    ours: Components,
    our_names: frozenset[str],
    job_configuration: Mapping[str, Any],
    failure_handling_policy: str | None,
    tags: Mapping[str, str],
    why: str,
    written: Written | None = None,
) -> CreateDeployment | None:
    """The group's next deployment, or None when its latest already carries `ours`.

    `our_names` are every component name this resource deploys (or did); `ours` the entries
    wanted now (empty to remove them). The one-writer rule for the group-wide settings
    (docs/edgemodel.md): every other writer's components are kept; the job configuration
    keys the stage sets are written for this deployment's own IoT job, and a key this
    EdgeModel wrote before (`written`, value unchanged since) that the stage no longer sets
    is dropped, while keys someone else set are kept; the failure handling policy is
    written only where the group has none or holds the one this EdgeModel wrote (None:
    keep the group's).
    """
    if carries(latest, ours, our_names):
        return None
    written = written or {}
    present: Components = {} if latest is None else latest.components
    components = {n: dict(e) for n, e in present.items() if n not in our_names}
    components.update({n: dict(e) for n, e in ours.items()})
    policies = dict(latest.deployment_policies) if latest else {}
    wrote: dict[str, str] = {}
    if failure_handling_policy is not None:
        current = policies.get("failureHandlingPolicy")
        if current is None or _ours_still(written, FAILURE_HANDLING, current):
            policies["failureHandlingPolicy"] = failure_handling_policy
            wrote[FAILURE_HANDLING] = setting_digest(failure_handling_policy)
    elif FAILURE_HANDLING in written and _ours_still(
        written, FAILURE_HANDLING, policies.get("failureHandlingPolicy")
    ):
        wrote[FAILURE_HANDLING] = written[FAILURE_HANDLING]
    configuration = {
        key: value
        for key, value in (latest.iot_job_configuration if latest else {}).items()
        if not _ours_still(written, JOB_CONFIGURATION + key, value)
    }
    configuration.update(job_configuration)
    wrote.update(
        {JOB_CONFIGURATION + key: setting_digest(value) for key, value in job_configuration.items()}
    )
    return CreateDeployment(
        thing_group=thing_group,
        target_arn=target_arn,
        deployment_name=(
            latest.deployment_name if latest and latest.deployment_name else thing_group
        ),
        components=components,
        deployment_policies=policies,
        iot_job_configuration=configuration,
        tags=dict(latest.tags) if latest else dict(tags),
        replaces=latest.deployment_id if latest else None,
        why=why,
        merge=MergeInputs(
            ours=ours,
            our_names=our_names,
            job_configuration=job_configuration,
            failure_handling_policy=failure_handling_policy,
            written=written,
            tags=tags,
        ),
        wrote=wrote,
    )


def rebased(action: CreateDeployment, latest: ObservedDeployment | None) -> CreateDeployment | None:
    """`action` merged again over the group's latest deployment read just before it is made
    (CreateDeployment has no expected revision: another writer may have deployed since the
    pass read the group), or None when that latest already carries our components. The same
    action when nothing changed."""
    base = latest.deployment_id if latest else None
    if base == action.replaces:
        return action
    merge = action.merge
    again = merged_deployment(
        thing_group=action.thing_group,
        target_arn=action.target_arn,
        latest=latest,
        ours=merge.ours,
        our_names=merge.our_names,
        job_configuration=merge.job_configuration,
        failure_handling_policy=merge.failure_handling_policy,
        tags=merge.tags,
        why=action.why,
        written=merge.written,
    )
    return None if again is None else replace(again, drift=action.drift)
