"""The planners on arbitrary input: any spec the schema admits, any AWS state (inconsistent
ones too: variants missing or extra, unknown statuses, None fields, huge counts), any memory.

Each planner must answer every pass with a plan or the reads it needs, and never raise: an
exception is a crash loop in the operator. Where the world already matches the spec, a pass
writes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from serving_operator.api.edgemodel import EdgeModelSpec
from serving_operator.api.modelendpoint import ModelEndpointSpec
from serving_operator.api.trafficsplit import Phase, TrafficSplitSpec, TrafficSplitStatus
from serving_operator.planning.edgemodel.desired import desired_edge_model
from serving_operator.planning.edgemodel.memory import Memory as EdgeMemory
from serving_operator.planning.edgemodel.memory import Rollback, StageMemory, StagePhase
from serving_operator.planning.edgemodel.observed import (
    AtRestView,
    CompilationStatus,
    ComponentState,
    DeviceCounts,
    EdgeLookups,
    EdgeModelObservation,
    EdgeModelReads,
    ObservedCompilation,
    ObservedComponentVersion,
    ObservedDeployment,
    ObservedGroup,
    ObservedJob,
)
from serving_operator.planning.edgemodel.planner import (
    plan_edge_model,
    plan_edge_model_deletion,
    plan_from_observation,
)
from serving_operator.planning.failures import AwsFailure, FailureCategory
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint, desired_endpoint
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.modelendpoint.observed import (
    EndpointLookups,
    EndpointStatus,
    ModelEndpointObservation,
    ObservedArtifacts,
    ObservedEndpoint,
    ObservedScaling,
    ObservedVariant,
)
from serving_operator.planning.modelendpoint.planner import (
    changes_made,
    plan_model_endpoint,
    plan_model_endpoint_deletion,
    scaling_fingerprint,
)
from serving_operator.planning.outcome import OutcomeKind, Plan, Remember
from serving_operator.planning.ownership import ObservedOwner, owner_id
from serving_operator.planning.trafficsplit.findings import remembered, weight_writes
from serving_operator.planning.trafficsplit.observed import (
    AlarmState,
    AnalysisData,
    EndpointReferenceTarget,
    EndpointWeights,
    Requests,
    SplitObservation,
    VariantTotals,
    VariantWeights,
)
from serving_operator.planning.trafficsplit.outage import plan_after_failure
from serving_operator.planning.trafficsplit.planner import plan_traffic_split
from serving_operator.planning.trafficsplit.steps import rollout_hash
from serving_operator.reconcile.passes import MAX_LOOKUP_ROUNDS

ROLE = "arn:aws:iam::123456789012:role/SageMaker"
NOW = 1_800_000_000.0
ENDPOINT_NOW = datetime.fromtimestamp(NOW, UTC)
OWNER = owner_id("ns", "bikes")
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_PASSES = 6
"""Lookup rounds a pass may take before it must decide (the reconciler loops as often)."""

names = st.sampled_from(["a", "b", "c", "version-1-2-2"])
big_int = st.one_of(st.integers(-5, 5), st.integers(0, 10**12), st.none())
big_float = st.one_of(
    st.none(),
    st.floats(min_value=-1e6, max_value=1e12, allow_nan=False, allow_infinity=False),
)


def _valid(model: type[pydantic.BaseModel], data: dict[str, Any]) -> Any:
    """The spec if the schema admits it; otherwise hypothesis tries another."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError:
        assume(False)


# --------------------------------------------------------------------------- ModelEndpoint


@st.composite
def variant_specs(draw: st.DrawFn, name: str) -> dict[str, Any]:
    variant: dict[str, Any] = {
        "name": name,
        "model": {
            "image": draw(st.sampled_from(["img:1", "img:2"])),
            "modelDataUrl": "s3://bucket/model.tar.gz",
            "environment": draw(
                st.dictionaries(st.sampled_from(["A", "B_1"]), st.text(max_size=5))
            ),
        },
        "weight": draw(st.sampled_from([0.0, 0.5, 1.0, 1000.0])),
    }
    if draw(st.booleans()):
        variant["serverless"] = {
            "memorySizeInMB": 2048,
            "maxConcurrency": draw(st.integers(1, 200)),
        }
        return variant
    variant["instanceType"] = "ml.m5.large"
    variant["instanceCount"] = draw(st.sampled_from([1, 2, 1000]))
    if draw(st.booleans()):
        low = draw(st.integers(1, 1000))
        variant["autoscaling"] = {
            "minInstances": low,
            "maxInstances": draw(st.integers(low, 1000)),
            "targetValue": draw(st.sampled_from([1.0, 70.5, 1_000_000.0])),
        }
    return variant


