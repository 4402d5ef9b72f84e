"""SageMaker endpoint behaviour that moto lacks: status lifecycles, UpdateEndpoint,
UpdateEndpointWeightsAndCapacities that keeps counts, and model artifact checks.

State lives in moto's own backend objects; this module only adds time and rules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.s3.models import s3_backends
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend, sagemaker_backends
from werkzeug.wrappers import Response

from serving_operator.sandbox.wire import AwsRequest, error_response, json_response


@dataclass
class LifecycleSettings:
    creating_seconds: float = 2.0
    updating_seconds: float = 2.0
    deleting_seconds: float = 1.0

    def update(self, data: dict[str, Any]) -> None:
        self.creating_seconds = float(data.get("creatingSeconds", self.creating_seconds))
        self.updating_seconds = float(data.get("updatingSeconds", self.updating_seconds))
        self.deleting_seconds = float(data.get("deletingSeconds", self.deleting_seconds))


@dataclass
class _Transition:
    due: float
    apply: Callable[[], None]


def _not_found(kind: str, arn: str) -> Response:
    return error_response("ValidationException", f'Could not find {kind} "{arn}".')


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
        variants.append(entry)
    return variants


class SageMakerOverlay:
    """Handles the SageMaker operations moto gets wrong; everything else goes to moto."""

    def __init__(self, settings: LifecycleSettings, account_of: Callable[[str], str]) -> None:
        self.settings = settings
        self._account_of = account_of
        self._transitions: dict[tuple[str, str, str], _Transition] = {}
        self._lock = threading.RLock()
        self.handlers: dict[str, Callable[[AwsRequest], Response | None]] = {
            "CreateEndpoint": self._create_endpoint,
            "UpdateEndpoint": self._update_endpoint,
            "UpdateEndpointWeightsAndCapacities": self._update_weights_and_capacities,
            "DeleteEndpoint": self._delete_endpoint,
        }

    # -- time ---------------------------------------------------------------------------
    def advance(self, now: float | None = None) -> None:
        """Apply every status transition that is due; called before each SageMaker call."""
        now = time.monotonic() if now is None else now
        with self._lock:
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
    def _backend(self, request: AwsRequest) -> SageMakerModelBackend:
        backend: SageMakerModelBackend = sagemaker_backends[self._account_of(request.access_key)][
            request.region
        ]
        return backend

    def _missing_model_data(self, request: AwsRequest, config_name: str) -> str | None:
        """SageMaker's failure reason when a model artifact of the config is not in S3."""
        backend = self._backend(request)
        config = backend.endpoint_configs[config_name]
        s3 = s3_backends[self._account_of(request.access_key)]["aws"]
        for index, variant in enumerate(config.production_variants, start=1):
            model = backend._models.get(variant["ModelName"])
            if model is None:
                continue
            containers = model.containers or [model.primary_container or {}]
            for container in containers:
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

    def _endpoint_arn(self, request: AwsRequest, name: str) -> str:
        return FakeEndpoint.arn_formatter(
            name, self._account_of(request.access_key), request.region
        )

    # -- operations ---------------------------------------------------------------------
    def _create_endpoint(self, request: AwsRequest) -> Response | None:
        params = request.json()
        name, config_name = params.get("EndpointName", ""), params.get("EndpointConfigName", "")
        with self._lock:
            if self._endpoint(request, name) is not None:
                return error_response(
                    "ValidationException",
                    "Cannot create already existing endpoint"
                    f' "{self._endpoint_arn(request, name)}".',
                )
            if config_name not in self._backend(request).endpoint_configs:
                return None  # moto answers the missing config itself
            backend = self._backend(request)
            endpoint: Any = backend.create_endpoint(name, config_name, params.get("Tags", []))
            endpoint.production_variants = variants_from_config(
                backend.endpoint_configs[config_name].production_variants
            )
            if not endpoint.data_capture_config:
                endpoint.data_capture_config = None  # moto would describe it as {}
            endpoint.endpoint_status = "Creating"
            failure = self._missing_model_data(request, config_name)

            def finish() -> None:
                endpoint.endpoint_status = "Failed" if failure else "InService"
                endpoint.failure_reason = failure

            self._schedule(
                ("endpoint", request.region, name), self.settings.creating_seconds, finish
            )
            return json_response({"EndpointArn": endpoint.arn})

    def _update_endpoint(self, request: AwsRequest) -> Response:
        params = request.json()
        name, config_name = params.get("EndpointName", ""), params.get("EndpointConfigName", "")
        with self._lock:
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
            endpoint.endpoint_status = "Updating"
            failure = self._missing_model_data(request, config_name)

            def finish() -> None:
                # A failed update rolls back: the endpoint keeps serving its old config.
                if not failure:
                    endpoint.endpoint_config_name = config_name
                    endpoint.production_variants = variants_from_config(config.production_variants)
                endpoint.failure_reason = failure
                endpoint.endpoint_status = "InService"

            self._schedule(
                ("endpoint", request.region, name), self.settings.updating_seconds, finish
            )
            return json_response({"EndpointArn": endpoint.arn})

    def _update_weights_and_capacities(self, request: AwsRequest) -> Response:
        params = request.json()
        name = params.get("EndpointName", "")
        desired = params.get("DesiredWeightsAndCapacities", [])
        with self._lock:
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
        with self._lock:
            endpoint = self._endpoint(request, name)
            if endpoint is None:
                return _not_found("endpoint", self._endpoint_arn(request, name))
            backend = self._backend(request)
            endpoint.endpoint_status = "Deleting"
            self._transitions.pop(("endpoint", request.region, name), None)

            def finish() -> None:
                backend.endpoints.pop(name, None)

            self._schedule(
                ("endpoint", request.region, name), self.settings.deleting_seconds, finish
            )
            return Response(b"", status=200, content_type="application/x-amz-json-1.1")


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
