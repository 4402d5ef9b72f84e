"""The Argo CD health checks, run in a real Lua interpreter against their test cases.

Argo CD runs `health.lua` with the resource in the global `obj` in gopher-lua, a Lua 5.1:
so do these tests. Each kind's `health_test.yaml` (Argo CD's own format) lists inputs and
the health Argo CD must show for them.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import pytest
import yaml
from lupa import lua51

from serving_operator.planning.outcome import Outcome
from serving_operator.status import kstatus_conditions
from tests.support.paths import ROOT

CHECKS = ROOT / "charts" / "serving-operator" / "argocd" / "serving.mlops.dev"
KINDS = sorted(p.name for p in CHECKS.iterdir())


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    script = (CHECKS / kind / "health.lua").read_text()
    result = lua.execute(script)
    return str(result.status), str(result.message)


def cases() -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    found = []
    for kind in KINDS:
        tests = yaml.safe_load((CHECKS / kind / "health_test.yaml").read_text())["tests"]
        for test in tests:
            obj = yaml.safe_load((CHECKS / kind / test["inputPath"]).read_text())
            found.append((kind, obj, test["healthStatus"]))
    return found


def test_every_kind_has_a_check() -> None:
    assert KINDS == ["EdgeModel", "InferenceComponent", "ModelEndpoint", "TrafficSplit"]


def test_checks_are_real_files_argo_cd_can_embed() -> None:
    """Argo CD embeds its checks with go:embed, which refuses symlinks."""
    for kind in KINDS:
        assert not (CHECKS / kind / "health.lua").is_symlink(), kind


def test_the_argocd_cm_snippet_carries_every_check() -> None:
    snippet = load_snippet()
    assert snippet.snippet() == snippet.SNIPPET.read_text(), "run: python hack/argocd_snippet.py"
    data = yaml.safe_load(snippet.SNIPPET.read_text())["data"]
    for kind in KINDS:
        key = f"resource.customizations.health.serving.mlops.dev_{kind}"
        assert data[key] == (CHECKS / kind / "health.lua").read_text()


def load_snippet() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "argocd_snippet", ROOT / "hack" / "argocd_snippet.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("kind", "obj", "expected"), cases())
def test_health_check_matches_its_test_case(
    kind: str, obj: dict[str, Any], expected: dict[str, str]
) -> None:
    assert health(kind, obj) == (expected["status"], expected["message"])


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.ready("InService", "endpoint is in service"), "Healthy"),
        (Outcome.progressing("Updating", "updating endpoint"), "Progressing"),
        (Outcome.stalled("UpdateFailed", "rolled back"), "Degraded"),
    ],
)
def test_conditions_the_operator_writes_read_as_expected(outcome: Outcome, status: str) -> None:
    obj = {
        "metadata": {"generation": 4},
        "status": {"observedGeneration": 4, "conditions": kstatus_conditions(outcome, 4, [])},
    }
    assert health("ModelEndpoint", obj) == (status, outcome.message)
