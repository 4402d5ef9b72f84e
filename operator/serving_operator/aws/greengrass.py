"""Greengrass v2 adapter: component versions and thing-group deployments."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from serving_operator.aws.base import AwsError, ServiceAdapter
from serving_operator.planning.edgemodel.actions import CreateComponentVersion, CreateDeployment
from serving_operator.planning.edgemodel.observed import (
    ComponentState,
    ObservedComponentVersion,
    ObservedDeployment,
)


def _is_not_found(error: AwsError) -> bool:
    return error.code == "ResourceNotFoundException"


class GreengrassV2(ServiceAdapter):
    service = "greengrassv2"

    @property
    def region(self) -> str:
        return str(self._client.meta.region_name)

    def describe_component(self, arn: str) -> ObservedComponentVersion | None:
        try:
            response = self.call("DescribeComponent", arn=arn)
        except AwsError as error:
            if _is_not_found(error):
                return None
            raise
        status = response.get("status") or {}
        errors = status.get("errors") or {}
        return ObservedComponentVersion(
            arn=response["arn"],
            state=ComponentState(status.get("componentState", "REQUESTED")),
            # A FAILED version may have a message and no per-artifact errors: keep it.
            errors=tuple(f"{uri}: {message}" for uri, message in sorted(errors.items()))
            or ((str(status["message"]),) if status.get("message") else ()),
        )

    def create_component_version(self, action: CreateComponentVersion) -> str:
        response = self.call(
            "CreateComponentVersion",
            inlineRecipe=json.dumps(action.recipe).encode(),
            clientToken=action.client_token,
            tags=dict(action.tags),
        )
        return str(response["arn"])

    def delete_component(self, arn: str) -> None:
        try:
            self.call("DeleteComponent", arn=arn)
        except AwsError as error:
            if _is_not_found(error):
                return
            raise

    def core_device_statuses(self) -> dict[str, str]:
        """The account's Greengrass core devices -> their status (HEALTHY or UNHEALTHY;
        ListCoreDevices, every page)."""
        found: dict[str, str] = {}
        params: dict[str, Any] = {"maxResults": 100}
        while True:
            page = self.call("ListCoreDevices", **params)
            for device in page.get("coreDevices", []):
                found[str(device["coreDeviceThingName"])] = str(device.get("status", ""))
            if not page.get("nextToken"):
                return found
            params["nextToken"] = page["nextToken"]

    def core_devices(self) -> frozenset[str]:
        """The thing names of the account's Greengrass core devices (ListCoreDevices, every
        page). Not filtered by thingGroupArn: that filter lists "only core devices that have
        successfully deployed a deployment that targets the thing group" and keeps devices
        removed from it (botocore greengrassv2 ListCoreDevicesRequest), not the members."""
        found: set[str] = set()
        params: dict[str, Any] = {"maxResults": 100}
        while True:
            page = self.call("ListCoreDevices", **params)
            found.update(str(d["coreDeviceThingName"]) for d in page.get("coreDevices", []))
            if not page.get("nextToken"):
                return frozenset(found)
            params["nextToken"] = page["nextToken"]

    def cancel_deployment(self, deployment_id: str) -> None:
        """CancelDeployment; one no longer ACTIVE (ConflictException) or gone is done."""
        try:
            self.call("CancelDeployment", deploymentId=deployment_id)
        except AwsError as error:
            if error.code == "ConflictException" or _is_not_found(error):
                return
            raise

    def latest_deployment_id(self, target_arn: str) -> str | None:
        """The ID of the target's latest deployment (None: it has none): one call."""
        listed = self.call("ListDeployments", targetArn=target_arn, historyFilter="LATEST_ONLY")
        summaries = listed.get("deployments", [])
        return str(summaries[0]["deploymentId"]) if summaries else None

    def latest_deployment(self, target_arn: str) -> ObservedDeployment | None:
        """The target's latest deployment, with what a merge must keep."""
        deployment_id = self.latest_deployment_id(target_arn)
        if deployment_id is None:
            return None
        try:
            response = self.call("GetDeployment", deploymentId=deployment_id)
        except AwsError as error:
            if _is_not_found(error):
                return None
            raise
        return ObservedDeployment(
            deployment_id=deployment_id,
            revision_id=str(response.get("revisionId", "")),
            iot_job_id=response.get("iotJobId"),
            status=str(response.get("deploymentStatus", "")),
            deployment_name=str(response.get("deploymentName", "")),
            components=response.get("components") or {},
            deployment_policies=response.get("deploymentPolicies") or {},
            iot_job_configuration=response.get("iotJobConfiguration") or {},
            tags=response.get("tags") or {},
        )

    def latest_components_of(self, names: frozenset[str]) -> dict[str, dict[str, str]]:
        """Every deployment target's latest deployment (ListDeployments LATEST_ONLY without a
        targetArn lists them all, then GetDeployment) -> the components named in `names` it
        carries (name -> version); targets carrying none are left out."""
        found: dict[str, dict[str, str]] = {}
        params: dict[str, Any] = {"historyFilter": "LATEST_ONLY", "maxResults": 100}
        while True:
            page = self.call("ListDeployments", **params)
            for summary in page.get("deployments", []):
                try:
                    deployment = self.call("GetDeployment", deploymentId=summary["deploymentId"])
                except AwsError as error:
                    if _is_not_found(error):
                        continue
                    raise
                used = {
                    name: str(entry.get("componentVersion"))
                    for name, entry in (deployment.get("components") or {}).items()
                    if name in names
                }
                if used:
                    found[str(summary.get("targetArn", ""))] = used
            if not page.get("nextToken"):
                return found
            params["nextToken"] = page["nextToken"]

    def create_deployment(self, action: CreateDeployment, client_token: str) -> str:
        params: dict[str, Any] = {
            "targetArn": action.target_arn,
            "deploymentName": action.deployment_name,
            "components": _plain(action.components),
            "clientToken": client_token,
        }
        if action.deployment_policies:
            params["deploymentPolicies"] = _plain(action.deployment_policies)
        if action.iot_job_configuration:
            params["iotJobConfiguration"] = _plain(action.iot_job_configuration)
        if action.tags:
            params["tags"] = dict(action.tags)
        return str(self.call("CreateDeployment", **params)["deploymentId"])


def _plain(value: Any) -> Any:
    """Mappings as dicts, so botocore serialises them."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
