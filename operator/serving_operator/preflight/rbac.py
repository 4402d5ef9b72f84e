"""Does the operator's Kubernetes identity hold every permission the chart grants it?

The list is the Helm chart's ClusterRole rules (charts/serving-operator/files/
clusterrole-rules.yaml, and peering-rules.yaml for an operator run with --peering), shipped in
the package beside this module; a unit test keeps the files identical, so the chart stays the
one place where permissions are decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from serving_operator.preflight.kube import KubeApi

RULES_FILE = "clusterrole-rules.yaml"
PEERING_RULES_FILE = "peering-rules.yaml"
REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
RBAC_FIX = (
    "bind the operator's identity to the chart's ClusterRole"
    " (charts/serving-operator/files/clusterrole-rules.yaml), e.g. `helm upgrade --install`"
)


@dataclass(frozen=True, order=True)
class Permission:
    group: str
    resource: str
    verb: str
    subresource: str = ""

    def __str__(self) -> str:
        what = self.resource + (f"/{self.subresource}" if self.subresource else "")
        return f"{self.verb} {what}" + (f".{self.group}" if self.group else "")


def chart_rules(*, peering: bool = False) -> list[dict[str, Any]]:
    """The chart's rules; with `peering`, also those it grants only with peering.enabled."""
    rules: list[dict[str, Any]] = []
    for name in (RULES_FILE, PEERING_RULES_FILE) if peering else (RULES_FILE,):
        rules += yaml.safe_load(resources.files(__package__).joinpath(name).read_text())
    return rules


def required_permissions(
    rules: list[dict[str, Any]] | None = None, *, peering: bool = False
) -> list[Permission]:
    """Every (group, resource, verb) the rules grant, one by one."""
    found: set[Permission] = set()
    for rule in chart_rules(peering=peering) if rules is None else rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                name, _, subresource = resource.partition("/")
                found |= {Permission(group, name, verb, subresource) for verb in rule["verbs"]}
    return sorted(found)


def missing_permissions(api: KubeApi, wanted: list[Permission]) -> list[Permission]:
    """The permissions a SelfSubjectAccessReview denies, cluster-wide."""
    missing = []
    for permission in wanted:
        review = api.create(
            REVIEW_PATH,
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {
                        "group": permission.group,
                        "resource": permission.resource,
                        "subresource": permission.subresource,
                        "verb": permission.verb,
                    }
                },
            },
        )
        if not review.get("status", {}).get("allowed"):
            missing.append(permission)
    return missing
