"""The chart installed, upgraded and uninstalled with helm against the real API server, and the
operator run as the chart's ServiceAccount.

The test control plane has no kubelet, so the chart's pod never runs: the operator runs as a
local process with the Deployment's own arguments and a token of the chart's ServiceAccount
(TokenRequest API), so it has exactly the permissions the chart grants. Each test has a control
plane of its own, because the chart installs cluster-wide CRDs (the session's control plane has
them already, not owned by a release) and the session's cluster-wide operator must not act here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes.client.rest import ApiException

from tests.e2e.helpers import wait_for_condition, wait_gone
from tests.e2e.test_chart import CHART, tool
from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.paths import CLUSTERROLE_RULES, CRDS, EXAMPLES, VENV_BIN
from tests.support.sandbox import Sandbox, upload_demo_artifacts

pytestmark = pytest.mark.e2e

RELEASE = "serving"
FULLNAME = "serving-serving-operator"  # release name + chart name, as _helpers.tpl builds it
SERVING_CRDS = sorted(p for p in CRDS.glob("*.serving.mlops.dev.yaml"))


def qualified(release_namespace: str) -> str:
    """The chart's name for its ClusterRole, ClusterRoleBinding, Roles and RoleBindings."""
    return f"{FULLNAME}-{release_namespace}"


@pytest.fixture
def chart_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    """A control plane with no CRDs and no operator: what a new cluster looks like to helm."""
    plane = controlplane.start(tmp_path / "controlplane")
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def demo_artifacts(sandbox: Sandbox) -> None:
    upload_demo_artifacts(sandbox)


