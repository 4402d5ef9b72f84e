"""What an instance type offers the components placed on it: vCPUs, memory, accelerators.

From the Amazon SageMaker pricing page's instance tables ("Real-Time Inference": vCPU,
memory in GiB, GPUs) and the EC2 instance type pages of the same families. Only the types
listed are checked; any other type is "not known" and left to SageMaker (a component that
does not fit stays Creating with SageMaker's reason). SageMaker reserves part of each
instance for its own agents, so a reservation that fits the whole instance may still not be
placed: this check catches only what can never fit.

The sandbox keeps its own table (sandbox/instance_types.py) on purpose: it plays AWS, so a
wrong figure here shows up against an independent copy instead of agreeing with itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceResources:
    vcpus: int
    memory_mib: int
    accelerators: int = 0


def _gib(vcpus: int, gib: int, accelerators: int = 0) -> InstanceResources:
    return InstanceResources(vcpus, gib * 1024, accelerators)


INSTANCE_RESOURCES: dict[str, InstanceResources] = {
    "ml.t2.medium": _gib(2, 4),
    "ml.t2.large": _gib(2, 8),
    "ml.m5.large": _gib(2, 8),
    "ml.m5.xlarge": _gib(4, 16),
    "ml.m5.2xlarge": _gib(8, 32),
    "ml.m5.4xlarge": _gib(16, 64),
    "ml.m5.12xlarge": _gib(48, 192),
    "ml.m5.24xlarge": _gib(96, 384),
    "ml.c5.large": _gib(2, 4),
    "ml.c5.xlarge": _gib(4, 8),
    "ml.c5.2xlarge": _gib(8, 16),
    "ml.c5.4xlarge": _gib(16, 32),
    "ml.c5.9xlarge": _gib(36, 72),
    "ml.c5.18xlarge": _gib(72, 144),
    "ml.r5.large": _gib(2, 16),
    "ml.r5.xlarge": _gib(4, 32),
    "ml.r5.2xlarge": _gib(8, 64),
    "ml.r5.4xlarge": _gib(16, 128),
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
    "ml.p4d.24xlarge": _gib(96, 1152, 8),
}


def fit_problem(
    instance_type: str | None, cpu_cores: float | None, memory_mib: int, accelerators: int | None
) -> str | None:
    """Why one copy can never fit an instance of `instance_type` (None: it may, or the type is
    not known)."""
    offered = INSTANCE_RESOURCES.get(instance_type or "")
    if offered is None:
        return None
    needs = []
    if cpu_cores is not None and cpu_cores > offered.vcpus:
        needs.append(f"{cpu_cores:g} CPU cores (it has {offered.vcpus})")
    if memory_mib > offered.memory_mib:
        needs.append(f"{memory_mib} MiB of memory (it has {offered.memory_mib})")
    if accelerators is not None and accelerators > offered.accelerators:
        needs.append(f"{accelerators} accelerators (it has {offered.accelerators})")
    if not needs:
        return None
    return f"one copy needs {', '.join(needs)}: more than an {instance_type} instance offers"
