"""EdgeModel's planners: compilation per target, component versions, deployment merges,
the staged rollout's gates and deadlines, and deletion. Pure: no AWS, time is an input."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serving_operator import edge_runtime
from serving_operator.planning.edgemodel.actions import (
    CreateCompilationJob,
    CreateComponentVersion,
    CreateDeployment,
    DeleteComponentVersion,
    PublishEntrypoint,
    Step,
    StopCompilationJob,
    describe_action,
)
from serving_operator.planning.edgemodel.at_rest import (
    REST_RECHECK_SECONDS,
    groups_at_rest,
    rolled_out,
)
from serving_operator.planning.edgemodel.deployment import merged_deployment
from serving_operator.planning.edgemodel.desired import (
    DesiredEdgeModel,
    desired_edge_model,
    neo_job_name,
)
from serving_operator.planning.edgemodel.memory import Memory, Rollback, StagePhase
from serving_operator.planning.edgemodel.observed import (
    AtRestView,
    CompilationStatus,
    ComponentState,
    DeviceCounts,
    EdgeModelObservation,
    EdgeModelReads,
    ObservedCompilation,
    ObservedComponentVersion,
    ObservedDeployment,
    ObservedGroup,
    ObservedJob,
)
from serving_operator.planning.edgemodel.planner import (
    plan_edge_model_at_rest,
    plan_edge_model_deletion,
    plan_from_observation,
)
from serving_operator.planning.edgemodel.rollout_identity import group_components, rollout_id
from serving_operator.planning.edgemodel.stage_gate import WRITE_AHEAD_RECHECK_SECONDS
from serving_operator.planning.edgemodel.targets import TargetPhase, TargetView
from serving_operator.planning.outcome import OutcomeKind, Plan, Remember
from tests.support.specs import edge_model_spec as spec

NEO_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
GROUP_ARN = "arn:aws:iot:us-east-1:123456789012:thinggroup/{}"
OTHER = {"com.example.Telemetry": {"componentVersion": "2.0.0"}}


def at(seconds: float) -> datetime:
    """The planner's clock `seconds` after the Unix epoch."""
    return datetime.fromtimestamp(seconds, UTC)


def recorded_versions(model: DesiredEdgeModel) -> dict[str, tuple[str, str]]:
    """Versions as status would hold them for `model`'s contents: one per content, distinct
    (the operator chooses them by time, desired.next_version; tests of that are in
    test_edgemodel_versions.py)."""
    return {
        t.component_name: (t.content_key, f"1.{int(t.content_key[:5], 16) % 999999}.0")
        for t in model.targets
    }


def desired(**changes: Any) -> DesiredEdgeModel:
    """The model of `spec(**changes)` with its versions recorded in status."""
    fresh = desired_edge_model(spec(**changes), namespace="ml", name="classifier")
    return desired_edge_model(
        spec(**changes), namespace="ml", name="classifier", versions=recorded_versions(fresh)
    )


def compiled(
    model: DesiredEdgeModel, *, state: ComponentState | None = ComponentState.DEPLOYABLE
) -> EdgeModelObservation:
    return EdgeModelObservation(
        compilations={
            t.job_name: ObservedCompilation(
                t.job_name,
                CompilationStatus.COMPLETED,
                f"s3://models/compiled/{t.job_name}/model-x.tar.gz",
            )
            for t in model.targets
        },
        components={
            (t.component_name, t.component_version): None
            if state is None
            else ObservedComponentVersion(f"arn:{t.component_name}:{t.component_version}", state)
            for t in model.targets
        },
        groups={g: ObservedGroup(g, GROUP_ARN.format(g)) for g in model.thing_groups},
    )


def actions(plan: Plan[Step], kind: type) -> list[Any]:
    return [s for s in plan.actions if isinstance(s, kind)]


def memory_of(plan: Plan[Step]) -> Memory:
    remembered = actions(plan, Remember)
    assert remembered, "every pass remembers"
    memory: Memory = remembered[-1].memory
    return memory


def deployed(
    model: DesiredEdgeModel,
    group: str,
    job_id: str,
    counts: DeviceCounts,
    *,
    extra: dict[str, Any] | None = None,
    job_status: str = "IN_PROGRESS",
    revision: str = "1",
) -> ObservedGroup:
    components = {
        t.component_name: {"componentVersion": t.component_version} for t in model.targets
    }
    latest = ObservedDeployment(
        deployment_id=f"d-{job_id}",
        revision_id=revision,
        iot_job_id=job_id,
        status="ACTIVE",
        deployment_name=group,
        components={**(extra or {}), **components},
    )
    return ObservedGroup(
        group, GROUP_ARN.format(group), latest, ObservedJob(job_id, job_status, counts)
    )


