"""The IAM actions the operator needs: one list for `serving-operator check --iam` and for the
IAM policy document users attach to the operator's role.

A unit test checks that every operation the adapters call has its action here.
"""

from __future__ import annotations

import json
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
    # EdgeModel: Neo, Greengrass v2 and the IoT jobs behind its deployments.
    IamAction("sagemaker:CreateCompilationJob", "compile an EdgeModel target with Neo"),
    IamAction("sagemaker:DescribeCompilationJob", "follow a compilation job"),
    IamAction("sagemaker:StopCompilationJob", "stop compilation when an EdgeModel goes"),
    IamAction("sagemaker:ListCompilationJobs", "find an EdgeModel's compilation jobs"),
    IamAction("greengrass:CreateComponentVersion", "publish a compiled model as a component"),
    IamAction("greengrass:DescribeComponent", "wait for a component version to be deployable"),
    IamAction("greengrass:DeleteComponent", "remove the versions an EdgeModel published"),
    IamAction("greengrass:ListDeployments", "find a thing group's latest deployment"),
    IamAction("greengrass:GetDeployment", "read the deployment a merge keeps"),
    IamAction("greengrass:CreateDeployment", "deploy a stage's thing groups"),
    IamAction("greengrass:TagResource", "tag component versions and deployments"),
    IamAction("iot:DescribeThingGroup", "find a stage's thing group"),
    IamAction("iot:DescribeJob", "device counts of a deployment's IoT job"),
    IamAction("iot:ListThingsInThingGroup", "find devices two thing groups share"),
    IamAction("iot:ListJobExecutionsForJob", "each device's outcome (edge-status)"),
    IamAction("iot:DescribeJobExecution", "a device's detailed deployment status"),
    # Greengrass creates the IoT job of a deployment with the caller's permissions.
    IamAction("iot:CreateJob", "Greengrass makes a deployment's IoT job as the caller"),
    IamAction("iot:CancelJob", "Greengrass cancels a replaced deployment's IoT job"),
)

# The IAM prefix of each adapter's `service`, and operations whose action has another name.
SERVICE_PREFIXES = {
    "sagemaker-runtime": "sagemaker",
    "greengrassv2": "greengrass",
    "monitoring": "cloudwatch",  # CloudWatch's signing name
}
ACTION_OF_OPERATION = {"s3:ListObjectsV2": "s3:ListBucket"}


def action_for(service: str, operation: str) -> str:
    """The IAM action a call of `operation` on `service` (an adapter's name) needs."""
    named = f"{SERVICE_PREFIXES.get(service, service)}:{operation}"
    return ACTION_OF_OPERATION.get(named, named)


def operator_action_names() -> list[str]:
    return [a.action for a in OPERATOR_ACTIONS]


# Least privilege: the resources each action may touch, where IAM lets a policy say so.
# Actions not named here (Describe/List of many objects, Application Auto Scaling, metric
# reads) do not support resource-level permissions and get "*".
_SAGEMAKER = "arn:aws:sagemaker:*:*"
_MODELS = (f"{_SAGEMAKER}:model/*",)
_CONFIGS = (f"{_SAGEMAKER}:endpoint-config/*",)
_ENDPOINTS = (f"{_SAGEMAKER}:endpoint/*",)
_TAGGABLE = (*_MODELS, *_CONFIGS, *_ENDPOINTS, f"{_SAGEMAKER}:compilation-job/*")
SCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
RESOURCES: dict[str, tuple[str, ...]] = {
    "sagemaker:CreateModel": _MODELS,
    "sagemaker:DescribeModel": _MODELS,
    "sagemaker:DeleteModel": _MODELS,
    "sagemaker:CreateEndpointConfig": _CONFIGS,
    "sagemaker:DescribeEndpointConfig": _CONFIGS,
    "sagemaker:DeleteEndpointConfig": _CONFIGS,
    # CreateEndpoint and UpdateEndpoint are authorized on the endpoint and its config.
    "sagemaker:CreateEndpoint": (*_ENDPOINTS, *_CONFIGS),
    "sagemaker:UpdateEndpoint": (*_ENDPOINTS, *_CONFIGS),
    "sagemaker:DescribeEndpoint": _ENDPOINTS,
    "sagemaker:UpdateEndpointWeightsAndCapacities": _ENDPOINTS,
    "sagemaker:DeleteEndpoint": _ENDPOINTS,
    "sagemaker:InvokeEndpoint": _ENDPOINTS,
    "sagemaker:ListTags": _TAGGABLE,
    "sagemaker:AddTags": _TAGGABLE,
    "cloudwatch:PutMetricAlarm": ("arn:aws:cloudwatch:*:*:alarm:*",),
    "cloudwatch:DeleteAlarms": ("arn:aws:cloudwatch:*:*:alarm:*",),
    "iam:CreateServiceLinkedRole": (
        f"arn:aws:iam::*:role/aws-service-role/{SCALING_SERVICE}/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
    ),
    "s3:ListBucket": ("arn:aws:s3:::*",),
}
CONDITIONS: dict[str, dict[str, dict[str, str]]] = {
    # Only to hand the spec's execution role to SageMaker, nothing else.
    "iam:PassRole": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    "iam:CreateServiceLinkedRole": {"StringEquals": {"iam:AWSServiceName": SCALING_SERVICE}},
}


def policy_document() -> dict[str, object]:
    """The IAM policy to attach to the operator's role: one statement per set of resources
    and condition, in the order the actions are listed."""
    statements: dict[str, dict[str, object]] = {}
    for action in operator_action_names():
        resources = RESOURCES.get(action, ("*",))
        condition = CONDITIONS.get(action)
        key = json.dumps([resources, condition], sort_keys=True)
        statement = statements.setdefault(
            key,
            {
                "Sid": f"Statement{len(statements) + 1}",
                "Effect": "Allow",
                "Action": [],
                "Resource": list(resources) if len(resources) > 1 else resources[0],
                **({"Condition": condition} if condition else {}),
            },
        )
        actions = statement["Action"]
        assert isinstance(actions, list)
        actions.append(action)
    return {"Version": "2012-10-17", "Statement": list(statements.values())}
