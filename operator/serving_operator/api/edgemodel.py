"""EdgeModel: a model compiled with SageMaker Neo for each kind of device, published as a
Greengrass v2 component that runs it with DLR, and rolled out to thing groups stage by stage.

The enums (frameworks, target devices, platforms) come from botocore's SageMaker model, so
admission accepts exactly what CreateCompilationJob does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema, model_validator

from serving_operator.api.common import (
    IAM_ROLE_ARN_PATTERN,
    S3_URI_PATTERN,
    ApiModel,
    KindInfo,
    StatusBase,
    StatusModel,
    age_column,
    to_rfc3339,
)

PROMOTE_ANNOTATION = "serving.mlops.dev/promote"
"""Set to any new value to open the manual gate of the stage that waits for it."""
RETRY_COMPILATION_ANNOTATION = "serving.mlops.dev/retry-compilation"
"""Set to any new value to compile again the targets whose compilation FAILED or was STOPPED
(Neo job names are deterministic: without it only a spec change compiles again)."""


# Copied from botocore's SageMaker model (tests/unit/test_edgemodel_api.py keeps them equal):
# the API imports no I/O library.
NEO_FRAMEWORKS = (
    "TENSORFLOW",
    "KERAS",
    "MXNET",
    "ONNX",
    "PYTORCH",
    "XGBOOST",
    "TFLITE",
    "DARKNET",
    "SKLEARN",
)
NEO_TARGET_DEVICES = (
    "lambda",
    "ml_m4",
    "ml_m5",
    "ml_m6g",
    "ml_c4",
    "ml_c5",
    "ml_c6g",
    "ml_p2",
    "ml_p3",
    "ml_g4dn",
    "ml_inf1",
    "ml_inf2",
    "ml_trn1",
    "ml_eia2",
    "jetson_tx1",
    "jetson_tx2",
    "jetson_nano",
    "jetson_xavier",
    "rasp3b",
    "rasp4b",
    "imx8qm",
    "deeplens",
    "rk3399",
    "rk3288",
    "aisage",
    "sbe_c",
    "qcs605",
    "qcs603",
    "sitara_am57x",
    "amba_cv2",
    "amba_cv22",
    "amba_cv25",
    "x86_win32",
    "x86_win64",
    "coreml",
    "jacinto_tda4vm",
    "imx8mplus",
)
NEO_PLATFORM_OS = (
    "ANDROID",
    "LINUX",
)
NEO_PLATFORM_ARCH = (
    "X86_64",
    "X86",
    "ARM64",
    "ARM_EABI",
    "ARM_EABIHF",
)
NEO_PLATFORM_ACCELERATORS = (
    "INTEL_GRAPHICS",
    "MALI",
    "NVIDIA",
    "NNA",
)

Framework = StrEnum("Framework", {v: v for v in NEO_FRAMEWORKS})  # type: ignore[misc]
TargetDevice = StrEnum("TargetDevice", {v: v for v in NEO_TARGET_DEVICES})  # type: ignore[misc]
PlatformOs = StrEnum("PlatformOs", {v: v for v in NEO_PLATFORM_OS})  # type: ignore[misc]
PlatformArch = StrEnum("PlatformArch", {v: v for v in NEO_PLATFORM_ARCH})  # type: ignore[misc]
PlatformAccelerator = StrEnum(  # type: ignore[misc]
    "PlatformAccelerator", {v: v for v in NEO_PLATFORM_ACCELERATORS}
)

# Neo's supported (os, accelerator) -> architectures; "" is no accelerator (CPU).
PLATFORM_MATRIX: dict[tuple[str, str], tuple[str, ...]] = {
    ("LINUX", ""): ("X86_64", "ARM64", "ARM_EABIHF", "ARM_EABI"),
    ("LINUX", "NVIDIA"): ("X86_64", "ARM64"),
    ("LINUX", "INTEL_GRAPHICS"): ("X86_64",),
    ("LINUX", "MALI"): ("ARM64", "ARM_EABIHF", "ARM_EABI"),
    ("ANDROID", ""): ("X86_64", "X86", "ARM64", "ARM_EABI"),
    ("ANDROID", "INTEL_GRAPHICS"): ("X86_64", "X86"),
    ("ANDROID", "MALI"): ("ARM64", "ARM_EABI"),
}
# Frameworks for which Neo accepts a FrameworkVersion.
VERSIONED_FRAMEWORKS = ("MXNET", "PYTORCH", "TENSORFLOW", "TFLITE")
NVIDIA_COMPILER_OPTIONS = ("gpu-code", "trt-ver", "cuda-ver")
# Neo targets no Greengrass core device runs (Greengrass v2 runs on Linux and Windows only):
# qcs605/qcs603 compile for Android, coreml for iOS/macOS (SageMaker developer guide,
# neo-supported-devices-edge-devices), lambda for AWS Lambda.
NO_GREENGRASS_DEVICES = ("lambda", "coreml", "qcs605", "qcs603")
# Frameworks Neo compiles only with a DataInputConfig (CreateCompilationJob's InputConfig:
# "DataInputConfig ... Required for TensorFlow, Keras, MXNet, ONNX and DarkNet" as the
# SageMaker API reference words it; the sandbox's Neo refuses them without one).
NEEDS_DATA_INPUT_CONFIG = ("TENSORFLOW", "KERAS", "MXNET", "ONNX", "DARKNET")
# botocore's FrameworkVersion shape: 3 to 10 characters, pattern [0-9]\.[A-Za-z0-9.]+.
FRAMEWORK_VERSION_PATTERN = r"^[0-9]\.[A-Za-z0-9.]+$"
THING_GROUP_PATTERN = r"^[a-zA-Z0-9:_-]{1,128}$"
COMPONENT_NAME_PATTERN = r"^[a-zA-Z0-9._-]{1,100}$"
ThingGroupName = Annotated[str, StringConstraints(pattern=THING_GROUP_PATTERN, max_length=128)]


def _rule(rule: str, message: str) -> dict[str, str]:
    return {"rule": rule, "message": message}


def _validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


def _platform_matrix_rule() -> str:
    alternatives = []
    for (os_name, accelerator), arches in PLATFORM_MATRIX.items():
        accel = f"self.accelerator == '{accelerator}'" if accelerator else "!has(self.accelerator)"
        arch_list = ", ".join(f"'{a}'" for a in arches)
        alternatives.append(f"(self.os == '{os_name}' && {accel} && self.arch in [{arch_list}])")
    return " || ".join(alternatives)


class DeletionPolicy(StrEnum):
    DELETE = "Delete"
    RETAIN = "Retain"


class FailureHandlingPolicy(StrEnum):
    ROLLBACK = "ROLLBACK"
    DO_NOTHING = "DO_NOTHING"


class OnFailure(StrEnum):
    ROLL_BACK = "RollBack"
    HALT = "Halt"


class AbortFailureType(StrEnum):
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    TIMED_OUT = "TIMED_OUT"
    ALL = "ALL"


class TargetPlatform(ApiModel):
    """A generic platform instead of a named device; only Neo's supported combinations."""

    os: PlatformOs = Field(description="ANDROID or LINUX.")
    arch: PlatformArch = Field(description="X86_64, X86, ARM64, ARM_EABI or ARM_EABIHF.")
    accelerator: PlatformAccelerator | None = Field(
        default=None,
        description=(
            "INTEL_GRAPHICS, MALI or NVIDIA; none for CPU (NNA is in Neo's enum but Neo"
            " compiles no os/arch with it, so it is refused)."
        ),
    )


