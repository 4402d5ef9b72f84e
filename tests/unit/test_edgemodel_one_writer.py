"""The one-writer rule inside a thing group's deployment (docs/edgemodel.md): an EdgeModel
changes its own components, the job configuration its stage sets, and the group-wide
settings it wrote before; every other writer's components and settings are kept, also when
that writer deploys between the pass's read and its CreateDeployment."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from serving_operator.planning.edgemodel.deployment import (
    FAILURE_HANDLING,
    JOB_CONFIGURATION,
    merged_deployment,
    setting_digest,
)
from serving_operator.planning.edgemodel.desired import DesiredEdgeModel, desired_edge_model
from serving_operator.planning.edgemodel.memory import Memory, Rollback
from serving_operator.planning.edgemodel.observed import (
    DeviceCounts,
    ObservedDeployment,
    ObservedGroup,
    ObservedJob,
)
from serving_operator.planning.edgemodel.rollback import plan_roll_back
from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler
from tests.support.fake_aws import FakeAws
from tests.support.specs import edge_model_spec
from tests.unit.test_edgemodel_planner import at
from tests.unit.test_reconcile_edgemodel import _compiled, _published

ABORT = {
    "criteriaList": [
        {
            "failureType": "FAILED",
            "action": "CANCEL",
            "thresholdPercentage": 10.0,
            "minNumberOfExecutedThings": 1,
        }
    ]
}
THEIR_TIMEOUT = {"inProgressTimeoutInMinutes": 30}


def _latest(**changes: Any) -> ObservedDeployment:
    base = ObservedDeployment(
        "d-7",
        "7",
        "job-7",
        "ACTIVE",
        "site",
        components={"team.Other": {"componentVersion": "2.0.0"}, "mine": {"componentVersion": "1"}},
        deployment_policies={"failureHandlingPolicy": "ROLLBACK"},
        iot_job_configuration={"abortConfig": ABORT, "timeoutConfig": THEIR_TIMEOUT},
    )
    return replace(base, **changes)


def _merge(latest: ObservedDeployment, written: dict[str, str], **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "thing_group": "site",
        "target_arn": "arn:aws:iot:us-east-1:123456789012:thinggroup/site",
        "latest": latest,
        "ours": {"mine": {"componentVersion": "2"}},
        "our_names": frozenset({"mine"}),
        "job_configuration": {},
        "failure_handling_policy": "ROLLBACK",
        "tags": {},
        "why": "test",
        "written": written,
    }
    return merged_deployment(**(arguments | changes))


def test_our_abort_criteria_go_once_no_stage_sets_them_and_theirs_stay() -> None:
    ours = {JOB_CONFIGURATION + "abortConfig": setting_digest(ABORT)}
    action = _merge(_latest(), ours)
    assert action.iot_job_configuration == {"timeoutConfig": THEIR_TIMEOUT}
    assert action.wrote == {}  # the group's ROLLBACK was set by someone else
    # Someone else's abort criteria (not the value we wrote) stay.
    theirs = {**ABORT, "criteriaList": [{**ABORT["criteriaList"][0], "thresholdPercentage": 50}]}
    kept = _merge(_latest(iot_job_configuration={"abortConfig": theirs}), ours)
    assert kept.iot_job_configuration == {"abortConfig": theirs}


def test_a_stage_writes_its_own_job_configuration_for_its_job() -> None:
    rate = {"maximumPerMinute": 5}
    action = _merge(_latest(), {}, job_configuration={"jobExecutionsRolloutConfig": rate})
    assert action.iot_job_configuration == {
        "abortConfig": ABORT,
        "timeoutConfig": THEIR_TIMEOUT,
        "jobExecutionsRolloutConfig": rate,
    }
    assert action.wrote[JOB_CONFIGURATION + "jobExecutionsRolloutConfig"] == setting_digest(rate)


def test_the_failure_handling_policy_is_ours_only_where_we_set_it_or_nobody_did() -> None:
    theirs = _latest(deployment_policies={"failureHandlingPolicy": "DO_NOTHING"})
    assert _merge(theirs, {}).deployment_policies == {"failureHandlingPolicy": "DO_NOTHING"}
    ours = {FAILURE_HANDLING: setting_digest("DO_NOTHING")}
    assert _merge(theirs, ours).deployment_policies == {"failureHandlingPolicy": "ROLLBACK"}
    unset = _latest(deployment_policies={})
    assert _merge(unset, {}).deployment_policies == {"failureHandlingPolicy": "ROLLBACK"}


def test_a_roll_back_drops_the_failed_stages_abort_criteria() -> None:
    """IoT must not abort the roll back itself with the failed stage's criteria."""
    model = desired_edge_model(edge_model_spec(), namespace="ml", name="classifier")
    nano = model.targets[0]
    failed = ObservedDeployment(
        "d-2",
        "2",
        "job-2",
        "ACTIVE",
        "canary",
        components={nano.component_name: {"componentVersion": nano.component_version}},
        iot_job_configuration={"abortConfig": ABORT},
    )
    memory = Memory(
        previous={"canary": {nano.component_name: "1.0.1"}},
        rollback=Rollback("canary", "aborted"),
        written={"canary": {JOB_CONFIGURATION + "abortConfig": setting_digest(ABORT)}},
    )
    group = ObservedGroup(
        "canary",
        "arn:aws:iot:us-east-1:123456789012:thinggroup/canary",
        failed,
        ObservedJob("job-2", "IN_PROGRESS", DeviceCounts(failed=1)),
    )
    back = plan_roll_back(model, {"canary": group}, memory, now=at(0.0))
    (deployment,) = back.steps
    assert "abortConfig" not in deployment.iot_job_configuration  # type: ignore[union-attr]