# -- names and versions --
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=253),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20),
)
def test_job_names_fit_neo_whatever_the_resource_name(name: str, target: str) -> None:
    job = neo_job_name("ns", name, target, {"a": 1})
    assert NEO_NAME.match(job), job
    assert len(job) <= 63


def test_names_and_versions_follow_content_only() -> None:
    first, again = desired(), desired()
    assert [t.job_name for t in first.targets] == [t.job_name for t in again.targets]
    assert [t.component_version for t in first.targets] == [
        t.component_version for t in again.targets
    ]
    changed = desired(source="s3://models/classifier-v2/model.tar.gz")
    for before, after in zip(first.targets, changed.targets, strict=True):
        assert before.job_name != after.job_name
        assert before.component_version != after.component_version
    recipe_only = desired(component={"runCommand": "python3 serve.py"})
    assert [t.job_name for t in recipe_only.targets] == [t.job_name for t in first.targets]
    assert [t.component_version for t in recipe_only.targets] != [
        t.component_version for t in first.targets
    ]


def test_each_job_writes_under_its_own_prefix_and_targets_map_to_greengrass_platforms() -> None:
    model = desired()
    nano, arm = model.targets
    assert nano.compilation["OutputConfig"]["S3OutputLocation"].endswith(f"/{nano.job_name}/")
    assert nano.compilation["OutputConfig"]["TargetDevice"] == "jetson_nano"
    assert arm.compilation["OutputConfig"]["TargetPlatform"] == {"Os": "LINUX", "Arch": "ARM64"}
    assert nano.platform == arm.platform == {"os": "linux", "architecture": "aarch64"}
    assert nano.thing_groups == ("canary", "fleet")


# -- compilation and components --
def test_every_target_compiles_in_parallel_up_to_the_limit() -> None:
    model = desired()
    nothing = EdgeModelObservation(compilations={}, components={}, groups={})
    plan = plan_from_observation(model, nothing, Memory(), now=at(0.0), promotion=None)
    assert [a.job_name for a in actions(plan, CreateCompilationJob)] == [
        t.job_name for t in model.targets
    ]
    limited = plan_from_observation(
        model, nothing, Memory(), now=at(0.0), promotion=None, max_parallel=1
    )
    views = limited.findings.views
    assert len(actions(limited, CreateCompilationJob)) == 1
    assert [v.phase.value for v in views] == ["Compiling", "Waiting"]
    assert limited.outcome.kind == OutcomeKind.PROGRESSING


def test_running_jobs_are_followed_without_new_calls() -> None:
    model = desired()
    running = EdgeModelObservation(
        compilations={
            t.job_name: ObservedCompilation(t.job_name, CompilationStatus.INPROGRESS)
            for t in model.targets
        },
        components={},
        groups={},
    )
    plan = plan_from_observation(model, running, Memory(), now=at(0.0), promotion=None)
    assert [s for s in plan.actions if not isinstance(s, Remember)] == []
    assert plan.outcome.reason == "Compiling"


def test_a_completed_job_publishes_a_version_of_neos_artifact_untarred_on_install() -> None:
    model = desired()
    plan = plan_from_observation(
        model, compiled(model, state=None), Memory(), now=at(0.0), promotion=None
    )
    created = actions(plan, CreateComponentVersion)
    assert [(c.component_name, c.version) for c in created] == [
        (t.component_name, t.component_version) for t in model.targets
    ]
    manifest = created[0].recipe["Manifests"][0]
    uri = f"s3://models/compiled/{model.targets[0].job_name}/model-x.tar.gz"
    entrypoint = model.entrypoint_uri
    assert entrypoint.startswith("s3://models/compiled/serving-entrypoint/")
    assert entrypoint.endswith("/serving_entrypoint.py")
    assert manifest["Artifacts"] == [
        {"URI": uri, "Unarchive": "NONE"},
        {"URI": entrypoint, "Unarchive": "NONE"},
    ]
    # The entrypoint is published once, before any version names it.
    steps = [s for s in plan.actions if not isinstance(s, Remember)]
    assert steps[: len(created) + 1] == [PublishEntrypoint(entrypoint), *created]
    lifecycle = manifest["Lifecycle"]
    assert "tar -xzf {artifacts:path}/model-x.tar.gz" in lifecycle["Install"]["Script"]
    run = lifecycle["Run"]
    assert run["RequiresPrivilege"] is True
    assert "dlr_serve" not in run["Script"]
    assert '. "$ML_ROOT/greengrass_ml_dlr_venv/bin/activate"' in run["Script"], (
        "the Run step activates variant.DLR's environment as AWS's DLR components do"
    )
    assert "{artifacts:path}/serving_entrypoint.py" in run["Script"]
    assert created[0].recipe["ComponentConfiguration"] == {
        "DefaultConfiguration": {"Host": "127.0.0.1", "Port": "0"}
    }
    assert created[0].recipe["ComponentDependencies"]["variant.DLR"]["DependencyType"] == "HARD"
    again = plan_from_observation(
        model, compiled(model, state=None), Memory(), now=at(0.0), promotion=None
    )
    assert [c.client_token for c in actions(again, CreateComponentVersion)] == [
        c.client_token for c in created
    ]


