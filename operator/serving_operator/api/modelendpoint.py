"""ModelEndpoint: a SageMaker real-time endpoint and its production variants."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from serving_operator.api.common import (
    IAM_ROLE_ARN_PATTERN,
    ML_INSTANCE_TYPE_PATTERN,
    S3_URI_PATTERN,
    SAGEMAKER_NAME_PATTERN,
    SECURITY_GROUP_PATTERN,
    SUBNET_PATTERN,
    ApiModel,
    KindInfo,
    StatusBase,
    StatusModel,
    age_column,
    named_by_metadata_unless,
    ready_column,
)


class DeletionPolicy(StrEnum):
    DELETE = "Delete"
    RETAIN = "Retain"


class ModelMode(StrEnum):
    SINGLE_MODEL = "SingleModel"
    MULTI_MODEL = "MultiModel"


class InferenceExecution(StrEnum):
    SERIAL = "Serial"
    DIRECT = "Direct"


def _rule(rule: str, message: str) -> dict[str, str]:
    return {"rule": rule, "message": message}


def _validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


# SageMaker's limits (botocore's EnvironmentKey/Value, TagKey/Value): admission refuses what
# CreateModel and AddTags would, instead of the operator meeting it as an AWS rejection.
EnvironmentValue = Annotated[str, Field(max_length=1024)]
TagValue = Annotated[str, Field(max_length=256)]
_AWS_TAG_CHARACTERS = r"^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$"


def _environment_rules() -> dict[str, Any]:
    return _validations(
        _rule(
            "self.all(k, k.size() <= 1024 && k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$'))",
            "environment variable names must match [a-zA-Z_][a-zA-Z0-9_]* (at most 1024)",
        )
    )


class ContainerSpec(ApiModel):
    """One container of a multi-container model."""

    hostname: str = Field(
        pattern=SAGEMAKER_NAME_PATTERN,
        max_length=63,
        description="ContainerHostname; with Direct invocation, callers target it by this name.",
    )
    image: str = Field(min_length=1, max_length=255, description="Container image URI.")
    model_data_url: str | None = Field(
        default=None, pattern=S3_URI_PATTERN, max_length=1024, description="S3 URI of the artifact."
    )
    environment: dict[str, EnvironmentValue] = Field(
        description="Environment variables of the container.",
        default_factory=dict,
        max_length=100,
        json_schema_extra=_environment_rules(),
    )


class ModelSpec(ApiModel):
    """The model a variant serves: one container (optionally multi-model) or several containers."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "has(self.image) != has(self.containers)",
                "set exactly one of model.image (one container) or model.containers",
            ),
            _rule(
                "self.mode != 'MultiModel' || (has(self.image) && has(self.modelDataUrl)"
                " && self.modelDataUrl.endsWith('/'))",
                "a MultiModel model needs image and a modelDataUrl that is an S3 prefix"
                " ending in /",
            ),
            _rule(
                "self.mode == 'MultiModel'"
                " || ((!has(self.targetModels) || size(self.targetModels) == 0) && !self.warmUp)",
                "targetModels and warmUp apply only to mode: MultiModel",
            ),
        )
    )

    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Inference container image, e.g. an ECR image URI.",
    )
    model_data_url: str | None = Field(
        default=None,
        pattern=S3_URI_PATTERN,
        max_length=1024,
        description="S3 URI of the model artifact (model.tar.gz); for MultiModel, the S3 prefix.",
    )
    environment: dict[str, EnvironmentValue] = Field(
        default_factory=dict,
        max_length=100,
        description="Environment variables for the container.",
        json_schema_extra=_environment_rules(),
    )
    mode: ModelMode = Field(
        default=ModelMode.SINGLE_MODEL,
        description=(
            "MultiModel: one shared container serves every model under the modelDataUrl prefix,"
            " loading each on its first call (cold start)."
        ),
    )
    target_models: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list,
        max_length=100,
        description="Models expected under the MultiModel prefix, e.g. model-a.tar.gz.",
    )
    warm_up: bool = Field(
        default=False,
        description=(
            "Invoke each target model once after each rollout so no user pays the cold start."
        ),
    )
    containers: list[ContainerSpec] | None = Field(
        default=None,
        min_length=1,
        max_length=15,
        description="Several containers on one endpoint (SageMaker allows up to 15).",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["hostname"],
        },
    )
    inference_execution: InferenceExecution = Field(
        default=InferenceExecution.SERIAL,
        description=(
            "Serial: containers form an inference pipeline. Direct: callers pick a container"
            " with TargetContainerHostname."
        ),
    )
    execution_role_arn: str | None = Field(
        default=None,
        pattern=IAM_ROLE_ARN_PATTERN,
        description="IAM role SageMaker assumes for this model; defaults to spec.executionRoleArn.",
    )

    @model_validator(mode="after")
    def _one_kind_of_model(self) -> ModelSpec:
        if (self.image is None) == (self.containers is None):
            raise ValueError("set exactly one of model.image (one container) or model.containers")
        return self