class EdgeTarget(ApiModel):
    """One kind of device: a Neo compilation job and a component version of its own."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(
            _rule(
                "has(self.targetDevice) != has(self.targetPlatform)",
                "set exactly one of targetDevice and targetPlatform",
            ),
            _rule(
                "!has(self.targetPlatform) || !has(self.targetPlatform.accelerator)"
                " || self.targetPlatform.accelerator != 'NVIDIA' || (has(self.compilerOptions)"
                + "".join(
                    f" && self.compilerOptions.contains('{o}')" for o in NVIDIA_COMPILER_OPTIONS
                )
                + ")",
                "an NVIDIA targetPlatform needs compilerOptions with"
                " gpu-code, trt-ver and cuda-ver",
            ),
            _rule(
                "!has(self.targetDevice) || !(self.targetDevice in ["
                + ", ".join(f"'{d}'" for d in NO_GREENGRASS_DEVICES)
                + "])",
                "Greengrass cannot run this targetDevice (Neo compiles it for Android, iOS or"
                " Lambda; Greengrass core devices run Linux or Windows)",
            ),
            _rule(
                "!has(self.targetPlatform) || self.targetPlatform.os != 'ANDROID'",
                "Greengrass cannot run an ANDROID targetPlatform (core devices run Linux or"
                " Windows)",
            ),
        )
    }

    name: str = Field(
        pattern=r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$",
        # Bounded for the CEL rules that compare targets: without a maxLength the apiserver
        # estimates a string as long as a whole request.
        max_length=20,
        description="A short name for this target, used in AWS resource names.",
    )
    target_device: TargetDevice | None = Field(
        default=None, description="Neo's TargetDevice, e.g. jetson_nano, rasp4b or ml_c5."
    )
    target_platform: TargetPlatform | None = Field(
        default=None,
        description="Neo's TargetPlatform; instead of targetDevice.",
        json_schema_extra=_validations(
            _rule(
                _platform_matrix_rule(),
                "Neo does not compile for this os/arch/accelerator combination",
            )
        ),
    )
    compiler_options: str | None = Field(
        default=None,
        min_length=3,
        max_length=1024,
        description=(
            "Neo's CompilerOptions, as JSON or as AWS's docs write them"
            " ({'gpu-code': 'sm_53', 'trt-ver': '5.0.6', 'cuda-ver': '10.0'}); NVIDIA needs"
            " gpu-code, trt-ver and cuda-ver."
        ),
    )
    thing_groups: list[ThingGroupName] = Field(
        default_factory=list,
        max_length=20,
        description=(
            "The thing groups whose devices run this target's component; empty: every group"
            " of the rollout, allowed only with a single target. With several targets each"
            " names its own groups and no group is two targets' (a device would get two"
            " targets' models, and Greengrass fails a device's whole deployment when one"
            " component has no manifest for its platform): docs/edgemodel.md."
        ),
    )

    @model_validator(mode="after")
    def _one_target(self) -> EdgeTarget:
        if (self.target_device is None) == (self.target_platform is None):
            raise ValueError("set exactly one of targetDevice and targetPlatform")
        return self


class DlrDependency(ApiModel):
    name: str = Field(
        default="variant.DLR",
        pattern=COMPONENT_NAME_PATTERN,
        description="The component that provides the Deep Learning Runtime.",
    )
    version_requirement: str = Field(
        default=">=1.6.0 <2.0.0",
        min_length=1,
        max_length=64,
        description="Its npm-style version requirement.",
    )


class ResourceLimits(ApiModel):
    cpus: float | None = Field(default=None, gt=0, description="CPU cores the process may use.")
    memory_kb: int | None = Field(
        default=None, gt=0, description="Memory the process may use, in kilobytes."
    )


class ComponentSpec(ApiModel):
    """The Greengrass component that runs the compiled model (one per target)."""

    name: str | None = Field(
        default=None,
        pattern=COMPONENT_NAME_PATTERN,
        max_length=80,
        description=(
            "Base component name; each target's component is <name>-<target>."
            " Default: serving.<namespace>.<name>."
        ),
    )
    dlr: DlrDependency = Field(
        description="The Deep Learning Runtime component the model runs on.",
        default_factory=DlrDependency,
    )
    environment: dict[str, str] = Field(
        default_factory=dict, description="Environment of the run command."
    )
    run_command: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description=(
            "The Run lifecycle step, a script run with RequiresPrivilege; the model is unpacked"
            " in {work:path}/model and the shipped entrypoint is {artifacts:path}/"
            "serving_entrypoint.py. Default: that entrypoint, serving the model over HTTP"
            " inside the DLR component's environment (activated as AWS's DLR components do;"
            " docs/edge-runtime.md). A command of your own must activate that environment"
            " itself."
        ),
    )
    resource_limits: ResourceLimits | None = Field(
        default=None, description="systemResourceLimits for the component's process."
    )


def _decimals_rule(field: str, decimals: int) -> dict[str, str]:
    """At most `decimals` digits after the point (AWS IoT's abortConfig and rollout config:
    "up to two digits after the decimal" for thresholdPercentage, one for incrementFactor,
    per the IoT API reference's AbortCriteria and ExponentialRolloutRate). CEL has no round
    on doubles: compare with the nearest whole multiple, within floating point's error."""
    scale = f"{10**decimals}.0"
    scaled = f"self.{field} * {scale}"
    return _rule(
        f"{scaled} - double(int({scaled} + 0.5)) < 0.000001"
        f" && {scaled} - double(int({scaled} + 0.5)) > -0.000001",
        f"AWS IoT takes {field} with at most {decimals} digit{'s' if decimals > 1 else ''}"
        " after the decimal point",
    )


class ExponentialRate(ApiModel):
    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(_decimals_rule("incrementFactor", 1))
    }

    base_rate_per_minute: int = Field(
        description="Devices notified per minute at first.", ge=1, le=1000
    )
    increment_factor: float = Field(description="Factor the rate grows by.", ge=1.1, le=5.0)
    number_of_notified_things: int | None = Field(
        description="Grow the rate after this many devices were notified.", default=None, ge=1
    )
    number_of_succeeded_things: int | None = Field(
        description="Grow the rate after this many devices succeeded.", default=None, ge=1
    )


