"""The reconcile shell with recording fake adapters: AWS state in, calls and status memory out.

Scenarios in the spirit of ACK's testdata/test_suite.yaml: each names the state AWS is in,
what the resource remembers, and the calls the pass must make (and only those).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from serving_operator.api.common import Condition, ConditionStatus
from serving_operator.api.modelendpoint import ModelEndpointSpec, ModelEndpointStatus
from serving_operator.aws.base import AwsError
from serving_operator.planning.modelendpoint.actions import (
    DeregisterReason,
    DeregisterScalableTarget,
)
from serving_operator.planning.modelendpoint.autoscaling import variant_resource_ids
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint, desired_endpoint
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.modelendpoint.observed import (
    ObservedScaling,
)
from serving_operator.planning.modelendpoint.planner import (
    MODELS_RECHECK_SECONDS,
    SCALING_RECHECK_SECONDS,
    scaling_fingerprint,
    scaling_window_start,
)
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.reconcile.modelendpoint.reconciler import (
    ModelEndpointReconciler,
    ReconcileResult,
)
from serving_operator.reconcile.modelendpoint.report import memory_of, report_pass
from serving_operator.reconcile.report import EventType, ObjectContext
from tests.support.fake_aws import FakeAws
from tests.support.recording import assert_a_refused_call_ends_its_pass
from tests.support.specs import in_service, model_endpoint_spec, variant

OWNER = "ns/bikes"
NOW = datetime.fromtimestamp(1_800_001_800, UTC)  # half past a clock hour
SECOND = timedelta(seconds=1)
WINDOW = scaling_window_start(NOW)  # the clock hour's start: the scaling recheck window
SCALING = {"minInstances": 2, "maxInstances": 4, "maxRequestsPerSecondPerInstance": 10}


def _spec(image: str = "img:1", *, autoscaled: bool = False, **extra: Any) -> ModelEndpointSpec:
    scaling = {"autoscaling": SCALING, "instanceCount": 2} if autoscaled else {}
    return model_endpoint_spec(variant("a", image=image, **scaling), **extra)


def _desired(spec: ModelEndpointSpec) -> DesiredEndpoint:
    return desired_endpoint(spec, namespace="ns", name="bikes")


def _registered(want: DesiredEndpoint) -> dict[str, ObservedScaling]:
    return {
        a.resource_id: ObservedScaling(
            a.resource_id, a.min_instances, a.max_instances, {a.policy_name: a.policy}
        )
        for a in want.autoscaled
    }


def _checked(spec: ModelEndpointSpec) -> str:
    """The fingerprint a pass remembers after making `spec`'s scaling match."""
    want = _desired(spec)
    return scaling_fingerprint(want, frozenset(v.name for v in want.variants))


def _in_service(spec: ModelEndpointSpec, **aws: Any) -> FakeAws:
    """AWS running exactly `spec`, made by this resource."""
    want = _desired(spec)
    state: dict[str, Any] = {
        "endpoint": in_service(want),
        "endpoint_owner": OWNER,
        "models": set(want.model_names),
        "configs": {want.config_name},
    }
    return FakeAws(**{**state, **aws})


@dataclass
class Scenario:
    name: str
    aws: FakeAws
    spec: ModelEndpointSpec
    memory: Memory = field(default_factory=Memory)
    outcome: OutcomeKind = OutcomeKind.PROGRESSING
    reason: str | None = None
    writes: list[str] = field(default_factory=list)
    remembered: dict[str, Any] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)
    """Writes SageMaker refused as the object existed already."""


OLD, NEW = _spec("img:1"), _spec("img:2")
OLD_SCALED, NEW_SCALED = _spec("img:1", autoscaled=True), _spec("img:2", autoscaled=True)
DONE = Memory(
    attempted_config=_desired(OLD).config_name,
    cleaned_for_config=_desired(OLD).config_name,
    warmed_for_config=_desired(OLD).config_name,
)
WIDER = model_endpoint_spec(
    variant("a", image="img:1", autoscaling={**SCALING, "maxInstances": 6}, instanceCount=2)
)
SCALED_DONE = replace(
    DONE, scaling_registered=True, scaling_checked=_checked(OLD_SCALED), scaling_checked_at=NOW
)

