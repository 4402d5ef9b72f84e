"""The TrafficSplit reconciler with the recording fake adapters every reconcile test shares
(tests/support/fake_aws): what it reads, when, and what it writes; AWS errors become outcomes
and never a claim that weights were set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from serving_operator.api.trafficsplit import Phase, TrafficSplitSpec, TrafficSplitStatus
from serving_operator.aws.base import AwsError
from serving_operator.planning.modelendpoint.desired import desired_endpoint
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.modelendpoint.observed import EndpointStatus
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.planning.trafficsplit.observed import (
    AlarmState,
    EndpointReferenceTarget,
    VariantTotals,
)
from serving_operator.planning.trafficsplit.planner import SHARED_ENDPOINT_READ_SECONDS
from serving_operator.reconcile.modelendpoint.reconciler import (
    ModelEndpointReconciler,
    ReconcileResult,
)
from serving_operator.reconcile.report import ObjectContext
from serving_operator.reconcile.trafficsplit.reconciler import (
    SplitPass,
    SplitSurroundings,
    TrafficSplitReconciler,
)
from serving_operator.reconcile.trafficsplit.report import report_deletion, report_pass
from tests.support.fake_aws import FakeAws, weighted_endpoint
from tests.support.recording import assert_a_refused_call_ends_its_pass
from tests.support.specs import model_endpoint_spec, variant

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
TARGET = SplitSurroundings(EndpointReferenceTarget("ep", frozenset({"blue", "green"})))


def split_aws(weights: Mapping[str, float] | None = None, **state: Any) -> FakeAws:
    """AWS with the endpoint `ep` serving blue and green (1:1 unless `weights`), the canary's
    rollback alarm OK, and 5000 invocations without errors a variant in any metrics window."""
    return FakeAws(
        endpoint=weighted_endpoint("ep", weights or {"blue": 1.0, "green": 1.0}),
        alarm_states={"high-5xx": AlarmState.OK},
        metric_totals=dict.fromkeys(("blue", "green"), VariantTotals(5000, 0, 0)),
        **state,
    )


def fixed() -> TrafficSplitSpec:
    return TrafficSplitSpec.model_validate(
        {
            "endpointRef": {"name": "ep"},
            "weights": [{"variant": "blue", "weight": 90}, {"variant": "green", "weight": 10}],
        }
    )


def canary() -> TrafficSplitSpec:
    return TrafficSplitSpec.model_validate(
        {
            "endpointRef": {"name": "ep"},
            "baseline": "blue",
            "candidate": "green",
            "steps": [{"setWeight": 10}],
            "metricPeriodSeconds": 1,
            "autoRollback": {"alarms": ["high-5xx"]},
            "analysis": {"interval": 5, "metrics": [{"name": "errors", "type": "ErrorRate"}]},
        }
    )


def test_a_fixed_split_writes_desired_weights_only_in_one_call() -> None:
    aws = split_aws()
    result = TrafficSplitReconciler(aws.clients()).reconcile(
        fixed(), TARGET, TrafficSplitStatus(), NOW
    )
    assert aws.calls == [
        ("DescribeEndpoint", ("ep", None)),  # not at rest: read now
        (
            "UpdateEndpointWeightsAndCapacities",
            {
                "EndpointName": "ep",
                "DesiredWeightsAndCapacities": [
                    {"VariantName": "blue", "DesiredWeight": 90.0},
                    {"VariantName": "green", "DesiredWeight": 10.0},
                ],
            },
        ),
    ]
    assert result.memory.desired_weights == {"blue": 90.0, "green": 10.0}
    # What SageMaker acts on: the desired weights, while it still serves the old ones.
    assert aws.endpoint is not None
    assert aws.endpoint.status == EndpointStatus.UPDATING
    assert [(v.name, v.current_weight, v.desired_weight) for v in aws.endpoint.variants] == [
        ("blue", 1.0, 90.0),
        ("green", 1.0, 10.0),
    ]


def test_while_sagemaker_applies_a_write_a_pass_writes_nothing_more() -> None:
    """UpdateEndpointWeightsAndCapacities leaves the endpoint Updating, which refuses another
    update (the fake refuses it as SageMaker does): the pass waits, without an AWS failure."""
    aws = split_aws()
    reconciler = TrafficSplitReconciler(aws.clients())
    wrote = reconciler.reconcile(fixed(), TARGET, TrafficSplitStatus(), NOW)
    waiting = reconciler.reconcile(fixed(), TARGET, wrote.memory, _at(5))
    assert aws.writes == ["UpdateEndpointWeightsAndCapacities"]
    assert waiting.aws_failure is None
    assert waiting.outcome.kind == OutcomeKind.PROGRESSING
    aws.finish_update()
    done = reconciler.reconcile(fixed(), TARGET, waiting.memory, _at(10))
    assert done.outcome.reason == "SplitApplied"
    assert aws.writes == ["UpdateEndpointWeightsAndCapacities"]


def test_a_refused_write_is_an_outcome_and_not_claimed_in_status() -> None:
    busy = AwsError(
        "sagemaker",
        "UpdateEndpointWeightsAndCapacities",
        "ValidationException",
        "Cannot update in-progress endpoint",
        400,
    )
    aws = split_aws(fail={"UpdateEndpointWeightsAndCapacities": busy})
    result = TrafficSplitReconciler(aws.clients()).reconcile(
        fixed(), TARGET, TrafficSplitStatus(), NOW
    )
    assert result.aws_failure is not None
    assert result.outcome.kind == OutcomeKind.PROGRESSING
    assert result.memory.desired_weights == {}
    assert result.executed == []


def test_a_refused_first_write_still_keeps_the_rollout_the_pass_started() -> None:
    """The planner's first `Remember` (before the write) stands: the canary is Progressing on
    this spec's rollout, and no weights are claimed as asked for."""
    busy = AwsError(
        "sagemaker", "UpdateEndpointWeightsAndCapacities", "ThrottlingException", "slow down", 400
    )
    aws = split_aws(fail={"UpdateEndpointWeightsAndCapacities": busy})
    result = TrafficSplitReconciler(aws.clients()).reconcile(
        canary(), TARGET, TrafficSplitStatus(), NOW
    )
    assert result.aws_failure is not None
    assert result.outcome.reason == "AwsUnavailable"
    assert result.memory.phase == Phase.PROGRESSING
    assert result.memory.rollout_hash is not None
    assert result.memory.desired_weights == {}
    assert result.executed == []
    assert result.recheck_after is None  # the driver's backoff, not the planner's deadline


