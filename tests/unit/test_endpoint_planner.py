"""The endpoint planner, branch by branch, plus convergence properties with hypothesis."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving_operator.planning.modelendpoint.actions import (
    Action,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteModel,
    UpdateEndpoint,
    UpdateWeightsAndCapacities,
    VariantWeightAndCapacity,
    describe_action,
)
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint, desired_endpoint
from serving_operator.planning.modelendpoint.endpoint import (
    describe_drift,
    needs_artifacts,
    plan_cleanup,
    plan_deletion,
    plan_endpoint,
)
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.modelendpoint.observed import (
    BUSY_STATUSES,
    EndpointLookups,
    EndpointStatus,
    ModelEndpointObservation,
    ObservedArtifacts,
    ObservedEndpoint,
    ObservedVariant,
)
from serving_operator.planning.modelendpoint.planner import plan_model_endpoint
from serving_operator.planning.naming import is_hashed_child_name
from serving_operator.planning.outcome import OutcomeKind, Plan, Remember
from serving_operator.planning.ownership import ObservedOwner
from tests.support.specs import desired, in_service, variant
from tests.support.specs import model_endpoint_spec as spec

EPOCH = datetime.fromtimestamp(0, UTC)

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


NOTHING = ObservedArtifacts(frozenset(), config_exists=False)


# -- names ----------------------------------------------------------------------------------
def test_config_name_ignores_weights_and_counts_but_not_images() -> None:
    base = desired(variant("a"), variant("b"))
    reweighted = desired(variant("a", weight=9), variant("b", count=4))
    new_image = desired(variant("a", image="img:2"), variant("b"))
    assert base.config_name == reweighted.config_name
    assert base.model_names == reweighted.model_names
    assert new_image.config_name != base.config_name
    assert len(new_image.model_names - base.model_names) == 1


def test_variant_order_does_not_change_the_config_name() -> None:
    assert (
        desired(variant("a"), variant("b")).config_name
        == desired(variant("b"), variant("a")).config_name
    )


@given(st.from_regex(NAME_PATTERN, fullmatch=True).filter(lambda n: len(n) <= 63))
def test_child_names_are_valid_sagemaker_names(endpoint_name: str) -> None:
    want = desired_endpoint(
        spec(variant("a"), endpointName=endpoint_name), namespace="ns", name="x"
    )
    for child in (want.config_name, *want.model_names):
        assert len(child) <= 63
        assert NAME_PATTERN.match(child), child
        assert is_hashed_child_name(child, endpoint_name)


def test_identical_models_are_created_once() -> None:
    want = desired(variant("a"), variant("b"))
    assert len(want.models) == 1
    assert {v.model_name for v in want.variants} == want.model_names


def test_ownership_tags_are_added_to_user_tags() -> None:
    want = desired_endpoint(spec(variant("a"), tags={"team": "ml"}), namespace="ns", name="x")
    assert dict(want.tags) == {
        "team": "ml",
        "serving.mlops.dev/managed-by": "serving-operator",
        "serving.mlops.dev/owner": "ns/x",
    }


# -- plan_endpoint, one branch each --------------------------------------------------------
def test_missing_endpoint_creates_models_config_and_endpoint_in_order() -> None:
    want = desired(variant("a"), variant("b", image="img:2"))
    plan = plan_endpoint(want, None, NOTHING)
    assert [type(a) for a in plan.actions] == [
        CreateModel,
        CreateModel,
        CreateEndpointConfig,
        CreateEndpoint,
    ]
    assert plan.outcome.kind == OutcomeKind.PROGRESSING


def test_a_create_reads_nothing_and_creates_everything_even_what_exists() -> None:
    """Names are content hashes: what exists is what is wanted, and SageMaker's refusal to
    create it again costs no more calls than reading whether it exists."""
    want = desired(variant("a"), variant("b", image="img:2"))
    assert not needs_artifacts(want, None)
    everything = (
        *(CreateModel(m, want.tags) for m in want.models),
        CreateEndpointConfig(want.config_name, want.config_request(), want.tags),
        CreateEndpoint(want.endpoint_name, want.config_name, want.tags),
    )
    assert plan_endpoint(want, None, None).actions == everything
    # After a pass that made them and stopped: the same plan, whatever a caller read.
    existing = ObservedArtifacts(want.model_names, config_exists=True)
    assert plan_endpoint(want, None, existing).actions == everything


@pytest.mark.parametrize("status", sorted(BUSY_STATUSES))
def test_busy_endpoint_waits_without_writing(status: EndpointStatus) -> None:
    want = desired(variant("a"))
    changed = desired(variant("a", image="img:9"))
    plan = plan_endpoint(changed, in_service(want, status), NOTHING)
    assert plan.actions == ()
    assert plan.outcome.kind == OutcomeKind.PROGRESSING
    assert plan.outcome.reason == status.value


def test_failed_endpoint_on_desired_config_stalls_with_sagemakers_reason() -> None:
    want = desired(variant("a"))
    plan = plan_endpoint(want, in_service(want, EndpointStatus.FAILED, "no model data"), None)
    assert plan.actions == ()
    assert plan.outcome.kind == OutcomeKind.STALLED
    assert "no model data" in plan.outcome.message


def test_failed_endpoint_is_recreated_once_the_spec_changes() -> None:
    failed = in_service(desired(variant("a")), EndpointStatus.FAILED, "bad")
    plan = plan_endpoint(desired(variant("a", image="img:2")), failed, None)
    assert plan.actions == (DeleteEndpoint("bikes"),)
    assert plan.outcome.kind == OutcomeKind.PROGRESSING


@pytest.mark.parametrize(
    "status", [EndpointStatus.OUT_OF_SERVICE, EndpointStatus.UPDATE_ROLLBACK_FAILED]
)
def test_other_unusable_statuses_stall(status: EndpointStatus) -> None:
    want = desired(variant("a"))
    plan = plan_endpoint(want, in_service(want, status), None)
    assert plan.actions == ()
    assert plan.outcome.kind == OutcomeKind.STALLED


def test_image_change_creates_new_model_and_config_then_updates_endpoint() -> None:
    old = desired(variant("a"), variant("b"))
    new = desired(variant("a"), variant("b", image="img:2"))
    assert needs_artifacts(new, in_service(old))
    plan = plan_endpoint(new, in_service(old), ObservedArtifacts(old.model_names, False))
    assert [type(a) for a in plan.actions] == [CreateModel, CreateEndpointConfig, UpdateEndpoint]
    assert plan.actions[-1] == UpdateEndpoint("bikes", new.config_name)


def test_failed_update_that_rolled_back_stalls_instead_of_looping() -> None:
    old = desired(variant("a"))
    new = desired(variant("a", image="img:2"))
    rolled_back = in_service(old, failure="could not download model")
    plan = plan_endpoint(
        new,
        rolled_back,
        ObservedArtifacts(new.model_names, True),
        last_attempted_config=new.config_name,
    )
    assert plan.actions == ()
    assert plan.outcome.reason == "UpdateFailed"
    assert "could not download model" in plan.outcome.message


def test_old_failure_reason_does_not_block_a_new_update() -> None:
    old = desired(variant("a"))
    new = desired(variant("a", image="img:2"))
    plan = plan_endpoint(
        new,
        in_service(old, failure="earlier failure"),
        ObservedArtifacts(new.model_names, True),
        last_attempted_config="some-older-config",
    )
    assert plan.actions == (UpdateEndpoint("bikes", new.config_name),)


def test_weight_only_change_updates_in_place_without_new_config() -> None:
    old = desired(variant("a", weight=9), variant("b", weight=1))
    new = desired(variant("a", weight=1), variant("b", weight=1))
    assert not needs_artifacts(new, in_service(old))
    plan = plan_endpoint(new, in_service(old), None)
    assert plan.actions == (
        UpdateWeightsAndCapacities("bikes", (VariantWeightAndCapacity("a", 1.0, 1),)),
    )


def test_count_only_change_updates_in_place() -> None:
    old = desired(variant("a", count=1))
    new = desired(variant("a", count=3))
    plan = plan_endpoint(new, in_service(old), None)
    assert plan.actions == (
        UpdateWeightsAndCapacities("bikes", (VariantWeightAndCapacity("a", 1.0, 3),)),
    )


def test_matching_endpoint_is_ready_and_untouched() -> None:
    want = desired(variant("a"), variant("b"))
    assert not needs_artifacts(want, in_service(want))
    plan = plan_endpoint(want, in_service(want), None)
    assert plan.actions == ()
    assert plan.outcome.kind == OutcomeKind.READY


def test_missing_desired_weight_falls_back_to_current() -> None:
    want = desired(variant("a"))
    endpoint = in_service(want)
    endpoint = replace(endpoint, variants=(ObservedVariant("a", 1.0, None, 1, None),))
    assert plan_endpoint(want, endpoint, None).actions == ()


# -- cleanup and deletion --------------------------------------------------------------------
def test_cleanup_keeps_what_the_desired_config_uses() -> None:
    want = desired(variant("a"))
    model = next(iter(want.model_names))
    actions = plan_cleanup(
        want,
        frozenset({want.config_name, "bikes-old1234567"}),
        frozenset({model, "bikes-oldmodel12"}),
    )
    assert actions == (DeleteEndpointConfig("bikes-old1234567"), DeleteModel("bikes-oldmodel12"))


def test_deletion_deletes_the_endpoint_first_then_its_objects() -> None:
    want = desired(variant("a"))
    first = plan_deletion("bikes", in_service(want), frozenset({"c"}), frozenset({"m"}))
    assert first.actions == (DeleteEndpoint("bikes"),)
    waiting = plan_deletion(
        "bikes", in_service(want, EndpointStatus.DELETING), frozenset(), frozenset()
    )
    assert waiting.actions == ()
    assert waiting.outcome.kind == OutcomeKind.PROGRESSING
    busy = plan_deletion(
        "bikes", in_service(want, EndpointStatus.UPDATING), frozenset(), frozenset()
    )
    assert busy.actions == ()
    assert busy.outcome.kind == OutcomeKind.PROGRESSING
    last = plan_deletion("bikes", None, frozenset({"c"}), frozenset({"m"}))
    assert last.actions == (DeleteEndpointConfig("c"), DeleteModel("m"))
    assert last.outcome.kind == OutcomeKind.READY


def test_every_action_has_an_event_reason() -> None:
    want = desired(variant("a"))
    actions: list[Action] = [
        *plan_endpoint(want, None, NOTHING).actions,
        UpdateEndpoint("e", "c"),
        UpdateWeightsAndCapacities("e", (VariantWeightAndCapacity("a", 1, 1),)),
        DeleteEndpoint("e"),
        DeleteEndpointConfig("c"),
        DeleteModel("m"),
    ]
    reasons = [describe_action(a)[0] for a in actions]
    assert all(r and r[0].isupper() for r in reasons)
    assert len(set(reasons)) == len(actions)


# -- properties: plans converge, and a converged plan is empty --------------------------------
class World:
    """A minimal SageMaker for property tests: applies actions and settles at once."""

    def __init__(self) -> None:
        self.models: set[str] = set()
        self.configs: dict[str, DesiredEndpoint] = {}
        self.endpoint: ObservedEndpoint | None = None
        self.writes = 0

    def artifacts(self, want: DesiredEndpoint) -> ObservedArtifacts:
        return ObservedArtifacts(
            frozenset(self.models & want.model_names), want.config_name in self.configs
        )

    def apply(self, action: Action, want: DesiredEndpoint) -> None:
        self.writes += 1
        match action:
            case CreateModel(model=m):
                # SageMaker refuses a second create of a name; a create's plan may ask for
                # one (see test_a_create_reads_nothing_and_creates_everything_even_what_exists).
                self.models.add(m.name)
            case CreateEndpointConfig(config_name=c):
                assert want.model_names <= self.models, "config created before its models"
                assert self.configs.get(c, want) == want, "a config name names one config"
                self.configs.setdefault(c, want)
            case CreateEndpoint(config_name=c) | UpdateEndpoint(config_name=c):
                self.endpoint = in_service(self.configs[c])
            case UpdateWeightsAndCapacities(changes=changes):
                assert self.endpoint is not None
                by_name = {c.variant_name: c for c in changes}
                self.endpoint = replace(
                    self.endpoint,
                    variants=tuple(
                        ObservedVariant(
                            v.name,
                            by_name[v.name].weight,
                            by_name[v.name].weight,
                            by_name[v.name].instance_count,
                            by_name[v.name].instance_count,
                        )
                        if v.name in by_name
                        else v
                        for v in self.endpoint.variants
                    ),
                )
            case _:
                raise AssertionError(f"unexpected {action}")

    def reconcile(self, want: DesiredEndpoint) -> OutcomeKind:
        artifacts = self.artifacts(want) if needs_artifacts(want, self.endpoint) else None
        plan = plan_endpoint(want, self.endpoint, artifacts)
        for action in plan.actions:
            self.apply(action, want)
        return plan.outcome.kind


variant_names = st.sampled_from(["a", "b", "c", "version-1-2-2"])
variants = st.lists(
    st.builds(
        variant,
        variant_names,
        image=st.sampled_from(["img:1", "img:2", "img:3"]),
        weight=st.sampled_from([0.0, 0.5, 1.0, 3.0]),
        count=st.integers(1, 4),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda v: v["name"],
).filter(lambda vs: any(v["weight"] > 0 for v in vs))


@settings(max_examples=150, deadline=None)
@given(st.lists(variants, min_size=1, max_size=4))
def test_any_sequence_of_specs_converges_and_then_plans_nothing(
    specs: list[list[dict[str, object]]],
) -> None:
    world = World()
    for variant_list in specs:
        want = desired(*variant_list)
        for _ in range(4):
            if world.reconcile(want) == OutcomeKind.READY:
                break
        assert world.reconcile(want) == OutcomeKind.READY
        writes = world.writes
        assert world.reconcile(want) == OutcomeKind.READY
        assert world.writes == writes, "re-running a converged plan must change nothing"
        assert world.endpoint is not None
        assert world.endpoint.config_name == want.config_name


@settings(max_examples=100, deadline=None)
@given(variants, st.data())
def test_weight_and_count_changes_never_create_configs(
    variant_list: list[dict[str, object]], data: st.DataObject
) -> None:
    world = World()
    while world.reconcile(desired(*variant_list)) != OutcomeKind.READY:
        pass
    configs, models = set(world.configs), set(world.models)
    changed = [
        {
            **v,
            "weight": data.draw(st.sampled_from([1.0, 2.0])),
            "instanceCount": data.draw(st.integers(1, 5)),
        }
        for v in variant_list
    ]
    want = desired(*changed)
    world.reconcile(want)
    assert world.reconcile(want) == OutcomeKind.READY
    assert (set(world.configs), set(world.models)) == (configs, models)
    assert world.endpoint is not None
    assert {
        v.name: (v.current_weight, v.current_instance_count) for v in world.endpoint.variants
    } == {v["name"]: (v["weight"], v["instanceCount"]) for v in changed}


# -- drift ---------------------------------------------------------------------------------------
def test_drift_names_what_changed_outside_the_operator() -> None:
    want = desired(variant("a"))
    assert describe_drift(want, in_service(want)) is None
    assert describe_drift(want, in_service(want, EndpointStatus.UPDATING)) is None
    assert "no longer exists" in (describe_drift(want, None) or "")
    deleting = describe_drift(want, in_service(want, EndpointStatus.DELETING))
    assert "deleted outside the operator" in (deleting or "")
    failed = describe_drift(want, in_service(want, EndpointStatus.FAILED, "disk full"))
    assert "disk full" in (failed or "")
    other = replace(in_service(want), config_name="someone-elses-config")
    assert "someone-elses-config" in (describe_drift(want, other) or "")


def test_an_endpoint_of_another_resource_on_the_same_config_is_not_reported_ready() -> None:
    """A second ModelEndpoint naming the first's SageMaker endpoint, with the same spec: no
    write is needed, but the endpoint is not its to report, clean up or scale."""
    want = desired(variant("a"))
    observed = ModelEndpointObservation(in_service(want))
    asked = plan_model_endpoint(want, observed, Memory(), owner="ns/second", adopt=False, now=EPOCH)
    assert asked == EndpointLookups(owner=True)
    someone_elses = replace(observed, owner=ObservedOwner("ns/first"))
    plan = plan_model_endpoint(
        want, someone_elses, Memory(), owner="ns/second", adopt=False, now=EPOCH
    )
    assert isinstance(plan, Plan)
    assert plan.outcome.kind == OutcomeKind.STALLED
    assert plan.outcome.reason == "EndpointNotOwned"
    assert "belongs to ns/first" in plan.outcome.message
    assert plan.actions == ()


def test_an_endpoint_verified_ours_is_remembered_so_steady_passes_need_no_list_tags() -> None:
    """A resource whose status was lost finds its endpoint as it left it: one ownership
    check, then the steady state costs one DescribeEndpoint again."""
    want = desired(variant("a"))
    observed = ModelEndpointObservation(
        in_service(want),
        owner=ObservedOwner("ns/bikes"),
        owned_configs=frozenset({want.config_name}),
        owned_models=want.model_names,
    )
    plan = plan_model_endpoint(want, observed, Memory(), owner="ns/bikes", adopt=False, now=EPOCH)
    assert isinstance(plan, Plan)
    assert plan.outcome.kind == OutcomeKind.READY
    remembered = [s.memory for s in plan.actions if isinstance(s, Remember)]
    assert remembered
    assert remembered[0].attempted_config == want.config_name
    unread = ModelEndpointObservation(in_service(want))
    again = plan_model_endpoint(
        want, unread, remembered[-1], owner="ns/bikes", adopt=False, now=EPOCH
    )
    assert again != EndpointLookups(owner=True)
