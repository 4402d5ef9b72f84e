"""Inference end to end with real parts: the sandbox's Neo compiles an XGBoost model with
Treelite (for this machine, where every sandbox device runs), a core device that runs
lifecycles installs the component built as the operator's edge_runtime builds it (the
compiled model and the shipped entrypoint, variant.DLR's environment activated as AWS's DLR
components do), and the entrypoint answers predictions equal to XGBoost's own. A component
that cannot serve (the old default run command, no environment, a model no runtime here can
load) fails its deployment."""

from __future__ import annotations

import io
import json
import socket
import tarfile
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import xgboost

from serving_operator import edge_runtime
from tests.sandbox.edge import FAST_EDGE, ROLE, bucket_with, create_component, unique
from tests.sandbox.endpoints import wait_until
from tests.sandbox.test_core_devices import deploy_to_device, details
from tests.support.sandbox import Sandbox

X86_64 = ({"TargetPlatform": {"Os": "LINUX", "Arch": "X86_64"}}, "amd64")
JETSON = ({"TargetDevice": "jetson_nano"}, "aarch64")
ENTRYPOINT_SETTLE = 5.0
"""deviceRunSettleSeconds: long enough for the entrypoint to load its model or exit."""
OLD_DEFAULT_RUN = "python3 -m dlr_serve --model-dir {work:path}/model"


@pytest.fixture
def clients(edge_clients: dict[str, Any], sandbox_settings: Callable[..., None]) -> Any:
    sandbox_settings(**FAST_EDGE, deviceRunSettleSeconds=ENTRYPOINT_SETTLE)
    return edge_clients


@pytest.fixture
def neo(clients: dict[str, Any]) -> Any:
    return clients["sagemaker"]


@pytest.fixture(scope="module")
def trained() -> tuple[bytes, np.ndarray, np.ndarray]:
    """(model.tar.gz as SageMaker's XGBoost writes it, some rows, XGBoost's predictions)."""
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(300, 4)).astype(np.float32)
    labels = (rows[:, 0] + 0.5 * rows[:, 1] - rows[:, 3] > 0).astype(int)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgboost.DMatrix(rows, label=labels),
        num_boost_round=12,
    )
    model = bytes(booster.save_raw(raw_format="deprecated"))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(model)
        tar.addfile(info, io.BytesIO(model))
    sample = rows[:8]
    return archive.getvalue(), sample, booster.predict(xgboost.DMatrix(sample))


def compile_with_neo(
    sandbox: Sandbox, neo: Any, source: bytes, output: dict[str, Any]
) -> tuple[str, str]:
    """(the compiled artifact's URI, the output location) of a COMPLETED Neo job."""
    bucket = bucket_with(sandbox)
    sandbox.client("s3").put_object(Bucket=bucket, Key="source/model.tar.gz", Body=source)
    name = unique("neo-xgb")
    location = f"s3://{bucket}/compiled/{name}/"
    neo.create_compilation_job(
        CompilationJobName=name,
        RoleArn=ROLE,
        InputConfig={"S3Uri": f"s3://{bucket}/source/model.tar.gz", "Framework": "XGBOOST"},
        OutputConfig={"S3OutputLocation": location, **output},
        StoppingCondition={"MaxRuntimeInSeconds": 900},
    )
    job = wait_until(
        lambda: neo.describe_compilation_job(CompilationJobName=name),
        lambda d: d["CompilationJobStatus"] in ("COMPLETED", "FAILED"),
        f"{name} to end",
        60,
    )
    assert job["CompilationJobStatus"] == "COMPLETED", job.get("FailureReason")
    return str(job["ModelArtifacts"]["S3ModelArtifacts"]), location


def served_component(
    sandbox: Sandbox,
    greengrass: Any,
    model_uri: str,
    location: str,
    architecture: str,
    run_command: str | None = None,
) -> str:
    """A DEPLOYABLE component as edge_runtime builds it, the entrypoint published next to the
    model; its name (version 1.0.0)."""
    entrypoint = edge_runtime.entrypoint_uri(location)
    bucket, key = entrypoint.removeprefix("s3://").split("/", 1)
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=edge_runtime.entrypoint_source())
    name = unique("com.example.Served")
    model_file = model_uri.rsplit("/", 1)[-1]
    arn = create_component(
        greengrass,
        {
            "RecipeFormatVersion": "2020-01-25",
            "ComponentName": name,
            "ComponentVersion": "1.0.0",
            "ComponentConfiguration": {
                "DefaultConfiguration": dict(edge_runtime.DEFAULT_CONFIGURATION)
            },
            "ComponentDependencies": {
                "variant.DLR": {"VersionRequirement": ">=1.6.0 <2.0.0", "DependencyType": "HARD"}
            },
            "Manifests": [
                {
                    "Platform": {"os": "linux", "architecture": architecture},
                    "Artifacts": edge_runtime.artifacts(model_uri, entrypoint),
                    "Lifecycle": edge_runtime.lifecycle(model_file, run_command=run_command),
                }
            ],
        },
    )
    wait_until(
        lambda: greengrass.describe_component(arn=arn),
        lambda d: d["status"]["componentState"] == "DEPLOYABLE",
        f"{arn} to be DEPLOYABLE",
    )
    return name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def invoke(port: int, rows: np.ndarray) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=json.dumps({"instances": rows.tolist()}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


@pytest.mark.parametrize(("output", "architecture"), [X86_64, JETSON], ids=["x86_64", "jetson"])
def test_a_device_serves_the_neo_compiled_model_with_xgboost_s_predictions(
    sandbox: Sandbox,
    neo: Any,
    greengrass: Any,
    iot: Any,
    trained: tuple[bytes, np.ndarray, np.ndarray],
    output: dict[str, Any],
    architecture: str,
) -> None:
    source, rows, expected = trained
    model_uri, location = compile_with_neo(sandbox, neo, source, output)
    name = served_component(sandbox, greengrass, model_uri, location, architecture)
    port = free_port()
    update = {"merge": json.dumps({"Port": str(port)})}
    _, execution = deploy_to_device(
        sandbox,
        greengrass,
        iot,
        {name: {"componentVersion": "1.0.0", "configurationUpdate": update}},
        platform={"os": "linux", "architecture": architecture},
        timeout=60,
    )
    assert execution["status"] == "SUCCEEDED", execution
    answer = invoke(port, rows)
    # PyPI's dlr has no native library, so the entrypoint ran the Treelite library itself.
    assert answer["runtime"] == "treelite_runtime"
    np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "run_command",
    [
        OLD_DEFAULT_RUN,
        "python3 -u {artifacts:path}/serving_entrypoint.py --model-dir {work:path}/model",
    ],
    ids=["old-default-run-command", "entrypoint-without-dlr-environment"],
)
def test_a_component_that_cannot_serve_fails_its_deployment(
    sandbox: Sandbox,
    neo: Any,
    greengrass: Any,
    iot: Any,
    trained: tuple[bytes, np.ndarray, np.ndarray],
    run_command: str,
) -> None:
    source, _, _ = trained
    output, architecture = X86_64
    model_uri, location = compile_with_neo(sandbox, neo, source, output)
    name = served_component(
        sandbox, greengrass, model_uri, location, architecture, run_command=run_command
    )
    _, execution = deploy_to_device(
        sandbox,
        greengrass,
        iot,
        {name: {"componentVersion": "1.0.0"}},
        platform={"os": "linux", "architecture": architecture},
        timeout=60,
    )
    assert execution["status"] == "FAILED", execution
    assert details(execution)["deployment-failure-cause"] == (
        f"Service {name} in broken state after deployment"
    )