def test_a_failed_read_leaves_the_status_as_it_was() -> None:
    throttled = AwsError("sagemaker", "DescribeEndpoint", "ThrottlingException", "slow down", 400)
    aws = split_aws(fail={"DescribeEndpoint": throttled})
    previous = TrafficSplitStatus(phase=Phase.SUCCEEDED, reason="SplitApplied")
    result = TrafficSplitReconciler(aws.clients()).reconcile(fixed(), TARGET, previous, NOW)
    assert result.memory == previous
    assert result.outcome.reason == "AwsUnavailable"


def test_metrics_are_read_only_once_the_step_is_live_and_a_look_is_due() -> None:
    aws = split_aws()
    reconciler = TrafficSplitReconciler(aws.clients())
    first = reconciler.reconcile(canary(), TARGET, TrafficSplitStatus(), NOW)
    # Weights not live yet: alarms are read, metrics are not.
    assert "GetMetricData" not in aws.operations
    assert aws.operations.count("DescribeAlarms") == 1
    assert aws.operations[-1] == "UpdateEndpointWeightsAndCapacities"
    aws.finish_update()
    live = reconciler.reconcile(canary(), TARGET, first.memory, NOW)
    assert live.memory.step_started_at is not None
    assert "GetMetricData" not in aws.operations
    later = datetime.fromtimestamp(NOW.timestamp() + 30, UTC)
    looked = reconciler.reconcile(canary(), TARGET, live.memory, later)
    (read,) = [detail for op, detail in aws.calls if op == "GetMetricData"]
    start, end = read
    assert start >= NOW
    assert end <= later
    assert looked.findings.look is not None
    assert looked.findings.look.verdict.value == "Pass"
    # The promotion is written down first (write-ahead), and written by the next pass.
    assert looked.executed == []
    assert looked.memory.phase == Phase.PROMOTING
    assert looked.memory.desired_weights == {"blue": 0.0, "green": 100.0}
    promoting = reconciler.reconcile(canary(), TARGET, looked.memory, later)
    (promotion,) = promoting.executed
    assert promotion.as_dict == {"blue": 0.0, "green": 100.0}
    assert promoting.memory.phase == Phase.PROMOTING


