"""The fake's account and region, and the ARNs it makes from them (the formats AWS documents
for each service's resources)."""

from __future__ import annotations

from serving_operator.reconcile.edgemodel.reconciler import component_arn

REGION = "us-east-1"
ACCOUNT = "123456789012"


def endpoint_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"


def scaling_policy_arn(resource_id: str, policy_name: str) -> str:
    return (
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:x:resource/sagemaker/"
        f"{resource_id}:policyName/{policy_name}"
    )


def group_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{name}"


def version_arn(name: str, version: str) -> str:
    return component_arn(REGION, ACCOUNT, name, version)