class ScalingMetric(StrEnum):
    INVOCATIONS_PER_INSTANCE = "InvocationsPerInstance"
    CPU_UTILIZATION = "CPUUtilization"
    CUSTOM = "Custom"
    APPROXIMATE_BACKLOG_SIZE_PER_INSTANCE = "ApproximateBacklogSizePerInstance"
    """Asynchronous endpoints only: queued requests per instance (SageMaker developer guide,
    "Autoscale an asynchronous endpoint")."""


class CustomMetric(ApiModel):
    metric_name: str = Field(description="CloudWatch metric name.", min_length=1, max_length=255)
    namespace: str = Field(
        description="CloudWatch namespace of the metric.", min_length=1, max_length=255
    )
    statistic: str = Field(
        description=(
            "Statistic target tracking keeps at the target:"
            " Average, Minimum, Maximum, SampleCount or Sum."
        ),
        default="Average",
        pattern=r"^(Average|Minimum|Maximum|SampleCount|Sum)$",
    )
    dimensions: dict[str, str] = Field(
        description="CloudWatch dimensions of the metric, name to value.",
        default_factory=dict,
        max_length=10,
    )


class AutoscalingSpec(ApiModel):
    """Target-tracking autoscaling of a variant's instance count (Application Auto Scaling)."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule("self.minInstances <= self.maxInstances", "minInstances must be <= maxInstances"),
            _rule(
                "has(self.targetValue) != has(self.maxRequestsPerSecondPerInstance)",
                "set exactly one of targetValue or maxRequestsPerSecondPerInstance",
            ),
            _rule(
                "!has(self.maxRequestsPerSecondPerInstance)"
                " || self.metric == 'InvocationsPerInstance'",
                "maxRequestsPerSecondPerInstance applies only to metric InvocationsPerInstance",
            ),
            _rule(
                "(self.metric == 'Custom') == has(self.customMetric)",
                "customMetric is required with metric: Custom, and only then",
            ),
        )
    )

    min_instances: int = Field(
        description=(
            "Fewest instances autoscaling may leave the variant with; 0 (scale to zero) only on"
            " an asynchronous endpoint, which then also scales out from zero on its backlog."
        ),
        ge=0,
        le=1000,
    )
    max_instances: int = Field(
        description="Most instances autoscaling may give the variant.", ge=1, le=1000
    )
    metric: ScalingMetric = Field(
        default=ScalingMetric.INVOCATIONS_PER_INSTANCE,
        description=(
            "InvocationsPerInstance: requests per minute per instance; CPUUtilization: percent;"
            " Custom: customMetric; ApproximateBacklogSizePerInstance (asynchronous endpoints):"
            " queued requests per instance."
        ),
    )
    target_value: float | None = Field(
        default=None, gt=0, le=1_000_000, description="The metric value to keep each instance at."
    )
    max_requests_per_second_per_instance: float | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description=(
            "Load-tested capacity of one instance; the target becomes"
            " maxRequestsPerSecondPerInstance x 60 x safetyFactor invocations per minute."
        ),
    )
    safety_factor: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of the tested capacity to run at (0.5 keeps instances at half load).",
    )
    custom_metric: CustomMetric | None = Field(
        default=None, description="The CloudWatch metric to track, with metric: Custom."
    )
    scale_in_cooldown_seconds: int = Field(
        description="Seconds after a scale-in before another scale-in.", default=300, ge=0, le=86400
    )
    scale_out_cooldown_seconds: int = Field(
        description="Seconds after a scale-out before another scale-out.",
        default=60,
        ge=0,
        le=86400,
    )
    disable_scale_in: bool = Field(
        default=False, description="Never remove instances (scale out only)."
    )

    @property
    def derived_target_value(self) -> float:
        """The target tracking value sent to Application Auto Scaling."""
        if self.target_value is not None:
            return self.target_value
        assert self.max_requests_per_second_per_instance is not None
        return round(self.max_requests_per_second_per_instance * 60 * self.safety_factor, 4)


class ServerlessSpec(ApiModel):
    memory_size_in_mb: int = Field(
        alias="memorySizeInMB",
        ge=1024,
        le=6144,
        multiple_of=1024,
        description="1024 to 6144 in steps of 1024.",
    )
    max_concurrency: int = Field(
        description="Most concurrent invocations the serverless variant serves (1 to 200).",
        ge=1,
        le=200,
    )
    provisioned_concurrency: int | None = Field(
        description="Concurrency kept warm (no cold starts), at most maxConcurrency.",
        default=None,
        ge=1,
        le=200,
    )


class RoutingStrategy(StrEnum):
    LEAST_OUTSTANDING_REQUESTS = "LEAST_OUTSTANDING_REQUESTS"
    RANDOM = "RANDOM"


class ManagedInstanceScalingSpec(ApiModel):
    """SageMaker's managed instance scaling of a variant that hosts inference components:
    SageMaker adds instances when a component's copies do not fit, and removes idle ones
    (botocore: ProductionVariant.ManagedInstanceScaling)."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "self.minInstanceCount <= self.maxInstanceCount",
                "managedInstanceScaling.minInstanceCount must be <= maxInstanceCount",
            )
        )
    )

    min_instance_count: int = Field(
        description=(
            "Fewest instances SageMaker keeps; 0 lets components whose autoscaling reaches"
            " zero copies release every instance."
        ),
        ge=0,
        le=1000,
    )
    max_instance_count: int = Field(
        description="Most instances SageMaker may scale the variant to.", ge=1, le=1000
    )


