"""The Helm chart lints, renders, and its manifests pass the real kube-apiserver's validation."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import controlplane
from tests.support.paths import DEFAULT_ASSETS, ROOT

pytestmark = pytest.mark.e2e  # helm from the built control plane; one test uses the apiserver

CHART = ROOT / "charts" / "serving-operator"


def tool(name: str) -> str:
    for folder in (os.environ.get("KUBEBUILDER_ASSETS"), str(DEFAULT_ASSETS)):
        if folder and (Path(folder) / name).exists():
            return str(Path(folder) / name)
    found = shutil.which(name)
    assert found, f"{name} not found: run `make controlplane`"
    return found


def render(namespace: str, *values: str) -> list[dict[str, Any]]:
    args = [tool("helm"), "template", "serving", str(CHART), "--namespace", namespace]
    for value in values:
        args += ["--set", value]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_chart_lints() -> None:
    done = subprocess.run([tool("helm"), "lint", str(CHART)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_default_render_runs_one_standalone_operator_with_the_shared_rules() -> None:
    documents = render("serving")
    kinds = sorted(d["kind"] for d in documents)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ServiceAccount"]
    role = next(d for d in documents if d["kind"] == "ClusterRole")
    rules_file = CHART / "files" / "clusterrole-rules.yaml"
    assert role["rules"] == yaml.safe_load(rules_file.read_text())
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["run", "--standalone"]
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_peering_and_namespaces_reach_the_command_line() -> None:
    documents = render(
        "serving", "peering.enabled=true", "replicaCount=2", "watchNamespaces={ml-prod,ml-staging}"
    )
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:3] == ["run", "--peering", "serving-operator"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "--namespace"] == [
        "ml-prod",
        "ml-staging",
    ]
    assert deployment["spec"]["replicas"] == 2


def test_replicas_without_peering_are_refused() -> None:
    done = subprocess.run(
        [tool("helm"), "template", "serving", str(CHART), "--set", "replicaCount=2"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "needs peering.enabled=true" in done.stderr


def test_rendered_manifests_pass_server_side_validation(
    control_plane: controlplane.ControlPlane, namespace: str
) -> None:
    manifest = subprocess.run(
        [tool("helm"), "template", "serving", str(CHART), "--namespace", namespace],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    done = subprocess.run(
        [
            tool("kubectl"),
            "--kubeconfig",
            str(control_plane.kubeconfig(controlplane.ADMIN_USER)),
            "apply",
            "--dry-run=server",
            "-f",
            "-",
        ],
        input=manifest,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "deployment.apps/serving-serving-operator created (server dry run)" in done.stdout
