"""What an EdgeModel spec asks of AWS: Neo jobs, component versions and stage deployments.

Names and versions are derived from content, so a retry finds what the last attempt made,
the same spec never compiles or publishes twice, and any change makes new ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from serving_operator import edge_runtime
from serving_operator.api.edgemodel import EdgeModelSpec, EdgeTarget, OnFailure, RolloutStage
from serving_operator.planning.naming import content_hash
from serving_operator.planning.ownership import Tags, owner_id, ownership_tags

Request = Mapping[str, Any]
NEO_NAME_LENGTH = 63
PUBLISHER = "serving-operator"

# Greengrass's platform architecture of each Neo device, from the OS and architecture
# columns of the SageMaker developer guide's device table (neo-supported-devices-edge-
# devices): ARM64 is Greengrass's aarch64, ARM its arm, X86_64 its amd64. Every device
# Greengrass can run is listed (a test keeps it so); those it cannot (Android, iOS, Lambda:
# api.edgemodel.NO_GREENGRASS_DEVICES) are refused at admission.
DEVICE_ARCHITECTURES = {
    **dict.fromkeys(
        (
            "jetson_tx1",
            "jetson_tx2",
            "jetson_nano",
            "jetson_xavier",
            "imx8qm",
            "imx8mplus",
            "rk3399",
            "rasp4b",
            "aisage",
            "amba_cv2",
            "amba_cv22",
            "amba_cv25",
            "ml_m6g",
            "ml_c6g",
        ),
        "aarch64",
    ),
    **dict.fromkeys(("rasp3b", "rk3288", "sitara_am57x", "jacinto_tda4vm"), "arm"),
    **dict.fromkeys(
        (
            "ml_m4",
            "ml_m5",
            "ml_c4",
            "ml_c5",
            "ml_p2",
            "ml_p3",
            "ml_g4dn",
            "ml_inf1",
            "ml_inf2",
            "ml_trn1",
            "ml_eia2",
            "deeplens",
            "sbe_c",
        ),
        "amd64",
    ),
    "x86_win32": "x86",
    "x86_win64": "amd64",
}
PLATFORM_ARCHITECTURES = {
    "X86_64": "amd64",
    "X86": "x86",
    "ARM64": "aarch64",
    "ARM_EABI": "arm",
    "ARM_EABIHF": "arm",
}


@dataclass(frozen=True)
class DesiredTarget:
    name: str
    job_name: str
    compilation: Request
    """CreateCompilationJob's parameters."""
    component_name: str
    component_version: str
    platform: Mapping[str, str]
    """The recipe manifest's Platform."""
    thing_groups: tuple[str, ...]
    own_groups: tuple[str, ...] = ()
    """The thing groups the spec names for this target (empty: it named none, and
    `thing_groups` is every group of the rollout)."""
    content_key: str = ""
    """Hash of what the component version holds (compilation, recipe): a new key is a new
    version."""
    legacy_version: str = ""
    """The version operators before recorded versions gave this content."""
    version_recorded: bool = True
    """Whether status holds `component_version` for `content_key` (or it is a version
    published before versions were recorded). A version chosen this pass is published only
    after status recorded it (write-ahead), so a lost status write cannot publish two."""


@dataclass(frozen=True)
class DesiredStage:
    name: str
    thing_groups: tuple[str, ...]
    job_configuration: Request
    """The parts of iotJobConfiguration the spec sets."""
    min_success_percent: float
    bake_seconds: int
    manual: bool
    abort_criteria: tuple[tuple[str, float, int], ...]
    """(failure type, threshold %, minimum executed devices)."""