def _versions(model: DesiredEdgeModel) -> dict[str, tuple[str, str]]:
    return {t.component_name: (t.content_key, t.component_version) for t in model.targets}


def test_two_edge_models_on_one_group_keep_each_others_components() -> None:
    """B deploys to the group after A's pass read it and before A deploys: A's deployment is
    merged again over B's, under the group's lock."""
    spec_a = edge_model_spec()
    spec_b = edge_model_spec(source="s3://models/detector/model.tar.gz")
    model_a = desired_edge_model(spec_a, namespace="ml", name="classifier", now=at(1000.0))
    model_b = desired_edge_model(spec_b, namespace="ml", name="detector", now=at(1000.0))
    aws = FakeAws(
        compilations={
            **_compiled(),
            **{
                t.job_name: replace(
                    next(iter(_compiled().values())),
                    name=t.job_name,
                    artifact_uri=f"s3://models/compiled/{t.job_name}/m.tar.gz",
                )
                for t in model_b.targets
            },
        },
        groups={"canary", "fleet"},
        objects={model_a.entrypoint_uri: b"", model_b.entrypoint_uri: b""},
    )
    aws.components.update(_published())
    aws.components.update(
        {
            arn: replace(found, arn=arn)
            for t in model_b.targets
            for found in [next(iter(_published().values()))]
            for arn in [
                f"arn:aws:greengrass:us-east-1:123456789012:components:{t.component_name}"
                f":versions:{t.component_version}"
            ]
        }
    )

    def one_pass(spec: Any, name: str, memory: Memory, reconciler: Any = None) -> Memory:
        reconciler = reconciler or EdgeModelReconciler(aws.clients())
        return reconciler.reconcile(  # type: ignore[no-any-return]
            spec, namespace="ml", name=name, memory=memory, annotations={}, now=at(1000.0)
        ).memory

    # Both record what the canary runs (write-ahead), then A's deploying pass reads the
    # group and B deploys in between.
    # Each with its versions recorded by an earlier pass (the pass that chooses a version
    # publishes and deploys nothing: test_edgemodel_versions.py).
    memory_a = one_pass(spec_a, "classifier", Memory(versions=_versions(model_a)))
    memory_b = one_pass(spec_b, "detector", Memory(versions=_versions(model_b)))
    a = EdgeModelReconciler(aws.clients())
    read = a._look_up

    def read_then_b_deploys(lookups: Any, desired: Any, observed: Any, memory: Any) -> Any:
        found = read(lookups, desired, observed, memory)
        if lookups.members:
            one_pass(spec_b, "detector", memory_b)
        return found

    a._look_up = read_then_b_deploys  # type: ignore[method-assign]
    one_pass(spec_a, "classifier", memory_a, a)

    canary = aws.deployments["canary"].components
    for model in (model_a, model_b):
        for target in model.targets:
            assert canary[target.component_name] == {"componentVersion": target.component_version}
