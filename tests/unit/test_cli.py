"""The command line as users meet it: every user error is one line on stderr, exit code 2.

Each command runs as the installed console script in a subprocess, so what is checked is
exactly what a shell shows.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from serving_operator import __version__
from serving_operator.cli.run import exact_namespace
from tests.support.paths import VENV_BIN

CLI = str(VENV_BIN / "serving-operator")


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_user_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert done.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def body_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "body.json"
    path.write_text('{"x": 1}')
    return path


@pytest.fixture(scope="module")
def plain_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "a-file"
    path.write_text("not a folder")
    return path


BAD_ARGUMENTS = {
    "unknown command": ["deploy"],
    "run: unknown flag": ["run", "--bogus"],
    "run: port not a number": ["run", "--metrics-port", "eighty"],
    "run: port out of range": ["run", "--liveness-port", "70000"],
    "run: bad log format": ["run", "--log-format", "xml"],
    "check: bad output": ["check", "--output", "xml"],
    "crds: bad output": ["crds", "--output", "table"],
    "sandbox: port out of range": ["sandbox", "--port", "99999"],
    "sandbox: settings not JSON": ["sandbox", "--settings", "{creatingSeconds: 2"],
    "invoke: no endpoint": ["invoke"],
    "invoke: no data": ["invoke", "my-endpoint"],
    "invoke: missing data file": ["invoke", "my-endpoint", "--data", "/missing/file"],
    "invoke --async: no payload": ["invoke", "my-endpoint", "--async"],
    "invoke --async: input not in S3": [
        "invoke",
        "my-endpoint",
        "--async",
        "--input-location",
        "https://bucket/in.json",
    ],
    "invoke: --wait without --async": ["invoke", "my-endpoint", "--wait", "--data", "-"],
    "version: bad output": ["version", "-o", "xml"],
    "completion: unknown shell": ["completion", "tcsh"],
}


@pytest.mark.parametrize("args", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_are_one_line_with_exit_code_2(args: list[str]) -> None:
    assert_one_line_user_error(run_cli(*args))


def test_invoke_with_two_targets_names_the_rule(body_file: Path) -> None:
    done = run_cli(
        "invoke", "ep", "--data", str(body_file), "--variant", "a", "--target-model", "b"
    )
    assert "at most one of --variant, --target-model, --target-container" in (
        assert_one_line_user_error(done)
    )


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        (["--async"], "with --async --data, pass --upload-to s3://bucket/prefix"),
        (
            ["--async", "--input-location", "s3://b/in.json"],
            "with --async, pass exactly one of --data or --input-location",
        ),
        (
            ["--async", "--upload-to", "s3://b/in", "--variant", "a"],
            "--async takes no --variant, --target-model, --target-container or --component",
        ),
        (["--upload-to", "s3://b/in"], "--upload-to, --input-location and --wait need --async"),
    ],
)
def test_invoke_async_arguments_name_the_rule(body_file: Path, extra: list[str], rule: str) -> None:
    done = run_cli("invoke", "ep", "--data", str(body_file), *extra)
    assert rule in assert_one_line_user_error(done)


def test_invoke_without_endpoint_or_component_names_both(body_file: Path) -> None:
    done = run_cli("invoke", "--data", str(body_file))
    assert "name the ENDPOINT to call (or an inference component with --component)" in (
        assert_one_line_user_error(done)
    )


def test_invoke_with_a_variant_and_a_component_names_the_rule(body_file: Path) -> None:
    done = run_cli("invoke", "ep", "--data", str(body_file), "--variant", "a", "--component", "c")
    assert "--component" in assert_one_line_user_error(done)


def test_invoke_without_a_region_says_how_to_set_one(body_file: Path, tmp_path: Path) -> None:
    done = run_cli(
        "invoke",
        "ep",
        "--data",
        str(body_file),
        env={
            "AWS_REGION": "",
            "AWS_DEFAULT_REGION": "",
            "AWS_PROFILE": "",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
        },
    )
    assert "export AWS_REGION=" in assert_one_line_user_error(done)


def test_crds_into_a_file_instead_of_a_folder_is_one_line(plain_file: Path) -> None:
    line = assert_one_line_user_error(run_cli("crds", "--output-dir", str(plain_file / "sub")))
    assert str(plain_file / "sub") in line


def test_the_sandbox_without_moto_says_which_extra_to_install(tmp_path: Path) -> None:
    # A `moto` package earlier on the path that fails to import, as an absent one does.
    shadow = tmp_path / "moto"
    shadow.mkdir()
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'moto'\", name='moto')\n"
    )
    done = run_cli("sandbox", "--port", "0", env={"PYTHONPATH": str(tmp_path)})
    line = assert_one_line_user_error(done)
    assert "pip install 'serving-operator[sandbox]'" in line


def test_version_in_each_output_format() -> None:
    assert run_cli("--version").stdout == f"{__version__}\n"
    assert run_cli("version").stdout == f"{__version__}\n"
    assert json.loads(run_cli("version", "-o", "json").stdout)["version"] == __version__
    assert yaml.safe_load(run_cli("version", "-o", "yaml").stdout)["version"] == __version__


def test_no_command_prints_the_help_and_exit_code_2() -> None:
    done = run_cli()
    assert done.returncode == 2
    assert "Commands:" in done.stderr
    assert {"run", "check", "crds", "sandbox", "invoke", "version", "completion"} <= {
        line.split()[0] for line in done.stderr.splitlines() if line.startswith("  ")
    }


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_use_the_commands_completion_variable(shell: str) -> None:
    done = run_cli("completion", shell)
    assert done.returncode == 0
    assert "_SERVING_OPERATOR_COMPLETE" in done.stdout


def test_completion_completes_commands() -> None:
    done = run_cli(
        env={
            "_SERVING_OPERATOR_COMPLETE": "bash_complete",
            "COMP_WORDS": "serving-operator ch",
            "COMP_CWORD": "1",
        }
    )
    assert done.returncode == 0
    assert "plain,check" in done.stdout.splitlines()


def test_crds_print_as_yaml_or_as_a_json_list() -> None:
    documents = list(yaml.safe_load_all(run_cli("crds").stdout))
    listed = json.loads(run_cli("crds", "-o", "json").stdout)
    assert listed["kind"] == "List"
    assert listed["items"] == documents
    assert {d["metadata"]["name"] for d in documents} >= {
        "modelendpoints.serving.mlops.dev",
        "trafficsplits.serving.mlops.dev",
        "edgemodels.serving.mlops.dev",
    }


@pytest.mark.parametrize(
    ("pattern", "exact"),
    [
        ("ml", True),
        ("team-a", True),
        ("ml2", True),
        ("ml-*", False),
        ("!kube-system", False),
        ("a,b", False),
        ("Team", False),
        ("-ml", False),
    ],
)
def test_only_plain_names_count_as_exact_namespaces(pattern: str, exact: bool) -> None:
    """Exact namespaces run kopf without cluster-wide namespace listing; patterns need it."""
    assert exact_namespace(pattern) is exact
