"""The pieces `check` and `run` are built from: permissions, CRD fingerprints, region, ARNs."""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

import serving_operator.aws
from serving_operator.aws.iam import principal_arn
from serving_operator.aws.permissions import action_for, operator_action_names
from serving_operator.preflight import aws as aws_checks
from serving_operator.preflight import rbac
from serving_operator.preflight.crds import expected_crds, fingerprint
from serving_operator.preflight.results import Status
from tests.support.paths import CLUSTERROLE_RULES, PEERING_RULES, ROOT

AWS_PACKAGE = Path(serving_operator.aws.__file__).parent
# Adapters only `check` uses: GetCallerIdentity needs no permission; IAM is asked, not used.
CHECK_ONLY_ADAPTERS = {"sts.py", "iam.py"}


def test_the_packaged_rules_are_the_charts() -> None:
    for name, chart_file in (
        (rbac.RULES_FILE, CLUSTERROLE_RULES),
        (rbac.PEERING_RULES_FILE, PEERING_RULES),
    ):
        packaged = Path(rbac.__file__).parent / name
        assert packaged.read_text() == chart_file.read_text(), (
            f"copy charts/serving-operator/files/{name} to operator/serving_operator/preflight/"
        )


def test_peering_permissions_are_checked_only_for_a_peering_operator() -> None:
    standalone = {str(p) for p in rbac.required_permissions()}
    peering = {str(p) for p in rbac.required_permissions(peering=True)}
    assert not {p for p in standalone if "kopf.dev" in p}
    assert peering - standalone == {
        f"{verb} {plural}.kopf.dev"
        for verb in ("get", "list", "watch", "patch")
        for plural in ("kopfpeerings", "clusterkopfpeerings")
    }
    # kopf and the operator only ever PATCH (kopf's client sends GET, POST, PATCH, DELETE).
    assert not {p for p in peering if p.startswith("update ")}


def test_rules_expand_to_one_permission_per_verb_with_subresources() -> None:
    rules = [
        {"apiGroups": ["g"], "resources": ["things", "things/status"], "verbs": ["get", "patch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create"]},
    ]
    assert rbac.required_permissions(rules) == sorted(
        [
            rbac.Permission("g", "things", "get"),
            rbac.Permission("g", "things", "patch"),
            rbac.Permission("g", "things", "get", "status"),
            rbac.Permission("g", "things", "patch", "status"),
            rbac.Permission("", "events", "create"),
            rbac.Permission("events.k8s.io", "events", "create"),
        ]
    )
    assert str(rbac.Permission("g", "things", "patch", "status")) == "patch things/status.g"
    assert str(rbac.Permission("", "events", "create")) == "create events"


def test_the_chart_grants_status_writes_for_every_kind() -> None:
    granted = {str(p) for p in rbac.required_permissions()}
    for plural in ("modelendpoints", "trafficsplits", "edgemodels"):
        assert f"patch {plural}/status.serving.mlops.dev" in granted
        assert f"watch {plural}.serving.mlops.dev" in granted


