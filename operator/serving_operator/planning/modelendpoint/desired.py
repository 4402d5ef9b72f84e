"""The SageMaker objects a ModelEndpoint spec asks for, with their deterministic names.

Each immutable object is described by the exact request that creates it (less its name
and tags), and named by a hash of that request: the request is the content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from serving_operator.api.modelendpoint import (
    AsyncInferenceSpec,
    AutoscalingSpec,
    DeploymentSpec,
    InferenceExecution,
    ModelEndpointSpec,
    ModelMode,
    ModelSpec,
    ScalingMetric,
    VariantSpec,
)
from serving_operator.planning.naming import hashed_name
from serving_operator.planning.ownership import Tags, ownership_tags

SCALING_POLICY_PREFIX = "serving-operator-"
SCALE_OUT_SUFFIX = "-scale-out-from-zero"

Request = Mapping[str, Any]


@dataclass(frozen=True)
class ModelDefinition:
    """One SageMaker Model: its CreateModel request (less name and tags), named by content."""

    name: str
    request: Request
    multi_model_prefix: str | None = None
    target_models: tuple[str, ...] = ()
    warm_up: bool = False
    direct_hostnames: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        containers = self.request.get("Containers") or [self.request["PrimaryContainer"]]
        return ", ".join(str(c["Image"]) for c in containers)


@dataclass(frozen=True)
class ScaleOutFromZero:
    """The step scaling policy and CloudWatch alarm that take an asynchronous endpoint's
    variant from 0 instances to 1 when requests wait: target tracking on the backlog per
    instance cannot act on 0 instances (SageMaker developer guide, "Autoscale an
    asynchronous endpoint": "Define a scaling policy that scales up from zero for new
    requests", HasBacklogWithoutCapacity)."""

    policy_name: str
    policy: Request  # StepScalingPolicyConfiguration
    alarm_name: str
    alarm: Request  # PutMetricAlarm parameters less AlarmName and AlarmActions (the policy ARN)


@dataclass(frozen=True)
class AutoscalingDefinition:
    """An Application Auto Scaling target and its target-tracking policy for one variant."""

    resource_id: str
    min_instances: int
    max_instances: int
    policy_name: str
    policy: Request  # TargetTrackingScalingPolicyConfiguration
    target_value: float
    metric: str
    scale_out_from_zero: ScaleOutFromZero | None = None


@dataclass(frozen=True)
class VariantDefinition:
    name: str
    model_name: str | None
    """None: the variant hosts inference components (each names its own model)."""
    instance_type: str | None
    instance_count: int
    weight: float
    serverless: Request | None = None
    autoscaling: AutoscalingDefinition | None = None
    managed_instance_scaling: Request | None = None
    routing_strategy: str | None = None

    @property
    def owns_instance_count(self) -> bool:
        """Whether the operator writes this variant's instance count (not an autoscaler, nor
        SageMaker's managed instance scaling)."""
        return (
            self.autoscaling is None
            and self.serverless is None
            and self.managed_instance_scaling is None
        )

    def request(self) -> dict[str, Any]:
        """The ProductionVariant entry of CreateEndpointConfig."""
        entry: dict[str, Any] = {"VariantName": self.name, "InitialVariantWeight": self.weight}
        if self.model_name is not None:
            entry["ModelName"] = self.model_name
        if self.serverless is not None:
            entry["ServerlessConfig"] = dict(self.serverless)
        else:
            entry["InstanceType"] = self.instance_type
            entry["InitialInstanceCount"] = self.instance_count
        if self.managed_instance_scaling is not None:
            entry["ManagedInstanceScaling"] = dict(self.managed_instance_scaling)
        if self.routing_strategy is not None:
            entry["RoutingConfig"] = {"RoutingStrategy": self.routing_strategy}
        return entry


@dataclass(frozen=True)
class DesiredEndpoint:
    endpoint_name: str
    config_name: str
    models: tuple[ModelDefinition, ...]
    variants: tuple[VariantDefinition, ...]
    tags: Tags
    shadow_variants: tuple[VariantDefinition, ...] = ()
    config_extras: Request | None = None  # DataCaptureConfig, KmsKeyId, AsyncInferenceConfig
    deployment: Request | None = None  # UpdateEndpoint's DeploymentConfig
    weights_managed_by: str | None = None
    """Who writes the variants' weights instead of this spec (e.g. TrafficSplit/canary)."""

    @property
    def async_output(self) -> tuple[str, str | None] | None:
        """An asynchronous endpoint's S3 output and failure paths (None: not asynchronous)."""
        config = (self.config_extras or {}).get("AsyncInferenceConfig")
        if config is None:
            return None
        output = config["OutputConfig"]
        return str(output["S3OutputPath"]), output.get("S3FailurePath")

    @property
    def model_names(self) -> frozenset[str]:
        return frozenset(m.name for m in self.models)

    @property
    def autoscaled(self) -> tuple[AutoscalingDefinition, ...]:
        return tuple(v.autoscaling for v in self.variants if v.autoscaling is not None)

    def update_request(self) -> dict[str, Any]:
        """UpdateEndpoint parameters besides the endpoint and config names.

        With autoscaled variants, the instance counts the autoscaler reached are retained
        through the switch (weights still come from the new config); otherwise a rollout
        would drop a scaled-out variant back to its initial count.
        """
        request: dict[str, Any] = {}
        if self.deployment:
            request["DeploymentConfig"] = dict(self.deployment)
        if self.weights_managed_by is not None:
            # Another writer owns the weights: a config switch keeps the ones in force.
            request["RetainAllVariantProperties"] = True
            if not self.autoscaled:
                request["ExcludeRetainedVariantProperties"] = [
                    {"VariantPropertyType": "DesiredInstanceCount"}
                ]
        elif self.autoscaled:
            request["RetainAllVariantProperties"] = True
            request["ExcludeRetainedVariantProperties"] = [{"VariantPropertyType": "DesiredWeight"}]
        return request

    def config_request(self) -> dict[str, Any]:
        """CreateEndpointConfig parameters other than its name and tags."""
        request: dict[str, Any] = {"ProductionVariants": [v.request() for v in self.variants]}
        if self.shadow_variants:
            request["ShadowProductionVariants"] = [v.request() for v in self.shadow_variants]
        request.update(self.config_extras or {})
        return request


def _container(
    image: str,
    model_data_url: str | None,
    environment: Mapping[str, str],
    *,
    hostname: str | None = None,
    multi_model: bool = False,
) -> dict[str, Any]:
    container: dict[str, Any] = {"Image": image}
    if hostname:
        container["ContainerHostname"] = hostname
    if model_data_url:
        container["ModelDataUrl"] = model_data_url
    if environment:
        container["Environment"] = dict(sorted(environment.items()))
    if multi_model:
        container["Mode"] = "MultiModel"
    return container


def _model_definition(
    endpoint_name: str, model: ModelSpec, spec: ModelEndpointSpec
) -> ModelDefinition:
    request: dict[str, Any] = {
        "ExecutionRoleArn": model.execution_role_arn or spec.execution_role_arn
    }
    direct_hostnames: tuple[str, ...] = ()
    if model.containers:
        request["Containers"] = [
            _container(c.image, c.model_data_url, c.environment, hostname=c.hostname)
            for c in model.containers
        ]
        request["InferenceExecutionConfig"] = {"Mode": model.inference_execution.value}
        if model.inference_execution == InferenceExecution.DIRECT:
            direct_hostnames = tuple(c.hostname for c in model.containers)
    else:
        assert model.image is not None  # the API guarantees image xor containers
        request["PrimaryContainer"] = _container(
            model.image,
            model.model_data_url,
            model.environment,
            multi_model=model.mode == ModelMode.MULTI_MODEL,
        )
    if spec.vpc_config:
        request["VpcConfig"] = {
            "SecurityGroupIds": list(spec.vpc_config.security_group_ids),
            "Subnets": list(spec.vpc_config.subnets),
        }
    multi_model = model.mode == ModelMode.MULTI_MODEL
    return ModelDefinition(
        name=hashed_name(endpoint_name, request),
        request=request,
        multi_model_prefix=model.model_data_url if multi_model else None,
        target_models=tuple(model.target_models),
        warm_up=model.warm_up,
        direct_hostnames=direct_hostnames,
    )


_PREDEFINED_METRICS = {
    ScalingMetric.INVOCATIONS_PER_INSTANCE: "SageMakerVariantInvocationsPerInstance",
    ScalingMetric.CPU_UTILIZATION: "SageMakerVariantCPUUtilization",
}


# The documented scale-out-from-zero policy and its alarm, as the SageMaker developer guide
# gives them ("Autoscale an asynchronous endpoint", "Define a scaling policy that scales up
# from zero for new requests"): one instance added while HasBacklogWithoutCapacity averages
# at least 1 over two one-minute periods.
_SCALE_OUT_FROM_ZERO_POLICY: dict[str, Any] = {
    "AdjustmentType": "ChangeInCapacity",
    "MetricAggregationType": "Average",
    "Cooldown": 300,
    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
}


def scale_out_from_zero(endpoint_name: str, variant_name: str) -> ScaleOutFromZero:
    alarm: dict[str, Any] = {
        "MetricName": "HasBacklogWithoutCapacity",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Average",
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "missing",
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
        "Period": 60,
    }
    return ScaleOutFromZero(
        policy_name=f"{SCALING_POLICY_PREFIX}{variant_name}{SCALE_OUT_SUFFIX}",
        policy=_SCALE_OUT_FROM_ZERO_POLICY,
        alarm_name=f"{SCALING_POLICY_PREFIX}{endpoint_name}-{variant_name}"
        "-has-backlog-without-capacity",
        alarm=alarm,
    )


def autoscaling_definition(
    endpoint_name: str, variant_name: str, autoscaling: AutoscalingSpec
) -> AutoscalingDefinition:
    target = autoscaling.derived_target_value
    policy: dict[str, Any] = {
        "TargetValue": target,
        "ScaleInCooldown": autoscaling.scale_in_cooldown_seconds,
        "ScaleOutCooldown": autoscaling.scale_out_cooldown_seconds,
        "DisableScaleIn": autoscaling.disable_scale_in,
    }
    if autoscaling.metric == ScalingMetric.CUSTOM:
        custom = autoscaling.custom_metric
        assert custom is not None  # the API requires it with metric Custom
        policy["CustomizedMetricSpecification"] = {
            "MetricName": custom.metric_name,
            "Namespace": custom.namespace,
            "Statistic": custom.statistic,
            "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(custom.dimensions.items())],
        }
    elif autoscaling.metric == ScalingMetric.APPROXIMATE_BACKLOG_SIZE_PER_INSTANCE:
        # As the developer guide's "Autoscale an asynchronous endpoint" defines it: the
        # endpoint's queue (EndpointName is the metric's only dimension) per instance.
        policy["CustomizedMetricSpecification"] = {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
            "Statistic": "Average",
        }
    else:
        policy["PredefinedMetricSpecification"] = {
            "PredefinedMetricType": _PREDEFINED_METRICS[autoscaling.metric]
        }
    return AutoscalingDefinition(
        resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
        min_instances=autoscaling.min_instances,
        max_instances=autoscaling.max_instances,
        policy_name=f"{SCALING_POLICY_PREFIX}{variant_name}",
        policy=policy,
        target_value=target,
        metric=autoscaling.metric.value,
        scale_out_from_zero=(
            scale_out_from_zero(endpoint_name, variant_name)
            if autoscaling.min_instances == 0
            else None
        ),
    )


def _variant_definition(
    endpoint_name: str, variant: VariantSpec, model_name: str | None
) -> VariantDefinition:
    count = variant.instance_count
    autoscaling = None
    if variant.autoscaling is not None:
        bounds = variant.autoscaling
        count = max(bounds.min_instances, min(count, bounds.max_instances))
        autoscaling = autoscaling_definition(endpoint_name, variant.name, bounds)
    serverless = None
    if variant.serverless is not None:
        serverless = {
            "MemorySizeInMB": variant.serverless.memory_size_in_mb,
            "MaxConcurrency": variant.serverless.max_concurrency,
        }
        if variant.serverless.provisioned_concurrency is not None:
            serverless["ProvisionedConcurrency"] = variant.serverless.provisioned_concurrency
    managed = None
    if variant.managed_instance_scaling is not None:
        # botocore: ProductionVariantManagedInstanceScaling (Status, Min/MaxInstanceCount).
        managed_bounds = variant.managed_instance_scaling
        managed = {
            "Status": "ENABLED",
            "MinInstanceCount": managed_bounds.min_instance_count,
            "MaxInstanceCount": managed_bounds.max_instance_count,
        }
        count = max(1, min(count, managed_bounds.max_instance_count))
    return VariantDefinition(
        name=variant.name,
        model_name=model_name,
        instance_type=variant.instance_type,
        instance_count=count,
        weight=variant.weight,
        serverless=serverless,
        autoscaling=autoscaling,
        managed_instance_scaling=managed,
        routing_strategy=variant.routing_strategy.value if variant.routing_strategy else None,
    )


def deployment_config(deployment: DeploymentSpec) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig for the spec's guardrails."""
    config: dict[str, Any] = {}
    if deployment.blue_green is not None:
        routing = deployment.blue_green.traffic_routing
        traffic: dict[str, Any] = {
            "Type": routing.type.value,
            "WaitIntervalInSeconds": routing.wait_interval_seconds,
        }
        if routing.canary_size_percent is not None:
            traffic["CanarySize"] = {
                "Type": "CAPACITY_PERCENT",
                "Value": routing.canary_size_percent,
            }
        if routing.linear_step_percent is not None:
            traffic["LinearStepSize"] = {
                "Type": "CAPACITY_PERCENT",
                "Value": routing.linear_step_percent,
            }
        blue_green: dict[str, Any] = {
            "TrafficRoutingConfiguration": traffic,
            "TerminationWaitInSeconds": deployment.blue_green.termination_wait_seconds,
        }
        if deployment.blue_green.maximum_execution_timeout_seconds is not None:
            blue_green["MaximumExecutionTimeoutInSeconds"] = (
                deployment.blue_green.maximum_execution_timeout_seconds
            )
        config["BlueGreenUpdatePolicy"] = blue_green
    if deployment.rolling_update is not None:
        rolling: dict[str, Any] = {
            "MaximumBatchSize": {
                "Type": "CAPACITY_PERCENT",
                "Value": deployment.rolling_update.maximum_batch_size_percent,
            },
            "WaitIntervalInSeconds": deployment.rolling_update.wait_interval_seconds,
        }
        if deployment.rolling_update.maximum_execution_timeout_seconds is not None:
            rolling["MaximumExecutionTimeoutInSeconds"] = (
                deployment.rolling_update.maximum_execution_timeout_seconds
            )
        config["RollingUpdatePolicy"] = rolling
    if deployment.auto_rollback_alarms:
        config["AutoRollbackConfiguration"] = {
            "Alarms": [{"AlarmName": a} for a in deployment.auto_rollback_alarms]
        }
    return config


def _config_extras(spec: ModelEndpointSpec) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if spec.hosts_components:
        # SageMaker requires the config's ExecutionRoleArn for an endpoint of inference
        # components (botocore CreateEndpointConfigInput.ExecutionRoleArn; developer guide,
        # "Deploy models with inference components"): no variant names a model to take it from.
        extras["ExecutionRoleArn"] = spec.execution_role_arn
    if spec.data_capture is not None:
        capture = spec.data_capture
        options = [{"CaptureMode": "Input"}] if capture.capture_input else []
        options += [{"CaptureMode": "Output"}] if capture.capture_output else []
        extras["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": capture.sampling_percentage,
            "DestinationS3Uri": capture.destination_s3_uri,
            "CaptureOptions": options,
            **({"KmsKeyId": capture.kms_key_id} if capture.kms_key_id else {}),
        }
    if spec.kms_key_id:
        extras["KmsKeyId"] = spec.kms_key_id
    if spec.async_inference is not None:
        extras["AsyncInferenceConfig"] = async_inference_config(spec.async_inference)
    return extras


def async_inference_config(spec: AsyncInferenceSpec) -> dict[str, Any]:
    """CreateEndpointConfig's AsyncInferenceConfig (botocore sagemaker service model:
    ClientConfig, OutputConfig with S3OutputPath, S3FailurePath, KmsKeyId,
    NotificationConfig). Part of the config's content, so a change makes a new config."""
    output: dict[str, Any] = {"S3OutputPath": spec.output_path}
    if spec.failure_path:
        output["S3FailurePath"] = spec.failure_path
    if spec.kms_key_id:
        output["KmsKeyId"] = spec.kms_key_id
    if spec.notification is not None:
        notification: dict[str, Any] = {}
        if spec.notification.success_topic:
            notification["SuccessTopic"] = spec.notification.success_topic
        if spec.notification.error_topic:
            notification["ErrorTopic"] = spec.notification.error_topic
        if spec.notification.include_inference_response_in:
            notification["IncludeInferenceResponseIn"] = sorted(
                t.value for t in spec.notification.include_inference_response_in
            )
        if notification:
            output["NotificationConfig"] = notification
    config: dict[str, Any] = {"OutputConfig": output}
    if spec.max_concurrent_invocations_per_instance is not None:
        config["ClientConfig"] = {
            "MaxConcurrentInvocationsPerInstance": spec.max_concurrent_invocations_per_instance
        }
    return config


def _config_shape(desired: DesiredEndpoint) -> dict[str, Any]:
    """What a new config is needed for: everything but production weights and counts.

    Weights and instance counts are changed in place with UpdateEndpointWeightsAndCapacities,
    so leaving them out of the name means such a change never needs a new config.
    """
    shape = desired.config_request()
    shape["ProductionVariants"] = sorted(
        (
            {
                k: v
                for k, v in p.items()
                if k not in ("InitialVariantWeight", "InitialInstanceCount")
            }
            for p in shape["ProductionVariants"]
        ),
        key=lambda p: str(p["VariantName"]),
    )
    return shape


def desired_endpoint(spec: ModelEndpointSpec, *, namespace: str, name: str) -> DesiredEndpoint:
    """Translate a spec into named SageMaker objects."""
    endpoint_name = spec.endpoint_name or name
    models: dict[str, ModelDefinition] = {}

    def variants_of(specs: list[VariantSpec]) -> tuple[VariantDefinition, ...]:
        result = []
        for variant in specs:
            if variant.model is None:
                # Hosts inference components: their models are theirs, not the endpoint's.
                result.append(_variant_definition(endpoint_name, variant, None))
                continue
            model = _model_definition(endpoint_name, variant.model, spec)
            models[model.name] = model
            result.append(_variant_definition(endpoint_name, variant, model.name))
        return tuple(result)

    variants = variants_of(spec.variants)
    shadows = variants_of(spec.shadow_variants)
    draft = DesiredEndpoint(
        endpoint_name=endpoint_name,
        config_name="",
        models=tuple(sorted(models.values(), key=lambda m: m.name)),
        variants=variants,
        tags=tuple(sorted(spec.tags.items())) + ownership_tags(namespace, name),
        shadow_variants=shadows,
        config_extras=_config_extras(spec) or None,
        deployment=deployment_config(spec.deployment) if spec.deployment else None,
    )
    return replace(draft, config_name=hashed_name(endpoint_name, _config_shape(draft)))
