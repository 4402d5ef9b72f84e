"""The docs keep up with the code: every condition reason the planners can give is explained in
docs/troubleshooting.md, and every metric the operator exports is in docs/metrics.md."""

from __future__ import annotations

import ast
from pathlib import Path

import prometheus_client

import serving_operator.metrics  # noqa: F401  (registers the operator's metrics)
from serving_operator import planning
from tests.support.paths import ROOT

PLANNING = Path(planning.__file__).parent
OUTCOMES = {"ready", "progressing", "stalled"}


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
    trees = {path: ast.parse(path.read_text()) for path in PLANNING.rglob("*.py")}
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
    assert {"InService", "UpdateFailed", "AccessDenied", "EndpointNotOwned"} <= planned_reasons()


def test_every_condition_reason_is_explained() -> None:
    text = (ROOT / "docs" / "troubleshooting.md").read_text()
    missing = sorted(r for r in planned_reasons() if f"`{r}`" not in text)
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
