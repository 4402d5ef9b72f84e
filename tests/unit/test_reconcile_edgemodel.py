"""EdgeModel's reconcile shell with recording fake adapters: AWS state in, calls out.

Scenarios in the spirit of ACK's testdata/test_suite.yaml: each names the state Neo,
Greengrass and IoT are in, what the resource remembers, and the writes the pass must make
(and only those). Multi-pass stories (a re-run, deletion) follow below the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from serving_operator.aws.base import AwsError
from serving_operator.planning.edgemodel.actions import CreateDeployment
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, desired_edge_model
from serving_operator.planning.edgemodel.memory import Memory, StagePhase
from serving_operator.planning.edgemodel.observed import (
    CompilationStatus,
    ComponentState,
    DeviceCounts,
    ObservedCompilation,
    ObservedComponentVersion,
    ObservedDeployment,
    ObservedJob,
)
from serving_operator.planning.edgemodel.rollout import REST_RECHECK_SECONDS, ROLLED_OUT
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.reconcile.edgemodel import EdgeModelReconciler, EdgeReconcileResult
from tests.support.fake_edge_aws import FakeEdgeAws, version_arn
from tests.support.specs import edge_model_spec as _spec

TELEMETRY = {"com.example.Telemetry": {"componentVersion": "2.0.0"}}


SPEC = _spec()
DESIRED: DesiredEdgeModel = desired_edge_model(SPEC, namespace="ml", name="classifier")
OURS = {t.component_name: {"componentVersion": t.component_version} for t in DESIRED.targets}


def _compiled(status: CompilationStatus = CompilationStatus.COMPLETED) -> dict[str, Any]:
    return {
        t.job_name: ObservedCompilation(
            t.job_name,
            status,
            f"s3://models/compiled/{t.job_name}/model-x.tar.gz"
            if status == CompilationStatus.COMPLETED
            else None,
        )
        for t in DESIRED.targets
    }


def _published(state: ComponentState = ComponentState.DEPLOYABLE) -> dict[str, Any]:
    arns = [version_arn(t.component_name, t.component_version) for t in DESIRED.targets]
    return {arn: ObservedComponentVersion(arn, state) for arn in arns}


def _deployment(group: str, components: dict[str, Any], number: int = 0) -> ObservedDeployment:
    return ObservedDeployment(
        deployment_id=f"theirs-{group}-{number}",
        revision_id="1",
        iot_job_id=f"theirs-job-{group}-{number}",
        status="ACTIVE",
        deployment_name=group,
        components=components,
        deployment_policies={"failureHandlingPolicy": "DO_NOTHING"},
        iot_job_configuration={"timeoutConfig": {"inProgressTimeoutInMinutes": 30}},
        tags={"team": "devices"},
    )


def _ready_to_roll_out(**aws: Any) -> FakeEdgeAws:
    """Both targets compiled and published, both groups exist."""
    state: dict[str, Any] = {
        "compilations": _compiled(),
        "components": _published(),
        "groups": {"canary", "fleet"},
    }
    return FakeEdgeAws(**{**state, **aws})


def _denied(operation: str) -> AwsError:
    return AwsError("sagemaker", operation, "AccessDeniedException", "not authorized", 400)


def _throttled(operation: str) -> AwsError:
    return AwsError("greengrassv2", operation, "ThrottlingException", "Rate exceeded", 429)


def _pass(aws: FakeEdgeAws, memory: Memory | None = None, **spec: Any) -> EdgeReconcileResult:
    return EdgeModelReconciler(aws.clients()).reconcile(
        _spec(**spec) if spec else SPEC,
        namespace="ml",
        name="classifier",
        memory=memory or Memory(),
        annotations={},
        now=1000.0,
    )


@dataclass
class Scenario:
    name: str
    aws: FakeEdgeAws
    outcome: OutcomeKind
    reason: str
    writes: list[str] = field(default_factory=list)
    memory: Memory = field(default_factory=Memory)


SCENARIOS = [
    Scenario(
        "nothing compiled: one CreateCompilationJob per target, nothing else",
        FakeEdgeAws(groups={"canary", "fleet"}),
        OutcomeKind.PROGRESSING,
        "Compiling",
        ["CreateCompilationJob", "CreateCompilationJob"],
    ),
    Scenario(
        "compiling: jobs followed, no new calls",
        FakeEdgeAws(compilations=_compiled(CompilationStatus.INPROGRESS)),
        OutcomeKind.PROGRESSING,
        "Compiling",
    ),
    Scenario(
        "jobs COMPLETED: one component version per target",
        FakeEdgeAws(compilations=_compiled()),
        OutcomeKind.PROGRESSING,
        "Compiling",
        ["CreateComponentVersion", "CreateComponentVersion"],
    ),
    Scenario(
        "versions not yet DEPLOYABLE: waited for, not published again",
        FakeEdgeAws(compilations=_compiled(), components=_published(ComponentState.REQUESTED)),
        OutcomeKind.PROGRESSING,
        "Compiling",
    ),
    Scenario(
        "published: the first stage's group is deployed, the second waits",
        _ready_to_roll_out(),
        OutcomeKind.PROGRESSING,
        "RollingOut",
        ["CreateDeployment"],
    ),
    Scenario(
        "a missing thing group: Stalled, nothing deployed",
        _ready_to_roll_out(groups={"fleet"}),
        OutcomeKind.STALLED,
        "ThingGroupNotFound",
    ),
    Scenario(
        "access denied on Neo: Stalled, naming the IAM action",
        FakeEdgeAws(fail={"DescribeCompilationJob": _denied("DescribeCompilationJob")}),
        OutcomeKind.STALLED,
        "AccessDenied",
    ),
    Scenario(
        "throttled deployment: Reconciling (retried), not Stalled",
        _ready_to_roll_out(fail={"CreateDeployment": _throttled("CreateDeployment")}),
        OutcomeKind.PROGRESSING,
        "AwsUnavailable",
        ["CreateDeployment"],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    result = _pass(scenario.aws, scenario.memory)
    assert (result.outcome.kind, result.outcome.reason) == (scenario.outcome, scenario.reason)
    assert scenario.aws.writes == scenario.writes


def test_compilation_jobs_are_named_per_target_and_never_started_twice() -> None:
    aws = FakeEdgeAws(groups={"canary", "fleet"})
    _pass(aws)
    assert aws.written("CreateCompilationJob") == [t.job_name for t in DESIRED.targets]
    _pass(aws)
    assert aws.writes == ["CreateCompilationJob", "CreateCompilationJob"]


def test_a_completed_job_publishes_its_version_once_even_over_several_passes() -> None:
    aws = FakeEdgeAws(compilations=_compiled())
    _pass(aws)
    _pass(aws)
    created = aws.written("CreateComponentVersion")
    assert [(c.component_name, c.version) for c in created] == [
        (t.component_name, t.component_version) for t in DESIRED.targets
    ]
    assert set(aws.components) == set(_published())


def test_a_lost_answer_is_retried_with_the_same_client_token_and_makes_no_second_version() -> None:
    """Greengrass made the version but the answer was lost and DescribeComponent does not
    see it yet (eventually consistent): the retry's token gets the first version back."""
    aws = FakeEdgeAws(compilations=_compiled())
    _pass(aws)
    made = dict(aws.components)
    aws.components.clear()  # not visible yet
    _pass(aws)
    tokens = [c.client_token for c in aws.written("CreateComponentVersion")]
    first, second = tokens[:2], tokens[2:]
    assert first == second
    assert aws.components == {}  # the retry answered from its token, made nothing new
    assert len(made) == len(DESIRED.targets)


