"""InferenceComponent: one model on the shared fleet of a ModelEndpoint's variant.

A kind of its own, not a list inside ModelEndpoint, because inference components are how
several teams share one fleet: the platform team owns the endpoint (instances, managed
instance scaling, routing), each model team owns its component, in its own Git path with its
own RBAC. CloudFormation (AWS::SageMaker::InferenceComponent with EndpointName), the SageMaker
Python SDK and ACK's sagemaker-controller model it the same way.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from serving_operator.api.common import (
    IAM_ROLE_ARN_PATTERN,
    S3_URI_PATTERN,
    SAGEMAKER_NAME_PATTERN,
    ApiModel,
    KindInfo,
    StatusBase,
    age_column,
    named_by_metadata_unless,
    ready_column,
)


def _rule(rule: str, message: str) -> dict[str, str]:
    return {"rule": rule, "message": message}


def _validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


EnvironmentValue = Annotated[str, Field(max_length=1024)]
TagValue = Annotated[str, Field(max_length=256)]
_AWS_TAG_CHARACTERS = r"^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$"


class DeletionPolicy(StrEnum):
    DELETE = "Delete"
    RETAIN = "Retain"


class EndpointReference(ApiModel):
    name: str = Field(
        min_length=1, max_length=253, description="ModelEndpoint in this namespace that hosts it."
    )


class ComponentModelSpec(ApiModel):
    """The model the component serves; the operator creates the SageMaker Model."""

    image: str = Field(min_length=1, max_length=255, description="Inference container image.")
    model_data_url: str | None = Field(
        default=None,
        pattern=S3_URI_PATTERN,
        max_length=1024,
        description="S3 URI of the model artifact (model.tar.gz).",
    )
    environment: dict[str, EnvironmentValue] = Field(
        default_factory=dict,
        max_length=100,
        description="Environment variables for the container.",
        json_schema_extra=_validations(
            _rule(
                "self.all(k, k.size() <= 1024 && k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$'))",
                "environment variable names must match [a-zA-Z_][a-zA-Z0-9_]* (at most 1024)",
            )
        ),
    )
    execution_role_arn: str | None = Field(
        default=None,
        pattern=IAM_ROLE_ARN_PATTERN,
        max_length=2048,
        description="IAM role of the model; defaults to the ModelEndpoint's executionRoleArn.",
    )


class ComputeSpec(ApiModel):
    """What one copy of the component reserves on an instance
    (botocore: InferenceComponentComputeResourceRequirements)."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "!has(self.maxMemoryMiB) || self.minMemoryMiB <= self.maxMemoryMiB",
                "minMemoryMiB must be <= maxMemoryMiB",
            )
        )
    )

    cpu_cores: float | None = Field(
        default=None, ge=0.25, le=1024, description="CPU cores per copy (at least 0.25)."
    )
    min_memory_mib: int = Field(
        alias="minMemoryMiB", ge=128, le=4_194_304, description="Memory reserved per copy, MiB."
    )
    max_memory_mib: int | None = Field(
        default=None,
        alias="maxMemoryMiB",
        ge=128,
        le=4_194_304,
        description="Most memory a copy may use, MiB.",
    )
    accelerators: int | None = Field(
        default=None, ge=1, le=64, description="GPUs or other accelerator devices per copy."
    )


class StartupParametersSpec(ApiModel):
    model_data_download_timeout_seconds: int | None = Field(
        default=None,
        ge=60,
        le=3600,
        description="Seconds to download the model artifact (ModelDataDownloadTimeoutInSeconds).",
    )
    container_startup_health_check_timeout_seconds: int | None = Field(
        default=None,
        ge=60,
        le=3600,
        description=(
            "Seconds for the container to pass its first health check"
            " (ContainerStartupHealthCheckTimeoutInSeconds)."
        ),
    )


