"""SageMaker endpoint behaviour that moto lacks: status lifecycles, UpdateEndpoint,
UpdateEndpointWeightsAndCapacities that keeps counts, model artifact checks, the models
each endpoint variant serves (for the runtime) and instance count changes (for autoscaling).

Endpoint configs keep what moto drops (ShadowProductionVariants, ExecutionRoleArn, VpcConfig,
...) and are checked as SageMaker checks them; endpoints show their config's shadow variants
and data capture (DescribeEndpoint's DataCaptureConfigSummary), and the DeploymentConfig of
their last update, whose guardrails (traffic shifting time, auto-rollback alarms) act as in
guardrails.py.

State lives in moto's own backend objects; this module only adds time and rules.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox import guardrails
from serving_operator.sandbox.arns import sagemaker_arn
from serving_operator.sandbox.instance_types import inference_component_variant_problem
from serving_operator.sandbox.moto_internals import (
    SageMakerModelBackend,
    ServiceException,
    new_sagemaker_endpoint,
)
from serving_operator.sandbox.settings import SettingsJson
from serving_operator.sandbox.wire import AwsRequest, error_response, json_response


@dataclass
class LifecycleSettings(SettingsJson):
    creating_seconds: float = 2.0
    updating_seconds: float = 2.0
    deleting_seconds: float = 1.0
    cold_start_ms: float = 300.0
    """How long the first invocation of a multi-model endpoint's target model takes to load."""
    autoscaling_window_seconds: float = 60.0
    """The stretch of time target tracking counts invocations per instance over."""
    deployment_time_scale: float = 0.0
    """What a second of a DeploymentConfig's wait intervals lasts in the sandbox (0: none)."""
    metric_period_seconds: float = 60.0
    """The period SageMaker's invocation metrics are published at (their timestamps' grain)."""


@dataclass
class DeployedVariant:
    """What one production variant serves, as of the CreateEndpoint/UpdateEndpoint that
    deployed it: later changes to (or deletion of) the model or config do not reach it."""

    model_name: str
    multi_model_prefix: str | None = None
    """The S3 prefix of a multi-model endpoint's models (its container's ModelDataUrl)."""
    container_hostnames: tuple[str, ...] = ()
    direct_invocation: bool = False
    """Containers with InferenceExecutionConfig Mode "Direct": callers pick one by hostname."""
    loaded_models: set[str] = field(default_factory=set)
    """Target models a multi-model variant has loaded; the first call to one is a cold start."""


@dataclass
class _Transition:
    due: float
    apply: Callable[[], None]


def _not_found(kind: str, arn: str) -> Response:
    return error_response("ValidationException", f'Could not find {kind} "{arn}".')


# CreateEndpointConfig members moto drops, and the attributes of its config object that keep
# them: moto describes a config by its attributes (in CamelCase), leaving out those that are None.
_CONFIG_EXTRAS = (
    ("ShadowProductionVariants", "shadow_production_variants"),
    ("ExecutionRoleArn", "execution_role_arn"),
    ("VpcConfig", "vpc_config"),
    ("EnableNetworkIsolation", "enable_network_isolation"),
    ("ExplainerConfig", "explainer_config"),
    ("MetricsConfig", "metrics_config"),
    ("CrossRegionTrafficConfig", "cross_region_traffic_config"),
)


def shadow_variants_of(config: Any) -> list[dict[str, Any]]:
    variants: list[dict[str, Any]] = getattr(config, "shadow_production_variants", None) or []
    return variants


def capture_summary(capture: dict[str, Any] | None) -> dict[str, Any] | None:
    """DescribeEndpoint's DataCaptureConfigSummary for a config's DataCaptureConfig."""
    if not capture:
        return None
    enabled = bool(capture.get("EnableCapture", True))  # "defaults to enabled"
    return {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
        "DestinationS3Uri": capture["DestinationS3Uri"],
        # The summary requires KmsKeyId; without a key it is empty (the shape allows "").
        "KmsKeyId": capture.get("KmsKeyId", ""),
    }


