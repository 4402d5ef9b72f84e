"""The sandbox server: one WSGI app in front of moto, sharing its in-memory state.

Besides moto's services it answers IAM's SimulatePrincipalPolicy (iam.py), SageMaker
Runtime's InvokeEndpoint (runtime.py) and InvokeEndpointAsync with its queue, S3 results,
SNS notifications and backlog metrics (async_inference.py), with
per-variant model behaviour (behaviour.py), records the AWS/SageMaker invocation metrics in
moto's CloudWatch and answers GetMetricData / GetMetricStatistics on them as CloudWatch does
(cloudwatch.py), and carries out Application Auto Scaling target tracking on SageMaker
variants and inference components (autoscaling.py). It hosts inference components, which
moto lacks, with their placement on the endpoint's instances (inference_components.py).
For edge models it runs Neo compilation jobs (neo.py), Greengrass
v2 components, deployments and core devices (greengrass.py) and the IoT jobs that carry
deployments to devices (iotjobs.py).

Admin API (JSON), for tests and demos:
  GET  /_sandbox/health            -> {"ok": true}
  GET  /_sandbox/settings          -> the current settings, as below
  POST /_sandbox/settings          any of {"creatingSeconds": 2, "updatingSeconds": 2,
                                    "deletingSeconds": 1, "coldStartMs": 300,
                                    "autoscalingWindowSeconds": 60,
                                    "deploymentTimeScale": 0,
                                    "metricPeriodSeconds": 60,
                                    "asyncProcessingSeconds": 1}
                                    (the defaults): how long endpoints stay Creating,
                                    Updating (also while autoscaling adds or removes
                                    instances) and Deleting; how long a multi-model
                                    endpoint's first call to a target model takes; how
                                    far back target tracking counts invocations per
                                    instance (it stands in for CloudWatch's minute); what
                                    a second of an UpdateEndpoint DeploymentConfig's wait
                                    intervals adds to Updating (0: nothing; guardrails.py);
                                    the period the invocation metrics are published at
                                    (their timestamps' grain; tests use 1); how long an
                                    asynchronous request takes once an instance takes it
                                   and the edge services' {"compilationStartingSeconds": 1,
                                    "compilationSeconds": 2, "compilationStoppingSeconds": 1,
                                    "componentSeconds": 1, "devicePickupSeconds": 0.5,
                                    "deviceApplySeconds": 1, "deviceRunSettleSeconds": 1,
                                    "runLifecycles": false, "jobMinuteSeconds": 60}
                                    (edge_settings.py): Neo's STARTING, INPROGRESS and
                                    STOPPING; a component version's REQUESTED; a notified
                                    device's QUEUED and IN_PROGRESS; how long a device that
                                    runs lifecycles watches a Run process before it counts
                                    as RUNNING; whether devices run the recipes' lifecycles
                                    for real (nucleus.py); what a minute of an IoT job's
                                    rollout rate or in-progress timeout lasts
  POST /_sandbox/behaviour         {"endpoint": "E", "variant": "V", "errorRate5xx": 0.02,
                                    "errorRate4xx": 0.0, "latencyMs": {"median": 20, "p99": 80},
                                    "seed": 7}: how variant V's model answers from now on: the
                                    share of calls it fails with a 5xx / a 4xx (the caller
                                    gets ModelError, HTTP 424), its latency (lognormal through
                                    median and p99; actually waited), seed (optional, else
                                    derived from E and V) of its own random stream, restarted
                                    by each POST. Unset variants answer at once, without errors.
                                    An inference component's name as V sets that component's.
  GET  /_sandbox/behaviour         [behaviour, ...]; ?endpoint=E&variant=V to filter
  DELETE /_sandbox/behaviour       forget them all; ?endpoint=E&variant=V for some
  POST /_sandbox/faults            {"service": "sagemaker", "operation": "DescribeEndpoint",
                                    "errorCode": "ThrottlingException", "httpStatus": 400,
                                    "count": 3, "latencyMs": 0, "latencyJitterMs": 0,
                                    "rate": 1.0, "seed": null}: the next `count` matching
                                    calls (-1: all) fail with that error (errorCode null:
                                    only slowed), each with probability `rate` from the
                                    fault's own random stream (faults.py); with
                                    "body": "<html>...</html>" (and "contentType",
                                    text/html by default) they answer that body as is at
                                    httpStatus instead of AWS's error shape, as a proxy's
                                    or load balancer's error page would
  GET  /_sandbox/faults            [{"service", "operation", "count"}, ...]: the faults not
                                    used up yet (a count-limited fault leaves once spent, i.e.
                                    as its last call starts waiting or failing)
  DELETE /_sandbox/faults          clear all faults
  POST /_sandbox/rate-limits       {"service": "sagemaker", "operation": "*", "perSecond": 10,
                                    "burst": 10}: AWS-side request limits, a token bucket
                                    per matching (service, operation); a call finding it
                                    empty gets ThrottlingException
  GET  /_sandbox/rate-limits       {"throttled": N}: calls refused since the last DELETE
  DELETE /_sandbox/rate-limits     lift them all
  GET  /_sandbox/calls             every AWS call seen: [{"service", "operation", "status",
                                    "target" (the EndpointName, ModelName,
                                    CompilationJobName... it names),
                                    "time" (epoch seconds when it was answered),
                                    "byOperator" (true when serving-operator's own
                                    clients made it; absent otherwise)}]
  DELETE /_sandbox/calls           forget them
  GET  /_sandbox/operator-operations  every [service, operation] serving-operator's own
                                    clients (user agent serving-operator/...) ever called
  POST /_sandbox/compilation-failures  {"namePattern": "bad-*", "reason": "..."}: Neo jobs
                                    whose names match the glob end FAILED with that reason
  DELETE /_sandbox/compilation-failures  forget them
  GET  /_sandbox/devices           the device table, first match wins
  POST /_sandbox/devices           {"thingName": "cam-*", "outcome": "succeed" | "fail" |
                                    "reject" | "timeout" | "offline", "detailedStatus":
                                    "FAILED_ROLLBACK_COMPLETE", "reason": "...", "platform":
                                    {"os": "linux", "architecture": "aarch64", any custom
                                    attribute}, "runLifecycle": true | false | null}: what
                                    the devices whose thing names match the glob do with
                                    job executions (iotjobs.py): a succeeding one that runs
                                    lifecycles (runLifecycle, else the runLifecycles
                                    setting) installs and runs the deployed components for
                                    real (nucleus.py); unmatched devices succeed
  DELETE /_sandbox/devices         forget the table
"""

