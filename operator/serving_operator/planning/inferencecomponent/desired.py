"""The SageMaker objects an InferenceComponent spec asks for, with deterministic names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from serving_operator.api.inferencecomponent import InferenceComponentSpec
from serving_operator.planning.inferencecomponent.observed import HostEndpoint, HostVariant
from serving_operator.planning.naming import content_hash, hashed_name
from serving_operator.planning.ownership import Tags, ownership_tags

Request = Mapping[str, Any]

# Application Auto Scaling's names for a component's copy count (botocore
# application-autoscaling: ScalableDimension, MetricType; SageMaker developer guide,
# "Auto scaling of inference components": ResourceId inference-component/<name>).
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
COPY_METRIC = "SageMakerInferenceComponentInvocationsPerCopy"
SCALING_POLICY_NAME = "serving-operator-copies"
FROM_ZERO_POLICY_NAME = "serving-operator-from-zero"


def from_zero_alarm_name(component_name: str) -> str:
    return f"serving-operator-{component_name}-no-capacity"


def scaling_resource_id(component_name: str) -> str:
    return f"inference-component/{component_name}"


@dataclass(frozen=True)
class ComponentModel:
    name: str
    request: Request


@dataclass(frozen=True)
class FromZero:
    """Target tracking never scales out from zero copies (no copy, no invocations per copy).
    "Scale an endpoint to zero instances" (SageMaker developer guide) adds a StepScaling policy
    that adds a copy, set off by a CloudWatch alarm on the component's
    NoCapacityInvocationFailures: the calls refused for want of a copy."""

    policy: Request
    """StepScalingPolicyConfiguration."""
    alarm: Request
    """PutMetricAlarm's parameters, less AlarmActions (the policy's ARN, known once put)."""


@dataclass(frozen=True)
class CopyScaling:
    resource_id: str
    min_copies: int
    max_copies: int
    policy: Request
    from_zero: FromZero | None = None


@dataclass(frozen=True)
class DesiredComponent:
    name: str
    endpoint_name: str
    variant_name: str
    model: ComponentModel | None
    """The model we create (None: spec.modelName, someone else's)."""
    model_name: str
    specification: Request
    """InferenceComponentSpecification: ModelName, ComputeResourceRequirements and
    StartupParameters."""
    copy_count: int
    scaling: CopyScaling | None
    deployment: Request
    """UpdateInferenceComponent's DeploymentConfig (sent when more than one copy runs)."""
    tags: Tags

    @property
    def owns_copies(self) -> bool:
        """Whether the operator writes the copy count after creation (not the autoscaler)."""
        return self.scaling is None


def pick_variant(spec: InferenceComponentSpec, host: HostEndpoint) -> HostVariant | str:
    """The host's variant the component runs on, or why there is none."""
    if spec.variant_name is not None:
        found = next((v for v in host.variants if v.name == spec.variant_name), None)
        if found is None:
            names = ", ".join(v.name for v in host.variants)
            return f"ModelEndpoint {spec.endpoint_ref.name} has no variant {spec.variant_name}" + (
                f" (it has {names})" if names else ""
            )
        return found
    if len(host.variants) != 1:
        return (
            f"ModelEndpoint {spec.endpoint_ref.name} has {len(host.variants)} variants:"
            " set spec.variantName"
        )
    return host.variants[0]


def _model(spec: InferenceComponentSpec, host: HostEndpoint, component: str) -> ComponentModel:
    assert spec.model is not None
    container: dict[str, Any] = {"Image": spec.model.image}
    if spec.model.model_data_url:
        container["ModelDataUrl"] = spec.model.model_data_url
    if spec.model.environment:
        container["Environment"] = dict(sorted(spec.model.environment.items()))
    request = {
        "ExecutionRoleArn": spec.model.execution_role_arn or host.execution_role_arn,
        "PrimaryContainer": container,
    }
    return ComponentModel(hashed_name(component, request), request)


def desired_component(
    spec: InferenceComponentSpec,
    host: HostEndpoint,
    variant: HostVariant,
    *,
    namespace: str,
    name: str,
) -> DesiredComponent:
    component = spec.component_name or name
    model = _model(spec, host, component) if spec.model is not None else None
    model_name = model.name if model is not None else str(spec.model_name)
    compute: dict[str, Any] = {"MinMemoryRequiredInMb": spec.compute.min_memory_mib}
    if spec.compute.cpu_cores is not None:
        compute["NumberOfCpuCoresRequired"] = spec.compute.cpu_cores
    if spec.compute.max_memory_mib is not None:
        compute["MaxMemoryRequiredInMb"] = spec.compute.max_memory_mib
    if spec.compute.accelerators is not None:
        compute["NumberOfAcceleratorDevicesRequired"] = float(spec.compute.accelerators)
    specification: dict[str, Any] = {
        "ModelName": model_name,
        "ComputeResourceRequirements": compute,
    }
    startup: dict[str, Any] = {}
    if spec.startup_parameters is not None:
        params = spec.startup_parameters
        if params.model_data_download_timeout_seconds is not None:
            startup["ModelDataDownloadTimeoutInSeconds"] = (
                params.model_data_download_timeout_seconds
            )
        if params.container_startup_health_check_timeout_seconds is not None:
            startup["ContainerStartupHealthCheckTimeoutInSeconds"] = (
                params.container_startup_health_check_timeout_seconds
            )
    if startup:
        specification["StartupParameters"] = startup
    copies = spec.initial_copies
    scaling = None
    if spec.autoscaling is not None:
        bounds = spec.autoscaling
        copies = max(bounds.min_copies, min(copies, bounds.max_copies))
        from_zero = None
        if bounds.min_copies == 0:
            # The developer guide's example: one copy when a call was refused, at most once a
            # minute; the alarm looks at the Maximum of one 30 s period (AWS/SageMaker,
            # dimension InferenceComponentName).
            from_zero = FromZero(
                policy={
                    "AdjustmentType": "ChangeInCapacity",
                    "MetricAggregationType": "Maximum",
                    "Cooldown": 60,
                    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
                },
                alarm={
                    "AlarmName": from_zero_alarm_name(component),
                    "MetricName": "NoCapacityInvocationFailures",
                    "Namespace": "AWS/SageMaker",
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": component}],
                    "Statistic": "Maximum",
                    "Period": 30,
                    "EvaluationPeriods": 1,
                    "Threshold": 1.0,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "TreatMissingData": "missing",
                },
            )
        scaling = CopyScaling(
            resource_id=scaling_resource_id(component),
            min_copies=bounds.min_copies,
            max_copies=bounds.max_copies,
            policy={
                "TargetValue": bounds.target_invocations_per_copy,
                "PredefinedMetricSpecification": {"PredefinedMetricType": COPY_METRIC},
                "ScaleInCooldown": bounds.scale_in_cooldown_seconds,
                "ScaleOutCooldown": bounds.scale_out_cooldown_seconds,
            },
            from_zero=from_zero,
        )
    rolling = spec.rolling_update
    deployment = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": rolling.maximum_batch_copies},
            "WaitIntervalInSeconds": rolling.wait_interval_seconds,
        }
    }
    return DesiredComponent(
        name=component,
        endpoint_name=host.endpoint_name,
        variant_name=variant.name,
        model=model,
        model_name=model_name,
        specification=specification,
        copy_count=copies,
        scaling=scaling,
        deployment=deployment,
        tags=tuple(sorted(spec.tags.items())) + ownership_tags(namespace, name),
    )


def scaling_fingerprint(desired: DesiredComponent) -> str:
    scaling = desired.scaling
    return content_hash(
        None
        if scaling is None
        else [
            scaling.resource_id,
            scaling.min_copies,
            scaling.max_copies,
            dict(scaling.policy),
            dict(scaling.from_zero.policy) if scaling.from_zero else None,
        ]
    )
