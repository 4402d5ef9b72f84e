"""Recording fakes of EdgeModel's AWS adapters (Neo, Greengrass v2, IoT, STS), for the unit
tier of `reconcile/edgemodel/reconciler.py`.

They hold a little AWS state (compilation jobs, component versions, each thing group's latest
deployment and its IoT job, group membership) and record every call, so a scenario says
"this state in, these calls out" without a network. Client tokens behave as AWS's do: the
same token answers with what it made before instead of making a second one. The adapters
themselves are tested against the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from serving_operator.aws.base import AwsError
from serving_operator.aws.clients import Clients, EdgeClients
from serving_operator.aws.sts import CallerIdentity
from serving_operator.planning.edgemodel.actions import CreateComponentVersion, CreateDeployment
from serving_operator.planning.edgemodel.observed import (
    CompilationStatus,
    ComponentState,
    DeviceCounts,
    ObservedCompilation,
    ObservedComponentVersion,
    ObservedDeployment,
    ObservedJob,
)
from serving_operator.reconcile.edgemodel.reconciler import component_arn
from tests.support.recording import CallRecorder

REGION = "us-east-1"
ACCOUNT = "123456789012"


def group_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{name}"


def version_arn(name: str, version: str) -> str:
    return component_arn(REGION, ACCOUNT, name, version)


@dataclass
class FakeEdgeAws(CallRecorder):
    compilations: dict[str, ObservedCompilation] = field(default_factory=dict)
    components: dict[str, ObservedComponentVersion] = field(default_factory=dict)
    """By version ARN."""
    groups: set[str] = field(default_factory=set)
    """Thing groups that exist."""
    partition: str = "aws"
    """The partition of the caller's ARN (aws-cn in China, aws-us-gov in GovCloud)."""
    members: dict[str, set[str]] = field(default_factory=dict)
    """Thing group -> the things in it (child groups' included)."""
    not_core: set[str] = field(default_factory=set)
    """Things that are not Greengrass core devices (every other member is one)."""
    deployments: dict[str, ObservedDeployment] = field(default_factory=dict)
    """Thing group -> its latest deployment."""
    jobs: dict[str, ObservedJob] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    """Client token -> what it made (component version ARN or deployment ID)."""
    objects: dict[str, bytes] = field(default_factory=dict)
    source_versions: dict[str, str] = field(default_factory=dict)
    """The version (ETag or VersionId) HeadObject gives for a source URI; none: unreadable."""
    """S3 URL -> body."""
    read_prefixes = ("Describe", "List", "Get", "Head")

    def clients(self) -> Clients:
        return Clients(
            sagemaker=None,  # type: ignore[arg-type]
            autoscaling=None,  # type: ignore[arg-type]
            s3=None,  # type: ignore[arg-type]
            runtime=None,  # type: ignore[arg-type]
            cloudwatch=None,  # type: ignore[arg-type]  # no EdgeModel pass reads CloudWatch
            edge=EdgeClients(
                neo=_FakeNeo(self),  # type: ignore[arg-type]
                greengrass=_FakeGreengrass(self),  # type: ignore[arg-type]
                iot=_FakeIot(self),  # type: ignore[arg-type]
                sts=_FakeSts(self),  # type: ignore[arg-type]
                s3=_FakeS3(self),  # type: ignore[arg-type]
            ),
        )


class _FakeS3:
    def __init__(self, aws: FakeEdgeAws) -> None:
        self.aws = aws

    def object_version(self, url: str) -> str | None:
        self.aws.record("HeadObject", url)
        return self.aws.source_versions.get(url)

    def publish(self, url: str, body: bytes) -> bool:
        self.aws.record("HeadObject", url)
        if url in self.aws.objects:
            return False
        self.aws.record("PutObject", url)
        self.aws.objects[url] = body
        return True


class _FakeNeo:
    def __init__(self, aws: FakeEdgeAws) -> None:
        self.aws = aws

    def describe(self, job_name: str) -> ObservedCompilation | None:
        self.aws.record("DescribeCompilationJob", job_name)
        return self.aws.compilations.get(job_name)

    def create(self, job_name: str, request: dict[str, Any]) -> None:
        self.aws.record("CreateCompilationJob", job_name)
        self.aws.compilations.setdefault(
            job_name, ObservedCompilation(job_name, CompilationStatus.STARTING)
        )

    def stop(self, job_name: str) -> None:
        self.aws.record("StopCompilationJob", job_name)
        job = self.aws.compilations.get(job_name)
        if job is not None:
            self.aws.compilations[job_name] = replace(job, status=CompilationStatus.STOPPING)