def test_a_failed_target_stalls_with_neos_reason_while_the_other_rolls_out() -> None:
    model = desired()
    observed = compiled(model)
    nano = model.targets[0]
    observed = replace(
        observed,
        compilations={
            **observed.compilations,
            nano.job_name: ObservedCompilation(
                nano.job_name,
                CompilationStatus.FAILED,
                failure_reason="ClientError: bad input shape",
            ),
        },
    )
    recorded = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    assert actions(recorded, CreateDeployment) == []  # what the canary runs, recorded first
    plan = plan_from_observation(model, observed, memory_of(recorded), now=at(1.0), promotion=None)
    views = plan.findings.views
    stage = plan.findings.current_stage
    for each in (recorded, plan):
        assert each.outcome.kind == OutcomeKind.STALLED
        assert "bad input shape" in each.outcome.message
        assert each.recheck_after is not None  # the other target is still followed
    deployments = actions(plan, CreateDeployment)
    assert [(d.thing_group, set(d.components)) for d in deployments] == [
        ("canary", {model.targets[1].component_name})
    ]
    assert stage == "canary"
    assert [v.phase.value for v in views] == ["Failed", "Ready"]


def test_every_target_failing_stalls_with_the_compilation_failures() -> None:
    """Not with "nothing to deploy": why each target failed is what the user must fix."""
    model = desired()
    observed = compiled(model)
    observed = replace(
        observed,
        compilations={
            t.job_name: ObservedCompilation(
                t.job_name, CompilationStatus.FAILED, failure_reason=f"{t.name}: no such object"
            )
            for t in model.targets
        },
    )
    plan = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    views = plan.findings.views
    assert [v.phase.value for v in views] == ["Failed", "Failed"]
    assert plan.outcome.kind == OutcomeKind.STALLED
    assert plan.outcome.reason == "CompilationFailed"
    assert all(f"{t.name}: no such object" in plan.outcome.message for t in model.targets)
    assert actions(plan, CreateDeployment) == []


def test_a_failed_component_version_stalls_with_its_errors() -> None:
    model = desired()
    observed = compiled(model)
    arm = model.targets[1]
    components = dict(observed.components)
    components[(arm.component_name, arm.component_version)] = ObservedComponentVersion(
        "arn:x", ComponentState.FAILED, ("s3://models/x: artifact not found",)
    )
    plan = plan_from_observation(
        model, replace(observed, components=components), Memory(), now=at(0.0), promotion=None
    )
    assert plan.outcome.kind == OutcomeKind.STALLED
    assert "artifact not found" in plan.outcome.message


def test_nothing_is_deployed_while_a_version_is_not_deployable() -> None:
    model = desired()
    plan = plan_from_observation(
        model,
        compiled(model, state=ComponentState.REQUESTED),
        Memory(),
        now=at(0.0),
        promotion=None,
    )
    assert actions(plan, CreateDeployment) == []
    assert plan.outcome.kind == OutcomeKind.PROGRESSING