def test_at_rest_a_split_may_use_a_read_another_pass_made_in_the_last_minutes() -> None:
    aws = split_aws({"blue": 90.0, "green": 10.0})
    reconciler = TrafficSplitReconciler(aws.clients())
    applied = reconciler.reconcile(fixed(), TARGET, TrafficSplitStatus(), NOW)
    assert applied.memory.phase == Phase.SUCCEEDED
    at_rest = reconciler.reconcile(fixed(), TARGET, applied.memory, NOW)
    assert at_rest.outcome.reason == "SplitApplied"
    assert aws.calls == [
        ("DescribeEndpoint", ("ep", None)),  # Initializing: read now
        ("DescribeEndpoint", ("ep", NOW.timestamp() - SHARED_ENDPOINT_READ_SECONDS)),
    ]


def test_weights_changed_out_of_band_at_rest_are_put_back() -> None:
    aws = split_aws({"blue": 90.0, "green": 10.0})
    reconciler = TrafficSplitReconciler(aws.clients())
    applied = reconciler.reconcile(fixed(), TARGET, TrafficSplitStatus(), NOW)
    aws.serve_weights({"blue": 50.0, "green": 50.0})
    drifted = reconciler.reconcile(fixed(), TARGET, applied.memory, NOW)
    assert aws.operations[-1] == "UpdateEndpointWeightsAndCapacities"
    assert drifted.outcome.kind == OutcomeKind.PROGRESSING
    # Until the weights are seen live again, the endpoint is read afresh.
    aws.finish_update()
    back = reconciler.reconcile(fixed(), TARGET, drifted.memory, NOW)
    assert aws.calls[-1] == ("DescribeEndpoint", ("ep", None))
    assert back.outcome.reason == "SplitApplied"


# --------------------------------------------------------------------------- AWS outages


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(NOW.timestamp() + seconds, UTC)


def _short_deadline(**overrides: Any) -> TrafficSplitSpec:
    spec = canary().model_dump(by_alias=True, exclude_none=True)
    spec.pop("autoRollback")
    spec.update(progressDeadlineSeconds=120, **overrides)
    return TrafficSplitSpec.model_validate(spec)


def _live_step(reconciler: TrafficSplitReconciler, aws: FakeAws) -> TrafficSplitStatus:
    spec = _short_deadline()
    first = reconciler.reconcile(spec, TARGET, TrafficSplitStatus(), NOW)
    aws.finish_update()
    live = reconciler.reconcile(spec, TARGET, first.memory, NOW)
    assert live.memory.step_started_at is not None
    assert live.memory.phase == Phase.PROGRESSING
    return live.memory


def test_a_step_whose_metrics_cannot_be_read_pauses_at_its_deadline() -> None:
    """Issue 18: with CloudWatch failing, a canary with a 120 s progressDeadlineSeconds sat
    410 s in AwsUnavailable and never paused. The deadline counts through the outage: the
    step stops without a verdict, and nothing is written while AWS fails."""
    unavailable = AwsError(
        "cloudwatch", "GetMetricData", "ServiceUnavailable", "Service Unavailable", 503
    )
    aws = split_aws()
    reconciler = TrafficSplitReconciler(aws.clients())
    status = _live_step(reconciler, aws)
    aws.fail = {"GetMetricData": unavailable}
    writes = len(aws.writes)

    early = reconciler.reconcile(_short_deadline(), TARGET, status, _at(60))
    assert early.aws_failure is not None
    assert early.outcome.reason == "AwsUnavailable"
    assert early.outcome.kind == OutcomeKind.PROGRESSING
    assert early.memory.phase == Phase.PROGRESSING

    late = reconciler.reconcile(_short_deadline(), TARGET, early.memory, _at(125))
    assert late.aws_failure is not None
    assert late.outcome.kind == OutcomeKind.STALLED
    assert late.outcome.reason == "InsufficientTraffic"
    assert late.memory.phase == Phase.PAUSED
    assert late.memory.reason == "InsufficientTraffic"
    assert "AWS unavailable" in (late.memory.message or "")
    assert "ServiceUnavailable" in (late.memory.message or "")
    assert [t.phase for t in late.findings.transitions] == [Phase.PAUSED]
    assert len(aws.writes) == writes, "nothing written while AWS fails"
    assert late.memory.live_weights == status.live_weights, "the last weights read, kept"

    # AWS answers again: the paused step takes the candidate out of traffic (the default
    # onInsufficientTraffic: Baseline) without reading metrics, never promoting.
    aws.fail = {}
    back = reconciler.reconcile(_short_deadline(), TARGET, late.memory, _at(130))
    assert back.memory.phase == Phase.PAUSED
    assert back.memory.desired_weights == {"blue": 100.0, "green": 0.0}
    after = reconciler.reconcile(_short_deadline(), TARGET, back.memory, _at(131))
    (taken_out,) = after.executed
    assert taken_out.as_dict == {"blue": 100.0, "green": 0.0}


