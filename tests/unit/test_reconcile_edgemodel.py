"""EdgeModel's reconcile shell with recording fake adapters: AWS state in, calls out.

Scenarios in the spirit of ACK's testdata/test_suite.yaml: each names the state Neo,
Greengrass and IoT are in, what the resource remembers, and the writes the pass must make
(and only those). Multi-pass stories (a re-run, deletion) follow below the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from serving_operator import edge_runtime
from serving_operator.api.edgemodel import EdgeModelStatus
from serving_operator.aws.base import AwsError
from serving_operator.planning.edgemodel.actions import CreateDeployment
from serving_operator.planning.edgemodel.at_rest import REST_RECHECK_SECONDS, ROLLED_OUT
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, desired_edge_model
from serving_operator.planning.edgemodel.memory import Memory, StagePhase
from serving_operator.planning.edgemodel.observed import (
    CompilationStatus,
    ComponentState,
    DeviceCounts,
    DeviceFailure,
    ObservedCompilation,
    ObservedComponentVersion,
    ObservedDeployment,
    ObservedJob,
)
from serving_operator.planning.outcome import Outcome, OutcomeKind
from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler, EdgeReconcileResult
from serving_operator.reconcile.edgemodel.report import memory_of, report_pass
from serving_operator.reconcile.report import EventType, ObjectContext
from tests.support.fake_aws import FakeAws, group_arn, version_arn
from tests.support.recording import assert_a_refused_call_ends_its_pass
from tests.support.specs import edge_model_spec as _spec
from tests.unit.test_edgemodel_planner import at

TELEMETRY = {"com.example.Telemetry": {"componentVersion": "2.0.0"}}


SPEC = _spec()
DESIRED: DesiredEdgeModel = desired_edge_model(
    SPEC, namespace="ml", name="classifier", now=at(1000.0)
)
VERSIONS = {t.component_name: (t.content_key, t.component_version) for t in DESIRED.targets}
"""Status as a pass before these tests left it: DESIRED's versions recorded (the pass that
chooses a version publishes nothing: test_edgemodel_versions.py)."""
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


def _ready_to_roll_out(**aws: Any) -> FakeAws:
    """Both targets compiled and published, both groups exist."""
    state: dict[str, Any] = {
        "compilations": _compiled(),
        "components": _published(),
        "groups": {"canary", "fleet"},
        "objects": {DESIRED.entrypoint_uri: edge_runtime.entrypoint_source()},
    }
    return FakeAws(**{**state, **aws})


def _denied(operation: str) -> AwsError:
    return AwsError("sagemaker", operation, "AccessDeniedException", "not authorized", 400)


def _throttled(operation: str) -> AwsError:
    return AwsError("greengrassv2", operation, "ThrottlingException", "Rate exceeded", 429)


def _context(memory: Memory) -> ObjectContext[EdgeModelStatus]:
    """The object a pass from `memory` reports on (its status as the last pass wrote it)."""
    before = report_pass(
        EdgeReconcileResult(Outcome.ready("", ""), DESIRED, memory), _blank_context()
    )
    assert before.status is not None
    return replace(_blank_context(), status=before.status)


def _blank_context() -> ObjectContext[EdgeModelStatus]:
    return ObjectContext(
        namespace="ml", name="classifier", generation=1, status=EdgeModelStatus(), annotations={}
    )


def _pass(aws: FakeAws, memory: Memory | None = None, **spec: Any) -> EdgeReconcileResult:
    return EdgeModelReconciler(aws.clients()).reconcile(
        _spec(**spec) if spec else SPEC,
        namespace="ml",
        name="classifier",
        memory=replace(memory or Memory(), versions=(memory or Memory()).versions or VERSIONS),
        annotations={},
        now=at(1000.0),
    )


def _recorded(aws: FakeAws, memory: Memory | None = None) -> Memory:
    """The memory of a pass that recorded what a stage's groups run before deploying to
    them (write-ahead: the next pass deploys); `aws` sees no write."""
    writes = list(aws.writes)
    result = _pass(aws, memory)
    assert aws.writes == writes, aws.writes
    assert result.memory.previous != (memory or Memory()).previous, result.outcome
    return result.memory


RECORDED = _recorded(_ready_to_roll_out())
"""The pass before the canary's first deployment: the canary ran nothing of ours."""


