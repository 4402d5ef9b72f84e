"""AWS checks: region, the endpoint override, credentials, and (optionally) IAM permissions."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.config import Config

from serving_operator import __version__
from serving_operator.aws.base import ACCESS_DENIED_CODES, AwsError
from serving_operator.aws.iam import Iam, principal_arn
from serving_operator.aws.permissions import SIMULATION_CONTEXT, operator_action_names
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.sts import CallerIdentity, Sts
from serving_operator.preflight.results import CheckResult, failed, passed, skipped

REGION = "AWS region"
ENDPOINT = "AWS endpoint"
CREDENTIALS = "AWS credentials"
IAM = "AWS IAM permissions"

REGION_FIX = "export AWS_REGION=<region> (e.g. us-east-1), or set `region` in your AWS profile"
CREDENTIALS_FIX = (
    "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY;"
    " in a pod, give its service account an IAM role (IRSA or EKS Pod Identity)"
)
EXPIRED_FIX = "refresh the credentials (e.g. `aws sso login`, or new keys) and run again"
REJECTED_FIX = "the key is unknown to AWS or its secret is wrong: check the key pair in use"

# A check should answer in seconds: two tries, short timeouts (the operator's own clients
# retry longer).
CHECK_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2},
    user_agent_extra=f"serving-operator/{__version__}",
    connect_timeout=3,
    read_timeout=10,
)

_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_REJECTED = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AuthFailure",
    "IncompleteSignature",
}
_UNREACHABLE = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ReadTimeoutError",
    "ProxyConnectionError",
}
DENIED_CODES = ACCESS_DENIED_CODES


@dataclass(frozen=True)
class RegionSetting:
    region: str | None
    source: str
    """Where it came from: AWS_DEFAULT_REGION, AWS_REGION, or the profile."""
    conflict: str | None = None
    """Set when AWS_REGION and AWS_DEFAULT_REGION disagree."""
    problem: str | None = None
    """Set when the AWS configuration could not be read at all (e.g. a missing profile)."""


def adopt_aws_region() -> RegionSetting:
    """Find the region, honouring AWS_REGION (the variable AWS's docs and ours name).

    botocore reads only AWS_DEFAULT_REGION and the profile, so an AWS_REGION alone is copied
    into AWS_DEFAULT_REGION for this process: every boto3 client made later sees it.
    """
    default, plain = os.environ.get("AWS_DEFAULT_REGION"), os.environ.get("AWS_REGION")
    conflict = None
    if default and plain and default != plain:
        conflict = (
            f"AWS_REGION={plain} and AWS_DEFAULT_REGION={default} disagree; boto3 uses {default}"
        )
    if default:
        return RegionSetting(default, "AWS_DEFAULT_REGION", conflict)
    if plain:
        os.environ["AWS_DEFAULT_REGION"] = plain
        return RegionSetting(plain, "AWS_REGION")
    try:
        session = boto3.session.Session()
    except botocore.exceptions.BotoCoreError as error:
        return RegionSetting(None, "", problem=str(error))
    profile = session.profile_name or "default"
    return RegionSetting(session.region_name, f"profile {profile}")


def check_region(setting: RegionSetting) -> CheckResult:
    if setting.problem:
        return failed(REGION, setting.problem, "fix AWS_PROFILE or ~/.aws/config")
    if not setting.region:
        return failed(REGION, "no region set", REGION_FIX)
    if setting.conflict:
        return failed(REGION, setting.conflict, "unset one of them, or give both the same region")
    return passed(REGION, f"{setting.region} (from {setting.source})", region=setting.region)


def check_endpoint(timeout: float = 3.0) -> CheckResult:
    """AWS_ENDPOINT_URL (a sandbox, LocalStack, a VPC endpoint) must answer when it is set."""
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        return passed(ENDPOINT, "AWS's own (AWS_ENDPOINT_URL is not set)", url=None)
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            pass
    except urllib.error.HTTPError:
        pass  # It answered; an error status for `GET /` says nothing about the API.
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return failed(
            ENDPOINT,
            f"AWS_ENDPOINT_URL={url} does not answer: {reason}",
            "start what it points at (e.g. `serving-operator sandbox`), or unset AWS_ENDPOINT_URL",
            url=url,
        )
    return passed(ENDPOINT, f"AWS_ENDPOINT_URL={url} answers", url=url)


def caller_identity() -> CallerIdentity:
    """STS GetCallerIdentity with the environment's credentials (AwsError when it fails)."""
    client = boto3.session.Session().client("sts", config=CHECK_CLIENT_CONFIG)
    try:
        return Sts(client, TokenBucket(10, 10)).caller_identity()
    except botocore.parsers.ResponseParserError as error:
        raise _unreadable("GetCallerIdentity", error) from error


def _unreadable(operation: str, error: Exception) -> AwsError:
    """botocore's parser error is no BotoCoreError: an answer that is not AWS's (a proxy's
    error page, an emulator's crash) becomes an AwsError like any other failure."""
    first_line = (str(error).splitlines() or [type(error).__name__])[0]
    return AwsError(operation.lower(), operation, "UnreadableResponse", first_line, 599)


def credentials_problem(error: AwsError) -> tuple[str, str]:
    """What is wrong with the credentials an AWS call was made with, and the fix."""
    if error.code == "NoCredentialsError":
        return "no AWS credentials found", CREDENTIALS_FIX
    if error.code in _EXPIRED:
        return f"the AWS credentials have expired ({error.code})", EXPIRED_FIX
    if error.code in _REJECTED:
        return f"AWS rejects the credentials ({error.code})", REJECTED_FIX
    if error.code in _UNREACHABLE:
        return (
            f"AWS does not answer: {error.aws_message}",
            "check the network path to AWS (proxy, VPC endpoints) or AWS_ENDPOINT_URL",
        )
    return f"STS GetCallerIdentity failed: {error.code}: {error.aws_message}", CREDENTIALS_FIX


def check_credentials(region_ok: bool) -> tuple[CheckResult, CallerIdentity | None]:
    if not region_ok:
        return skipped(CREDENTIALS, "needs a region"), None
    try:
        identity = caller_identity()
    except AwsError as error:
        summary, fix = credentials_problem(error)
        return failed(CREDENTIALS, summary, fix, code=error.code), None
    return (
        passed(
            CREDENTIALS,
            f"account {identity.account}, {identity.arn}",
            account=identity.account,
            arn=identity.arn,
        ),
        identity,
    )


def check_iam(identity: CallerIdentity | None) -> CheckResult:
    """Simulate every action the operator calls against the caller's IAM policies."""
    if identity is None:
        return skipped(IAM, "needs working credentials")
    iam = Iam(
        boto3.session.Session().client("iam", config=CHECK_CLIENT_CONFIG), TokenBucket(10, 10)
    )
    principal, role = principal_arn(identity.arn)
    actions = operator_action_names()
    try:
        if role is not None:
            principal = iam.role_arn(role)  # the role's path is not in the session ARN
        try:
            decisions = iam.simulate(principal, actions, SIMULATION_CONTEXT)
        except botocore.parsers.ResponseParserError as unreadable:
            raise _unreadable("SimulatePrincipalPolicy", unreadable) from unreadable
    except AwsError as error:
        how = f"iam:{error.operation}"
        if error.code in DENIED_CODES:
            return failed(
                IAM,
                f"cannot simulate the policy: {identity.arn} may not call {how}",
                f"grant {how} (and iam:GetRole) to the caller, or run `check --iam` as an admin",
            )
        return failed(
            IAM,
            f"{how} failed: {error.code}: {error.aws_message}",
            "run again once IAM answers; `check` without --iam skips this",
        )
    denied = [a for a in actions if decisions.get(a) != "allowed"]
    if denied:
        return failed(
            IAM,
            f"{principal} may not call {', '.join(denied)}",
            "attach a policy allowing them (docs/first-five-minutes.md lists every action)",
            principal=principal,
            denied=denied,
        )
    return passed(IAM, f"{principal} may call all {len(actions)} actions", principal=principal)
