"""The test control plane reports the versions it was built from, as a real cluster does.

Charts' kubeVersion checks, helm's capability checks and `serving-operator check` read them.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.support import controlplane
from tests.support.paths import DEFAULT_ASSETS, ROOT

pytestmark = pytest.mark.e2e


def module_version(go_mod: str, module: str) -> str:
    text = (ROOT / "tests" / "controlplane" / go_mod).read_text()
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", text, re.MULTILINE)
    assert found, module
    return found.group(1)


def test_kubectl_and_the_apiserver_report_the_kubernetes_release(
    control_plane: controlplane.ControlPlane,
) -> None:
    done = subprocess.run(
        [
            str(DEFAULT_ASSETS / "kubectl"),
            "--kubeconfig",
            str(control_plane.kubeconfig(controlplane.ADMIN_USER)),
            "version",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    versions = json.loads(done.stdout)
    expected = module_version("go.mod", "k8s.io/kubernetes")
    assert versions["clientVersion"]["gitVersion"] == expected
    assert versions["serverVersion"]["gitVersion"] == expected
    assert versions["serverVersion"]["minor"] == expected.split(".")[1]


def test_helm_reports_its_release() -> None:
    done = subprocess.run(
        [str(DEFAULT_ASSETS / "helm"), "version", "--short"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith(module_version("helm/go.mod", "helm.sh/helm/v3"))


def test_kube_controller_manager_reports_the_kubernetes_release() -> None:
    done = subprocess.run(
        [str(DEFAULT_ASSETS / "kube-controller-manager"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["Kubernetes", module_version("go.mod", "k8s.io/kubernetes")]