@dataclass(frozen=True)
class DesiredEdgeModel:
    owner: str
    tags: Tags
    targets: tuple[DesiredTarget, ...]
    stages: tuple[DesiredStage, ...]
    failure_handling_policy: str
    roll_back: bool
    """rollout.onFailure is RollBack: a failed stage deploys the previous versions again."""
    stage_deadline_seconds: int
    dependencies: Mapping[str, Mapping[str, str]]
    dlr_component: str
    environment: Mapping[str, str]
    run_command: str | None
    """The spec's own Run script (None: the shipped entrypoint in the DLR environment)."""
    run_with: Mapping[str, Any]
    entrypoint_uri: str
    """Where the shipped entrypoint is published, next to the compiled models; every
    component version names it as an artifact."""

    @property
    def component_names(self) -> frozenset[str]:
        return frozenset(t.component_name for t in self.targets)

    @property
    def thing_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(g for s in self.stages for g in s.thing_groups))

    def target(self, name: str) -> DesiredTarget:
        return next(t for t in self.targets if t.name == name)


def neo_job_name(namespace: str, name: str, target: str, content: Any) -> str:
    """`<name>-<target>-<hash>` within Neo's 63 characters, letters, digits and hyphens."""
    digest = content_hash([namespace, name, target, content])
    stem = re.sub(r"[^a-zA-Z0-9]+", "-", f"{name}-{target}").strip("-")
    stem = stem[: NEO_NAME_LENGTH - len(digest) - 1].rstrip("-")
    # Neo names start with a letter or digit: a name and target of only punctuation
    # leave no stem (hypothesis found "-" and "-").
    return f"{stem or 'neo'}-{digest}"


VERSION_PART_LIMIT = 999999
"""The GGv2 recipe reference caps major, minor and patch at 999999 (today's text; an older
one says nothing): versions keep within it, valid under both readings."""
Versions = Mapping[str, tuple[str, str]]
"""Per component name: (content key, version) of the version its current content has."""


def legacy_version(content_key_source: Any) -> str:
    """The version operators before recorded versions derived from content: 1.0.<28 bits of
    its hash>, which passes the part limit and sorts at random."""
    return f"1.0.{int(content_hash(content_key_source)[:7], 16)}"


def _parts(version: str) -> tuple[int, int, int]:
    try:
        major, minor, patch = (int(p) for p in version.split("-")[0].split("+")[0].split("."))
    except ValueError:
        return (0, 0, 0)
    return (major, minor, patch)


def next_version(now: datetime, previous: str | None) -> str:
    """A version for content new at `now`: `YYMMDD.HHMMSS.N` in UTC (each part a number
    below 999999 until 2099, no leading zeros: valid semver), so versions sort in the order
    they were made and a roll back never looks like an upgrade. N counts up from 0 when the
    last version of the component is not older (two new contents in one second, or a clock
    set back)."""
    moment = now.astimezone(UTC)
    candidate = (
        (moment.year % 100) * 10000 + moment.month * 100 + moment.day,
        moment.hour * 10000 + moment.minute * 100 + moment.second,
        0,
    )
    if previous is not None and _parts(previous) >= candidate:
        major, minor, patch = _parts(previous)
        candidate = (major, minor, patch + 1)
    return ".".join(str(p) for p in candidate)


def _compilation(spec: EdgeModelSpec, target: EdgeTarget, tags: Tags) -> dict[str, Any]:
    input_config: dict[str, Any] = {
        "S3Uri": spec.source,
        "Framework": str(spec.framework),
    }
    if spec.data_input_config is not None:
        input_config["DataInputConfig"] = spec.data_input_config
    if spec.framework_version is not None:
        input_config["FrameworkVersion"] = spec.framework_version
    output: dict[str, Any] = {}
    if target.target_device is not None:
        output["TargetDevice"] = str(target.target_device)
    if target.target_platform is not None:
        platform = target.target_platform
        output["TargetPlatform"] = {"Os": str(platform.os), "Arch": str(platform.arch)}
        if platform.accelerator is not None:
            output["TargetPlatform"]["Accelerator"] = str(platform.accelerator)
    if target.compiler_options is not None:
        output["CompilerOptions"] = target.compiler_options
    return {
        "RoleArn": spec.role_arn,
        "InputConfig": input_config,
        "OutputConfig": output,
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_runtime_seconds},
        "Tags": [{"Key": k, "Value": v} for k, v in tags],
    }


