"""What every service adapter shares: one instrumented, rate-limited way to call AWS."""

from __future__ import annotations

import html
import http.client
import re
import threading
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
    AWS_CALL_ATTEMPTS,
    AWS_CALL_SECONDS,
    AWS_CALLS,
    AWS_RATE_LIMIT_WAIT_SECONDS,
    AWS_RETRIES,
    AWS_RETRY_WAIT_SECONDS,
)
from serving_operator.planning.failures import AwsFailure, FailureCategory

MAX_ATTEMPTS = 6
"""CLIENT_CONFIG's total_max_attempts: no AWS call is sent more often than this."""
# Botocore's standard mode retries throttling and 5xx up to MAX_ATTEMPTS times, each after
# an exponential backoff with jitter (up to 1 s, 2 s, 4 s...), per call. Not adaptive mode:
# its client-wide rate limiter, shared by every resource's calls to a service, cuts the rate
# after each throttled call and recovers slowly, so a steady share of throttled calls (AWS
# throttling some APIs of a busy account) held the whole operator near its floor of half a
# call per second and 65 resources never converged. The operator paces itself with its own
# client-side rate limits per service instead (aws/ratelimit.py).
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    user_agent_extra=f"serving-operator/{__version__}",
    connect_timeout=10,
    read_timeout=60,
)


class _AttemptClock(threading.local):
    """When the current call's last attempt was answered, and how long botocore waited
    before each retry: one per thread, as each call runs on one thread from start to end."""

    def __init__(self) -> None:
        self.answered_at: float | None = None
        self.waits: list[float] = []


_clock = _AttemptClock()


def _attempt_sent(**_: Any) -> None:
    """before-send, once per attempt: the gap since the previous attempt's answer is the
    wait before this retry. Returns None, so the request is sent."""
    if _clock.answered_at is not None:
        _clock.waits.append(time.monotonic() - _clock.answered_at)


def _attempt_answered(**_: Any) -> None:
    """needs-retry, once per attempt, before botocore sleeps its backoff."""
    _clock.answered_at = time.monotonic()


class _LastAnswer(threading.local):
    """The raw HTTP answer to the current call's last attempt, kept until the call ends: when
    it is not in AWS's shape (a proxy's or load balancer's error page), botocore's error
    carries a page of markup or nothing of it at all, and this is what is left to read."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.body: bytes | None = None


_last_answer = _LastAnswer()


def _answer_received(response_dict: dict[str, Any], **_: Any) -> None:
    """before-parse, once per attempt."""
    _last_answer.status = response_dict.get("status_code")
    body = response_dict.get("body")
    # A streaming output's body is a stream: reading it here would take it from its caller.
    _last_answer.body = body if isinstance(body, bytes) else None


def time_retries(client: Any) -> None:
    """Let the metrics show botocore's waits between attempts, and keep each attempt's raw
    answer for the error message (idempotent per client)."""
    client.meta.events.register("before-send", _attempt_sent, unique_id="serving-operator-sent")
    client.meta.events.register(
        "needs-retry", _attempt_answered, unique_id="serving-operator-answered"
    )
    client.meta.events.register(
        "before-parse", _answer_received, unique_id="serving-operator-answer"
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
# Quotas that free themselves: (operation, code) pairs retried with back-off, not Stalled.
# CreateCompilationJob's ResourceLimitExceeded is the account's quota of concurrent Neo
# compilation jobs (SageMaker API reference, CreateCompilationJob errors; Service Quotas
# "Concurrent compilation jobs"): it passes once running jobs end, as ours do.
WAITABLE_LIMITS = frozenset({("CreateCompilationJob", "ResourceLimitExceeded")})


UNREADABLE_RESPONSE = "UnreadableResponse"
"""The code of a failure whose answer is not in AWS's error shape."""
READABLE_LENGTH = 120
"""At most this many characters of an unreadable answer's text go into a message."""

_INVISIBLE_MARKUP = re.compile(
    r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]*>")


def readable_text(body: str) -> str:
    """The words of an answer: markup (and scripts and styles) stripped, on one line."""
    text = _TAG.sub(" ", _INVISIBLE_MARKUP.sub(" ", body))
    # Entities unescaped may spell markup (&lt;b&gt;): strip it once more.
    return " ".join(_TAG.sub(" ", html.unescape(text)).split())


def _shortened(text: str, limit: int = READABLE_LENGTH) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return f"{cut}…"


