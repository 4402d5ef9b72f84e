"""SageMaker ARNs as moto writes them, so that the overlays' ARNs match moto's own."""

from __future__ import annotations

# A region's partition from its name's prefix, as moto decides it; any other region is "aws".
_PARTITION_BY_REGION_PREFIX = {
    "cn-": "aws-cn",
    "us-gov-": "aws-us-gov",
    "us-iso-": "aws-iso",
    "us-isob-": "aws-iso-b",
    "eusc-": "aws-eusc",
}


def partition_of(region: str) -> str:
    return next(
        (
            partition
            for prefix, partition in _PARTITION_BY_REGION_PREFIX.items()
            if region.startswith(prefix)
        ),
        "aws",
    )


def sagemaker_arn(resource_type: str, name: str, account: str, region: str) -> str:
    """arn:<partition>:sagemaker:<region>:<account>:<resource_type>/<name>, e.g. for an
    "endpoint", "endpoint-config", "model" or "compilation-job"."""
    return f"arn:{partition_of(region)}:sagemaker:{region}:{account}:{resource_type}/{name}"