def _platform(target: EdgeTarget) -> dict[str, str]:
    if target.target_platform is not None:
        return {
            "os": str(target.target_platform.os).lower(),
            "architecture": PLATFORM_ARCHITECTURES[str(target.target_platform.arch)],
        }
    device = str(target.target_device)
    os_name = "windows" if device.startswith("x86_win") else "linux"
    architecture = DEVICE_ARCHITECTURES.get(device)
    return {"os": os_name, **({"architecture": architecture} if architecture else {})}


def _stage(stage: RolloutStage) -> DesiredStage:
    configuration: dict[str, Any] = {}
    if stage.maximum_per_minute is not None:
        configuration["jobExecutionsRolloutConfig"] = {"maximumPerMinute": stage.maximum_per_minute}
    if stage.exponential_rate is not None:
        rate = stage.exponential_rate
        criteria = {
            k: v
            for k, v in (
                ("numberOfNotifiedThings", rate.number_of_notified_things),
                ("numberOfSucceededThings", rate.number_of_succeeded_things),
            )
            if v is not None
        } or {"numberOfSucceededThings": 1}
        configuration["jobExecutionsRolloutConfig"] = {
            "exponentialRate": {
                "baseRatePerMinute": rate.base_rate_per_minute,
                "incrementFactor": rate.increment_factor,
                "rateIncreaseCriteria": criteria,
            }
        }
    if stage.abort_criteria:
        configuration["abortConfig"] = {
            "criteriaList": [
                {
                    "failureType": str(c.failure_type),
                    "action": "CANCEL",
                    "thresholdPercentage": c.threshold_percentage,
                    "minNumberOfExecutedThings": c.min_number_of_executed_things,
                }
                for c in stage.abort_criteria
            ]
        }
    if stage.in_progress_timeout_minutes is not None:
        configuration["timeoutConfig"] = {
            "inProgressTimeoutInMinutes": stage.in_progress_timeout_minutes
        }
    return DesiredStage(
        name=stage.name,
        thing_groups=tuple(stage.thing_groups),
        job_configuration=configuration,
        min_success_percent=stage.gate.min_success_percent,
        bake_seconds=stage.gate.bake_seconds,
        manual=stage.gate.manual,
        abort_criteria=tuple(
            (str(c.failure_type), c.threshold_percentage, c.min_number_of_executed_things)
            for c in stage.abort_criteria
        ),
    )


def default_component_name(namespace: str, name: str) -> str:
    return f"serving.{namespace}.{name}"


