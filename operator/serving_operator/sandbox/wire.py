"""Reading AWS requests and writing AWS-shaped answers, for the overlay's WSGI layer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from serving_operator.sandbox.rest import rest_call

_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")
# SageMaker Runtime (REST-JSON, signed as "sagemaker"): POST /endpoints/{EndpointName}/invocations
# and, for InvokeEndpointAsync, POST /endpoints/{EndpointName}/async-invocations
_INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/invocations$")
_ASYNC_INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/async-invocations$")


@dataclass(frozen=True)
class AwsRequest:
    """Who is calling which operation of which service, as SigV4 and the protocol tell."""

    access_key: str
    region: str
    service: str
    operation: str
    body: bytes
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    """The request's headers, names in lower case."""
    query: dict[str, str] = field(default_factory=dict)
    """The query string's parameters (REST-JSON services put optional inputs there)."""
    path_params: dict[str, str] = field(default_factory=dict)
    """A REST-JSON operation's path labels (jobId, arn, ...), by the service model's names."""

    def json(self) -> dict[str, Any]:
        parsed = json.loads(self.body or b"{}")
        return parsed if isinstance(parsed, dict) else {}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def invoked_endpoint(self) -> str | None:
        """The EndpointName an InvokeEndpoint or InvokeEndpointAsync call names in its path."""
        if self.operation == "InvokeEndpointAsync":
            match = _ASYNC_INVOCATIONS.match(self.path)
        else:
            match = _INVOCATIONS.match(self.path) if self.operation == "InvokeEndpoint" else None
        return match.group(1) if match else None


def _s3_operation(request: Request) -> str:
    """The common S3 operations of a path-style REST-XML request (as AWS_ENDPOINT_URL makes
    boto3 send them); an unusual one is "S3:<METHOD>", so it is never mistaken for another."""
    bucket, _, key = request.path.lstrip("/").partition("/")
    args, method = request.args, request.method
    if "x-id" in args:
        return str(args["x-id"])  # newer botocore names the operation itself
    if not bucket:
        return "ListBuckets" if method == "GET" else f"S3:{method}"
    if key:
        by_method = {
            "GET": "GetObject",
            "HEAD": "HeadObject",
            "DELETE": "DeleteObject",
            "PUT": "CopyObject" if "x-amz-copy-source" in request.headers else "PutObject",
        }
    elif method == "GET":
        by_method = {"GET": "ListObjectsV2" if args.get("list-type") == "2" else "ListObjects"}
    else:
        by_method = {
            "HEAD": "HeadBucket",
            "PUT": "CreateBucket",
            "DELETE": "DeleteBucket",
            "POST": "DeleteObjects" if "delete" in args else "S3:POST",
        }
    subresources = set(args) - {"list-type", "prefix", "continuation-token", "max-keys"}
    if subresources - {"delete", "encoding-type", "delimiter", "start-after", "x-id"}:
        return f"S3:{method}"
    return by_method.get(method, f"S3:{method}")


def identify(request: Request, body: bytes) -> AwsRequest:
    match = _CREDENTIAL.search(request.headers.get("Authorization", ""))
    access_key, region, service = match.groups() if match else ("", "us-east-1", "")
    target = request.headers.get("X-Amz-Target", "")
    path_params: dict[str, str] = {}
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif service == "sagemaker" and request.method == "POST" and _INVOCATIONS.match(request.path):
        operation = "InvokeEndpoint"
    elif (
        service == "sagemaker"
        and request.method == "POST"
        and _ASYNC_INVOCATIONS.match(request.path)
    ):
        operation = "InvokeEndpointAsync"
    elif request.content_type and "x-www-form-urlencoded" in request.content_type:
        operation = parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
    elif service == "s3":
        operation = _s3_operation(request)
    else:
        # REST-JSON calls: the method and path say it (unmodelled ones: "").
        rest = rest_call(service, request.method, request.path)
        operation = rest.operation if rest else ""
        path_params = rest.params if rest else {}
    headers = {name.lower(): value for name, value in request.headers.items()}
    return AwsRequest(
        access_key,
        region,
        service,
        operation,
        body,
        request.path,
        headers,
        query=dict(request.args.items()),
        path_params=path_params,
    )


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


def rest_error_response(code: str, message: str, status: int = 400, **members: Any) -> Response:
    """An error of a REST-JSON service (SageMaker Runtime): the code rides in a header."""
    response = Response(
        json.dumps({"Message": message, **members}),
        status=status,
        content_type="application/json",
    )
    response.headers["x-amzn-ErrorType"] = code
    return response


def _encode(value: Any) -> Any:
    if hasattr(value, "timestamp"):
        return value.timestamp()
    raise TypeError(f"cannot encode {type(value).__name__}")