class VariantSpec(ApiModel):
    """A production variant: one model on its own fleet of instances, with a traffic weight;
    or, without a model, a fleet that hosts inference components (kind InferenceComponent)."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "has(self.instanceType) != has(self.serverless)",
                "set exactly one of instanceType or serverless",
            ),
            _rule(
                "!has(self.autoscaling) || has(self.instanceType)",
                "autoscaling applies to instance-backed variants, not serverless ones",
            ),
            _rule(
                "has(self.model) || (has(self.instanceType) && !has(self.autoscaling))",
                "a variant without a model hosts inference components: it needs instanceType,"
                " and scales with managedInstanceScaling instead of autoscaling",
            ),
            _rule(
                "!has(self.managedInstanceScaling) || !has(self.model)",
                "managedInstanceScaling applies to variants that host inference components"
                " (no model)",
            ),
        )
    )

    name: str = Field(
        pattern=SAGEMAKER_NAME_PATTERN,
        max_length=63,
        description="Variant name as SageMaker shows it, e.g. version-1-2-2.",
    )
    model: ModelSpec | None = Field(
        default=None,
        description=(
            "The model this variant serves. Leave it out for a variant that hosts inference"
            " components (kind InferenceComponent) instead."
        ),
    )
    instance_type: str | None = Field(
        default=None,
        pattern=ML_INSTANCE_TYPE_PATTERN,
        max_length=64,
        description="SageMaker instance type, e.g. ml.m5.large.",
    )
    instance_count: int = Field(
        default=1,
        ge=1,
        le=1000,
        description=(
            "Instances behind this variant; two or more spread across Availability Zones."
            " With autoscaling, only the initial count."
        ),
    )
    weight: float = Field(
        default=1.0,
        ge=0,
        le=1000,
        description=(
            "Relative traffic weight; a variant receives weight / sum(weights) of the requests."
        ),
    )
    serverless: ServerlessSpec | None = Field(
        default=None,
        description="Serverless inference instead of instances (set instanceType or serverless).",
    )
    autoscaling: AutoscalingSpec | None = Field(
        default=None,
        description=(
            "Target-tracking autoscaling of the instance count; the autoscaler then owns the count."
        ),
    )

    managed_instance_scaling: ManagedInstanceScalingSpec | None = Field(
        default=None,
        description=(
            "Components-hosting variants only: SageMaker scales the instances to fit the"
            " components' copies, within these bounds; SageMaker then owns the instance count."
        ),
    )
    routing_strategy: RoutingStrategy | None = Field(
        default=None,
        description=(
            "How SageMaker routes requests among instances (RoutingConfig):"
            " LEAST_OUTSTANDING_REQUESTS or RANDOM; SageMaker's default when unset."
        ),
    )

    @property
    def hosts_components(self) -> bool:
        """Whether this variant hosts inference components rather than a model."""
        return self.model is None

    @model_validator(mode="after")
    def _instances_or_serverless(self) -> VariantSpec:
        if (self.instance_type is None) == (self.serverless is None):
            raise ValueError("set exactly one of instanceType or serverless")
        if self.model is None and (self.instance_type is None or self.autoscaling is not None):
            raise ValueError(
                "a variant without a model hosts inference components: it needs instanceType,"
                " and scales with managedInstanceScaling instead of autoscaling"
            )
        if self.managed_instance_scaling is not None and self.model is not None:
            raise ValueError(
                "managedInstanceScaling applies to variants that host inference components"
            )
        return self


class TrafficRoutingType(StrEnum):
    ALL_AT_ONCE = "ALL_AT_ONCE"
    CANARY = "CANARY"
    LINEAR = "LINEAR"


class TrafficRouting(ApiModel):
    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "self.type != 'CANARY' || has(self.canarySizePercent)",
                "CANARY traffic routing needs canarySizePercent",
            ),
            _rule(
                "self.type != 'LINEAR' || has(self.linearStepPercent)",
                "LINEAR traffic routing needs linearStepPercent",
            ),
        )
    )

    type: TrafficRoutingType = Field(
        default=TrafficRoutingType.ALL_AT_ONCE,
        description=(
            "ALL_AT_ONCE, CANARY (canarySizePercent first) or LINEAR (linearStepPercent per step)."
        ),
    )
    wait_interval_seconds: int = Field(
        description="Seconds to bake between traffic shifts.", default=0, ge=0, le=3600
    )
    canary_size_percent: int | None = Field(
        default=None, ge=1, le=50, description="Share of capacity for the canary (at most 50%)."
    )
    linear_step_percent: int | None = Field(
        default=None, ge=10, le=50, description="Share of capacity per step (10% to 50%)."
    )


class BlueGreenSpec(ApiModel):
    traffic_routing: TrafficRouting = Field(
        description="How traffic moves from the old fleet to the new one.",
        default_factory=TrafficRouting,
    )
    termination_wait_seconds: int = Field(
        description="Seconds the old fleet stays up after all traffic moved.",
        default=0,
        ge=0,
        le=3600,
    )
    maximum_execution_timeout_seconds: int | None = Field(
        description="Seconds the whole update may take before SageMaker rolls it back.",
        default=None,
        ge=600,
        le=14400,
    )


class RollingUpdateSpec(ApiModel):
    maximum_batch_size_percent: int = Field(
        description="Share of the capacity updated per batch (5% to 50%).", ge=5, le=50
    )
    wait_interval_seconds: int = Field(
        description="Seconds to bake between batches.", ge=0, le=3600
    )
    maximum_execution_timeout_seconds: int | None = Field(
        description="Seconds the whole update may take before SageMaker rolls it back.",
        default=None,
        ge=600,
        le=28800,
    )


class DeploymentSpec(ApiModel):
    """SageMaker deployment guardrails for config switches (UpdateEndpoint)."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "has(self.blueGreen) != has(self.rollingUpdate)",
                "set exactly one of blueGreen or rollingUpdate",
            )
        )
    )

    blue_green: BlueGreenSpec | None = Field(
        default=None,
        description="Blue/green: a new fleet, traffic shifted all at once, canary or linear.",
    )
    rolling_update: RollingUpdateSpec | None = Field(
        default=None, description="Rolling: the fleet updated in batches."
    )
    auto_rollback_alarms: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list,
        max_length=10,
        description="CloudWatch alarm names; if one fires during the update, SageMaker rolls back.",
    )


