"""ModelEndpoint: a SageMaker real-time endpoint and its production variants."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from serving_operator.api.common import (
    IAM_ROLE_ARN_PATTERN,
    S3_URI_PATTERN,
    SAGEMAKER_NAME_PATTERN,
    ApiModel,
    Condition,
    KindInfo,
    age_column,
    ready_column,
)


class DeletionPolicy(StrEnum):
    DELETE = "Delete"
    RETAIN = "Retain"


class ModelSpec(ApiModel):
    """The model a variant serves: a container image and, usually, an artifact in S3."""

    image: str = Field(
        min_length=1,
        max_length=255,
        description="Inference container image, e.g. an ECR image URI.",
    )
    model_data_url: str | None = Field(
        default=None,
        pattern=S3_URI_PATTERN,
        max_length=1024,
        description="S3 URI of the model artifact (model.tar.gz).",
    )
    environment: dict[str, str] = Field(
        default_factory=dict,
        max_length=100,
        description="Environment variables for the container.",
    )
    execution_role_arn: str | None = Field(
        default=None,
        pattern=IAM_ROLE_ARN_PATTERN,
        description="IAM role SageMaker assumes for this model; defaults to spec.executionRoleArn.",
    )


class VariantSpec(ApiModel):
    """A production variant: one model on its own fleet of instances, with a traffic weight."""

    name: str = Field(
        pattern=SAGEMAKER_NAME_PATTERN,
        max_length=63,
        description="Variant name as SageMaker shows it, e.g. version-1-2-2.",
    )
    model: ModelSpec
    instance_type: str = Field(
        pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        max_length=64,
        description="SageMaker instance type, e.g. ml.m5.large.",
    )
    instance_count: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Instances behind this variant; two or more spread across Availability Zones.",
    )
    weight: float = Field(
        default=1.0,
        ge=0,
        le=1000,
        description=(
            "Relative traffic weight; a variant receives weight / sum(weights) of the requests."
        ),
    )


class ModelEndpointSpec(ApiModel):
    """Desired state of a SageMaker real-time endpoint."""

    endpoint_name: str | None = Field(
        default=None,
        pattern=SAGEMAKER_NAME_PATTERN,
        max_length=63,
        description="SageMaker endpoint name; defaults to metadata.name.",
    )
    execution_role_arn: str = Field(
        pattern=IAM_ROLE_ARN_PATTERN,
        description="IAM role SageMaker assumes to pull images and model artifacts.",
    )
    variants: list[VariantSpec] = Field(
        min_length=1,
        max_length=10,
        description="Production variants; several variants split traffic by weight (A/B hosting).",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "x-kubernetes-validations": [
                {
                    "rule": "self.exists(v, v.weight > 0.0)",
                    "message": "at least one variant must have a weight greater than 0",
                }
            ],
        },
    )
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description=(
            "Delete removes the endpoint, its configs and models from AWS when this resource is"
            " deleted, so charges stop; Retain leaves them running."
        ),
    )
    tags: dict[str, str] = Field(
        default_factory=dict,
        max_length=40,
        description="Tags for every AWS resource created; the operator adds its ownership tags.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": (
                        "self.all(k, !k.startsWith('aws:') && !k.startsWith('serving.mlops.dev/'))"
                    ),
                    "message": "tag keys starting with aws: or serving.mlops.dev/ are reserved",
                }
            ],
        },
    )


class VariantStatus(ApiModel):
    """A production variant as SageMaker reports it."""

    name: str
    desired_weight: float | None = None
    current_weight: float | None = None
    current_weight_percent: float | None = Field(
        default=None, description="Share of traffic this variant receives now, in percent."
    )
    desired_instance_count: int | None = None
    current_instance_count: int | None = None


class ModelEndpointStatus(ApiModel):
    """Observed state of the endpoint, written by the operator."""

    observed_generation: int | None = None
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    endpoint_name: str | None = None
    endpoint_arn: str | None = None
    endpoint_status: str | None = Field(
        default=None, description="SageMaker's EndpointStatus, e.g. Creating or InService."
    )
    endpoint_config_name: str | None = Field(
        default=None, description="The endpoint config the endpoint runs now."
    )
    failure_reason: str | None = None
    variants: list[VariantStatus] = Field(default_factory=list)
    variant_count: int | None = None
    last_aws_error: str | None = Field(
        default=None, description="The last error AWS returned, cleared on success."
    )
    attempted_config_name: str | None = Field(
        default=None,
        description="The config the operator last switched the endpoint to.",
    )
    cleaned_up_for_config_name: str | None = Field(
        default=None,
        description="The config after whose rollout unused configs and models were deleted.",
    )


MODEL_ENDPOINT = KindInfo(
    kind="ModelEndpoint",
    spec_model=ModelEndpointSpec,
    status_model=ModelEndpointStatus,
    description="A SageMaker real-time endpoint with one or more production variants.",
    plural="modelendpoints",
    singular="modelendpoint",
    short_names=("mep",),
    printer_columns=(
        {"name": "Status", "type": "string", "jsonPath": ".status.endpointStatus"},
        {"name": "Variants", "type": "integer", "jsonPath": ".status.variantCount"},
        ready_column(),
        age_column(),
    ),
    root_validations=(
        {
            "rule": (
                "has(self.spec.endpointName) ||"
                " self.metadata.name.matches('^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$')"
            ),
            "message": (
                "metadata.name is not a valid SageMaker endpoint name"
                " (letters, digits and hyphens, at most 63): set spec.endpointName"
            ),
        },
    ),
)