def _operations_called(path: Path) -> set[str]:
    """Operation names passed as the first argument of `self.call(...)`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "call"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def _service_of(path: Path) -> str:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "service" for t in node.targets
        ):
            assert isinstance(node.value, ast.Constant)
            return str(node.value.value)
    return ""


def test_every_operation_the_adapters_call_has_its_iam_action() -> None:
    needed = set()
    for path in sorted(AWS_PACKAGE.glob("*.py")):
        if path.name in CHECK_ONLY_ADAPTERS or not _service_of(path):
            continue
        needed |= {action_for(_service_of(path), op) for op in _operations_called(path)}
    assert "sagemaker:CreateEndpoint" in needed  # the scan sees the adapters
    assert "s3:ListBucket" in needed  # ListObjectsV2's action has another name
    assert sorted(needed - set(operator_action_names())) == []


def test_action_names_are_unique() -> None:
    names = operator_action_names()
    assert len(names) == len(set(names))


def test_fingerprint_ignores_what_the_api_server_adds_and_number_spelling() -> None:
    crd = next(iter(expected_crds().values()))
    served = copy.deepcopy(crd)
    served["spec"]["conversion"] = {"strategy": "None"}
    served["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
    served["metadata"]["resourceVersion"] = "42"
    spec = served["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["_probe"] = {"type": "number", "minimum": 1.0}
    crd_with_int = copy.deepcopy(crd)
    crd_with_int["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]["_probe"] = {"type": "number", "minimum": 1}
    assert fingerprint(served) == fingerprint(crd_with_int)


def test_fingerprint_changes_with_the_schema() -> None:
    crd = next(iter(expected_crds().values()))
    older = copy.deepcopy(crd)
    schema = older["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["properties"].popitem()
    assert fingerprint(older) != fingerprint(crd)


@pytest.mark.parametrize(
    ("caller", "principal", "role"),
    [
        (
            "arn:aws:sts::111122223333:assumed-role/serving-operator/botocore-session-1",
            "arn:aws:iam::111122223333:role/serving-operator",
            "serving-operator",
        ),
        (
            "arn:aws-cn:sts::111122223333:assumed-role/ops/i-0abc",
            "arn:aws-cn:iam::111122223333:role/ops",
            "ops",
        ),
        ("arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice", None),
    ],
)
def test_role_sessions_are_simulated_as_their_role(
    caller: str, principal: str, role: str | None
) -> None:
    assert principal_arn(caller) == (principal, role)


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def test_aws_region_alone_is_honoured_for_boto3(
    no_aws_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    setting = aws_checks.adopt_aws_region()
    assert (setting.region, setting.source) == ("eu-west-1", "AWS_REGION")
    assert boto3.session.Session().region_name == "eu-west-1"
    assert aws_checks.check_region(setting).status is Status.OK


def test_no_region_fails_with_the_fix(no_aws_config: Path) -> None:
    result = aws_checks.check_region(aws_checks.adopt_aws_region())
    assert result.status is Status.FAILED
    assert result.fix == aws_checks.REGION_FIX


def test_the_profiles_region_counts(no_aws_config: Path) -> None:
    no_aws_config.write_text("[default]\nregion = ap-south-1\n")
    setting = aws_checks.adopt_aws_region()
    assert (setting.region, setting.source) == ("ap-south-1", "profile default")


def test_regions_that_disagree_fail_the_check(
    no_aws_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = aws_checks.check_region(aws_checks.adopt_aws_region())
    assert result.status is Status.FAILED
    assert "AWS_REGION=eu-west-1 and AWS_DEFAULT_REGION=us-east-1 disagree" in result.summary


def test_a_missing_profile_fails_the_region_check(
    no_aws_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    result = aws_checks.check_region(aws_checks.adopt_aws_region())
    assert result.status is Status.FAILED
    assert "nowhere" in result.summary


def test_the_published_iam_policy_is_the_generated_one() -> None:
    from serving_operator.aws.permissions import policy_document

    published = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    assert published == policy_document(), "run: serving-operator iam-policy > docs/iam-policy.json"
    granted = [a for statement in published["Statement"] for a in statement["Action"]]
    assert sorted(granted) == sorted(operator_action_names())


def test_the_cli_runs_the_operator_without_importing_the_sandbox() -> None:
    """What `serving-operator run` and `check` load never pulls in the sandbox or moto (the
    `sandbox` command imports it only when asked for; import-linter covers preflight/)."""
    probe = (
        "import sys\n"
        "import serving_operator.cli, serving_operator.cli.run, serving_operator.cli.check\n"
        "import serving_operator.handlers.lifecycle, serving_operator.preflight.checks\n"
        "loaded = [m for m in sys.modules if m.startswith(('moto', 'serving_operator.sandbox'))]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