def desired_edge_model(
    spec: EdgeModelSpec,
    *,
    namespace: str,
    name: str,
    versions: Versions | None = None,
    published: frozenset[str] = frozenset(),
    now: datetime | None = None,
    source_revision: int = 0,
    retries: Mapping[str, str] | None = None,
) -> DesiredEdgeModel:
    """What `spec` asks of AWS. A target's component version is the one `versions` (status)
    records for its content; else, for a version published before versions were recorded
    (its ARN in `published`), that one; else a new one from `now` (`next_version`), not
    recorded yet. A `source_revision` above 0 (the source object changed since first seen)
    and a target's retry token (`retries`) are part of its job name: each compiles again."""
    versions = versions or {}
    retries = retries or {}
    moment = now if now is not None else datetime(2026, 1, 1, tzinfo=UTC)
    tags = ownership_tags(namespace, name)
    stages = tuple(_stage(s) for s in spec.rollout.stages)
    every_group = tuple(dict.fromkeys(g for s in stages for g in s.thing_groups))
    base = spec.component.name or default_component_name(namespace, name)
    component = spec.component
    dependencies = {
        component.dlr.name: {
            "VersionRequirement": component.dlr.version_requirement,
            "DependencyType": "HARD",
        }
    }
    run_with: dict[str, Any] = {}
    if component.resource_limits is not None:
        limits = component.resource_limits
        run_with["systemResourceLimits"] = {
            k: v for k, v in (("cpus", limits.cpus), ("memory", limits.memory_kb)) if v is not None
        }
    targets = []
    for target in spec.targets:
        compilation = _compilation(spec, target, tags)
        again = [
            *([f"source revision {source_revision}"] if source_revision else []),
            *([f"retry {retries[target.name]}"] if target.name in retries else []),
        ]
        # Without either, the name is what it always was (an upgrade compiles nothing again).
        job_name = neo_job_name(
            namespace, name, target.name, [compilation, *again] if again else compilation
        )
        compilation["OutputConfig"]["S3OutputLocation"] = (
            f"{spec.output_s3_uri.rstrip('/')}/{job_name}/"
        )
        platform = _platform(target)
        component_name = f"{base}-{target.name}"
        content = [
            job_name,
            component_name,
            platform,
            dependencies,
            component.environment,
            component.run_command,
            # A new entrypoint is a new recipe: it gets a version of its own.
            edge_runtime.entrypoint_sha256(),
        ]
        key = content_hash(content)
        remembered = versions.get(component_name)
        legacy = legacy_version(content)
        if remembered is not None and remembered[0] == key:
            version, recorded = remembered[1], True
        elif remembered is None and any(
            arn.endswith(f":components:{component_name}:versions:{legacy}") for arn in published
        ):
            version, recorded = legacy, True
        else:
            version = next_version(moment, remembered[1] if remembered else None)
            recorded = False
        targets.append(
            DesiredTarget(
                name=target.name,
                job_name=job_name,
                compilation=compilation,
                component_name=component_name,
                component_version=version,
                content_key=key,
                legacy_version=legacy,
                version_recorded=recorded,
                platform=platform,
                thing_groups=tuple(target.thing_groups) or every_group,
                own_groups=tuple(target.thing_groups),
            )
        )
    return DesiredEdgeModel(
        owner=owner_id(namespace, name),
        tags=tags,
        targets=tuple(targets),
        stages=stages,
        failure_handling_policy=str(spec.rollout.failure_handling_policy),
        roll_back=spec.rollout.on_failure == OnFailure.ROLL_BACK,
        stage_deadline_seconds=spec.rollout.stage_deadline_seconds,
        dependencies=dependencies,
        dlr_component=component.dlr.name,
        environment=dict(component.environment),
        run_command=component.run_command,
        run_with=run_with,
        entrypoint_uri=edge_runtime.entrypoint_uri(spec.output_s3_uri),
    )


def recipe(desired: DesiredEdgeModel, target: DesiredTarget, artifact_uri: str) -> dict[str, Any]:
    """The component recipe: the compiled model and the shipped entrypoint as artifacts, an
    Install step that unpacks Neo's .tar.gz (Greengrass unarchives only ZIP) and a Run step
    that serves the model inside the DLR component's environment (edge_runtime)."""
    artifact_file = artifact_uri.rsplit("/", 1)[-1]
    return {
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": target.component_name,
        "ComponentVersion": target.component_version,
        "ComponentDescription": f"{target.job_name} compiled by SageMaker Neo, run with DLR",
        "ComponentPublisher": PUBLISHER,
        "ComponentConfiguration": {
            "DefaultConfiguration": dict(edge_runtime.DEFAULT_CONFIGURATION)
        },
        "ComponentDependencies": {k: dict(v) for k, v in desired.dependencies.items()},
        "Manifests": [
            {
                "Platform": dict(target.platform),
                "Artifacts": edge_runtime.artifacts(artifact_uri, desired.entrypoint_uri),
                "Lifecycle": edge_runtime.lifecycle(
                    artifact_file,
                    dlr_component=desired.dlr_component,
                    run_command=desired.run_command,
                    environment=desired.environment,
                ),
            }
        ],
    }