class DataCaptureSpec(ApiModel):
    destination_s3_uri: str = Field(
        description="S3 prefix the captured requests and responses are written under.",
        pattern=S3_URI_PATTERN,
        max_length=512,
    )
    sampling_percentage: int = Field(
        description="Share of the requests captured, in percent.", default=100, ge=1, le=100
    )
    capture_input: bool = Field(default=True, description="Capture the requests.")
    capture_output: bool = Field(default=True, description="Capture the responses.")
    kms_key_id: str | None = Field(
        description="KMS key that encrypts the captured data.", default=None, max_length=2048
    )


SecurityGroupId = Annotated[str, Field(pattern=SECURITY_GROUP_PATTERN, max_length=32)]
SubnetId = Annotated[str, Field(pattern=SUBNET_PATTERN, max_length=32)]


class VpcConfigSpec(ApiModel):
    security_group_ids: list[SecurityGroupId] = Field(
        min_length=1,
        max_length=5,
        description="Security groups of the model containers' network interfaces.",
    )
    subnets: list[SubnetId] = Field(
        min_length=1, max_length=16, description="Subnets the model containers run in."
    )


SNS_TOPIC_ARN_PATTERN = r"^arn:aws[a-z\-]*:sns:[a-z0-9\-]*:[0-9]{12}:[a-zA-Z0-9_.\-]+$"