@st.composite
def model_endpoint_specs(draw: st.DrawFn) -> ModelEndpointSpec:
    chosen = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    variants = [draw(variant_specs(n)) for n in chosen]
    if all(v["weight"] == 0 for v in variants):
        variants[0]["weight"] = 1.0
    data: dict[str, Any] = {"executionRoleArn": ROLE, "variants": variants}
    if len(variants) == 1 and draw(st.booleans()):
        data["shadowVariants"] = [draw(variant_specs("shadow"))]
    if draw(st.booleans()):
        data["deployment"] = {
            "rollingUpdate": {"maximumBatchSizePercent": 10, "waitIntervalSeconds": 0}
        }
    data["tags"] = draw(
        st.dictionaries(st.sampled_from(["team", "cost"]), st.text("ab ", max_size=3))
    )
    return _valid(ModelEndpointSpec, data)


@st.composite
def observed_endpoints(draw: st.DrawFn, desired: DesiredEndpoint) -> ObservedEndpoint | None:
    if draw(st.booleans()):
        return None
    variant_names = [v.name for v in desired.variants] + ["stranger"]
    variants = draw(
        st.lists(
            st.builds(
                ObservedVariant,
                st.sampled_from(variant_names),
                big_float,
                big_float,
                big_int,
                big_int,
            ),
            max_size=4,
            unique_by=lambda v: v.name,
        )
    )
    return ObservedEndpoint(
        name=desired.endpoint_name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{desired.endpoint_name}",
        status=draw(st.sampled_from(list(EndpointStatus))),
        config_name=draw(st.sampled_from([desired.config_name, "someone-elses-config", ""])),
        failure_reason=draw(st.one_of(st.none(), st.text(max_size=20))),
        variants=tuple(variants),
    )


def _scaling(draw: st.DrawFn, desired: DesiredEndpoint, variants: frozenset[str]) -> Any:
    scaling = {}
    for name in variants:
        resource_id = f"endpoint/{desired.endpoint_name}/variant/{name}"
        if draw(st.booleans()):
            policies = draw(
                st.dictionaries(
                    st.sampled_from([f"serving-operator-{name}", "someone-elses"]),
                    st.fixed_dictionaries({"TargetValue": st.floats(0, 1e6)}),
                    max_size=2,
                )
            )
            scaling[resource_id] = ObservedScaling(
                resource_id, draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)), policies
            )
    return scaling


def _answer(
    draw: st.DrawFn,
    desired: DesiredEndpoint,
    observed: ModelEndpointObservation,
    wanted: EndpointLookups,
) -> ModelEndpointObservation:
    """What AWS might answer to the planner's reads: anything, consistent or not."""
    configs = st.frozensets(st.sampled_from([desired.config_name, "old-config", "other"]))
    models = st.frozensets(st.sampled_from([*desired.model_names, "old-model"]))
    if wanted.artifacts:
        observed = replace(
            observed,
            artifacts=ObservedArtifacts(draw(models), draw(st.booleans())),
        )
    if wanted.owner:
        owner = draw(st.sampled_from([OWNER, "ns/someone-else", None]))
        observed = replace(observed, owner=ObservedOwner(owner))
    if wanted.owned_objects:
        observed = replace(observed, owned_configs=draw(configs), owned_models=draw(models))
    if wanted.scaling_variants:
        observed = replace(
            observed,
            scaling=_scaling(draw, desired, wanted.scaling_variants),
            scaling_read_for=wanted.scaling_variants,
        )
    if wanted.model_prefixes:
        found = draw(st.lists(st.sampled_from(["a.tar.gz", "b.tar.gz"]), max_size=2))
        observed = replace(
            observed,
            models_listed={
                **observed.models_listed,
                **{prefix: tuple(found) for prefix in wanted.model_prefixes},
            },
        )
    return observed


memories = st.builds(
    Memory,
    attempted_config=st.one_of(st.none(), st.sampled_from(["old-config", "x"])),
    cleaned_for_config=st.one_of(st.none(), st.just("old-config")),
    warmed_for_config=st.one_of(st.none(), st.just("old-config")),
    scaling_registered=st.booleans(),
    scaling_checked=st.one_of(st.none(), st.text(max_size=8)),
    scaling_checked_at=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    models_listed_for_config=st.one_of(st.none(), st.just("old-config")),
    models_listed_at=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
)


