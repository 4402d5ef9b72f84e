"""Label selectors as kubectl -l takes them: what each form matches, what is refused, and the
one spelling (and finalizer) per meaning that shards are named by."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serving_operator.handlers.sharding import (
    UNSHARDED_FINALIZER,
    finalizer_for,
    foreign_finalizers,
    is_ours,
)
from serving_operator.labelselector import LabelSelector, SelectorError, parse_selector

A = {"shard": "a"}
B = {"shard": "b"}
C_LEGACY = {"shard": "c", "legacy": "true"}
NONE: dict[str, str] = {}


@pytest.mark.parametrize(
    ("selector", "matching", "not_matching"),
    [
        ("shard=a", [A], [B, C_LEGACY, NONE]),
        ("shard==a", [A], [B, NONE]),
        ("shard!=a", [B, C_LEGACY, NONE], [A]),  # as in Kubernetes: no label matches too
        ("shard in (a,b)", [A, B], [C_LEGACY, NONE]),
        ("shard in ( a , b )", [A, B], [C_LEGACY, NONE]),
        ("shard notin (a,b)", [C_LEGACY, NONE], [A, B]),
        ("shard", [A, B, C_LEGACY], [NONE]),
        ("!legacy", [A, B, NONE], [C_LEGACY]),
        ("! legacy", [A, B, NONE], [C_LEGACY]),
        ("shard,!legacy", [A, B], [C_LEGACY, NONE]),
        ("shard in (a,c), legacy=true", [C_LEGACY], [A, B, NONE]),
        ("example.com/team=ml", [{"example.com/team": "ml"}], [{"team": "ml"}, NONE]),
        ("shard=", [{"shard": ""}], [A, NONE]),
        ("", [A, B, C_LEGACY, NONE], []),
        ("   ", [A, NONE], []),
    ],
)
def test_each_form_matches_as_kubernetes_does(
    selector: str, matching: list[dict[str, str]], not_matching: list[dict[str, str]]
) -> None:
    parsed = parse_selector(selector)
    assert [parsed.matches(labels) for labels in matching] == [True] * len(matching)
    assert [parsed.matches(labels) for labels in not_matching] == [False] * len(not_matching)


def test_no_labels_at_all_reads_as_an_empty_set() -> None:
    assert parse_selector("!legacy").matches(None)
    assert not parse_selector("shard=a").matches(None)


@pytest.mark.parametrize(
    ("selector", "complaint"),
    [
        ("shard=a,", "empty requirement"),
        (",shard=a", "empty requirement"),
        ("shard in (a,b", "'(' without ')'"),
        ("shard in a,b)", "')' without '('"),
        ("shard in ((a))", "nested"),
        ("shard in ()", "at least one value"),
        ("shard=a b", "cannot read"),
        ("shard>1", "not a label key"),
        ("shard=a=b", "cannot read"),
        ("-shard=a", "not a label key"),
        ("shard=a_", "not a label value"),
        ("shard=" + "x" * 64, "not a label value"),
        ("Bad_Prefix.com/k=v", "not a label key"),
        ("shard in (a,-b)", "not a label value"),
    ],
)
def test_bad_selectors_are_refused_naming_the_part(selector: str, complaint: str) -> None:
    with pytest.raises(SelectorError, match=re.escape(complaint)):
        parse_selector(selector)


def test_one_spelling_per_meaning() -> None:
    assert parse_selector("shard=a").canonical == parse_selector("shard in (a)").canonical
    assert parse_selector("shard==a").canonical == "shard in (a)"
    assert (
        parse_selector("!legacy, shard in (b,a)").canonical
        == parse_selector("shard in (a,b),!legacy").canonical
    )
    assert parse_selector("shard=a").canonical != parse_selector("shard=b").canonical


def test_each_shard_has_a_finalizer_of_its_own_and_no_shard_keeps_the_original() -> None:
    a, b = parse_selector("shard=a"), parse_selector("shard=b")
    assert finalizer_for(LabelSelector()) == UNSHARDED_FINALIZER
    assert finalizer_for(a) == finalizer_for(parse_selector("shard in (a)"))
    assert len({finalizer_for(a), finalizer_for(b), UNSHARDED_FINALIZER}) == 3
    name = finalizer_for(a).split("/", 1)[1]
    assert len(name) <= 63  # a qualified name's limit, which Kubernetes checks


def test_an_install_takes_over_only_serving_operator_finalizers() -> None:
    own = finalizer_for(parse_selector("shard=a"))
    other = finalizer_for(parse_selector("shard=b"))
    present = ["example.com/keep", UNSHARDED_FINALIZER, own, other, "serving.mlops.dev/other"]
    assert foreign_finalizers(present, own) == [UNSHARDED_FINALIZER, other]
    assert foreign_finalizers(present, UNSHARDED_FINALIZER) == [own, other]
    assert not is_ours("example.com/keep")


label_values = st.sampled_from(["a", "b", "c", ""])
label_sets = st.dictionaries(st.sampled_from(["shard", "legacy"]), label_values, max_size=2)


@given(labels=label_sets, values=st.sets(st.sampled_from(["a", "b", "c"]), min_size=1))
def test_notin_is_the_negation_of_in(labels: dict[str, str], values: set[str]) -> None:
    listed = ",".join(sorted(values))
    inside = parse_selector(f"shard in ({listed})").matches(labels)
    assert parse_selector(f"shard notin ({listed})").matches(labels) is not inside


@given(labels=label_sets)
def test_a_comma_means_and(labels: dict[str, str]) -> None:
    both = parse_selector("shard!=a,!legacy").matches(labels)
    assert both == (parse_selector("shard!=a").matches(labels) and "legacy" not in labels)
