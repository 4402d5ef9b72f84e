"""SageMaker Runtime's InvokeEndpoint, served from the endpoints moto holds.

A stand-in model answers: routing by variant weight or X-Amzn-SageMaker-Target-Variant,
multi-model endpoints loading each target model from S3 on first use (a cold start of
`coldStartMs`), direct invocation of one container of a multi-container model by hostname.
Each variant's model answers as its behaviour says (behaviour.py: error rates, latency); a
model that fails makes the call fail with ModelError (HTTP 424) naming the model's own status,
as SageMaker does. Each call leaves the AWS/SageMaker metrics SageMaker publishes in moto's
CloudWatch (one datum per call: Invocations, Invocation4XXErrors and Invocation5XXErrors as
0 or 1, so that Average is the error rate; ModelLatency and OverheadLatency in microseconds),
stamped with the start of their `metricPeriodSeconds` period, and an invocation count the
autoscaler tracks.

The runtime is REST-JSON: errors carry their code in x-amzn-ErrorType. Invalid calls get
ValidationError (400), the error code the service model declares and SageMaker sends.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import random
import time
import uuid
from typing import Any

from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox.autoscaling import Autoscaler
from serving_operator.sandbox.behaviour import BehaviourTable
from serving_operator.sandbox.inference_components import Component, InferenceComponentOverlay
from serving_operator.sandbox.sagemaker import DeployedVariant, SageMakerOverlay
from serving_operator.sandbox.wire import AwsRequest, rest_error_response

METRICS_NAMESPACE = "AWS/SageMaker"
TARGET_VARIANT = "X-Amzn-SageMaker-Target-Variant"
TARGET_MODEL = "X-Amzn-SageMaker-Target-Model"
TARGET_CONTAINER = "X-Amzn-SageMaker-Target-Container-Hostname"
# InvokeEndpointInput's InferenceComponentName (botocore's sagemaker-runtime model).
TARGET_COMPONENT = "X-Amzn-SageMaker-Inference-Component"
# SageMaker's answers about the header, as users quote them (e.g. LiteLLM's SageMaker
# provider matches "Inference Component Name header is required").
COMPONENT_REQUIRED = (
    "Inference Component Name header is required for endpoints to which you plan to deploy"
    " inference components. Please include Inference Component Name header or consider using"
    " SageMaker models."
)
COMPONENT_NOT_ALLOWED = (
    "Inference Component Name header is not allowed for endpoints to which you dont plan to"
    " deploy inference components. Please remove the Inference Component Name header and try"
    " again."
)
# A component with no copies (scaled to zero): the answer the scale-from-zero alarm counts
# as NoCapacityInvocationFailures (wording not confirmed against SageMaker's).
NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may"
    " be in-progress (if configured) or try to increase the capacity by invoking"
    " UpdateInferenceComponentRuntimeConfig API."
)
# An endpoint being updated (by UpdateEndpoint or autoscaling) keeps serving its old fleet.
_SERVING = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack"})


class _InvalidCallError(Exception):
    def __init__(self, message: str, variant: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.variant = variant


class Runtime:
    def __init__(
        self,
        sagemaker: SageMakerOverlay,
        autoscaler: Autoscaler,
        seed: int = 0,
        behaviours: BehaviourTable | None = None,
        components: InferenceComponentOverlay | None = None,
    ) -> None:
        self.sagemaker = sagemaker
        self.autoscaler = autoscaler
        self.behaviours = behaviours or BehaviourTable()
        self.components = components
        self._random = random.Random(seed)

    def invoke(self, request: AwsRequest) -> Response:
        started = time.monotonic()
        account = self.sagemaker.account(request)
        name = request.invoked_endpoint or ""
        endpoint = self.sagemaker.endpoint_for(account, request.region, name)
        if endpoint is None or endpoint.endpoint_status == "Deleting":
            return _validation_error(f"Endpoint {name} of account {account} not found.")
        if endpoint.endpoint_status not in _SERVING:
            self._put_metrics(account, request.region, name, None, [("Invocation4XXErrors", 1.0)])
            return _validation_error(
                f"Endpoint {name} of account {account} is not in service"
                f" (status: {endpoint.endpoint_status})."
            )
        component_name = request.header(TARGET_COMPONENT) or None
        if self.components is not None:
            hosts = self.components.hosts_components(account, request.region, endpoint)
            if component_name is not None and not hosts:
                return _validation_error(COMPONENT_NOT_ALLOWED)
            if hosts:
                if component_name is None:
                    return _validation_error(COMPONENT_REQUIRED)
                return self._invoke_component(account, request, name, component_name, started)
        try:
            variant, deployed = self._route(account, request, endpoint)
            target_model = request.header(TARGET_MODEL) or None
            hostname = request.header(TARGET_CONTAINER) or None
            self._check_container(name, deployed, hostname, variant)
            if target_model is not None or deployed.multi_model_prefix is not None:
                self._load(account, name, deployed, target_model, variant)
        except _InvalidCallError as rejected:
            dimension_variant = rejected.variant
            self._put_metrics(
                account, request.region, name, dimension_variant, [("Invocation4XXErrors", 1.0)]
            )
            return _validation_error(rejected.message)

        behaviour = self.behaviours.get(name, variant)
        model_started = time.monotonic()
        outcome = behaviour.draw() if behaviour is not None else None
        if outcome is not None and outcome.latency_ms > 0:
            time.sleep(outcome.latency_ms / 1000)
        document = {
            "variant": variant,
            "model": deployed.model_name,
            "targetModel": target_model,
            "containerHostname": hostname,
            "prediction": _prediction(deployed.model_name, target_model, request.body),
        }
        # A configured model's latency is the one drawn (what the model "took"), so that
        # the recorded percentiles are those of the configured distribution.
        model_us = (
            outcome.latency_ms * 1000
            if outcome is not None
            else (time.monotonic() - model_started) * 1_000_000
        )
        model_status = outcome.status if outcome is not None else 200
        instances = self._instance_count(endpoint, variant)
        overhead_us = max(0.0, (time.monotonic() - started) * 1_000_000 - model_us)
        metrics = [
            ("Invocations", 1.0),
            ("Invocation4XXErrors", 1.0 if 400 <= model_status < 500 else 0.0),
            ("Invocation5XXErrors", 1.0 if model_status >= 500 else 0.0),
            ("ModelLatency", model_us),
            ("OverheadLatency", overhead_us),
        ]
        if instances:
            metrics.append(("InvocationsPerInstance", 1.0 / instances))
        self._put_metrics(account, request.region, name, variant, metrics)
        self.autoscaler.record_invocation(account, request.region, name, variant)
        if model_status >= 400:
            return _model_error(account, request.region, name, model_status, hostname)

        response = Response(json.dumps(document), status=200, content_type="application/json")
        response.headers["x-Amzn-Invoked-Production-Variant"] = variant
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response

    # -- inference components -----------------------------------------------------------
    def _invoke_component(
        self, account: str, request: AwsRequest, endpoint: str, name: str, started: float
    ) -> Response:
        """A call to one inference component: served by its copies (an adapter's by its base
        component's), answered as its behaviour says (behaviour.py, with the component's name
        as the variant), metrics under the InferenceComponentName dimension."""
        assert self.components is not None
        region = request.region
        with self.sagemaker.lock:
            component = self.components.component(account, region, name)
            if component is None or component.endpoint_name != endpoint:
                return _validation_error(
                    f"Inference Component {name} not found for endpoint {endpoint}"
                    f" of account {account}."
                )
            serving: Component | None = component
            if component.adapter:
                serving = self.components.component(
                    account, region, str(component.spec["BaseInferenceComponentName"])
                )
            copies = serving.current if serving is not None else 0
            status = component.status
            variant = component.variant_name
            model = str(
                component.spec.get("ModelName")
                or (component.spec.get("Container") or {}).get("Image")
                or ""
            )
        if status not in ("InService", "Updating"):
            self._put_component_metrics(account, region, name, [("Invocation4XXErrors", 1.0)])
            return _validation_error(
                f"Inference Component {name} of endpoint {endpoint} is not in service"
                f" (status: {status})."
            )
        if copies <= 0:
            self._put_component_metrics(
                account, region, name, [("NoCapacityInvocationFailures", 1.0)]
            )
            self.autoscaler.record_component_invocation(account, region, name, served=False)
            return _validation_error(NO_CAPACITY)

        behaviour = self.behaviours.get(endpoint, name)
        outcome = behaviour.draw() if behaviour is not None else None
        if outcome is not None and outcome.latency_ms > 0:
            time.sleep(outcome.latency_ms / 1000)
        model_us = outcome.latency_ms * 1000 if outcome is not None else 0.0
        model_status = outcome.status if outcome is not None else 200
        overhead_us = max(0.0, (time.monotonic() - started) * 1_000_000 - model_us)
        self._put_component_metrics(
            account,
            region,
            name,
            [
                ("Invocations", 1.0),
                ("InvocationsPerCopy", 1.0 / copies),
                ("Invocation4XXErrors", 1.0 if 400 <= model_status < 500 else 0.0),
                ("Invocation5XXErrors", 1.0 if model_status >= 500 else 0.0),
                ("ModelLatency", model_us),
                ("OverheadLatency", overhead_us),
            ],
        )
        self.autoscaler.record_component_invocation(account, region, name, served=True)
        if model_status >= 400:
            return _model_error(account, region, endpoint, model_status, None)
        document = {
            "variant": variant,
            "inferenceComponent": name,
            "model": model,
            "prediction": _prediction(f"{name}\0{model}", None, request.body),
        }
        response = Response(json.dumps(document), status=200, content_type="application/json")
        response.headers["x-Amzn-Invoked-Production-Variant"] = variant
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response

    def _put_component_metrics(
        self, account: str, region: str, component: str, values: list[tuple[str, float]]
    ) -> None:
        timestamp = _period_start(time.time(), self.sagemaker.settings.metric_period_seconds)
        get_backend("cloudwatch")[account][region].put_metric_data(
            METRICS_NAMESPACE,
            [
                {
                    "MetricName": metric,
                    "Value": value,
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": component}],
                    "Unit": "Microseconds" if metric.endswith("Latency") else "None",
                    "Timestamp": timestamp,
                }
                for metric, value in values
            ],
        )

    # -- routing ------------------------------------------------------------------------
    def _route(
        self, account: str, request: AwsRequest, endpoint: Any
    ) -> tuple[str, DeployedVariant]:
        """The variant that serves the call: the one named, else one drawn by weight."""
        with self.sagemaker.lock:
            variants = [
                (v["VariantName"], float(v.get("CurrentWeight", 1.0)))
                for v in endpoint.production_variants
            ]
            named = request.header(TARGET_VARIANT)
            if named:
                if named not in {n for n, _ in variants}:
                    raise _InvalidCallError(
                        f"Variant {named} not found for endpoint {endpoint.endpoint_name}"
                        f" of account {account}."
                    )
                chosen = named
            elif not variants:
                raise _InvalidCallError(
                    f"Endpoint {endpoint.endpoint_name} has no production variants."
                )
            else:
                names = [n for n, _ in variants]
                weights = [w for _, w in variants]
                if sum(weights) <= 0:
                    weights = [1.0] * len(names)
                chosen = self._random.choices(names, weights)[0]
            deployed = self.sagemaker.deployed_variant(
                account, request.region, endpoint, chosen
            ) or DeployedVariant("")
            return chosen, deployed

    def _check_container(
        self, endpoint: str, deployed: DeployedVariant, hostname: str | None, variant: str
    ) -> None:
        if hostname is None:
            if deployed.direct_invocation:
                raise _InvalidCallError(
                    f"Endpoint {endpoint} invokes its containers directly: name one in the"
                    f" {TARGET_CONTAINER} header"
                    f" (one of {', '.join(deployed.container_hostnames) or 'none'}).",
                    variant,
                )
            return
        if not deployed.direct_invocation:
            raise _InvalidCallError(
                f"Endpoint {endpoint} is not a multi-container endpoint with direct invocation"
                f" and does not support the {TARGET_CONTAINER} header.",
                variant,
            )
        if hostname not in deployed.container_hostnames:
            raise _InvalidCallError(
                f"Container hostname {hostname} not found in endpoint {endpoint}"
                f" (its containers: {', '.join(deployed.container_hostnames)}).",
                variant,
            )

    def _load(
        self,
        account: str,
        endpoint: str,
        deployed: DeployedVariant,
        target_model: str | None,
        variant: str,
    ) -> None:
        """A multi-model endpoint's target model: from S3 on first use (cold), then cached."""
        prefix = deployed.multi_model_prefix
        if prefix is None:
            raise _InvalidCallError(
                f"Endpoint {endpoint} is not a multi-model endpoint and does not support"
                " target model header.",
                variant,
            )
        if target_model is None:
            raise _InvalidCallError(
                f"Endpoint {endpoint} is a multi-model endpoint: name the model to invoke in"
                f" the {TARGET_MODEL} header.",
                variant,
            )
        bucket, _, key_prefix = prefix.removeprefix("s3://").partition("/")
        key = f"{key_prefix.rstrip('/')}/{target_model.lstrip('/')}".lstrip("/")
        if not _s3_object_exists(account, bucket, key):
            raise _InvalidCallError(
                f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure"
                " that there is an object located at the URL and that the role passed to"
                " CreateModel has permissions to download the model.",
                variant,
            )
        with self.sagemaker.lock:
            cold = target_model not in deployed.loaded_models
        if cold:
            time.sleep(self.sagemaker.settings.cold_start_ms / 1000)
            with self.sagemaker.lock:
                deployed.loaded_models.add(target_model)

    # -- metrics ------------------------------------------------------------------------
    def _instance_count(self, endpoint: Any, variant: str) -> int:
        with self.sagemaker.lock:
            for v in endpoint.production_variants:
                if v["VariantName"] == variant:
                    return int(v.get("CurrentInstanceCount") or 0)
        return 0

    def _put_metrics(
        self,
        account: str,
        region: str,
        endpoint: str,
        variant: str | None,
        values: list[tuple[str, float]],
    ) -> None:
        dimensions = [{"Name": "EndpointName", "Value": endpoint}]
        if variant is not None:
            dimensions.append({"Name": "VariantName", "Value": variant})
        timestamp = _period_start(time.time(), self.sagemaker.settings.metric_period_seconds)
        get_backend("cloudwatch")[account][region].put_metric_data(
            METRICS_NAMESPACE,
            [
                {
                    "MetricName": metric,
                    "Value": value,
                    "Dimensions": dimensions,
                    "Unit": "Microseconds" if metric.endswith("Latency") else "None",
                    "Timestamp": timestamp,
                }
                for metric, value in values
            ],
        )