SCENARIOS = [
    Scenario(
        "steady state: one DescribeEndpoint, no writes",
        _in_service(OLD),
        OLD,
        DONE,
        OutcomeKind.READY,
        "InService",
    ),
    Scenario(
        "create from nothing: models, config, endpoint, then remember the config",
        FakeAws(),
        OLD,
        outcome=OutcomeKind.PROGRESSING,
        reason="Creating",
        writes=["CreateModel", "CreateEndpointConfig", "CreateEndpoint"],
        remembered={
            "attempted_config": _desired(OLD).config_name,
            "cleaned_for_config": _desired(OLD).config_name,  # nothing older to collect
        },
    ),
    Scenario(
        "recreate after an earlier endpoint (Failed, or deleted out of band): clean up later",
        replace(_in_service(NEW), endpoint=None),
        NEW,
        DONE,
        outcome=OutcomeKind.PROGRESSING,
        reason="Creating",
        writes=["CreateModel", "CreateEndpointConfig", "CreateEndpoint"],
        found=["CreateModel", "CreateEndpointConfig"],
        remembered={"attempted_config": _desired(NEW).config_name},
    ),
    Scenario(
        "recreate after a switch that never finished: the config it ran first is collected",
        replace(_in_service(NEW), endpoint=None),
        NEW,
        Memory(attempted_config=_desired(NEW).config_name),
        outcome=OutcomeKind.PROGRESSING,
        reason="Creating",
        writes=["CreateModel", "CreateEndpointConfig", "CreateEndpoint"],
        found=["CreateModel", "CreateEndpointConfig"],
    ),
    Scenario(
        "adoption refused: an untagged endpoint without spec.adopt is left alone",
        replace(_in_service(OLD), endpoint_owner=None),
        NEW,
        DONE,
        OutcomeKind.STALLED,
        "EndpointNotOwned",
    ),
    Scenario(
        "someone else's endpoint is never touched, even with spec.adopt",
        replace(_in_service(OLD), endpoint_owner="other/owner"),
        _spec("img:2", adopt=True),
        DONE,
        OutcomeKind.STALLED,
        "EndpointNotOwned",
    ),
    Scenario(
        "adoption: tag the untagged endpoint first, then switch it to our config",
        replace(_in_service(OLD), endpoint_owner=None),
        _spec("img:2", adopt=True),
        DONE,
        OutcomeKind.PROGRESSING,
        "Updating",
        ["TagEndpoint", "CreateModel", "CreateEndpointConfig", "UpdateEndpoint"],
        {"attempted_config": _desired(_spec("img:2", adopt=True)).config_name},
    ),
    Scenario(
        "stand-down: deregister autoscaling before a config switch, remember it is down",
        _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED))),
        NEW_SCALED,
        replace(DONE, scaling_registered=True),
        OutcomeKind.PROGRESSING,
        "Updating",
        ["DeregisterScalableTarget", "CreateModel", "CreateEndpointConfig", "UpdateEndpoint"],
        {"scaling_registered": False, "attempted_config": _desired(NEW_SCALED).config_name},
    ),
    Scenario(
        "failed-config memory: a rolled-back update is Stalled and not tried again",
        _in_service(OLD, endpoint=in_service(_desired(OLD), failure="image not found")),
        NEW,
        replace(DONE, attempted_config=_desired(NEW).config_name),
        OutcomeKind.STALLED,
        "UpdateFailed",
    ),
    Scenario(
        "failed-config memory with autoscaling: the old variants are scaled again",
        _in_service(
            OLD_SCALED, endpoint=in_service(_desired(OLD_SCALED), failure="image not found")
        ),
        NEW_SCALED,
        replace(DONE, attempted_config=_desired(NEW_SCALED).config_name),
        OutcomeKind.STALLED,
        "UpdateFailed",
        ["RegisterScalableTarget", "PutScalingPolicy"],
        {
            "scaling_registered": True,
            "scaling_checked": scaling_fingerprint(
                _desired(OLD_SCALED), frozenset({"a"})
            ),  # the variants it still runs
            "scaling_checked_at": NOW,
        },
    ),
    Scenario(
        "autoscaled steady state, scaling checked in this clock hour: nothing else is read",
        _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED))),
        OLD_SCALED,
        replace(SCALED_DONE, scaling_checked_at=WINDOW),
        OutcomeKind.READY,
        "InService",
    ),
    Scenario(
        "autoscaled steady state, last check in the previous hour: read again, no writes",
        _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED))),
        OLD_SCALED,
        replace(SCALED_DONE, scaling_checked_at=WINDOW - SECOND),
        OutcomeKind.READY,
        "InService",
        remembered={"scaling_checked_at": NOW},
    ),
    Scenario(
        "drift: a target deregistered out of band is registered again at the hourly check",
        _in_service(OLD_SCALED),
        OLD_SCALED,
        replace(
            SCALED_DONE,
            scaling_checked_at=WINDOW - timedelta(seconds=SCALING_RECHECK_SECONDS) + SECOND,
        ),
        OutcomeKind.READY,
        "InService",
        ["RegisterScalableTarget", "PutScalingPolicy"],
        {"scaling_checked_at": NOW},
    ),
    Scenario(
        "autoscaling spec changed in place: read and applied at once, however recent the check",
        _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED))),
        WIDER,
        SCALED_DONE,
        OutcomeKind.READY,
        "InService",
        ["RegisterScalableTarget"],
        {"scaling_checked": _checked(WIDER)},
    ),
    Scenario(
        "autoscaling removed from the spec: the target goes at once, then nothing is read",
        _in_service(OLD, scaling=_registered(_desired(OLD_SCALED))),
        OLD,
        SCALED_DONE,
        OutcomeKind.READY,
        "InService",
        ["DeregisterScalableTarget"],
        {"scaling_registered": False, "scaling_checked": _checked(OLD)},
    ),
    Scenario(
        "no check remembered (status from an older operator): scaling is read once",
        _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED))),
        OLD_SCALED,
        replace(DONE, scaling_registered=True),
        OutcomeKind.READY,
        "InService",
        remembered={"scaling_checked": _checked(OLD_SCALED), "scaling_checked_at": NOW},
    ),
    Scenario(
        "rollout done: unused configs and models collected once, then remembered",
        replace(
            _in_service(NEW),
            models=set(_desired(OLD).model_names | _desired(NEW).model_names),
            configs={_desired(OLD).config_name, _desired(NEW).config_name},
        ),
        NEW,
        replace(DONE, attempted_config=_desired(NEW).config_name),
        OutcomeKind.READY,
        "InService",
        ["DeleteEndpointConfig", "DeleteModel"],
        {
            "cleaned_for_config": _desired(NEW).config_name,
            "warmed_for_config": _desired(NEW).config_name,
        },
    ),
    Scenario(
        "busy: SageMaker's 'in progress' answer is a short wait, not a rejection",
        _in_service(
            OLD,
            fail={
                "UpdateEndpoint": AwsError(
                    "sagemaker",
                    "UpdateEndpoint",
                    "ValidationException",
                    'Cannot update in-progress endpoint "arn:aws:sagemaker:...".',
                    400,
                )
            },
        ),
        NEW,
        DONE,
        OutcomeKind.PROGRESSING,
        "AwsBusy",
        ["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"],
    ),
    Scenario(
        "access denied: Stalled, naming the IAM action to grant",
        FakeAws(
            fail={
                "DescribeEndpoint": AwsError(
                    "sagemaker", "DescribeEndpoint", "AccessDeniedException", "not allowed", 400
                )
            }
        ),
        OLD,
        outcome=OutcomeKind.STALLED,
        reason="AccessDenied",
    ),
    Scenario(
        "no credentials: Stalled for a person, not retried as if AWS were busy",
        FakeAws(
            fail={
                "DescribeEndpoint": AwsError(
                    "sagemaker",
                    "DescribeEndpoint",
                    "NoCredentialsError",
                    "Unable to locate credentials",
                    599,
                )
            }
        ),
        OLD,
        outcome=OutcomeKind.STALLED,
        reason="AwsCredentials",
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    result = ModelEndpointReconciler(scenario.aws.clients()).reconcile(
        scenario.spec, namespace="ns", name="bikes", memory=scenario.memory, now=NOW
    )
    assert (result.outcome.kind, result.outcome.reason) == (scenario.outcome, scenario.reason)
    assert scenario.aws.writes == scenario.writes
    assert [type(action).__name__ for action in result.found_existing] == scenario.found
    assert result.memory == replace(scenario.memory, **scenario.remembered)


def test_steady_state_reads_nothing_but_thein_service() -> None:
    aws = _in_service(OLD)
    ModelEndpointReconciler(aws.clients()).reconcile(OLD, namespace="ns", name="bikes", memory=DONE)
    assert aws.operations == ["DescribeEndpoint"]


def test_stand_down_says_why_and_precedes_the_update() -> None:
    aws = _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED)))
    ModelEndpointReconciler(aws.clients()).reconcile(
        NEW_SCALED, namespace="ns", name="bikes", memory=replace(DONE, scaling_registered=True)
    )
    (deregistration,) = [d for op, d in aws.calls if op == "DeregisterScalableTarget"]
    assert isinstance(deregistration, DeregisterScalableTarget)
    assert deregistration.reason == DeregisterReason.STAND_DOWN_FOR_UPDATE
    assert aws.writes.index("DeregisterScalableTarget") < aws.writes.index("UpdateEndpoint")