def test_an_endpoint_that_cannot_be_read_pauses_a_step_waiting_for_its_weights() -> None:
    """The wait for weights counts from the first failing pass; the canary pauses (never
    promotes) at the deadline and goes on by itself once SageMaker answers."""
    throttled = AwsError("sagemaker", "DescribeEndpoint", "ThrottlingException", "slow down", 400)
    aws = split_aws()
    reconciler = TrafficSplitReconciler(aws.clients())
    spec = _short_deadline(skipAnalysis=True, steps=[{"setWeight": 10, "pause": {}}])
    first = reconciler.reconcile(spec, TARGET, TrafficSplitStatus(), NOW)
    assert first.memory.desired_weights == {"blue": 90.0, "green": 10.0}
    aws.fail = {"DescribeEndpoint": throttled}
    waiting = reconciler.reconcile(spec, TARGET, first.memory, _at(10))
    assert waiting.outcome.reason == "AwsUnavailable"
    assert waiting.memory.waiting_since is not None
    late = reconciler.reconcile(spec, TARGET, waiting.memory, _at(131))
    assert late.outcome.kind == OutcomeKind.STALLED
    assert late.memory.phase == Phase.PAUSED
    assert late.memory.reason == "AwsUnavailable"
    assert late.memory.desired_weights == {"blue": 90.0, "green": 10.0}
    aws.fail = {}
    aws.finish_update()
    resumed = reconciler.reconcile(spec, TARGET, late.memory, _at(140))
    assert resumed.memory.phase == Phase.PAUSED
    assert resumed.memory.reason == "ManualGate"
    assert resumed.memory.step_started_at is not None


def test_a_failure_at_rest_or_in_a_pause_has_no_deadline_to_judge() -> None:
    throttled = AwsError("sagemaker", "DescribeEndpoint", "ThrottlingException", "slow down", 400)
    aws = split_aws({"blue": 90.0, "green": 10.0})
    reconciler = TrafficSplitReconciler(aws.clients())
    applied = reconciler.reconcile(fixed(), TARGET, TrafficSplitStatus(), NOW)
    assert applied.memory.phase == Phase.SUCCEEDED
    aws.fail = {"DescribeEndpoint": throttled}
    failed = reconciler.reconcile(fixed(), TARGET, applied.memory, _at(3600))
    assert failed.memory == applied.memory
    assert failed.outcome.reason == "AwsUnavailable"
    assert failed.outcome.kind == OutcomeKind.PROGRESSING


# --------------------------------------------------------------------------- hand-back


def test_the_split_says_when_it_succeeds_what_deleting_it_hands_back() -> None:
    target = SplitSurroundings(
        EndpointReferenceTarget(
            "ep", frozenset({"blue", "green"}), spec_weights=(("blue", 1.0), ("green", 1.0))
        )
    )
    aws = split_aws({"blue": 90.0, "green": 10.0})
    reconciler = TrafficSplitReconciler(aws.clients())
    previous = TrafficSplitStatus()
    applied = reconciler.reconcile(fixed(), target, previous, NOW)
    assert applied.memory.phase == Phase.SUCCEEDED
    context = ObjectContext("ns", "ninety-ten", 1, previous, related=target)
    events = report_pass(applied, context, "ep").events
    (said,) = [e for e in events if e.reason == "HandBackOnDelete"]
    assert "blue 50%, green 50% instead of blue 90%, green 10%" in said.message
    # Said once: the next pass at rest, handing back the same, says nothing.
    again = reconciler.reconcile(fixed(), target, applied.memory, NOW)
    later = ObjectContext("ns", "ninety-ten", 1, applied.memory, related=target)
    assert not [e for e in report_pass(again, later, "ep").events if e.reason == "HandBackOnDelete"]

    # Deleting: the ModelEndpoint's spec changed since (now 3:1): said before it applies.
    changed = EndpointReferenceTarget(
        "ep", frozenset({"blue", "green"}), spec_weights=(("blue", 3.0), ("green", 1.0))
    )
    gone = report_deletion(fixed(), later, changed)
    assert gone.outcome.kind == OutcomeKind.READY
    assert "blue 75%, green 25%" in gone.outcome.message
    assert [e.reason for e in gone.events] == ["HandBackOnDelete"]
    assert "blue 75%, green 25%" in gone.events[0].message


# --------------------------------------------------------------------------- any AWS call failing


def _two_step_canary() -> TrafficSplitSpec:
    spec = canary().model_dump(by_alias=True, exclude_none=True)
    spec["steps"] = [{"setWeight": 10}, {"setWeight": 50}]
    return TrafficSplitSpec.model_validate(spec)