class ComponentAutoscalingSpec(ApiModel):
    """Target tracking of the copy count (Application Auto Scaling,
    sagemaker:inference-component:DesiredCopyCount)."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule("self.minCopies <= self.maxCopies", "minCopies must be <= maxCopies")
        )
    )

    min_copies: int = Field(
        ge=0,
        le=1000,
        description=(
            "Fewest copies; 0 only on an endpoint whose managedInstanceScaling has"
            " minInstanceCount 0."
        ),
    )
    max_copies: int = Field(ge=1, le=1000, description="Most copies autoscaling may run.")
    target_invocations_per_copy: float = Field(
        gt=0,
        le=1_000_000,
        description="Invocations per copy per minute to keep each copy at.",
    )
    scale_in_cooldown_seconds: int = Field(
        default=300, ge=0, le=86400, description="Seconds after a scale-in before another."
    )
    scale_out_cooldown_seconds: int = Field(
        default=60, ge=0, le=86400, description="Seconds after a scale-out before another."
    )


class ComponentRollingUpdateSpec(ApiModel):
    maximum_batch_copies: int = Field(
        default=1, ge=1, le=1000, description="Copies replaced per batch."
    )
    wait_interval_seconds: int = Field(
        default=0, ge=0, le=3600, description="Seconds to bake between batches."
    )


class InferenceComponentSpec(ApiModel):
    """Desired state of a SageMaker inference component."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "has(self.model) != has(self.modelName)",
                "set exactly one of model (the operator creates it) or modelName (an existing"
                " SageMaker model)",
            ),
            _rule(
                "!has(self.autoscaling) || !has(self.copyCount)"
                " || (self.copyCount >= self.autoscaling.minCopies"
                " && self.copyCount <= self.autoscaling.maxCopies)",
                "with autoscaling, copyCount (the initial count) must lie within"
                " minCopies..maxCopies",
            ),
        )
    )

    endpoint_ref: EndpointReference = Field(
        description="The ModelEndpoint (hosting inference components) it runs on; immutable.",
        json_schema_extra=_validations(
            _rule("self == oldSelf", "endpointRef is immutable: create a new component")
        ),
    )
    variant_name: str | None = Field(
        default=None,
        pattern=SAGEMAKER_NAME_PATTERN,
        max_length=63,
        description="The endpoint's variant; defaults to its only variant. Immutable.",
        json_schema_extra=_validations(_rule("self == oldSelf", "variantName is immutable")),
    )
    component_name: str | None = Field(
        default=None,
        pattern=SAGEMAKER_NAME_PATTERN,
        max_length=63,
        description="SageMaker inference component name; defaults to metadata.name. Immutable.",
        json_schema_extra=_validations(_rule("self == oldSelf", "componentName is immutable")),
    )
    model: ComponentModelSpec | None = Field(
        default=None, description="The model to serve; the operator creates the SageMaker Model."
    )
    model_name: str | None = Field(
        default=None,
        pattern=SAGEMAKER_NAME_PATTERN,
        max_length=63,
        description="An existing SageMaker Model to serve instead (never deleted by us).",
    )
    compute: ComputeSpec = Field(
        description="Per-copy reservation: CPU cores, memory, accelerators."
    )
    copy_count: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description=(
            "Copies to run (default 1). With autoscaling only the initial count: the"
            " autoscaler owns it after creation."
        ),
    )
    startup_parameters: StartupParametersSpec | None = Field(
        default=None, description="Timeouts for the model download and the first health check."
    )
    autoscaling: ComponentAutoscalingSpec | None = Field(
        default=None, description="Target tracking of the copy count on invocations per copy."
    )
    rolling_update: ComponentRollingUpdateSpec = Field(
        default_factory=ComponentRollingUpdateSpec,
        description=(
            "How a spec change replaces the copies when there is more than one"
            " (UpdateInferenceComponent's RollingUpdatePolicy)."
        ),
    )
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description="Delete removes the component (and its model) from AWS; Retain leaves them.",
    )
    tags: dict[str, TagValue] = Field(
        default_factory=dict,
        max_length=40,
        description="Tags for the component and model; the operator adds its ownership tags.",
        json_schema_extra=_validations(
            _rule(
                "self.all(k, !k.startsWith('aws:') && !k.startsWith('serving.mlops.dev/'))",
                "tag keys starting with aws: or serving.mlops.dev/ are reserved",
            ),
            _rule(
                "self.all(k, k.size() >= 1 && k.size() <= 128"
                f" && k.matches('{_AWS_TAG_CHARACTERS}'))",
                "tag keys must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@",
            ),
        ),
    )

    @property
    def initial_copies(self) -> int:
        return 1 if self.copy_count is None else self.copy_count

    @model_validator(mode="after")
    def _model_xor_name(self) -> InferenceComponentSpec:
        if (self.model is None) == (self.model_name is None):
            raise ValueError("set exactly one of model or modelName")
        if self.autoscaling is not None and self.autoscaling.min_copies > (
            self.autoscaling.max_copies
        ):
            raise ValueError("minCopies must be <= maxCopies")
        return self