class NotificationTopic(StrEnum):
    SUCCESS = "SUCCESS_NOTIFICATION_TOPIC"
    ERROR = "ERROR_NOTIFICATION_TOPIC"


class AsyncNotificationSpec(ApiModel):
    """SNS topics told of each asynchronous result (AsyncInferenceNotificationConfig)."""

    success_topic: str | None = Field(
        default=None,
        pattern=SNS_TOPIC_ARN_PATTERN,
        max_length=2048,
        description="SNS topic ARN told of each request that succeeded.",
    )
    error_topic: str | None = Field(
        default=None,
        pattern=SNS_TOPIC_ARN_PATTERN,
        max_length=2048,
        description="SNS topic ARN told of each request that failed.",
    )
    include_inference_response_in: list[NotificationTopic] = Field(
        default_factory=list,
        max_length=2,
        description=(
            "The topics whose notifications carry the inference response itself"
            " (SUCCESS_NOTIFICATION_TOPIC, ERROR_NOTIFICATION_TOPIC)."
        ),
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )


class AsyncInferenceSpec(ApiModel):
    """Asynchronous inference (CreateEndpointConfig's AsyncInferenceConfig): requests queue,
    results land in S3. The endpoint then takes only InvokeEndpointAsync."""

    output_path: str = Field(
        pattern=S3_URI_PATTERN,
        max_length=512,
        description="S3OutputPath: the S3 prefix results are written under (<InferenceId>.out).",
    )
    failure_path: str | None = Field(
        default=None,
        pattern=S3_URI_PATTERN,
        max_length=512,
        description=(
            "S3FailurePath: the S3 prefix failures are written under (<InferenceId>-error.out);"
            " without it they go to SNS only."
        ),
    )
    kms_key_id: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9:/_\-]*$",
        max_length=2048,
        description="KMS key that encrypts the results in S3.",
    )
    max_concurrent_invocations_per_instance: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description=(
            "Requests SageMaker sends to each instance at once (ClientConfig); SageMaker picks"
            " one when unset."
        ),
    )
    notification: AsyncNotificationSpec | None = Field(
        default=None, description="SNS topics told of each result."
    )