def test_the_new_deployment_keeps_every_other_component_and_its_settings() -> None:
    aws = _ready_to_roll_out(deployments={"canary": _deployment("canary", TELEMETRY)})
    result = _pass(aws)
    (deployment,) = aws.written("CreateDeployment")
    assert isinstance(deployment, CreateDeployment)
    assert deployment.thing_group == "canary"
    assert dict(deployment.components) == {**TELEMETRY, **OURS}
    assert deployment.replaces == "theirs-canary-0"
    assert deployment.iot_job_configuration["timeoutConfig"] == {"inProgressTimeoutInMinutes": 30}
    assert deployment.tags == {"team": "devices"}
    assert result.outcome.reason == "RollingOut"
    # The next pass finds our versions there and only follows the job.
    _pass(aws, result.memory)
    assert aws.writes == ["CreateDeployment"]


def test_a_failed_deployment_remembers_what_the_group_ran_but_not_the_stage() -> None:
    """What a group ran before is remembered before the deployment that replaces it (the
    roll back depends on it); the stage's progress only once the deployment was made."""
    older = {n: {"componentVersion": "1.0.1"} for n in OURS}
    aws = _ready_to_roll_out(
        deployments={"canary": _deployment("canary", {**TELEMETRY, **older})},
        fail={"CreateDeployment": _throttled("CreateDeployment")},
    )
    before = Memory(published=frozenset({"arn:kept"}))
    result = _pass(aws, before)
    assert result.memory.previous == {"canary": dict.fromkeys(sorted(OURS), "1.0.1")}
    assert result.memory.stages == ()
    assert result.memory.published >= before.published
    assert result.aws_failure is not None
    assert result.aws_failure.operation == "CreateDeployment"


