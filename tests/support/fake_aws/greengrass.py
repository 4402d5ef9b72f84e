"""Greengrass v2's component versions, core devices and deployments, as the EdgeModel shell
calls them (aws/greengrass.py). Client tokens behave as AWS's do: the same token answers with
what it made before instead of making a second one."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from serving_operator.aws.base import AwsError
from serving_operator.planning.edgemodel.actions import CreateComponentVersion, CreateDeployment
from serving_operator.planning.edgemodel.observed import (
    ComponentState,
    DeviceCounts,
    ObservedComponentVersion,
    ObservedDeployment,
    ObservedJob,
)
from tests.support.fake_aws.arns import REGION, group_arn, version_arn

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingGreengrass:
    region = REGION

    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def describe_component(self, arn: str) -> ObservedComponentVersion | None:
        self.aws.record("DescribeComponent", arn)
        return self.aws.components.get(arn)

    def create_component_version(self, action: CreateComponentVersion) -> str:
        self.aws.record("CreateComponentVersion", action)
        if action.client_token in self.aws.tokens:
            return self.aws.tokens[action.client_token]
        arn = version_arn(action.component_name, action.version)
        named = [
            a["URI"]
            for manifest in action.recipe.get("Manifests", [])
            for a in manifest.get("Artifacts", [])
        ]
        if refused := [uri for uri in named if uri in self.aws.unreadable]:
            listed = ", ".join(
                f"{u} = Specified artifact resource cannot be accessed" for u in refused
            )
            raise AwsError(
                "greengrassv2",
                "CreateComponentVersion",
                "ValidationException",
                f"Invalid Input: Encountered following errors in Artifacts: {{{listed}}}",
                400,
            )
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

    def core_device_statuses(self) -> dict[str, str]:
        self.aws.record("ListCoreDevices")
        core = frozenset(t for m in self.aws.members.values() for t in m) - self.aws.not_core
        return {t: "UNHEALTHY" if t in self.aws.unhealthy else "HEALTHY" for t in core}

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

    def latest_components_of(self, names: frozenset[str]) -> dict[str, dict[str, str]]:
        self.aws.record("ListDeployments")
        found = {}
        for group, deployment in self.aws.deployments.items():
            self.aws.record("GetDeployment", deployment.deployment_id)
            used = {
                n: str(e.get("componentVersion"))
                for n, e in deployment.components.items()
                if n in names
            }
            if used:
                found[group_arn(group)] = used
        return found

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