class ModelEndpointSpec(ApiModel):
    """Desired state of a SageMaker real-time endpoint."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "!has(self.shadowVariants)"
                " || self.shadowVariants.all(s, !self.variants.exists(v, v.name == s.name))",
                "shadow variant names must differ from production variant names",
            ),
            _rule(
                "!has(self.shadowVariants) || size(self.shadowVariants) == 0"
                " || size(self.variants) == 1",
                "with a shadow variant, SageMaker allows exactly one production variant",
            ),
            # The operator's choice for asynchronous endpoints: one production variant, on
            # instances. InvokeEndpointAsync cannot name a variant (no TargetVariant in
            # botocore's sagemaker-runtime InvokeEndpointAsyncInput) and the queue's metrics
            # (ApproximateBacklogSize*, HasBacklogWithoutCapacity) have only the EndpointName
            # dimension, so neither a TrafficSplit nor a shadow can be judged per variant.
            _rule(
                "!has(self.asyncInference) || (size(self.variants) == 1"
                " && (!has(self.shadowVariants) || size(self.shadowVariants) == 0)"
                " && self.variants.all(v, has(v.instanceType)))",
                "an asynchronous endpoint (asyncInference) has exactly one production variant,"
                " on instances (no serverless, no shadow variants)",
            ),
            _rule(
                "has(self.asyncInference) || self.variants.all(v, !has(v.autoscaling)"
                " || (v.autoscaling.minInstances >= 1"
                " && v.autoscaling.metric != 'ApproximateBacklogSizePerInstance'))",
                "autoscaling to 0 instances and on ApproximateBacklogSizePerInstance needs"
                " asyncInference",
            ),
            _rule(
                "self.variants.all(v, has(v.model)) || self.variants.all(v, !has(v.model))",
                "variants are either all classic (each with a model) or all hosting inference"
                " components (none with a model), never mixed",
            ),
            _rule(
                "self.variants.all(v, has(v.model))"
                " || !has(self.shadowVariants) || size(self.shadowVariants) == 0",
                "an endpoint that hosts inference components has no shadow variants",
            ),
            _rule(
                "!has(self.shadowVariants) || self.shadowVariants.all(s, has(s.model))",
                "a shadow variant needs a model",
            ),
        )
    )

    endpoint_name: str | None = Field(
        default=None,
        pattern=SAGEMAKER_NAME_PATTERN,
        max_length=63,
        description="SageMaker endpoint name; defaults to metadata.name.",
    )
    execution_role_arn: str = Field(
        pattern=IAM_ROLE_ARN_PATTERN,
        max_length=2048,
        description=(
            "IAM role SageMaker assumes to pull images and model artifacts; for an endpoint"
            " that hosts inference components also the endpoint config's ExecutionRoleArn."
        ),
    )
    variants: list[VariantSpec] = Field(
        min_length=1,
        max_length=10,
        description="Production variants; several variants split traffic by weight (A/B hosting).",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            **_validations(
                _rule(
                    "self.exists(v, v.weight > 0.0)",
                    "at least one variant must have a weight greater than 0",
                )
            ),
        },
    )
    shadow_variants: list[VariantSpec] = Field(
        default_factory=list,
        max_length=1,
        description=(
            "A variant that receives a copy of the traffic of the single production variant;"
            " its responses are discarded (SageMaker allows one of each)."
        ),
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    deployment: DeploymentSpec | None = Field(
        default=None, description="Deployment guardrails for updates that switch endpoint configs."
    )
    data_capture: DataCaptureSpec | None = Field(
        default=None, description="Capture requests and responses to S3 (model monitoring)."
    )
    kms_key_id: str | None = Field(
        default=None,
        max_length=2048,
        description="KMS key for the storage volumes of the endpoint's instances.",
    )
    async_inference: AsyncInferenceSpec | None = Field(
        default=None,
        description=(
            "Make this an asynchronous endpoint: requests queue (InvokeEndpointAsync) and"
            " results land in S3; autoscaling can follow the backlog, down to zero instances."
        ),
    )
    vpc_config: VpcConfigSpec | None = Field(
        default=None, description="Run the model containers in your VPC."
    )
    adopt: bool = Field(
        default=False,
        description=(
            "Take over an existing endpoint of this name (not created by the operator)"
            " instead of refusing to touch it; it is updated in place, never recreated."
        ),
    )
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description=(
            "Delete removes the endpoint, its configs and models from AWS when this resource is"
            " deleted, so charges stop; Retain leaves them running."
        ),
    )
    tags: dict[str, TagValue] = Field(
        default_factory=dict,
        max_length=40,
        description="Tags for every AWS resource created; the operator adds its ownership tags.",
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
            _rule(
                f"self.all(k, self[k].matches('{_AWS_TAG_CHARACTERS}'))",
                "tag values must be at most 256 characters of letters, digits, spaces and _.:/=+-@",
            ),
        ),
    )

    @property
    def hosts_components(self) -> bool:
        """Whether this endpoint's variants host inference components (no models)."""
        return all(v.hosts_components for v in self.variants)

    @model_validator(mode="after")
    def _not_mixed(self) -> ModelEndpointSpec:
        if len({v.hosts_components for v in self.variants}) > 1:
            raise ValueError(
                "variants are either all classic (each with a model) or all hosting inference"
                " components (none with a model), never mixed"
            )
        if self.hosts_components and self.shadow_variants:
            raise ValueError("an endpoint that hosts inference components has no shadow variants")
        if any(s.model is None for s in self.shadow_variants):
            raise ValueError("a shadow variant needs a model")
        return self

    @model_validator(mode="after")
    def _async_rules(self) -> ModelEndpointSpec:
        """The two asyncInference rules of the CRD, for specs built outside the apiserver."""
        if self.async_inference is not None:
            if (
                len(self.variants) != 1
                or self.shadow_variants
                or self.variants[0].instance_type is None
            ):
                raise ValueError(
                    "an asynchronous endpoint (asyncInference) has exactly one production"
                    " variant, on instances (no serverless, no shadow variants)"
                )
        elif any(
            v.autoscaling is not None
            and (
                v.autoscaling.min_instances < 1
                or v.autoscaling.metric == ScalingMetric.APPROXIMATE_BACKLOG_SIZE_PER_INSTANCE
            )
            for v in self.variants
        ):
            raise ValueError(
                "autoscaling to 0 instances and on ApproximateBacklogSizePerInstance needs"
                " asyncInference"
            )
        return self