def describe_unreadable_answer(status: int | None, body: str) -> str:
    """One line for an answer that is not AWS's, e.g. `HTTP 502 Bad Gateway: nginx`: the
    status and the first words of the body, without the status repeated (error pages say it
    in their title and again in their heading)."""
    phrase = http.client.responses.get(status, "") if status else ""
    head = f"HTTP {status} {phrase}".rstrip() if status else "an answer that is not AWS's"
    text = readable_text(body)
    if status:
        repeated = "|".join(re.escape(part) for part in (str(status), phrase) if part)
        text = re.sub(rf"^(?:(?:{repeated})\b[\s:.-]*)+", "", text, flags=re.IGNORECASE)
    return f"{head}: {_shortened(text)}" if text else head


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
        if (
            self.code in TRANSIENT_ERROR_CODES
            or self.http_status >= 500
            or (self.operation, self.code) in WAITABLE_LIMITS
        ):
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
        time_retries(client)

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call `operation` (its AWS name, e.g. DescribeEndpoint); raise AwsError on failure."""
        method = getattr(self._client, xform_name(operation))
        waited = self._limiter.acquire()
        if waited > 0:
            AWS_RATE_LIMIT_WAIT_SECONDS.labels(self.service).inc(waited)
        _clock.answered_at, _clock.waits = None, []
        _last_answer.status, _last_answer.body = None, None
        started = time.monotonic()
        try:
            response: dict[str, Any] = dict(method(**params))
        except botocore.exceptions.ClientError as error:
            meta: dict[str, Any] = dict(error.response.get("ResponseMetadata", {}))
            failure = self._client_error(operation, dict(error.response.get("Error", {})), meta)
            self._count(operation, self.outcome_of(failure), meta, started)
            raise failure from error
        except botocore.exceptions.BotoCoreError as error:
            self._count(operation, type(error).__name__, {}, started)
            # botocore refused the request before sending it (a parameter against its
            # service model, e.g. FrameworkVersion "2"): no retry changes that, so it is a
            # 400, rejected; any other BotoCoreError (no connection, a timeout) stays 599.
            refused = isinstance(error, botocore.exceptions.ParamValidationError)
            raise AwsError(
                self.service, operation, type(error).__name__, str(error), 400 if refused else 599
            ) from error
        except botocore.parsers.ResponseParserError as error:
            # Not a BotoCoreError: an answer that is not AWS's (a proxy's error page) in a
            # protocol botocore parses strictly (XML). Whatever its status, nothing AWS said
            # can be judged: 599 keeps it transient, retried as any unexplained 5xx.
            self._count(operation, UNREADABLE_RESPONSE, {}, started)
            body = _last_answer.body.decode(errors="replace") if _last_answer.body else str(error)
            message = describe_unreadable_answer(_last_answer.status, body)
            raise AwsError(self.service, operation, UNREADABLE_RESPONSE, message, 599) from error
        finally:
            _last_answer.status, _last_answer.body = None, None
        self._count(operation, "ok", dict(response.get("ResponseMetadata", {})), started)
        return response

    def _client_error(
        self, operation: str, error: dict[str, Any], meta: dict[str, Any]
    ) -> AwsError:
        status = int(meta.get("HTTPStatusCode", 0)) or _last_answer.status or 0
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        if code and not code.isdigit():
            return AwsError(self.service, operation, code, message, status)
        # botocore found no error code and used the HTTP status instead: the answer came
        # from something between the operator and AWS (a proxy, a load balancer), and its
        # message is that thing's page, or, for a page that starts with <html>, only the
        # status's phrase (the page is then in the raw answer).
        body = message
        if _last_answer.body and message == http.client.responses.get(status, ""):
            body = _last_answer.body.decode(errors="replace")
        return AwsError(
            self.service,
            operation,
            UNREADABLE_RESPONSE,
            describe_unreadable_answer(status, body),
            status,
        )

    def outcome_of(self, error: AwsError) -> str:
        """The metrics' outcome label of a failed call: the AWS error code, unless the
        adapter takes the answer as success (an adapter may override this)."""
        return error.code

    def _count(self, operation: str, outcome: str, meta: dict[str, Any], started: float) -> None:
        AWS_CALLS.labels(self.service, operation, outcome).inc()
        AWS_CALL_SECONDS.labels(self.service, operation).observe(time.monotonic() - started)
        waits, _clock.answered_at, _clock.waits = _clock.waits, None, []
        retries = int(meta.get("RetryAttempts", len(waits)))
        if retries:
            AWS_RETRIES.labels(self.service, operation).inc(retries)
        AWS_CALL_ATTEMPTS.labels(self.service).observe(retries + 1)
        for retry, waited in enumerate(waits, start=1):
            AWS_RETRY_WAIT_SECONDS.labels(self.service, str(retry)).observe(waited)
