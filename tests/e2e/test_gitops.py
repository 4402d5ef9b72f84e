"""A GitOps round trip: what Argo CD and Flux do with the examples, done with kubectl.

Apply server-side, wait for Ready with `kubectl wait`, apply again: nothing changes, `kubectl
diff` is empty, and no field manager but the applier owns any part of the spec (the operator
writes status and its own metadata only), so a GitOps tool never sees drift it did not make.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.helpers import wait_gone
from tests.support import cluster, controlplane, processes
from tests.support.operator import OperatorProcess
from tests.support.paths import DEFAULT_ASSETS, EXAMPLES
from tests.support.sandbox import Sandbox, upload_demo_artifacts

pytestmark = pytest.mark.e2e

EXAMPLE = EXAMPLES / "xgboost-bikerental.yaml"
NAME = "xgboost-bikerental"
MANAGER = "gitops-test"


def kubectl(plane: controlplane.ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    kubeconfig: Path = plane.kubeconfig(controlplane.ADMIN_USER)
    return subprocess.run(
        [str(DEFAULT_ASSETS / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def spec_managers(obj: dict[str, Any]) -> set[str]:
    return {
        entry["manager"]
        for entry in obj["metadata"].get("managedFields", [])
        if "f:spec" in (entry.get("fieldsV1") or {})
    }


def test_apply_wait_apply_again_changes_nothing(
    control_plane: controlplane.ControlPlane,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
) -> None:
    upload_demo_artifacts(sandbox)
    apply = ("apply", "--server-side", f"--field-manager={MANAGER}", "-n", namespace)
    first = kubectl(control_plane, *apply, "-f", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    try:
        waited = kubectl(
            control_plane,
            "wait",
            "--for=condition=Ready",
            f"modelendpoint/{NAME}",
            "-n",
            namespace,
            "--timeout=120s",
        )
        assert waited.returncode == 0, waited.stderr
        before = model_endpoints.get(namespace, NAME)
        assert before is not None

        diff = kubectl(control_plane, "diff", "--server-side", "-n", namespace, "-f", str(EXAMPLE))
        assert (diff.returncode, diff.stdout) == (0, ""), diff.stdout + diff.stderr
        again = kubectl(control_plane, *apply, "-f", str(EXAMPLE))
        assert again.returncode == 0, again.stderr

        after = model_endpoints.get(namespace, NAME)
        assert after is not None
        assert after["metadata"]["generation"] == before["metadata"]["generation"]
        assert after["spec"] == before["spec"]
        assert spec_managers(after) == {MANAGER}
    finally:
        kubectl(control_plane, "delete", "-n", namespace, "-f", str(EXAMPLE), "--wait=false")
        wait_gone(model_endpoints, namespace, NAME, operator, timeout=90)


# Argo CD's server-side diff, as gitops-engine computes it (pkg/diff/diff.go, serverSideDiff):
# the predicted live state is a server-side apply dry run of the desired manifest, as field
# manager argocd-controller with --force-conflicts (the command Argo CD's sync runs with
# ServerSideApply=true, docs/user-guide/sync-options.md); `Normalize` drops
# metadata.creationTimestamp, and metadata.managedFields is dropped from both sides; the
# resource is in sync when what is left of both is equal. By default (IncludeMutationWebhook=
# false) Argo CD then keeps, of the prediction, only the fields argocd-controller owns, merged
# over the live object: when the whole prediction equals the live object, so does that merge,
# so the comparison here is, if anything, stricter than Argo CD's.
ARGOCD = "argocd-controller"
LIST_ITEM_DEFAULTS_SEEN = "the apiserver filled defaults inside list items"


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {
        k: v for k, v in obj["metadata"].items() if k not in ("managedFields", "creationTimestamp")
    }
    return {**obj, "metadata": metadata}


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    if isinstance(left, dict) and isinstance(right, dict):
        return [
            d
            for key in sorted(set(left) | set(right))
            for d in differences(left.get(key), right.get(key), f"{path}.{key}")
        ]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [path]


def argocd_server_side_diff(
    plane: controlplane.ControlPlane, namespace: str, manifest: dict[str, Any]
) -> list[str]:
    """The paths at which Argo CD's server-side diff finds the live object out of sync."""
    kind, name = manifest["kind"].lower(), manifest["metadata"]["name"]
    for _ in range(20):  # the operator may write status between the reads: read again
        before = json.loads(kubectl(plane, "get", kind, name, "-n", namespace, "-o", "json").stdout)
        dry_run = subprocess.run(
            [
                str(DEFAULT_ASSETS / "kubectl"),
                "--kubeconfig",
                str(plane.kubeconfig(controlplane.ADMIN_USER)),
                "apply",
                "--server-side",
                "--dry-run=server",
                "--force-conflicts",
                f"--field-manager={ARGOCD}",
                "-n",
                namespace,
                "-o",
                "json",
                "-f",
                "-",
            ],
            input=json.dumps(manifest),
            capture_output=True,
            text=True,
            check=True,
        )
        predicted = json.loads(dry_run.stdout)
        after = json.loads(kubectl(plane, "get", kind, name, "-n", namespace, "-o", "json").stdout)
        same = before["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]
        if (
            same
            and predicted["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]
        ):
            return differences(comparable(predicted), comparable(after))
        time.sleep(0.5)
    raise AssertionError(f"{kind}/{name} kept changing")


def list_item_defaults(desired: Any, live: Any, path: str = "", in_list: bool = False) -> list[str]:
    """Fields of the live object inside list items that the manifest does not set: what the
    API server's CRD defaulting added. Argo CD's legacy diff compares a custom resource's
    lists whole (a JSON merge patch replaces lists), so each of these makes it OutOfSync."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return [
            f
            for key in live
            for f in (
                [f"{path}.{key}"]
                if key not in desired and in_list
                else list_item_defaults(desired.get(key), live[key], f"{path}.{key}", in_list)
            )
        ]
    if isinstance(desired, list) and isinstance(live, list):
        return [
            f
            for i, (d, v) in enumerate(zip(desired, live, strict=False))
            for f in list_item_defaults(d, v, f"{path}[{i}]", True)
        ]
    return []


def test_argo_cds_server_side_diff_of_every_applied_example_is_empty(
    control_plane: controlplane.ControlPlane,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    models: str,
) -> None:
    """docs/gitops.md tells Argo CD users to set ServerSideDiff=true: every example, applied
    as Argo CD applies it and reconciled by the operator, then shows no diff as Argo CD's
    server-side diff computes it, though the API server filled defaults inside its lists
    (which Argo CD's default diff would show); a changed manifest does show a diff."""
    upload_demo_artifacts(sandbox)
    examples = sorted(EXAMPLES.glob("*.yaml"))
    manifests = [doc for path in examples for doc in yaml.safe_load_all(path.read_text()) if doc]
    applied = kubectl(
        control_plane,
        "apply",
        "--server-side",
        f"--field-manager={ARGOCD}",
        "-n",
        namespace,
        *(a for path in examples for a in ("-f", str(path))),
    )
    assert applied.returncode == 0, applied.stderr
    api = cluster.api_client(control_plane.kubeconfig(controlplane.ADMIN_USER))
    objects = {
        kind: cluster.Objects(api, plural)
        for kind, plural in (
            ("ModelEndpoint", "modelendpoints"),
            ("TrafficSplit", "trafficsplits"),
            ("EdgeModel", "edgemodels"),
            ("InferenceComponent", "inferencecomponents"),
        )
    }
    try:
        defaults: list[str] = []
        for manifest in manifests:
            kind, name = manifest["kind"], manifest["metadata"]["name"]
            processes.wait_until(
                lambda kind=kind, name=name: cluster.current_generation_observed(
                    objects[kind].get(namespace, name)
                ),
                timeout=90,
                what=f"the operator to act on {kind} {name}",
                log=operator.log,
            )
            live = objects[kind].get(namespace, name)
            assert live is not None
            assert live["metadata"]["finalizers"], "the operator has not made it its own yet"
            defaults += [f"{kind} {name}{f}" for f in list_item_defaults(manifest, live)]
            assert argocd_server_side_diff(control_plane, namespace, manifest) == [], name
        print(f"\n{len(defaults)} fields {LIST_ITEM_DEFAULTS_SEEN}: {defaults}")
        assert len(defaults) >= 10, LIST_ITEM_DEFAULTS_SEEN

        changed = yaml.safe_load((EXAMPLES / "xgboost-bikerental.yaml").read_text())
        changed["spec"]["variants"][0]["weight"] = 3
        # The dry run predicts the new spec, and with it the next generation.
        assert argocd_server_side_diff(control_plane, namespace, changed) == [
            ".metadata.generation",
            ".spec.variants[0].weight",
        ]
    finally:
        for manifest in manifests:
            kubectl(
                control_plane,
                "delete",
                manifest["kind"].lower(),
                manifest["metadata"]["name"],
                "-n",
                namespace,
                "--wait=false",
            )
        for manifest in manifests:
            wait_gone(
                objects[manifest["kind"]],
                namespace,
                manifest["metadata"]["name"],
                operator,
                timeout=120,
            )
