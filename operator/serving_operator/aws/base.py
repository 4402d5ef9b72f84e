"""What every service adapter shares: one instrumented, rate-limited way to call AWS."""

from __future__ import annotations

import time
from typing import Any

import botocore.exceptions
import botocore.parsers
from botocore import xform_name
from botocore.config import Config

from serving_operator import __version__
from serving_operator.aws.permissions import action_for
from serving_operator.aws.ratelimit import RateLimiter
from serving_operator.metrics import (
    AWS_CALL_SECONDS,
    AWS_CALLS,
    AWS_RATE_LIMIT_WAIT_SECONDS,
    AWS_RETRIES,
)
from serving_operator.planning.failures import AwsFailure, FailureCategory

# Botocore's adaptive mode retries throttling and 5xx with backoff and slows the client
# down when AWS throttles it.
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 6},
    user_agent_extra=f"serving-operator/{__version__}",
    connect_timeout=10,
    read_timeout=60,
)

# Error codes that mean "try again later", not "fix your spec".
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    }
)
# The credentials are missing, expired or not valid: a person must act.
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "TokenRefreshRequired",
    }
)
# The credentials are fine but lack a permission.
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}
)
# The object is mid-change: SageMaker says so in a ValidationException's message.
BUSY_ERROR_CODES = frozenset(
    {"ConflictException", "ConcurrentUpdateException", "ConcurrentModificationException"}
)
_BUSY_MESSAGES = ("in-progress", "in progress", "is in the process of")


class AwsError(Exception):
    """An AWS call failed: `transient` tells retry-later from fix-the-spec."""

    def __init__(self, service: str, operation: str, code: str, message: str, status: int):
        super().__init__(f"{service}.{operation}: {code}: {message}")
        self.service = service
        self.operation = operation
        self.code = code
        self.aws_message = message
        self.http_status = status

    @property
    def category(self) -> FailureCategory:
        if self.code in CREDENTIAL_ERROR_CODES:
            return FailureCategory.CREDENTIALS
        if self.code in ACCESS_DENIED_CODES:
            return FailureCategory.ACCESS_DENIED
        if self.code in TRANSIENT_ERROR_CODES or self.http_status >= 500:
            return FailureCategory.TRANSIENT
        message = self.aws_message.lower()
        if self.code in BUSY_ERROR_CODES or any(m in message for m in _BUSY_MESSAGES):
            return FailureCategory.BUSY
        return FailureCategory.REJECTED

    @property
    def transient(self) -> bool:
        return self.category in (FailureCategory.TRANSIENT, FailureCategory.BUSY)

    @property
    def failure(self) -> AwsFailure:
        return AwsFailure(
            service=self.service,
            operation=self.operation,
            code=self.code,
            message=self.aws_message,
            category=self.category,
            iam_action=action_for(self.service, self.operation),
        )


class ServiceAdapter:
    """Calls one AWS service through a boto3 client, rate-limited and counted."""

    service = ""

    def __init__(self, client: Any, limiter: RateLimiter) -> None:
        self._client = client
        self._limiter = limiter

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call `operation` (its AWS name, e.g. DescribeEndpoint); raise AwsError on failure."""
        method = getattr(self._client, xform_name(operation))
        waited = self._limiter.acquire()
        if waited > 0:
            AWS_RATE_LIMIT_WAIT_SECONDS.labels(self.service).inc(waited)
        started = time.monotonic()
        try:
            response: dict[str, Any] = dict(method(**params))
        except botocore.exceptions.ClientError as error:
            err = error.response.get("Error", {})
            meta: dict[str, Any] = dict(error.response.get("ResponseMetadata", {}))
            code = str(err.get("Code", "Unknown"))
            self._count(operation, code, meta, started)
            raise AwsError(
                self.service,
                operation,
                code,
                str(err.get("Message", "")),
                int(meta.get("HTTPStatusCode", 0)),
            ) from error
        except botocore.exceptions.BotoCoreError as error:
            self._count(operation, type(error).__name__, {}, started)
            raise AwsError(
                self.service, operation, type(error).__name__, str(error), 599
            ) from error
        except botocore.parsers.ResponseParserError as error:
            # Not a BotoCoreError: an answer that is not AWS's (a proxy's error page).
            self._count(operation, "UnreadableResponse", {}, started)
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            raise AwsError(
                self.service, operation, "UnreadableResponse", first_line, 599
            ) from error
        self._count(operation, "ok", dict(response.get("ResponseMetadata", {})), started)
        return response

    def _count(self, operation: str, outcome: str, meta: dict[str, Any], started: float) -> None:
        AWS_CALLS.labels(self.service, operation, outcome).inc()
        AWS_CALL_SECONDS.labels(self.service, operation).observe(time.monotonic() - started)
        retries = int(meta.get("RetryAttempts", 0))
        if retries:
            AWS_RETRIES.labels(self.service, operation).inc(retries)
