"""AWS IoT Greengrass v2, which moto lacks (it answers 404): components, deployments, core
devices, each deployment carried out by an IoT job (iotjobs.py).

Components. CreateComponentVersion takes an inlineRecipe (JSON or YAML) and checks it as
Greengrass does (recipes.py); a version that exists already is a 409 ConflictException, and
a repeated clientToken gets the first answer back. An S3 artifact that is missing, or in a
bucket of another Region, is refused there and then (ValidationException "Specified artifact
resource cannot be accessed", no version made), as Greengrass does. The version is
REQUESTED, then after componentSeconds DEPLOYABLE. Each artifact's SHA-256 is fixed at creation, as
Greengrass fixes the digest in the recipe it stores.

Deployments. One per target (a thing or a thing group): a new deployment for a target
replaces the last one, which becomes INACTIVE and isLatestForTarget false, and its job is
canceled. revisionId counts the target's deployments. The deployment's IoT job is
continuous for a thing group and a snapshot for a thing, with the deployment's
iotJobConfiguration. A thing group's deployment stays ACTIVE whatever its devices do (as in
AWS); a thing's becomes COMPLETED or FAILED with its device's execution. When the job is
aborted the deployment is FAILED (the sandbox's choice; AWS does not document it). Cancel
only an ACTIVE deployment (CANCELED, its job canceled: devices that have not started it never
will); delete only one that is not ACTIVE.

Devices resolve a deployment as the nucleus does: every component must have a DEPLOYABLE
version in the account, or be an AWS-published version the sandbox knows (nucleus.py's
PUBLIC_COMPONENTS: variant.DLR 1.3.2 and 1.6.1-1.6.12, ...), every dependency a version that
satisfies its requirement (a public one, the newest published that does), some manifest must
fit the device's platform, and each artifact must still have the digest fixed at creation;
otherwise the device fails it with detailed-deployment-status FAILED_NO_STATE_CHANGE and
AWS's NoAvailableComponentVersionException (a typo such as variant.DRL, or >=9.0.0, fails
so). A device that runs lifecycles (iotjobs.py, nucleus.py) then installs and runs the
resolved components for real, and reports what that gave.

Core devices are the things that have started a deployment, or that a deployment targets
while they are online (their nucleus connected and registered, though the job's rollout may
not have reached them yet); a device that never connects never registers. GetCoreDevice,
ListCoreDevices, ListEffectiveDeployments show them (the last only the executions rolled
out). A core device with a BROKEN component is UNHEALTHY.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response

from serving_operator.sandbox import nucleus, recipes, s3objects
from serving_operator.sandbox.edge_settings import EdgeSettings
from serving_operator.sandbox.iotjobs import (
    Failure,
    IotJobs,
    Job,
    iot_backend,
    target_exists,
    things_targeted,
)
from serving_operator.sandbox.rest import rest_error, rest_page, rest_response
from serving_operator.sandbox.wire import AwsRequest

_TARGET = re.compile(r"^arn:aws[\w-]*:iot:[^:]+:\d{12}:(thing|thinggroup)/([a-zA-Z0-9:_-]+)$")
_COMPONENT_VERSION_ARN = re.compile(
    r"^arn:aws[\w-]*:greengrass:[^:]+:(\d{12}|aws):components:([^:]+):versions:([^:]+)$"
)
_COMPONENT_ARN = re.compile(r"^arn:aws[\w-]*:greengrass:[^:]+:(\d{12}|aws):components:([^:]+)$")
NUCLEUS_VERSION = "2.12.0"
_EFFECTIVE_STATUS = {"REMOVED": "CANCELED"}  # the only execution status it has no name for


@dataclass
class ComponentVersion:
    account: str
    region: str
    name: str
    version: str
    recipe: dict[str, Any]
    created: float
    state: str = "REQUESTED"
    errors: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    """Artifact URI -> SHA-256 of the object when the version was created."""
    due: float | None = None

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:greengrass:{self.region}:{self.account}:components:"
            f"{self.name}:versions:{self.version}"
        )

    @property
    def component_arn(self) -> str:
        return f"arn:aws:greengrass:{self.region}:{self.account}:components:{self.name}"

    def status(self) -> dict[str, Any]:
        failed = self.state == "FAILED"
        return {
            "componentState": self.state,
            "message": (
                "The component version failed: an artifact could not be processed."
                if failed
                else "NONE"
            ),
            "errors": dict(self.errors),
            "vendorGuidance": "ACTIVE",
            "vendorGuidanceMessage": "NONE",
        }


@dataclass
class Deployment:
    deployment_id: str
    account: str
    region: str
    target_arn: str
    revision: int
    request: dict[str, Any]
    created: float
    job: Job
    latest: bool = True
    canceled: bool = False

    @property
    def arn(self) -> str:
        return f"arn:aws:greengrass:{self.region}:{self.account}:deployments:{self.deployment_id}"

    @property
    def name(self) -> str:
        return str(self.request.get("deploymentName") or self.deployment_id)

    @property
    def on_group(self) -> bool:
        return ":thinggroup/" in self.target_arn

    def status(self) -> str:
        if self.canceled:
            return "CANCELED"
        if not self.latest:
            return "INACTIVE"
        if self.job.reason_code == "ABORTED":
            return "FAILED"
        if self.on_group:
            return "ACTIVE"
        outcomes = {e.status for e in self.job.executions.values()}
        if outcomes == {"SUCCEEDED"}:
            return "COMPLETED"
        if outcomes & {"FAILED", "REJECTED", "TIMED_OUT"}:
            return "FAILED"
        return "ACTIVE"

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "targetArn": self.target_arn,
            "revisionId": str(self.revision),
            "deploymentId": self.deployment_id,
            "deploymentName": self.name,
            "creationTimestamp": self.created,
            "deploymentStatus": self.status(),
            "isLatestForTarget": self.latest,
        }
        if self.request.get("parentTargetArn"):
            summary["parentTargetArn"] = self.request["parentTargetArn"]
        return summary

    def describe(self) -> dict[str, Any]:
        described = {
            **self.summary(),
            "iotJobId": self.job.job_id,
            "iotJobArn": self.job.arn,
            "components": self.request.get("components") or {},
            "deploymentPolicies": _policies(self.request.get("deploymentPolicies")),
            **_tags(self.request.get("tags")),
        }
        if self.request.get("iotJobConfiguration"):
            described["iotJobConfiguration"] = self.request["iotJobConfiguration"]
        return described


def _tags(tags: dict[str, str] | None) -> dict[str, Any]:
    """`{"tags": ...}` for an answer, or nothing for an untagged resource: botocore's
    greengrassv2 TagMap has min 1, so an answer never carries `tags: {}`."""
    return {"tags": dict(tags)} if tags else {}


def _policies(given: dict[str, Any] | None) -> dict[str, Any]:
    """A deployment's policies with Greengrass's defaults filled in."""
    given = given or {}
    return {
        "failureHandlingPolicy": given.get("failureHandlingPolicy", "ROLLBACK"),
        "componentUpdatePolicy": {
            "timeoutInSeconds": 60,
            "action": "NOTIFY_COMPONENTS",
            **(given.get("componentUpdatePolicy") or {}),
        },
        "configurationValidationPolicy": {
            "timeoutInSeconds": 30,
            **(given.get("configurationValidationPolicy") or {}),
        },
    }


def _public_failure(name: str, version: str, platform: dict[str, str]) -> Failure | None:
    """Why a device cannot take this version of an AWS-published component (None: it can)."""
    known = nucleus.PUBLIC_COMPONENTS.get(name)
    if known is None or version not in known.versions:
        return _resolution_failure(
            f"NoAvailableComponentVersionException: No cloud component version satisfies the"
            f" requirements: AWS publishes no component {name} version {version}.",
            "NO_AVAILABLE_COMPONENT_VERSION",
            "COMPONENT_VERSION_REQUIREMENTS_NOT_MET",
        )
    if not nucleus.public_fits(name, platform):
        return _resolution_failure(
            f"Component {name} version {version} has no manifest for the device's platform"
            f" {json.dumps(platform, sort_keys=True)}.",
            "COMPONENT_PACKAGE_LOADING_ERROR",
            "RECIPE_PLATFORM_NOT_SUPPORTED",
        )
    return None


def _resolution_failure(reason: str, *stack: str, error_type: str = "REQUEST_ERROR") -> Failure:
    return Failure(
        "FAILED_NO_STATE_CHANGE",
        reason,
        ("DEPLOYMENT_FAILURE", *stack),
        (error_type,),
    )


class GreengrassOverlay:
    def __init__(
        self, settings: EdgeSettings, account_of: Callable[[str], str], jobs: IotJobs
    ) -> None:
        self.settings = settings
        self.account_of = account_of
        self.jobs = jobs
        self.lock = jobs.lock  # one lock: deployments read jobs' executions
        self.components: dict[tuple[str, str, str, str], ComponentVersion] = {}
        self.deployments: dict[tuple[str, str, str], Deployment] = {}
        self.tokens: dict[tuple[str, str, str, str], tuple[str, Response]] = {}
        """(account, region, operation, clientToken) -> (request fingerprint, answer)."""
        self.tags: dict[str, dict[str, str]] = {}
        self.fleet = nucleus.DeviceFleet(settings)
        """The core devices that run lifecycles for real."""
        self.handlers: dict[str, Callable[[AwsRequest], Response]] = {
            "CreateComponentVersion": self._create_component_version,
            "DescribeComponent": self._describe_component,
            "GetComponent": self._get_component,
            "ListComponents": self._list_components,
            "ListComponentVersions": self._list_component_versions,
            "DeleteComponent": self._delete_component,
            "CreateDeployment": self._create_deployment,
            "GetDeployment": self._get_deployment,
            "ListDeployments": self._list_deployments,
            "CancelDeployment": self._cancel_deployment,
            "DeleteDeployment": self._delete_deployment,
            "ListCoreDevices": self._list_core_devices,
            "GetCoreDevice": self._get_core_device,
            "ListEffectiveDeployments": self._list_effective_deployments,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
            "ListTagsForResource": self._list_tags,
        }

    # -- time ---------------------------------------------------------------------------
    def advance(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.lock:
            for component in self.components.values():
                if component.due is not None and component.due <= now:
                    component.state = "FAILED" if component.errors else "DEPLOYABLE"
                    component.due = None

    # -- helpers ------------------------------------------------------------------------
    def _scope(self, request: AwsRequest) -> tuple[str, str]:
        return self.account_of(request.access_key), request.region

    def _idempotent(
        self, request: AwsRequest, create: Callable[[dict[str, Any]], Response]
    ) -> Response:
        params = request.json()
        token = params.get("clientToken")
        if not token:
            return create(params)
        account, region = self._scope(request)
        key = (account, region, request.operation, str(token))
        fingerprint = json.dumps({k: v for k, v in params.items() if k != "clientToken"})
        with self.lock:
            if key in self.tokens:
                seen, answer = self.tokens[key]
                if seen != fingerprint:
                    return rest_error(
                        "ConflictException",
                        f"The client token {token} was used with a different request.",
                        409,
                        resourceId=str(token),
                        resourceType="clientToken",
                    )
                return Response(
                    answer.get_data(), status=answer.status_code, content_type=answer.content_type
                )
            answer = create(params)
            if answer.status_code < 300:
                self.tokens[key] = (fingerprint, answer)
            return answer

    def _component_from_arn(self, request: AwsRequest) -> ComponentVersion | Response:
        arn = request.path_params.get("arn", "")
        match = _COMPONENT_VERSION_ARN.match(arn)
        account, region = self._scope(request)
        found = (
            self.components.get((account, region, match.group(2), match.group(3)))
            if match
            else None
        )
        if found is None:
            return rest_error(
                "ResourceNotFoundException",
                f"The component version {arn} does not exist.",
                404,
                resourceId=arn,
                resourceType="componentVersion",
            )
        return found

    def _versions_of(self, account: str, region: str, name: str) -> list[ComponentVersion]:
        found = [
            c for (a, r, n, _), c in self.components.items() if (a, r, n) == (account, region, name)
        ]
        return sorted(found, key=lambda c: recipes.Version.parse(c.version), reverse=True)

    # -- components ---------------------------------------------------------------------
    def _create_component_version(self, request: AwsRequest) -> Response:
        return self._idempotent(request, lambda params: self._new_component(request, params))

    def _new_component(self, request: AwsRequest, params: dict[str, Any]) -> Response:
        if "inlineRecipe" not in params:
            return rest_error(
                "ValidationException",
                "The sandbox takes components from an inlineRecipe only (not lambdaFunction).",
                400,
                reason="FIELD_VALIDATION_FAILED",
            )
        try:
            recipe = recipes.parse_recipe(base64.b64decode(params["inlineRecipe"]))
            recipes.check_recipe(recipe)
        except (recipes.RecipeError, ValueError) as error:
            return rest_error(
                "ValidationException", str(error), 400, reason="FIELD_VALIDATION_FAILED"
            )
        account, region = self._scope(request)
        name, version = str(recipe["ComponentName"]), str(recipe["ComponentVersion"])
        with self.lock:
            key = (account, region, name, version)
            if key in self.components:
                arn = self.components[key].arn
                return rest_error(
                    "ConflictException",
                    f"Component {name} version {version} already exists in this account.",
                    409,
                    resourceId=arn,
                    resourceType="componentVersion",
                )
            now = time.time()
            due = now + self.settings.component_seconds
            component = ComponentVersion(account, region, name, version, recipe, now, due=due)
            unreadable = []
            for uri in recipes.artifact_uris(recipe):
                if not uri.startswith("s3://"):
                    continue
                body = s3objects.read_object(account, uri)
                if body is None or s3objects.bucket_region(account, uri) != region:
                    unreadable.append(uri)
                else:
                    component.digests[uri] = hashlib.sha256(body).hexdigest()
            if unreadable:
                # Greengrass reads every S3 artifact as the caller when the version is
                # created, and refuses a missing object, a bucket in another Region, or one
                # the caller cannot read there and then, with no version made (GGv2
                # developer guide, troubleshooting.md "Specified artifact resource cannot be
                # accessed"; aws-cli#6261).
                listed = ", ".join(
                    f"{uri} = Specified artifact resource cannot be accessed" for uri in unreadable
                )
                return rest_error(
                    "ValidationException",
                    f"Invalid Input: Encountered following errors in Artifacts: {{{listed}}}",
                    400,
                    reason="FIELD_VALIDATION_FAILED",
                )
            self.components[key] = component
            self.tags.setdefault(component.component_arn, {}).update(params.get("tags") or {})
            if component.due is not None and component.due <= now:
                self.advance(now)
            return rest_response(
                {
                    "arn": component.arn,
                    "componentName": name,
                    "componentVersion": version,
                    "creationTimestamp": now,
                    "status": component.status(),
                },
                201,
            )

    def _describe_component(self, request: AwsRequest) -> Response:
        with self.lock:
            found = self._component_from_arn(request)
            if isinstance(found, Response):
                return found
            described: dict[str, Any] = {
                "arn": found.arn,
                "componentName": found.name,
                "componentVersion": found.version,
                "creationTimestamp": found.created,
                "publisher": str(found.recipe.get("ComponentPublisher") or "NONE"),
                "status": found.status(),
                "platforms": recipes.platforms(found.recipe),
                **_tags(self.tags.get(found.component_arn)),
            }
            if found.recipe.get("ComponentDescription"):
                described["description"] = str(found.recipe["ComponentDescription"])
            return rest_response(described)

    def _get_component(self, request: AwsRequest) -> Response:
        output_format = request.query.get("recipeOutputFormat", "JSON").upper()
        with self.lock:
            found = self._component_from_arn(request)
            if isinstance(found, Response):
                return found
            recipe = recipes.render(found.recipe, output_format)
            return rest_response(
                {
                    "recipeOutputFormat": output_format,
                    "recipe": base64.b64encode(recipe).decode(),
                    **_tags(self.tags.get(found.component_arn)),
                }
            )

    def _list_components(self, request: AwsRequest) -> Response:
        account, region = self._scope(request)
        if request.query.get("scope") == "PUBLIC":
            # AWS publishes its own components; the sandbox does not list them.
            return rest_page(request.query, "components", [], 50)
        with self.lock:
            names = sorted({n for (a, r, n, _) in self.components if (a, r) == (account, region)})
            listed = []
            for name in names:
                latest = self._versions_of(account, region, name)[0]
                entry: dict[str, Any] = {
                    "arn": latest.component_arn,
                    "componentName": name,
                    "latestVersion": {
                        "arn": latest.arn,
                        "componentVersion": latest.version,
                        "creationTimestamp": latest.created,
                        "publisher": str(latest.recipe.get("ComponentPublisher") or "NONE"),
                        "platforms": recipes.platforms(latest.recipe),
                    },
                }
                if latest.recipe.get("ComponentDescription"):
                    entry["latestVersion"]["description"] = str(
                        latest.recipe["ComponentDescription"]
                    )
                listed.append(entry)
            return rest_page(request.query, "components", listed, 50)

    def _list_component_versions(self, request: AwsRequest) -> Response:
        arn = request.path_params.get("arn", "")
        match = _COMPONENT_ARN.match(arn)
        account, region = self._scope(request)
        with self.lock:
            versions = self._versions_of(account, region, match.group(2)) if match else []
            if not versions:
                return rest_error(
                    "ResourceNotFoundException",
                    f"The component {arn} does not exist.",
                    404,
                    resourceId=arn,
                    resourceType="component",
                )
            listed = [
                {"componentName": c.name, "componentVersion": c.version, "arn": c.arn}
                for c in versions
            ]
            return rest_page(request.query, "componentVersions", listed, 50)

    def _delete_component(self, request: AwsRequest) -> Response:
        with self.lock:
            found = self._component_from_arn(request)
            if isinstance(found, Response):
                return found
            del self.components[(found.account, found.region, found.name, found.version)]
            return rest_response(None, 204)

    # -- deployments --------------------------------------------------------------------
    def _create_deployment(self, request: AwsRequest) -> Response:
        return self._idempotent(request, lambda params: self._new_deployment(request, params))

    def _new_deployment(self, request: AwsRequest, params: dict[str, Any]) -> Response:
        account, region = self._scope(request)
        target = str(params.get("targetArn", ""))
        if not _TARGET.match(target):
            return rest_error(
                "ValidationException",
                f"targetArn {target!r} is not the ARN of an IoT thing or thing group.",
                400,
                reason="FIELD_VALIDATION_FAILED",
            )
        components = params.get("components") or {}
        for name, spec in components.items():
            try:
                recipes.Version.parse(str((spec or {}).get("componentVersion", "")))
            except ValueError as error:
                return rest_error(
                    "ValidationException",
                    f"Component {name}: {error}.",
                    400,
                    reason="FIELD_VALIDATION_FAILED",
                )
        with self.lock:
            if not target_exists(account, region, target):
                return rest_error(
                    "ResourceNotFoundException",
                    f"The target {target} does not exist.",
                    404,
                    resourceId=target,
                    resourceType="thing group" if ":thinggroup/" in target else "thing",
                )
            earlier = [
                d
                for (a, r, _), d in self.deployments.items()
                if (a, r, d.target_arn) == (account, region, target)
            ]
            deployment_id = str(uuid.uuid4())
            job_config = params.get("iotJobConfiguration") or {}
            policy = _policies(params.get("deploymentPolicies"))["failureHandlingPolicy"]
            job = self.jobs.create_job(
                account,
                region,
                [target],
                target_selection="CONTINUOUS" if ":thinggroup/" in target else "SNAPSHOT",
                document=json.dumps({"deploymentId": deployment_id, **params}),
                description=f"Greengrass deployment {deployment_id}",
                rollout=job_config.get("jobExecutionsRolloutConfig"),
                abort=job_config.get("abortConfig"),
                timeout=job_config.get("timeoutConfig"),
                failure_detail=(
                    "FAILED_ROLLBACK_COMPLETE"
                    if policy == "ROLLBACK"
                    else "FAILED_ROLLBACK_NOT_REQUESTED"
                ),
                preflight=self._resolver(account, region, components),
                device_run=self._device_runner(account, region, target, components, policy),
            )
            for previous in earlier:
                if previous.latest:
                    previous.latest = False
                    if previous.job.status == "IN_PROGRESS":
                        self.jobs.cancel(previous.job, comment="Replaced by a newer deployment.")
            deployment = Deployment(
                deployment_id=deployment_id,
                account=account,
                region=region,
                target_arn=target,
                revision=max((d.revision for d in earlier), default=0) + 1,
                request=params,
                created=time.time(),
                job=job,
            )
            self.deployments[(account, region, deployment_id)] = deployment
            self.tags[deployment.arn] = dict(params.get("tags") or {})
            return rest_response(
                {"deploymentId": deployment_id, "iotJobId": job.job_id, "iotJobArn": job.arn},
                201,
            )

    def _resolver(
        self, account: str, region: str, components: dict[str, Any]
    ) -> Callable[[str, dict[str, str]], Failure | None]:
        """How a device resolves the deployment's components, when it applies it."""
        wanted = {name: str(spec.get("componentVersion")) for name, spec in components.items()}

        def resolve(thing_name: str, platform: dict[str, str]) -> Failure | None:
            with self.lock:
                for name, version in wanted.items():
                    if nucleus.is_public(name):
                        failure = _public_failure(name, version, platform)
                        if failure is not None:
                            return failure
                        continue
                    failure = self._component_failure(account, region, name, version, platform)
                    if failure is not None:
                        return failure
                    component = self.components[(account, region, name, version)]
                    dependencies = component.recipe.get("ComponentDependencies") or {}
                    for dependency, spec in dependencies.items():
                        failure = self._dependency_failure(
                            account, region, name, dependency, spec or {}, wanted, platform
                        )
                        if failure is not None:
                            return failure
                return None

        return resolve

    def _component_failure(
        self, account: str, region: str, name: str, version: str, platform: dict[str, str]
    ) -> Failure | None:
        component = self.components.get((account, region, name, version))
        if component is None or component.state != "DEPLOYABLE":
            return _resolution_failure(
                f"NoAvailableComponentVersionException: No cloud component version satisfies"
                f" the requirements: component {name} version {version} is not deployable in"
                " this account.",
                "NO_AVAILABLE_COMPONENT_VERSION",
                "COMPONENT_VERSION_REQUIREMENTS_NOT_MET",
            )
        if not recipes.fits(component.recipe, platform):
            return _resolution_failure(
                f"Component {name} version {version} has no manifest for the device's platform"
                f" {json.dumps(platform, sort_keys=True)}.",
                "COMPONENT_PACKAGE_LOADING_ERROR",
                "RECIPE_PLATFORM_NOT_SUPPORTED",
            )
        for uri, digest in component.digests.items():
            body = s3objects.read_object(account, uri)
            if body is None or hashlib.sha256(body).hexdigest() != digest:
                return _resolution_failure(
                    f"Failed to download artifact {uri} of {name} {version}: the integrity"
                    " check failed, its digest no longer matches the one in the recipe"
                    " (the object changed or was deleted after the component version was"
                    " created).",
                    "ARTIFACT_DOWNLOAD_ERROR",
                    "ARTIFACT_CHECKSUM_MISMATCH",
                    error_type="CLOUD_SERVICE_ERROR",
                )
        return None

    def _dependency_failure(
        self,
        account: str,
        region: str,
        name: str,
        dependency: str,
        spec: dict[str, Any],
        wanted: dict[str, str],
        platform: dict[str, str],
    ) -> Failure | None:
        requirement = str(spec.get("VersionRequirement", "*"))
        if nucleus.is_public(dependency):
            if dependency in wanted:
                chosen: str | None = wanted[dependency]
                if chosen is not None and not recipes.satisfies(chosen, requirement):
                    chosen = None
            else:
                chosen = nucleus.public_version(dependency, requirement)
            if chosen is None:
                return _resolution_failure(
                    f"NoAvailableComponentVersionException: No cloud component version"
                    f" satisfies the requirements: {name} requires {dependency}"
                    f" {requirement}, and AWS publishes no such version.",
                    "NO_AVAILABLE_COMPONENT_VERSION",
                    "COMPONENT_VERSION_REQUIREMENTS_NOT_MET",
                )
            return _public_failure(dependency, chosen, platform)
        if dependency in wanted:
            candidates = [wanted[dependency]]
        else:
            candidates = [
                c.version
                for c in self._versions_of(account, region, dependency)
                if c.state == "DEPLOYABLE"
            ]
        if any(recipes.satisfies(v, requirement) for v in candidates):
            return None
        if spec.get("DependencyType", "HARD") == "SOFT" and dependency not in wanted:
            return None
        return _resolution_failure(
            f"NoAvailableComponentVersionException: {name} requires {dependency}"
            f" {requirement}, and no version of {dependency} satisfies it.",
            "NO_AVAILABLE_COMPONENT_VERSION",
            "COMPONENT_VERSION_REQUIREMENTS_NOT_MET",
        )

    def _device_runner(
        self, account: str, region: str, target: str, components: dict[str, Any], policy: str
    ) -> Callable[[str, dict[str, str]], nucleus.DeviceRun]:
        """How a device that runs lifecycles carries this deployment out (nucleus.py)."""
        wanted = {name: dict(spec or {}) for name, spec in components.items()}

        def run(thing_name: str, platform: dict[str, str]) -> nucleus.DeviceRun:
            with self.lock:
                planned = self._plan(account, region, wanted)
            device = self.fleet.device(
                account, region, thing_name, lambda uri: s3objects.read_object(account, uri)
            )
            return self.fleet.start(
                device, target, planned, roll_back=policy == "ROLLBACK", platform=platform
            )

        return run

    def _plan(
        self, account: str, region: str, wanted: dict[str, dict[str, Any]]
    ) -> tuple[nucleus.PlannedComponent, ...]:
        """The deployment's components and their dependencies, resolved, dependencies first
        (the resolver has checked that each resolves)."""
        versions = {name: str(spec.get("componentVersion")) for name, spec in wanted.items()}
        planned: dict[str, nucleus.PlannedComponent] = {}

        def visit(name: str, version: str) -> None:
            if name in planned:
                return
            recipe = (
                {}
                if nucleus.is_public(name)
                else self.components[(account, region, name, version)].recipe
            )
            dependencies = recipe.get("ComponentDependencies") or {}
            for dependency, spec in dependencies.items():
                requirement = str((spec or {}).get("VersionRequirement", "*"))
                chosen = versions.get(dependency) or self._dependency_version(
                    account, region, dependency, requirement
                )
                if chosen is not None:
                    visit(dependency, chosen)
            planned[name] = nucleus.PlannedComponent(
                name=name,
                version=version,
                recipe=recipe,
                configuration_update=dict(wanted.get(name, {}).get("configurationUpdate") or {}),
                dependencies=tuple(dependencies),
            )

        for name, version in versions.items():
            visit(name, version)
        return tuple(planned.values())

    def _dependency_version(
        self, account: str, region: str, name: str, requirement: str
    ) -> str | None:
        if nucleus.is_public(name):
            return nucleus.public_version(name, requirement)
        return next(
            (
                c.version
                for c in self._versions_of(account, region, name)
                if c.state == "DEPLOYABLE" and recipes.satisfies(c.version, requirement)
            ),
            None,
        )

    def _deployment(self, request: AwsRequest) -> Deployment | Response:
        account, region = self._scope(request)
        deployment_id = request.path_params.get("deploymentId", "")
        found = self.deployments.get((account, region, deployment_id))
        if found is None:
            return rest_error(
                "ResourceNotFoundException",
                f"The deployment {deployment_id} does not exist.",
                404,
                resourceId=deployment_id,
                resourceType="deployment",
            )
        return found

    def _get_deployment(self, request: AwsRequest) -> Response:
        with self.lock:
            found = self._deployment(request)
            if isinstance(found, Response):
                return found
            return rest_response(found.describe())

    def _list_deployments(self, request: AwsRequest) -> Response:
        account, region = self._scope(request)
        query = request.query
        latest_only = query.get("historyFilter", "LATEST_ONLY") == "LATEST_ONLY"
        with self.lock:
            listed = [
                d.summary()
                for (a, r, _), d in sorted(
                    self.deployments.items(), key=lambda item: item[1].created, reverse=True
                )
                if (a, r) == (account, region)
                and (d.latest or not latest_only)
                and query.get("targetArn", d.target_arn) == d.target_arn
                and query.get("parentTargetArn", d.request.get("parentTargetArn"))
                == d.request.get("parentTargetArn")
            ]
            return rest_page(request.query, "deployments", listed, 50)

    def _cancel_deployment(self, request: AwsRequest) -> Response:
        with self.lock:
            found = self._deployment(request)
            if isinstance(found, Response):
                return found
            if found.status() != "ACTIVE":
                return rest_error(
                    "ConflictException",
                    f"The deployment {found.deployment_id} is {found.status()}: only an ACTIVE"
                    " deployment can be canceled.",
                    409,
                    resourceId=found.deployment_id,
                    resourceType="deployment",
                )
            found.canceled = True
            if found.job.status == "IN_PROGRESS":
                self.jobs.cancel(found.job, comment="The Greengrass deployment was canceled.")
            return rest_response({"message": "SUCCESS"})

    def _delete_deployment(self, request: AwsRequest) -> Response:
        with self.lock:
            found = self._deployment(request)
            if isinstance(found, Response):
                return found
            if found.status() == "ACTIVE":
                return rest_error(
                    "ConflictException",
                    f"The deployment {found.deployment_id} is ACTIVE: cancel it before"
                    " deleting it.",
                    409,
                    resourceId=found.deployment_id,
                    resourceType="deployment",
                )
            del self.deployments[(found.account, found.region, found.deployment_id)]
            self.jobs.delete(found.job)
            return rest_response(None, 204)

    # -- core devices -------------------------------------------------------------------
    def _executions_of(self, account: str, region: str, thing: str) -> list[tuple[Deployment, Any]]:
        """(deployment, its execution on the thing), newest deployment first."""
        found = [
            (d, execution)
            for (a, r, _), d in self.deployments.items()
            if (a, r) == (account, region)
            and (execution := d.job.rolled_out().get(thing)) is not None
        ]
        return sorted(found, key=lambda pair: pair[0].created, reverse=True)

    def core_devices(self, account: str, region: str) -> dict[str, dict[str, Any]]:
        """Thing name -> GetCoreDevice's answer, for every thing that started a deployment
        or is online while a deployment targets it (its nucleus connected, so it registered
        and reports HEALTHY, though the job's rollout may not have reached it yet)."""
        devices: dict[str, dict[str, Any]] = {}
        seen: dict[str, float] = {}
        for (a, r, _), d in self.deployments.items():
            if (a, r) != (account, region):
                continue
            for name, e in d.job.executions.items():
                if e.started_at is not None or self.jobs.device(name).outcome != "offline":
                    seen[name] = min(seen.get(name, d.created), d.created)
        for thing in sorted(seen):
            executions = self._executions_of(account, region, thing)
            started = [e for _, e in executions if e.started_at is not None]
            last = max(started, key=lambda e: e.last_updated) if started else None
            broken = last is not None and last.details.get("detailed-deployment-status") in (
                "FAILED_ROLLBACK_NOT_REQUESTED",
                "FAILED_UNABLE_TO_ROLLBACK",
            )
            running = self.fleet.known(account, region, thing)
            if running is not None and "BROKEN" in running.states().values():
                broken = True
            platform = self.jobs.device(thing).platform
            devices[thing] = {
                "coreDeviceThingName": thing,
                "coreVersion": NUCLEUS_VERSION,
                "platform": platform.get("os", "linux"),
                "architecture": platform.get("architecture", "aarch64"),
                "runtime": "aws_nucleus_classic",
                "status": "UNHEALTHY" if broken else "HEALTHY",
                "lastStatusUpdateTimestamp": last.last_updated if last else seen[thing],
            }
        return devices

    def _list_core_devices(self, request: AwsRequest) -> Response:
        account, region = self._scope(request)
        query = request.query
        with self.lock:
            devices = self.core_devices(account, region)
            group = query.get("thingGroupArn")
            members = None
            if group:
                members = set(things_targeted(iot_backend(account, region), [group]))
            listed = [
                {k: v for k, v in device.items() if k != "coreVersion"}
                for name, device in devices.items()
                if (members is None or name in members)
                and query.get("status", device["status"]) == device["status"]
            ]
            return rest_page(request.query, "coreDevices", listed, 50)

    def _get_core_device(self, request: AwsRequest) -> Response:
        account, region = self._scope(request)
        thing = request.path_params.get("coreDeviceThingName", "")
        with self.lock:
            device = self.core_devices(account, region).get(thing)
            if device is None:
                return rest_error(
                    "ResourceNotFoundException",
                    f"The core device {thing} does not exist.",
                    404,
                    resourceId=thing,
                    resourceType="coreDevice",
                )
            # No `tags: {}`: botocore's TagMap has min 1 (greengrassv2 service-2.json), so
            # GetCoreDevice leaves tags out of an untagged device's answer.
            return rest_response(dict(device))

    def _list_effective_deployments(self, request: AwsRequest) -> Response:
        account, region = self._scope(request)
        thing = request.path_params.get("coreDeviceThingName", "")
        with self.lock:
            listed = []
            for deployment, execution in self._executions_of(account, region, thing):
                if not deployment.latest:
                    continue
                entry: dict[str, Any] = {
                    "deploymentId": deployment.deployment_id,
                    "deploymentName": deployment.name,
                    "iotJobId": deployment.job.job_id,
                    "iotJobArn": deployment.job.arn,
                    "targetArn": deployment.target_arn,
                    "coreDeviceExecutionStatus": _EFFECTIVE_STATUS.get(
                        execution.status, execution.status
                    ),
                    "creationTimestamp": deployment.created,
                    "modifiedTimestamp": execution.last_updated,
                }
                details = execution.details
                if "deployment-failure-cause" in details:
                    entry["reason"] = details["deployment-failure-cause"]
                if "deployment-error-stack" in details:
                    entry["statusDetails"] = {
                        "errorStack": json.loads(details["deployment-error-stack"]),
                        "errorTypes": json.loads(details.get("deployment-error-types", "[]")),
                    }
                listed.append(entry)
            return rest_page(request.query, "effectiveDeployments", listed, 50)

    # -- tags ---------------------------------------------------------------------------
    def _tag_resource(self, request: AwsRequest) -> Response:
        arn = request.path_params.get("resourceArn", "")
        with self.lock:
            self.tags.setdefault(arn, {}).update(request.json().get("tags") or {})
            return rest_response({})

    def _untag_resource(self, request: AwsRequest) -> Response:
        arn = request.path_params.get("resourceArn", "")
        keys = request.query.get("tagKeys", "")
        with self.lock:
            for key in [k for k in keys.split(",") if k]:
                self.tags.get(arn, {}).pop(key, None)
            return rest_response({})

    def _list_tags(self, request: AwsRequest) -> Response:
        arn = request.path_params.get("resourceArn", "")
        with self.lock:
            return rest_response(_tags(self.tags.get(arn)))