@FUZZ
@given(model_endpoint_specs(), memories, st.booleans(), st.data())
def test_model_endpoint_planner_answers_any_state_with_a_plan(
    spec: ModelEndpointSpec, memory: Memory, adopt: bool, data: st.DataObject
) -> None:
    desired = desired_endpoint(spec, namespace="ns", name="bikes")
    observed = ModelEndpointObservation(data.draw(observed_endpoints(desired)))
    memory = data.draw(
        st.sampled_from([memory, replace(memory, attempted_config=desired.config_name)])
    )
    for _ in range(MAX_PASSES):
        result = plan_model_endpoint(
            desired, observed, memory, owner=OWNER, adopt=adopt, now=ENDPOINT_NOW
        )
        if isinstance(result, Plan):
            break
        assert result != EndpointLookups(), "an EndpointLookups must ask for something"
        observed = _answer(data.draw, desired, observed, result)
    assert isinstance(result, Plan), f"still asking after {MAX_PASSES} rounds: {result}"
    if result.outcome.kind == OutcomeKind.STALLED:
        assert result.outcome.reason
        assert result.outcome.message

    deletion: Plan[Any] | EndpointLookups = EndpointLookups()
    for _ in range(MAX_PASSES):
        deletion = plan_model_endpoint_deletion(
            desired.endpoint_name,
            frozenset(v.name for v in desired.variants),
            observed,
            memory,
            owner=OWNER,
            retain=False,
            autoscaled=bool(desired.autoscaled),
        )
        if isinstance(deletion, Plan):
            break
        observed = _answer(data.draw, desired, observed, deletion)
    assert isinstance(deletion, Plan)
    if observed.owner is not None and observed.owner.owner != OWNER:
        # Not ours: whatever else goes, the endpoint stays.
        assert not any(type(a).__name__ == "DeleteEndpoint" for a in deletion.actions)


def _converged(desired: DesiredEndpoint) -> tuple[ModelEndpointObservation, Memory]:
    """AWS exactly as the spec says, owned by us, and the memory of having made it so."""
    endpoint = ObservedEndpoint(
        name=desired.endpoint_name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{desired.endpoint_name}",
        status=EndpointStatus.IN_SERVICE,
        config_name=desired.config_name,
        failure_reason=None,
        variants=tuple(
            ObservedVariant(v.name, v.weight, v.weight, v.instance_count, v.instance_count)
            for v in desired.variants
        ),
    )
    scaled = frozenset(v.name for v in desired.variants)
    scaling = {
        a.resource_id: ObservedScaling(
            a.resource_id, a.min_instances, a.max_instances, {a.policy_name: a.policy}
        )
        for a in desired.autoscaled
    }
    memory = Memory(
        attempted_config=desired.config_name,
        cleaned_for_config=desired.config_name,
        warmed_for_config=desired.config_name,
        scaling_registered=bool(desired.autoscaled),
        scaling_checked=scaling_fingerprint(desired, scaled),
        scaling_checked_at=ENDPOINT_NOW,
        models_listed_for_config=desired.config_name,
        models_listed_at=ENDPOINT_NOW,
    )
    observed = ModelEndpointObservation(
        endpoint, owner=ObservedOwner(OWNER), scaling=scaling, scaling_read_for=scaled
    )
    return observed, memory


@FUZZ
@given(model_endpoint_specs())
def test_a_converged_model_endpoint_plans_no_writes(spec: ModelEndpointSpec) -> None:
    desired = desired_endpoint(spec, namespace="ns", name="bikes")
    observed, memory = _converged(desired)
    plan = plan_model_endpoint(
        desired, observed, memory, owner=OWNER, adopt=False, now=ENDPOINT_NOW + timedelta(seconds=1)
    )
    assert isinstance(plan, Plan)
    assert plan.outcome.kind == OutcomeKind.READY, plan.outcome
    assert changes_made(plan.actions) == ()


# --------------------------------------------------------------------------- TrafficSplit

CANARY_ANALYSIS = {
    "interval": 10,
    "minSampleSize": 10,
    "metrics": [
        {"name": "errors", "type": "ErrorRate"},
        {"name": "p99", "type": "Latency", "thresholdRange": {"max": 1000}},
    ],
}


