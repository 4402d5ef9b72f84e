"""SageMaker Neo compilation jobs as Neo runs them, where moto completes them at once.

Lifecycle: STARTING (compilationStartingSeconds) -> INPROGRESS (compilationSeconds) ->
COMPLETED, with a compiled artifact (a real .tar.gz) written to S3 and named in
ModelArtifacts.S3ModelArtifacts, or FAILED with a FailureReason: the input artifact is not in
S3, the output bucket does not exist, or the admin API told the sandbox to fail jobs of that
name. StopCompilationJob: STOPPING (compilationStoppingSeconds) -> STOPPED.

CreateCompilationJob is checked as Neo checks it: the name's pattern, a name in use
(ResourceInUse), the Framework, TargetDevice and TargetPlatform enums (read from botocore's
model), TargetDevice xor TargetPlatform, the Os/Arch/Accelerator combinations Neo supports,
NVIDIA's required CompilerOptions, FrameworkVersion only for the frameworks that take one.

Where the output goes: <S3OutputLocation>/<model>-<TargetDevice>.tar.gz, as Neo names it for
devices; for a TargetPlatform the sandbox uses <model>-<OS>_<ARCH>[_<ACCELERATOR>].tar.gz.
<model> is the input artifact's file name without .tar.gz.

What is inside: an XGBoost model is compiled for real with Treelite and gcc, as Neo compiles
tree models: the archive holds compiled.so (Treelite's shared library) and compiled.meta, the
layout DLR loads as a Treelite model, and a model Treelite cannot read fails the job with
Neo's InputConfiguration error. The library is built for this machine whatever the target:
the sandbox's core devices, whatever platform they report, all run on this machine
(nucleus.py), so this is the library that runs on the device it was compiled for. Any other
framework gets DLR's file names with placeholder contents: the sandbox has no TVM to
compile them, and nothing can run them.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import gzip
import hashlib
import io
import json
import re
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox import s3objects
from serving_operator.sandbox.arns import sagemaker_arn
from serving_operator.sandbox.edge_settings import EdgeSettings
from serving_operator.sandbox.moto_internals import SageMakerModelBackend
from serving_operator.sandbox.wire import AwsRequest, error_response, json_response

_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_FRAMEWORKS_WITH_VERSION = frozenset({"MXNET", "PYTORCH", "TENSORFLOW", "TFLITE"})
_FRAMEWORKS_NEEDING_INPUT_SHAPES = frozenset({"TENSORFLOW", "KERAS", "MXNET", "ONNX", "DARKNET"})
_NVIDIA_OPTIONS = ("gpu-code", "trt-ver", "cuda-ver")
# (Os, Accelerator or None for CPU) -> the architectures Neo compiles for.
_PLATFORMS: dict[tuple[str, str | None], frozenset[str]] = {
    ("LINUX", None): frozenset({"X86_64", "ARM64", "ARM_EABIHF", "ARM_EABI"}),
    ("LINUX", "NVIDIA"): frozenset({"X86_64", "ARM64"}),
    ("LINUX", "INTEL_GRAPHICS"): frozenset({"X86_64"}),
    ("LINUX", "MALI"): frozenset({"ARM64", "ARM_EABIHF", "ARM_EABI"}),
    ("ANDROID", None): frozenset({"X86_64", "X86", "ARM64", "ARM_EABI"}),
    ("ANDROID", "INTEL_GRAPHICS"): frozenset({"X86_64", "X86"}),
    ("ANDROID", "MALI"): frozenset({"ARM64", "ARM_EABI"}),
}
_TERMINAL = frozenset({"COMPLETED", "FAILED", "STOPPED"})
DEFAULT_FORCED_FAILURE = (
    "ClientError: CompilationError: Unable to compile the model for the target"
    " (the sandbox was told to fail this job)."
)


@functools.cache
def enum_of(shape_name: str) -> frozenset[str]:
    """An enum of SageMaker's service model (botocore's), e.g. Framework, TargetDevice."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(getattr(model.shape_for(shape_name), "enum", []) or [])


