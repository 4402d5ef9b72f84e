"""Every moto internal the sandbox needs, in one place: nothing else in the sandbox may import
from moto beyond its public surface (`moto.backends.get_backend`, `moto.core`'s exported
names); tests/sandbox/test_moto_internals.py enforces that, and checks each name below
against the installed moto, naming the version and the internal when one changes.

moto's internals change in patch releases (5.2.6 changed `determine_request_protocol`'s
signature). A name is here only because the sandbox cannot do without it: it has to answer
as moto answers (same protocol machinery, same accounts), or to work on moto's own state.
Where a wrapper fits, the rest of the sandbox calls the wrapper, so a change in moto is
mended here once.

The overlays keep their state in moto's backends, which they reach through the public
`get_backend("<service>")[account][region]`; the attributes they read and the methods they
call on those backends are listed and checked in the same test (_BACKEND_USES).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any, Literal
from urllib.parse import parse_qsl

import moto.applicationautoscaling.models as autoscaling_models
import moto.applicationautoscaling.responses as autoscaling_responses
from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum
from moto.core.exceptions import ServiceException
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import get_account_id_from
from moto.iot.models import IoTBackend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
from werkzeug.datastructures import Headers, MultiDict

__all__ = [
    "ApplicationAutoscalingBackend",
    "IoTBackend",
    "MetricAggregatedDatum",
    "MetricDatum",
    "MotoRequestHandler",
    "PolicyEffect",
    "Protocol",
    "SageMakerModelBackend",
    "ServiceException",
    "accept_scalable_dimension",
    "account_of_access_key",
    "moto_wsgi_app",
    "new_sagemaker_endpoint",
    "parse_request",
    "policy_effect",
    "serialize_response",
]

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]

# -- the server ----------------------------------------------------------------------------
# moto's documented server (`moto_server`, `moto.server.ThreadedMotoServer`) only serves
# moto's own app on its own socket. The sandbox has to see every request first, in the same
# process and state, to answer some itself: so it wraps the WSGI app those servers build.


def moto_wsgi_app() -> WsgiApp:
    """moto's whole server as one WSGI app, dispatching by host and path to each service's
    app: what `moto_server` and ThreadedMotoServer run, via `DomainDispatcherApplication`
    and `create_backend_app`."""
    app: WsgiApp = DomainDispatcherApplication(create_backend_app)
    return app


# MotoRequestHandler: werkzeug's request handler as moto's servers use it, passed to
# werkzeug's make_server: it keeps request headers with underscores in their names, which
# werkzeug drops (S3 object metadata keys may have them).


def account_of_access_key(access_key: str) -> str:
    """The account moto files a request under: the one whose IAM user owns the access key,
    else moto's default account. The overlays must use moto's own rule (`moto.iam.models.
    get_account_id_from`) or they would look for moto's resources in another account."""
    account: str = get_account_id_from(access_key)
    return account


# -- the wire protocols --------------------------------------------------------------------
# The CloudWatch overlay reads requests and writes answers in the protocol the client used
# (JSON or query), exactly as moto would. botocore only has the client's half of each, and
# moto's parsers and serializers need moto's own service model (`moto.core.utils.
# get_service_model`: botocore's model classes extended with what a server needs, such as
# `is_flattened` and `http_trait`), not botocore's.

Protocol = Literal["json", "query"]


def parse_request(
    service: str, operation: str, protocol: Protocol, body: bytes, headers: Any, path: str
) -> dict[str, Any]:
    """The parameters of a request to `operation` of `service` (botocore's name, e.g.
    "cloudwatch"), by the operation's input shape: `moto.core.parse.PROTOCOL_PARSERS`,
    whose parsers take werkzeug's Headers and, for the query protocol, a MultiDict of the
    form values."""
    values: MultiDict[str, str] = MultiDict()
    if protocol == "query":
        values = MultiDict(parse_qsl(body.decode(), keep_blank_values=True))
    operation_model = get_service_model(service).operation_model(operation)
    parsed: dict[str, Any] = PROTOCOL_PARSERS[protocol](operation_model).parse(
        {
            "method": "POST",
            "values": values,
            "headers": Headers(headers),
            "body": body,
            "url_path": path,
            "url_params": {},
        }
    )
    return parsed