@st.composite
def traffic_split_specs(draw: st.DrawFn) -> TrafficSplitSpec:
    data: dict[str, Any] = {"endpointRef": {"name": "bikes"}}
    form = draw(st.sampled_from(["weights", "steps", "shorthand"]))
    if form == "weights":
        weights = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"variant": names, "weight": st.sampled_from([0.0, 1.0, 999.5])}
                ),
                min_size=1,
                max_size=3,
                unique_by=lambda w: w["variant"],
            )
        )
        weights[0]["weight"] = 1.0
        data["weights"] = weights
    else:
        data["baseline"], data["candidate"] = "a", "b"
        if form == "steps":
            data["steps"] = draw(
                st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "setWeight": st.integers(0, 100),
                            "pause": st.one_of(
                                st.just({}), st.builds(dict, duration=st.integers(0, 86400))
                            ),
                            "analysis": st.booleans(),
                        },
                    ),
                    min_size=1,
                    max_size=5,
                )
            )
        else:
            step = draw(st.integers(1, 100))
            data["stepWeight"], data["maxWeight"] = step, draw(st.integers(step, 100))
        if draw(st.booleans()):
            data["skipAnalysis"] = True
        else:
            data["analysis"] = CANARY_ANALYSIS | {
                "onInsufficientTraffic": draw(st.sampled_from(["Baseline", "Hold"]))
            }
        data["promotion"] = draw(st.sampled_from(["Auto", "Manual"]))
        data["onSuccess"] = draw(st.sampled_from(["PromoteCandidate", "KeepSplit"]))
        if draw(st.booleans()):
            data["autoRollback"] = {"alarms": ["latency-high"]}
    data["paused"] = draw(st.booleans())
    return _valid(TrafficSplitSpec, data)


T0 = datetime(2026, 1, 1, tzinfo=UTC)
timestamps = st.one_of(
    st.none(),
    st.integers(-86400, 86400).map(lambda s: (T0 + timedelta(seconds=s)).isoformat()),
    st.sampled_from(["", "yesterday", "2026-13-45T99:00:00Z", "2026-01-01T00:00:00"]),
)


# Often the weights a step asks for (so passes find them live and go on), sometimes junk.
split_weights = st.one_of(st.sampled_from([None, 0.0, 10.0, 50.0, 90.0, 100.0]), big_float)


@st.composite
def split_statuses(draw: st.DrawFn) -> TrafficSplitStatus:
    return TrafficSplitStatus(
        phase=draw(st.sampled_from([Phase.PROGRESSING, Phase.PAUSED, None, *Phase])),
        reason=draw(st.one_of(st.none(), st.sampled_from(["InsufficientTraffic", "ManualGate"]))),
        rollout_hash=draw(st.one_of(st.none(), st.text(max_size=4))),
        step_index=draw(st.one_of(st.none(), st.integers(-3, 60))),
        step_started_at=draw(timestamps),
        waiting_since=draw(timestamps),
        pause_started_at=draw(timestamps),
        last_analysis_at=draw(timestamps),
        failed_checks=draw(st.integers(0, 200)),
        analysis_done=draw(st.one_of(st.none(), st.booleans())),
    )


@st.composite
def split_observations(draw: st.DrawFn) -> SplitObservation:
    # Mostly consistent (the variants the spec names exist, the endpoint is in service), so
    # passes reach the deep states; sometimes anything at all.
    every = frozenset({"a", "b", "c", "version-1-2-2"})
    variant_names = draw(st.one_of(st.just(every), st.just(every), st.frozensets(names)))
    endpoint = None
    if draw(st.integers(0, 3)):
        endpoint = EndpointWeights(
            "bikes",
            draw(st.sampled_from(["InService", "InService", "Updating", "Failed", "Whatever", ""])),
            tuple(
                VariantWeights(n, draw(split_weights), draw(split_weights))
                for n in sorted(draw(st.one_of(st.just(every), st.frozensets(names))))
            ),
        )
    return SplitObservation(
        now=T0 + timedelta(seconds=draw(st.integers(0, 200_000))),
        target=draw(
            st.one_of(st.none(), *[st.just(EndpointReferenceTarget("bikes", variant_names))] * 3)
        ),
        endpoint=endpoint,
        competing_split=draw(st.sampled_from([None, None, None, "other"])),
        requests=Requests(
            promote=draw(st.one_of(st.none(), st.just("1"))),
            abort=draw(st.one_of(st.none(), st.just("1"))),
            retry=draw(st.one_of(st.none(), st.just("1"))),
        ),
    )