@dataclass
class CompilationJob:
    name: str
    arn: str
    account: str
    region: str
    request: dict[str, Any]
    """The CreateCompilationJob request, as sent."""
    created: float
    status: str = "STARTING"
    last_modified: float = 0.0
    started: float | None = None
    ended: float | None = None
    due: float | None = None
    """When the current status ends by itself (None: it does not)."""
    failure_reason: str | None = None
    artifact_uri: str | None = None
    artifact_digest: str | None = None
    build: Future[dict[str, bytes]] | None = None
    """A real compilation (Treelite) running since INPROGRESS: the files of the model."""

    @property
    def output_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.request.get("OutputConfig") or {}
        return config

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "CompilationJobName": self.name,
            "CompilationJobArn": self.arn,
            "CompilationJobStatus": self.status,
            "StoppingCondition": self.request.get("StoppingCondition") or {},
            "CreationTime": self.created,
            "LastModifiedTime": self.last_modified,
            # Required by the shape even before anything fails; Neo sends it empty then.
            "FailureReason": self.failure_reason or "",
            # Required too, and S3ModelArtifacts must match the S3Uri pattern
            # `^(https|s3)://([^/]+)/?(.*)$` (sagemaker service-2.json), so never "". Until
            # the artifact is written it names the job's S3OutputLocation, where it will be;
            # only a COMPLETED job's names the artifact (aws/neo.py reads it then only).
            "ModelArtifacts": {
                "S3ModelArtifacts": self.artifact_uri
                or str(self.output_config.get("S3OutputLocation", ""))
            },
            "RoleArn": self.request.get("RoleArn", ""),
            "InputConfig": self.request.get("InputConfig") or {},
            "OutputConfig": self.output_config,
        }
        optional = {
            "CompilationStartTime": self.started,
            "CompilationEndTime": self.ended,
            "ModelPackageVersionArn": self.request.get("ModelPackageVersionArn"),
            "VpcConfig": self.request.get("VpcConfig"),
            "ModelDigests": (
                {"ArtifactDigest": self.artifact_digest} if self.artifact_digest else None
            ),
        }
        described.update({key: value for key, value in optional.items() if value is not None})
        return described

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "CompilationJobName": self.name,
            "CompilationJobArn": self.arn,
            "CreationTime": self.created,
            "LastModifiedTime": self.last_modified,
            "CompilationJobStatus": self.status,
        }
        if self.started is not None:
            summary["CompilationStartTime"] = self.started
        if self.ended is not None:
            summary["CompilationEndTime"] = self.ended
        if "TargetDevice" in self.output_config:
            summary["CompilationTargetDevice"] = self.output_config["TargetDevice"]
        platform = self.output_config.get("TargetPlatform") or {}
        # Only what was asked for: moto's KeyError on a platform without an accelerator
        # is what made its ListCompilationJobs answer 500.
        for key, member in (
            ("Os", "CompilationTargetPlatformOs"),
            ("Arch", "CompilationTargetPlatformArch"),
            ("Accelerator", "CompilationTargetPlatformAccelerator"),
        ):
            if key in platform:
                summary[member] = platform[key]
        return summary


@dataclass
class ForcedFailure:
    name_pattern: str
    """An fnmatch pattern of job names."""
    reason: str = DEFAULT_FORCED_FAILURE


def compilation_problem(params: dict[str, Any]) -> str | None:
    """Why Neo would refuse this CreateCompilationJob (None if it would not)."""
    name = params.get("CompilationJobName", "")
    if not _NAME.match(name):
        return (
            f"1 validation error detected: Value '{name}' at 'compilationJobName' failed to"
            " satisfy constraint: Member must satisfy regular expression pattern:"
            f" {_NAME.pattern}"
        )
    input_config = params.get("InputConfig")
    if bool(input_config) == bool(params.get("ModelPackageVersionArn")):
        return "Specify exactly one of InputConfig and ModelPackageVersionArn."
    if input_config:
        problem = _input_problem(input_config)
        if problem:
            return problem
    return _output_problem(params.get("OutputConfig") or {})