def serialize_response(
    service: str, operation: str, protocol: Protocol, result: Any
) -> tuple[str | bytes, int, dict[str, str]]:
    """(body, HTTP status, headers) of the answer to `operation`: `result` is a dict, or an
    object whose attributes are the output shape's members in snake_case, or a
    ServiceException; serialized by `moto.core.serialize.get_serializer_class` with its
    `XFormedAttributePicker` (which reads those snake_case attributes)."""
    operation_model = get_service_model(service).operation_model(operation)
    serializer = get_serializer_class(service, protocol)(
        operation_model, value_picker=XFormedAttributePicker()
    )
    serialized = serializer.serialize(result)
    return serialized["body"], int(serialized["status_code"]), dict(serialized["headers"])


# ServiceException: moto's base error, what its backends raise (with `code` and `message`)
# and what its serializers turn into an AWS error answer, the `code` looked up in the
# service model. The overlays catch it from backend calls and raise their own subclasses.


# -- IAM policy evaluation -----------------------------------------------------------------
PolicyEffect = Literal["Allow", "Deny", "None"]


def policy_effect(policy: Any, action: str) -> PolicyEffect:
    """What one of moto's IAM policies (inline or managed) says about `action` on any
    resource: the simulator decides as moto's own authorization does (`moto.iam.
    access_control.IAMPolicy`), rather than with a second policy evaluator."""
    result = IAMPolicy(policy).is_action_permitted(action)
    if result == PermissionResult.DENIED:
        return "Deny"
    if result == PermissionResult.PERMITTED:
        return "Allow"
    return "None"


# -- moto's state, where the overlays work on it -------------------------------------------
# MetricDatum (put with Value, or Values and Counts: `value`) and MetricAggregatedDatum
# (put as StatisticValues: `sample_count`, `sum`, `min`, `max`), both with `namespace`,
# `name`, `dimensions`, `unit` and `timestamp`: the CloudWatch overlay computes statistics
# and percentiles from the data moto stores, and has to tell the two kinds apart.


def new_sagemaker_endpoint(
    account: str, region: str, name: str, config_name: str, tags: list[dict[str, str]]
) -> Any:
    """A SageMaker endpoint in moto's model (`moto.sagemaker.models.FakeEndpoint`) with no
    variants and no data capture yet, for the overlay to fill in: the backend's own
    create_endpoint reads a DataCaptureConfig the overlay leaves out. Typed loosely: the
    overlay sets fields moto types narrowly (and moto's stubs call the class abstract)."""
    endpoint_class: Any = FakeEndpoint
    return endpoint_class(
        account_id=account,
        region_name=region,
        endpoint_name=name,
        endpoint_config_name=config_name,
        production_variants=[],
        data_capture_config={},
        tags=tags,
    )


# ApplicationAutoscalingBackend, IoTBackend, SageMakerModelBackend: the classes of the
# backends `moto.backends.get_backend` (public) returns, which its own type hints name; for
# the overlays' type annotations only.


# -- Application Auto Scaling's scalable dimensions ----------------------------------------
# moto checks ScalableDimension against its enum `ScalableDimensionValueSet`, read by name at
# each call in `moto.applicationautoscaling.models` (`_target_params_are_valid`) and
# `.responses` (`_validate_params`); it lacks dimensions botocore's model has, such as
# sagemaker:inference-component:DesiredCopyCount (application-autoscaling service-2.json,
# ScalableDimension). Both modules get an enum with the same members plus the new values.


def accept_scalable_dimension(dimension: str) -> None:
    """Make moto accept `dimension` (e.g. "sagemaker:inference-component:DesiredCopyCount")
    in every Application Auto Scaling operation; idempotent."""
    current: Any = autoscaling_models.ScalableDimensionValueSet
    values = {member.name: member.value for member in current}
    if dimension in values.values():
        return
    name = dimension.replace(":", "_").replace("-", "_").upper()
    extended: Any = Enum("ScalableDimensionValueSet", {**values, name: dimension})  # type: ignore[misc]
    autoscaling_models.ScalableDimensionValueSet = extended  # type: ignore[misc,assignment]
    autoscaling_responses.ScalableDimensionValueSet = extended  # type: ignore[attr-defined,assignment]