def test_a_failed_write_keeps_the_memory_it_would_have_set() -> None:
    """The endpoint was not switched, so the next pass must not read a rollback into it."""
    aws = _in_service(
        OLD,
        fail={"UpdateEndpoint": AwsError("sagemaker", "UpdateEndpoint", "Throttling", "slow", 400)},
    )
    result = ModelEndpointReconciler(aws.clients()).reconcile(
        NEW, namespace="ns", name="bikes", memory=DONE
    )
    assert result.outcome.reason == "AwsUnavailable"
    assert result.memory == DONE


def test_access_denied_names_the_operation_and_the_iam_action() -> None:
    aws = FakeAws(
        fail={
            "CreateEndpoint": AwsError(
                "sagemaker", "CreateEndpoint", "AccessDeniedException", "no", 400
            )
        }
    )
    result = ModelEndpointReconciler(aws.clients()).reconcile(
        OLD, namespace="ns", name="bikes", memory=Memory()
    )
    assert "sagemaker.CreateEndpoint" in result.outcome.message
    assert "sagemaker:CreateEndpoint" in result.outcome.message
    # The models and config made before the denial stay remembered by name, not by memory.
    assert result.memory.attempted_config is None


def test_deletion_leaves_a_foreign_endpoint_but_removes_our_objects() -> None:
    aws = replace(_in_service(OLD), endpoint_owner="other/owner")
    result = ModelEndpointReconciler(aws.clients()).delete(
        OLD, namespace="ns", name="bikes", memory=DONE
    )
    assert result.outcome.kind == OutcomeKind.READY
    assert "DeleteEndpoint" not in aws.writes
    assert sorted(aws.writes) == ["DeleteEndpointConfig", "DeleteModel"]