def _input_problem(config: dict[str, Any]) -> str | None:
    if not str(config.get("S3Uri", "")).startswith("s3://"):
        return f"InputConfig.S3Uri {config.get('S3Uri')!r} is not an S3 URI (s3://bucket/key)."
    framework = config.get("Framework", "")
    if framework not in enum_of("Framework"):
        return (
            f"1 validation error detected: Value '{framework}' at 'inputConfig.framework'"
            " failed to satisfy constraint: Member must satisfy enum value set:"
            f" [{', '.join(sorted(enum_of('Framework')))}]"
        )
    if "FrameworkVersion" in config and framework not in _FRAMEWORKS_WITH_VERSION:
        return (
            f"FrameworkVersion is not supported for framework {framework}: it is only"
            " supported for MXNet, PyTorch, TensorFlow and TensorFlow Lite."
        )
    shapes = config.get("DataInputConfig")
    if shapes is None:
        if framework in _FRAMEWORKS_NEEDING_INPUT_SHAPES:
            return f"DataInputConfig is required for framework {framework}."
        return None
    try:
        json.loads(shapes)
    except ValueError:
        return f"DataInputConfig {shapes!r} is not valid JSON."
    return None


def _output_problem(config: dict[str, Any]) -> str | None:
    if not str(config.get("S3OutputLocation", "")).startswith("s3://"):
        return "OutputConfig.S3OutputLocation must be an S3 URI (s3://bucket/prefix)."
    device, platform = config.get("TargetDevice"), config.get("TargetPlatform")
    if (device is None) == (platform is None):
        return "Specify exactly one of OutputConfig.TargetDevice and OutputConfig.TargetPlatform."
    if device is not None:
        if device not in enum_of("TargetDevice"):
            return (
                f"1 validation error detected: Value '{device}' at 'outputConfig.targetDevice'"
                " failed to satisfy constraint: Member must satisfy enum value set:"
                f" [{', '.join(sorted(enum_of('TargetDevice')))}]"
            )
        return _compiler_options_problem(config.get("CompilerOptions"), needs_nvidia=False)
    platform = platform or {}
    os_name, arch = platform.get("Os", ""), platform.get("Arch", "")
    accelerator = platform.get("Accelerator")
    for value, shape in (
        (os_name, "TargetPlatformOs"),
        (arch, "TargetPlatformArch"),
        *([(accelerator, "TargetPlatformAccelerator")] if accelerator is not None else []),
    ):
        if value not in enum_of(shape):
            return (
                f"TargetPlatform value {value!r} is not one of {', '.join(sorted(enum_of(shape)))}."
            )
    architectures = _PLATFORMS.get((os_name, accelerator))
    if architectures is None or arch not in architectures:
        return (
            f"TargetPlatform {{Os: {os_name}, Arch: {arch}, Accelerator:"
            f" {accelerator or 'none'}}} is not a combination Neo supports."
        )
    return _compiler_options_problem(
        config.get("CompilerOptions"), needs_nvidia=accelerator == "NVIDIA"
    )


def _compiler_options_problem(options: str | None, *, needs_nvidia: bool) -> str | None:
    if options is None:
        if needs_nvidia:
            return (
                "CompilerOptions are required for the NVIDIA accelerator: specify gpu-code,"
                " trt-ver and cuda-ver."
            )
        return None
    if len(options) < 3:
        return "CompilerOptions must be at least 3 characters long."
    if not needs_nvidia:
        return None
    parsed = _parse_compiler_options(options)
    if parsed is None:
        return f"CompilerOptions {options!r} is neither JSON nor a dictionary literal."
    missing = [key for key in _NVIDIA_OPTIONS if not isinstance(parsed, dict) or key not in parsed]
    if missing:
        return f"CompilerOptions for the NVIDIA accelerator must specify {', '.join(missing)}."
    return None


def _parse_compiler_options(options: str) -> Any:
    """CompilerOptions as JSON, or as AWS's own documentation writes them: a Python-style
    dictionary with single quotes. botocore's OutputConfig.CompilerOptions documentation
    gives `{'gpu-code': 'sm_72', 'trt-ver': '6.0.1', 'cuda-ver': '10.1'}` for NVIDIA and
    `{'mcpu': 'skylake-avx512'}` for CPU, and the SageMaker developer guide's Neo device
    table writes every example that way, so Neo takes them (the sandbox once demanded
    strict JSON: edge-fidelity L8). None: neither."""
    try:
        return json.loads(options)
    except ValueError:
        pass
    try:
        parsed = ast.literal_eval(options)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def artifact_uri(input_uri: str, output_config: dict[str, Any]) -> str:
    """Where Neo writes the compiled model."""
    model = input_uri.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".tar.gz", ".tgz", ".tar"):
        model = model.removesuffix(suffix)
    if "TargetDevice" in output_config:
        target = output_config["TargetDevice"]
    else:
        platform = output_config["TargetPlatform"]
        parts = [platform["Os"], platform["Arch"]]
        if platform.get("Accelerator"):
            parts.append(platform["Accelerator"])
        target = "_".join(parts)
    return f"{output_config['S3OutputLocation'].rstrip('/')}/{model}-{target}.tar.gz"