# -- deployment merge --
def test_merge_keeps_every_other_component_policy_job_config_and_tag() -> None:
    latest = ObservedDeployment(
        "d-1",
        "3",
        "job-1",
        "ACTIVE",
        "site-a",
        components={**OTHER, "mine-nano": {"componentVersion": "1.0.1"}},
        deployment_policies={
            "failureHandlingPolicy": "DO_NOTHING",
            "componentUpdatePolicy": {"action": "SKIP_NOTIFY_COMPONENTS"},
        },
        iot_job_configuration={"timeoutConfig": {"inProgressTimeoutInMinutes": 30}},
        tags={"team": "vision"},
    )
    action = merged_deployment(
        thing_group="site-a",
        target_arn=GROUP_ARN.format("site-a"),
        latest=latest,
        ours={"mine-nano": {"componentVersion": "1.0.2"}},
        our_names=frozenset({"mine-nano", "mine-arm"}),
        job_configuration={"jobExecutionsRolloutConfig": {"maximumPerMinute": 5}},
        failure_handling_policy="ROLLBACK",
        tags={"owner": "x"},
        why="test",
    )
    assert action is not None
    assert action.components == {**OTHER, "mine-nano": {"componentVersion": "1.0.2"}}
    assert action.deployment_policies == {
        "failureHandlingPolicy": "ROLLBACK",
        "componentUpdatePolicy": {"action": "SKIP_NOTIFY_COMPONENTS"},
    }
    assert action.iot_job_configuration == {
        "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
        "jobExecutionsRolloutConfig": {"maximumPerMinute": 5},
    }
    assert (action.tags, action.deployment_name, action.replaces) == (
        {"team": "vision"},
        "site-a",
        "d-1",
    )
    already = replace(latest, components=action.components)
    assert (
        merged_deployment(
            thing_group="site-a",
            target_arn="arn",
            latest=already,
            ours={"mine-nano": {"componentVersion": "1.0.2"}},
            our_names=frozenset({"mine-nano"}),
            job_configuration={},
            failure_handling_policy=None,
            tags={},
            why="",
        )
        is None
    )


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "mine-1", "mine-2"]),
        st.sampled_from(["1.0.0", "2.0.0"]),
        max_size=5,
    ),
    st.dictionaries(
        st.sampled_from(["mine-1", "mine-2"]), st.sampled_from(["1.0.0", "3.0.0"]), max_size=2
    ),
)
def test_merging_twice_changes_nothing_and_never_touches_others(
    present: dict[str, str], ours: dict[str, str]
) -> None:
    names = frozenset({"mine-1", "mine-2"})
    latest = ObservedDeployment(
        "d", "1", "j", "ACTIVE", components={n: {"componentVersion": v} for n, v in present.items()}
    )
    wanted = {n: {"componentVersion": v} for n, v in ours.items()}
    first = merged_deployment(
        thing_group="g",
        target_arn="arn",
        latest=latest,
        ours=wanted,
        our_names=names,
        job_configuration={},
        failure_handling_policy=None,
        tags={},
        why="",
    )
    applied = latest if first is None else replace(latest, components=first.components)
    assert {n: e for n, e in applied.components.items() if n not in names} == {
        n: {"componentVersion": v} for n, v in present.items() if n not in names
    }
    assert (
        merged_deployment(
            thing_group="g",
            target_arn="arn",
            latest=applied,
            ours=wanted,
            our_names=names,
            job_configuration={},
            failure_handling_policy=None,
            tags={},
            why="",
        )
        is None
    )


# -- staged rollout --
def test_canary_first_then_fleet_once_the_gate_is_met() -> None:
    model = desired()
    observed = compiled(model)
    recorded = plan_from_observation(model, observed, Memory(), now=at(100.0), promotion=None)
    stage = recorded.findings.current_stage
    # Write-ahead: what the canary runs now is recorded first, deployed by the next pass.
    assert actions(recorded, CreateDeployment) == []
    assert memory_of(recorded).previous == {"canary": {}}
    assert recorded.recheck_after == WRITE_AHEAD_RECHECK_SECONDS
    first = plan_from_observation(
        model, observed, memory_of(recorded), now=at(100.5), promotion=None
    )
    stage = first.findings.current_stage
    assert [d.thing_group for d in actions(first, CreateDeployment)] == ["canary"]
    assert stage == "canary"
    memory = memory_of(first)
    assert memory.stage("canary").started_at == at(100.0)  # type: ignore[union-attr]
    halfway = replace(
        observed,
        groups={
            **observed.groups,
            "canary": deployed(model, "canary", "j1", DeviceCounts(succeeded=1, in_progress=1)),
        },
    )
    waiting = plan_from_observation(model, halfway, memory, now=at(110.0), promotion=None)
    assert actions(waiting, CreateDeployment) == []
    memory = memory_of(waiting)
    assert memory.stage("canary").counts.succeeded == 1  # type: ignore[union-attr]
    done = replace(
        observed,
        groups={
            **observed.groups,
            "canary": deployed(model, "canary", "j1", DeviceCounts(succeeded=2)),
        },
    )
    promoted = plan_from_observation(model, done, memory, now=at(120.0), promotion=None)
    stage = promoted.findings.current_stage
    assert actions(promoted, CreateDeployment) == []
    assert set(memory_of(promoted).previous) == {"canary", "fleet"}
    assert stage == "fleet"
    to_fleet = plan_from_observation(
        model, done, memory_of(promoted), now=at(121.0), promotion=None
    )
    assert [d.thing_group for d in actions(to_fleet, CreateDeployment)] == ["fleet"]
    memory = memory_of(to_fleet)
    finished = replace(
        done,
        groups={**done.groups, "fleet": deployed(model, "fleet", "j2", DeviceCounts(succeeded=5))},
    )
    ready = plan_from_observation(model, finished, memory, now=at(130.0), promotion=None)
    assert ready.outcome.kind == OutcomeKind.READY
    assert [s.phase for s in memory_of(ready).stages] == [
        StagePhase.SUCCEEDED,
        StagePhase.SUCCEEDED,
    ]


