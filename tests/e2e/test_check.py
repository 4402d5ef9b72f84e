"""`serving-operator check` against the real control plane and the AWS sandbox: it passes on
a healthy set-up and names the broken piece, with its fix, on each broken one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from serving_operator.aws.permissions import operator_action_names
from tests.e2e.edge_support import device_role
from tests.support import controlplane
from tests.support.cli import (
    isolated_env,
    run_cli,
    stale_model_endpoint_crd,
    token_kubeconfig,
)
from tests.support.paths import CLUSTERROLE_RULES
from tests.support.processes import free_port
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model

pytestmark = pytest.mark.e2e

CHECK_NAMES = [
    "Kubernetes API",
    "CRDs",
    "RBAC",
    "AWS region",
    "AWS endpoint",
    "AWS credentials",
]


def check(env: dict[str, str], *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run `check -o json`; its exit code and each check by name."""
    done = run_cli(["check", "-o", "json", *args], env)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is (done.returncode == 0)
    return done.returncode, {c["name"]: c for c in report["checks"]}


@pytest.fixture
def healthy_env(
    tmp_path: Path,
    control_plane: controlplane.ControlPlane,
    admin_api: kubernetes.client.ApiClient,
    sandbox: Sandbox,
) -> dict[str, str]:
    """The operator's identity on the shared control plane, and the sandbox."""
    return isolated_env(
        tmp_path,
        KUBECONFIG=str(control_plane.kubeconfig(controlplane.OPERATOR_USER)),
        **sandbox.env,
    )


def test_a_healthy_setup_passes_every_check(healthy_env: dict[str, str]) -> None:
    code, checks = check(healthy_env)

    assert code == 0
    assert list(checks) == CHECK_NAMES
    assert {name: c["status"] for name, c in checks.items()} == dict.fromkeys(CHECK_NAMES, "ok")
    assert checks["Kubernetes API"]["details"]["user"] == controlplane.OPERATOR_USER
    assert checks["AWS credentials"]["details"]["account"] == "123456789012"
    assert checks["AWS region"]["details"]["region"] == "us-east-1"


def test_the_table_is_one_line_per_check_with_a_tick(healthy_env: dict[str, str]) -> None:
    done = run_cli(["check"], healthy_env)

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [f"✓ {n}" for n in CHECK_NAMES]
    assert lines[-1].endswith("all checks passed")


def test_aws_region_alone_is_enough(healthy_env: dict[str, str]) -> None:
    env = {**healthy_env, "AWS_REGION": "eu-west-1"}
    env.pop("AWS_DEFAULT_REGION")

    code, checks = check(env)

    assert code == 0
    assert checks["AWS region"]["summary"] == "eu-west-1 (from AWS_REGION)"


def test_no_region_fails_with_how_to_set_one(healthy_env: dict[str, str]) -> None:
    env = {k: v for k, v in healthy_env.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}

    code, checks = check(env)

    assert code == 1
    assert checks["AWS region"]["status"] == "failed"
    assert checks["AWS region"]["fix"].startswith("export AWS_REGION=")
    assert checks["AWS credentials"]["status"] == "skipped"
    assert checks["Kubernetes API"]["status"] == "ok"


def test_no_credentials_fail_with_where_to_put_them(healthy_env: dict[str, str]) -> None:
    env = {
        k: v
        for k, v in healthy_env.items()
        if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }

    code, checks = check(env)

    assert code == 1
    credentials = checks["AWS credentials"]
    assert credentials["status"] == "failed"
    assert credentials["summary"] == "no AWS credentials found"
    assert "AWS_PROFILE" in credentials["fix"]
    assert "AWS_ACCESS_KEY_ID" in credentials["fix"]


def test_an_endpoint_url_that_does_not_answer_is_named(healthy_env: dict[str, str]) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    code, checks = check({**healthy_env, "AWS_ENDPOINT_URL": nowhere})

    assert code == 1
    assert checks["AWS endpoint"]["status"] == "failed"
    assert checks["AWS endpoint"]["summary"].startswith(f"AWS_ENDPOINT_URL={nowhere} does not")
    assert checks["AWS credentials"]["summary"].startswith("AWS does not answer")


def test_no_kubeconfig_fails_and_skips_what_needs_the_api(
    healthy_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**healthy_env, "KUBECONFIG": str(tmp_path / "missing-kubeconfig")}

    code, checks = check(env)

    assert code == 1
    kube = checks["Kubernetes API"]
    assert kube["status"] == "failed"
    assert "no such file" in kube["summary"]
    assert kube["fix"].startswith("point KUBECONFIG at a kubeconfig")
    assert (checks["CRDs"]["status"], checks["RBAC"]["status"]) == ("skipped", "skipped")
    assert checks["AWS credentials"]["status"] == "ok"


