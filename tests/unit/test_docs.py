"""The docs keep up with the code: every condition reason the planners and the reconcile
shells can give is explained in docs/troubleshooting.md, and every metric the operator exports
is in docs/metrics.md."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

import prometheus_client
import pytest

import serving_operator.metrics  # noqa: F401  (registers the operator's metrics)
from serving_operator import planning, reconcile
from serving_operator.api import ALL_KINDS
from serving_operator.api.common import KindInfo
from tests.support.paths import ROOT

PLANNING = Path(planning.__file__).parent
RECONCILE = Path(reconcile.__file__).parent
OUTCOMES = {"ready", "progressing", "stalled"}
NEVER_REPORTED = {"Observing"}
"""run_pass's outcome until the pass has one: every return replaces it."""


def _constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def planned_reasons() -> set[str]:
    """First arguments of Outcome.ready/progressing/stalled: literals, or module constants."""
    paths = [*PLANNING.rglob("*.py"), *RECONCILE.rglob("*.py")]
    trees = {path: ast.parse(path.read_text()) for path in paths}
    constants: dict[str, str] = {}
    for tree in trees.values():
        constants |= _constants(tree)
    reasons = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in OUTCOMES
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "Outcome"
                and node.args
            ):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                reasons.add(first.value)
            elif isinstance(first, ast.Name) and first.id in constants:
                reasons.add(constants[first.id])
    return reasons


def test_the_scan_finds_reasons() -> None:
    assert {
        "InService",
        "UpdateFailed",
        "AccessDenied",
        "EndpointNotOwned",
        "ObservationOutdated",  # reconcile/passes.py
    } <= planned_reasons()


def test_every_condition_reason_is_explained() -> None:
    text = (ROOT / "docs" / "troubleshooting.md").read_text()
    missing = sorted(r for r in planned_reasons() - NEVER_REPORTED if f"`{r}`" not in text)
    assert missing == [], "explain these in docs/troubleshooting.md"


def test_every_metric_is_documented() -> None:
    text = (ROOT / "docs" / "metrics.md").read_text()
    names = {
        metric.name
        for metric in prometheus_client.REGISTRY.collect()
        if metric.name.startswith("serving_operator_")
    }
    assert names
    assert sorted(n for n in names if f"`{n}" not in text) == []


def _field_docs() -> ModuleType:
    path = ROOT / "hack" / "field_docs.py"
    spec = importlib.util.spec_from_file_location("field_docs", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", ALL_KINDS, ids=[k.kind for k in ALL_KINDS])
def test_each_kind_has_a_reference_generated_from_its_model(kind: KindInfo) -> None:
    field_docs = _field_docs()
    path = field_docs.document(kind)
    assert path.exists(), f"docs/{kind.kind.lower()}.md is missing"
    text = path.read_text()
    assert field_docs.BEGIN in text, "run: python hack/field_docs.py"
    assert field_docs.updated(kind, text) == text, "run: python hack/field_docs.py"