def _started(model: DesiredEdgeModel, **stage: Any) -> tuple[EdgeModelObservation, Memory]:
    observed = compiled(model)
    plan = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    return observed, memory_of(plan)


HALT = {
    "stages": [
        {"name": "canary", "thingGroups": ["canary"]},
        {"name": "fleet", "thingGroups": ["fleet"]},
    ],
    "stageDeadlineSeconds": 600,
    "onFailure": "Halt",
}


def test_abort_criteria_stop_the_rollout_at_the_stage() -> None:
    model = desired(
        rollout={
            "onFailure": "Halt",
            "stages": [
                {
                    "name": "canary",
                    "thingGroups": ["canary"],
                    "abortCriteria": [
                        {
                            "failureType": "FAILED",
                            "thresholdPercentage": 50,
                            "minNumberOfExecutedThings": 2,
                        }
                    ],
                },
                {"name": "fleet", "thingGroups": ["fleet"]},
            ],
        }
    )
    observed, memory = _started(model)
    failing = replace(
        observed,
        groups={
            **observed.groups,
            "canary": deployed(model, "canary", "j", DeviceCounts(failed=2, succeeded=1, queued=1)),
        },
    )
    plan = plan_from_observation(model, failing, memory, now=at(10.0), promotion=None)
    assert plan.outcome.reason == "StageAborted"
    assert actions(plan, CreateDeployment) == []
    # It stays aborted: the next pass deploys nothing either.
    again = plan_from_observation(model, failing, memory_of(plan), now=at(20.0), promotion=None)
    assert (again.outcome.reason, actions(again, CreateDeployment)) == ("StageAborted", [])


def test_a_job_canceled_by_iot_aborts_the_stage() -> None:
    model = desired(rollout=HALT)
    observed, memory = _started(model)
    canceled = replace(
        observed,
        groups={
            **observed.groups,
            "canary": deployed(
                model, "canary", "j", DeviceCounts(failed=1, canceled=3), job_status="CANCELED"
            ),
        },
    )
    plan = plan_from_observation(model, canceled, memory, now=at(10.0), promotion=None)
    assert plan.outcome.reason == "StageAborted"


def test_offline_devices_hit_the_stage_deadline() -> None:
    model = desired()
    observed, memory = _started(model)
    offline = replace(
        observed,
        groups={
            **observed.groups,
            "canary": deployed(model, "canary", "j", DeviceCounts(succeeded=1, queued=2)),
        },
    )
    before = plan_from_observation(model, offline, memory, now=at(599.0), promotion=None)
    assert before.outcome.kind == OutcomeKind.PROGRESSING
    after = plan_from_observation(model, offline, memory_of(before), now=at(600.0), promotion=None)
    assert after.outcome.reason == "StageDeadlineExceeded"
    assert "2 queued" in after.outcome.message


def test_a_gate_that_can_no_longer_be_met_fails() -> None:
    model = desired(rollout=HALT)
    observed, memory = _started(model)
    finished = replace(
        observed,
        groups={
            **observed.groups,
            "canary": deployed(model, "canary", "j", DeviceCounts(succeeded=3, rejected=1)),
        },
    )
    plan = plan_from_observation(model, finished, memory, now=at(10.0), promotion=None)
    assert plan.outcome.reason == "StageGateFailed"


def test_bake_time_then_manual_promotion_consumed_once() -> None:
    model = desired(
        rollout={
            "stages": [
                {
                    "name": "canary",
                    "thingGroups": ["canary"],
                    "gate": {"bakeSeconds": 30, "manual": True},
                },
                {"name": "fleet", "thingGroups": ["fleet"]},
            ]
        }
    )
    observed, memory = _started(model)
    good = replace(
        observed,
        groups={
            **observed.groups,
            "canary": deployed(model, "canary", "j", DeviceCounts(succeeded=2)),
        },
    )
    baking = plan_from_observation(model, good, memory, now=at(10.0), promotion="old")
    assert baking.recheck_after == 30.0
    assert memory_of(baking).stage("canary").phase == StagePhase.BAKING  # type: ignore[union-attr]
    memory = replace(memory_of(baking), consumed_promotion="old")
    waiting = plan_from_observation(model, good, memory, now=at(41.0), promotion="old")
    assert waiting.outcome.reason == "AwaitingPromotion"
    assert actions(waiting, CreateDeployment) == []
    promoted = plan_from_observation(model, good, memory_of(waiting), now=at(42.0), promotion="go")
    assert memory_of(promoted).consumed_promotion == "go"
    assert "fleet" in memory_of(promoted).previous
    # The next pass deploys the fleet, and the promotion is not needed (nor used) again.
    fleet = plan_from_observation(model, good, memory_of(promoted), now=at(43.0), promotion="go")
    assert [d.thing_group for d in actions(fleet, CreateDeployment)] == ["fleet"]
    assert memory_of(fleet).consumed_promotion == "go"