def test_missing_crds_are_named_with_how_to_install_them(
    bare_control_plane: controlplane.ControlPlane, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = isolated_env(
        tmp_path,
        KUBECONFIG=str(bare_control_plane.kubeconfig(controlplane.ADMIN_USER)),
        **sandbox.env,
    )

    code, checks = check(env)

    assert code == 1
    crds = checks["CRDs"]
    assert crds["status"] == "failed"
    assert "modelendpoints.serving.mlops.dev is not installed" in crds["summary"]
    assert "serving-operator crds | kubectl apply" in crds["fix"]
    assert checks["RBAC"]["status"] == "ok"  # an admin may do everything


@pytest.fixture
def stale_crd(bare_control_plane: controlplane.ControlPlane, tmp_path: Path) -> Iterator[str]:
    with stale_model_endpoint_crd(bare_control_plane, tmp_path / "crds") as name:
        yield name


def test_a_crd_unlike_this_versions_is_named(
    stale_crd: str, bare_control_plane: controlplane.ControlPlane, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = isolated_env(
        tmp_path,
        KUBECONFIG=str(bare_control_plane.kubeconfig(controlplane.ADMIN_USER)),
        **sandbox.env,
    )

    code, checks = check(env)

    assert code == 1
    assert f"{stale_crd} differs from this version's" in checks["CRDs"]["summary"]


@pytest.fixture
def one_verb_short(
    admin_api: kubernetes.client.ApiClient,
    control_plane: controlplane.ControlPlane,
    namespace: str,
    tmp_path: Path,
) -> Iterator[Path]:
    """A kubeconfig for a service account bound to the chart's rules less `patch` on
    modelendpoints/status."""
    rules = yaml.safe_load(CLUSTERROLE_RULES.read_text())
    status_rule = next(r for r in rules if "modelendpoints/status" in r["resources"])
    rules.remove(status_rule)
    others = [r for r in status_rule["resources"] if r != "modelendpoints/status"]
    rules += [
        {
            "apiGroups": status_rule["apiGroups"],
            "resources": ["modelendpoints/status"],
            "verbs": [v for v in status_rule["verbs"] if v != "patch"],
        },
        {"apiGroups": status_rule["apiGroups"], "resources": others, "verbs": status_rule["verbs"]},
    ]
    name = f"short-{uuid.uuid4().hex[:8]}"
    core = kubernetes.client.CoreV1Api(admin_api)
    rbac = kubernetes.client.RbacAuthorizationV1Api(admin_api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    rbac.create_cluster_role({"metadata": {"name": name}, "rules": rules})
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        }
    )
    try:
        token = core.create_namespaced_service_account_token(
            name, namespace, {"spec": {"expirationSeconds": 3600}}
        ).status.token
        yield token_kubeconfig(
            tmp_path / "kubeconfig-short", control_plane.url, control_plane.ca_file, name, token
        )
    finally:
        rbac.delete_cluster_role_binding(name)
        rbac.delete_cluster_role(name)


def test_a_missing_rbac_verb_is_named(
    one_verb_short: Path, sandbox: Sandbox, namespace: str, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path, KUBECONFIG=str(one_verb_short), **sandbox.env)

    code, checks = check(env)

    assert code == 1
    rbac = checks["RBAC"]
    assert rbac["status"] == "failed"
    assert rbac["details"]["missing"] == ["patch modelendpoints/status.serving.mlops.dev"]
    assert "clusterrole-rules.yaml" in rbac["fix"]
    assert checks["CRDs"]["status"] == "ok"


def test_check_prints_yaml_too(healthy_env: dict[str, str]) -> None:
    done = run_cli(["check", "-o", "yaml"], healthy_env)
    assert done.returncode == 0
    assert [c["name"] for c in yaml.safe_load(done.stdout)["checks"]] == CHECK_NAMES


def test_invoking_an_unknown_endpoint_is_one_line(
    healthy_env: dict[str, str], tmp_path: Path
) -> None:
    body = tmp_path / "body.json"
    body.write_text("{}")
    done = run_cli(["invoke", "no-such-endpoint", "--data", str(body)], healthy_env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: Validation")
    assert "Endpoint no-such-endpoint of account 123456789012 not found" in lines[0]


def _policy(actions: list[str], deny: list[str] | None = None) -> str:
    statements: list[dict[str, Any]] = [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
    if deny:
        statements.append({"Effect": "Deny", "Action": deny, "Resource": "*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _iam_user_env(sandbox: Sandbox, env: dict[str, str], policy: str) -> tuple[str, dict[str, str]]:
    """A new IAM user in the sandbox with `policy` inline, and `env` using its keys."""
    iam = sandbox.client("iam")
    name = f"operator-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="operator", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, {
        **env,
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


def test_iam_simulation_passes_when_every_action_is_allowed(
    healthy_env: dict[str, str], sandbox: Sandbox
) -> None:
    name, env = _iam_user_env(sandbox, healthy_env, _policy(operator_action_names()))

    code, checks = check(env, "--iam")

    assert code == 0
    assert checks["AWS credentials"]["details"]["arn"].endswith(f":user/{name}")
    iam = checks["AWS IAM permissions"]
    assert iam["status"] == "ok"
    assert iam["summary"].endswith(f"may call all {len(operator_action_names())} actions")


def test_iam_simulation_names_denied_and_missing_actions(
    healthy_env: dict[str, str], sandbox: Sandbox
) -> None:
    missing = "sagemaker:UpdateEndpointWeightsAndCapacities"
    allowed = [a for a in operator_action_names() if a != missing]
    _, env = _iam_user_env(sandbox, healthy_env, _policy(allowed, deny=["iam:PassRole"]))

    code, checks = check(env, "--iam")

    assert code == 1
    iam = checks["AWS IAM permissions"]
    assert iam["status"] == "failed"
    assert iam["details"]["denied"] == [
        a for a in operator_action_names() if a in (missing, "iam:PassRole")
    ]
    assert "attach a policy allowing them" in iam["fix"]


def test_iam_simulation_of_a_role_session_uses_the_role_with_its_path(
    healthy_env: dict[str, str], sandbox: Sandbox
) -> None:
    iam = sandbox.client("iam")
    role = f"operator-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName=role, Path="/operators/", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=role, PolicyName="operator", PolicyDocument=_policy(operator_action_names())
    )
    session = sandbox.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::123456789012:role/operators/{role}", RoleSessionName="check"
    )["Credentials"]
    env = {
        **healthy_env,
        "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
        "AWS_SESSION_TOKEN": session["SessionToken"],
    }

    code, checks = check(env, "--iam")

    assert code == 0, checks
    assert ":assumed-role/" in checks["AWS credentials"]["details"]["arn"]
    assert checks["AWS IAM permissions"]["details"]["principal"] == (
        f"arn:aws:iam::123456789012:role/operators/{role}"
    )


@pytest.fixture
def an_edge_model(admin_api: kubernetes.client.ApiClient) -> Iterator[str]:
    """An EdgeModel (no operator acts on it) whose outputS3Uri bucket devices must read."""
    bucket = f"edge-out-{uuid.uuid4().hex[:8]}"
    custom = kubernetes.client.CustomObjectsApi(admin_api)
    name = f"check-{uuid.uuid4().hex[:6]}"
    body = edge_model(name, bucket, [{"name": "all", "thingGroups": ["fleet"]}])
    custom.create_namespaced_custom_object(
        "serving.mlops.dev", "v1alpha1", "default", "edgemodels", body
    )
    try:
        yield bucket
    finally:
        custom.delete_namespaced_custom_object(
            "serving.mlops.dev", "v1alpha1", "default", "edgemodels", name
        )


def test_the_greengrass_device_role_is_checked_when_edge_models_exist(
    healthy_env: dict[str, str], sandbox: Sandbox, an_edge_model: str
) -> None:
    """Core devices download EdgeModel artifacts with their token exchange role, which needs
    s3:GetObject on the output bucket (GGv2 developer guide, device-service-role.md)."""
    missing = f"missing-{uuid.uuid4().hex[:6]}"
    code, checks = check(healthy_env, "--role-alias", missing)
    assert code == 1
    device = checks["Greengrass device role"]
    assert device["status"] == "failed"
    assert missing in device["summary"]

    without = f"without-{uuid.uuid4().hex[:6]}"
    role = device_role(sandbox, without, ["logs:PutLogEvents"])
    code, checks = check(healthy_env, "--role-alias", without)
    device = checks["Greengrass device role"]
    assert (code, device["status"]) == (1, "failed")
    assert device["details"] == {"role": role, "denied": [an_edge_model]}
    assert f"arn:aws:s3:::{an_edge_model}/*" in device["fix"]

    allowed = f"allowed-{uuid.uuid4().hex[:6]}"
    role = device_role(sandbox, allowed, ["s3:GetObject"])
    code, checks = check(healthy_env, "--role-alias", allowed)
    device = checks["Greengrass device role"]
    assert device["status"] == "ok", device
    assert an_edge_model in device["summary"]


def test_no_edge_model_no_device_role_check(healthy_env: dict[str, str]) -> None:
    _, checks = check(healthy_env)
    assert "Greengrass device role" not in checks
