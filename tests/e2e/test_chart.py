"""The Helm chart lints, renders, and its manifests pass the real kube-apiserver's validation."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from serving_operator.aws.ratelimit import DEFAULT_RATES, Rate, parse_rates
from serving_operator.labelselector import parse_selector
from tests.support import controlplane
from tests.support.paths import CLUSTERROLE_RULES, CRDS, DEFAULT_ASSETS, PEERING_RULES, ROOT

pytestmark = pytest.mark.e2e  # helm from the built control plane; one test uses the apiserver

CHART = ROOT / "charts" / "serving-operator"


def tool(name: str) -> str:
    for folder in (os.environ.get("KUBEBUILDER_ASSETS"), str(DEFAULT_ASSETS)):
        if folder and (Path(folder) / name).exists():
            return str(Path(folder) / name)
    found = shutil.which(name)
    assert found, f"{name} not found: run `make controlplane`"
    return found


def kube_version() -> str:
    """The test control plane's Kubernetes version (tests/controlplane/go.mod)."""
    go_mod = (ROOT / "tests" / "controlplane" / "go.mod").read_text()
    found = re.search(r"^\s*k8s\.io/kubernetes v(\S+)", go_mod, flags=re.MULTILINE)
    assert found, "k8s.io/kubernetes not in tests/controlplane/go.mod"
    return found.group(1)


def helm_template() -> list[str]:
    """`helm template` for the test control plane's Kubernetes, as Argo CD renders a chart for
    its cluster: without --kube-version helm assumes the version stamped into its build
    (v1.20 when built without the stamp), below the chart's kubeVersion."""
    return [tool("helm"), "template", "--kube-version", kube_version()]


def render(namespace: str, *values: str) -> list[dict[str, Any]]:
    args = [*helm_template(), "serving", str(CHART), "--namespace", namespace]
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
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        *["CustomResourceDefinition"] * len(list(CRDS.glob("*.serving.mlops.dev.yaml"))),
        "Deployment",
        "Service",
        "ServiceAccount",
    ]
    role = next(d for d in documents if d["kind"] == "ClusterRole")
    rules_file = CHART / "files" / "clusterrole-rules.yaml"
    assert role["rules"] == yaml.safe_load(rules_file.read_text())
    # kopf only patches; peering is off, so no kopf.dev rules.
    assert not {verb for verb in rule_grants(role["rules"]) if verb[2] == "update"}
    assert not {g for g, _, _ in rule_grants(role["rules"]) if g == "kopf.dev"}
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["run", "--standalone"]
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_peering_and_namespaces_reach_the_command_line() -> None:
    documents = render(
        "serving",
        "peering.enabled=true",
        "peering.lifetimeSeconds=20",
        "replicaCount=2",
        "watchNamespaces={ml-prod,ml-staging}",
    )
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["SERVING_OPERATOR_PEERING_LIFETIME_SECONDS"] == "20"
    assert args[:3] == ["run", "--peering", "serving-operator"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "--namespace"] == [
        "ml-prod",
        "ml-staging",
    ]
    assert deployment["spec"]["replicas"] == 2