class AsyncInferenceStatus(StatusModel):
    output_path: str = Field(description="Where results land: <outputPath>/<InferenceId>.out.")
    failure_path: str | None = Field(
        default=None, description="Where failures land, if the spec sets a failurePath."
    )


class VariantAutoscalingStatus(StatusModel):
    min_instances: int = Field(description="Fewest instances autoscaling may leave.")
    max_instances: int = Field(description="Most instances autoscaling may add up to.")
    metric: str = Field(description="The metric target tracking follows.")
    target_value: float = Field(
        description=(
            "The target tracking value in force; derived as maxRequestsPerSecondPerInstance"
            " x 60 x safetyFactor when those are given."
        )
    )


class WarmUpStatus(StatusModel):
    target_model: str = Field(
        description="The model file under the multi-model prefix that was loaded."
    )
    milliseconds: float | None = Field(default=None, description="Latency of the warm-up call.")
    error: str | None = Field(default=None, description="Why the warm-up call failed, if it did.")


class VariantStatus(StatusModel):
    """A production variant as SageMaker reports it."""

    name: str = Field(description="Variant name.")
    autoscaling: VariantAutoscalingStatus | None = Field(
        default=None, description="Autoscaling bounds and the target in force."
    )
    container_hostnames: list[str] = Field(
        default_factory=list,
        description="With Direct invocation: the TargetContainerHostname values to call.",
    )
    models_found: list[str] = Field(
        default_factory=list,
        description=(
            "MultiModel: models under the S3 prefix (the first 100), listed after each rollout"
            " and again hourly (see modelsListedAt)."
        ),
    )
    warm_up: list[WarmUpStatus] = Field(
        description="MultiModel: the warm-up call for each target model after the last rollout.",
        default_factory=list,
    )
    desired_weight: float | None = Field(
        default=None, description="The weight SageMaker is moving the variant to."
    )
    current_weight: float | None = Field(
        default=None, description="The weight the variant serves with now."
    )
    current_weight_percent: float | None = Field(
        default=None, description="Share of traffic this variant receives now, in percent."
    )
    desired_weight_percent: float | None = Field(
        default=None, description="Share of traffic SageMaker is moving this variant to."
    )
    desired_instance_count: int | None = Field(
        default=None, description="The instance count SageMaker is moving the variant to."
    )
    current_instance_count: int | None = Field(default=None, description="Instances serving now.")


