"""One version, one published image: the package's __version__ is the source; the chart, the
Dockerfile's label, the CHANGELOG and the release workflow follow it."""

from __future__ import annotations

import re
from typing import Any

import yaml

from serving_operator import __version__
from tests.support.paths import ROOT

CHART = ROOT / "charts" / "serving-operator"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


def chart() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "Chart.yaml").read_text())
    return loaded


def dockerfile_args() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text()
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))


def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def test_chart_version_app_version_and_image_label_are_the_package_version() -> None:
    assert chart()["version"] == __version__
    assert chart()["appVersion"] == __version__
    assert dockerfile_args()["VERSION"] == __version__


def test_the_changelog_has_a_section_for_the_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(__version__)}\]", text, flags=re.MULTILINE)


def test_the_base_image_is_pinned_by_digest() -> None:
    base = dockerfile_args()["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    text = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE) == ["${PYTHON_IMAGE}"] * 2


def test_the_release_workflow_publishes_what_the_chart_pulls_for_two_platforms() -> None:
    flow = workflow()
    # PyYAML reads the key `on` as True.
    assert flow[True] == {"push": {"tags": ["v*.*.*"]}}
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert flow["env"]["IMAGE"] == values["image"]["repository"]
    assert values["image"]["tag"] == ""  # so the chart's appVersion picks the image
    build = next(
        step
        for step in flow["jobs"]["image"]["steps"]
        if str(step.get("uses", "")).startswith("docker/build-push-action")
    )
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["push"] is True
    assert "VERSION=${{ needs.version.outputs.version }}" in build["with"]["build-args"]
    chart_steps = "\n".join(s.get("run", "") for s in flow["jobs"]["chart"]["steps"])
    assert 'helm push "dist/serving-operator-' in chart_steps
    assert flow["env"]["CHART_REPOSITORY"].startswith("oci://")
    # Nothing is pushed before the suite passed and the tag matched the version.
    assert set(flow["jobs"]["image"]["needs"]) == {"version", "test"}
    version_step = "\n".join(s.get("run", "") for s in flow["jobs"]["version"]["steps"])
    assert "operator/serving_operator/__init__.py" in version_step
    assert "Chart.yaml" in version_step
