"""Whether Greengrass core devices can download what EdgeModels publish.

A core device downloads component artifacts from S3 with the credentials of the token
exchange role its role alias names, and that role has no S3 access by default: "you must add
s3:GetObject" for the buckets the artifacts are in, else the device fails the deployment with
PackageDownloadException (S3 403) (AWS IoT Greengrass v2 developer guide,
device-service-role.md and troubleshooting.md). So when EdgeModels exist, the check asks
IAM's policy simulator whether the role alias's role may s3:GetObject in each EdgeModel's
outputS3Uri bucket (the compiled models and the entrypoint are there). The simulator
answers on AWS and in the sandbox alike; DescribeRoleAlias (AWS IoT) names the role.
"""

from __future__ import annotations

import boto3
import botocore.exceptions

from serving_operator.api import EDGE_MODEL, GROUP, VERSION
from serving_operator.aws.base import AwsError
from serving_operator.aws.iam import Iam
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.sts import CallerIdentity
from serving_operator.preflight.aws import CHECK_CLIENT_CONFIG, DENIED_CODES
from serving_operator.preflight.kube import KubeApi, KubeApiError, KubeUnreachableError
from serving_operator.preflight.results import CheckResult, failed, passed, skipped

DEVICE_ROLE = "Greengrass device role"
DEFAULT_ROLE_ALIAS = "GreengrassV2TokenExchangeRoleAlias"
"""The role alias the Greengrass nucleus installer creates by default (--tes-role-alias-name)."""


def output_buckets(api: KubeApi) -> list[str] | None:
    """The buckets of every EdgeModel's outputS3Uri, cluster-wide (None: none can be listed)."""
    try:
        listed = api.get(f"/apis/{GROUP}/{VERSION}/{EDGE_MODEL.plural}")
    except (KubeApiError, KubeUnreachableError):
        return None
    buckets = {
        str(item.get("spec", {}).get("outputS3Uri", "")).removeprefix("s3://").split("/")[0]
        for item in listed.get("items", [])
    }
    return sorted(b for b in buckets if b)


def _role_of_alias(alias: str) -> str | None:
    client = boto3.session.Session().client("iot", config=CHECK_CLIENT_CONFIG)
    try:
        described = client.describe_role_alias(roleAlias=alias)
    except botocore.exceptions.ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code == "ResourceNotFoundException":
            return None
        message = str(error.response.get("Error", {}).get("Message", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        raise AwsError("iot", "DescribeRoleAlias", code, message, status) from error
    return str(described["roleAliasDescription"]["roleArn"])


def check_device_role(
    api: KubeApi, identity: CallerIdentity | None, alias: str = DEFAULT_ROLE_ALIAS
) -> CheckResult | None:
    """The check, or None when no EdgeModel exists (nothing for devices to download)."""
    buckets = output_buckets(api)
    if not buckets:
        return None
    if identity is None:
        return skipped(DEVICE_ROLE, "needs working credentials")
    iam = Iam(
        boto3.session.Session().client("iam", config=CHECK_CLIENT_CONFIG), TokenBucket(10, 10)
    )
    try:
        role = _role_of_alias(alias)
        if role is None:
            return failed(
                DEVICE_ROLE,
                f"the token exchange role alias {alias} does not exist: core devices cannot"
                " get credentials to download EdgeModel artifacts",
                "create it with the nucleus installer (--tes-role-alias-name) or pass"
                " --role-alias NAME (GGv2 developer guide, device-service-role.md)",
            )
        denied = [
            bucket
            for bucket in buckets
            if iam.simulate(role, ["s3:GetObject"], resources=[f"arn:aws:s3:::{bucket}/*"]).get(
                "s3:GetObject"
            )
            != "allowed"
        ]
    except AwsError as error:
        if error.code in DENIED_CODES:
            return skipped(
                DEVICE_ROLE,
                f"cannot check: the caller may not call {error.service}:{error.operation}"
                " (grant iot:DescribeRoleAlias, iam:SimulatePrincipalPolicy to check)",
            )
        return failed(
            DEVICE_ROLE,
            f"{error.service}:{error.operation} failed: {error.code}: {error.aws_message}",
            "run again once AWS answers",
        )
    if denied:
        resources = ", ".join(f"arn:aws:s3:::{b}/*" for b in denied)
        return failed(
            DEVICE_ROLE,
            f"{role} (role alias {alias}) may not s3:GetObject in {', '.join(denied)}: core"
            " devices fail EdgeModel deployments with PackageDownloadException (S3 403)",
            f"allow s3:GetObject on {resources} in that role's policy"
            " (GGv2 developer guide, device-service-role.md)",
            role=role,
            denied=denied,
        )
    return passed(
        DEVICE_ROLE,
        f"{role} (role alias {alias}) may s3:GetObject in {', '.join(buckets)}",
        role=role,
    )
