"""Which of this EdgeModel's components each thing group should run, and the identity of
the rollout that puts them there: a new identity (a new spec, or a target newly ready)
starts the stages again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from serving_operator.planning.edgemodel.deployment import Components
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, DesiredTarget
from serving_operator.planning.edgemodel.observed import ObservedGroup
from serving_operator.planning.edgemodel.targets import TargetPhase, TargetView
from serving_operator.planning.naming import content_hash


def group_components(
    desired: DesiredEdgeModel,
    views: tuple[TargetView, ...],
    groups: Mapping[str, ObservedGroup] | None = None,
) -> dict[str, Components]:
    """Per thing group, our components its devices should run: the ready targets' versions,
    and for a target that failed (its compilation, or its new version's publish) the version
    the group's latest deployment runs now, kept: a merge drops every name of ours it is not
    given, and one target's failed compilation must not uninstall its running model."""
    components = components_of(desired, [v.target for v in views if v.phase == TargetPhase.READY])
    failed = [v.target for v in views if v.phase == TargetPhase.FAILED]
    for group_name, ours in components.items():
        latest = (groups or {}).get(group_name)
        if latest is None or latest.latest is None:
            continue
        kept = {
            t.component_name: dict(entry)
            for t in failed
            if group_name in t.thing_groups
            and (entry := latest.latest.components.get(t.component_name)) is not None
        }
        if kept:
            components[group_name] = {**ours, **kept}
    return components


def components_of(
    desired: DesiredEdgeModel, ready: Sequence[DesiredTarget]
) -> dict[str, Components]:
    """Per thing group, the components of the `ready` targets meant for it."""
    entry: dict[str, Any] = {"runWith": dict(desired.run_with)} if desired.run_with else {}
    return {
        group: {
            t.component_name: {"componentVersion": t.component_version, **entry}
            for t in ready
            if group in t.thing_groups
        }
        for group in desired.thing_groups
    }


def rollout_id(desired: DesiredEdgeModel, components: Mapping[str, Components]) -> str:
    stages = [
        [
            s.name,
            s.thing_groups,
            s.job_configuration,
            s.min_success_percent,
            s.bake_seconds,
            s.manual,
        ]
        for s in desired.stages
    ]
    return content_hash([components, stages, desired.failure_handling_policy, desired.roll_back])