@FUZZ
@given(traffic_split_specs(), split_statuses(), st.data())
def test_traffic_split_planner_answers_any_state_with_a_plan(
    spec: TrafficSplitSpec, previous: TrafficSplitStatus, data: st.DataObject
) -> None:
    """A run of passes, each on a new arbitrary observation, carrying the status on; the
    first status is arbitrary too (hand-edited timestamps, steps past the end)."""
    totals = st.builds(
        VariantTotals, st.integers(0, 10**9), st.integers(0, 10**6), st.integers(0, 10**6)
    ).filter(lambda t: t.errors_5xx <= t.invocations and t.errors_4xx <= t.invocations)
    status = previous.model_copy(
        update={"rollout_hash": data.draw(st.sampled_from([None, rollout_hash(spec)]))}
    )
    for _ in range(4):
        observed = data.draw(split_observations())
        for _ in range(MAX_PASSES):
            result = plan_traffic_split(spec, observed, status)
            if isinstance(result, Plan):
                break
            if result.metrics is not None:
                observed = replace(
                    observed,
                    metrics=AnalysisData(
                        result.metrics,
                        data.draw(st.dictionaries(names, totals, max_size=3)),
                        data.draw(st.dictionaries(names, st.integers(0, 10**6), max_size=3)),
                        data.draw(
                            st.dictionaries(st.tuples(st.just("p99"), names), big_float, max_size=3)
                        ),
                    ),
                )
            alarm_states = st.sampled_from(list(AlarmState))
            observed = replace(
                observed,
                alarms=data.draw(st.dictionaries(st.just("latency-high"), alarm_states)),
            )
        assert isinstance(result, Plan), f"still asking after {MAX_PASSES} rounds: {result}"
        if result.outcome.kind == OutcomeKind.STALLED:
            assert result.outcome.reason
        assert result.outcome.message
        # What the driver writes back must read back.
        status = TrafficSplitStatus.model_validate(remembered(result).model_dump())
        # A pass AWS failed: only a deadline is judged, nothing written, never a promotion.
        failure = AwsFailure(
            "cloudwatch",
            "GetMetricData",
            "ServiceUnavailable",
            "down",
            data.draw(st.sampled_from(list(FailureCategory))),
            "cloudwatch:GetMetricData",
        )
        outage = plan_after_failure(spec, status, observed.now, failure)
        if outage is not None:
            assert weight_writes(outage) == ()
            after = remembered(outage)
            assert after.desired_weights == status.desired_weights
            if after.phase != status.phase:
                assert after.phase == Phase.PAUSED
            TrafficSplitStatus.model_validate(after.model_dump())


def test_traffic_split_paused_for_insufficient_traffic_without_a_saved_message_says_why() -> None:
    """The property test above reaches this state only in some runs (it needs Paused,
    InsufficientTraffic, the rollout's own hash, a step in range and no request at once): a
    status that says why the split stopped lost its message (hand-edited, or written by an
    older operator), and the Stalled condition must still tell the user what to do."""
    spec = TrafficSplitSpec.model_validate(
        {
            "endpointRef": {"name": "bikes"},
            "baseline": "a",
            "candidate": "b",
            "steps": [{"setWeight": 10}, {"setWeight": 50}],
            "analysis": CANARY_ANALYSIS,
        }
    )
    previous = TrafficSplitStatus(
        phase=Phase.PAUSED,
        reason="InsufficientTraffic",
        message=None,
        rollout_hash=rollout_hash(spec),
        step_index=1,
        step_started_at=T0.isoformat(),
    )
    observed = SplitObservation(
        now=T0 + timedelta(hours=1),
        target=EndpointReferenceTarget("bikes", frozenset({"a", "b"})),
        endpoint=EndpointWeights(
            "bikes", "InService", (VariantWeights("a", 50.0, 50.0), VariantWeights("b", 50.0, 50.0))
        ),
    )

    result = plan_traffic_split(spec, observed, previous)

    assert isinstance(result, Plan)
    assert result.outcome.kind == OutcomeKind.STALLED
    assert result.outcome.reason == "InsufficientTraffic"
    assert "step 2" in result.outcome.message
    assert "promote (the promotion), retry (this step again) or abort" in result.outcome.message
    assert remembered(result).message == result.outcome.message