def test_replicas_without_peering_are_refused() -> None:
    done = subprocess.run(
        [*helm_template(), "serving", str(CHART), "--set", "replicaCount=2"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "needs peering.enabled=true" in done.stderr


@pytest.mark.parametrize("scope", ["cluster", "namespaces"])
def test_rendered_manifests_pass_server_side_validation(
    control_plane: controlplane.ControlPlane,
    admin_api: kubernetes.client.ApiClient,
    namespace: str,
    scope: str,
) -> None:
    values = ["--set", f"scope={scope}"]
    # The API server warns when a Deployment's pods would break the namespace's Pod Security level.
    kubernetes.client.CoreV1Api(admin_api).patch_namespace(
        namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/warn": "restricted"}}}
    )
    if scope == "namespaces":
        # Everything optional that the API server can check without Prometheus Operator's CRDs.
        values += ["--set", f"watchNamespaces={{{namespace}}}", "--set", "peering.enabled=true"]
        values += ["--set", "replicaCount=2", "--set", "extraEnv[0].name=A,extraEnv[0].value=b"]
        values += ["--set", "networkPolicy.enabled=true"]
        values += ["--set", "networkPolicy.metricsFrom[0].podSelector.matchLabels.app=prometheus"]
    manifest = subprocess.run(
        [*helm_template(), "serving", str(CHART), "--namespace", namespace, *values],
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
    assert "PodSecurity" not in done.stderr  # the default security context is `restricted`
    assert "deployment.apps/serving-serving-operator created (server dry run)" in done.stdout
    assert "customresourcedefinition.apiextensions.k8s.io/modelendpoints" in done.stdout
    if scope == "namespaces":
        role = f"role.rbac.authorization.k8s.io/serving-serving-operator-{namespace} created"
        assert role in done.stdout
        assert "kopfpeering.kopf.dev/serving-operator created" in done.stdout
        assert "poddisruptionbudget.policy/serving-serving-operator created" in done.stdout
        assert "networkpolicy.networking.k8s.io/serving-serving-operator created" in done.stdout


def by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def refusal(*values: str) -> str:
    """helm template's error output for values the chart must refuse."""
    args = [*helm_template(), "serving", str(CHART)]
    for value in values:
        args += ["--set", value]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode != 0, f"{values} rendered"
    return done.stderr


ARGOCD_ANNOTATIONS = {
    "argocd.argoproj.io/sync-options": "Prune=false",
    "argocd.argoproj.io/sync-wave": "-1",
}


def without_chart_metadata(crd: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in crd["metadata"].items() if k not in ("labels", "annotations")}
    return {**crd, "metadata": metadata}


def render_with_crds(*values: str) -> list[dict[str, Any]]:
    """helm template --include-crds, as Argo CD renders a chart: the crds/ folder too."""
    args = [tool("helm"), "template", "serving", str(CHART), "--include-crds"]
    for value in values:
        args += ["--set", value]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.mark.parametrize("peering", [False, True])
def test_rendered_crds_are_crds_folder_plus_helm_metadata(peering: bool) -> None:
    documents = render("serving", f"peering.enabled={str(peering).lower()}")
    rendered = {d["metadata"]["name"]: d for d in by_kind(documents, "CustomResourceDefinition")}
    sources = {
        crd["metadata"]["name"]: crd
        for crd in (yaml.safe_load(p.read_text()) for p in sorted(CRDS.glob("*.yaml")))
        if crd["spec"]["group"] != "kopf.dev"
    }
    # kopf's peering CRDs are never templates: the chart's crds/ folder holds them.
    assert set(rendered) == set(sources)
    for name, crd in rendered.items():
        assert without_chart_metadata(crd) == sources[name]
        assert crd["metadata"]["annotations"] == {
            "helm.sh/resource-policy": "keep",
            **ARGOCD_ANNOTATIONS,
        }
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_argo_cd_gets_every_crd_never_pruned_and_before_the_peering_object() -> None:
    """What Argo CD applies (`helm template --include-crds`): all five CRDs, each with
    Prune=false and a sync wave before the peering object's."""
    documents = render_with_crds("peering.enabled=true", "crds.keep=false")
    crds = by_kind(documents, "CustomResourceDefinition")
    assert sorted(d["metadata"]["name"] for d in crds) == sorted(
        yaml.safe_load(p.read_text())["metadata"]["name"] for p in CRDS.glob("*.yaml")
    )
    for crd in crds:
        annotations = crd["metadata"]["annotations"]
        assert annotations.items() >= ARGOCD_ANNOTATIONS.items()
        assert "helm.sh/resource-policy" not in annotations  # crds.keep=false
    (peering,) = by_kind(documents, "ClusterKopfPeering")
    wave = int(peering["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", 0))
    assert wave > -1


def test_crds_can_be_left_to_the_user_or_deleted_on_uninstall() -> None:
    assert not by_kind(render("serving", "crds.enabled=false"), "CustomResourceDefinition")
    not_kept = by_kind(render("serving", "crds.keep=false"), "CustomResourceDefinition")
    assert not_kept
    assert all(d["metadata"]["annotations"] == ARGOCD_ANNOTATIONS for d in not_kept)


def rule_grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_namespaced_scope_grants_the_shared_rules_per_namespace() -> None:
    documents = render(
        "ops",
        "scope=namespaces",
        "watchNamespaces={ml-prod,ml-staging}",
        "peering.enabled=true",
        "replicaCount=2",
    )
    roles = by_kind(documents, "Role")
    bindings = by_kind(documents, "RoleBinding")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["ml-prod", "ml-staging"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["ml-prod", "ml-staging"]
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "serving-serving-operator", "namespace": "ops"}
        ]
        assert binding["metadata"]["name"] == "serving-serving-operator-ops"
    (cluster_role,) = by_kind(documents, "ClusterRole")
    shared = rule_grants(yaml.safe_load(CLUSTERROLE_RULES.read_text())) | rule_grants(
        yaml.safe_load(PEERING_RULES.read_text())  # peering is on here
    )
    in_namespace = rule_grants(roles[0]["rules"])
    cluster_wide = rule_grants(cluster_role["rules"])
    assert {resource for _, resource, _ in cluster_wide} == {"customresourcedefinitions"}
    # Everything else the shared rules grant, a Role grants, but for what only exists
    # cluster-wide and a namespaced operator does not use.
    assert {r for _, r, _ in shared - in_namespace - cluster_wide} == {
        "namespaces",
        "clusterkopfpeerings",
    }
    assert in_namespace <= shared
    assert cluster_wide <= shared
    assert sorted(p["metadata"]["namespace"] for p in by_kind(documents, "KopfPeering")) == [
        "ml-prod",
        "ml-staging",
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("scope=namespaces",), "scope=namespaces needs watchNamespaces"),
        (("scope=namespaces", "watchNamespaces={ml-*}"), "not patterns (ml-*)"),
        (("peering.enabled=true", "watchNamespaces={ml-prod,ml-*}"), "patterns in watchNamespaces"),
        (("peering.enabled=true", "watchNamespaces={!kube-system}"), "(!kube-system)"),
        (("metrics.service.enabled=false", "metrics.serviceMonitor.enabled=true"), "Service"),
    ],
)
def test_values_that_cannot_work_are_refused_with_the_reason(
    values: tuple[str, ...], message: str
) -> None:
    assert message in refusal(*values)