from __future__ import annotations

import io
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from serving_operator.sandbox.async_inference import AsyncInference
from serving_operator.sandbox.autoscaling import Autoscaler
from serving_operator.sandbox.behaviour import BehaviourError, BehaviourTable, VariantBehaviour
from serving_operator.sandbox.cloudwatch import CloudWatchOverlay
from serving_operator.sandbox.edge_settings import EdgeSettings
from serving_operator.sandbox.faults import Fault, FaultTable, RateLimit, RateLimits
from serving_operator.sandbox.greengrass import GreengrassOverlay
from serving_operator.sandbox.iam import simulate_principal_policy
from serving_operator.sandbox.inference_components import InferenceComponentOverlay
from serving_operator.sandbox.iotjobs import IotJobs
from serving_operator.sandbox.moto_internals import (
    MotoRequestHandler,
    account_of_access_key,
    moto_wsgi_app,
)
from serving_operator.sandbox.neo import NeoOverlay
from serving_operator.sandbox.runtime import Runtime
from serving_operator.sandbox.sagemaker import LifecycleSettings, SageMakerOverlay
from serving_operator.sandbox.wire import AwsRequest, error_response, identify


class SandboxApp:
    def __init__(
        self, settings: LifecycleSettings | None = None, edge: EdgeSettings | None = None
    ) -> None:
        self.moto = moto_wsgi_app()
        self.faults = FaultTable()
        self.rate_limits = RateLimits()
        self.sagemaker = SageMakerOverlay(settings or LifecycleSettings(), account_of_access_key)
        self.edge_settings = edge or EdgeSettings()
        self.neo = NeoOverlay(self.edge_settings, account_of_access_key)
        self.iot_jobs = IotJobs(self.edge_settings, account_of_access_key)
        self.greengrass = GreengrassOverlay(
            self.edge_settings, account_of_access_key, self.iot_jobs
        )
        self.inference_components = InferenceComponentOverlay(self.sagemaker)
        self.autoscaling = Autoscaler(self.sagemaker, self.inference_components)
        self.behaviours = BehaviourTable()
        self.runtime = Runtime(
            self.sagemaker,
            self.autoscaling,
            behaviours=self.behaviours,
            components=self.inference_components,
        )
        self.async_inference = AsyncInference(self.sagemaker, self.behaviours)
        self.autoscaling.backlog = self.async_inference.backlog
        self.cloudwatch = CloudWatchOverlay(
            lambda call: account_of_access_key(call.access_key),
            lambda: self.sagemaker.settings.metric_period_seconds,
        )
        self._scopes: set[tuple[str, str]] = set()
        """The (account, region) pairs SageMaker or Application Auto Scaling was called in."""
        self.calls: list[dict[str, Any]] = []
        self.operator_operations: set[tuple[str, str]] = set()
        """Every (service, operation) serving-operator's own clients called, never forgotten."""
        self._calls_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/_sandbox/"):
            return self._admin(request)(environ, start_response)
        body = request.get_data(cache=True)
        # moto reads the body again; give it a fresh stream over the same bytes.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        call = identify(request, body)

        if not self.rate_limits.admit(call.service, call.operation, time.monotonic()):
            self._log(call, 400)
            return error_response("ThrottlingException", "Rate exceeded", 400)(
                environ, start_response
            )
        effect = self.faults.take(call.service, call.operation)
        if effect is not None:
            if effect.delay_seconds:
                time.sleep(effect.delay_seconds)
            fault = effect.error
            if fault is not None and fault.error_code:
                fault = _as_service_throttles(fault, call.service)
                self._log(call, fault.http_status)
                return _fault_response(fault)(environ, start_response)

        response = self._overlay(call)
        if response is not None:
            self._log(call, response.status_code)
            return response(environ, start_response)

        def logging_start_response(status: str, headers: Any, *args: Any) -> Any:
            self._log(call, int(status.split()[0]))
            return start_response(status, headers, *args)

        settle = self.cloudwatch.before_moto(call)
        result: Iterable[bytes] = self.moto(environ, logging_start_response)
        if settle is not None:
            settle()
        return result

    def advance(self) -> None:
        """Let time act: due status transitions, then autoscaling decisions."""
        self.sagemaker.advance()
        self.inference_components.advance()
        self.neo.advance()
        self.greengrass.advance()
        self.iot_jobs.advance()
        with self.sagemaker.lock:
            scopes = set(self._scopes)
        self.async_inference.advance()
        self.autoscaling.advance(scopes)

    def _overlay(self, call: AwsRequest) -> Response | None:
        if call.service == "iam" and call.operation == "SimulatePrincipalPolicy":
            return simulate_principal_policy(call)
        if call.service == "monitoring":
            return self.cloudwatch.handle(call)
        edge_handler = self._edge_handler(call)
        if edge_handler is not None:
            self.advance()
            return edge_handler(call)
        if call.service == "s3" and call.operation in ("GetObject", "HeadObject"):
            # A client waiting for an asynchronous result polls S3: let the queue move.
            self.advance()
        if call.service not in ("sagemaker", "application-autoscaling"):
            return None
        with self.sagemaker.lock:
            self._scopes.add((account_of_access_key(call.access_key), call.region))
        if call.service == "application-autoscaling":
            if call.operation.startswith("Describe"):
                self.advance()
            autoscaling_handler = self.autoscaling.handlers.get(call.operation)
            return autoscaling_handler(call) if autoscaling_handler else None
        self.advance()
        if call.operation == "InvokeEndpoint":
            return self.runtime.invoke(call)
        if call.operation == "InvokeEndpointAsync":
            return self.async_inference.invoke(call)
        component_handler = self.inference_components.handlers.get(call.operation)
        if component_handler is not None:
            answer = component_handler(call)
            if answer is not None:
                return answer
        handler = self.sagemaker.handlers.get(call.operation)
        return handler(call) if handler else None

    def _edge_handler(self, call: AwsRequest) -> Callable[[AwsRequest], Response] | None:
        """Neo's operations (signed as SageMaker), Greengrass v2's and IoT jobs'."""
        if call.service == "sagemaker":
            return self.neo.handlers.get(call.operation)
        if call.service == "greengrass" and call.path.startswith(("/greengrass/v2/", "/tags/")):
            return self.greengrass.handlers.get(call.operation)
        if call.service == "iot":
            return self.iot_jobs.handlers.get(call.operation)
        return None

    def _log(self, call: AwsRequest, status: int) -> None:
        entry: dict[str, Any] = {
            "service": call.service,
            "operation": call.operation,
            "status": status,
            # Benchmarks time a change to the AWS call it causes (bench/bench_reaction.py).
            "time": time.time(),
        }
        target = _target(call)
        if target:
            entry["target"] = target
        by_operator = _OPERATOR_AGENT in (call.header("User-Agent") or "")
        if by_operator:
            # A test sharing the sandbox with a running operator tells its calls apart.
            entry["byOperator"] = True
        with self._calls_lock:
            self.calls.append(entry)
            if by_operator:
                self.operator_operations.add((call.service, call.operation))

    def _admin(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/"))
        payload: Any = {"ok": True}
        if route == ("GET", "/_sandbox/health"):
            pass
        elif route == ("GET", "/_sandbox/settings"):
            payload = {**self.sagemaker.settings.to_json(), **self.edge_settings.to_json()}
        elif route == ("POST", "/_sandbox/settings"):
            try:
                self.sagemaker.settings.update(request.get_json(force=True))
                self.edge_settings.update(request.get_json(force=True))
            except (TypeError, ValueError) as error:
                return Response(json.dumps({"error": str(error)}), status=400)
        elif route == ("POST", "/_sandbox/faults"):
            try:
                self.faults.add(Fault.from_json(request.get_json(force=True)))
            except (TypeError, ValueError) as error:
                return Response(json.dumps({"error": str(error)}), status=400)
        elif route == ("GET", "/_sandbox/faults"):
            payload = self.faults.pending()
        elif route == ("DELETE", "/_sandbox/faults"):
            self.faults.clear()
        elif route == ("POST", "/_sandbox/rate-limits"):
            try:
                self.rate_limits.add(RateLimit.from_json(request.get_json(force=True)))
            except (TypeError, ValueError) as error:
                return Response(json.dumps({"error": str(error)}), status=400)
        elif route == ("GET", "/_sandbox/rate-limits"):
            payload = {"throttled": self.rate_limits.throttled}
        elif route == ("DELETE", "/_sandbox/rate-limits"):
            self.rate_limits.clear()
        elif route == ("GET", "/_sandbox/calls"):
            with self._calls_lock:
                payload = list(self.calls)
        elif route == ("DELETE", "/_sandbox/calls"):
            with self._calls_lock:
                self.calls.clear()
        elif route == ("GET", "/_sandbox/operator-operations"):
            with self._calls_lock:
                payload = sorted(self.operator_operations)
        elif route == ("POST", "/_sandbox/compilation-failures"):
            self.neo.force_failure(request.get_json(force=True))
        elif route == ("DELETE", "/_sandbox/compilation-failures"):
            self.neo.clear_forced_failures()
        elif route == ("GET", "/_sandbox/devices"):
            payload = [device.to_json() for device in self.iot_jobs.devices]
        elif route == ("POST", "/_sandbox/devices"):
            try:
                self.iot_jobs.set_device(request.get_json(force=True))
            except ValueError as error:
                return Response(json.dumps({"error": str(error)}), status=400)
        elif route == ("DELETE", "/_sandbox/devices"):
            self.iot_jobs.clear_devices()
        elif route == ("POST", "/_sandbox/behaviour"):
            try:
                behaviour = VariantBehaviour.from_json(request.get_json(force=True))
            except BehaviourError as invalid:
                return Response(json.dumps({"error": str(invalid)}), status=400)
            self.behaviours.set(behaviour)
            payload = behaviour.to_json()
        elif route == ("GET", "/_sandbox/behaviour"):
            payload = self.behaviours.describe(
                request.args.get("endpoint"), request.args.get("variant")
            )
        elif route == ("DELETE", "/_sandbox/behaviour"):
            forgotten = self.behaviours.reset(
                request.args.get("endpoint"), request.args.get("variant")
            )
            payload = {"ok": True, "forgotten": forgotten}
        else:
            return Response(json.dumps({"error": "no such admin route"}), status=404)
        return Response(json.dumps(payload), content_type="application/json")


_OPERATOR_AGENT = "serving-operator/"
_TARGET_KEYS = (
    "InferenceComponentName",  # before EndpointName: CreateInferenceComponent names both
    "EndpointName",
    "EndpointConfigName",
    "ModelName",
    "CompilationJobName",
    "ResourceArn",
)


def _as_service_throttles(fault: Fault, service: str) -> Fault:
    """S3 throttles with 503 SlowDown, not 400 ThrottlingException (S3 API Reference, "Error
    responses": SlowDown, 503 Service Unavailable). A 400 to a HEAD has no body to say why,
    and botocore then asks HeadBucket for the bucket's Region, which S3 never makes it do."""
    if (
        service == "s3"
        and fault.error_code == "ThrottlingException"
        and fault.http_status == 400
        and fault.body is None
    ):
        return replace(
            fault,
            error_code="SlowDown",
            http_status=503,
            message="Please reduce your request rate.",
        )
    return fault


def _fault_response(fault: Fault) -> Response:
    assert fault.error_code is not None
    if fault.body is not None:
        return Response(fault.body, status=fault.http_status, content_type=fault.content_type)
    return error_response(fault.error_code, fault.message, fault.http_status)


def _target(call: AwsRequest) -> str | None:
    """The resource a JSON-protocol call names, so tests can count calls per endpoint."""
    if call.invoked_endpoint is not None:
        return call.invoked_endpoint
    if not call.body.startswith(b"{"):
        return None
    try:
        params = call.json()
    except ValueError:
        return None
    return next((str(params[k]) for k in _TARGET_KEYS if k in params), None)


def serve(host: str = "127.0.0.1", port: int = 5000, settings_json: str | None = None) -> None:
    settings, edge = LifecycleSettings(), EdgeSettings()
    if settings_json:
        settings.update(json.loads(settings_json))
        edge.update(json.loads(settings_json))
    app = SandboxApp(settings, edge)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    # SIGTERM (how tests and `make demo-stop` end us) unwinds like Ctrl-C, so the core
    # devices' component processes are stopped and their folders removed (nucleus.py).
    signal.signal(signal.SIGTERM, _interrupt)
    # Tests start us on port 0 and read the real port from this line.
    print(f"sandbox listening on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.greengrass.fleet.shutdown()
        sys.stdout.flush()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