class ModelEndpointStatus(StatusBase):
    """Observed state of the endpoint, written by the operator."""

    endpoint_name: str | None = Field(
        default=None, description="The SageMaker endpoint this resource manages."
    )
    endpoint_arn: str | None = Field(default=None, description="The endpoint's ARN.")
    endpoint_status: str | None = Field(
        default=None, description="SageMaker's EndpointStatus, e.g. Creating or InService."
    )
    endpoint_config_name: str | None = Field(
        default=None, description="The endpoint config the endpoint runs now."
    )
    failure_reason: str | None = Field(
        default=None,
        description="SageMaker's FailureReason when the endpoint or its last update failed.",
    )
    variants: list[VariantStatus] = Field(
        description="Production variants as SageMaker reports them, with what the spec adds.",
        default_factory=list,
    )
    variant_count: int | None = Field(default=None, description="Number of production variants.")
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
    warmed_up_for_config_name: str | None = Field(
        default=None, description="The config whose MultiModel target models were warmed up."
    )
    autoscaling_registered: bool | None = Field(
        default=None, description="Whether autoscaling was registered at the last check."
    )
    autoscaling_checked: str | None = Field(
        default=None,
        description=(
            "Fingerprint of the autoscaling spec and endpoint variants whose scaling was last"
            " read and made to match; a steady pass skips that read while it is unchanged."
        ),
    )
    autoscaling_checked_at: str | None = Field(
        default=None,
        description="When the scaling was last read (RFC 3339); it is read again once an hour.",
    )
    models_listed_for_config_name: str | None = Field(
        default=None,
        description=(
            "The config whose MultiModel S3 prefixes were last listed (variants' modelsFound);"
            " a new config is listed once its rollout is done."
        ),
    )
    models_listed_at: str | None = Field(
        default=None,
        description=(
            "When the MultiModel S3 prefixes were last listed (RFC 3339); they are listed again"
            " once that is an hour old."
        ),
    )
    async_inference: AsyncInferenceStatus | None = Field(
        default=None,
        description="An asynchronous endpoint's S3 output and failure locations.",
    )
    weights_managed_by: str | None = Field(
        default=None,
        description=(
            "TrafficSplit/<name> while a TrafficSplit writes the variants' weights; the spec's"
            " weights apply again when it is deleted."
        ),
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
    root_validations=(named_by_metadata_unless("endpointName", "endpoint"),),
)