def test_patterns_are_fine_for_a_cluster_wide_standalone_operator() -> None:
    documents = render("serving", "watchNamespaces={ml-*}")
    assert not by_kind(documents, "Role")
    assert by_kind(documents, "ClusterRole")[0]["rules"] == yaml.safe_load(
        CLUSTERROLE_RULES.read_text()
    )


@pytest.mark.parametrize(
    ("values", "path"),
    [
        (("scope=everywhere",), "/scope"),
        (("replicaCount=-1",), "/replicaCount"),
        (("peering.lifetimeSeconds=5",), "/peering/lifetimeSeconds"),
        (("crds.enabled=yes",), "/crds/enabled"),
        (("aws.region=mars",), "/aws/region"),
        (("aws.rateLimit.callsPerSecond=0",), "/aws/rateLimit/callsPerSecond"),
        (("aws.rateLimits.sagemaker.burst=0",), "/aws/rateLimits/sagemaker/burst"),
        (("aws.rateLimits.sagemakr.perSecond=1",), "/aws/rateLimits"),
        (("selector=shard>1",), "/selector"),
        (("extraArgs=--verbose",), "/extraArgs"),
        (("metrics.port=70000",), "/metrics/port"),
        (("metrics.serviceMonitor.interval=often",), "/metrics/serviceMonitor/interval"),
        (("image.pullPolicy=Sometimes",), "/image/pullPolicy"),
        (("resync.second=5",), "/resync"),
        (("watchNamespaces={ML_Prod}",), "/watchNamespaces/0"),
        (("extraEnv[0].name=WORKERS", "extraEnv[0].value=32"), "/extraEnv/0/value"),
    ],
)
def test_the_values_schema_rejects_bad_values(values: tuple[str, ...], path: str) -> None:
    stderr = refusal(*values)
    assert "don't meet the specifications of the schema" in stderr
    assert f"at '{path}'" in stderr
    linted = subprocess.run(
        [tool("helm"), "lint", str(CHART), *(f"--set={value}" for value in values)],
        capture_output=True,
        text=True,
    )
    assert linted.returncode != 0