class AbortCriterion(ApiModel):
    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(_decimals_rule("thresholdPercentage", 2))
    }

    failure_type: AbortFailureType = Field(description="FAILED, REJECTED, TIMED_OUT or ALL.")
    threshold_percentage: float = Field(
        description="Abort when more than this share of the finished devices failed so.",
        gt=0,
        le=100,
    )
    min_number_of_executed_things: int = Field(
        description="The criterion applies once more than this many devices received the job.",
        ge=1,
    )


class StageGate(ApiModel):
    """What lets the rollout go on to the next stage."""

    min_success_percent: float = Field(
        default=100.0, ge=0, le=100, description="Share of the stage's devices that succeeded."
    )
    bake_seconds: int = Field(
        default=0, ge=0, description="How long the stage must stay good before the next."
    )
    manual: bool = Field(
        default=False,
        description=f"Wait for the annotation {PROMOTE_ANNOTATION} (any new value).",
    )


class RolloutStage(ApiModel):
    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(
            _rule(
                "!(has(self.maximumPerMinute) && has(self.exponentialRate))",
                "set at most one of maximumPerMinute and exponentialRate",
            )
        )
    }

    name: str = Field(
        description="Stage name, unique in the rollout.",
        pattern=r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$",
    )
    thing_groups: list[ThingGroupName] = Field(
        min_length=1,
        max_length=10,
        description="The thing groups this stage deploys to.",
    )
    maximum_per_minute: int | None = Field(
        description="Most devices notified per minute.", default=None, ge=1, le=1000
    )
    exponential_rate: ExponentialRate | None = Field(
        default=None, description="Notify devices at an exponentially growing rate instead."
    )
    abort_criteria: list[AbortCriterion] = Field(
        description="When to abort the stage's IoT job (and not go on).",
        default_factory=list,
        max_length=4,
    )
    in_progress_timeout_minutes: int | None = Field(
        description="Minutes a device may take once it started, before TIMED_OUT.",
        default=None,
        ge=1,
        le=10080,
    )
    gate: StageGate = Field(default_factory=StageGate)


