"""Neo compilation jobs in the sandbox run as Neo runs them (moto completes them at once,
writes nothing, answers 500 to Stop and to listing platform jobs)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest

from tests.sandbox.edge import FAST_EDGE, ROLE, admin, bucket_with, unique
from tests.sandbox.endpoints import wait_until
from tests.sandbox.shapes import ShapeRecorder
from tests.support.sandbox import Sandbox

MODEL_KEY = "resnet/model.tar.gz"


@pytest.fixture
def neo(edge_clients: dict[str, Any], sandbox_settings: Callable[..., None]) -> Any:
    sandbox_settings(**FAST_EDGE)
    return edge_clients["sagemaker"]


@pytest.fixture
def bucket(sandbox: Sandbox) -> str:
    return bucket_with(sandbox, MODEL_KEY)


def _job(
    neo: Any,
    bucket: str,
    *,
    name: str | None = None,
    target: dict[str, Any] | None = None,
    input_key: str = MODEL_KEY,
    framework: str = "PYTORCH",
    **input_extra: Any,
) -> str:
    name = name or unique("neo")
    neo.create_compilation_job(
        CompilationJobName=name,
        RoleArn=ROLE,
        InputConfig={
            "S3Uri": f"s3://{bucket}/{input_key}",
            "Framework": framework,
            "DataInputConfig": '{"input0": [1, 3, 224, 224]}',
            **input_extra,
        },
        OutputConfig={
            "S3OutputLocation": f"s3://{bucket}/compiled",
            **(target or {"TargetDevice": "jetson_nano"}),
        },
        StoppingCondition={"MaxRuntimeInSeconds": 900},
    )
    return name


def _finished(neo: Any, name: str) -> dict[str, Any]:
    return wait_until(
        lambda: neo.describe_compilation_job(CompilationJobName=name),
        lambda d: d["CompilationJobStatus"] in ("COMPLETED", "FAILED", "STOPPED"),
        f"{name} to finish",
    )


def _validation_error(call: Callable[[], Any]) -> dict[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    error: dict[str, str] = raised.value.response["Error"]
    return error


def test_job_starts_runs_and_writes_its_compiled_artifact_where_neo_does(
    neo: Any, bucket: str, sandbox: Sandbox, shapes: ShapeRecorder
) -> None:
    name = _job(neo, bucket, FrameworkVersion="1.13")
    assert neo.describe_compilation_job(CompilationJobName=name)["CompilationJobStatus"] in (
        "STARTING",
        "INPROGRESS",
    )
    done = _finished(neo, name)
    assert done["CompilationJobStatus"] == "COMPLETED", done.get("FailureReason")
    expected = f"s3://{bucket}/compiled/model-jetson_nano.tar.gz"
    assert done["ModelArtifacts"]["S3ModelArtifacts"] == expected
    assert done["CompilationStartTime"] <= done["CompilationEndTime"]

    body = sandbox.client("s3").get_object(Bucket=bucket, Key="compiled/model-jetson_nano.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(body["Body"].read()), mode="r:gz") as archive:
        members = set(archive.getnames())
        meta = json.load(archive.extractfile("compiled.meta"))  # type: ignore[arg-type]
    assert {"compiled.so", "compiled.params", "compiled.meta"} <= members
    assert meta["Requirements"] == {"TargetDevice": "jetson_nano"}
    assert meta["Model"]["SourceArtifact"] == f"s3://{bucket}/{MODEL_KEY}"
    assert {"CreateCompilationJob", "DescribeCompilationJob"} <= set(shapes.checked)


def test_missing_input_artifact_fails_with_a_reason(neo: Any, bucket: str) -> None:
    name = _job(neo, bucket, input_key="absent/model.tar.gz")
    failed = _finished(neo, name)
    assert failed["CompilationJobStatus"] == "FAILED"
    assert "absent/model.tar.gz" in failed["FailureReason"]
    assert failed["FailureReason"].startswith("ClientError: InputConfiguration")
    # No artifact: S3ModelArtifacts names only where it would have gone (never "", which
    # breaks botocore's S3Uri pattern).
    output = failed["OutputConfig"]["S3OutputLocation"]
    assert failed["ModelArtifacts"]["S3ModelArtifacts"] == output


def test_stop_goes_through_stopping_to_stopped(
    neo: Any, bucket: str, sandbox_settings: Callable[..., None]
) -> None:
    sandbox_settings(compilationSeconds=30)  # long enough to be stopped mid-way
    name = _job(neo, bucket)
    wait_until(
        lambda: neo.describe_compilation_job(CompilationJobName=name),
        lambda d: d["CompilationJobStatus"] == "INPROGRESS",
        f"{name} to be INPROGRESS",
    )
    neo.stop_compilation_job(CompilationJobName=name)
    assert neo.describe_compilation_job(CompilationJobName=name)["CompilationJobStatus"] in (
        "STOPPING",
        "STOPPED",
    )
    stopped = _finished(neo, name)
    assert stopped["CompilationJobStatus"] == "STOPPED"
    error = _validation_error(lambda: neo.stop_compilation_job(CompilationJobName=name))
    assert error["Code"] == "ValidationException"


def test_admin_api_forces_matching_jobs_to_fail(neo: Any, bucket: str, sandbox: Sandbox) -> None:
    prefix = unique("doomed")
    admin(sandbox, "POST", "compilation-failures", {"namePattern": f"{prefix}-*"})
    try:
        doomed = _job(neo, bucket, name=f"{prefix}-1")
        spared = _job(neo, bucket)
        assert _finished(neo, doomed)["CompilationJobStatus"] == "FAILED"
        assert "CompilationError" in _finished(neo, doomed)["FailureReason"]
        assert _finished(neo, spared)["CompilationJobStatus"] == "COMPLETED"
    finally:
        admin(sandbox, "DELETE", "compilation-failures")


def test_list_shows_platform_jobs_without_an_accelerator(
    neo: Any, bucket: str, shapes: ShapeRecorder
) -> None:
    platform = {"TargetPlatform": {"Os": "LINUX", "Arch": "ARM64"}}
    name = _job(neo, bucket, target=platform)
    done = _finished(neo, name)
    assert done["ModelArtifacts"]["S3ModelArtifacts"].endswith("/model-LINUX_ARM64.tar.gz")
    summaries = neo.list_compilation_jobs(NameContains=name)["CompilationJobSummaries"]
    assert [(s["CompilationJobName"], s["CompilationTargetPlatformArch"]) for s in summaries] == [
        (name, "ARM64")
    ]
    assert "CompilationTargetPlatformAccelerator" not in summaries[0]
    assert "ListCompilationJobs" in shapes.checked


def test_tags_of_a_job_are_kept(neo: Any, bucket: str) -> None:
    name = _job(neo, bucket)
    arn = neo.describe_compilation_job(CompilationJobName=name)["CompilationJobArn"]
    neo.add_tags(ResourceArn=arn, Tags=[{"Key": "edgemodel", "Value": "resnet"}])
    assert neo.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "edgemodel", "Value": "resnet"}]


def test_a_name_in_use_is_refused(neo: Any, bucket: str) -> None:
    name = _job(neo, bucket)
    error = _validation_error(lambda: _job(neo, bucket, name=name))
    assert error["Code"] == "ResourceInUse"


@pytest.mark.parametrize(
    ("target", "framework", "input_extra", "complaint"),
    [
        ({"TargetDevice": "jetson_nano"}, "PYTORCH", {}, "regular expression"),
        (
            {"TargetDevice": "jetson_nano", "TargetPlatform": {"Os": "LINUX", "Arch": "ARM64"}},
            "PYTORCH",
            {},
            "exactly one",
        ),
        ({"TargetDevice": "toaster"}, "PYTORCH", {}, "enum"),
        ({"TargetPlatform": {"Os": "ANDROID", "Arch": "ARM_EABIHF"}}, "PYTORCH", {}, "combination"),
        (
            {"TargetPlatform": {"Os": "LINUX", "Arch": "ARM_EABI", "Accelerator": "NVIDIA"}},
            "PYTORCH",
            {},
            "combination",
        ),
        (
            {"TargetPlatform": {"Os": "LINUX", "Arch": "ARM64", "Accelerator": "NVIDIA"}},
            "PYTORCH",
            {},
            "gpu-code",
        ),
        (
            {
                "TargetPlatform": {"Os": "LINUX", "Arch": "ARM64", "Accelerator": "NVIDIA"},
                "CompilerOptions": '{"gpu-code": "sm_72"}',
            },
            "PYTORCH",
            {},
            "trt-ver",
        ),
        ({"TargetDevice": "rasp4b"}, "XGBOOST", {"FrameworkVersion": "1.0"}, "FrameworkVersion"),
        ({"TargetDevice": "rasp4b"}, "CAFFE", {}, "enum"),
    ],
)
def test_requests_neo_refuses(
    neo: Any,
    bucket: str,
    target: dict[str, Any],
    framework: str,
    input_extra: dict[str, Any],
    complaint: str,
) -> None:
    # The first case is refused for its name alone.
    name = "bad_name" if complaint == "regular expression" else unique("neo")
    error = _validation_error(
        lambda: _job(neo, bucket, name=name, target=target, framework=framework, **input_extra)
    )
    assert error["Code"] == "ValidationException"
    assert complaint in error["Message"]


def test_nvidia_with_its_compiler_options_is_accepted(neo: Any, bucket: str) -> None:
    target = {
        "TargetPlatform": {"Os": "LINUX", "Arch": "ARM64", "Accelerator": "NVIDIA"},
        "CompilerOptions": '{"gpu-code": "sm_72", "trt-ver": "8.2.1", "cuda-ver": "10.2"}',
    }
    done = _finished(neo, _job(neo, bucket, target=target))
    assert done["CompilationJobStatus"] == "COMPLETED"
    assert done["ModelArtifacts"]["S3ModelArtifacts"].endswith("-LINUX_ARM64_NVIDIA.tar.gz")


def test_nvidia_compiler_options_as_aws_documents_them_are_accepted(neo: Any, bucket: str) -> None:
    # botocore's OutputConfig.CompilerOptions doc and Neo's device table write them as a
    # Python-style dictionary: {'gpu-code': 'sm_72', 'trt-ver': '6.0.1', 'cuda-ver': '10.1'}.
    target = {
        "TargetPlatform": {"Os": "LINUX", "Arch": "ARM64", "Accelerator": "NVIDIA"},
        "CompilerOptions": "{'gpu-code': 'sm_72', 'trt-ver': '6.0.1', 'cuda-ver': '10.1'}",
    }
    done = _finished(neo, _job(neo, bucket, target=target))
    assert done["CompilationJobStatus"] == "COMPLETED"
    missing = dict(target, CompilerOptions="{'gpu-code': 'sm_72'}")
    error = _validation_error(lambda: _job(neo, bucket, target=missing))
    assert "trt-ver" in error["Message"]