def test_a_spec_change_mid_rollout_starts_again_at_the_first_stage() -> None:
    model = desired()
    observed, memory = _started(model)
    good = replace(
        observed,
        groups={
            **observed.groups,
            "canary": deployed(model, "canary", "j", DeviceCounts(succeeded=2)),
        },
    )
    to_fleet = plan_from_observation(model, good, memory, now=at(10.0), promotion=None)
    memory = memory_of(to_fleet)
    changed = desired(source="s3://models/classifier-v2/model.tar.gz")
    observed2 = replace(compiled(changed), groups=good.groups)
    recorded = plan_from_observation(changed, observed2, memory, now=at(20.0), promotion=None)
    stage = recorded.findings.current_stage
    assert stage == "canary"
    assert memory_of(recorded).rollout_id != memory.rollout_id
    # The new rollout's roll back returns to the old rollout's versions, recorded first.
    assert memory_of(recorded).previous == {
        "canary": {t.component_name: t.component_version for t in model.targets}
    }
    assert actions(recorded, CreateDeployment) == []
    plan = plan_from_observation(
        changed, observed2, memory_of(recorded), now=at(21.0), promotion=None
    )
    assert [d.thing_group for d in actions(plan, CreateDeployment)] == ["canary"]


def test_someone_elses_revision_that_dropped_ours_is_merged_again() -> None:
    model = desired()
    observed, memory = _started(model)
    ours = deployed(model, "canary", "j1", DeviceCounts(in_progress=2))
    plan = plan_from_observation(
        model,
        replace(observed, groups={**observed.groups, "canary": ours}),
        memory,
        now=at(5.0),
        promotion=None,
    )
    memory = memory_of(plan)
    assert ours.latest is not None
    theirs = replace(
        ours,
        latest=replace(ours.latest, deployment_id="d-theirs", revision_id="2", components=OTHER),
    )
    again = plan_from_observation(
        model,
        replace(observed, groups={**observed.groups, "canary": theirs}),
        memory,
        now=at(6.0),
        promotion=None,
    )
    (merge,) = actions(again, CreateDeployment)
    assert "someone else" in merge.why
    assert set(merge.components) == set(OTHER) | model.component_names
    assert merge.replaces == "d-theirs"


def test_a_missing_thing_group_stalls() -> None:
    model = desired()
    observed = compiled(model)
    observed = replace(
        observed, groups={**observed.groups, "canary": ObservedGroup("canary", None)}
    )
    plan = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    assert plan.outcome.reason == "ThingGroupNotFound"


# -- deletion --
def test_deletion_stops_jobs_removes_our_components_then_our_versions() -> None:
    model = desired()
    nano, arm = model.targets
    groups = {
        "canary": deployed(model, "canary", "j", DeviceCounts(succeeded=1), extra=OTHER),
        "fleet": ObservedGroup("fleet", GROUP_ARN.format("fleet")),
    }
    observed = EdgeModelObservation(
        compilations={
            nano.job_name: ObservedCompilation(nano.job_name, CompilationStatus.INPROGRESS),
            arm.job_name: ObservedCompilation(arm.job_name, CompilationStatus.COMPLETED, "s3://x"),
        },
        components={},
        groups=groups,
        published={"arn:v1": True},
    )
    first = plan_edge_model_deletion(model, EdgeModelReads(full=observed), Memory(), retain=False)
    assert actions(first, StopCompilationJob) == [StopCompilationJob(nano.job_name)]
    (removal,) = actions(first, CreateDeployment)
    assert removal.components == OTHER
    assert actions(first, DeleteComponentVersion) == []  # still deployed somewhere
    assert first.outcome.kind == OutcomeKind.PROGRESSING
    latest = groups["canary"].latest
    assert latest is not None
    cleared = replace(
        observed,
        compilations={nano.job_name: ObservedCompilation(nano.job_name, CompilationStatus.STOPPED)},
        groups={
            **groups,
            "canary": replace(groups["canary"], latest=replace(latest, components=OTHER)),
        },
    )
    second = plan_edge_model_deletion(model, EdgeModelReads(full=cleared), Memory(), retain=False)
    assert actions(second, DeleteComponentVersion) == [DeleteComponentVersion("arn:v1")]
    done = plan_edge_model_deletion(
        model,
        EdgeModelReads(full=replace(cleared, published={"arn:v1": False})),
        Memory(),
        retain=False,
    )
    assert (done.actions, done.outcome.kind) == ((), OutcomeKind.READY)
    retained = plan_edge_model_deletion(model, EdgeModelReads(), Memory(), retain=True)
    assert (retained.actions, retained.outcome.reason) == ((), "Retained")