# --------------------------------------------------------------------------- EdgeModel


@st.composite
def edge_model_specs(draw: st.DrawFn) -> EdgeModelSpec:
    targets = draw(
        st.lists(
            st.sampled_from(
                [
                    {"name": "nano", "targetDevice": "jetson_nano"},
                    {"name": "arm", "targetPlatform": {"os": "LINUX", "arch": "ARM64"}},
                    {"name": "pi", "targetDevice": "rasp4b"},
                ]
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda t: t["name"],
        )
    )
    stages = [
        {
            "name": f"s{index}",
            "thingGroups": draw(
                st.lists(st.sampled_from(["g1", "g2", "g3"]), min_size=1, max_size=2, unique=True)
            ),
            "gate": {
                "minSuccessPercent": draw(st.sampled_from([0.0, 50.0, 100.0])),
                "bakeSeconds": draw(st.sampled_from([0, 10**9])),
                "manual": draw(st.booleans()),
            },
        }
        for index in range(draw(st.integers(1, 3)))
    ]
    data = {
        "source": "s3://models/classifier/model.tar.gz",
        "framework": "PYTORCH",
        "frameworkVersion": "1.8",
        "dataInputConfig": '{"input0": [1, 3, 224, 224]}',
        "roleArn": "arn:aws:iam::123456789012:role/Neo",
        "outputS3Uri": "s3://models/compiled",
        "targets": targets,
        "rollout": {
            "stages": stages,
            "onFailure": draw(st.sampled_from(["RollBack", "Halt"])),
            "stageDeadlineSeconds": draw(st.sampled_from([1, 600, 10**9])),
        },
    }
    return _valid(EdgeModelSpec, data)


counts = st.builds(DeviceCounts, *(st.integers(0, 10**9) for _ in range(8)))
EDGE_NOW = datetime.fromtimestamp(NOW, UTC)
moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
"""Any time a stage may have remembered, however far from now."""


@FUZZ
@given(edge_model_specs(), st.data())
def test_edge_model_planner_answers_any_state_with_a_plan(
    spec: EdgeModelSpec, data: st.DataObject
) -> None:
    desired = desired_edge_model(spec, namespace="ns", name="classifier")
    draw = data.draw
    compilations = {
        t.job_name: draw(
            st.one_of(
                st.none(),
                st.builds(
                    ObservedCompilation,
                    st.just(t.job_name),
                    st.sampled_from(list(CompilationStatus)),
                    st.one_of(st.none(), st.just("s3://models/compiled/x.tar.gz")),
                    st.one_of(st.none(), st.text(max_size=10)),
                ),
            )
        )
        for t in desired.targets
    }
    components = {
        (t.component_name, t.component_version): draw(
            st.one_of(
                st.none(),
                st.builds(
                    ObservedComponentVersion,
                    st.just(f"arn:aws:greengrass:us-east-1:1:components:{t.component_name}"),
                    st.sampled_from(list(ComponentState)),
                ),
            )
        )
        for t in desired.targets
    }
    groups = {}
    for group in ("g1", "g2", "g3"):
        latest = draw(
            st.one_of(
                st.none(),
                st.builds(
                    ObservedDeployment,
                    st.text(max_size=4),
                    st.sampled_from(["1", "2"]),
                    st.one_of(st.none(), st.just("job")),
                    st.sampled_from(["ACTIVE", "COMPLETED", "CANCELED", "FAILED", "??"]),
                    components=st.dictionaries(
                        st.sampled_from(
                            [t.component_name for t in desired.targets] + ["aws.greengrass.Cli"]
                        ),
                        st.fixed_dictionaries(
                            {"componentVersion": st.sampled_from(["1.0.0", "9.9.9"])}
                        ),
                    ),
                ),
            )
        )
        job = draw(
            st.one_of(
                st.none(),
                st.builds(
                    ObservedJob,
                    st.just("job"),
                    st.sampled_from(["IN_PROGRESS", "COMPLETED", "CANCELED", "??"]),
                    counts,
                ),
            )
        )
        arn = draw(st.one_of(st.none(), st.just(f"arn:aws:iot:us-east-1:1:thinggroup/{group}")))
        groups[group] = ObservedGroup(group, arn, latest, job)
    observed = EdgeModelObservation(
        compilations=compilations,
        components=components,
        groups=groups,
        published=draw(st.dictionaries(st.text(max_size=5), st.booleans(), max_size=2)),
        members=draw(
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {g: st.frozensets(st.sampled_from(["d1", "d2", "d3"])) for g in groups}
                ),
            )
        ),
    )
    stages = tuple(
        StageMemory(
            name=stage.name,
            phase=draw(st.sampled_from(list(StagePhase))),
            started_at=draw(moments),
            gate_met_at=draw(st.one_of(st.none(), moments)),
            counts=draw(counts),
        )
        for stage in desired.stages
        if draw(st.booleans())
    )
    memory = EdgeMemory(
        rollout_id=draw(st.one_of(st.none(), st.text(max_size=4))),
        stages=stages,
        consumed_promotion=draw(st.one_of(st.none(), st.just("1"))),
    )
    promotion = draw(st.one_of(st.none(), st.just("2")))
    plan = plan_from_observation(desired, observed, memory, now=EDGE_NOW, promotion=promotion)
    views = plan.findings.views
    assert isinstance(plan, Plan)
    assert len(views) == len(desired.targets)
    # The same rollout a pass later, with arbitrary stage memory: the deep states.
    remembered = plan.actions[-1]
    assert isinstance(remembered, Remember)
    later = replace(
        remembered.memory,
        stages=stages,
        rollback=draw(
            st.one_of(st.none(), st.builds(Rollback, st.just("s0"), st.text(max_size=5)))
        ),
        previous=draw(
            st.dictionaries(
                st.sampled_from(["g1", "g2"]),
                st.dictionaries(
                    st.sampled_from([t.component_name for t in desired.targets]),
                    st.sampled_from(["", "0.0.1"]),
                ),
            )
        ),
    )
    again = plan_from_observation(
        desired, observed, later, now=EDGE_NOW + timedelta(seconds=5), promotion=promotion
    )
    assert isinstance(again, Plan)
    retain = draw(st.booleans())
    deletion = plan_edge_model_deletion(
        desired, EdgeModelReads(full=observed), memory, retain=retain
    )
    if isinstance(deletion, EdgeLookups):  # the versions' users, before deleting any
        assert deletion.in_use
        read = _edge_read(observed, deletion, EdgeModelReads(full=observed))
        deletion = plan_edge_model_deletion(desired, read, memory, retain=retain)
    assert isinstance(deletion, Plan)
    # From nothing read, answered from the same AWS state, the pass planners make up their
    # minds within run_pass's rounds (at rest, everything, members; everything, published,
    # in use).
    for ask in (
        lambda reads: plan_edge_model(desired, reads, later, now=EDGE_NOW, promotion=promotion),
        lambda reads: plan_edge_model_deletion(desired, reads, later, retain=False),
    ):
        reads, rounds = EdgeModelReads(), 0
        while isinstance(answer := ask(reads), EdgeLookups):
            rounds += 1
            assert rounds <= MAX_LOOKUP_ROUNDS, answer
            reads = _edge_read(observed, answer, reads)
        assert isinstance(answer, Plan)


