"""SageMaker Runtime's InvokeEndpointAsync and the queue behind an asynchronous endpoint.

What AWS documents, and what is modelled here:

- The call (botocore sagemaker-runtime service model, InvokeEndpointAsync): POST
  /endpoints/{EndpointName}/async-invocations with the input in S3 (X-Amzn-SageMaker-
  InputLocation) or inline (the Body, at most 128,000 bytes; exactly one of the two), an
  optional X-Amzn-SageMaker-Inference-Id (generated when absent), Content-Type, Accept,
  Custom-Attributes, S3OutputPathExtension, Filename, RequestTTLSeconds (default 21,600)
  and InvocationTimeoutSeconds headers. The answer is HTTP 202 with the InferenceId in the
  JSON body and X-Amzn-SageMaker-OutputLocation / X-Amzn-SageMaker-FailureLocation headers.
  An endpoint whose config has no AsyncInferenceConfig refuses it ("AsyncInferenceConfig
  ... is a required field in order for your Endpoint to be invoked using
  InvokeEndpointAsync", CreateEndpointConfig), and an asynchronous endpoint refuses
  InvokeEndpoint (runtime.py).
- The queue ("Asynchronous inference", How it works): requests wait until an instance is
  free; each instance takes at most MaxConcurrentInvocationsPerInstance at a time (1 here
  when the config leaves it to SageMaker); each takes `asyncProcessingSeconds` (a sandbox
  setting, compressible). With 0 instances requests wait ("Requests that are received when
  there are zero instances are queued for processing once the endpoint scales up",
  "Autoscale an asynchronous endpoint"). A request older than its RequestTTLSeconds fails.
- The result (the developer guide's "Check prediction results"): the model's answer (the
  same stand-in document InvokeEndpoint answers, runtime.py) at
  <S3OutputPath>[/<S3OutputPathExtension>]/<Filename or InferenceId>.out; a failure at
  <S3FailurePath>/<InferenceId>-error.out with the error, when the config has a failure
  path. A failure is: the input object is missing, the request expired, or the variant's
  model fails the call (POST /_sandbox/behaviour with errorRate5xx or errorRate4xx: the
  documented way to make a sandbox model fail, the same as for InvokeEndpoint).
- Notifications: to the config's SuccessTopic / ErrorTopic in moto's SNS (a topic that does
  not exist is skipped), as a JSON event with invocationStatus, inferenceId,
  requestParameters and responseParameters; the inference response itself is included
  only for the topics IncludeInferenceResponseIn names.
- Metrics (SageMaker's "Monitoring with CloudWatch", asynchronous endpoint metrics, dimension
  EndpointName only): ApproximateBacklogSize (queued and in process),
  ApproximateBacklogSizePerInstance (that per instance; not published at 0 instances) and
  HasBacklogWithoutCapacity (1 while requests wait on 0 instances, else 0), one datum per
  endpoint per `metricPeriodSeconds`, for endpoints that have been invoked asynchronously.

Not modelled: KmsKeyId encryption of the output, the Accept header's effect on the answer,
InvocationTimeoutSeconds (the processing time is the setting), per-variant routing (an
asynchronous endpoint has one variant here; the operator allows only one).
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from moto.backends import get_backend
from werkzeug.wrappers import Response

from serving_operator.sandbox.behaviour import BehaviourTable
from serving_operator.sandbox.runtime import answer_document, period_start
from serving_operator.sandbox.s3objects import read_object, write_object
from serving_operator.sandbox.sagemaker import SageMakerOverlay
from serving_operator.sandbox.wire import AwsRequest, rest_error_response

METRICS_NAMESPACE = "AWS/SageMaker"
INLINE_BODY_LIMIT = 128_000  # botocore AsyncBodyBlob: "The inline payload can be up to 128,000"
DEFAULT_TTL_SECONDS = 21_600.0  # RequestTTLSeconds: "The default is 6 hours"
_SERVING = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack"})


@dataclass
class _Request:
    inference_id: str
    account: str
    region: str
    endpoint: str
    input_location: str | None
    body: bytes | None
    content_type: str | None
    output_location: str
    failure_location: str | None
    received: float  # time.monotonic()
    received_wall: float  # time.time()
    ttl_seconds: float
    started: float | None = None


@dataclass
class _EndpointQueue:
    waiting: deque[_Request] = field(default_factory=deque)
    running: list[_Request] = field(default_factory=list)
    last_period: float | None = None
    """The metric period the backlog metrics were last published for."""


def async_config(
    sagemaker: SageMakerOverlay, account: str, region: str, endpoint: Any
) -> dict[str, Any] | None:
    """The AsyncInferenceConfig of the config the endpoint runs (None: not asynchronous)."""
    config = sagemaker.backend_for(account, region).endpoint_configs.get(
        endpoint.endpoint_config_name
    )
    found: dict[str, Any] | None = getattr(config, "async_inference_config", None) or None
    return found


class AsyncInference:
    def __init__(self, sagemaker: SageMakerOverlay, behaviours: BehaviourTable) -> None:
        self.sagemaker = sagemaker
        self.behaviours = behaviours
        self._queues: dict[tuple[str, str, str], _EndpointQueue] = {}

    # -- the call -----------------------------------------------------------------------
    def invoke(self, request: AwsRequest) -> Response:
        account = self.sagemaker.account(request)
        name = request.invoked_endpoint or ""
        with self.sagemaker.lock:
            endpoint = self.sagemaker.endpoint_for(account, request.region, name)
            if endpoint is None or endpoint.endpoint_status == "Deleting":
                return _validation_error(f"Endpoint {name} of account {account} not found.")
            config = async_config(self.sagemaker, account, request.region, endpoint)
        if config is None:
            return _validation_error(
                f"Endpoint {name} of account {account} is not an asynchronous endpoint: its"
                " endpoint config has no AsyncInferenceConfig (use InvokeEndpoint)."
            )
        input_location = request.header("X-Amzn-SageMaker-InputLocation")
        body = request.body or None
        if (input_location is None) == (body is None):
            return _validation_error("Provide exactly one of InputLocation or Body.")
        if body is not None and len(body) > INLINE_BODY_LIMIT:
            return _validation_error(
                f"The inline Body is {len(body)} bytes; at most {INLINE_BODY_LIMIT} are allowed:"
                " put larger payloads in S3 and pass InputLocation."
            )
        if input_location is not None and not input_location.startswith("s3://"):
            return _validation_error(f"InputLocation {input_location} is not an S3 URI.")
        try:
            ttl = float(request.header("X-Amzn-SageMaker-RequestTTLSeconds") or DEFAULT_TTL_SECONDS)
        except ValueError:
            return _validation_error("RequestTTLSeconds must be a number of seconds.")
        inference_id = request.header("X-Amzn-SageMaker-Inference-Id") or str(uuid.uuid4())
        output = config["OutputConfig"]
        extension = (request.header("X-Amzn-SageMaker-S3OutputPathExtension") or "").strip("/")
        filename = request.header("X-Amzn-SageMaker-Filename") or f"{inference_id}.out"
        output_location = _join(output["S3OutputPath"], extension, filename)
        failure_path = output.get("S3FailurePath")
        failure_location = (
            _join(failure_path, f"{inference_id}-error.out") if failure_path else None
        )
        queued = _Request(
            inference_id=inference_id,
            account=account,
            region=request.region,
            endpoint=name,
            input_location=input_location,
            body=body if input_location is None else None,
            content_type=request.header("X-Amzn-SageMaker-Content-Type"),
            output_location=output_location,
            failure_location=failure_location,
            received=time.monotonic(),
            received_wall=time.time(),
            ttl_seconds=ttl,
        )
        with self.sagemaker.lock:
            queue = self._queues.setdefault((account, request.region, name), _EndpointQueue())
            queue.waiting.append(queued)
        self.advance()
        response = Response(
            json.dumps({"InferenceId": inference_id}), status=202, content_type="application/json"
        )
        response.headers["X-Amzn-SageMaker-OutputLocation"] = output_location
        if failure_location is not None:
            response.headers["X-Amzn-SageMaker-FailureLocation"] = failure_location
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response

    def backlog(self, account: str, region: str, endpoint: str) -> int:
        """Requests queued or in process for the endpoint (ApproximateBacklogSize)."""
        with self.sagemaker.lock:
            queue = self._queues.get((account, region, endpoint))
            return len(queue.waiting) + len(queue.running) if queue else 0

    # -- time ---------------------------------------------------------------------------
    def advance(self, now: float | None = None) -> None:
        """Finish what is done, start what capacity allows, publish the backlog metrics."""
        now = time.monotonic() if now is None else now
        done: list[tuple[_Request, Any]] = []
        expired: list[_Request] = []
        with self.sagemaker.lock:
            for key, queue in list(self._queues.items()):
                account, region, name = key
                endpoint = self.sagemaker.endpoint_for(account, region, name)
                if endpoint is None and not queue.waiting and not queue.running:
                    del self._queues[key]  # deleted, and nothing left to answer
                    continue
                config = (
                    async_config(self.sagemaker, account, region, endpoint) if endpoint else None
                )
                processing = self.sagemaker.settings.async_processing_seconds
                for running in list(queue.running):
                    assert running.started is not None
                    if running.started + processing <= now:
                        queue.running.remove(running)
                        done.append((running, endpoint))
                for waiting in list(queue.waiting):
                    if waiting.received + waiting.ttl_seconds <= now:
                        queue.waiting.remove(waiting)
                        expired.append(waiting)
                instances = _capacity(endpoint)
                per_instance = int(
                    ((config or {}).get("ClientConfig") or {}).get(
                        "MaxConcurrentInvocationsPerInstance"
                    )
                    or 1
                )
                while queue.waiting and len(queue.running) < instances * per_instance:
                    started = queue.waiting.popleft()
                    started.started = now
                    queue.running.append(started)
                self._publish_metrics(account, region, name, queue, instances)
        for request in expired:
            self._fail(
                request,
                f"Request {request.inference_id} expired after {request.ttl_seconds:g} s in the"
                " queue (RequestTTLSeconds).",
            )
        for finished, endpoint in done:
            self._finish(finished, endpoint)

    def _finish(self, request: _Request, endpoint: Any) -> None:
        """Run the model on the request (outside the lock: S3 and SNS take their own)."""
        if endpoint is None:
            self._fail(request, f"Endpoint {request.endpoint} was deleted during the request.")
            return
        payload = (
            request.body
            if request.input_location is None
            else read_object(request.account, request.input_location)
        )
        if payload is None:
            self._fail(
                request,
                f"Failed to download the input from {request.input_location}: no such object"
                " (or the endpoint's role may not read it).",
            )
            return
        with self.sagemaker.lock:
            variant = endpoint.production_variants[0]["VariantName"]
            deployed = self.sagemaker.deployed_variant(
                request.account, request.region, endpoint, variant
            )
        behaviour = self.behaviours.get(request.endpoint, variant)
        outcome = behaviour.draw() if behaviour is not None else None
        status = outcome.status if outcome is not None else 200
        if status >= 400:
            self._fail(
                request,
                f"Received {'server' if status >= 500 else 'client'} error ({status}) from"
                f' primary with message "the stand-in model failed this call with {status}".',
            )
            return
        model = deployed.model_name if deployed is not None else ""
        document = answer_document(variant, model, None, None, payload)
        answer = json.dumps(document).encode()
        write_object(request.account, request.output_location, answer)
        self._notify(request, success=True, response=answer.decode())

    def _fail(self, request: _Request, reason: str) -> None:
        error = json.dumps({"inferenceId": request.inference_id, "failureReason": reason})
        if request.failure_location is not None:
            write_object(request.account, request.failure_location, error.encode())
        self._notify(request, success=False, response=error, reason=reason)

    # -- notifications ------------------------------------------------------------------
    def _notify(
        self, request: _Request, *, success: bool, response: str, reason: str | None = None
    ) -> None:
        with self.sagemaker.lock:
            endpoint = self.sagemaker.endpoint_for(
                request.account, request.region, request.endpoint
            )
            config = (
                async_config(self.sagemaker, request.account, request.region, endpoint)
                if endpoint
                else None
            )
        notification = ((config or {}).get("OutputConfig") or {}).get("NotificationConfig") or {}
        topic = notification.get("SuccessTopic" if success else "ErrorTopic")
        if not topic:
            return
        included = notification.get("IncludeInferenceResponseIn") or []
        kind = "SUCCESS_NOTIFICATION_TOPIC" if success else "ERROR_NOTIFICATION_TOPIC"
        event: dict[str, Any] = {
            "awsRegion": request.region,
            "eventTime": _iso(time.time()),
            "receivedTime": _iso(request.received_wall),
            "invocationStatus": "Completed" if success else "Failed",
            "requestParameters": {
                "endpointName": request.endpoint,
                **({"contentType": request.content_type} if request.content_type else {}),
                **({"inputLocation": request.input_location} if request.input_location else {}),
            },
            "responseParameters": (
                {"contentType": "application/json", "outputLocation": request.output_location}
                if success
                else {
                    **(
                        {"failureLocation": request.failure_location}
                        if request.failure_location
                        else {}
                    )
                }
            ),
            "inferenceId": request.inference_id,
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
        if reason is not None:
            event["failureReason"] = reason
        if kind in included:
            event["inferenceResponse"] = response
        sns = get_backend("sns")[request.account][request.region]
        if topic in sns.topics:
            sns.publish(json.dumps(event), arn=topic)

    # -- metrics ------------------------------------------------------------------------
    def _publish_metrics(
        self, account: str, region: str, name: str, queue: _EndpointQueue, instances: int
    ) -> None:
        period_seconds = self.sagemaker.settings.metric_period_seconds
        stamp = period_start(time.time(), period_seconds)
        if queue.last_period == stamp.timestamp():
            return
        queue.last_period = stamp.timestamp()
        backlog = len(queue.waiting) + len(queue.running)
        values = [
            ("ApproximateBacklogSize", float(backlog)),
            ("HasBacklogWithoutCapacity", 1.0 if backlog and not instances else 0.0),
        ]
        if instances:
            values.append(("ApproximateBacklogSizePerInstance", backlog / instances))
        get_backend("cloudwatch")[account][region].put_metric_data(
            METRICS_NAMESPACE,
            [
                {
                    "MetricName": metric,
                    "Value": value,
                    "Dimensions": [{"Name": "EndpointName", "Value": name}],
                    "Unit": "None",
                    "Timestamp": stamp,
                }
                for metric, value in values
            ],
        )


def _capacity(endpoint: Any) -> int:
    """Instances serving the endpoint's (one) variant now."""
    if endpoint is None or endpoint.endpoint_status not in _SERVING:
        return 0
    variants = endpoint.production_variants or []
    return int(variants[0].get("CurrentInstanceCount") or 0) if variants else 0


def _join(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *(p for p in parts if p)])


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _validation_error(message: str) -> Response:
    return rest_error_response("ValidationError", message, 400)