def compiles_with_treelite(request: dict[str, Any]) -> bool:
    """Whether the sandbox compiles this job for real: an XGBoost model, which Neo compiles
    with Treelite whatever the target (tree models need no accelerator)."""
    return (request.get("InputConfig") or {}).get("Framework") == "XGBOOST"


class CompileError(Exception):
    """Why Neo could not compile the model (its FailureReason)."""


def treelite_compile(source: bytes) -> dict[str, bytes]:
    """compiled.so of the XGBoost model in the .tar.gz `source`, built by Treelite with gcc
    for this machine."""
    import treelite  # the sandbox extra; imported here so the rest of Neo needs none of it

    with tempfile.TemporaryDirectory(prefix="sandbox-neo-") as scratch:
        folder = Path(scratch)
        try:
            with tarfile.open(fileobj=io.BytesIO(source), mode="r:*") as archive:
                members = [m for m in archive.getmembers() if m.isfile()]
                if len(members) != 1:
                    raise CompileError(
                        "ClientError: InputConfiguration: The model archive must contain"
                        f" exactly one XGBoost model file; it has {len(members)} files."
                    )
                extracted = archive.extractfile(members[0])
                assert extracted is not None
                model_file = folder / "model"
                model_file.write_bytes(extracted.read())
        except tarfile.TarError as error:
            raise CompileError(
                f"ClientError: InputConfiguration: The model is not a tar.gz archive: {error}"
            ) from None
        model = None
        problems = []
        for model_format in ("xgboost", "xgboost_json"):
            try:
                model = treelite.Model.load(str(model_file), model_format=model_format)
                break
            except treelite.TreeliteError as error:
                problems.append(str(error).strip().splitlines()[-1] if str(error) else "")
        if model is None:
            raise CompileError(
                "ClientError: InputConfiguration: Unable to load the XGBoost model: "
                + "; ".join(problems)
            )
        library = folder / "compiled.so"
        try:
            model.export_lib(
                toolchain="gcc", libpath=str(library), params={"parallel_comp": 1}, nthread=1
            )
        except (treelite.TreeliteError, subprocess.SubprocessError, OSError) as error:
            raise CompileError(f"ClientError: CompilationError: {error}") from None
        return {"compiled.so": library.read_bytes()}