# -- at rest --
def _rolled_out_memory(model: DesiredEdgeModel) -> Memory:
    """The memory of a pass that saw every group's devices succeed on every stage."""
    memory = Memory()
    observed = compiled(model)
    for _ in range(len(model.stages) + 1):
        plan = plan_from_observation(model, observed, memory, now=at(0.0), promotion=None)
        memory = memory_of(plan)
        if plan.outcome.kind == OutcomeKind.READY:
            return memory
        observed = replace(
            observed,
            groups={
                g: deployed(model, g, f"job-{g}", DeviceCounts(succeeded=1))
                for g in model.thing_groups
            },
        )
    raise AssertionError("not rolled out")


def test_rolled_out_only_when_this_spec_passed_every_stage_with_every_target() -> None:
    model = desired()
    memory = _rolled_out_memory(model)
    assert rolled_out(model, memory)
    fleet = memory.stage("fleet")
    assert fleet is not None
    assert not rolled_out(model, memory.with_stage(replace(fleet, phase=StagePhase.BAKING)))
    assert not rolled_out(model, replace(memory, rollback=Rollback("fleet", "aborted")))
    assert not rolled_out(desired(frameworkVersion="1.9"), memory)  # new versions
    assert not rolled_out(model, Memory())
    # A rollout that went out without a failed target is not this spec's complete rollout.
    without_nano = rollout_id(
        model,
        group_components(model, tuple(v for v in _ready_views(model) if v.target.name != "nano")),
    )
    assert not rolled_out(model, replace(memory, rollout_id=without_nano))


def _ready_views(model: DesiredEdgeModel) -> tuple[TargetView, ...]:
    return tuple(TargetView(t, TargetPhase.READY) for t in model.targets)


def _left_there(memory: Memory) -> dict[str, str | None]:
    """Each group's latest deployment ID as the rollout left it (what _rolled_out_memory's
    groups carry)."""
    return {d.thing_group: d.deployment_id for s in memory.stages for d in s.deployments}


def test_at_rest_every_deployable_version_keeps_it_ready_for_an_hour() -> None:
    model = desired()
    memory = _rolled_out_memory(model)
    assert groups_at_rest(memory) == ("canary", "fleet")
    assert _left_there(memory) == {"canary": "d-job-canary", "fleet": "d-job-fleet"}
    versions = compiled(model).components
    plan = plan_edge_model_at_rest(model, AtRestView(versions, _left_there(memory)), memory)
    assert plan is not None
    views, stage = plan.findings.views, plan.findings.current_stage
    assert (plan.outcome.kind, plan.outcome.reason) == (OutcomeKind.READY, "RolledOut")
    assert (plan.actions, plan.recheck_after, views, stage) == (
        (),
        REST_RECHECK_SECONDS,
        (),
        "fleet",
    )
    configured = plan_edge_model_at_rest(
        model, AtRestView(versions, _left_there(memory)), memory, rest_recheck_seconds=5.0
    )
    assert configured is not None
    assert configured.recheck_after == 5.0


def test_at_rest_a_missing_or_undeployable_version_asks_for_a_full_pass() -> None:
    model = desired()
    memory = _rolled_out_memory(model)
    nano = (model.targets[0].component_name, model.targets[0].component_version)
    versions = dict(compiled(model).components)
    left = _left_there(memory)
    assert (
        plan_edge_model_at_rest(model, AtRestView({**versions, nano: None}, left), memory) is None
    )
    deprecated = compiled(model, state=ComponentState.DEPRECATED).components
    assert plan_edge_model_at_rest(model, AtRestView(deprecated, left), memory) is None


def test_at_rest_another_latest_deployment_in_a_group_asks_for_a_full_pass() -> None:
    model = desired()
    memory = _rolled_out_memory(model)
    versions = compiled(model).components
    for fleet in ("d-someone-elses", None):
        latest = {**_left_there(memory), "fleet": fleet}
        assert plan_edge_model_at_rest(model, AtRestView(versions, latest), memory) is None


def _fleet_replaced_by_theirs(model: DesiredEdgeModel, components: dict[str, Any]) -> ObservedGroup:
    """The fleet's latest deployment, made by someone else after the rollout."""
    theirs = ObservedDeployment(
        "d-theirs",
        "7",
        "job-theirs",
        "ACTIVE",
        "site",
        components=components,
        deployment_policies={"failureHandlingPolicy": "DO_NOTHING"},
        tags={"team": "devices"},
    )
    return ObservedGroup("fleet", GROUP_ARN.format("fleet"), theirs)


