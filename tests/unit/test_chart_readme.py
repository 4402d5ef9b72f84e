"""The chart's README is generated from values.yaml and current: `make chart-readme`."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import yaml

from tests.support.paths import ROOT

CHART = ROOT / "charts" / "serving-operator"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chart_readme", ROOT / "hack" / "chart_readme.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_chart_readme_is_what_values_yaml_generates() -> None:
    assert (CHART / "README.md").read_text() == generator().render(), "run: make chart-readme"


def leaves(values: dict[str, object], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in values.items():
        if isinstance(value, dict) and value and f"{prefix}{key}" != "aws.rateLimits":
            found |= leaves(value, f"{prefix}{key}.")  # type: ignore[arg-type]
        else:
            found.add(f"{prefix}{key}")
    return found


def test_every_value_has_a_row_with_its_comment() -> None:
    text = (CHART / "values.yaml").read_text()
    readme = (CHART / "README.md").read_text()
    for path in leaves(yaml.safe_load(text)):
        assert f"| `{path}` |" in readme, path
    comments = generator().comments_by_path(text)
    assert comments["networkPolicy.egress.httpsCidrs"].startswith("Where HTTPS")
    assert "Defaults to the chart's appVersion" in comments["image.tag"]