def container_of(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = by_kind(documents, "Deployment")
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_probes_use_kopfs_liveness_endpoint_and_the_operators_readiness() -> None:
    container = container_of(render("serving", "liveness.port=9091"))
    assert "--liveness" in container["args"]
    assert container["args"][container["args"].index("--liveness") + 1] == (
        "http://0.0.0.0:9091/healthz"
    )
    (port,) = [p for p in container["ports"] if p["name"] == "liveness"]
    assert port["containerPort"] == 9091
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "liveness"}
    # Readiness is the operator's own check on the metrics port, not kopf's liveness.
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert "--metrics-port" in container["args"]
    # The start-up probe waits longer than the liveness probe would before a restart.
    startup, liveness = container["startupProbe"], container["livenessProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] > (
        liveness["periodSeconds"] * liveness["failureThreshold"]
    )


def test_extra_env_args_and_rate_limits_reach_the_container() -> None:
    container = container_of(
        render(
            "serving",
            "aws.rateLimits.sagemaker.perSecond=2.5",
            "aws.rateLimits.cloudwatch.burst=3",
            "aws.rateLimit.callsPerSecond=2.5",
            "aws.rateLimit.burst=7",
            "extraArgs={--verbose}",
            "extraEnv[0].name=HTTPS_PROXY",
            "extraEnv[0].value=http://proxy:3128",
            "extraEnvFrom[0].configMapRef.name=proxy",
        )
    )
    env = {e["name"]: e.get("value") for e in container["env"]}
    rates = parse_rates(env["SERVING_OPERATOR_AWS_RATE_LIMITS"])
    assert rates["sagemaker"] == Rate(2.5, DEFAULT_RATES["sagemaker"].burst)
    assert rates["cloudwatch"] == Rate(DEFAULT_RATES["cloudwatch"].per_second, 3)
    assert env["SERVING_OPERATOR_AWS_CALLS_PER_SECOND"] == "2.5"
    assert env["SERVING_OPERATOR_AWS_BURST"] == "7"
    assert env["HTTPS_PROXY"] == "http://proxy:3128"
    assert container["args"][-1] == "--verbose"
    assert container["envFrom"] == [{"configMapRef": {"name": "proxy"}}]


def test_the_charts_rate_limits_are_the_operators_defaults_and_no_overall_cap() -> None:
    env = {e["name"]: e.get("value") for e in container_of(render("serving"))["env"]}
    assert parse_rates(env["SERVING_OPERATOR_AWS_RATE_LIMITS"]) == dict(DEFAULT_RATES)
    assert "SERVING_OPERATOR_AWS_CALLS_PER_SECOND" not in env
    assert "SERVING_OPERATOR_AWS_BURST" not in env
    assert "SERVING_OPERATOR_SELECTOR" not in env


def test_a_shards_selector_reaches_the_operator() -> None:
    # helm --set splits on commas; a values file would not need the backslash.
    env = {
        e["name"]: e.get("value")
        for e in container_of(render("serving", "selector=shard in (a\\,b)"))["env"]
    }
    assert parse_selector(env["SERVING_OPERATOR_SELECTOR"]) == parse_selector("shard in (a,b)")