def test_deletion_of_an_autoscaled_endpoint_removes_its_scalable_targets() -> None:
    aws = FakeAws(scaling=_registered(_desired(OLD_SCALED)))
    ModelEndpointReconciler(aws.clients()).delete(
        OLD_SCALED, namespace="ns", name="bikes", memory=replace(DONE, scaling_registered=True)
    )
    (deregistration,) = [d for op, d in aws.calls if op == "DeregisterScalableTarget"]
    assert deregistration.reason == DeregisterReason.ENDPOINT_DELETED
    assert aws.scaling == {}


def test_autoscaled_steady_state_reads_only_the_endpoint_until_the_next_clock_hour() -> None:
    aws = _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED)))
    reconciler = ModelEndpointReconciler(aws.clients())
    memory = SCALED_DONE  # checked at half past
    for minutes in (10, 20, 29):
        memory = reconciler.reconcile(
            OLD_SCALED,
            namespace="ns",
            name="bikes",
            memory=memory,
            now=NOW + timedelta(minutes=minutes),
        ).memory
    assert aws.operations == ["DescribeEndpoint"] * 3
    next_hour = WINDOW + timedelta(seconds=SCALING_RECHECK_SECONDS)
    memory = reconciler.reconcile(
        OLD_SCALED,
        namespace="ns",
        name="bikes",
        memory=memory,
        now=next_hour + timedelta(minutes=1),
    ).memory
    assert aws.operations[3:] == ["DescribeEndpoint", "DescribeScalableTargets"]
    # A recheck of what was made to match: a read shared since the hour began will do.
    assert aws.calls[-1][1] == (
        tuple(variant_resource_ids("bikes", frozenset({"a"}))),
        next_hour.timestamp(),
        (next_hour + timedelta(minutes=1)).timestamp(),
    )
    assert memory == replace(SCALED_DONE, scaling_checked_at=next_hour + timedelta(minutes=1))


def test_only_the_periodic_recheck_may_share_a_scaling_read() -> None:
    """A first check, a changed spec, a stand-down and a deletion read the scaling now."""
    registered = _registered(_desired(OLD_SCALED))

    def shared_since(aws: FakeAws) -> list[float | None]:
        return [detail[1] for op, detail in aws.calls if op == "DescribeScalableTargets"]

    first = _in_service(OLD_SCALED, scaling=dict(registered))
    ModelEndpointReconciler(first.clients()).reconcile(
        OLD_SCALED, namespace="ns", name="bikes", memory=replace(DONE, scaling_registered=True)
    )
    changed = _in_service(OLD_SCALED, scaling=dict(registered))
    ModelEndpointReconciler(changed.clients()).reconcile(
        WIDER, namespace="ns", name="bikes", memory=SCALED_DONE, now=NOW
    )
    stand_down = _in_service(OLD_SCALED, scaling=dict(registered))
    ModelEndpointReconciler(stand_down.clients()).reconcile(
        NEW_SCALED, namespace="ns", name="bikes", memory=SCALED_DONE, now=NOW + timedelta(hours=1)
    )
    deleted = FakeAws(scaling=dict(registered))
    ModelEndpointReconciler(deleted.clients()).delete(
        OLD_SCALED, namespace="ns", name="bikes", memory=SCALED_DONE
    )
    recheck = _in_service(OLD_SCALED, scaling=dict(registered))
    ModelEndpointReconciler(recheck.clients()).reconcile(
        OLD_SCALED, namespace="ns", name="bikes", memory=SCALED_DONE, now=NOW + timedelta(hours=1)
    )
    assert [shared_since(a) for a in (first, changed, stand_down, deleted)] == [[None]] * 4
    assert shared_since(recheck) == [(WINDOW + timedelta(hours=1)).timestamp()]


