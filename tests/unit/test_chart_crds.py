"""The chart's CRDs are the repository's crds/: one source of truth.

The chart cannot read files outside its folder, so `make crds` copies crds/ into the chart
(hack/chart_crds.py): the operator's CRDs byte for byte into files/crds/, which
templates/crds.yaml renders; kopf's peering CRDs into the chart's crds/ folder, which Helm
installs before the peering object, with Argo CD's annotations added and nothing else changed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import yaml

from tests.support.paths import CRDS, ROOT

CHART = ROOT / "charts" / "serving-operator"


def chart_crds_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chart_crds", ROOT / "hack" / "chart_crds.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chart_files() -> set[Path]:
    return {*CHART.glob("files/crds/*"), *CHART.glob("crds/*")}


def test_the_chart_ships_every_crd_and_nothing_else() -> None:
    expected = chart_crds_script().expected()
    assert len(expected) == len(list(CRDS.glob("*.yaml"))) > 0
    assert chart_files() == set(expected), "run `make crds`"


def test_the_charts_crds_are_the_bytes_make_crds_writes() -> None:
    stale = [
        str(path.relative_to(CHART))
        for path, text in chart_crds_script().expected().items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"run `make crds`: {stale} differ from crds/"


def test_the_operators_crds_are_templates_and_kopfs_are_installed_first() -> None:
    templated = {p.name for p in CHART.glob("files/crds/*.yaml")}
    first = {p.name for p in CHART.glob("crds/*.yaml")}
    assert templated == {p.name for p in CRDS.glob("*.serving.mlops.dev.yaml")}
    assert first == {"kopfpeerings.kopf.dev.yaml", "clusterkopfpeerings.kopf.dev.yaml"}


def test_kopfs_crds_differ_from_crds_only_by_argo_cds_annotations() -> None:
    for path in CHART.glob("crds/*.yaml"):
        shipped = yaml.safe_load(path.read_text())
        annotations = shipped["metadata"].pop("annotations")
        assert annotations == {
            "argocd.argoproj.io/sync-options": "Prune=false",
            "argocd.argoproj.io/sync-wave": "-1",
        }
        assert shipped == yaml.safe_load((CRDS / path.name).read_text())
