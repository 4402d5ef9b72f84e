"""The chart's CRDs are the repository's crds/, byte for byte: one source of truth.

The chart cannot read files outside its folder, so `make crds` copies crds/ into
charts/serving-operator/files/crds/, which templates/crds.yaml renders.
"""

from __future__ import annotations

from tests.support.paths import CRDS, ROOT

CHART_CRDS = ROOT / "charts" / "serving-operator" / "files" / "crds"


def test_the_chart_ships_every_crd_and_nothing_else() -> None:
    expected = sorted(p.name for p in CRDS.glob("*.yaml"))
    assert expected, "crds/ is empty"
    assert sorted(p.name for p in CHART_CRDS.iterdir()) == expected, "run `make crds`"


def test_the_charts_crds_are_the_same_bytes_as_crds() -> None:
    different = [
        path.name
        for path in sorted(CRDS.glob("*.yaml"))
        if (CHART_CRDS / path.name).read_bytes() != path.read_bytes()
    ]
    assert not different, f"run `make crds`: {different} differ from crds/"