def _throttled(operation: str) -> AwsError:
    return AwsError("sagemaker", operation, "ThrottlingException", "Rate exceeded", 400)


EP_SPEC = model_endpoint_spec(variant("blue"), variant("green"), endpointName="ep")
"""The ModelEndpoint whose endpoint `ep` the split manages: blue and green at 1:1."""


def _walk(fail: dict[str, AwsError]) -> list[tuple[list[str], SplitPass | ReconcileResult]]:
    """A canary through its two steps (weights written, rollback alarms read, metrics
    looked at) to its promotion, passes at rest, then deleted: deleting the split calls
    nothing itself, and the ModelEndpoint hands its own weights back (its pass writes
    them, once no split manages them). The calls of each pass and its result. With `fail`,
    each named operation fails whenever it is called; between passes SageMaker finishes any
    update in flight."""
    passes: list[tuple[list[str], SplitPass | ReconcileResult]] = []
    want = desired_endpoint(EP_SPEC, namespace="ns", name="ep")
    aws = split_aws(
        fail=fail,
        endpoint_owner="ns/ep",
        models=set(want.model_names),
        configs={want.config_name},
    )
    assert aws.endpoint is not None
    aws.endpoint = replace(aws.endpoint, config_name=want.config_name)

    def step(run: Any, *args: Any, **kwargs: Any) -> Any:
        before = len(aws.calls)
        result = run(*args, **kwargs)
        passes.append((aws.operations[before:], result))
        if aws.endpoint is not None and aws.endpoint.status == EndpointStatus.UPDATING:
            aws.finish_update()
        return result.memory

    splits = TrafficSplitReconciler(aws.clients())
    spec, status = _two_step_canary(), TrafficSplitStatus()
    for second in range(0, 120, 10):  # well within the default progressDeadlineSeconds
        status = step(splits.reconcile, spec, TARGET, status, _at(second))
    endpoints = ModelEndpointReconciler(aws.clients())
    memory = Memory(
        attempted_config=want.config_name,
        cleaned_for_config=want.config_name,
        warmed_for_config=want.config_name,
    )
    for _ in range(2):
        memory = step(
            endpoints.reconcile, EP_SPEC, namespace="ns", name="ep", memory=memory, now=NOW
        )
        if "UpdateWeightsAndCapacities" in passes[-1][0]:
            aws.serve_weights({"blue": 1.0, "green": 1.0})  # SageMaker applies the hand-back
    return passes


WALKED = sorted({op for calls, _ in _walk({}) for op in calls})


def test_the_walk_reaches_every_kind_of_call() -> None:
    """The walk is only as good as the calls it makes: weights read and written, rollback
    alarms and metrics read, through to the promotion; deleting the split calls nothing."""
    passes = _walk({})
    assert {
        "DescribeEndpoint",
        "DescribeAlarms",
        "GetMetricData",
        "UpdateEndpointWeightsAndCapacities",
        "UpdateWeightsAndCapacities",
    } <= set(WALKED)
    assert [op for calls, _ in passes for op in calls].count(
        "UpdateEndpointWeightsAndCapacities"
    ) == 3  # two steps and the promotion
    promoted = [r for _, r in passes if isinstance(r.memory, TrafficSplitStatus)][-1]
    assert (promoted.outcome.kind, promoted.memory.phase) == (OutcomeKind.READY, Phase.SUCCEEDED)
    # Deleting the split (report_deletion: no clients at all) only says what is handed back.
    context = ObjectContext("ns", "canary", 1, promoted.memory, related=TARGET.target)
    assert report_deletion(_two_step_canary(), context, TARGET.target).outcome.kind == (
        OutcomeKind.READY
    )
    # The hand-back: the ModelEndpoint writes its 1:1 over the promotion's 0:100.
    (handed_back,) = [calls for calls, _ in passes if "UpdateWeightsAndCapacities" in calls]
    assert handed_back[-1] == "UpdateWeightsAndCapacities"
    assert passes[-1][1].outcome.kind == OutcomeKind.READY  # 1:1 served again


@pytest.mark.parametrize("operation", WALKED)
def test_any_call_throttled_at_any_point_is_the_pass_outcome_never_an_exception(
    operation: str,
) -> None:
    """Whatever call AWS refuses with a throttle, the pass that made it ends Reconciling
    with AWS's error (no deadline runs out in the walk), and no pass raises."""
    assert_a_refused_call_ends_its_pass(_walk({operation: _throttled(operation)}), operation)