class _FakeGreengrass:
    region = REGION

    def __init__(self, aws: FakeEdgeAws) -> None:
        self.aws = aws

    def describe_component(self, arn: str) -> ObservedComponentVersion | None:
        self.aws.record("DescribeComponent", arn)
        return self.aws.components.get(arn)

    def create_component_version(self, action: CreateComponentVersion) -> str:
        self.aws.record("CreateComponentVersion", action)
        if action.client_token in self.aws.tokens:
            return self.aws.tokens[action.client_token]
        arn = version_arn(action.component_name, action.version)
        if arn in self.aws.components:
            raise AwsError(
                "greengrassv2",
                "CreateComponentVersion",
                "ConflictException",
                f"component version {arn} already exists",
                409,
            )
        self.aws.components[arn] = ObservedComponentVersion(arn, ComponentState.REQUESTED)
        self.aws.tokens[action.client_token] = arn
        return arn

    def delete_component(self, arn: str) -> None:
        self.aws.record("DeleteComponent", arn)
        self.aws.components.pop(arn, None)

    def core_devices(self) -> frozenset[str]:
        self.aws.record("ListCoreDevices")
        return frozenset(t for m in self.aws.members.values() for t in m) - self.aws.not_core

    def cancel_deployment(self, deployment_id: str) -> None:
        self.aws.record("CancelDeployment", deployment_id)
        for group, deployment in self.aws.deployments.items():
            if deployment.deployment_id == deployment_id and deployment.status == "ACTIVE":
                self.aws.deployments[group] = replace(deployment, status="CANCELED")
                job = self.aws.jobs.get(deployment.iot_job_id or "")
                if job is not None:
                    self.aws.jobs[job.job_id] = replace(job, status="CANCELED")

    def latest_deployment_id(self, target_arn: str) -> str | None:
        self.aws.record("ListDeployments", target_arn)
        latest = self.aws.deployments.get(target_arn.rsplit("/", 1)[-1])
        return None if latest is None else latest.deployment_id

    def latest_deployment(self, target_arn: str) -> ObservedDeployment | None:
        self.aws.record("ListDeployments", target_arn)
        group = target_arn.rsplit("/", 1)[-1]
        return self.aws.deployments.get(group)

    def create_deployment(self, action: CreateDeployment, client_token: str) -> str:
        self.aws.record("CreateDeployment", action)
        if client_token in self.aws.tokens:
            return self.aws.tokens[client_token]
        number = len(self.aws.tokens) + 1
        before = self.aws.deployments.get(action.thing_group)
        deployment = ObservedDeployment(
            deployment_id=f"deployment-{number}",
            revision_id=str(int(before.revision_id) + 1 if before else 1),
            iot_job_id=f"job-{number}",
            status="ACTIVE",
            deployment_name=action.deployment_name,
            components={n: dict(c) for n, c in action.components.items()},
            deployment_policies=dict(action.deployment_policies),
            iot_job_configuration=dict(action.iot_job_configuration),
            tags=dict(action.tags),
        )
        self.aws.deployments[action.thing_group] = deployment
        things = len(self.aws.members.get(action.thing_group, ()))
        self.aws.jobs[f"job-{number}"] = ObservedJob(
            f"job-{number}", "IN_PROGRESS", DeviceCounts(queued=things)
        )
        self.aws.tokens[client_token] = deployment.deployment_id
        return deployment.deployment_id


class _FakeIot:
    def __init__(self, aws: FakeEdgeAws) -> None:
        self.aws = aws

    def thing_group_arn(self, name: str) -> str | None:
        self.aws.record("DescribeThingGroup", name)
        return group_arn(name) if name in self.aws.groups else None

    def describe_job(self, job_id: str) -> ObservedJob | None:
        self.aws.record("DescribeJob", job_id)
        return self.aws.jobs.get(job_id)

    def things_in_group(self, name: str) -> frozenset[str]:
        self.aws.record("ListThingsInThingGroup", name)
        return frozenset(self.aws.members.get(name, ()))


class _FakeSts:
    def __init__(self, aws: FakeEdgeAws) -> None:
        self.aws = aws

    def caller_identity(self) -> CallerIdentity:
        self.aws.record("GetCallerIdentity")
        partition = self.aws.partition
        return CallerIdentity(ACCOUNT, f"arn:{partition}:iam::{ACCOUNT}:user/test", "test")