class ComponentAutoscalingStatus(ApiModel):
    model_config = ConfigDict(extra="ignore")

    min_copies: int = Field(description="Fewest copies autoscaling may leave.")
    max_copies: int = Field(description="Most copies autoscaling may run.")
    target_invocations_per_copy: float = Field(description="The target in force.")


class InferenceComponentStatus(StatusBase):
    """Observed state of the component, written by the operator."""

    component_name: str | None = Field(default=None, description="The SageMaker component.")
    component_arn: str | None = Field(default=None, description="Its ARN.")
    component_status: str | None = Field(
        default=None, description="SageMaker's InferenceComponentStatus, e.g. InService."
    )
    endpoint_name: str | None = Field(default=None, description="The SageMaker endpoint.")
    variant_name: str | None = Field(default=None, description="The variant it runs on.")
    model_name: str | None = Field(default=None, description="The SageMaker Model it serves.")
    desired_copy_count: int | None = Field(
        default=None, description="Copies SageMaker is moving to."
    )
    current_copy_count: int | None = Field(default=None, description="Copies serving now.")
    copies_managed_by: str | None = Field(
        default=None,
        description="ApplicationAutoScaling while autoscaling owns the copy count, else empty.",
    )
    autoscaling: ComponentAutoscalingStatus | None = Field(
        default=None, description="Autoscaling bounds and target in force."
    )
    failure_reason: str | None = Field(default=None, description="SageMaker's FailureReason.")
    last_aws_error: str | None = Field(
        default=None, description="The last error AWS returned, cleared on success."
    )
    owned: bool | None = Field(
        default=None,
        description="Whether the component is known to carry this resource's ownership tag.",
    )
    owned_models: list[str] = Field(
        default_factory=list,
        description="SageMaker Models this resource created that may still exist.",
    )
    autoscaling_checked: str | None = Field(
        default=None, description="Fingerprint of the autoscaling last read and made to match."
    )
    autoscaling_checked_at: str | None = Field(
        default=None, description="When it was last read (RFC 3339); read again hourly."
    )
    autoscaling_registered: bool | None = Field(
        default=None, description="Whether autoscaling was registered at the last check."
    )
    attempted_specification: str | None = Field(
        default=None,
        description=(
            "Hash of the specification last sent with UpdateInferenceComponent; one SageMaker"
            " rolled back is not sent again until the spec changes."
        ),
    )


INFERENCE_COMPONENT = KindInfo(
    kind="InferenceComponent",
    spec_model=InferenceComponentSpec,
    status_model=InferenceComponentStatus,
    description=(
        "A SageMaker inference component: one model with its own compute reservation, copy"
        " count and autoscaling, on the shared fleet of a ModelEndpoint."
    ),
    plural="inferencecomponents",
    singular="inferencecomponent",
    short_names=("icomp",),
    printer_columns=(
        {"name": "Endpoint", "type": "string", "jsonPath": ".spec.endpointRef.name"},
        {"name": "Copies", "type": "integer", "jsonPath": ".status.currentCopyCount"},
        {"name": "Status", "type": "string", "jsonPath": ".status.componentStatus"},
        ready_column(),
        age_column(),
    ),
    root_validations=(named_by_metadata_unless("componentName", "inference component"),),
)
