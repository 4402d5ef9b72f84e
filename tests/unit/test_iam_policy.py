"""The published IAM policy gives every action the operator calls exactly the narrowest grant
of its row in serving_operator.aws.permissions.NARROWEST: its resources, its condition, no
more; "*" only where the row says AWS defines no narrower resource."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from serving_operator.aws.permissions import (
    ANY,
    NARROWEST,
    NO_RESOURCE_TYPES,
    OWNED_REQUEST,
    OWNED_RESOURCE,
    SIMULATION_CONTEXT,
    explain_policy,
    operator_action_names,
    policy_document,
)
from serving_operator.planning.ownership import OWNER_TAG, owner_id
from tests.support.paths import ROOT

PUBLISHED = json.loads((ROOT / "docs" / "iam-policy.json").read_text())


def grants_of(policy: dict[str, Any], action: str) -> list[tuple[tuple[str, ...], Any]]:
    """Every (resources, condition) the policy allows `action` with."""
    found = []
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        if action in ([actions] if isinstance(actions, str) else actions):
            resources = statement["Resource"]
            resources = (resources,) if isinstance(resources, str) else tuple(resources)
            found.append((resources, statement.get("Condition")))
    return found


def test_every_action_has_exactly_one_row() -> None:
    assert set(NARROWEST) == set(operator_action_names())


@pytest.mark.parametrize("action", operator_action_names())
def test_the_policy_gives_each_action_exactly_its_row(action: str) -> None:
    grant = NARROWEST[action]
    assert grants_of(PUBLISHED, action) == [(grant.resources, grant.condition)]


def test_the_published_policy_is_generated_from_the_table() -> None:
    assert policy_document() == PUBLISHED, "run: serving-operator iam-policy > docs/iam-policy.json"


def test_star_only_where_aws_has_no_narrower_resource() -> None:
    star = {action: grant for action, grant in NARROWEST.items() if grant.resources == ANY}
    for action, grant in star.items():
        assert grant.why.startswith(NO_RESOURCE_TYPES) or "IDs AWS assigns" in grant.why, action
    # Every "*" is one of these, each with its reason in the table; the count keeps it honest.
    assert sorted(star) == sorted(
        [
            "sagemaker:ListModels",
            "sagemaker:ListEndpointConfigs",
            "sagemaker:ListCompilationJobs",
            "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:DescribeScalingPolicies",
            "application-autoscaling:RegisterScalableTarget",
            "application-autoscaling:DeregisterScalableTarget",
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:DeleteScalingPolicy",
            "cloudwatch:GetMetricData",
            "greengrass:ListDeployments",
            "greengrass:ListCoreDevices",
            "greengrass:CreateDeployment",
        ]
    )
    # No change to an object the operator creates is on "*" or on objects not tagged as ours.
    # Not ours to tag: scalable targets and target tracking's alarms (Application Auto
    # Scaling makes those).
    for action, grant in NARROWEST.items():
        verb = action.split(":")[1]
        theirs = action.startswith(("application-autoscaling:", "cloudwatch:"))
        if re.match(r"(Delete|Update|Stop)", verb) and not theirs:
            assert grant.resources != ANY, action
            assert grant.condition == OWNED_RESOURCE, action


def test_creates_of_tagged_objects_require_our_owner_tag() -> None:
    for action in (
        "sagemaker:CreateModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:CreateEndpoint",
        "sagemaker:CreateCompilationJob",
        "greengrass:CreateComponentVersion",
    ):
        assert NARROWEST[action].condition == OWNED_REQUEST, action
    # The owner value the operator writes matches the condition's pattern.
    (pattern,) = OWNED_REQUEST["StringLike"].values()
    assert re.fullmatch(pattern.replace("*", ".+"), owner_id("ml-prod", "bikes"))
    assert f"aws:RequestTag/{OWNER_TAG}" in OWNED_REQUEST["StringLike"]


def test_reads_carry_no_tag_condition() -> None:
    """The operator reads before it creates: a tag condition would turn "not found" into
    AccessDenied for an object that does not exist yet."""
    for action, grant in NARROWEST.items():
        verb = action.split(":")[1]
        if re.match(r"(Describe|Get|List)", verb):
            assert grant.condition is None, action


def test_check_iam_simulates_with_every_condition_key_the_policy_uses() -> None:
    used = {
        key
        for grant in NARROWEST.values()
        for test in (grant.condition or {}).values()
        for key in test
    }
    assert used <= {key for key, _, _ in SIMULATION_CONTEXT}


def test_the_explained_table_in_the_docs_is_current() -> None:
    text = (ROOT / "docs" / "iam-policy.md").read_text()
    assert text.endswith(explain_policy()), "run: serving-operator iam-policy --explain"
    for action in operator_action_names():
        assert f"| `{action}` |" in text
