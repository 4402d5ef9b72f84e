"""What one instance of an ML instance type offers the inference components placed on it.

The figures are those of the EC2 instance type each ML instance type runs on (vCPUs, memory
in GiB, GPUs or Inferentia/Trainium devices), as the Amazon EC2 instance type pages list them:
https://aws.amazon.com/ec2/instance-types/ (general purpose m5, compute optimized c5, memory
optimized r5, accelerated computing g4dn, g5, g6, p4d, inf2) and
https://docs.aws.amazon.com/ec2/latest/instancetypes/ (the specifications tables); SageMaker's
ML instance types are the same machines (https://aws.amazon.com/sagemaker/pricing/, "Instance
details"). Memory is in MiB (GiB x 1024), the unit of MinMemoryRequiredInMb.

SageMaker keeps part of each instance for its own agents; how much is not documented, so the
sandbox offers components the whole instance (docs/sandbox.md says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.session import Session


@dataclass(frozen=True)
class Resources:
    cpus: float
    memory_mb: int
    accelerators: float = 0.0

    def fits(self, need: Resources) -> bool:
        return (
            need.cpus <= self.cpus + 1e-9
            and need.memory_mb <= self.memory_mb
            and need.accelerators <= self.accelerators + 1e-9
        )

    def minus(self, used: Resources) -> Resources:
        return Resources(
            self.cpus - used.cpus,
            self.memory_mb - used.memory_mb,
            self.accelerators - used.accelerators,
        )


def _gib(vcpus: int, gib: int, accelerators: int = 0) -> Resources:
    return Resources(float(vcpus), gib * 1024, float(accelerators))


INSTANCE_RESOURCES: dict[str, Resources] = {
    # General purpose
    "ml.t2.medium": _gib(2, 4),
    "ml.t2.large": _gib(2, 8),
    "ml.t2.xlarge": _gib(4, 16),
    "ml.t2.2xlarge": _gib(8, 32),
    "ml.m5.large": _gib(2, 8),
    "ml.m5.xlarge": _gib(4, 16),
    "ml.m5.2xlarge": _gib(8, 32),
    "ml.m5.4xlarge": _gib(16, 64),
    "ml.m5.12xlarge": _gib(48, 192),
    "ml.m5.24xlarge": _gib(96, 384),
    # Compute optimized
    "ml.c5.large": _gib(2, 4),
    "ml.c5.xlarge": _gib(4, 8),
    "ml.c5.2xlarge": _gib(8, 16),
    "ml.c5.4xlarge": _gib(16, 32),
    "ml.c5.9xlarge": _gib(36, 72),
    "ml.c5.18xlarge": _gib(72, 144),
    # Memory optimized
    "ml.r5.large": _gib(2, 16),
    "ml.r5.xlarge": _gib(4, 32),
    "ml.r5.2xlarge": _gib(8, 64),
    "ml.r5.4xlarge": _gib(16, 128),
    "ml.r5.12xlarge": _gib(48, 384),
    "ml.r5.24xlarge": _gib(96, 768),
    # Accelerated computing: NVIDIA T4 (g4dn), A10G (g5), L4 (g6), A100 (p4d)
    "ml.g4dn.xlarge": _gib(4, 16, 1),
    "ml.g4dn.2xlarge": _gib(8, 32, 1),
    "ml.g4dn.4xlarge": _gib(16, 64, 1),
    "ml.g4dn.8xlarge": _gib(32, 128, 1),
    "ml.g4dn.12xlarge": _gib(48, 192, 4),
    "ml.g4dn.16xlarge": _gib(64, 256, 1),
    "ml.g5.xlarge": _gib(4, 16, 1),
    "ml.g5.2xlarge": _gib(8, 32, 1),
    "ml.g5.4xlarge": _gib(16, 64, 1),
    "ml.g5.8xlarge": _gib(32, 128, 1),
    "ml.g5.12xlarge": _gib(48, 192, 4),
    "ml.g5.16xlarge": _gib(64, 256, 1),
    "ml.g5.24xlarge": _gib(96, 384, 4),
    "ml.g5.48xlarge": _gib(192, 768, 8),
    "ml.g6.xlarge": _gib(4, 16, 1),
    "ml.g6.2xlarge": _gib(8, 32, 1),
    "ml.g6.4xlarge": _gib(16, 64, 1),
    "ml.g6.8xlarge": _gib(32, 128, 1),
    "ml.g6.12xlarge": _gib(48, 192, 4),
    "ml.g6.16xlarge": _gib(64, 256, 1),
    "ml.g6.24xlarge": _gib(96, 384, 4),
    "ml.g6.48xlarge": _gib(192, 768, 8),
    "ml.p4d.24xlarge": _gib(96, 1152, 8),
    # AWS Inferentia2: devices per instance
    "ml.inf2.xlarge": _gib(4, 16, 1),
    "ml.inf2.8xlarge": _gib(32, 128, 1),
    "ml.inf2.24xlarge": _gib(96, 384, 6),
    "ml.inf2.48xlarge": _gib(192, 768, 12),
}


@cache
def _instance_types() -> frozenset[str]:
    """ProductionVariantInstanceType's values in botocore's SageMaker model (moto's own list
    of endpoint instance types lacks newer ones, such as ml.g5.*)."""
    shape = Session().get_service_model("sagemaker").shape_for("ProductionVariantInstanceType")
    return frozenset(shape.enum)  # type: ignore[attr-defined]


def inference_component_variant_problem(
    params: dict[str, Any], variant: dict[str, Any]
) -> str | None:
    """Why SageMaker would refuse a production variant that names no model, the kind that
    hosts inference components (None if it would not). Such a config needs ExecutionRoleArn
    ("Deploy models for real-time inference" with inference components: the endpoint
    configuration's ExecutionRoleArn, the variant without ModelName) and instances to place
    the components on. Message wording is the sandbox's."""
    name = variant.get("VariantName", "")
    if not params.get("ExecutionRoleArn"):
        return (
            f'Production variant "{name}" names no model, so it hosts inference components:'
            " the endpoint configuration needs an ExecutionRoleArn."
        )
    instance_type = variant.get("InstanceType")
    if not instance_type:
        return (
            f'Production variant "{name}" names no model, so it hosts inference components,'
            " which run on instances: give it an InstanceType."
        )
    if instance_type not in _instance_types():
        return (
            f"1 validation error detected: Value '{instance_type}' at"
            " 'productionVariants.1.member.instanceType' failed to satisfy constraint: Member"
            " must satisfy enum value set"
        )
    scaling = variant.get("ManagedInstanceScaling") or {}
    if scaling.get("Status") == "ENABLED":
        low, high = scaling.get("MinInstanceCount"), scaling.get("MaxInstanceCount")
        if low is None or high is None:
            return (
                f'ManagedInstanceScaling of production variant "{name}" is ENABLED: give it'
                " MinInstanceCount and MaxInstanceCount."
            )
        if int(low) > int(high):
            return (
                f'ManagedInstanceScaling of production variant "{name}": MinInstanceCount'
                f" {low} is greater than MaxInstanceCount {high}."
            )
    return None