def test_a_model_the_sandbox_cannot_compile_cannot_be_served(
    sandbox: Sandbox, neo: Any, greengrass: Any, iot: Any
) -> None:
    """A PyTorch model is, in the sandbox's Neo (no TVM), DLR's layout with placeholder bytes:
    the entrypoint finds no runtime that loads it and exits 1, which fails the deployment."""
    bucket = bucket_with(sandbox, "source/model.tar.gz", body=b"a pytorch model")
    name = unique("neo-pt")
    location = f"s3://{bucket}/compiled/{name}/"
    neo.create_compilation_job(
        CompilationJobName=name,
        RoleArn=ROLE,
        InputConfig={
            "S3Uri": f"s3://{bucket}/source/model.tar.gz",
            "Framework": "PYTORCH",
            "FrameworkVersion": "1.8",
        },
        OutputConfig={"S3OutputLocation": location, "TargetDevice": "jetson_nano"},
        StoppingCondition={"MaxRuntimeInSeconds": 900},
    )
    job = wait_until(
        lambda: neo.describe_compilation_job(CompilationJobName=name),
        lambda d: d["CompilationJobStatus"] in ("COMPLETED", "FAILED"),
        f"{name} to end",
        60,
    )
    model_uri = str(job["ModelArtifacts"]["S3ModelArtifacts"])
    component_name = served_component(sandbox, greengrass, model_uri, location, "aarch64")
    _, execution = deploy_to_device(
        sandbox,
        greengrass,
        iot,
        {component_name: {"componentVersion": "1.0.0"}},
        platform={"os": "linux", "architecture": "aarch64"},
        timeout=60,
    )
    assert execution["status"] == "FAILED", execution
    assert details(execution)["detailed-deployment-status"] == "FAILED_ROLLBACK_COMPLETE"


# -- what the sandbox's Neo writes ----------------------------------------------------------
def test_neo_compiles_xgboost_into_a_treelite_library(
    sandbox: Sandbox, neo: Any, trained: tuple[bytes, np.ndarray, np.ndarray]
) -> None:
    model_uri, _ = compile_with_neo(sandbox, neo, trained[0], JETSON[0])
    bucket, key = model_uri.removeprefix("s3://").split("/", 1)
    body = sandbox.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    # DLR's Treelite layout: one shared library and no .params (a .params means TVM).
    assert sorted(files) == ["compiled.meta", "compiled.so"]
    assert files["compiled.so"].startswith(b"\x7fELF")


def test_neo_fails_an_xgboost_model_treelite_cannot_read(sandbox: Sandbox, neo: Any) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = 11
        tar.addfile(info, io.BytesIO(b"not a model"))
    bucket = bucket_with(sandbox, "source/model.tar.gz", body=archive.getvalue())
    name = unique("neo-bad")
    neo.create_compilation_job(
        CompilationJobName=name,
        RoleArn=ROLE,
        InputConfig={"S3Uri": f"s3://{bucket}/source/model.tar.gz", "Framework": "XGBOOST"},
        OutputConfig={
            "S3OutputLocation": f"s3://{bucket}/compiled/",
            "TargetPlatform": {"Os": "LINUX", "Arch": "X86_64"},
        },
        StoppingCondition={"MaxRuntimeInSeconds": 900},
    )
    job = wait_until(
        lambda: neo.describe_compilation_job(CompilationJobName=name),
        lambda d: d["CompilationJobStatus"] in ("COMPLETED", "FAILED"),
        f"{name} to end",
        60,
    )
    assert job["CompilationJobStatus"] == "FAILED"
    assert job["FailureReason"].startswith(
        "ClientError: InputConfiguration: Unable to load the XGBoost model"
    )