def test_the_safe_security_context_is_the_default_and_a_value() -> None:
    documents = render("serving")
    (deployment,) = by_kind(documents, "Deployment")
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    container = container_of(documents)["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    changed = container_of(render("serving", "securityContext.runAsUser=20000"))
    assert changed["securityContext"]["runAsUser"] == 20000


def test_a_disruption_budget_only_with_standby_replicas() -> None:
    assert not by_kind(render("serving"), "PodDisruptionBudget")
    (budget,) = by_kind(
        render("serving", "peering.enabled=true", "replicaCount=3"), "PodDisruptionBudget"
    )
    assert budget["spec"]["minAvailable"] == 1
    (deployment,) = by_kind(render("serving"), "Deployment")
    assert (
        budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    )


def test_monitoring_objects_scrape_the_service_and_alert_on_the_operators_metrics() -> None:
    from serving_operator import metrics

    assert not by_kind(render("serving"), "ServiceMonitor")
    assert not by_kind(render("serving"), "PrometheusRule")
    documents = render(
        "ops",
        "metrics.serviceMonitor.enabled=true",
        "metrics.serviceMonitor.labels.release=prometheus",
        "metrics.prometheusRule.enabled=true",
    )
    (monitor,) = by_kind(documents, "ServiceMonitor")
    (service,) = by_kind(documents, "Service")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [
        p["name"] for p in service["spec"]["ports"]
    ]
    (rule,) = by_kind(documents, "PrometheusRule")
    alerts = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {
        "ServingOperatorResourcesStalled",
        "ServingOperatorAwsErrorRate",
        "ServingOperatorReconcileErrors",
    }
    assert 'outcome="Stalled"' in alerts["ServingOperatorResourcesStalled"]
    assert 'outcome!~"ok|existed"' in alerts["ServingOperatorAwsErrorRate"]
    # Every metric an alert reads is a counter the operator exports (exposed with _total).
    exported = {
        f"{family.name}_total"
        for counter in (metrics.RECONCILES, metrics.AWS_CALLS)
        for family in counter.describe()
        if family.type == "counter"
    }
    used = {name for expr in alerts.values() for name in re.findall(r"serving_operator_\w+", expr)}
    assert used
    assert used <= exported
    assert all('namespace="ops"' in expr for expr in alerts.values())


def test_cluster_scoped_names_carry_the_release_namespace() -> None:
    """Shards: one release name in two namespaces must not share a ClusterRole or a Role."""
    names = {}
    for namespace in ("shard-a", "shard-b"):
        documents = render(
            namespace, "scope=namespaces", "watchNamespaces={ml-shared}", "selector=shard=x"
        )
        names[namespace] = {
            (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])
            for d in documents
            if d["kind"] in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
        }
        (binding,) = by_kind(documents, "ClusterRoleBinding")
        (cluster_role,) = by_kind(documents, "ClusterRole")
        assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
        assert binding["metadata"]["name"] == f"serving-serving-operator-{namespace}"
        for role_binding in by_kind(documents, "RoleBinding"):
            assert role_binding["roleRef"]["name"] == f"serving-serving-operator-{namespace}"
    assert len(names["shard-a"]) == 4
    assert not names["shard-a"] & names["shard-b"]


def test_peering_rules_only_with_peering() -> None:
    peering = rule_grants(yaml.safe_load(PEERING_RULES.read_text()))
    (without,) = by_kind(render("serving"), "ClusterRole")
    (with_peering,) = by_kind(render("serving", "peering.enabled=true"), "ClusterRole")
    assert not peering & rule_grants(without["rules"])
    assert rule_grants(with_peering["rules"]) == rule_grants(without["rules"]) | peering


def test_the_network_policy_is_optional_and_opens_only_what_the_operator_uses() -> None:
    assert not by_kind(render("serving"), "NetworkPolicy")
    (policy,) = by_kind(
        render(
            "serving",
            "networkPolicy.enabled=true",
            "metrics.port=9090",
            "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring",
            "networkPolicy.egress.httpsCidrs={10.0.0.0/8}",
        ),
        "NetworkPolicy",
    )
    (deployment,) = by_kind(render("serving"), "Deployment")
    assert (
        policy["spec"]["podSelector"]["matchLabels"]
        == (deployment["spec"]["selector"]["matchLabels"])
    )
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["ports"] == [{"port": 9090, "protocol": "TCP"}]
    assert ingress["from"] == [{"namespaceSelector": {"matchLabels": {"team": "monitoring"}}}]
    dns, https = policy["spec"]["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert https["to"] == [{"ipBlock": {"cidr": "10.0.0.0/8"}}]
    assert [p["port"] for p in https["ports"]] == [443, 6443]
    closed = by_kind(render("serving", "networkPolicy.enabled=true"), "NetworkPolicy")
    assert closed[0]["spec"]["ingress"] == []


def test_the_chart_says_which_kubernetes_it_needs() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == ">=1.29.0-0"
    done = subprocess.run(
        [tool("helm"), "template", "serving", str(CHART), "--kube-version", "1.28.9"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "incompatible with Kubernetes v1.28.9" in done.stderr
