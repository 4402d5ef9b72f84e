"""Reading AWS requests and writing AWS-shaped answers, for the overlay's WSGI layer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")


@dataclass(frozen=True)
class AwsRequest:
    """Who is calling which operation of which service, as SigV4 and the protocol tell."""

    access_key: str
    region: str
    service: str
    operation: str
    body: bytes

    def json(self) -> dict[str, Any]:
        parsed = json.loads(self.body or b"{}")
        return parsed if isinstance(parsed, dict) else {}


def identify(request: Request, body: bytes) -> AwsRequest:
    match = _CREDENTIAL.search(request.headers.get("Authorization", ""))
    access_key, region, service = match.groups() if match else ("", "us-east-1", "")
    target = request.headers.get("X-Amz-Target", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif request.content_type and "x-www-form-urlencoded" in request.content_type:
        operation = parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
    else:
        operation = ""  # REST protocols (S3): the method and path say it; faults match "*"
    return AwsRequest(access_key, region, service, operation, body)


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(payload, default=_encode),
        status=status,
        content_type="application/x-amz-json-1.1",
    )


def error_response(code: str, message: str, status: int = 400) -> Response:
    response = json_response({"__type": code, "message": message}, status)
    response.headers["x-amzn-ErrorType"] = code
    return response


def _encode(value: Any) -> Any:
    if hasattr(value, "timestamp"):
        return value.timestamp()
    raise TypeError(f"cannot encode {type(value).__name__}")