def test_a_clock_that_went_back_reads_scaling_again() -> None:
    aws = _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED)))
    ModelEndpointReconciler(aws.clients()).reconcile(
        OLD_SCALED, namespace="ns", name="bikes", memory=SCALED_DONE, now=NOW - SECOND
    )
    assert aws.operations == ["DescribeEndpoint", "DescribeScalableTargets"]


def test_the_scaling_check_survives_the_round_trip_through_status() -> None:
    aws = _in_service(OLD_SCALED, scaling=_registered(_desired(OLD_SCALED)))
    result = ModelEndpointReconciler(aws.clients()).reconcile(
        OLD_SCALED,
        namespace="ns",
        name="bikes",
        memory=replace(DONE, scaling_registered=True),
        now=NOW,
    )
    context = ObjectContext("ns", "bikes", 1, ModelEndpointStatus())
    status = report_pass(result, context, "bikes").status
    assert isinstance(status, ModelEndpointStatus)
    assert memory_of(status) == SCALED_DONE


def test_a_first_creation_converges_without_listing_for_clean_up() -> None:
    aws = FakeAws()
    reconciler = ModelEndpointReconciler(aws.clients())
    memory = reconciler.reconcile(
        OLD, namespace="ns", name="bikes", memory=Memory(), now=NOW
    ).memory
    aws.endpoint, aws.endpoint_owner = in_service(_desired(OLD)), OWNER
    result = reconciler.reconcile(OLD, namespace="ns", name="bikes", memory=memory, now=NOW)
    assert result.outcome.kind == OutcomeKind.READY
    assert aws.operations == [
        "DescribeEndpoint",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "DescribeEndpoint",
    ]
    assert result.memory == DONE


# -- multi-model: the S3 listing behind status.variants[].modelsFound --------------------------
HYPER, OTHER = "s3://demo/hyper/", "s3://demo/other/"
HYPER_FILES = ["hyper1.tar.gz", "hyper2.tar.gz"]


def _multi_model(name: str, prefix: str = HYPER, image: str = "img:1") -> dict[str, Any]:
    return variant(
        name,
        model={
            "image": image,
            "mode": "MultiModel",
            "modelDataUrl": prefix,
            "targetModels": ["hyper1.tar.gz"],
            "warmUp": True,
        },
    )


MULTI = model_endpoint_spec(_multi_model("all"))
MULTI_LISTED = replace(
    DONE,
    attempted_config=_desired(MULTI).config_name,
    cleaned_for_config=_desired(MULTI).config_name,
    warmed_for_config=_desired(MULTI).config_name,
    models_listed_for_config=_desired(MULTI).config_name,
    models_listed_at=NOW,
)
MULTI_UNLISTED = replace(MULTI_LISTED, models_listed_for_config=None, models_listed_at=None)


def _status_after(result: Any, before: ModelEndpointStatus | None = None) -> ModelEndpointStatus:
    context = ObjectContext("ns", "bikes", 1, before or ModelEndpointStatus())
    status = report_pass(result, context, "bikes").status
    assert isinstance(status, ModelEndpointStatus)
    return status


def _models_found(status: ModelEndpointStatus) -> dict[str, list[str]]:
    return {v.name: v.models_found for v in status.variants}


def test_multi_model_at_rest_reads_only_the_endpoint_until_the_listing_is_an_hour_old() -> None:
    aws = _in_service(MULTI, model_files={HYPER: HYPER_FILES})
    reconciler = ModelEndpointReconciler(aws.clients())
    memory = MULTI_LISTED
    status = _status_after(
        reconciler.reconcile(MULTI, namespace="ns", name="bikes", memory=memory, now=NOW - SECOND),
    )  # a clock that went back: listed again
    assert _models_found(status) == {"all": HYPER_FILES}
    memory = memory_of(status)
    for minutes in (10, 20, 59):
        result = reconciler.reconcile(
            MULTI,
            namespace="ns",
            name="bikes",
            memory=memory,
            now=NOW - SECOND + timedelta(minutes=minutes),
        )
        status = _status_after(result, status)
        memory = result.memory
    assert aws.operations == ["DescribeEndpoint", "ListObjectsV2"] + ["DescribeEndpoint"] * 3
    assert _models_found(status) == {"all": HYPER_FILES}  # kept in status between listings

    aws.model_files[HYPER] = ["hyper1.tar.gz", "hyper3.tar.gz"]  # a model added, one removed
    hour_later = NOW - SECOND + timedelta(seconds=MODELS_RECHECK_SECONDS)
    result = reconciler.reconcile(
        MULTI, namespace="ns", name="bikes", memory=memory, now=hour_later
    )
    status = _status_after(result, status)
    assert aws.operations[-2:] == ["DescribeEndpoint", "ListObjectsV2"]
    assert aws.writes == []
    assert _models_found(status) == {"all": ["hyper1.tar.gz", "hyper3.tar.gz"]}
    assert memory_of(status) == replace(MULTI_LISTED, models_listed_at=hour_later)