def compiled_artifact(
    job: CompilationJob, source: bytes, compiled: dict[str, bytes] | None = None
) -> bytes:
    """A .tar.gz laid out as a DLR model directory: the real compiled files if there are
    any, else placeholders under DLR's file names; byte-identical for the same inputs."""
    input_config = job.request.get("InputConfig") or {}
    meta = {
        "Requirements": {
            key: job.output_config[key]
            for key in ("TargetDevice", "TargetPlatform")
            if key in job.output_config
        },
        "Model": {
            "Framework": input_config.get("Framework"),
            "FrameworkVersion": input_config.get("FrameworkVersion"),
            "SourceArtifact": input_config.get("S3Uri"),
            "SourceSha256": hashlib.sha256(source).hexdigest(),
            "CompilationJobName": job.name,
        },
    }
    files = {"compiled.meta": json.dumps(meta, indent=2).encode()}
    if compiled is not None:
        files.update(compiled)
    else:
        files.update(
            {
                "compiled.json": json.dumps({"nodes": [], "source": meta["Model"]}).encode(),
                "compiled.params": hashlib.sha256(b"params" + source).digest(),
                "compiled.so": hashlib.sha256(b"library" + source).digest(),
            }
        )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), 0, 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    # mtime 0 in both layers: the same job and source give the same bytes (and digest).
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class NeoOverlay:
    settings: EdgeSettings
    account_of: Callable[[str], str]
    lock: threading.RLock = field(default_factory=threading.RLock)
    jobs: dict[tuple[str, str, str], CompilationJob] = field(default_factory=dict)
    """(account, region, job name) -> job."""
    forced_failures: list[ForcedFailure] = field(default_factory=list)
    compiler: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="neo")
    )
    """Real compilations, one at a time (the machine is small), off the overlay's lock."""

    @property
    def handlers(self) -> dict[str, Callable[[AwsRequest], Response]]:
        return {
            "CreateCompilationJob": self._create,
            "DescribeCompilationJob": self._describe,
            "StopCompilationJob": self._stop,
            "ListCompilationJobs": self._list,
            "DeleteCompilationJob": self._delete,
        }

    # -- admin --------------------------------------------------------------------------
    def force_failure(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.forced_failures.append(
                ForcedFailure(
                    str(data.get("namePattern", "*")),
                    str(data.get("reason") or DEFAULT_FORCED_FAILURE),
                )
            )

    def clear_forced_failures(self) -> None:
        with self.lock:
            self.forced_failures.clear()

    # -- time ---------------------------------------------------------------------------
    def advance(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.lock:
            for job in list(self.jobs.values()):
                # A job may pass through several statuses in one tick; each at its due time.
                while job.due is not None and job.due <= now:
                    self._step(job, job.due)

    def _step(self, job: CompilationJob, at: float) -> None:
        job.last_modified = at
        if job.status == "STARTING":
            job.status, job.started = "INPROGRESS", at
            job.due = at + self.settings.compilation_seconds
            self._start_build(job)
        elif job.status == "INPROGRESS":
            self._finish(job, at)
        elif job.status == "STOPPING":
            job.status, job.ended, job.due = "STOPPED", at, None

    def _start_build(self, job: CompilationJob) -> None:
        if not compiles_with_treelite(job.request):
            return
        input_uri = (job.request.get("InputConfig") or {}).get("S3Uri", "")
        source = s3objects.read_object(job.account, input_uri) if input_uri else None
        if source is not None:
            job.build = self.compiler.submit(treelite_compile, source)

    def _finish(self, job: CompilationJob, at: float) -> None:
        job.ended, job.due = at, None
        forced = next(
            (f for f in self.forced_failures if fnmatch.fnmatchcase(job.name, f.name_pattern)),
            None,
        )
        input_uri = (job.request.get("InputConfig") or {}).get("S3Uri", "")
        source = s3objects.read_object(job.account, input_uri) if input_uri else None
        output_location = job.output_config.get("S3OutputLocation", "")
        if forced is not None:
            job.status, job.failure_reason = "FAILED", forced.reason
        elif source is None:
            bucket, key = s3objects.split_uri(input_uri)
            job.status = "FAILED"
            job.failure_reason = (
                "ClientError: InputConfiguration: Unable to download the model artifact from"
                f" S3 (Bucket: {bucket}, Key: {key}). Make sure the object exists and that the"
                " role passed to CreateCompilationJob can read it."
            )
        elif not s3objects.has_bucket(job.account, output_location):
            job.status = "FAILED"
            job.failure_reason = (
                "ClientError: OutputConfiguration: Unable to upload the compiled model to"
                f" {output_location}: the bucket does not exist."
            )
        else:
            compiled = None
            try:
                # Compiling a small tree model takes well under compilationSeconds; a slow
                # machine waits here for it rather than publishing placeholders.
                compiled = job.build.result() if job.build is not None else None
            except CompileError as error:
                job.status, job.failure_reason = "FAILED", str(error)
                return
            uri = artifact_uri(input_uri, job.output_config)
            artifact = compiled_artifact(job, source, compiled)
            s3objects.write_object(job.account, uri, artifact)
            job.status, job.artifact_uri = "COMPLETED", uri
            job.artifact_digest = hashlib.sha256(artifact).hexdigest()

    # -- operations ---------------------------------------------------------------------
    def _backend(self, request: AwsRequest) -> SageMakerModelBackend:
        return get_backend("sagemaker")[self.account_of(request.access_key)][request.region]

    def _job(self, request: AwsRequest) -> CompilationJob | None:
        name = request.json().get("CompilationJobName", "")
        return self.jobs.get((self.account_of(request.access_key), request.region, name))

    def _create(self, request: AwsRequest) -> Response:
        params = request.json()
        problem = compilation_problem(params)
        if problem:
            return error_response("ValidationException", problem)
        account, name = self.account_of(request.access_key), params["CompilationJobName"]
        with self.lock:
            if (account, request.region, name) in self.jobs:
                return error_response(
                    "ResourceInUse",
                    f"Resource Already Exists: Compilation job with name {name} already exists."
                    " Choose a different name.",
                )
            backend = self._backend(request)
            backend.compilation_jobs.pop(name, None)  # one made behind our back, via moto
            # In moto's backend too, for the tagging operations; its status is ignored.
            backend.create_compilation_job(
                compilation_job_name=name,
                role_arn=params.get("RoleArn", ""),
                output_config=params.get("OutputConfig") or {},
                stopping_condition=params.get("StoppingCondition") or {},
                model_package_version_arn=params.get("ModelPackageVersionArn"),
                input_config=params.get("InputConfig"),
                vpc_config=params.get("VpcConfig"),
                tags=list(params.get("Tags") or []),
            )
            now = time.time()
            job = CompilationJob(
                name=name,
                arn=sagemaker_arn("compilation-job", name, account, request.region),
                account=account,
                region=request.region,
                request=params,
                created=now,
                last_modified=now,
                due=now + self.settings.compilation_starting_seconds,
            )
            self.jobs[(account, request.region, name)] = job
            return json_response({"CompilationJobArn": job.arn})

    def _not_found(self, request: AwsRequest) -> Response:
        name = request.json().get("CompilationJobName", "")
        return error_response("ResourceNotFound", f"Could not find compilation job '{name}'.")

    def _describe(self, request: AwsRequest) -> Response:
        with self.lock:
            job = self._job(request)
            if job is None:
                return self._not_found(request)
            return json_response(job.describe())

    def _stop(self, request: AwsRequest) -> Response:
        with self.lock:
            job = self._job(request)
            if job is None:
                return self._not_found(request)
            if job.status in _TERMINAL or job.status == "STOPPING":
                return error_response(
                    "ValidationException",
                    f"Compilation job {job.name} is in status {job.status} and cannot be stopped.",
                )
            now = time.time()
            job.status, job.last_modified = "STOPPING", now
            job.due = now + self.settings.compilation_stopping_seconds
            return Response(b"", status=200, content_type="application/x-amz-json-1.1")

    def _delete(self, request: AwsRequest) -> Response:
        with self.lock:
            job = self._job(request)
            if job is None:
                return self._not_found(request)
            if job.status not in _TERMINAL:
                return error_response(
                    "ValidationException",
                    f"Compilation job {job.name} is in status {job.status}: only a job that"
                    " has completed, failed or stopped can be deleted.",
                )
            del self.jobs[(job.account, job.region, job.name)]
            self._backend(request).compilation_jobs.pop(job.name, None)
            return Response(b"", status=200, content_type="application/x-amz-json-1.1")

    def _list(self, request: AwsRequest) -> Response:
        params = request.json()
        account = self.account_of(request.access_key)
        with self.lock:
            jobs = [
                job
                for (job_account, region, _), job in self.jobs.items()
                if (job_account, region) == (account, request.region) and _listed(job, params)
            ]
            sort_by = params.get("SortBy", "CreationTime")
            keys: dict[str, Callable[[CompilationJob], Any]] = {
                "Name": lambda job: job.name,
                "Status": lambda job: job.status,
                "CreationTime": lambda job: job.created,
            }
            jobs.sort(
                key=keys.get(sort_by, keys["CreationTime"]),
                reverse=params.get("SortOrder", "Descending") == "Descending",
            )
            start = int(params.get("NextToken") or 0)
            size = int(params.get("MaxResults") or 10)
            page = jobs[start : start + size]
            answer: dict[str, Any] = {"CompilationJobSummaries": [j.summary() for j in page]}
            if start + size < len(jobs):
                answer["NextToken"] = str(start + size)
            return json_response(answer)


def _listed(job: CompilationJob, params: dict[str, Any]) -> bool:
    if params.get("NameContains") and params["NameContains"] not in job.name:
        return False
    if params.get("StatusEquals") and params["StatusEquals"] != job.status:
        return False
    bounds = (
        ("CreationTimeAfter", job.created, True),
        ("CreationTimeBefore", job.created, False),
        ("LastModifiedTimeAfter", job.last_modified, True),
        ("LastModifiedTimeBefore", job.last_modified, False),
    )
    for key, value, after in bounds:
        if key in params:
            bound = float(params[key])
            if (after and value <= bound) or (not after and value >= bound):
                return False
    return True
