"""Which of this EdgeModel's components each thing group should run, and the identity of
the rollout that puts them there: a new identity (a new spec, or a target newly ready)
starts the stages again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from serving_operator.planning.edgemodel.deployment import Components
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, DesiredTarget
from serving_operator.planning.edgemodel.targets import TargetPhase, TargetView
from serving_operator.planning.naming import content_hash


def group_components(
    desired: DesiredEdgeModel, views: tuple[TargetView, ...]
) -> dict[str, Components]:
    """Per thing group, our components its devices should run (targets that are ready)."""
    return components_of(desired, [v.target for v in views if v.phase == TargetPhase.READY])


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