def test_access_denied_names_the_operation_and_the_iam_action() -> None:
    aws = FakeEdgeAws(fail={"CreateCompilationJob": _denied("CreateCompilationJob")})
    result = _pass(aws)
    assert result.outcome.kind == OutcomeKind.STALLED
    assert "sagemaker:CreateCompilationJob" in result.outcome.message


def test_a_stage_passes_and_the_next_group_gets_the_same_merge() -> None:
    aws = _ready_to_roll_out(deployments={"fleet": _deployment("fleet", TELEMETRY)})
    memory = _pass(aws).memory
    (canary,) = aws.written("CreateDeployment")
    job = aws.deployments["canary"].iot_job_id
    assert job is not None
    aws.jobs[job] = ObservedJob(job, "COMPLETED", DeviceCounts(succeeded=2))
    result = _pass(aws, memory)
    assert [d.thing_group for d in aws.written("CreateDeployment")] == ["canary", "fleet"]
    fleet = aws.written("CreateDeployment")[1]
    assert dict(fleet.components) == {**TELEMETRY, **OURS}
    assert dict(canary.components) == OURS
    assert result.outcome.reason == "RollingOut"


def _job_canceled_under_our_deployment(aws: FakeEdgeAws, memory: Memory) -> ObservedDeployment:
    """Our canary deployment is made and its job reads CANCELED (by `memory`'s pass)."""
    ours = aws.deployments["canary"]
    assert ours.iot_job_id is not None
    aws.jobs[ours.iot_job_id] = ObservedJob(ours.iot_job_id, "CANCELED", DeviceCounts(canceled=2))
    return ours


def test_a_job_canceled_because_another_merge_superseded_it_is_followed_not_aborted() -> None:
    """Another EdgeModel merged its component into the group between our listing of the
    group's latest deployment and our read of its job: Greengrass canceled the job of the
    deployment it superseded. The newer deployment still carries ours: follow it."""
    aws = _ready_to_roll_out()
    memory = _pass(aws).memory
    ours = _job_canceled_under_our_deployment(aws, memory)
    newer = replace(
        ours,
        deployment_id="their-merge",
        revision_id="2",
        iot_job_id="their-merge-job",
        components={**ours.components, **TELEMETRY},
    )
    aws.jobs["their-merge-job"] = ObservedJob(
        "their-merge-job", "IN_PROGRESS", DeviceCounts(in_progress=2)
    )
    read = aws.record

    def superseded_after_the_first_listing(operation: str, detail: Any = None) -> None:
        read(operation, detail)
        if operation == "DescribeJob" and detail == ours.iot_job_id:
            aws.deployments["canary"] = newer

    aws.record = superseded_after_the_first_listing  # type: ignore[method-assign]
    before = len(aws.calls)
    result = _pass(aws, memory)
    listed = [detail for op, detail in aws.calls[before:] if op == "ListDeployments"]
    assert result.outcome.reason == "RollingOut", result.outcome.message
    (stage, *_) = result.memory.stages
    assert stage.phase != StagePhase.ABORTED
    assert [d.deployment_id for d in stage.deployments] == ["their-merge"]
    assert aws.written("CreateDeployment") == [aws.written("CreateDeployment")[0]]
    assert [arn.rsplit("/", 1)[-1] for arn in listed] == ["canary", "canary", "fleet"]


def test_a_job_canceled_under_the_latest_deployment_aborts_the_stage() -> None:
    aws = _ready_to_roll_out()
    memory = _pass(aws).memory
    _job_canceled_under_our_deployment(aws, memory)
    result = _pass(aws, memory)
    (stage, *_) = result.memory.stages
    assert stage.phase == StagePhase.ABORTED
    assert "canceled" in (stage.verdict or "")


# -- deletion --
def _delete(aws: FakeEdgeAws, memory: Memory, **spec: Any) -> EdgeReconcileResult:
    return EdgeModelReconciler(aws.clients()).delete(
        _spec(**spec) if spec else SPEC, namespace="ml", name="classifier", memory=memory
    )


def test_deletion_stops_jobs_redeploys_without_us_then_deletes_our_versions() -> None:
    published = _published()
    arm = DESIRED.targets[1]
    aws = FakeEdgeAws(
        compilations={
            **_compiled(),
            arm.job_name: ObservedCompilation(arm.job_name, CompilationStatus.INPROGRESS),
        },
        components=dict(published),
        groups={"canary", "fleet"},
        deployments={
            "canary": _deployment("canary", {**TELEMETRY, **OURS}),
            "fleet": _deployment("fleet", TELEMETRY),
        },
    )
    memory = Memory(published=frozenset(published))
    first = _delete(aws, memory)
    assert first.outcome.kind == OutcomeKind.PROGRESSING
    assert aws.written("StopCompilationJob") == [arm.job_name]
    (without_us,) = aws.written("CreateDeployment")
    assert without_us.thing_group == "canary"
    assert dict(without_us.components) == TELEMETRY
    assert without_us.deployment_policies == {"failureHandlingPolicy": "DO_NOTHING"}
    assert "DeleteComponent" not in aws.writes  # still deployed when the pass began

    aws.compilations[arm.job_name] = ObservedCompilation(arm.job_name, CompilationStatus.STOPPED)
    second = _delete(aws, memory)
    assert sorted(aws.written("DeleteComponent")) == sorted(published)
    assert aws.components == {}
    assert second.outcome.kind == OutcomeKind.PROGRESSING  # deleted this pass, confirmed next

    third = _delete(aws, memory)
    assert (third.outcome.kind, third.outcome.reason) == (OutcomeKind.READY, "Deleted")
    assert aws.writes.count("CreateDeployment") == 1
    assert aws.deployments["fleet"].components == TELEMETRY  # never ours: left alone


