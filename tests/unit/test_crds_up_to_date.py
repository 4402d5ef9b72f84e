"""The CRDs in crds/ are generated from the pydantic models; a stale file fails here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from serving_operator.api import ALL_KINDS, GROUP, VERSION
from serving_operator.api.common import KindInfo
from serving_operator.api.crdgen import crd_file_name, crd_for
from serving_operator.cli import main
from tests.support.paths import CRDS


def test_committed_crds_match_the_models(tmp_path: Path) -> None:
    assert main(["crds", "--output-dir", str(tmp_path)]) == 0
    generated = sorted(p.name for p in tmp_path.glob("*.yaml"))
    committed = sorted(p.name for p in CRDS.glob("*.yaml"))
    assert generated == committed, "run `make crds` and commit the result"
    for name in generated:
        assert (tmp_path / name).read_text() == (CRDS / name).read_text(), (
            f"crds/{name} is stale: run `make crds` and commit the result"
        )


def _walk(node: object, path: str = "") -> list[str]:
    """Paths of schema nodes that are not structural (refs, unions, untyped)."""
    problems = []
    if isinstance(node, dict):
        for bad in ("$ref", "anyOf", "allOf", "oneOf", "title", "$defs"):
            if bad in node:
                problems.append(f"{path}: {bad}")
        if "properties" in node and node.get("type") != "object":
            problems.append(f"{path}: properties without type: object")
        for child in ("items", "additionalProperties"):
            if isinstance(node.get(child), dict) and "type" not in node[child]:
                problems.append(f"{path}.{child}: no type")
        for name, prop in node.get("properties", {}).items():
            if "type" not in prop and not prop.get("x-kubernetes-preserve-unknown-fields"):
                problems.append(f"{path}.properties.{name}: no type")
        for key, value in node.items():
            problems += _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            problems += _walk(value, f"{path}[{i}]")
    return problems


def test_schemas_are_structural_and_have_status_subresource() -> None:
    for kind in ALL_KINDS:
        crd = crd_for(kind, GROUP, VERSION)
        version = crd["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        schema = version["schema"]["openAPIV3Schema"]
        assert _walk(schema) == []
        assert crd["spec"]["names"]["categories"] == ["mlserving"]
        assert yaml.safe_load(yaml.safe_dump(crd)) == crd
        assert crd_file_name(kind, GROUP) == f"{kind.plural}.{GROUP}.yaml"


def test_optional_fields_are_not_required_and_defaults_survive() -> None:
    from serving_operator.api import MODEL_ENDPOINT

    spec = crd_for(MODEL_ENDPOINT, GROUP, VERSION)["spec"]["versions"][0]["schema"][
        "openAPIV3Schema"
    ]["properties"]["spec"]
    assert set(spec["required"]) == {"executionRoleArn", "variants"}
    variant = spec["properties"]["variants"]["items"]
    assert variant["properties"]["instanceCount"]["default"] == 1
    assert variant["properties"]["instanceCount"]["minimum"] == 1
    assert spec["properties"]["deletionPolicy"] == {
        "enum": ["Delete", "Retain"],
        "type": "string",
        "default": "Delete",
        "description": spec["properties"]["deletionPolicy"]["description"],
    }
    assert spec["properties"]["variants"]["x-kubernetes-list-map-keys"] == ["name"]


def test_generated_file_names_are_the_committed_ones() -> None:
    ours = {crd_file_name(k, GROUP) for k in ALL_KINDS}
    peering = {"clusterkopfpeerings.kopf.dev.yaml", "kopfpeerings.kopf.dev.yaml"}
    assert ours | peering == {p.name for p in Path(CRDS).glob("*.yaml")}


def _undescribed(node: dict[str, Any], path: str) -> list[str]:
    missing = []
    for name, prop in (node.get("properties") or {}).items():
        where = f"{path}.{name}"
        if not prop.get("description"):
            missing.append(where)
        missing += _undescribed(prop, where)
    if "items" in node:
        missing += _undescribed(node["items"], f"{path}[]")
    return missing


@pytest.mark.parametrize("kind", ALL_KINDS, ids=[k.kind for k in ALL_KINDS])
def test_every_field_is_described_for_kubectl_explain(kind: KindInfo) -> None:
    schema = crd_for(kind, GROUP, VERSION)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for part in ("spec", "status"):
        assert _undescribed(schema["properties"][part], part) == []


def test_wide_output_shows_why_a_resource_is_not_ready() -> None:
    for kind in ALL_KINDS:
        columns = crd_for(kind, GROUP, VERSION)["spec"]["versions"][0]["additionalPrinterColumns"]
        wide = {c["name"]: c for c in columns if c.get("priority") == 1}
        assert set(wide) >= {"Reason", "Message"}
