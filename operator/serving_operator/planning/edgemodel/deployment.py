"""Merging this EdgeModel's components into a thing group's deployment.

Greengrass keeps one deployment per thing group and a new one replaces the last,
uninstalling whatever it lacks. So the group's latest deployment is the base: every other
component, its policies, job configuration and tags are kept; only ours change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serving_operator.planning.edgemodel.actions import CreateDeployment
from serving_operator.planning.edgemodel.observed import ObservedDeployment

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
) -> CreateDeployment | None:
    """The group's next deployment, or None when its latest already carries `ours`.

    `our_names` are every component name this resource deploys (or did); `ours` the entries
    wanted now (empty to remove them). Job configuration the spec sets replaces the same
    keys only; a failure handling policy of None keeps the group's.
    """
    if carries(latest, ours, our_names):
        return None
    present: Components = {} if latest is None else latest.components
    components = {n: dict(e) for n, e in present.items() if n not in our_names}
    components.update({n: dict(e) for n, e in ours.items()})
    policies = dict(latest.deployment_policies) if latest else {}
    if failure_handling_policy is not None:
        policies["failureHandlingPolicy"] = failure_handling_policy
    configuration = dict(latest.iot_job_configuration) if latest else {}
    configuration.update(job_configuration)
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
    )