def _period_start(now: float, period_seconds: float) -> datetime.datetime:
    """The start of the metric period `now` falls in, as moto keeps timestamps (naive UTC):
    SageMaker publishes its invocation metrics once per period, not per call."""
    start = math.floor(now / period_seconds) * period_seconds if period_seconds > 0 else now
    return datetime.datetime.fromtimestamp(start, datetime.UTC).replace(tzinfo=None)


def _model_error(
    account: str, region: str, endpoint: str, status: int, hostname: str | None
) -> Response:
    """The model answered with an error: SageMaker answers 424 ModelError and passes the
    model's status and message on."""
    kind = "server" if status >= 500 else "client"
    original = json.dumps({"error": f"the stand-in model failed this call with {status}"})
    log_group = f"/aws/sagemaker/Endpoints/{endpoint}"
    message = (
        f"Received {kind} error ({status}) from {hostname or 'primary'} with message"
        f' "{original}". See https://{region}.console.aws.amazon.com/cloudwatch/home'
        f"?region={region}#logEventViewer:group={log_group} in account {account}"
        " for more information."
    )
    response = rest_error_response(
        "ModelError",
        message,
        424,
        OriginalStatusCode=status,
        OriginalMessage=original,
        LogStreamArn=f"arn:aws:logs:{region}:{account}:log-group:{log_group}",
    )
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


def _validation_error(message: str) -> Response:
    return rest_error_response("ValidationError", message, 400)


def _prediction(model: str, target_model: str | None, body: bytes) -> float:
    """A stand-in model's output: the same for the same model and request, in [0, 1)."""
    digest = hashlib.sha256(
        model.encode() + b"\0" + (target_model or "").encode() + b"\0" + body
    ).digest()
    return round(int.from_bytes(digest[:8], "big") / 2**64, 6)


def _s3_object_exists(account: str, bucket_name: str, key: str) -> bool:
    bucket = get_backend("s3")[account]["aws"].buckets.get(bucket_name)
    return bucket is not None and key in bucket.keys