def test_a_prefix_emptied_out_of_band_shows_no_models_found() -> None:
    aws = _in_service(MULTI, model_files={HYPER: HYPER_FILES})
    reconciler = ModelEndpointReconciler(aws.clients())
    first = reconciler.reconcile(MULTI, namespace="ns", name="bikes", memory=MULTI_UNLISTED)
    before = _status_after(first)
    assert _models_found(before) == {"all": HYPER_FILES}
    aws.model_files[HYPER] = []
    again = reconciler.reconcile(MULTI, namespace="ns", name="bikes", memory=MULTI_UNLISTED)
    assert aws.operations.count("ListObjectsV2") == 2
    assert _models_found(_status_after(again, before)) == {"all": []}


def test_a_rollout_lists_each_prefix_once_with_its_warm_ups() -> None:
    spec = model_endpoint_spec(
        _multi_model("blue"), _multi_model("green", image="img:2"), _multi_model("canary", OTHER)
    )
    want = _desired(spec)
    aws = _in_service(spec, model_files={HYPER: HYPER_FILES, OTHER: ["other.tar.gz"]})
    done = replace(MULTI_LISTED, attempted_config=want.config_name, warmed_for_config=None)
    result = ModelEndpointReconciler(aws.clients()).reconcile(
        spec, namespace="ns", name="bikes", memory=done, now=NOW + timedelta(minutes=1)
    )
    listings = sorted(detail for op, detail in aws.calls if op == "ListObjectsV2")
    assert listings == [HYPER, OTHER]
    assert aws.operations.count("InvokeEndpoint") == 3
    status = _status_after(result)
    assert _models_found(status) == {
        "blue": HYPER_FILES,
        "green": HYPER_FILES,
        "canary": ["other.tar.gz"],
    }
    assert status.models_listed_for_config_name == want.config_name


def test_a_listing_shows_and_is_remembered_even_when_a_later_write_fails() -> None:
    aws = _in_service(
        MULTI,
        model_files={HYPER: HYPER_FILES},
        configs={_desired(MULTI).config_name, "ns-bikes-old-config"},
        fail={
            "DeleteEndpointConfig": AwsError(
                "sagemaker", "DeleteEndpointConfig", "Throttling", "slow", 400
            )
        },
    )
    memory = replace(MULTI_UNLISTED, cleaned_for_config=None)
    result = ModelEndpointReconciler(aws.clients()).reconcile(
        MULTI, namespace="ns", name="bikes", memory=memory, now=NOW
    )
    assert result.outcome.reason == "AwsUnavailable"
    status = _status_after(result)
    assert _models_found(status) == {"all": HYPER_FILES}
    assert memory_of(status).models_listed_at == NOW
    assert memory_of(status).cleaned_for_config is None  # the clean-up is tried again


def test_a_variant_no_longer_multi_model_drops_the_models_it_showed() -> None:
    multi = _status_after(
        ModelEndpointReconciler(
            _in_service(MULTI, model_files={HYPER: HYPER_FILES}).clients()
        ).reconcile(
            MULTI,
            namespace="ns",
            name="bikes",
            memory=replace(MULTI_UNLISTED, warmed_for_config=None),
            now=NOW,
        ),
    )
    assert [len(v.warm_up) for v in multi.variants] == [1]
    single = model_endpoint_spec(variant("all", image="img:1"))
    aws = _in_service(single)
    memory = replace(memory_of(multi), attempted_config=_desired(single).config_name)
    memory = replace(memory, cleaned_for_config=_desired(single).config_name)
    result = ModelEndpointReconciler(aws.clients()).reconcile(
        single, namespace="ns", name="bikes", memory=memory, now=NOW + timedelta(minutes=1)
    )
    status = _status_after(result, multi)
    assert _models_found(status) == {"all": []}
    assert [v.warm_up for v in status.variants] == [[]]
    assert (status.models_listed_for_config_name, status.models_listed_at) == (None, None)
    assert "ListObjectsV2" not in aws.operations


def test_a_create_after_a_pass_that_stopped_uses_what_it_made_and_says_so() -> None:
    """The earlier pass made the model and stopped (the operator restarted) before the
    config: this one creates all, SageMaker refuses the model, and the events tell a found
    model from a created config."""
    want = _desired(OLD)
    aws = FakeAws(models=set(want.model_names))
    result = ModelEndpointReconciler(aws.clients()).reconcile(
        OLD, namespace="ns", name="bikes", memory=Memory(), now=NOW
    )
    assert aws.operations == [
        "DescribeEndpoint",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
    ]
    assert aws.configs == {want.config_name}
    context = ObjectContext("ns", "bikes", 1, ModelEndpointStatus())
    events = [(e.reason, e.message) for e in report_pass(result, context, "bikes").events]
    (model,) = want.model_names
    assert [reason for reason, _ in events if "Model" in reason or "Config" in reason] == [
        "CreatedEndpointConfig",
        "FoundModel",
    ]
    assert any(model in message for reason, message in events if reason == "FoundModel")