@dataclass
class Scenario:
    name: str
    aws: FakeAws
    outcome: OutcomeKind
    reason: str
    writes: list[str] = field(default_factory=list)
    memory: Memory = field(default_factory=Memory)


SCENARIOS = [
    Scenario(
        "nothing compiled: one CreateCompilationJob per target, nothing else",
        FakeAws(groups={"canary", "fleet"}),
        OutcomeKind.PROGRESSING,
        "Compiling",
        ["CreateCompilationJob", "CreateCompilationJob"],
    ),
    Scenario(
        "compiling: jobs followed, no new calls",
        FakeAws(compilations=_compiled(CompilationStatus.INPROGRESS)),
        OutcomeKind.PROGRESSING,
        "Compiling",
    ),
    Scenario(
        "jobs COMPLETED: one component version per target",
        FakeAws(compilations=_compiled()),
        OutcomeKind.PROGRESSING,
        "Compiling",
        ["PutObject", "CreateComponentVersion", "CreateComponentVersion"],
    ),
    Scenario(
        "versions not yet DEPLOYABLE: waited for, not published again",
        FakeAws(compilations=_compiled(), components=_published(ComponentState.REQUESTED)),
        OutcomeKind.PROGRESSING,
        "Compiling",
    ),
    Scenario(
        "published: what the first stage's group runs is recorded, nothing deployed yet",
        _ready_to_roll_out(),
        OutcomeKind.PROGRESSING,
        "RollingOut",
    ),
    Scenario(
        "recorded: the first stage's group is deployed, the second waits",
        _ready_to_roll_out(),
        OutcomeKind.PROGRESSING,
        "RollingOut",
        ["CreateDeployment"],
        RECORDED,
    ),
    Scenario(
        "a missing thing group: Stalled, nothing deployed",
        _ready_to_roll_out(groups={"fleet"}),
        OutcomeKind.STALLED,
        "ThingGroupNotFound",
    ),
    Scenario(
        "access denied on Neo: Stalled, naming the IAM action",
        FakeAws(fail={"DescribeCompilationJob": _denied("DescribeCompilationJob")}),
        OutcomeKind.STALLED,
        "AccessDenied",
    ),
    Scenario(
        "throttled deployment: Reconciling (retried), not Stalled",
        _ready_to_roll_out(fail={"CreateDeployment": _throttled("CreateDeployment")}),
        OutcomeKind.PROGRESSING,
        "AwsUnavailable",
        ["CreateDeployment"],
        RECORDED,
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    result = _pass(scenario.aws, scenario.memory)
    assert (result.outcome.kind, result.outcome.reason) == (scenario.outcome, scenario.reason)
    assert scenario.aws.writes == scenario.writes


def test_a_failed_read_of_the_source_is_an_outcome_and_the_pass_stops_there() -> None:
    """The source's HeadObject comes before the loop; S3's 503 there (no body, so no error
    code) must be retried as any AWS error in a pass is, not raised out of the pass."""
    unavailable = AwsError(
        "s3", "HeadObject", "UnreadableResponse", "HTTP 503 Service Unavailable", 503
    )
    aws = FakeAws(groups={"canary", "fleet"}, fail={"HeadObject": unavailable})
    memory = Memory()
    result = _pass(aws, memory)
    assert (result.outcome.kind, result.outcome.reason) == (
        OutcomeKind.PROGRESSING,
        "AwsUnavailable",
    )
    assert result.aws_failure is not None
    assert result.aws_failure.operation == "HeadObject"
    assert aws.operations == ["HeadObject"], "nothing after the failed read"
    assert result.memory.source == memory.source, "no source revision recorded"
    assert result.recheck_after is None, "the driver's backoff, as for any AWS error"


def test_compilation_jobs_are_named_per_target_and_never_started_twice() -> None:
    aws = FakeAws(groups={"canary", "fleet"})
    _pass(aws)
    assert aws.written("CreateCompilationJob") == [t.job_name for t in DESIRED.targets]
    _pass(aws)
    assert aws.writes == ["CreateCompilationJob", "CreateCompilationJob"]


def test_a_completed_job_publishes_its_version_once_even_over_several_passes() -> None:
    aws = FakeAws(compilations=_compiled())
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
    aws = FakeAws(compilations=_compiled())
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
    result = _pass(aws, _recorded(aws))
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


def test_what_a_group_ran_is_recorded_a_pass_before_its_deployment_and_kept_if_it_fails() -> None:
    """Write-ahead: the pass that finds a group to deploy for the first time only records
    what it runs (the roll back depends on it); a deployment that fails in the next pass
    keeps it, and the stage started when it was recorded."""
    older = {n: {"componentVersion": "1.0.1"} for n in OURS}
    aws = _ready_to_roll_out(
        deployments={"canary": _deployment("canary", {**TELEMETRY, **older})},
        fail={"CreateDeployment": _throttled("CreateDeployment")},
    )
    before = Memory(published=frozenset({"arn:kept"}))
    first = _pass(aws, before)
    assert aws.writes == []
    assert first.outcome.reason == "RollingOut"
    assert first.recheck_after == 0.5
    expected = {"canary": dict.fromkeys(sorted(OURS), "1.0.1")}
    assert first.memory.previous == expected
    assert first.memory.published >= before.published
    result = _pass(aws, first.memory)
    assert aws.writes == ["CreateDeployment"]
    assert result.memory.previous == expected
    assert [s.name for s in result.memory.stages] == ["canary"]
    assert result.aws_failure is not None
    assert result.aws_failure.operation == "CreateDeployment"


ROLL_BACK_ON_FAILURES = {
    "stages": [
        {
            "name": "canary",
            "thingGroups": ["canary"],
            "abortCriteria": [
                {"failureType": "FAILED", "thresholdPercentage": 50, "minNumberOfExecutedThings": 2}
            ],
        },
        {"name": "fleet", "thingGroups": ["fleet"]},
    ],
    "stageDeadlineSeconds": 600,
}


@pytest.mark.parametrize("lost", range(5))
def test_a_pass_whose_status_is_lost_after_its_writes_still_rolls_back_exactly(lost: int) -> None:
    """The operator is killed after pass `lost` made its AWS calls and before its status was
    written: the next pass starts from the status before it. The canary runs an older
    version of ours and someone else's component; every device fails the new version. Pass 1
    deploys it to the canary (pass 0 recorded what the canary ran), pass 2 decides the roll
    back, pass 3 deploys it, pass 4 finds it done. Whichever status is lost, the canary ends
    with exactly what it ran before, the new version was deployed once and the roll back
    once."""
    older = {n: {"componentVersion": "1.0.1"} for n in OURS}
    aws = _ready_to_roll_out(
        deployments={"canary": _deployment("canary", {**TELEMETRY, **older})},
        members={"canary": {"cam-1", "cam-2"}},
    )
    memory = Memory()
    reasons = []
    for index in range(10):
        result = _pass(aws, memory, rollout=ROLL_BACK_ON_FAILURES)
        reasons.append(result.outcome.reason)
        if index != lost:
            memory = result.memory
        if result.outcome.reason == "RolledBack":
            break
        carrying = {d.iot_job_id: d.components for d in aws.deployments.values() if d.iot_job_id}
        for job_id, job in aws.jobs.items():
            # Every device fails the new version, and runs the older one again when the
            # roll back brings it (a roll back is judged by its devices too).
            ours = {n: carrying.get(job_id, OURS).get(n) for n in OURS}
            counts = DeviceCounts(failed=2) if ours == OURS else DeviceCounts(succeeded=2)
            aws.jobs[job_id] = replace(job, counts=counts)
    assert reasons[-1] == "RolledBack", reasons
    assert memory.previous == {"canary": dict.fromkeys(sorted(OURS), "1.0.1")}
    assert dict(aws.deployments["canary"].components) == {**TELEMETRY, **older}
    assert [dict(d.components) for d in aws.written("CreateDeployment")] == [
        {**TELEMETRY, **OURS},
        {**TELEMETRY, **older},
    ]
    assert "fleet" not in aws.deployments


def test_access_denied_names_the_operation_and_the_iam_action() -> None:
    aws = FakeAws(fail={"CreateCompilationJob": _denied("CreateCompilationJob")})
    result = _pass(aws)
    assert result.outcome.kind == OutcomeKind.STALLED
    assert "sagemaker:CreateCompilationJob" in result.outcome.message


def test_a_stage_passes_and_the_next_group_gets_the_same_merge() -> None:
    aws = _ready_to_roll_out(deployments={"fleet": _deployment("fleet", TELEMETRY)})
    memory = _pass(aws, _recorded(aws)).memory
    (canary,) = aws.written("CreateDeployment")
    job = aws.deployments["canary"].iot_job_id
    assert job is not None
    aws.jobs[job] = ObservedJob(job, "COMPLETED", DeviceCounts(succeeded=2))
    memory = _recorded(aws, memory)  # the canary passed; what the fleet runs is recorded
    assert memory.previous["fleet"] == {}
    result = _pass(aws, memory)
    assert [d.thing_group for d in aws.written("CreateDeployment")] == ["canary", "fleet"]
    fleet = aws.written("CreateDeployment")[1]
    assert dict(fleet.components) == {**TELEMETRY, **OURS}
    assert dict(canary.components) == OURS
    assert result.outcome.reason == "RollingOut"


def _job_canceled_under_our_deployment(aws: FakeAws, memory: Memory) -> ObservedDeployment:
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
    memory = _pass(aws, _recorded(aws)).memory
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
    memory = _pass(aws, _recorded(aws)).memory
    _job_canceled_under_our_deployment(aws, memory)
    result = _pass(aws, memory)
    (stage, *_) = result.memory.stages
    assert stage.phase == StagePhase.ABORTED
    assert "canceled" in (stage.verdict or "")


# -- deletion --
def _delete(aws: FakeAws, memory: Memory, **spec: Any) -> EdgeReconcileResult:
    return EdgeModelReconciler(aws.clients()).delete(
        _spec(**spec) if spec else SPEC, namespace="ml", name="classifier", memory=memory
    )


def test_deletion_stops_jobs_redeploys_without_us_then_deletes_our_versions() -> None:
    published = _published()
    arm = DESIRED.targets[1]
    aws = FakeAws(
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

    # Then the compilation jobs and the models they wrote (nothing names them any more).
    third = _delete(aws, memory)
    assert third.outcome.kind == OutcomeKind.PROGRESSING
    nano = DESIRED.targets[0]
    assert aws.written("DeleteObject") == [_compiled()[nano.job_name].artifact_uri]
    assert sorted(aws.written("DeleteCompilationJob")) == sorted(
        t.job_name for t in DESIRED.targets
    )
    assert aws.compilations == {}

    fourth = _delete(aws, memory)
    assert (fourth.outcome.kind, fourth.outcome.reason) == (OutcomeKind.READY, "Deleted")
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
def _rolled_out(aws: FakeAws) -> Memory:
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


def test_a_rolled_out_edge_model_reads_its_versions_and_latest_deployments_then_waits() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    aws.calls.clear()
    result = _pass(aws, memory)
    assert (result.outcome.kind, result.outcome.reason) == (OutcomeKind.READY, ROLLED_OUT)
    reads = [(op, d) for op, d in aws.calls if op != "GetCallerIdentity"]
    # The source object first (a new upload compiles again), then the versions and groups.
    assert [op for op, _ in reads] == ["HeadObject"] + ["DescribeComponent"] * len(
        DESIRED.targets
    ) + ["ListDeployments"] * 2
    # One ListDeployments per thing group, its ARN built rather than read.
    assert [d for op, d in reads if op == "ListDeployments"] == [
        group_arn("canary"),
        group_arn("fleet"),
    ]
    assert result.recheck_after == REST_RECHECK_SECONDS
    assert (result.memory, result.current_stage) == (memory, "fleet")


def test_the_at_rest_recheck_interval_is_the_reconcilers_setting() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    reconciler = EdgeModelReconciler(aws.clients(), rest_recheck_seconds=4.0)
    result = reconciler.reconcile(
        SPEC, namespace="ml", name="classifier", memory=memory, annotations={}, now=at(2000.0)
    )
    assert (result.outcome.reason, result.recheck_after) == (ROLLED_OUT, 4.0)


def test_someone_elses_deployment_without_ours_at_rest_is_merged_again_keeping_theirs() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    aws.calls.clear()
    site = replace(_deployment("fleet", TELEMETRY, number=9), deployment_name="site")
    aws.deployments["fleet"] = site  # a deployment made without merging: ours are gone

    result = _pass(aws, memory)

    assert "DescribeCompilationJob" in aws.operations  # a changed latest: a full pass
    (merge,) = aws.written("CreateDeployment")
    assert (merge.thing_group, dict(merge.components)) == ("fleet", {**TELEMETRY, **OURS})
    assert (merge.replaces, merge.deployment_name, merge.tags) == (
        site.deployment_id,
        "site",
        {"team": "devices"},
    )
    # Their deployment set the group's failure handling policy: it stays theirs.
    assert merge.deployment_policies["failureHandlingPolicy"] == "DO_NOTHING"
    assert aws.writes == ["CreateDeployment"]  # the canary, untouched, is left alone
    assert (result.outcome.kind, result.outcome.reason) == (OutcomeKind.READY, ROLLED_OUT)
    assert result.recheck_after is None  # the next resync records the merge
    report = report_pass(result, _context(memory))
    (event,) = report.events
    assert (event.type, event.reason) == (EventType.WARNING, "DriftCorrected")
    assert site.deployment_id in event.message
    assert "fleet" in event.message

    # The next pass finds ours back: it records the merge, then rests for an hour again.
    aws.calls.clear()
    again = _pass(aws, result.memory)
    assert aws.writes == []
    assert (again.outcome.reason, again.recheck_after) == (ROLLED_OUT, REST_RECHECK_SECONDS)
    aws.calls.clear()
    rested = _pass(aws, again.memory)
    assert "DescribeCompilationJob" not in aws.operations
    assert (aws.writes, rested.recheck_after) == ([], REST_RECHECK_SECONDS)


def test_someone_elses_deployment_that_kept_ours_at_rest_is_recorded_not_merged() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    kept = _deployment("fleet", {**TELEMETRY, **OURS}, number=3)
    aws.deployments["fleet"] = kept
    aws.calls.clear()
    result = _pass(aws, memory)
    assert aws.writes == []
    assert (result.outcome.reason, result.recheck_after) == (ROLLED_OUT, REST_RECHECK_SECONDS)
    fleet = result.memory.stage("fleet")
    assert fleet is not None
    assert [d.deployment_id for d in fleet.deployments] == [kept.deployment_id]


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


def test_the_entrypoint_is_published_before_the_versions_that_name_it() -> None:
    aws = FakeAws(compilations=_compiled())
    _pass(aws, Memory())
    assert aws.writes[0] == "PutObject"
    assert aws.written("PutObject") == [DESIRED.entrypoint_uri]
    assert aws.objects[DESIRED.entrypoint_uri] == edge_runtime.entrypoint_source()
    for action in aws.written("CreateComponentVersion"):
        uris = [a["URI"] for a in action.recipe["Manifests"][0]["Artifacts"]]
        assert DESIRED.entrypoint_uri in uris
    aws.calls.clear()
    del aws.components[next(iter(aws.components))]
    _pass(aws, Memory())
    assert "HeadObject" in aws.operations
    assert "PutObject" not in aws.writes  # there already: never put twice


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


def test_arns_are_built_in_the_callers_partition() -> None:
    # China (aws-cn) and GovCloud (aws-us-gov): the component version and thing group ARNs the
    # shell builds were arn:aws:... whatever the account, so nothing was ever found there.
    aws = _ready_to_roll_out(partition="aws-cn")
    _pass(aws)
    described = [arn for op, arn in aws.calls if op == "DescribeComponent"]
    assert described
    assert all(str(arn).startswith("arn:aws-cn:greengrass:") for arn in described), described


def test_a_re_created_edge_model_publishes_again_after_its_versions_were_deleted() -> None:
    """Greengrass answers a repeated client token with what it made before (for up to 8 h),
    deleted or not: the same spec applied again after a delete must get new versions."""
    aws = FakeAws(compilations=_compiled())
    first = _pass(aws)
    assert first.memory.publish_nonce is not None
    for arn in list(aws.components):
        aws.components.pop(arn)  # the resource's deletion deleted its versions
    # Re-created: a new resource's status holds only the versions recorded for its content.
    EdgeModelReconciler(aws.clients()).reconcile(
        SPEC,
        namespace="ml",
        name="classifier",
        memory=Memory(versions=VERSIONS),
        annotations={},
        now=at(5000.0),
    )
    assert set(aws.components) == set(_published()), "a cached answer made no version"


def test_a_version_deleted_by_hand_is_published_again_with_a_new_token() -> None:
    aws = _ready_to_roll_out()
    published = _pass(aws, Memory(published=frozenset(_published()), publish_nonce="n1"))
    assert aws.written("CreateComponentVersion") == []
    aws.components.clear()  # deleted by hand; Greengrass still holds the tokens
    again = _pass(aws, published.memory)
    tokens = {c.client_token for c in aws.written("CreateComponentVersion")}
    assert again.memory.publish_nonce != "n1"
    assert set(aws.components) == set(_published())
    assert len(tokens) == len(DESIRED.targets)


def test_the_nonce_is_written_ahead_so_a_lost_answer_is_retried_with_the_same_token() -> None:
    aws = FakeAws(
        compilations=_compiled(),
        fail={"CreateComponentVersion": _throttled("CreateComponentVersion")},
    )
    lost = _pass(aws)
    assert lost.memory.publish_nonce is not None  # remembered before the call failed
    aws.fail.clear()
    EdgeModelReconciler(aws.clients()).reconcile(
        SPEC, namespace="ml", name="classifier", memory=lost.memory, annotations={}, now=at(9e3)
    )
    first, *retries = aws.written("CreateComponentVersion")
    assert first.client_token in {c.client_token for c in retries}


def test_a_refused_component_version_fails_its_target_while_the_other_rolls_out() -> None:
    """CreateComponentVersion refuses a version whose artifact Greengrass cannot read: that
    target is Failed with AWS's message and a Warning Event; the other target is published
    and rolls out; the refused one is not asked again until the retry time."""
    nano, arm = DESIRED.targets
    compiled = _compiled()
    aws = FakeAws(
        compilations=compiled,
        groups={"canary", "fleet"},
        unreadable={str(compiled[nano.job_name].artifact_uri)},
    )
    first = _pass(aws)
    assert first.aws_failure is None
    assert [c.component_name for c in aws.written("CreateComponentVersion")] == [
        nano.component_name,
        arm.component_name,
    ]
    assert set(aws.components) == {version_arn(arm.component_name, arm.component_version)}
    report = report_pass(first, _blank_context())
    (refused,) = [e for e in report.events if e.reason == "ComponentRefused"]
    assert refused.type == EventType.WARNING
    assert "Specified artifact resource cannot be accessed" in refused.message
    assert report.status is not None
    assert [r.component_name for r in report.status.refused_versions] == [nano.component_name]

    aws.components = {
        k: replace(v, state=ComponentState.DEPLOYABLE) for k, v in aws.components.items()
    }
    aws.calls.clear()
    second = _pass(aws, first.memory)
    assert aws.written("CreateComponentVersion") == []  # not asked again yet
    assert (second.outcome.kind, second.outcome.reason) == (OutcomeKind.STALLED, "ComponentRefused")
    assert "target nano: Greengrass refused the component version" in second.outcome.message
    (view,) = [v for v in second.views if v.target.name == "nano"]
    assert "cannot be accessed" in (view.failure_reason or "")
    # The other target rolls out: what the canary runs is recorded for a deployment.
    assert "canary" in second.memory.previous
    # Ten minutes later the publish is tried again (the bucket policy may have been fixed).
    aws.unreadable.clear()
    EdgeModelReconciler(aws.clients()).reconcile(
        SPEC, namespace="ml", name="classifier", memory=second.memory, annotations={}, now=at(1700)
    )
    assert [c.component_name for c in aws.written("CreateComponentVersion")] == [
        nano.component_name
    ]


def test_a_thing_group_dropped_from_the_spec_loses_our_components_and_keeps_theirs() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    assert set(memory.deployed_to) == {"canary", "fleet"}
    fleet = aws.deployments["fleet"]
    aws.deployments["fleet"] = replace(fleet, components={**fleet.components, **TELEMETRY})
    aws.calls.clear()
    canary_only = {"stages": [{"name": "canary", "thingGroups": ["canary"]}]}
    result = _pass(aws, memory, rollout=canary_only)
    removals = [d for d in aws.written("CreateDeployment") if d.thing_group == "fleet"]
    assert [dict(d.components) for d in removals] == [TELEMETRY]
    assert aws.deployments["fleet"].components == TELEMETRY
    assert "fleet" not in result.memory.deployed_to


def test_a_renamed_component_is_replaced_not_left_running_beside_the_new_one() -> None:
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    renamed = _spec(component={"name": "com.example.Classifier"})
    model = desired_edge_model(renamed, namespace="ml", name="classifier", now=at(1e3))
    aws.components.update(
        {
            version_arn(t.component_name, t.component_version): ObservedComponentVersion(
                version_arn(t.component_name, t.component_version), ComponentState.DEPLOYABLE
            )
            for t in model.targets
        }
    )
    aws.compilations.update(
        {
            t.job_name: ObservedCompilation(
                t.job_name, CompilationStatus.COMPLETED, f"s3://models/compiled/{t.job_name}/m"
            )
            for t in model.targets
        }
    )
    for _ in range(4):
        memory = (
            EdgeModelReconciler(aws.clients())
            .reconcile(
                renamed,
                namespace="ml",
                name="classifier",
                memory=memory,
                annotations={},
                now=at(1e3),
            )
            .memory
        )
    canary = aws.deployments["canary"].components
    assert not set(OURS) & set(canary), canary
    assert {t.component_name for t in model.targets} <= set(canary)


def test_deletion_keeps_a_version_another_deployment_still_uses() -> None:
    """DeleteComponent makes every deployment that refers to the version fail: a version some
    thing group outside this EdgeModel deploys is kept."""
    aws = _ready_to_roll_out()
    memory = _rolled_out(aws)
    nano = DESIRED.targets[0]
    aws.groups.add("lab")
    aws.deployments["lab"] = _deployment("lab", {nano.component_name: OURS[nano.component_name]})
    reconciler = EdgeModelReconciler(aws.clients())
    for _ in range(3):
        result = reconciler.delete(SPEC, namespace="ml", name="classifier", memory=memory)
        memory = result.memory
    for _ in range(2):  # then the other target's job and compiled model
        result = reconciler.delete(SPEC, namespace="ml", name="classifier", memory=memory)
    deleted = aws.written("DeleteComponent")
    assert version_arn(nano.component_name, nano.component_version) not in deleted
    # The kept version names its compiled model: that stays, with its job.
    assert nano.job_name in aws.compilations
    assert DESIRED.targets[1].job_name not in aws.compilations
    assert version_arn(DESIRED.targets[1].component_name, DESIRED.targets[1].component_version) in (
        deleted
    )
    assert aws.deployments["lab"].components == {nano.component_name: OURS[nano.component_name]}
    assert result.outcome.reason == "Deleted"
    assert "lab" in result.outcome.message


def test_status_says_what_a_fleet_operator_acts_on() -> None:
    """Per stage: what IoT says of each job (reasonCode, comment, processingTargets), the
    devices that failed and why, and the UNHEALTHY core devices."""
    aws = _ready_to_roll_out(members={"canary": {"cam-1", "cam-2", "cam-3"}})
    deployed = _pass(aws, _recorded(aws))
    job_id = aws.deployments["canary"].iot_job_id
    assert job_id is not None
    aws.jobs[job_id] = ObservedJob(
        job_id,
        "IN_PROGRESS",
        DeviceCounts(succeeded=1, failed=1, queued=1),
        processing=True,
        reason_code=None,
        comment="rolling out",
        processing_targets=(group_arn("canary"),),
    )
    cause = "NoAvailableComponentVersionException: variant.DLR >=9.0.0"
    aws.failures[job_id] = [DeviceFailure("cam-2", "FAILED", cause)]
    aws.unhealthy = {"cam-2"}
    result = _pass(aws, deployed.memory)
    report = report_pass(result, _context(deployed.memory))
    assert report.status is not None
    canary = report.status.stages[0]
    (job,) = canary.jobs
    assert (job.iot_job_id, job.comment, job.processing_targets) == (
        job_id,
        "rolling out",
        [group_arn("canary")],
    )
    (failed,) = canary.failed_devices
    assert (failed.thing_name, failed.status, failed.cause) == ("cam-2", "FAILED", cause)
    assert (canary.unhealthy_devices, canary.unhealthy_device_count) == (["cam-2"], 1)
    # Read back from status, a later pass keeps it.
    again = memory_of(report.status).stage("canary")
    assert again is not None
    assert again.failed_devices == result.memory.stage("canary").failed_devices  # type: ignore[union-attr]


# -- any AWS call failing --
def _walk(fail: dict[str, AwsError]) -> list[tuple[list[str], EdgeReconcileResult]]:
    """A life from nothing compiled to rolled out, then deleted: the calls of each pass and
    its result. With `fail`, each named operation fails whenever it is called."""
    passes: list[tuple[list[str], EdgeReconcileResult]] = []

    def step(aws: FakeAws, run: Any, memory: Memory) -> Memory:
        before = len(aws.calls)
        result: EdgeReconcileResult = run(aws, memory)
        passes.append((aws.operations[before:], result))
        return result.memory

    step(FakeAws(groups={"canary", "fleet"}, fail=fail), _pass, Memory())
    aws = _ready_to_roll_out(components={}, fail=fail)  # compiled, nothing published
    memory = Memory()
    for _ in range(8):
        memory = step(aws, _pass, memory)
        # Between passes, Greengrass makes new versions deployable and the devices succeed.
        aws.components = {
            a: replace(v, state=ComponentState.DEPLOYABLE) for a, v in aws.components.items()
        }
        for job_id in list(aws.jobs):
            aws.jobs[job_id] = ObservedJob(job_id, "COMPLETED", DeviceCounts(succeeded=2))
    for _ in range(5):
        memory = step(aws, _delete, memory)
    return passes


WALKED = sorted({op for calls, _ in _walk({}) for op in calls})


def test_the_walk_reaches_every_kind_of_call() -> None:
    """The walk below is only as good as the calls it makes: compile, publish, deploy, read
    the rollout, and delete."""
    assert {
        "HeadObject",
        "CreateCompilationJob",
        "DescribeCompilationJob",
        "CreateComponentVersion",
        "CreateDeployment",
        "ListDeployments",
        "DeleteComponent",
    } <= set(WALKED)
    assert [r.outcome.reason for _, r in _walk({})][-1] == "Deleted"


@pytest.mark.parametrize("operation", WALKED)
def test_any_call_throttled_at_any_point_is_the_pass_outcome_never_an_exception(
    operation: str,
) -> None:
    """CI once saw a pass raise: a read made outside the loop. Whatever call AWS refuses
    with a throttle, the pass that made it ends Reconciling with AWS's error, and no pass
    raises."""
    assert_a_refused_call_ends_its_pass(_walk({operation: _throttled(operation)}), operation)