def _edge_read(
    aws: EdgeModelObservation, lookups: EdgeLookups, reads: EdgeModelReads
) -> EdgeModelReads:
    """What the EdgeModel shell would read for `lookups` from AWS in the state `aws`."""
    if lookups.at_rest:
        latest = {
            g: group.latest.deployment_id if group.latest else None
            for g, group in aws.groups.items()
        }
        view = AtRestView(
            {k: aws.components.get(k) for k in lookups.component_versions},
            {g: latest.get(g) for g in lookups.latest_deployments},
        )
        reads = replace(reads, at_rest=view)
    if lookups.everything:
        reads = replace(reads, full=replace(aws, published=None, members=None))
    assert reads.full is not None or not (lookups.published or lookups.members)
    if lookups.published and reads.full is not None:
        found = {arn: bool((aws.published or {}).get(arn)) for arn in lookups.published}
        reads = replace(reads, full=replace(reads.full, published=found))
    if lookups.members and reads.full is not None:
        reads = replace(reads, full=replace(reads.full, members=aws.members or {}))
    if lookups.in_use and reads.full is not None:
        in_use = {
            name: {n: str(e.get("componentVersion")) for n, e in group.latest.components.items()}
            for name, group in aws.groups.items()
            if group.latest is not None
        }
        reads = replace(reads, full=replace(reads.full, in_use=in_use))
    return reads