def test_weights_handed_back_by_a_split_are_expected_not_drift() -> None:
    """A TrafficSplit left 9/1 and was deleted: the ModelEndpoint, Ready at this generation,
    writes its own 1/1 back. That write is the hand-back the user was told about, so it is
    announced as Normal events (WeightsHandedBack, UpdatedWeights), never as drift."""
    spec = model_endpoint_spec(
        variant("blue", image="img:1", count=2), variant("green", image="img:2", count=2)
    )
    want = _desired(spec)
    split_left = replace(
        in_service(want),
        variants=tuple(
            replace(v, current_weight=w, desired_weight=w)
            for v, w in zip(in_service(want).variants, (9.0, 1.0), strict=True)
        ),
    )
    aws = _in_service(spec, endpoint=split_left)
    result = ModelEndpointReconciler(aws.clients()).reconcile(
        spec, namespace="ns", name="bikes", memory=DONE, now=NOW
    )
    assert aws.writes == ["UpdateWeightsAndCapacities"]
    ready = Condition(type="Ready", status=ConditionStatus.TRUE, observed_generation=1)
    before = ModelEndpointStatus(
        conditions=[ready], observed_generation=1, weights_managed_by="TrafficSplit/ninety-ten"
    )
    events = report_pass(result, ObjectContext("ns", "bikes", 1, before), "bikes").events
    assert [e.type for e in events] == [EventType.NORMAL] * len(events)
    assert {"WeightsHandedBack"} <= {e.reason for e in events}
    assert not {"DriftDetected", "DriftCorrected"} & {e.reason for e in events}
    # The same write one pass later, with nobody handing anything back, is drift.
    after = before.model_copy(update={"weights_managed_by": None})
    again = report_pass(result, ObjectContext("ns", "bikes", 1, after), "bikes").events
    assert "DriftCorrected" in {e.reason for e in again}


ASYNC_ZERO = model_endpoint_spec(
    variant(
        "a",
        image="img:1",
        autoscaling={
            "minInstances": 0,
            "maxInstances": 3,
            "metric": "ApproximateBacklogSizePerInstance",
            "targetValue": 5,
        },
    ),
    asyncInference={"outputPath": "s3://bucket/out", "failurePath": "s3://bucket/failed"},
)


def _async_zero_at_rest_pass(aws: FakeAws) -> ReconcileResult:
    """A pass over ASYNC_ZERO's endpoint in service, its config rolled out, cleaned up and
    warmed: what is left to do is its autoscaling."""
    want = _desired(ASYNC_ZERO)
    memory = replace(
        DONE,
        attempted_config=want.config_name,
        cleaned_for_config=want.config_name,
        warmed_for_config=want.config_name,
    )
    return ModelEndpointReconciler(aws.clients()).reconcile(
        ASYNC_ZERO, namespace="ns", name="bikes", memory=memory, now=NOW
    )


def test_a_policy_gone_before_its_alarm_is_put_stops_the_pass_to_read_again() -> None:
    """The alarm needs its policy's ARN; a policy deleted since a shared read showed it is no
    AWS error and no bug: the pass stops Reconciling and puts no alarm naming nothing; the
    adapter forgets its shared read, so the next pass reads afresh."""
    aws = _in_service(ASYNC_ZERO)
    aws.gone_policies.add("serving-operator-a-scale-out-from-zero")
    result = _async_zero_at_rest_pass(aws)
    assert (result.outcome.kind, result.outcome.reason) == (
        OutcomeKind.PROGRESSING,
        "ObservationOutdated",
    )
    assert "serving-operator-a-scale-out-from-zero" in result.outcome.message
    assert "PutMetricAlarm" not in aws.writes


def test_scale_out_from_zero_alarm_names_the_step_policy_it_reads_back() -> None:
    aws = _in_service(ASYNC_ZERO)
    result = _async_zero_at_rest_pass(aws)
    assert result.outcome.kind == OutcomeKind.READY
    assert aws.writes == [
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "PutScalingPolicy",
        "PutMetricAlarm",
    ]
    # the alarm is put after its policy, with the ARN read back from that policy
    (read,) = [d for op, d in aws.calls if op == "DescribeScalingPolicies"]
    assert read == ("endpoint/bikes/variant/a", "serving-operator-a-scale-out-from-zero")
    assert aws.alarms == {
        "serving-operator-bikes-a-has-backlog-without-capacity": [
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/sagemaker/"
            "endpoint/bikes/variant/a:policyName/serving-operator-a-scale-out-from-zero"
        ]
    }
    status = report_pass(
        result, ObjectContext("ns", "bikes", 1, ModelEndpointStatus()), "bikes"
    ).status
    assert status.async_inference is not None
    assert (status.async_inference.output_path, status.async_inference.failure_path) == (
        "s3://bucket/out",
        "s3://bucket/failed",
    )


