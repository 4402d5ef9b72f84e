"""Component versions (edge-fidelity C3): valid semver with every part within the recipe
reference's 999999, in the order they were made, recorded in status before they are
published."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from serving_operator.planning.edgemodel.actions import CreateComponentVersion
from serving_operator.planning.edgemodel.desired import (
    VERSION_PART_LIMIT,
    desired_edge_model,
    legacy_version,
    next_version,
)
from serving_operator.planning.edgemodel.memory import Memory
from serving_operator.planning.edgemodel.planner import plan_from_observation
from tests.unit.test_edgemodel_planner import actions, at, compiled, memory_of, spec

# semver 2.0.0's version core: numbers without leading zeros.
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31, 23, 59, 59),
    timezones=st.just(UTC),
)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@given(MOMENTS, MOMENTS)
def test_versions_are_semver_within_the_part_limit_and_sort_in_time_order(
    first: datetime, second: datetime
) -> None:
    earlier, later = sorted((first, second))
    a, b = next_version(earlier, None), next_version(later, None)
    for version in (a, b):
        assert SEMVER.match(version), version
        assert all(int(p) <= VERSION_PART_LIMIT for p in version.split("."))
    if later - earlier >= timedelta(seconds=1):
        assert _key(a) < _key(b)


@given(MOMENTS, st.integers(min_value=0, max_value=5))
def test_a_new_version_is_always_after_the_last_even_within_a_second(
    moment: datetime, repeats: int
) -> None:
    version = next_version(moment, None)
    for _ in range(repeats):
        newer = next_version(moment, version)  # the same second, or a clock set back
        assert _key(newer) > _key(version)
        assert SEMVER.match(newer)
        version = newer
    assert _key(next_version(moment - timedelta(days=3), version)) > _key(version)


def test_the_old_hash_versions_passed_the_limit_and_sorted_at_random() -> None:
    # What this replaces: 1.0.<28 bits of a hash> (up to 268435455).
    assert any(int(legacy_version(n).split(".")[2]) > VERSION_PART_LIMIT for n in range(20))


def test_a_version_is_chosen_recorded_then_published_and_kept_for_its_content() -> None:
    fresh = desired_edge_model(spec(), namespace="ml", name="classifier", now=at(100.0))
    assert not any(t.version_recorded for t in fresh.targets)
    first = plan_from_observation(
        fresh, compiled(fresh, state=None), Memory(), now=at(100.0), promotion=None
    )
    # Chosen, not published: a lost status write must not leave a version nobody recorded.
    assert actions(first, CreateComponentVersion) == []
    memory = memory_of(first)
    assert memory.versions == {
        t.component_name: (t.content_key, t.component_version) for t in fresh.targets
    }
    # Later passes (any clock) find the recorded version and publish that one.
    again = desired_edge_model(
        spec(), namespace="ml", name="classifier", versions=memory.versions, now=at(5000.0)
    )
    assert [t.component_version for t in again.targets] == [
        t.component_version for t in fresh.targets
    ]
    second = plan_from_observation(
        again, compiled(again, state=None), memory, now=at(5000.0), promotion=None
    )
    assert [(c.component_name, c.version) for c in actions(second, CreateComponentVersion)] == [
        (t.component_name, t.component_version) for t in fresh.targets
    ]
    # New content later gets a later version; going back to the first content is new again
    # (a spec roll back is a new rollout, never an older-looking upgrade).
    changed = desired_edge_model(
        spec(source="s3://models/classifier-v2/model.tar.gz"),
        namespace="ml",
        name="classifier",
        versions=memory.versions,
        now=at(9000.0),
    )
    for before, after in zip(fresh.targets, changed.targets, strict=True):
        assert _key(after.component_version) > _key(before.component_version)
        assert not after.version_recorded


def test_a_version_published_before_versions_were_recorded_is_kept() -> None:
    # An operator upgrade must not publish and roll out again what runs: a status with no
    # recorded versions but the legacy version's ARN among publishedComponents keeps it.
    fresh = desired_edge_model(spec(), namespace="ml", name="classifier", now=at(100.0))
    published = frozenset(
        f"arn:aws:greengrass:us-east-1:123456789012:components:{t.component_name}"
        f":versions:{t.legacy_version}"
        for t in fresh.targets
    )
    upgraded = desired_edge_model(
        spec(), namespace="ml", name="classifier", published=published, now=at(100.0)
    )
    for target in upgraded.targets:
        assert target.component_version == target.legacy_version
        assert target.version_recorded
    # Once the content changes, the new version is of the new scheme, and later.
    changed = desired_edge_model(
        spec(source="s3://models/classifier-v2/model.tar.gz"),
        namespace="ml",
        name="classifier",
        versions={t.component_name: (t.content_key, t.component_version) for t in upgraded.targets},
        published=published,
        now=at(200.0),
    )
    for before, after in zip(upgraded.targets, changed.targets, strict=True):
        assert _key(after.component_version) > _key(before.component_version)


def test_an_upgraded_operator_rolls_out_the_versions_the_old_one_published() -> None:
    # Through the shell: the old operator published 1.0.<hash> versions and remembered their
    # ARNs, nothing else. The new one publishes nothing and deploys those.
    from serving_operator.planning.edgemodel.observed import (
        ComponentState,
        ObservedComponentVersion,
    )
    from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler
    from tests.support.fake_aws import version_arn
    from tests.unit.test_reconcile_edgemodel import SPEC, _ready_to_roll_out

    model = desired_edge_model(SPEC, namespace="ml", name="classifier")
    legacy = {
        version_arn(t.component_name, t.legacy_version): ObservedComponentVersion(
            version_arn(t.component_name, t.legacy_version), ComponentState.DEPLOYABLE
        )
        for t in model.targets
    }
    aws = _ready_to_roll_out(components=legacy)
    reconciler = EdgeModelReconciler(aws.clients())
    memory = Memory(published=frozenset(legacy))
    for second in range(4):
        result = reconciler.reconcile(
            SPEC,
            namespace="ml",
            name="classifier",
            memory=memory,
            annotations={},
            now=at(1000.0 + second),
        )
        memory = result.memory
    assert "CreateComponentVersion" not in aws.operations
    deployed = [d for op, d in aws.calls if op == "CreateDeployment"]
    assert deployed
    assert result.desired is not None
    assert {t.component_name: t.component_version for t in result.desired.targets} == {
        t.component_name: t.legacy_version for t in model.targets
    }
