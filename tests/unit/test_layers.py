"""The functional core stays pure: planners and API models import no kopf, boto3 or moto."""

from __future__ import annotations

import ast
from pathlib import Path

import serving_operator

PACKAGE = Path(serving_operator.__file__).parent
FORBIDDEN_IN_CORE = (
    "kopf",
    "boto3",
    "botocore",
    "moto",
    "kubernetes",
    "serving_operator.aws",
    "serving_operator.handlers",
    "serving_operator.sandbox",
)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return found


def test_planning_is_pure() -> None:
    assert _violations("planning", FORBIDDEN_IN_CORE) == []


def test_api_imports_nothing_else_of_ours() -> None:
    ours = ("serving_operator.planning", "serving_operator.reconcile", *FORBIDDEN_IN_CORE)
    assert _violations("api", ours) == []


def test_operator_code_never_imports_the_sandbox() -> None:
    for folder in ("aws", "handlers", "reconcile", "planning", "api"):
        assert _violations(folder, ("serving_operator.sandbox", "moto")) == []


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import kopf\nfrom boto3.session import Session\n")
    assert _imports(sample) == {"kopf", "boto3.session"}
