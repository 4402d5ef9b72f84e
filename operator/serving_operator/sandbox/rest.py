"""REST-JSON services (Greengrass v2, IoT): which operation a method and path name, read
from botocore's service models, and AWS-shaped REST-JSON answers.

The request's SigV4 scope names the signing service ("greengrass", "iot"); the operation is
found by matching the path against each operation's requestUri, as API Gateway would.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import botocore.session
from werkzeug.wrappers import Response

# Signing name -> the botocore service models whose operations it signs for.
_MODELS_BY_SIGNING_NAME = {"greengrass": ("greengrassv2",), "iot": ("iot",)}
_LABEL = re.compile(r"\{([^}+]+)(\+?)\}")


@dataclass(frozen=True)
class Route:
    service: str
    """The botocore service name (greengrassv2, iot)."""
    operation: str
    method: str
    pattern: re.Pattern[str]
    literal_length: int
    """How much of the path is fixed text: the more, the more specific the route."""


@dataclass(frozen=True)
class RestCall:
    service: str
    operation: str
    params: dict[str, str]
    """The path's labels."""


def _compile(request_uri: str) -> re.Pattern[str]:
    path = request_uri.split("?", 1)[0]
    regex, position = "", 0
    for label in _LABEL.finditer(path):
        regex += re.escape(path[position : label.start()])
        greedy = label.group(2) == "+"
        regex += f"(?P<{label.group(1)}>{'.+' if greedy else '[^/]+'})"
        position = label.end()
    regex += re.escape(path[position:])
    return re.compile(f"^{regex}$")


@functools.cache
def _routes(signing_name: str) -> tuple[Route, ...]:
    session = botocore.session.get_session()
    routes: list[Route] = []
    for service in _MODELS_BY_SIGNING_NAME.get(signing_name, ()):
        model = session.get_service_model(service)
        for operation in model.operation_names:
            http = model.operation_model(operation).http
            uri = http["requestUri"].split("?", 1)[0]
            routes.append(
                Route(
                    service,
                    operation,
                    http["method"],
                    _compile(uri),
                    len(_LABEL.sub("", uri)),
                )
            )
    # Fixed text beats a label: PUT /thing-groups/addThingToThingGroup is not
    # PUT /thing-groups/{thingGroupName}.
    routes.sort(key=lambda route: -route.literal_length)
    return tuple(routes)


def rest_call(signing_name: str, method: str, path: str) -> RestCall | None:
    """The operation a REST request names, with its path labels; None if none matches."""
    for route in _routes(signing_name):
        if route.method != method:
            continue
        match = route.pattern.match(path)
        if match:
            params = dict(match.groupdict())  # WSGI has decoded the path already
            return RestCall(route.service, route.operation, params)
    return None


def rest_response(payload: dict[str, Any] | None, status: int = 200) -> Response:
    body = b"" if payload is None else json.dumps(payload).encode()
    return Response(body, status=status, content_type="application/json")


def rest_error(code: str, message: str, status: int, **members: Any) -> Response:
    """A REST-JSON error: the code in x-amzn-ErrorType, the members in lower camel case."""
    response = Response(
        json.dumps({"message": message, **members}), status=status, content_type="application/json"
    )
    response.headers["x-amzn-ErrorType"] = code
    return response


def rest_page(
    query: dict[str, str], key: str, items: list[dict[str, Any]], default_size: int
) -> Response:
    """One page of a list operation; nextToken is the offset of the next page."""
    start = int(query.get("nextToken") or 0)
    size = int(query.get("maxResults") or default_size)
    answer: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        answer["nextToken"] = str(start + size)
    return rest_response(answer)