class RolloutSpec(ApiModel):
    stages: list[RolloutStage] = Field(
        min_length=1,
        max_length=10,
        description="Deployed in order; each waits for the gate of the one before.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    failure_handling_policy: FailureHandlingPolicy = Field(
        default=FailureHandlingPolicy.ROLLBACK,
        description=(
            "ROLLBACK: a device that fails returns to its previous components;"
            " DO_NOTHING leaves it. Greengrass applies it per device, during a deployment;"
            " see onFailure for what the operator does when a stage fails."
        ),
    )
    on_failure: OnFailure = Field(
        default=OnFailure.ROLL_BACK,
        description=(
            "When a stage is aborted (abort criteria met) or fails its gate. RollBack: deploy"
            " again, to every thing group this rollout touched, the version of this"
            " EdgeModel's components it ran before (or none), keeping every other component;"
            " then Stalled with reason RolledBack until the spec changes. Halt: leave the"
            " devices as they are, Stalled. A stage past its deadline always halts."
        ),
    )
    stage_deadline_seconds: int = Field(
        default=3600,
        ge=1,
        description="A stage whose gate is not met by then stalls (offline devices stay QUEUED).",
    )


class EdgeModelSpec(ApiModel):
    """A trained model to compile for edge devices and roll out to them."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": _validations(
            _rule(
                "!has(self.frameworkVersion) || self.framework in ["
                + ", ".join(f"'{f}'" for f in VERSIONED_FRAMEWORKS)
                + "]",
                "Neo takes a frameworkVersion only for MXNET, PYTORCH, TENSORFLOW and TFLITE",
            ),
            _rule(
                "self.framework != 'XGBOOST' || !has(self.dataInputConfig)",
                "XGBOOST takes no dataInputConfig",
            ),
            _rule(
                "has(self.dataInputConfig) || !(self.framework in ["
                + ", ".join(f"'{f}'" for f in NEEDS_DATA_INPUT_CONFIG)
                + "])",
                "Neo needs a dataInputConfig for TENSORFLOW, KERAS, MXNET, ONNX and DARKNET",
            ),
            _rule(
                "self.targets.size() <= 1 || self.targets.all(t, has(t.thingGroups)"
                " && t.thingGroups.size() > 0)",
                "with several targets every target names its own thingGroups (one model per"
                " device: docs/edgemodel.md)",
            ),
            _rule(
                "self.targets.all(a, self.targets.all(b, a.name == b.name"
                " || !has(a.thingGroups) || !has(b.thingGroups)"
                " || !a.thingGroups.exists(g, g in b.thingGroups)))",
                "two targets name the same thing group: its devices would get both targets'"
                " models (one model per device: docs/edgemodel.md)",
            ),
        )
    }

    source: str = Field(
        pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/.*\.tar\.gz$",
        max_length=1024,
        description="The trained model (s3://bucket/.../model.tar.gz).",
    )
    framework: Framework = Field(description="Neo's Framework, e.g. PYTORCH.")
    framework_version: str | None = Field(
        description=(
            "Framework version Neo compiles for (MXNET, PYTORCH, TENSORFLOW and TFLITE only)."
        ),
        default=None,
        min_length=3,
        max_length=10,
        pattern=FRAMEWORK_VERSION_PATTERN,
    )
    data_input_config: str | None = Field(
        default=None,
        min_length=1,
        max_length=16384,
        description='Input names and shapes (JSON), e.g. {"data": [1, 3, 224, 224]}.',
    )
    role_arn: str = Field(pattern=IAM_ROLE_ARN_PATTERN, description="The role Neo assumes.")
    output_s3_uri: str = Field(
        pattern=S3_URI_PATTERN,
        max_length=1024,
        description="Where compiled models go (one new prefix per compilation job).",
    )
    max_runtime_seconds: int = Field(
        description="Longest a compilation job may run before Neo stops it.",
        default=900,
        ge=1,
        le=86400,
    )
    targets: list[EdgeTarget] = Field(
        description="The devices or platforms to compile for, each with its thing groups.",
        min_length=1,
        max_length=10,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    component: ComponentSpec = Field(default_factory=ComponentSpec)
    rollout: RolloutSpec = Field(
        description="How the component reaches the devices: stages of thing groups, with gates."
    )
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description=(
            "Delete stops compilations, removes the component from the groups'"
            " deployments and deletes its versions; Retain leaves them."
        ),
    )


def rfc3339(moment: datetime) -> str:
    """`moment` as status writes it: RFC 3339 in UTC ("Z"), with microseconds when it has
    them (a stage's deadline and bake time are timed from these)."""
    return to_rfc3339(moment)


def _from_unix_time(value: Any) -> Any:
    """Operators before RFC 3339 wrote these times as Unix seconds (JSON numbers); read one
    as the same moment, so a status they wrote is understood (and rewritten in the new form
    by the next pass). A number that is no moment reads as none, as any unreadable time."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return rfc3339(datetime.fromtimestamp(value, UTC))
        except (OverflowError, OSError, ValueError):
            return None
    return value


StatusTime = Annotated[
    str | None,
    BeforeValidator(_from_unix_time),
    # No type in the CRD: a stored status written by an older operator holds numbers here,
    # and the apiserver validates the whole stored object on every write (a status patch, a
    # finalizer, kubectl apply), so `type: string` would refuse those objects' writes
    # wherever CRD validation ratcheting does not cover them (Kubernetes before 1.30, and
    # list items it cannot correlate). docs/upgrades.md says when this becomes a string.
    WithJsonSchema({"x-kubernetes-preserve-unknown-fields": True}),
]


class DeviceCounts(StatusModel):
    """The IoT job's execution counters, summed over the stage's groups."""

    queued: int = Field(
        default=0, description="Devices notified, not started (offline devices stay here)."
    )
    in_progress: int = Field(default=0, description="Devices applying the deployment.")
    succeeded: int = Field(default=0, description="Devices that run the new version.")
    failed: int = Field(default=0, description="Devices that failed.")
    rejected: int = Field(default=0, description="Devices that rejected the deployment.")
    timed_out: int = Field(default=0, description="Devices that took too long.")
    removed: int = Field(default=0, description="Devices that left the group.")
    canceled: int = Field(default=0, description="Devices whose execution was canceled.")

    @property
    def total(self) -> int:
        return (
            self.queued
            + self.in_progress
            + self.succeeded
            + self.failed
            + self.rejected
            + self.timed_out
        )


class TargetStatus(StatusModel):
    name: str = Field(description="Target name.")
    compilation_job_name: str | None = Field(
        default=None, description="The Neo compilation job for this target."
    )
    compilation_job_status: str | None = Field(
        default=None, description="Neo's CompilationJobStatus."
    )
    artifact_s3_uri: str | None = Field(
        default=None, description="The compiled model Neo wrote (ModelArtifacts.S3ModelArtifacts)."
    )
    failure_reason: str | None = Field(
        default=None, description="Neo's FailureReason, or why the component failed."
    )
    component_name: str | None = Field(
        default=None, description="The Greengrass component published for this target."
    )
    component_version: str | None = Field(
        default=None,
        description=(
            "Its version: YYMMDD.HHMMSS.N (UTC) of when its content was first seen, so"
            " versions sort in the order they were made."
        ),
    )
    component_arn: str | None = Field(default=None, description="Its version's ARN.")
    component_state: str | None = Field(
        default=None, description="Greengrass's componentState, e.g. DEPLOYABLE."
    )


class GroupDeploymentStatus(StatusModel):
    thing_group: str = Field(description="The thing group deployed to.")
    deployment_id: str | None = Field(default=None, description="Greengrass deployment ID.")
    iot_job_id: str | None = Field(default=None, description="The IoT job carrying the deployment.")
    revision_id: str | None = Field(
        default=None, description="The deployment's revision for the group."
    )


class StageStatus(StatusModel):
    name: str = Field(description="Stage name.")
    phase: str = Field(
        default="Pending",
        description=(
            "Pending, Deploying, Baking, AwaitingPromotion, Succeeded, Aborted, GateFailed"
            " or DeadlineExceeded."
        ),
    )
    started_at: StatusTime = Field(
        default=None,
        description=(
            "When the stage began (RFC 3339); a Unix time (number) in a status written by an"
            " older operator, until the next pass."
        ),
    )
    gate_met_at: StatusTime = Field(
        default=None,
        description=(
            "When the gate was met (RFC 3339); a Unix time (number) in a status written by an"
            " older operator, until the next pass."
        ),
    )
    deployments: list[GroupDeploymentStatus] = Field(
        description="One deployment per thing group of the stage.", default_factory=list
    )
    devices: DeviceCounts | None = Field(
        default=None, description="Device counts from the stage's IoT job executions."
    )
    gate: str | None = Field(default=None, description="The gate's verdict, for a person.")


class ComponentVersionStatus(StatusModel):
    name: str = Field(description="Component name.")
    version: str = Field(description="Component version.")


class RecordedVersionStatus(StatusModel):
    name: str = Field(description="Component name.")
    version: str = Field(description="The version chosen for its current content.")
    content_key: str = Field(description="Hash of that content (model and recipe).")


class SourceStatus(StatusModel):
    uri: str = Field(description="The source the compilations were made from.")
    version: str = Field(description="Its S3 VersionId (version:...) or ETag (etag:...).")
    revision: int = Field(
        default=0, description="Times the object changed since first seen (in job names)."
    )


class TargetRetryStatus(StatusModel):
    target: str = Field(description="Target name.")
    token: str = Field(description="The retry-compilation token its job name carries.")


class PreviousVersionsStatus(StatusModel):
    thing_group: str = Field(description="A thing group this rollout deployed to.")
    components: list[ComponentVersionStatus] = Field(
        default_factory=list,
        description=(
            "This EdgeModel's components the group ran before the rollout (empty: none);"
            " what a roll back deploys again."
        ),
    )


class RollbackStatus(StatusModel):
    stage: str = Field(description="The stage whose failure started the roll back.")
    reason: str = Field(description="Why the stage failed.")
    phase: str = Field(description="RollingBack, then RolledBack once every group has it.")


class EdgeModelStatus(StatusBase):
    targets: list[TargetStatus] = Field(
        description="Per target: compilation and component.", default_factory=list
    )
    stages: list[StageStatus] = Field(
        description="Per rollout stage: deployments, device counts and gate.", default_factory=list
    )
    rollout_id: str | None = Field(
        default=None, description="Hash of the component versions the stages roll out."
    )
    target_count: int | None = Field(default=None, description="Number of targets.")
    compiled_count: int | None = Field(default=None, description="Targets compiled.")
    current_stage: str | None = Field(default=None, description="The stage rolling out now.")
    devices_ok: str | None = Field(default=None, description="Succeeded/total devices.")
    published_components: list[str] = Field(
        default_factory=list, description="ARNs of the component versions this resource made."
    )
    consumed_promotion: str | None = Field(
        default=None, description=f"The last {PROMOTE_ANNOTATION} value acted on."
    )
    last_aws_error: str | None = Field(
        default=None, description="The last error AWS returned, cleared on success."
    )
    previous_versions: list[PreviousVersionsStatus] = Field(
        default_factory=list,
        description="Per thing group the rollout touched, what it ran before (for roll back).",
    )
    rollback: RollbackStatus | None = Field(
        default=None, description="Set when a failed stage rolled the rollout back."
    )
    source: SourceStatus | None = Field(
        default=None,
        description="The source object as last read: a new upload to it compiles again.",
    )
    compilation_retries: list[TargetRetryStatus] = Field(
        default_factory=list,
        description=f"Targets compiled again after a new {RETRY_COMPILATION_ANNOTATION} value.",
    )
    consumed_retry: str | None = Field(
        default=None, description=f"The last {RETRY_COMPILATION_ANNOTATION} value acted on."
    )
    component_versions: list[RecordedVersionStatus] = Field(
        default_factory=list,
        description=(
            "Per component, the version chosen for its content (YYMMDD.HHMMSS.N, UTC, when"
            " first seen), recorded before it is published."
        ),
    )


def _condition_column(name: str, field: str, priority: int) -> dict[str, Any]:
    column = {
        "name": name,
        "type": "string",
        "jsonPath": f'.status.conditions[?(@.type=="Ready")].{field}',
    }
    # The API server drops a priority of 0: leave it out, so the installed CRD compares equal.
    return column | ({"priority": priority} if priority else {})


EDGE_MODEL = KindInfo(
    kind="EdgeModel",
    spec_model=EdgeModelSpec,
    status_model=EdgeModelStatus,
    description="A model compiled with SageMaker Neo and rolled out to devices with Greengrass v2.",
    plural="edgemodels",
    singular="edgemodel",
    short_names=("edgem",),
    printer_columns=(
        {"name": "Targets", "type": "integer", "jsonPath": ".status.targetCount"},
        {"name": "Compiled", "type": "integer", "jsonPath": ".status.compiledCount"},
        {"name": "Stage", "type": "string", "jsonPath": ".status.currentStage"},
        {"name": "Devices OK", "type": "string", "jsonPath": ".status.devicesOk"},
        _condition_column("Status", "status", 0),
        _condition_column("Reason", "reason", 1),
        _condition_column("Message", "message", 1),
        age_column(),
    ),
)