# -- any AWS call failing --
ASYNC_ZERO_NEW = model_endpoint_spec(
    *[
        {**v, "model": {**v["model"], "image": "img:2"}}
        for v in ASYNC_ZERO.model_dump(by_alias=True, exclude_none=True)["variants"]
    ],
    asyncInference={"outputPath": "s3://bucket/out", "failurePath": "s3://bucket/failed"},
)
"""ASYNC_ZERO with a new image: a config switch, with the scaling stood down around it."""


def _throttled(operation: str) -> AwsError:
    return AwsError("sagemaker", operation, "ThrottlingException", "Rate exceeded", 400)


def _registered_with_alarm(spec: ModelEndpointSpec) -> dict[str, ObservedScaling]:
    """`spec`'s scaling as Application Auto Scaling shows it once made: each target, its
    policies, and the scale-out-from-zero alarm whose action the step policy is."""
    found = {}
    for a in _desired(spec).autoscaled:
        policies = {a.policy_name: a.policy}
        alarms = {}
        if (step := a.scale_out_from_zero) is not None:
            policies[step.policy_name] = step.policy
            alarms[step.policy_name] = frozenset({step.alarm_name})
        found[a.resource_id] = ObservedScaling(
            a.resource_id, a.min_instances, a.max_instances, policies, alarms
        )
    return found


def _walk(fail: dict[str, AwsError]) -> list[tuple[list[str], ReconcileResult]]:
    """A life from nothing: the endpoint created, InService with autoscaling and the
    scale-out-from-zero alarm, switched to a new config, the old one collected, then deleted:
    the calls of each pass and its result. With `fail`, each named operation fails whenever
    it is called; AWS's state moves on between passes as if every call had been answered."""
    passes: list[tuple[list[str], ReconcileResult]] = []
    aws = FakeAws(fail=fail)
    reconciler = ModelEndpointReconciler(aws.clients())

    def step(run: Any, *args: Any, **kwargs: Any) -> Memory:
        before = len(aws.calls)
        result: ReconcileResult = run(*args, **kwargs)
        passes.append((aws.operations[before:], result))
        return result.memory

    def running(spec: ModelEndpointSpec) -> None:
        """SageMaker has made (or switched) the endpoint: it runs `spec`, our tag on it, and
        the configs and models of every pass so far exist."""
        want = _desired(spec)
        aws.endpoint, aws.endpoint_owner = in_service(want), OWNER
        aws.models |= set(want.model_names)
        aws.configs.add(want.config_name)

    memory = Memory()
    for spec in (ASYNC_ZERO, ASYNC_ZERO_NEW):
        memory = step(
            reconciler.reconcile, spec, namespace="ns", name="bikes", memory=memory, now=NOW
        )
        running(spec)
        for _ in range(2):
            memory = step(
                reconciler.reconcile, spec, namespace="ns", name="bikes", memory=memory, now=NOW
            )
            # Application Auto Scaling keeps what was registered, the alarm on its policy.
            aws.scaling = _registered_with_alarm(spec)
    for _ in range(2):
        memory = step(
            reconciler.delete, ASYNC_ZERO_NEW, namespace="ns", name="bikes", memory=memory
        )
        aws.endpoint = None  # SageMaker finishes the deletion
    return passes


WALKED = sorted({op for calls, _ in _walk({}) for op in calls})


def test_the_walk_reaches_every_kind_of_call() -> None:
    """The walk is only as good as the calls it makes: create, autoscale with the alarm,
    switch config around a stand-down, collect the old config, and delete."""
    assert {
        "DescribeEndpoint",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "DescribeScalingPolicies",
        "PutMetricAlarm",
        "DeregisterScalableTarget",
        "UpdateEndpoint",
        "ListEndpointConfigs",
        "ListModels",
        "DeleteEndpointConfig",
        "DeleteModel",
        "DeleteEndpoint",
        "DeleteAlarms",
    } <= set(WALKED)
    assert [r.outcome.kind for _, r in _walk({})][-1] == OutcomeKind.READY


@pytest.mark.parametrize("operation", WALKED)
def test_any_call_throttled_at_any_point_is_the_pass_outcome_never_an_exception(
    operation: str,
) -> None:
    """Whatever call AWS refuses with a throttle, the pass that made it ends Reconciling
    with AWS's error, and no pass raises."""
    assert_a_refused_call_ends_its_pass(_walk({operation: _throttled(operation)}), operation)
