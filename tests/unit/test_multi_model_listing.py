"""When the planner lists a multi-model variant's S3 prefix (status.variants[].modelsFound).

At rest a pass costs one DescribeEndpoint; the prefixes are listed in the pass that finds a
rollout done (new config, with its warm-ups) and then once the last listing is an hour old.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from serving_operator.planning.modelendpoint.actions import Step, WarmUpModel
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.modelendpoint.observed import (
    EndpointLookups,
    ModelEndpointObservation,
)
from serving_operator.planning.modelendpoint.planner import (
    MODELS_RECHECK_SECONDS,
    changes_made,
    multi_model_prefixes,
    plan_model_endpoint,
)
from serving_operator.planning.outcome import OutcomeKind, Plan, Remember
from serving_operator.planning.ownership import ObservedOwner
from tests.support.specs import desired, in_service, variant

NOW = datetime.fromtimestamp(1_800_000_000, UTC)
RECHECK = timedelta(seconds=MODELS_RECHECK_SECONDS)
PREFIX = "s3://bucket/hyper/"
OTHER_PREFIX = "s3://bucket/other/"
FILES = ("hyper1.tar.gz", "hyper2.tar.gz")


def multi_model(name: str, prefix: str = PREFIX, image: str = "img:1", **extra: Any) -> Any:
    """A variant whose one shared container loads the models under `prefix`, warmed up."""
    return variant(
        name,
        model={
            "image": image,
            "mode": "MultiModel",
            "modelDataUrl": prefix,
            "targetModels": list(FILES),
            "warmUp": True,
        },
        **extra,
    )


def settled(want: DesiredEndpoint, **listing: Any) -> Memory:
    """Rolled out, cleaned up and warmed up for `want`'s config; `listing` as given."""
    return Memory(
        attempted_config=want.config_name,
        cleaned_for_config=want.config_name,
        warmed_for_config=want.config_name,
        **listing,
    )


def listed(want: DesiredEndpoint, at: datetime = NOW) -> Memory:
    return settled(want, models_listed_for_config=want.config_name, models_listed_at=at)


def plan(
    want: DesiredEndpoint, memory: Memory, now: datetime, **observed: Any
) -> Plan[Step] | EndpointLookups:
    seen = ModelEndpointObservation(in_service(want), owner=ObservedOwner("ns/bikes"), **observed)
    return plan_model_endpoint(want, seen, memory, owner="ns/bikes", adopt=False, now=now)


def remembered(result: Plan[Step] | EndpointLookups) -> Memory | None:
    assert isinstance(result, Plan), result
    memories = [s.memory for s in result.actions if isinstance(s, Remember)]
    return memories[-1] if memories else None


def test_the_pass_that_finds_a_rollout_done_lists_the_prefix_and_warms_up() -> None:
    want = desired(multi_model("all"))
    memory = replace(settled(want), warmed_for_config=None)
    assert plan(want, memory, NOW) == EndpointLookups(model_prefixes=frozenset({PREFIX}))

    result = plan(want, memory, NOW, models_listed={PREFIX: FILES})
    assert isinstance(result, Plan)
    assert result.outcome.kind == OutcomeKind.READY
    assert [s.target_model for s in result.actions if isinstance(s, WarmUpModel)] == list(FILES)
    assert remembered(result) == replace(listed(want), warmed_for_config=want.config_name)
    assert changes_made(result.actions) == ()


def test_at_rest_within_the_hour_the_prefix_is_not_listed() -> None:
    want = desired(multi_model("all"))
    for minutes in (0, 10, 30, 59):
        result = plan(want, listed(want), NOW + timedelta(minutes=minutes))
        assert isinstance(result, Plan), f"asked for reads at +{minutes} min: {result}"
        assert result.actions == ()


def test_an_hour_after_the_last_listing_it_is_listed_again_and_that_is_remembered() -> None:
    want = desired(multi_model("all"))
    later = NOW + RECHECK
    assert plan(want, listed(want), later) == EndpointLookups(model_prefixes=frozenset({PREFIX}))
    result = plan(want, listed(want), later, models_listed={PREFIX: ()})
    assert remembered(result) == listed(want, at=later)
    assert isinstance(result, Plan)
    assert changes_made(result.actions) == ()


def test_a_new_config_is_listed_once_rolled_out_however_recent_the_last_listing() -> None:
    before = desired(multi_model("all"))
    after = desired(multi_model("all", prefix=OTHER_PREFIX))
    memory = replace(listed(before), attempted_config=after.config_name)
    memory = replace(memory, cleaned_for_config=after.config_name)
    assert plan(after, memory, NOW + timedelta(minutes=1)) == EndpointLookups(
        model_prefixes=frozenset({OTHER_PREFIX})
    )


def test_a_clock_that_went_back_lists_again() -> None:
    want = desired(multi_model("all"))
    assert plan(want, listed(want), NOW - timedelta(seconds=1)) == EndpointLookups(
        model_prefixes=frozenset({PREFIX})
    )


def test_a_listing_status_lost_or_left_by_an_older_operator_lists_once() -> None:
    want = desired(multi_model("all"))
    assert plan(want, settled(want), NOW) == EndpointLookups(model_prefixes=frozenset({PREFIX}))


def test_variants_sharing_a_prefix_list_it_once() -> None:
    shared = desired(multi_model("blue"), multi_model("green", image="img:2"))
    apart = desired(multi_model("blue"), multi_model("green", prefix=OTHER_PREFIX))
    assert multi_model_prefixes(shared) == frozenset({PREFIX})
    assert plan(shared, settled(shared), NOW) == EndpointLookups(model_prefixes=frozenset({PREFIX}))
    assert plan(apart, settled(apart), NOW) == EndpointLookups(
        model_prefixes=frozenset({PREFIX, OTHER_PREFIX})
    )


def test_without_a_multi_model_variant_nothing_is_listed_and_an_old_listing_is_forgotten() -> None:
    want = desired(variant("a"))
    assert multi_model_prefixes(want) == frozenset()
    result = plan(want, settled(want), NOW)
    assert isinstance(result, Plan)
    assert result.actions == ()
    left_over = settled(want, models_listed_for_config="an-older-config", models_listed_at=NOW)
    assert remembered(plan(want, left_over, NOW)) == settled(want)


def test_the_listing_is_remembered_before_any_write_of_the_same_pass() -> None:
    """A failed write stops the pass; the listing it made still counts (and shows)."""
    want = desired(multi_model("all"))
    memory = replace(listed(want, at=NOW - RECHECK), cleaned_for_config="old")
    result = plan(
        want,
        memory,
        NOW,
        models_listed={PREFIX: FILES},
        owned_configs=frozenset({want.config_name, "old-config"}),
        owned_models=want.model_names,
    )
    assert isinstance(result, Plan)
    first_write = next(i for i, s in enumerate(result.actions) if changes_made((s,)))
    first_memory = next(s for s in result.actions if isinstance(s, Remember))
    assert result.actions.index(first_memory) < first_write
    assert first_memory.memory.models_listed_at == NOW