def variants_from_config(config_variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An endpoint's ProductionVariants right after it starts on a config (weight 0 kept)."""
    variants = []
    for variant in config_variants:
        entry: dict[str, Any] = {"VariantName": variant["VariantName"]}
        if "InitialInstanceCount" in variant:
            count = variant["InitialInstanceCount"]
            entry["CurrentInstanceCount"] = entry["DesiredInstanceCount"] = count
        if "InitialVariantWeight" in variant:
            weight = float(variant["InitialVariantWeight"])
            entry["CurrentWeight"] = entry["DesiredWeight"] = weight
        if "ServerlessConfig" in variant:
            entry["CurrentServerlessConfig"] = variant["ServerlessConfig"]
            entry["DesiredServerlessConfig"] = variant["ServerlessConfig"]
        for key in ("ManagedInstanceScaling", "RoutingConfig"):  # ProductionVariantSummary's
            if key in variant:
                entry[key] = variant[key]
        variants.append(entry)
    return variants


def _epoch(moment: datetime.datetime) -> float:
    """moto keeps naive UTC datetimes."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


class SageMakerOverlay:
    """Handles the SageMaker operations moto gets wrong; everything else goes to moto."""

    def __init__(self, settings: LifecycleSettings, account_of: Callable[[str], str]) -> None:
        self.settings = settings
        self._account_of = account_of
        self._transitions: dict[tuple[str, str, str], _Transition] = {}
        self.lock = threading.RLock()
        self.deployed: dict[str, dict[str, DeployedVariant]] = {}
        """Endpoint ARN -> variant name -> what that variant serves."""
        self.handlers: dict[str, Callable[[AwsRequest], Response | None]] = {
            "CreateModel": self._create_model,
            "CreateEndpointConfig": self._create_endpoint_config,
            "CreateEndpoint": self._create_endpoint,
            "UpdateEndpoint": self._update_endpoint,
            "UpdateEndpointWeightsAndCapacities": self._update_weights_and_capacities,
            "DeleteEndpoint": self._delete_endpoint,
            "ListModels": self._list_models,
        }

    # -- time ---------------------------------------------------------------------------
    def advance(self, now: float | None = None) -> None:
        """Apply every status transition that is due; called before each SageMaker call."""
        now = time.monotonic() if now is None else now
        with self.lock:
            for key, transition in list(self._transitions.items()):
                if transition.due <= now:
                    del self._transitions[key]
                    transition.apply()

    def _schedule(
        self, key: tuple[str, str, str], seconds: float, apply: Callable[[], None]
    ) -> None:
        if seconds <= 0:
            apply()
        else:
            self._transitions[key] = _Transition(time.monotonic() + seconds, apply)

    # -- helpers ------------------------------------------------------------------------
    def account(self, request: AwsRequest) -> str:
        return self._account_of(request.access_key)

    def backend_for(self, account: str, region: str) -> SageMakerModelBackend:
        return get_backend("sagemaker")[account][region]

    def _backend(self, request: AwsRequest) -> SageMakerModelBackend:
        return self.backend_for(self.account(request), request.region)

    def _missing_model_data(self, request: AwsRequest, config_name: str) -> str | None:
        """SageMaker's failure reason when a model artifact of the config is not in S3."""
        backend = self._backend(request)
        config = backend.endpoint_configs[config_name]
        s3 = get_backend("s3")[self._account_of(request.access_key)]["aws"]
        variants = [*config.production_variants, *shadow_variants_of(config)]
        for index, variant in enumerate(variants, start=1):
            model = backend._models.get(variant.get("ModelName", ""))
            if model is None:  # none, or a variant for inference components
                continue
            containers = model.containers or [model.primary_container or {}]
            for container in containers:
                if (container or {}).get("Mode") == "MultiModel":
                    continue  # a prefix whose models load on first invocation
                url = (container or {}).get("ModelDataUrl")
                if url and not _s3_has(s3, url):
                    return (
                        f'Failed to download model data for container "container_{index}"'
                        f' from URL: "{url}". Please ensure that there is an object located'
                        " at the URL and that the role passed to CreateModel has permissions"
                        " to download the object."
                    )
        return None

    def _endpoint(self, request: AwsRequest, name: str) -> Any:
        """moto's FakeEndpoint (typed loosely: the overlay sets fields moto types narrowly)."""
        return self._backend(request).endpoints.get(name)

    def endpoint_for(self, account: str, region: str, name: str) -> Any:
        return self.backend_for(account, region).endpoints.get(name)

    def deployment(
        self, backend: SageMakerModelBackend, config_name: str
    ) -> dict[str, DeployedVariant]:
        """What each variant of an endpoint config serves, read from its models now."""
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            return {}
        return {
            variant["VariantName"]: _deployed_variant(
                variant.get("ModelName", ""), backend._models.get(variant.get("ModelName", ""))
            )
            for variant in config.production_variants
        }

    def deployed_variant(self, account: str, region: str, endpoint: Any, variant: str) -> Any:
        """What the endpoint's variant serves (DeployedVariant), or None if unknown."""
        with self.lock:
            deployed = self.deployed.get(endpoint.arn)
            if deployed is None:  # an endpoint the overlay did not create: read it live
                deployed = self.deployment(
                    self.backend_for(account, region), endpoint.endpoint_config_name
                )
                self.deployed[endpoint.arn] = deployed
            return deployed.get(variant)

    def set_instance_count(
        self,
        endpoint: Any,
        region: str,
        variant_name: str,
        count: int,
        done: Callable[[], None] | None = None,
    ) -> None:
        """Autoscaling's change: the variant's DesiredInstanceCount now, Updating until the
        instances are there (updatingSeconds), then InService with CurrentInstanceCount."""
        with self.lock:
            variant = next(
                v for v in endpoint.production_variants if v["VariantName"] == variant_name
            )
            variant["DesiredInstanceCount"] = count
            endpoint.endpoint_status = "Updating"

            def finish() -> None:
                variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
                endpoint.endpoint_status = "InService"
                if done is not None:
                    done()

            self._schedule(
                ("endpoint", region, endpoint.endpoint_name), self.settings.updating_seconds, finish
            )

    def _endpoint_arn(self, request: AwsRequest, name: str) -> str:
        return sagemaker_arn("endpoint", name, self.account(request), request.region)

    def _config_problem(self, request: AwsRequest, params: dict[str, Any]) -> str | None:
        """Why SageMaker would refuse this CreateEndpointConfig (None if it would not)."""
        backend = self._backend(request)
        name = params.get("EndpointConfigName", "")
        if name in backend.endpoint_configs:
            arn = sagemaker_arn("endpoint-config", name, self.account(request), request.region)
            return f'Cannot create already existing endpoint configuration "{arn}".'
        production: list[dict[str, Any]] = params.get("ProductionVariants") or []
        shadow: list[dict[str, Any]] = params.get("ShadowProductionVariants") or []
        seen: set[str] = set()
        for variant in (*production, *shadow):
            variant_name = variant.get("VariantName", "")
            if variant_name in seen:
                return (
                    f'The variant name "{variant_name}" is used more than once: the names of'
                    " ProductionVariants and ShadowProductionVariants must all be distinct."
                )
            seen.add(variant_name)
        for variant in (*production, *shadow):
            if "ModelName" not in variant and not shadow:
                problem = inference_component_variant_problem(params, variant)
                if problem:
                    return problem
                continue
            if variant.get("ModelName") not in backend._models:
                arn = sagemaker_arn(
                    "model", variant.get("ModelName", ""), self.account(request), request.region
                )
                return f'Could not find model "{arn}".'
        if shadow:
            return _shadow_problem(backend, params, production, shadow)
        return None

    def show_config(self, endpoint: Any, config: Any) -> None:
        """What DescribeEndpoint shows of the config an endpoint has just started on."""
        endpoint.production_variants = variants_from_config(config.production_variants)
        shadow = shadow_variants_of(config)
        endpoint.shadow_production_variants = variants_from_config(shadow) if shadow else None
        # None, not moto's {}: the summary has required members.
        endpoint.data_capture_config = capture_summary(config.data_capture_config)

    # -- operations ---------------------------------------------------------------------
    def _create_model(self, request: AwsRequest) -> Response | None:
        """moto overwrites a model that exists; SageMaker refuses to create it again. And moto
        drops InferenceExecutionConfig; keep it on the model (DescribeModel shows it, the
        runtime routes direct invocations by it). moto also turns a model without a VpcConfig
        into `VpcConfig: {}`, which DescribeModel then shows; botocore's VpcConfig requires
        SecurityGroupIds and Subnets (sagemaker service-2.json), so SageMaker leaves VpcConfig
        out: the model keeps None."""
        params = request.json()
        name = params.get("ModelName", "")
        with self.lock:
            if name in self._backend(request)._models:
                arn = sagemaker_arn("model", name, self.account(request), request.region)
                return error_response(
                    "ValidationException", f'Cannot create already existing model "{arn}".'
                )
        with self.lock:
            model: Any = self._backend(request).create_model(
                model_name=params.get("ModelName", ""),
                execution_role_arn=params.get("ExecutionRoleArn", ""),
                primary_container=params.get("PrimaryContainer"),
                vpc_config=params.get("VpcConfig"),
                containers=params.get("Containers"),
                tags=params.get("Tags"),
            )
            # moto describes a model by its attributes, leaving out those that are None.
            if "InferenceExecutionConfig" in params:
                model.inference_execution_config = params["InferenceExecutionConfig"]
            model.primary_container = params.get("PrimaryContainer")
            model.vpc_config = params.get("VpcConfig")  # not {}: VpcConfig has required members
            return json_response({"ModelArn": model.arn})

    def _list_models(self, request: AwsRequest) -> Response:
        """moto answers every model in one page and ignores the filters; SageMaker filters
        (NameContains, CreationTimeBefore/After), sorts (CreationTime descending unless
        told) and pages (MaxResults, default 10, up to 100; NextToken)."""
        params = request.json()
        contains = params.get("NameContains") or ""
        before, after = params.get("CreationTimeBefore"), params.get("CreationTimeAfter")
        with self.lock:
            models = [
                (model.model_name, model.arn, _epoch(model.creation_time))
                for model in self._backend(request).list_models()
            ]
        models = [
            m
            for m in models
            if contains in m[0]
            and (before is None or m[2] < float(before))
            and (after is None or m[2] > float(after))
        ]
        by_name = params.get("SortBy") == "Name"
        models.sort(
            key=lambda m: (m[0], m[2]) if by_name else (m[2], m[0]),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or 10)
        page: dict[str, Any] = {
            "Models": [
                {"ModelName": name, "ModelArn": arn, "CreationTime": created}
                for name, arn, created in models[start : start + size]
            ]
        }
        if start + size < len(models):
            page["NextToken"] = str(start + size)
        return json_response(page)

    def _create_endpoint_config(self, request: AwsRequest) -> Response:
        """moto drops ShadowProductionVariants and more (_CONFIG_EXTRAS), checks less and
        describes a config without data capture with an (invalid) empty DataCaptureConfig."""
        params = request.json()
        production = params.get("ProductionVariants") or []
        shadow = params.get("ShadowProductionVariants") or []
        with self.lock:
            problem = self._config_problem(request, params)
            if problem:
                return error_response("ValidationException", problem)
            backend: Any = self._backend(request)  # moto types the optional members as required
            try:
                # moto checks instance types and serverless memory sizes: shadows' too.
                # A variant for inference components names no model: moto would look it up.
                config: Any = backend.create_endpoint_config(
                    endpoint_config_name=params.get("EndpointConfigName", ""),
                    production_variants=[v for v in (*production, *shadow) if "ModelName" in v],
                    data_capture_config=params.get("DataCaptureConfig"),
                    async_inference_config=params.get("AsyncInferenceConfig"),
                    tags=params.get("Tags"),
                    kms_key_id=params.get("KmsKeyId"),
                )
            except ServiceException as error:
                return error_response(error.code, error.message)
            config.production_variants = production
            config.data_capture_config = params.get("DataCaptureConfig")  # None, not {}
            for key, attribute in _CONFIG_EXTRAS:
                setattr(config, attribute, params.get(key))
            return json_response({"EndpointConfigArn": config.endpoint_config_arn})

    def _create_endpoint(self, request: AwsRequest) -> Response | None:
        params = request.json()
        name, config_name = params.get("EndpointName", ""), params.get("EndpointConfigName", "")
        with self.lock:
            if self._endpoint(request, name) is not None:
                return error_response(
                    "ValidationException",
                    "Cannot create already existing endpoint"
                    f' "{self._endpoint_arn(request, name)}".',
                )
            if config_name not in self._backend(request).endpoint_configs:
                return None  # moto answers the missing config itself
            backend = self._backend(request)
            # Not backend.create_endpoint: it reads the config's DataCaptureConfig, which the
            # overlay leaves out when there is none.
            endpoint = new_sagemaker_endpoint(
                self.account(request), request.region, name, config_name, params.get("Tags", [])
            )
            backend.endpoints[name] = endpoint
            self.show_config(endpoint, backend.endpoint_configs[config_name])
            endpoint.last_deployment_config = params.get("DeploymentConfig")
            endpoint.endpoint_status = "Creating"
            self.deployed[endpoint.arn] = self.deployment(backend, config_name)
            failure = self._missing_model_data(request, config_name)

            def finish() -> None:
                endpoint.endpoint_status = "Failed" if failure else "InService"
                endpoint.failure_reason = failure

            self._schedule(
                ("endpoint", request.region, name), self.settings.creating_seconds, finish
            )
            return json_response({"EndpointArn": endpoint.arn})

    def _scaled_variants_changing(
        self, request: AwsRequest, endpoint: Any, config: Any
    ) -> list[str]:
        """Autoscaled variants an update would remove or move to another instance type.

        SageMaker refuses such an update while the variant is a scalable target.
        """
        current = self._backend(request).endpoint_configs.get(endpoint.endpoint_config_name)
        if current is None:
            return []
        before = {v["VariantName"]: v.get("InstanceType") for v in current.production_variants}
        after = {v["VariantName"]: v.get("InstanceType") for v in config.production_variants}
        targets = get_backend("applicationautoscaling")[self.account(request)][request.region]
        registered = {
            t.resource_id
            for t in targets.describe_scalable_targets(
                "sagemaker", None, "sagemaker:variant:DesiredInstanceCount"
            )
        }
        return sorted(
            name
            for name, instance_type in before.items()
            if f"endpoint/{endpoint.endpoint_name}/variant/{name}" in registered
            and after.get(name, "<removed>") != instance_type
        )

    def _update_endpoint(self, request: AwsRequest) -> Response:
        params = request.json()
        name, config_name = params.get("EndpointName", ""), params.get("EndpointConfigName", "")
        with self.lock:
            endpoint = self._endpoint(request, name)
            if endpoint is None:
                return _not_found("endpoint", self._endpoint_arn(request, name))
            if endpoint.endpoint_status != "InService":
                return error_response(
                    "ValidationException",
                    f'Cannot update in-progress endpoint "{endpoint.arn}".',
                )
            backend = self._backend(request)
            config = backend.endpoint_configs.get(config_name)
            if config is None:
                return error_response(
                    "ValidationException",
                    f'Could not find endpoint configuration "{config_name}".',
                )
            blocked = self._scaled_variants_changing(request, endpoint, config)
            if blocked:
                return error_response(
                    "ValidationException",
                    f'Variant(s) {", ".join(blocked)} of endpoint "{endpoint.arn}" are'
                    " registered with Application Auto Scaling and this update changes their"
                    " instance type or removes them. Deregister the scalable targets first.",
                )
            guardrail = params.get("DeploymentConfig")
            if guardrail is None and params.get("RetainDeploymentConfig"):
                guardrail = getattr(endpoint, "last_deployment_config", None)
            if guardrail:
                problem = guardrails.deployment_problem(guardrail, config.production_variants)
                if problem:
                    return error_response("ValidationException", problem)
            endpoint.last_deployment_config = guardrail or None
            retain = bool(params.get("RetainAllVariantProperties"))
            excluded = {
                e.get("VariantPropertyType")
                for e in params.get("ExcludeRetainedVariantProperties") or []
            }
            endpoint.endpoint_status = "Updating"
            failure = self._missing_model_data(request, config_name)
            deployment = self.deployment(backend, config_name)
            account, region = self.account(request), request.region

            def finish() -> None:
                # A failed update rolls back: the endpoint keeps serving its old config.
                alarm = None if failure else guardrails.alarm_in_alarm(account, region, guardrail)
                if not failure and alarm is None:
                    before = {v["VariantName"]: dict(v) for v in endpoint.production_variants}
                    endpoint.endpoint_config_name = config_name
                    self.show_config(endpoint, config)
                    if retain:
                        _retain_variant_properties(endpoint, before, excluded)
                    self.deployed[endpoint.arn] = deployment
                endpoint.failure_reason = failure or (
                    guardrails.rollback_reason(alarm) if alarm else None
                )
                endpoint.endpoint_status = "InService"

            seconds = self.settings.updating_seconds + (
                self.settings.deployment_time_scale
                * guardrails.waiting_seconds(guardrail, config.production_variants)
            )
            self._schedule(("endpoint", region, name), seconds, finish)
            return json_response({"EndpointArn": endpoint.arn})

    def _update_weights_and_capacities(self, request: AwsRequest) -> Response:
        params = request.json()
        name = params.get("EndpointName", "")
        desired = params.get("DesiredWeightsAndCapacities", [])
        with self.lock:
            endpoint = self._endpoint(request, name)
            if endpoint is None:
                return _not_found("endpoint", self._endpoint_arn(request, name))
            if endpoint.endpoint_status != "InService":
                return error_response(
                    "ValidationException",
                    f'Cannot update in-progress endpoint "{endpoint.arn}".',
                )
            by_name = {v["VariantName"]: v for v in endpoint.production_variants}
            seen: set[str] = set()
            for change in desired:
                variant_name = change.get("VariantName")
                if variant_name in seen:
                    return error_response(
                        "ValidationException",
                        f'The variant name "{variant_name}" was non-unique within the request.',
                    )
                seen.add(variant_name)
                if variant_name not in by_name:
                    return error_response(
                        "ValidationException",
                        f'The variant name(s) "{variant_name}" is/are not present within'
                        f' endpoint configuration "{endpoint.endpoint_config_name}".',
                    )
            for change in desired:
                variant = by_name[change["VariantName"]]
                # Only what the request names changes; moto would null the rest.
                if "DesiredWeight" in change:
                    variant["DesiredWeight"] = float(change["DesiredWeight"])
                if "DesiredInstanceCount" in change:
                    variant["DesiredInstanceCount"] = int(change["DesiredInstanceCount"])
            endpoint.endpoint_status = "Updating"

            def finish() -> None:
                for variant in endpoint.production_variants:
                    if "DesiredWeight" in variant:
                        variant["CurrentWeight"] = variant["DesiredWeight"]
                    if "DesiredInstanceCount" in variant:
                        variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
                endpoint.endpoint_status = "InService"

            self._schedule(
                ("endpoint", request.region, name), self.settings.updating_seconds, finish
            )
            return json_response({"EndpointArn": endpoint.arn})

    def _delete_endpoint(self, request: AwsRequest) -> Response:
        name = request.json().get("EndpointName", "")
        with self.lock:
            endpoint = self._endpoint(request, name)
            if endpoint is None:
                return _not_found("endpoint", self._endpoint_arn(request, name))
            backend = self._backend(request)
            endpoint.endpoint_status = "Deleting"
            self._transitions.pop(("endpoint", request.region, name), None)

            def finish() -> None:
                backend.endpoints.pop(name, None)
                self.deployed.pop(endpoint.arn, None)

            self._schedule(
                ("endpoint", request.region, name), self.settings.deleting_seconds, finish
            )
            return Response(b"", status=200, content_type="application/x-amz-json-1.1")


def _shadow_problem(
    backend: SageMakerModelBackend,
    params: dict[str, Any],
    production: list[dict[str, Any]],
    shadow: list[dict[str, Any]],
) -> str | None:
    """What SageMaker documents against a config with shadow variants: one production and
    one shadow variant (the service model), and no serverless, asynchronous, multi-container
    or multi-model variants (the shadow test exclusions)."""
    if len(production) != 1 or len(shadow) != 1:
        return (
            "An endpoint configuration with ShadowProductionVariants must have exactly one"
            " variant in ProductionVariants and one in ShadowProductionVariants."
        )
    if params.get("AsyncInferenceConfig"):
        return "Shadow variants are not supported with AsyncInferenceConfig."
    for variant in (*production, *shadow):
        name = variant.get("VariantName", "")
        if "ServerlessConfig" in variant:
            return f"Shadow variants are not supported with serverless variant {name}."
        model: Any = backend._models[variant["ModelName"]]
        containers = [c or {} for c in model.containers or []]
        primary = model.primary_container or (containers[0] if containers else {})
        if len(containers) > 1:
            return (
                f"Shadow variants are not supported with multi-container model"
                f" {variant['ModelName']} (variant {name})."
            )
        if primary.get("Mode") == "MultiModel":
            return (
                f"Shadow variants are not supported with multi-model model"
                f" {variant['ModelName']} (variant {name})."
            )
    return None


def _deployed_variant(model_name: str, model: Any) -> DeployedVariant:
    if model is None:
        return DeployedVariant(model_name)
    containers: list[dict[str, Any]] = [c or {} for c in model.containers or []]
    primary: dict[str, Any] = model.primary_container or (
        containers[0] if len(containers) == 1 else {}
    )
    execution = getattr(model, "inference_execution_config", None) or {}
    multi_model = primary.get("Mode") == "MultiModel"
    return DeployedVariant(
        model_name,
        multi_model_prefix=primary.get("ModelDataUrl", "") if multi_model else None,
        container_hostnames=tuple(
            c["ContainerHostname"] for c in containers if c.get("ContainerHostname")
        ),
        direct_invocation=bool(containers) and execution.get("Mode") == "Direct",
    )


def _s3_has(s3: Any, url: str) -> bool:
    """Whether the S3 URI names an object, or a prefix with objects under it."""
    bucket_name, _, key = url.removeprefix("s3://").partition("/")
    bucket = s3.buckets.get(bucket_name)
    if bucket is None:
        return False
    if key in bucket.keys:
        return True
    prefix = key if key.endswith("/") else key + "/"
    return any(k.startswith(prefix) for k in bucket.keys)


def _retain_variant_properties(
    endpoint: Any, before: dict[str, dict[str, Any]], excluded: set[str | None]
) -> None:
    """UpdateEndpoint's RetainAllVariantProperties: variants in both configs keep their
    weights and instance counts, except the property types listed as excluded."""
    kept = {
        "DesiredWeight": ("CurrentWeight", "DesiredWeight"),
        "DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount"),
    }
    for variant in endpoint.production_variants:
        old = before.get(variant["VariantName"])
        if old is None:
            continue
        for property_type, keys in kept.items():
            if property_type in excluded:
                continue
            for key in keys:
                if key in old:
                    variant[key] = old[key]