class Helm:
    """helm as a platform team runs it, as the cluster's admin."""

    def __init__(self, plane: controlplane.ControlPlane) -> None:
        self.kubeconfig = plane.kubeconfig(controlplane.ADMIN_USER)

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [tool("helm"), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"helm {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout


def create_namespaces(api: kubernetes.client.ApiClient, *names: str) -> None:
    core = kubernetes.client.CoreV1Api(api)
    for name in names:
        core.create_namespace({"metadata": {"name": name}})


def service_account_kubeconfig(
    plane: controlplane.ControlPlane, api: kubernetes.client.ApiClient, namespace: str, name: str
) -> Path:
    """A kubeconfig holding a token the API server issued to the ServiceAccount (TokenRequest),
    so requests made with it are `system:serviceaccount:<namespace>:<name>`."""
    core = kubernetes.client.CoreV1Api(api)
    request = core.create_namespaced_service_account_token(
        name, namespace, {"spec": {"expirationSeconds": 3600}}
    )
    user = f"serviceaccount-{namespace}-{name}"  # a kubeconfig's name: no colons in paths
    plane.tokens[user] = request.status.token
    return plane.kubeconfig(user)


def whoami(api: kubernetes.client.ApiClient) -> str:
    review = kubernetes.client.AuthenticationV1Api(api).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    return str(review.status.user_info.username)


def allowed(
    api: kubernetes.client.ApiClient, verb: str, resource: str, namespace: str | None
) -> bool:
    """Ask the API server whether the client's own identity may do `verb` on `resource`."""
    attributes: dict[str, Any] = {"verb": verb, "group": cluster.GROUP, "resource": resource}
    if namespace is not None:
        attributes["namespace"] = namespace
    review = kubernetes.client.AuthorizationV1Api(api).create_self_subject_access_review(
        {"spec": {"resourceAttributes": attributes}}
    )
    return bool(review.status.allowed)


def deployment_args(api: kubernetes.client.ApiClient, namespace: str) -> list[str]:
    """The operator's arguments as the API server stored the chart's Deployment, without the
    leading `run` (operator.start adds it) and without the listen ports, which the local process
    replaces with free ones (for click the last --metrics-port/--liveness wins anyway)."""
    deployment = kubernetes.client.AppsV1Api(api).read_namespaced_deployment(FULLNAME, namespace)
    args: list[str] = list(deployment.spec.template.spec.containers[0].args)
    assert args[0] == "run"
    kept, skip = [], False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg in ("--metrics-port", "--liveness"):
            skip = True
        else:
            kept.append(arg)
    return kept


def example(name: str) -> dict[str, Any]:
    """The A/B example from examples/, under a name of its own (its AWS names follow it)."""
    body: dict[str, Any] = yaml.safe_load((EXAMPLES / "xgboost-bikerental.yaml").read_text())
    body["metadata"]["name"] = name
    return body


def crd_with_marked_description(source: Path, marker: str) -> str:
    crd = yaml.safe_load(source.read_text())
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = marker
    return yaml.safe_dump(crd, sort_keys=False)


def strip_finalizers(api: kubernetes.client.ApiClient, namespace: str) -> None:
    custom = kubernetes.client.CustomObjectsApi(api)
    items = custom.list_namespaced_custom_object(
        cluster.GROUP, cluster.VERSION, namespace, "modelendpoints"
    )["items"]
    for item in items:
        custom.patch_namespaced_custom_object(
            cluster.GROUP,
            cluster.VERSION,
            namespace,
            "modelendpoints",
            item["metadata"]["name"],
            {"metadata": {"finalizers": None}},
        )


def test_install_upgrade_uninstall_with_the_operator_as_the_charts_service_account(
    tmp_path: Path,
    chart_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    demo_artifacts: None,
) -> None:
    admin = cluster.api_client(chart_plane.kubeconfig(controlplane.ADMIN_USER))
    ext = kubernetes.client.ApiextensionsV1Api(admin)
    rbac = kubernetes.client.RbacAuthorizationV1Api(admin)
    helm = Helm(chart_plane)
    suffix = uuid.uuid4().hex[:8]
    release_ns, workload_ns = f"ops-{suffix}", f"ml-{suffix}"
    create_namespaces(admin, release_ns, workload_ns)

    # Install on a cluster without CRDs: the chart brings them.
    installed = helm("install", RELEASE, str(CHART), "--namespace", release_ns)
    assert "STATUS: deployed" in installed
    for path in SERVING_CRDS:
        source = yaml.safe_load(path.read_text())
        stored = ext.read_custom_resource_definition(source["metadata"]["name"])
        assert any(c.type == "Established" and c.status == "True" for c in stored.status.conditions)
        assert stored.metadata.annotations["helm.sh/resource-policy"] == "keep"
        assert stored.metadata.annotations["meta.helm.sh/release-name"] == RELEASE
    # kopf's peering CRDs come from the chart's crds/ folder, peering on or off: Helm installs
    # them first and owns them not (nor deletes them), so another kopf operator can share them.
    for crd in ext.list_custom_resource_definition().items:
        if crd.metadata.name.endswith(".kopf.dev"):
            assert "meta.helm.sh/release-name" not in (crd.metadata.annotations or {})
    assert {c.metadata.name for c in ext.list_custom_resource_definition().items} >= {
        "kopfpeerings.kopf.dev",
        "clusterkopfpeerings.kopf.dev",
    }
    role = rbac.read_cluster_role(qualified(release_ns))
    assert admin.sanitize_for_serialization(role.rules) == yaml.safe_load(
        CLUSTERROLE_RULES.read_text()
    )
    binding = rbac.read_cluster_role_binding(qualified(release_ns))
    assert [(s.kind, s.namespace, s.name) for s in binding.subjects] == [
        ("ServiceAccount", release_ns, FULLNAME)
    ]
    container = (
        kubernetes.client.AppsV1Api(admin)
        .read_namespaced_deployment(FULLNAME, release_ns)
        .spec.template.spec.containers[0]
    )
    for probe in (container.startup_probe, container.liveness_probe):
        assert (probe.http_get.path, probe.http_get.port) == ("/healthz", "liveness")
    ready = container.readiness_probe.http_get
    assert (ready.path, ready.port) == ("/readyz", "metrics")

    # The operator as the chart's ServiceAccount, with the chart's arguments.
    kubeconfig = service_account_kubeconfig(chart_plane, admin, release_ns, FULLNAME)
    as_operator = cluster.api_client(kubeconfig)
    assert whoami(as_operator) == f"system:serviceaccount:{release_ns}:{FULLNAME}"
    args = deployment_args(admin, release_ns)
    assert args[:1] == ["--standalone"]
    endpoints = cluster.Objects(admin, "modelendpoints")
    name = f"bikes-{suffix}"
    process = operator_support.start(tmp_path / "operator", kubeconfig, sandbox.env, args=args)
    try:
        endpoints.create(workload_ns, example(name))
        wait_for_condition(endpoints, workload_ns, name, "Ready", process)

        # Upgrade with a changed CRD: helm upgrades CRD templates (not so Helm's crds/ folder).
        changed = tmp_path / "chart"
        shutil.copytree(CHART, changed)
        marker = f"ModelEndpoint, upgraded by the chart {suffix}"
        crd_file = changed / "files" / "crds" / "modelendpoints.serving.mlops.dev.yaml"
        crd_file.write_text(crd_with_marked_description(crd_file, marker))
        upgraded = helm("upgrade", RELEASE, str(changed), "--namespace", release_ns)
        assert "REVISION: 2" in upgraded
        stored = ext.read_custom_resource_definition("modelendpoints.serving.mlops.dev")
        assert stored.spec.versions[0].schema.open_apiv3_schema.description == marker
        # The resources served by the upgraded CRD are untouched and still reconciled.
        endpoints.patch_spec(
            workload_ns, name, {"variants": [example(name)["spec"]["variants"][0]]}
        )
        wait_for_condition(
            endpoints,
            workload_ns,
            name,
            "Ready",
            process,
            also=lambda o: [v["name"] for v in o["status"]["variants"]] == ["version-0-90-2"],
        )
        endpoints.delete(workload_ns, name)
        wait_gone(endpoints, workload_ns, name, process)
    finally:
        process.stop()
        strip_finalizers(admin, workload_ns)

    # Uninstall: the CRDs and the custom resources stay, what the release owned goes.
    survivor = f"survivor-{suffix}"
    endpoints.create(workload_ns, example(survivor))
    uninstalled = helm("uninstall", RELEASE, "--namespace", release_ns)
    assert "kept due to the resource policy" in uninstalled
    for path in SERVING_CRDS:
        ext.read_custom_resource_definition(yaml.safe_load(path.read_text())["metadata"]["name"])
    assert endpoints.get(workload_ns, survivor) is not None
    for read in (rbac.read_cluster_role, rbac.read_cluster_role_binding):
        with pytest.raises(ApiException) as gone:
            read(qualified(release_ns))
        assert gone.value.status == 404
    with pytest.raises(ApiException) as gone:
        kubernetes.client.CoreV1Api(admin).read_namespaced_service_account(FULLNAME, release_ns)
    assert gone.value.status == 404


def test_namespaced_install_grants_nothing_outside_its_namespaces(
    tmp_path: Path,
    chart_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    demo_artifacts: None,
) -> None:
    admin = cluster.api_client(chart_plane.kubeconfig(controlplane.ADMIN_USER))
    rbac = kubernetes.client.RbacAuthorizationV1Api(admin)
    helm = Helm(chart_plane)
    suffix = uuid.uuid4().hex[:8]
    release_ns, watched, other = f"ops-{suffix}", f"ml-{suffix}", f"other-{suffix}"
    create_namespaces(admin, release_ns, watched, other)

    helm(
        "install",
        RELEASE,
        str(CHART),
        "--namespace",
        release_ns,
        "--set",
        "scope=namespaces",
        "--set",
        f"watchNamespaces={{{watched}}}",
    )
    assert rbac.read_namespaced_role(qualified(release_ns), watched).rules
    binding = rbac.read_namespaced_role_binding(qualified(release_ns), watched)
    assert binding.subjects[0].name == FULLNAME
    for namespace in (other, release_ns):
        assert not rbac.list_namespaced_role(namespace).items
    cluster_rules = admin.sanitize_for_serialization(
        rbac.read_cluster_role(qualified(release_ns)).rules
    )
    assert [r["resources"] for r in cluster_rules] == [["customresourcedefinitions"]]

    kubeconfig = service_account_kubeconfig(chart_plane, admin, release_ns, FULLNAME)
    as_operator = cluster.api_client(kubeconfig)
    for verb in ("list", "watch", "patch"):
        assert allowed(as_operator, verb, "modelendpoints", watched)
        assert not allowed(as_operator, verb, "modelendpoints", other)
        assert not allowed(as_operator, verb, "modelendpoints", None)  # cluster-wide
    with pytest.raises(ApiException) as refused:
        cluster.Objects(as_operator, "modelendpoints").custom.list_namespaced_custom_object(
            cluster.GROUP, cluster.VERSION, other, "modelendpoints"
        )
    assert refused.value.status == 403

    args = deployment_args(admin, release_ns)
    assert args == ["--standalone", "--namespace", watched, "--log-format", "json"]
    endpoints = cluster.Objects(admin, "modelendpoints")
    name = f"bikes-{suffix}"
    process = operator_support.start(tmp_path / "operator", kubeconfig, sandbox.env, args=args)
    try:
        endpoints.create(watched, example(name))
        wait_for_condition(endpoints, watched, name, "Ready", process)
        endpoints.delete(watched, name)
        wait_gone(endpoints, watched, name, process)
    finally:
        process.stop()
        strip_finalizers(admin, watched)
        helm("uninstall", RELEASE, "--namespace", release_ns)


def rule_permissions(rule: dict[str, Any]) -> set[str]:
    """A rule's permissions as `serving-operator check` names them: `verb resource[.group]`."""
    return {
        f"{verb} {resource}" + (f".{group}" if group else "")
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def rbac_check(kubeconfig: Path, sandbox: Sandbox) -> dict[str, Any]:
    """`serving-operator check`'s RBAC result, run as the given kubeconfig's identity."""
    done = subprocess.run(
        [str(VENV_BIN / "serving-operator"), "check", "-o", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, **sandbox.env, "KUBECONFIG": str(kubeconfig)},
    )
    results = json.loads(done.stdout)
    checks = results["checks"] if isinstance(results, dict) else results
    found: dict[str, Any] = next(c for c in checks if c["name"] == "RBAC")
    return found


def test_each_rule_the_chart_grants_is_checked_and_a_dropped_one_is_named(
    chart_plane: controlplane.ControlPlane, sandbox: Sandbox
) -> None:
    """Drop each rule from the installed ClusterRole in turn: the ServiceAccount is refused
    exactly that rule's permissions (SelfSubjectAccessReview, what a request would get as 403),
    and `serving-operator check` names them."""
    admin = cluster.api_client(chart_plane.kubeconfig(controlplane.ADMIN_USER))
    rbac = kubernetes.client.RbacAuthorizationV1Api(admin)
    release_ns = f"ops-{uuid.uuid4().hex[:8]}"
    create_namespaces(admin, release_ns)
    helm = Helm(chart_plane)
    helm("install", RELEASE, str(CHART), "--namespace", release_ns)
    kubeconfig = service_account_kubeconfig(chart_plane, admin, release_ns, FULLNAME)
    authorization = kubernetes.client.AuthorizationV1Api(cluster.api_client(kubeconfig))
    rules = yaml.safe_load(CLUSTERROLE_RULES.read_text())

    def granted(permission: str) -> bool:
        verb, _, what = permission.partition(" ")
        resource, _, group = what.partition(".")
        name, _, subresource = resource.partition("/")
        attributes = {"verb": verb, "group": group, "resource": name, "subresource": subresource}
        review = authorization.create_self_subject_access_review(
            {"spec": {"resourceAttributes": attributes}}
        )
        return bool(review.status.allowed)

    assert rbac_check(kubeconfig, sandbox)["status"] == "ok"
    for index, rule in enumerate(rules):
        dropped = rule_permissions(rule)
        fewer = [r for i, r in enumerate(rules) if i != index]
        rbac.patch_cluster_role(qualified(release_ns), {"rules": fewer})
        # The authorizer follows RBAC objects through a watch: wait until the drop took effect.
        first = sorted(dropped)[0]
        processes.wait_until(lambda first=first: not granted(first), timeout=10, what="drop")
        assert not [p for p in dropped if granted(p)]
        result = rbac_check(kubeconfig, sandbox)
        assert result["status"] == "failed"
        assert set(result["details"]["missing"]) == dropped
    rbac.patch_cluster_role(qualified(release_ns), {"rules": rules})
    processes.wait_until(
        lambda: rbac_check(kubeconfig, sandbox)["status"] == "ok", timeout=30, what="restore"
    )
    helm("uninstall", RELEASE, "--namespace", release_ns)


def test_one_release_name_in_two_namespaces_installs_twice_with_rbac_of_its_own(
    chart_plane: controlplane.ControlPlane,
) -> None:
    """Shards as values.yaml describes them: the same release name in two namespaces (the
    second leaves the CRDs to the first, since a CRD belongs to one release)."""
    admin = cluster.api_client(chart_plane.kubeconfig(controlplane.ADMIN_USER))
    rbac = kubernetes.client.RbacAuthorizationV1Api(admin)
    helm = Helm(chart_plane)
    suffix = uuid.uuid4().hex[:8]
    shards = [f"shard-a-{suffix}", f"shard-b-{suffix}"]
    create_namespaces(admin, *shards)
    helm("install", RELEASE, str(CHART), "--namespace", shards[0], "--set", "selector=shard=a")
    helm(
        "install",
        RELEASE,
        str(CHART),
        "--namespace",
        shards[1],
        "--set",
        "selector=shard=b",
        "--set",
        "crds.enabled=false",
    )
    for namespace in shards:
        binding = rbac.read_cluster_role_binding(qualified(namespace))
        assert binding.role_ref.name == qualified(namespace)
        assert [(s.namespace, s.name) for s in binding.subjects] == [(namespace, FULLNAME)]
        assert rbac.read_cluster_role(qualified(namespace)).rules
        # Each shard's ServiceAccount may do its work (through its own binding).
        kubeconfig = service_account_kubeconfig(chart_plane, admin, namespace, FULLNAME)
        assert allowed(cluster.api_client(kubeconfig), "patch", "modelendpoints", None)
    # Uninstalling one shard leaves the other's RBAC in place.
    helm("uninstall", RELEASE, "--namespace", shards[0])
    with pytest.raises(ApiException) as gone:
        rbac.read_cluster_role(qualified(shards[0]))
    assert gone.value.status == 404
    assert rbac.read_cluster_role_binding(qualified(shards[1])).subjects[0].namespace == shards[1]
    helm("uninstall", RELEASE, "--namespace", shards[1])