def test_retain_touches_nothing() -> None:
    aws = _ready_to_roll_out(deployments={"canary": _deployment("canary", OURS)})
    result = _delete(aws, Memory(published=frozenset(_published())), deletionPolicy="Retain")
    assert (result.outcome.kind, result.outcome.reason) == (OutcomeKind.READY, "Retained")
    assert aws.calls == []


def test_deletion_throttled_is_retried_not_stalled() -> None:
    aws = _ready_to_roll_out(
        deployments={"canary": _deployment("canary", OURS)},
        fail={"CreateDeployment": _throttled("CreateDeployment")},
    )
    result = _delete(aws, Memory())
    assert (result.outcome.kind, result.outcome.reason) == (
        OutcomeKind.PROGRESSING,
        "AwsUnavailable",
    )
    assert aws.deployments["canary"].components == OURS


# -- at rest --
def _rolled_out(aws: FakeEdgeAws) -> Memory:
    """Passes until the rollout passed both stages, each group's devices all succeeding."""
    memory = Memory()
    for _ in range(6):
        result = _pass(aws, memory)
        memory = result.memory
        if result.outcome.reason == ROLLED_OUT:
            return memory
        for job_id in list(aws.jobs):
            aws.jobs[job_id] = ObservedJob(job_id, "COMPLETED", DeviceCounts(succeeded=2))
    raise AssertionError(f"not rolled out: {result.outcome}")


def test_a_rolled_out_edge_model_reads_only_its_component_versions_then_waits_an_hour() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    aws.calls.clear()
    result = _pass(aws, memory)
    assert (result.outcome.kind, result.outcome.reason) == (OutcomeKind.READY, ROLLED_OUT)
    reads = [op for op in aws.operations if op != "GetCallerIdentity"]
    assert reads == ["DescribeComponent"] * len(DESIRED.targets)
    assert result.recheck_after == REST_RECHECK_SECONDS
    assert (result.memory, result.current_stage) == (memory, "fleet")


def test_the_pass_that_completes_the_rollout_asks_to_look_again_in_an_hour() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    aws.calls.clear()
    # Status from before: the same memory, a full pass (a stage not remembered as passed).
    last = memory.stage("fleet")
    assert last is not None
    again = _pass(aws, memory.with_stage(replace(last, phase=StagePhase.DEPLOYING)))
    assert "DescribeThingGroup" in aws.operations
    assert (again.outcome.reason, again.recheck_after) == (ROLLED_OUT, REST_RECHECK_SECONDS)


def test_a_component_version_deleted_at_rest_is_published_again() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    gone = version_arn(DESIRED.targets[0].component_name, DESIRED.targets[0].component_version)
    del aws.components[gone]
    aws.calls.clear()
    result = _pass(aws, memory)
    assert "DescribeCompilationJob" in aws.operations  # everything is read again
    assert aws.writes == ["CreateComponentVersion"]
    assert result.outcome.kind == OutcomeKind.PROGRESSING
    assert result.recheck_after is None


def test_a_deprecated_component_version_at_rest_stalls_the_resource() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    arn = version_arn(DESIRED.targets[1].component_name, DESIRED.targets[1].component_version)
    aws.components[arn] = ObservedComponentVersion(arn, ComponentState.DEPRECATED)
    result = _pass(aws, memory)
    assert (result.outcome.kind, result.outcome.reason) == (
        OutcomeKind.STALLED,
        "CompilationFailed",
    )


def test_a_spec_change_after_the_rollout_reads_everything_again() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    aws.calls.clear()
    changed = {
        "stages": [{"name": "everyone", "thingGroups": ["canary", "fleet"]}],
        "stageDeadlineSeconds": 600,
    }
    result = _pass(aws, memory, rollout=changed)
    assert {"DescribeCompilationJob", "ListDeployments"} <= set(aws.operations)
    assert result.memory.rollout_id != memory.rollout_id  # a new rollout begins
