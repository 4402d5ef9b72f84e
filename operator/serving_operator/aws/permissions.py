"""The IAM actions the operator needs: one list for `serving-operator check --iam` and for the
IAM policy document users attach to the operator's role.

A unit test checks that every operation the adapters call has its action here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IamAction:
    action: str
    """As IAM names it, e.g. sagemaker:CreateEndpoint."""
    why: str


OPERATOR_ACTIONS: tuple[IamAction, ...] = (
    IamAction("sagemaker:CreateModel", "create the models an endpoint config serves"),
    IamAction("sagemaker:DescribeModel", "read a model before creating it"),
    IamAction("sagemaker:DeleteModel", "delete models no endpoint config uses"),
    IamAction("sagemaker:ListModels", "find the models this operator made"),
    IamAction("sagemaker:CreateEndpointConfig", "create the config for a spec"),
    IamAction("sagemaker:DescribeEndpointConfig", "read the config an endpoint runs"),
    IamAction("sagemaker:DeleteEndpointConfig", "delete configs after an update"),
    IamAction("sagemaker:ListEndpointConfigs", "find the configs this operator made"),
    IamAction("sagemaker:CreateEndpoint", "create the endpoint"),
    IamAction("sagemaker:DescribeEndpoint", "observe the endpoint (drift, progress)"),
    IamAction("sagemaker:UpdateEndpoint", "move the endpoint to a new config"),
    IamAction("sagemaker:UpdateEndpointWeightsAndCapacities", "change weights and counts in place"),
    IamAction("sagemaker:DeleteEndpoint", "delete the endpoint with its resource"),
    IamAction("sagemaker:ListTags", "tell the operator's resources from others'"),
    IamAction("sagemaker:AddTags", "mark what the operator owns"),
    IamAction("sagemaker:InvokeEndpoint", "shadow and comparison traffic, `invoke`"),
    IamAction("application-autoscaling:RegisterScalableTarget", "autoscale a variant"),
    IamAction("application-autoscaling:DeregisterScalableTarget", "stop autoscaling"),
    IamAction("application-autoscaling:DescribeScalableTargets", "observe autoscaling"),
    IamAction("application-autoscaling:DescribeScalingPolicies", "observe scaling policies"),
    IamAction("application-autoscaling:PutScalingPolicy", "set target tracking"),
    # Target tracking makes CloudWatch alarms with the caller's permissions, and the first
    # scalable target creates Application Auto Scaling's service-linked role.
    IamAction("cloudwatch:PutMetricAlarm", "target tracking's alarms"),
    IamAction("cloudwatch:DescribeAlarms", "target tracking's and canary rollback alarms"),
    IamAction("cloudwatch:DeleteAlarms", "target tracking's alarms"),
    IamAction("cloudwatch:GetMetricData", "a TrafficSplit's canary analysis"),
    IamAction("iam:CreateServiceLinkedRole", "Application Auto Scaling's role, made once"),
    # CreateModel hands SageMaker the spec's execution role.
    IamAction("iam:PassRole", "hand the spec's executionRoleArn to SageMaker"),
    IamAction("s3:ListBucket", "list the models of a multi-model endpoint (ListObjectsV2)"),
)

# The IAM prefix of each adapter's `service`, and operations whose action has another name.
SERVICE_PREFIXES = {"sagemaker-runtime": "sagemaker", "greengrassv2": "greengrass"}
ACTION_OF_OPERATION = {"s3:ListObjectsV2": "s3:ListBucket"}


def action_for(service: str, operation: str) -> str:
    """The IAM action a call of `operation` on `service` (an adapter's name) needs."""
    named = f"{SERVICE_PREFIXES.get(service, service)}:{operation}"
    return ACTION_OF_OPERATION.get(named, named)


def operator_action_names() -> list[str]:
    return [a.action for a in OPERATOR_ACTIONS]
