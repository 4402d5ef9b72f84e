"""The architecture is enforced by import-linter contracts (pyproject.toml); prove they bite.

`make lint` runs them on the tree; here they run on a copy with a forbidden import added, and
must report it broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(source_root: Path) -> subprocess.CompletedProcess[str]:
    """Run the project's contracts against the package found under `source_root`."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=source_root,
        env={**os.environ, "PYTHONPATH": str(source_root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_with(tmp_path: Path, module: str, line: str) -> Path:
    source_root = tmp_path / "operator"
    shutil.copytree(
        ROOT / "operator" / "serving_operator",
        source_root / "serving_operator",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    path = source_root / "serving_operator" / module
    path.write_text(path.read_text() + f"\n{line}\n")
    return source_root


def test_the_tree_keeps_every_contract() -> None:
    result = _lint(ROOT / "operator")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("planning/naming.py", "import kopf", "The functional core does no I/O"),
        ("planning/outcome.py", "import boto3", "The functional core does no I/O"),
        ("aws/base.py", "import serving_operator.reconcile.report", "Layers"),
        ("reconcile/report.py", "import serving_operator.handlers.driver", "Layers"),
        (
            "planning/trafficsplit/__init__.py",
            "import serving_operator.planning.modelendpoint.desired",
            "Each kind's planner is independent",
        ),
        (
            "reconcile/edgemodel/report.py",
            "import serving_operator.reconcile.trafficsplit.weights",
            "Each kind's shell is independent",
        ),
        (
            "handlers/trafficsplit.py",
            "import serving_operator.handlers.modelendpoint",
            "Each kind's handlers are independent",
        ),
        ("aws/clients.py", "import serving_operator.sandbox.server", "reaches the sandbox"),
        ("reconcile/modelendpoint/reconciler.py", "import kopf", "Only the handlers know kopf"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    result = _lint(_copy_with(tmp_path, module, line))
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(contract in row for row in broken), result.stdout