def _rolled_out_groups(model: DesiredEdgeModel) -> dict[str, ObservedGroup]:
    return {
        g: deployed(model, g, f"job-{g}", DeviceCounts(succeeded=1)) for g in model.thing_groups
    }


def test_a_deployment_by_someone_else_that_dropped_ours_after_the_rollout_is_merged_again() -> None:
    model = desired()
    memory = _rolled_out_memory(model)
    observed = replace(
        compiled(model),
        groups={**_rolled_out_groups(model), "fleet": _fleet_replaced_by_theirs(model, OTHER)},
    )

    plan = plan_from_observation(model, observed, memory, now=at(5000.0), promotion=None)
    stage = plan.findings.current_stage

    (merge,) = actions(plan, CreateDeployment)
    ours = {t.component_name: {"componentVersion": t.component_version} for t in model.targets}
    assert (merge.thing_group, dict(merge.components)) == ("fleet", {**OTHER, **ours})
    assert (merge.replaces, merge.deployment_name, merge.tags) == (
        "d-theirs",
        "site",
        {"team": "devices"},
    )
    assert merge.drift is not None
    assert "d-theirs" in merge.drift
    assert describe_action(merge)[0] == "DriftCorrected"
    # Still rolled out (no stage is judged again); looked at again at the next resync.
    assert (plan.outcome.kind, plan.outcome.reason, stage) == (
        OutcomeKind.READY,
        "RolledOut",
        "fleet",
    )
    assert "merged this EdgeModel's components again into fleet" in plan.outcome.message
    assert plan.recheck_after is None
    assert [s.phase for s in memory_of(plan).stages] == [StagePhase.SUCCEEDED] * 2

    # The next pass finds ours merged in: the merge becomes what the fleet is expected to run.
    merged = ObservedGroup(
        "fleet",
        GROUP_ARN.format("fleet"),
        replace(merge_result(merge), deployment_id="d-merged"),
    )
    after = plan_from_observation(
        model,
        replace(observed, groups={**observed.groups, "fleet": merged}),
        memory_of(plan),
        now=at(5010.0),
        promotion=None,
    )
    assert actions(after, CreateDeployment) == []
    assert after.recheck_after == REST_RECHECK_SECONDS
    rested = memory_of(after)
    assert _left_there(rested)["fleet"] == "d-merged"
    assert rolled_out(model, rested)
    at_rest = plan_edge_model_at_rest(
        model,
        AtRestView(compiled(model).components, {**_left_there(memory), "fleet": "d-merged"}),
        rested,
    )
    assert at_rest is not None


def merge_result(action: CreateDeployment) -> ObservedDeployment:
    """The deployment `action` makes, as Greengrass reports it."""
    return ObservedDeployment(
        "d-new",
        "8",
        "job-new",
        "ACTIVE",
        action.deployment_name,
        components=action.components,
        deployment_policies=action.deployment_policies,
        tags=action.tags,
    )


def test_a_deployment_by_someone_else_that_kept_ours_is_only_recorded() -> None:
    model = desired()
    memory = _rolled_out_memory(model)
    ours = {t.component_name: {"componentVersion": t.component_version} for t in model.targets}
    observed = replace(
        compiled(model),
        groups={
            **_rolled_out_groups(model),
            "fleet": _fleet_replaced_by_theirs(model, {**OTHER, **ours}),
        },
    )
    plan = plan_from_observation(model, observed, memory, now=at(5000.0), promotion=None)
    assert actions(plan, CreateDeployment) == []
    assert (plan.outcome.reason, plan.recheck_after) == ("RolledOut", REST_RECHECK_SECONDS)
    assert _left_there(memory_of(plan))["fleet"] == "d-theirs"


def test_a_run_command_of_the_specs_own_replaces_the_entrypoint_and_makes_a_new_version() -> None:
    model = desired()
    own = desired(component={"runCommand": "python3 {artifacts:path}/mine.py"})
    plan = plan_from_observation(
        own, compiled(own, state=None), Memory(), now=at(0.0), promotion=None
    )
    run = actions(plan, CreateComponentVersion)[0].recipe["Manifests"][0]["Lifecycle"]["Run"]
    assert run["Script"] == "python3 {artifacts:path}/mine.py"
    assert own.targets[0].component_version != model.targets[0].component_version


def test_a_new_entrypoint_makes_new_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    before = desired()
    monkeypatch.setattr(edge_runtime, "entrypoint_sha256", lambda: "0" * 64)
    after = desired()
    assert after.entrypoint_uri != before.entrypoint_uri
    assert [t.component_version for t in after.targets] != [
        t.component_version for t in before.targets
    ]
