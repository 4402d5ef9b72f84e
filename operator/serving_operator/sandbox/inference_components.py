"""SageMaker inference components, which moto does not have at all.

An inference component (CreateInferenceComponent) puts copies of one model on the instances
of an endpoint's production variant, each copy reserving its ComputeResourceRequirements
(CPU cores, memory, accelerator devices). Only a variant that names no model, in an endpoint
configuration with an ExecutionRoleArn, hosts components ("Deploy models for real-time
inference", SageMaker developer guide), and the endpoint must be InService.

Lifecycle (InferenceComponentStatus): Creating for `creatingSeconds`, then InService once
every copy is placed, or Failed if a model artifact the spec names (the container's
ArtifactUrl, the model's ModelDataUrl) is not in S3, as endpoints fail in sagemaker.py;
Updating for `updatingSeconds` (plus the rolling update's wait intervals times
`deploymentTimeScale`, as guardrails.py does for endpoints) after UpdateInferenceComponent or
UpdateInferenceComponentRuntimeConfig; Deleting for `deletingSeconds`, then gone. A spec
change (UpdateInferenceComponent with a Specification) rolls to the new spec at the end of
Updating; if the new copies do not fit, their artifact is missing, or an
AutoRollbackConfiguration alarm is in ALARM, it rolls back: the old spec keeps serving,
InService, with a FailureReason. Other components on the endpoint are not touched.

Placement. Each instance of the variant offers its instance type's resources
(instance_types.py). Copies go onto instances first fit, components in creation order, copies
already placed first, so that a change never moves another component's copies. Without
managed instance scaling the variant keeps its InitialInstanceCount; with it (Status ENABLED)
the variant runs the fewest instances within [MinInstanceCount, MaxInstanceCount] that hold
every copy (0 when no copies are wanted and MinInstanceCount is 0), shown as its
CurrentInstanceCount and DesiredInstanceCount. A component whose copies do not all fit stays
Creating with the copies that fit (CurrentCopyCount) and a FailureReason saying what is
missing; it becomes InService as soon as room appears. An InService component asked for more
copies than fit stays InService with CurrentCopyCount below DesiredCopyCount. Instance types
the table does not know are not checked: every copy fits.

DeleteEndpoint while the endpoint still has components is refused: the developer guide's
"Delete Endpoints and Resources" says to delete inference components first (the console
does it for you; the API does not).

Message wording is the sandbox's unless a comment cites SageMaker's.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox import guardrails
from serving_operator.sandbox.arns import sagemaker_arn
from serving_operator.sandbox.instance_types import INSTANCE_RESOURCES, Resources
from serving_operator.sandbox.sagemaker import SageMakerOverlay
from serving_operator.sandbox.wire import AwsRequest, error_response, json_response

# InferenceComponentName in botocore's SageMaker model.
_NAME = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_SORT_KEYS = ("Name", "CreationTime", "Status")


@dataclass
class Component:
    name: str
    arn: str
    account: str
    region: str
    endpoint_name: str
    endpoint_arn: str
    variant_name: str
    spec: dict[str, Any]
    """The Specification serving now (as requested)."""
    desired: int
    status: str
    order: int
    created: float
    modified: float
    tags: list[dict[str, str]] = field(default_factory=list)
    current: int = 0
    failure_reason: str | None = None
    due: float | None = None
    """time.monotonic() when the current Creating/Updating/Deleting step ends."""
    finish: Callable[[], None] | None = None
    pending_spec: dict[str, Any] | None = None
    last_deployment: dict[str, Any] | None = None
    resolved_at: float = 0.0

    @property
    def adapter(self) -> bool:
        return bool(self.spec.get("BaseInferenceComponentName"))


def need_of(spec: dict[str, Any]) -> Resources:
    """What one copy of a component with this Specification reserves."""
    compute = spec.get("ComputeResourceRequirements") or {}
    return Resources(
        float(compute.get("NumberOfCpuCoresRequired", 0.0)),
        int(compute.get("MinMemoryRequiredInMb", 0)),
        float(compute.get("NumberOfAcceleratorDevicesRequired", 0.0)),
    )


def place(
    capacity: Resources, instances: int, demands: list[tuple[Resources, int, int]]
) -> list[int]:
    """How many copies of each demand (need per copy, copies placed now, copies wanted) fit on
    `instances` instances of `capacity`: first fit, the placed copies of every demand before
    any new ones, demands in order."""
    free = [capacity] * instances
    placed = [0] * len(demands)

    def put(index: int, copies: int) -> None:
        need = demands[index][0]
        for _ in range(copies):
            slot = next((i for i, room in enumerate(free) if room.fits(need)), None)
            if slot is None:
                return
            free[slot] = free[slot].minus(need)
            placed[index] += 1

    for index, (_, now, wanted) in enumerate(demands):
        put(index, min(now, wanted))
    for index, (_, _, wanted) in enumerate(demands):
        put(index, wanted - placed[index])
    return placed


def instances_needed(
    capacity: Resources, demands: list[tuple[Resources, int, int]], low: int, high: int
) -> int:
    """The fewest instances within [low, high] that hold every wanted copy (high if none do)."""
    for count in range(low, high + 1):
        if place(capacity, count, demands) == [wanted for _, _, wanted in demands]:
            return count
    return high


def _describe_need(need: Resources) -> str:
    return (
        f"{need.cpus:g} CPU cores, {need.memory_mb} MB of memory and"
        f" {need.accelerators:g} accelerator devices"
    )


class InferenceComponentOverlay:
    def __init__(self, sagemaker: SageMakerOverlay) -> None:
        self.sagemaker = sagemaker
        self.lock: threading.RLock = sagemaker.lock
        self.components: dict[tuple[str, str, str], Component] = {}
        self._configs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._order = 0
        self.handlers: dict[str, Callable[[AwsRequest], Response | None]] = {
            "CreateInferenceComponent": self._create,
            "DescribeInferenceComponent": self._describe,
            "ListInferenceComponents": self._list,
            "UpdateInferenceComponent": self._update,
            "UpdateInferenceComponentRuntimeConfig": self._update_runtime_config,
            "DeleteInferenceComponent": self._delete,
            "DeleteEndpoint": self._delete_endpoint,
            "AddTags": self._add_tags,
            "ListTags": self._list_tags,
            "DeleteTags": self._delete_tags,
        }

    # -- lookups ------------------------------------------------------------------------
    def component(self, account: str, region: str, name: str) -> Component | None:
        with self.lock:
            return self.components.get((account, region, name))

    def on_endpoint(self, account: str, region: str, endpoint: str) -> list[Component]:
        with self.lock:
            return sorted(
                (
                    c
                    for c in self.components.values()
                    if (c.account, c.region, c.endpoint_name) == (account, region, endpoint)
                ),
                key=lambda c: c.order,
            )

    def _config_variants(self, account: str, region: str, endpoint: Any) -> list[dict[str, Any]]:
        """The production variants of the config the endpoint runs, as first read: an
        endpoint keeps running on its config after the config is deleted."""
        key = (endpoint.arn, endpoint.endpoint_config_name)
        if key not in self._configs:
            configs = self.sagemaker.backend_for(account, region).endpoint_configs
            config = configs.get(endpoint.endpoint_config_name)
            if config is None:
                return []
            self._configs[key] = [dict(v) for v in config.production_variants]
        return self._configs[key]

    def variant_config(self, account: str, region: str, endpoint: Any, variant: str) -> Any:
        """The endpoint config's production variant (dict), None if unknown."""
        return next(
            (
                v
                for v in self._config_variants(account, region, endpoint)
                if v.get("VariantName") == variant
            ),
            None,
        )

    def hosts_components(self, account: str, region: str, endpoint: Any) -> bool:
        """Whether the endpoint's variants are of the kind that hosts inference components."""
        variants = self._config_variants(account, region, endpoint)
        if not variants:
            return bool(self.on_endpoint(account, region, endpoint.endpoint_name))
        return any("ModelName" not in v for v in variants)

    # -- time ---------------------------------------------------------------------------
    def advance(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            endpoints = set()
            for component in sorted(self.components.values(), key=lambda c: c.order):
                if component.due is not None and component.due <= now:
                    component.due = None
                    finish, component.finish = component.finish, None
                    if finish is not None:
                        finish()
                endpoints.add((component.account, component.region, component.endpoint_name))
            for account, region, endpoint in sorted(endpoints):
                self.settle(account, region, endpoint)

    def _schedule(self, component: Component, seconds: float, finish: Callable[[], None]) -> None:
        component.due = time.monotonic() + max(0.0, seconds)
        component.finish = finish

    def settle(self, account: str, region: str, endpoint_name: str) -> None:
        """Place the endpoint's copies, size its managed variants, and let components whose
        step has ended take the copies that fit."""
        endpoint = self.sagemaker.endpoint_for(account, region, endpoint_name)
        components = [c for c in self.on_endpoint(account, region, endpoint_name)]
        if endpoint is None:
            return
        by_variant: dict[str, list[Component]] = {}
        for component in components:
            if component.status not in ("Deleting", "Failed") and not component.adapter:
                by_variant.setdefault(component.variant_name, []).append(component)
        for variant_name, group in by_variant.items():
            self._settle_variant(account, region, endpoint, variant_name, group)
        # Variants whose last component went away shrink too.
        for summary in endpoint.production_variants:
            if summary["VariantName"] not in by_variant:
                self._settle_variant(account, region, endpoint, summary["VariantName"], [])
        for component in components:
            if component.adapter and component.due is None and component.status == "Creating":
                component.status = "InService"

    def _settle_variant(
        self, account: str, region: str, endpoint: Any, variant_name: str, group: list[Component]
    ) -> None:
        config = self.variant_config(account, region, endpoint, variant_name)
        summary = next(
            (v for v in endpoint.production_variants if v["VariantName"] == variant_name), None
        )
        if config is None or summary is None or "ModelName" in config:
            return
        instance_type = str(config.get("InstanceType", ""))
        capacity = INSTANCE_RESOURCES.get(instance_type)
        scaling = config.get("ManagedInstanceScaling") or {}
        managed = scaling.get("Status") == "ENABLED"
        demands = [(need_of(c.spec), c.current, c.desired) for c in group]
        count = int(summary.get("CurrentInstanceCount", config.get("InitialInstanceCount", 0)))
        if capacity is None:
            placed = [wanted for _, _, wanted in demands]
        else:
            if managed:
                low = int(scaling.get("MinInstanceCount", 0))
                high = int(scaling.get("MaxInstanceCount", count))
                count = instances_needed(capacity, demands, low, high)
                summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = count
            placed = place(capacity, count, demands)
        for component, copies in zip(group, placed, strict=True):
            if component.due is not None:
                continue  # its step has not ended: it keeps what it has
            component.current = copies
            if component.status == "Creating":
                if copies >= component.desired:
                    component.status = "InService"
                    component.failure_reason = None
                    component.modified = time.time()
                else:
                    component.failure_reason = self._no_room(
                        component, copies, instance_type, capacity, count, scaling
                    )

    @staticmethod
    def _no_room(
        component: Component,
        copies: int,
        instance_type: str,
        capacity: Resources | None,
        count: int,
        scaling: dict[str, Any],
    ) -> str:
        need = need_of(component.spec)
        if capacity is not None and not capacity.fits(need):
            return (
                f"Inference component {component.name} cannot be placed: one copy needs"
                f" {_describe_need(need)}, more than one {instance_type} instance has"
                f" ({_describe_need(capacity)})."
            )
        limit = (
            f" (managed instance scaling is at its MaxInstanceCount of"
            f" {scaling.get('MaxInstanceCount')})"
            if scaling.get("Status") == "ENABLED"
            else ""
        )
        return (
            f"Insufficient capacity: placed {copies} of {component.desired} copies of inference"
            f" component {component.name}; the {count} {instance_type} instance(s) of variant"
            f" {component.variant_name}{limit} have no room for another copy needing"
            f" {_describe_need(need)}."
        )

    def fits_with(self, component: Component, spec: dict[str, Any]) -> bool:
        """Whether all the component's copies would be placed with `spec` instead of its own."""
        endpoint = self.sagemaker.endpoint_for(
            component.account, component.region, component.endpoint_name
        )
        if endpoint is None:
            return False
        config = self.variant_config(
            component.account, component.region, endpoint, component.variant_name
        )
        capacity = INSTANCE_RESOURCES.get(str((config or {}).get("InstanceType", "")))
        if config is None or capacity is None:
            return config is not None
        summary: dict[str, Any] = next(
            (v for v in endpoint.production_variants if v["VariantName"] == component.variant_name),
            {},
        )
        scaling = config.get("ManagedInstanceScaling") or {}
        group = [
            c
            for c in self.on_endpoint(component.account, component.region, component.endpoint_name)
            if c.variant_name == component.variant_name
            and c.status not in ("Deleting", "Failed")
            and not c.adapter
        ]
        # The new copies replace the old ones: counted anew, after the others.
        demands = [(need_of(c.spec), c.current, c.desired) for c in group if c is not component]
        demands.append((need_of(spec), 0, component.desired))
        if scaling.get("Status") == "ENABLED":
            count = instances_needed(
                capacity,
                demands,
                int(scaling.get("MinInstanceCount", 0)),
                int(scaling.get("MaxInstanceCount", 1)),
            )
        else:
            count = int(summary.get("CurrentInstanceCount", config.get("InitialInstanceCount", 0)))
        return place(capacity, count, demands)[-1] >= component.desired

    # -- copy counts (UpdateInferenceComponentRuntimeConfig, autoscaling) ----------------
    def set_copies(
        self, component: Component, copies: int, done: Callable[[], None] | None = None
    ) -> None:
        with self.lock:
            component.desired = copies
            component.status = "Updating"
            component.modified = time.time()

            def finish() -> None:
                component.status = "InService"
                component.failure_reason = None
                if done is not None:
                    done()

            self._schedule(component, self.sagemaker.settings.updating_seconds, finish)

    # -- helpers ------------------------------------------------------------------------
    def missing_artifact(self, account: str, region: str, spec: dict[str, Any]) -> str | None:
        """Why the copies cannot start: an artifact of the spec (the container's ArtifactUrl,
        or the ModelDataUrl of the model's containers) is not in S3. Worded as the endpoint
        overlay words a missing model artifact (sagemaker.py)."""
        urls = [str((spec.get("Container") or {}).get("ArtifactUrl") or "")]
        model = self.sagemaker.backend_for(account, region)._models.get(spec.get("ModelName", ""))
        if model is not None:
            containers = model.containers or [model.primary_container or {}]
            urls += [
                str((c or {}).get("ModelDataUrl") or "")
                for c in containers
                if (c or {}).get("Mode") != "MultiModel"
            ]
        s3 = get_backend("s3")[account]["aws"]
        for url in urls:
            if not url.startswith("s3://"):
                continue
            bucket_name, _, key = url.removeprefix("s3://").partition("/")
            bucket = s3.buckets.get(bucket_name)
            prefix = key if key.endswith("/") else key + "/"
            if bucket is None or not (
                key in bucket.keys or any(k.startswith(prefix) for k in bucket.keys)
            ):
                return (
                    f'Failed to download model data from URL: "{url}". Please ensure that there'
                    " is an object located at the URL and that the endpoint configuration's"
                    " ExecutionRoleArn has permissions to download the object."
                )
        return None

    def _arn(self, request: AwsRequest, name: str) -> str:
        return sagemaker_arn(
            "inference-component", name, self.sagemaker.account(request), request.region
        )

    def _find(self, request: AwsRequest, name: str) -> Component | None:
        return self.components.get((self.sagemaker.account(request), request.region, name))

    def _not_found(self, request: AwsRequest, name: str) -> Response:
        # As SageMaker answers a Describe of a missing endpoint, model or config.
        return error_response(
            "ValidationException",
            f'Could not find inference component "{self._arn(request, name)}".',
        )

    def _spec_problem(self, request: AwsRequest, spec: dict[str, Any], endpoint: str) -> str | None:
        backend = self.sagemaker.backend_for(self.sagemaker.account(request), request.region)
        model = spec.get("ModelName")
        if model is not None and model not in backend._models:
            arn = sagemaker_arn("model", model, self.sagemaker.account(request), request.region)
            return f'Could not find model "{arn}".'
        base = spec.get("BaseInferenceComponentName")
        if base:
            found = self._find(request, base)
            if found is None or found.endpoint_name != endpoint:
                return f'Could not find base inference component "{self._arn(request, base)}".'
            return None
        if model is None and not (spec.get("Container") or {}).get("Image"):
            return "The Specification must name a ModelName or a Container with an Image."
        if "ComputeResourceRequirements" not in spec:
            return (
                "The Specification needs ComputeResourceRequirements (only an adapter"
                " inference component, with BaseInferenceComponentName, goes without)."
            )
        return None

    def _describe_spec(self, component: Component) -> dict[str, Any]:
        spec = component.spec
        summary: dict[str, Any] = {
            key: spec[key]
            for key in (
                "ModelName",
                "StartupParameters",
                "ComputeResourceRequirements",
                "BaseInferenceComponentName",
                "SchedulingConfig",
            )
            if key in spec
        }
        container = spec.get("Container")
        if container:
            out: dict[str, Any] = {
                key: container[key]
                for key in ("ArtifactUrl", "Environment", "ContainerMetricsConfig")
                if key in container
            }
            if "Image" in container:
                image = str(container["Image"])
                digest = hashlib.sha256(image.encode()).hexdigest()
                out["DeployedImage"] = {
                    "SpecifiedImage": image,
                    "ResolvedImage": f"{image.split(':', 1)[0]}@sha256:{digest}",
                    "ResolutionTime": component.resolved_at,
                }
            summary["Container"] = out
        return summary

    # -- operations ---------------------------------------------------------------------
    def _create(self, request: AwsRequest) -> Response:
        params = request.json()
        name = str(params.get("InferenceComponentName", ""))
        endpoint_name = str(params.get("EndpointName", ""))
        account, region = self.sagemaker.account(request), request.region
        if not _NAME.match(name):
            return error_response(
                "ValidationException",
                f"1 validation error detected: Value '{name}' at 'inferenceComponentName' failed"
                " to satisfy constraint: Member must satisfy regular expression pattern:"
                f" {_NAME.pattern[1:-1]}",
            )
        if "Specifications" in params:
            return error_response(
                "ValidationException",
                "The sandbox does not model Specifications (one per instance type of an"
                " endpoint's instance pools): give one Specification.",
            )
        spec = params.get("Specification") or {}
        with self.lock:
            if self._find(request, name) is not None:
                arn = self._arn(request, name)
                return error_response(
                    "ValidationException",
                    f'Cannot create already existing inference component "{arn}".',
                )
            endpoint = self.sagemaker.endpoint_for(account, region, endpoint_name)
            endpoint_arn = sagemaker_arn("endpoint", endpoint_name, account, region)
            if endpoint is None or endpoint.endpoint_status == "Deleting":
                return error_response(
                    "ValidationException", f'Could not find endpoint "{endpoint_arn}".'
                )
            if endpoint.endpoint_status != "InService":
                return error_response(
                    "ValidationException",
                    f'Endpoint "{endpoint_arn}" is not InService (status:'
                    f" {endpoint.endpoint_status}): inference components are created on an"
                    " InService endpoint.",
                )
            variants = [v["VariantName"] for v in endpoint.production_variants]
            variant_name = params.get("VariantName")
            if variant_name is None:
                if len(variants) != 1:
                    return error_response(
                        "ValidationException",
                        f'Endpoint "{endpoint_arn}" has {len(variants)} variants: name one in'
                        " VariantName.",
                    )
                variant_name = variants[0]
            if variant_name not in variants:
                return error_response(
                    "ValidationException",
                    f'Could not find variant "{variant_name}" in endpoint "{endpoint_arn}".',
                )
            config = self.variant_config(account, region, endpoint, variant_name)
            if config is None or "ModelName" in config:
                return error_response(
                    "ValidationException",
                    f'Variant "{variant_name}" of endpoint "{endpoint_arn}" cannot host inference'
                    " components: they need an endpoint configuration with an ExecutionRoleArn"
                    " whose production variant names no ModelName.",
                )
            problem = self._spec_problem(request, spec, endpoint_name)
            if problem:
                return error_response("ValidationException", problem)
            runtime = params.get("RuntimeConfig")
            if runtime is None and not spec.get("BaseInferenceComponentName"):
                return error_response(
                    "ValidationException", "RuntimeConfig with a CopyCount is required."
                )
            now = time.time()
            self._order += 1
            component = Component(
                name=name,
                arn=self._arn(request, name),
                account=account,
                region=region,
                endpoint_name=endpoint_name,
                endpoint_arn=endpoint.arn,
                variant_name=variant_name,
                spec=dict(spec),
                desired=int((runtime or {}).get("CopyCount", 0)),
                status="Creating",
                order=self._order,
                created=now,
                modified=now,
                tags=list(params.get("Tags") or []),
                resolved_at=now,
            )
            self.components[(account, region, name)] = component

            def finish() -> None:
                failure = self.missing_artifact(account, region, component.spec)
                if failure:
                    component.status = "Failed"
                    component.failure_reason = failure
                    component.current = 0
                    component.modified = time.time()

            self._schedule(component, self.sagemaker.settings.creating_seconds, finish)
            self.settle(account, region, endpoint_name)
            return json_response({"InferenceComponentArn": component.arn})

    def describe(self, component: Component) -> dict[str, Any]:
        described: dict[str, Any] = {
            "InferenceComponentName": component.name,
            "InferenceComponentArn": component.arn,
            "EndpointName": component.endpoint_name,
            "EndpointArn": component.endpoint_arn,
            "VariantName": component.variant_name,
            "Specification": self._describe_spec(component),
            "CreationTime": component.created,
            "LastModifiedTime": component.modified,
            "InferenceComponentStatus": component.status,
        }
        if not component.adapter:
            described["RuntimeConfig"] = {
                "DesiredCopyCount": component.desired,
                "CurrentCopyCount": component.current,
            }
        if component.failure_reason:
            described["FailureReason"] = component.failure_reason
        if component.last_deployment:
            described["LastDeploymentConfig"] = component.last_deployment
        return described

    def _describe(self, request: AwsRequest) -> Response:
        name = str(request.json().get("InferenceComponentName", ""))
        with self.lock:
            component = self._find(request, name)
            if component is None:
                return self._not_found(request, name)
            return json_response(self.describe(component))

    def _list(self, request: AwsRequest) -> Response:
        """Filters (NameContains, case-insensitive; times; StatusEquals; EndpointNameEquals;
        VariantNameEquals), SortBy (CreationTime unless told) and SortOrder (Descending unless
        told), MaxResults (10 unless told, as SageMaker's other List operations) and
        NextToken."""
        params = request.json()
        account = self.sagemaker.account(request)
        contains = str(params.get("NameContains") or "").lower()
        bounds = {
            key: float(params[key])
            for key in (
                "CreationTimeBefore",
                "CreationTimeAfter",
                "LastModifiedTimeBefore",
                "LastModifiedTimeAfter",
            )
            if params.get(key) is not None
        }
        sort_by = params.get("SortBy", "CreationTime")
        if sort_by not in _SORT_KEYS:
            return error_response(
                "ValidationException",
                f"1 validation error detected: Value '{sort_by}' at 'sortBy' failed to satisfy"
                f" constraint: Member must satisfy enum value set: [{', '.join(_SORT_KEYS)}]",
            )
        with self.lock:
            chosen = [
                c
                for c in self.components.values()
                if (c.account, c.region) == (account, request.region)
                and contains in c.name.lower()
                and params.get("StatusEquals") in (None, c.status)
                and params.get("EndpointNameEquals") in (None, c.endpoint_name)
                and params.get("VariantNameEquals") in (None, c.variant_name)
                and c.created < bounds.get("CreationTimeBefore", math.inf)
                and c.created > bounds.get("CreationTimeAfter", -math.inf)
                and c.modified < bounds.get("LastModifiedTimeBefore", math.inf)
                and c.modified > bounds.get("LastModifiedTimeAfter", -math.inf)
            ]

            def key(c: Component) -> tuple[Any, ...]:
                if sort_by == "Name":
                    return (c.name,)
                if sort_by == "Status":
                    return (c.status, c.created)
                return (c.created, c.order)

            chosen.sort(key=key, reverse=params.get("SortOrder", "Descending") == "Descending")
            try:
                start = int(params.get("NextToken") or 0)
            except ValueError:
                return error_response("ValidationException", "Invalid pagination token.")
            size = int(params.get("MaxResults") or 10)
            page: dict[str, Any] = {
                "InferenceComponents": [
                    {
                        "CreationTime": c.created,
                        "InferenceComponentArn": c.arn,
                        "InferenceComponentName": c.name,
                        "EndpointArn": c.endpoint_arn,
                        "EndpointName": c.endpoint_name,
                        "VariantName": c.variant_name,
                        "InferenceComponentStatus": c.status,
                        "LastModifiedTime": c.modified,
                    }
                    for c in chosen[start : start + size]
                ]
            }
            if start + size < len(chosen):
                page["NextToken"] = str(start + size)
            return json_response(page)

    def _in_service(self, request: AwsRequest, name: str) -> Component | Response:
        component = self._find(request, name)
        if component is None:
            return self._not_found(request, name)
        if component.status != "InService":
            return error_response(
                "ValidationException",
                f'Cannot update in-progress inference component "{component.arn}"'
                f" (status: {component.status}).",
            )
        return component

    def _update(self, request: AwsRequest) -> Response:
        params = request.json()
        name = str(params.get("InferenceComponentName", ""))
        if "Specifications" in params:
            return error_response(
                "ValidationException",
                "The sandbox does not model Specifications (one per instance type of an"
                " endpoint's instance pools): give one Specification.",
            )
        with self.lock:
            found = self._in_service(request, name)
            if isinstance(found, Response):
                return found
            component = found
            spec = params.get("Specification")
            runtime = params.get("RuntimeConfig")
            deployment = params.get("DeploymentConfig")
            if spec is None and runtime is None:
                return error_response(
                    "ValidationException",
                    "Give a Specification, a RuntimeConfig or both to update.",
                )
            if spec is not None:
                problem = self._spec_problem(request, spec, component.endpoint_name)
                if problem:
                    return error_response("ValidationException", problem)
            if deployment:
                rolling = deployment.get("RollingUpdatePolicy") or {}
                copies = int((runtime or {}).get("CopyCount", component.desired))
                problem = _batch_problem(rolling.get("MaximumBatchSize") or {}, copies)
                if problem:
                    return error_response("ValidationException", problem)
            if runtime is not None:
                component.desired = int(runtime.get("CopyCount", component.desired))
            component.status = "Updating"
            component.modified = time.time()
            component.pending_spec = dict(spec) if spec is not None else None
            component.last_deployment = deployment or component.last_deployment
            account = component.account

            def finish() -> None:
                new_spec = component.pending_spec
                component.pending_spec = None
                component.status = "InService"
                component.failure_reason = None
                if new_spec is None:
                    return
                alarm = guardrails.alarm_in_alarm(account, component.region, deployment)
                missing = self.missing_artifact(account, component.region, new_spec)
                if alarm is not None:
                    component.failure_reason = guardrails.rollback_reason(alarm)
                elif missing:
                    component.failure_reason = f"Rolled back the update: {missing}"
                elif not self.fits_with(component, new_spec):
                    component.failure_reason = (
                        f"Rolled back the update of inference component {component.name}: the"
                        f" new copies ({_describe_need(need_of(new_spec))} each) do not fit on"
                        " the endpoint's instances."
                    )
                else:
                    component.spec = new_spec
                    component.resolved_at = time.time()

            seconds = self.sagemaker.settings.updating_seconds
            if spec is not None and deployment:
                seconds += self.sagemaker.settings.deployment_time_scale * _rolling_wait(
                    deployment, component.desired
                )
            self._schedule(component, seconds, finish)
            return json_response({"InferenceComponentArn": component.arn})

    def _update_runtime_config(self, request: AwsRequest) -> Response:
        params = request.json()
        name = str(params.get("InferenceComponentName", ""))
        runtime = params.get("DesiredRuntimeConfig") or {}
        with self.lock:
            found = self._in_service(request, name)
            if isinstance(found, Response):
                return found
            self.set_copies(found, int(runtime.get("CopyCount", found.desired)))
            return json_response({"InferenceComponentArn": found.arn})

    def _delete(self, request: AwsRequest) -> Response:
        name = str(request.json().get("InferenceComponentName", ""))
        key = (self.sagemaker.account(request), request.region, name)
        with self.lock:
            component = self.components.get(key)
            if component is None:
                return self._not_found(request, name)
            if component.status == "Deleting":
                return error_response(
                    "ValidationException",
                    f'Cannot delete inference component "{component.arn}": it is being deleted.',
                )
            component.status = "Deleting"
            component.pending_spec = None

            def finish() -> None:
                self.components.pop(key, None)

            self._schedule(component, self.sagemaker.settings.deleting_seconds, finish)
            self.settle(component.account, component.region, component.endpoint_name)
            return Response(b"", status=200, content_type="application/x-amz-json-1.1")

    # -- tags (moto knows no inference component ARN) -------------------------------------
    def _tagged(self, request: AwsRequest) -> Component | None:
        arn = str(request.json().get("ResourceArn", ""))
        name = arn.rpartition(":inference-component/")[2]
        found = self._find(request, name) if ":inference-component/" in arn else None
        return found if found is not None and found.arn == arn else None

    def _add_tags(self, request: AwsRequest) -> Response | None:
        with self.lock:
            component = self._tagged(request)
            if component is None:
                return None
            added = list(request.json().get("Tags") or [])
            keys = {t["Key"] for t in added}
            component.tags = [t for t in component.tags if t["Key"] not in keys] + added
            return json_response({"Tags": added})

    def _list_tags(self, request: AwsRequest) -> Response | None:
        params = request.json()
        with self.lock:
            component = self._tagged(request)
            if component is None:
                return None
            start = int(params.get("NextToken") or 0)
            size = int(params.get("MaxResults") or 50)
            page: dict[str, Any] = {"Tags": component.tags[start : start + size]}
            if start + size < len(component.tags):
                page["NextToken"] = str(start + size)
            return json_response(page)

    def _delete_tags(self, request: AwsRequest) -> Response | None:
        with self.lock:
            component = self._tagged(request)
            if component is None:
                return None
            keys = set(request.json().get("TagKeys") or [])
            component.tags = [t for t in component.tags if t["Key"] not in keys]
            return json_response({})

    def _delete_endpoint(self, request: AwsRequest) -> Response | None:
        """Refused while the endpoint has inference components; else the SageMaker overlay
        deletes it (None)."""
        name = str(request.json().get("EndpointName", ""))
        account = self.sagemaker.account(request)
        with self.lock:
            hosted = self.on_endpoint(account, request.region, name)
            if not hosted:
                return None
            arn = sagemaker_arn("endpoint", name, account, request.region)
            return error_response(
                "ValidationException",
                f'Cannot delete endpoint "{arn}" while it hosts inference components'
                f" ({', '.join(c.name for c in hosted)}): delete them first.",
            )


def _batch_problem(size: dict[str, Any], copies: int) -> str | None:
    """InferenceComponentRollingUpdatePolicy's MaximumBatchSize: "between 5% to 50% of the
    copy count of the inference component" (botocore's SageMaker model)."""
    if not size:
        return None
    value = int(size.get("Value", 0))
    share = value if size.get("Type") == "CAPACITY_PERCENT" else 100.0 * value / max(copies, 1)
    if not 5.0 <= share <= 50.0:
        return (
            f"MaximumBatchSize of {value} ({size.get('Type')}) is {share:g}% of the {copies}"
            " copies: it must be between 5% and 50% of the inference component's copy count."
        )
    return None


def _rolling_wait(deployment: dict[str, Any], copies: int) -> float:
    """The wait intervals a rolling update spends: one per batch."""
    rolling = deployment.get("RollingUpdatePolicy") or {}
    size = rolling.get("MaximumBatchSize") or {}
    value = max(int(size.get("Value", 1)), 1)
    if size.get("Type") == "CAPACITY_PERCENT":
        batches = -(-100 // value)
    else:
        batches = -(-max(copies, 1) // value)
    return float(batches * int(rolling.get("WaitIntervalInSeconds", 0)))
