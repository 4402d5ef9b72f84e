"""The IAM actions the operator needs: one list for `serving-operator check --iam` and for the
IAM policy document users attach to the operator's role.

A unit test checks that every operation the adapters call has its action here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from serving_operator.planning.ownership import MANAGED_BY_TAG, OWNER_TAG


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
    IamAction("sagemaker:InvokeEndpointAsync", "`invoke --async` on an asynchronous endpoint"),
    # InferenceComponent: its component on a ModelEndpoint's fleet.
    IamAction("sagemaker:CreateInferenceComponent", "create an InferenceComponent's component"),
    IamAction("sagemaker:DescribeInferenceComponent", "observe a component (drift, progress)"),
    IamAction("sagemaker:UpdateInferenceComponent", "roll out a component's new specification"),
    IamAction("sagemaker:UpdateInferenceComponentRuntimeConfig", "change a component's copy count"),
    IamAction("sagemaker:DeleteInferenceComponent", "delete a component with its resource"),
    IamAction("application-autoscaling:RegisterScalableTarget", "autoscale a variant"),
    IamAction("application-autoscaling:DeregisterScalableTarget", "stop autoscaling"),
    IamAction("application-autoscaling:DescribeScalableTargets", "observe autoscaling"),
    IamAction("application-autoscaling:DescribeScalingPolicies", "observe scaling policies"),
    IamAction(
        "application-autoscaling:PutScalingPolicy",
        "set target tracking, and the scale-out-from-zero step policies (asynchronous"
        " endpoints, InferenceComponents)",
    ),
    IamAction(
        "application-autoscaling:DeleteScalingPolicy",
        "remove a scale-out-from-zero step policy when its minimum is no longer 0",
    ),
    # Target tracking makes CloudWatch alarms with the caller's permissions, and the first
    # scalable target creates Application Auto Scaling's service-linked role.
    IamAction(
        "cloudwatch:PutMetricAlarm",
        "target tracking's alarms; the scale-out-from-zero alarms (HasBacklogWithoutCapacity,"
        " NoCapacityInvocationFailures)",
    ),
    IamAction("cloudwatch:DescribeAlarms", "target tracking's and canary rollback alarms"),
    IamAction("cloudwatch:DeleteAlarms", "target tracking's alarms; scale-out-from-zero's"),
    IamAction("cloudwatch:GetMetricData", "a TrafficSplit's canary analysis"),
    IamAction("iam:CreateServiceLinkedRole", "Application Auto Scaling's role, made once"),
    # CreateModel hands SageMaker the spec's execution role.
    IamAction("iam:PassRole", "hand the spec's executionRoleArn to SageMaker"),
    IamAction(
        "s3:ListBucket",
        "list the models of a multi-model endpoint (ListObjectsV2); botocore's HeadBucket"
        " after a HEAD answered 400",
    ),
    # EdgeModel: Neo, Greengrass v2 and the IoT jobs behind its deployments.
    IamAction("sagemaker:CreateCompilationJob", "compile an EdgeModel target with Neo"),
    IamAction("sagemaker:DescribeCompilationJob", "follow a compilation job"),
    IamAction("sagemaker:StopCompilationJob", "stop compilation when an EdgeModel goes"),
    IamAction("sagemaker:ListCompilationJobs", "find an EdgeModel's compilation jobs"),
    IamAction("sagemaker:DeleteCompilationJob", "delete an EdgeModel's finished jobs with it"),
    IamAction("greengrass:CreateComponentVersion", "publish a compiled model as a component"),
    # Greengrass checks at CreateComponentVersion that the caller can read every artifact
    # ("Specified artifact resource cannot be accessed"), and the operator publishes the
    # inference entrypoint next to the compiled models (HeadObject is s3:GetObject). It also
    # reads the source's ETag or VersionId (HeadObject): a new upload compiles again.
    IamAction(
        "s3:GetObject",
        "read the EdgeModel artifacts a component version names, and its source's version;"
        " `invoke --async --wait` reads the result",
    ),
    IamAction(
        "s3:PutObject",
        "publish the EdgeModel inference entrypoint; `invoke --async` uploads the payload",
    ),
    IamAction("s3:DeleteObject", "delete the models Neo compiled for an EdgeModel with it"),
    IamAction("greengrass:DescribeComponent", "wait for a component version to be deployable"),
    IamAction("greengrass:DeleteComponent", "remove the versions an EdgeModel published"),
    IamAction("greengrass:ListDeployments", "find a thing group's latest deployment"),
    IamAction("greengrass:ListCoreDevices", "the core devices a stage is judged on"),
    IamAction("greengrass:GetDeployment", "read the deployment a merge keeps"),
    IamAction("greengrass:CreateDeployment", "deploy a stage's thing groups"),
    IamAction("greengrass:CancelDeployment", "stop a halted stage's deployment"),
    IamAction("greengrass:TagResource", "tag component versions and deployments"),
    IamAction("iot:DescribeThingGroup", "find a stage's thing group"),
    IamAction("iot:DescribeJob", "device counts of a deployment's IoT job"),
    IamAction(
        "iot:ListThingsInThingGroup", "a stage's devices, and devices two thing groups share"
    ),
    IamAction("iot:ListJobExecutionsForJob", "each device's outcome (edge-status)"),
    IamAction("iot:DescribeJobExecution", "a device's detailed deployment status"),
    # Greengrass creates the IoT job of a deployment with the caller's permissions.
    IamAction("iot:CreateJob", "Greengrass makes a deployment's IoT job as the caller"),
    IamAction("iot:CancelJob", "Greengrass cancels a replaced deployment's IoT job"),
    # The rest of the dependent actions the Service Authorization Reference lists for
    # greengrass:CreateDeployment ("Actions, resources, and condition keys for AWS IoT
    # Greengrass V2", Dependent actions column): Greengrass calls them as the caller.
    IamAction("iot:DescribeThing", "Greengrass reads a deployment's target things as the caller"),
    IamAction("iot:UpdateJob", "Greengrass revises a deployment's IoT job as the caller"),
    IamAction("iot:GetThingShadow", "Greengrass reads a device's deployment shadow as the caller"),
    IamAction(
        "iot:UpdateThingShadow", "Greengrass writes a device's deployment shadow as the caller"
    ),
    IamAction(
        "iot:DeleteThingShadow", "Greengrass clears a device's deployment shadow as the caller"
    ),
)

CREATE_DEPLOYMENT_DEPENDENT_ACTIONS = (
    "iot:CancelJob",
    "iot:CreateJob",
    "iot:DeleteThingShadow",
    "iot:DescribeJob",
    "iot:DescribeThing",
    "iot:DescribeThingGroup",
    "iot:GetThingShadow",
    "iot:UpdateJob",
    "iot:UpdateThingShadow",
)
"""What the Service Authorization Reference lists as greengrass:CreateDeployment's dependent
actions (list_awsiotgreengrassv2.html): a caller without them cannot deploy."""

# The IAM prefix of each adapter's `service`, and operations whose action has another name.
SERVICE_PREFIXES = {
    "sagemaker-runtime": "sagemaker",
    "greengrassv2": "greengrass",
    "monitoring": "cloudwatch",  # CloudWatch's signing name
}
ACTION_OF_OPERATION = {
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    # botocore's S3 region redirector sends HeadBucket when a HEAD (HeadObject) answers 400,
    # which has no body to say why; S3 authorises HeadBucket as s3:ListBucket (S3 API
    # reference, HeadBucket: "Permissions").
    "s3:HeadBucket": "s3:ListBucket",
}


def action_for(service: str, operation: str) -> str:
    """The IAM action a call of `operation` on `service` (an adapter's name) needs."""
    named = f"{SERVICE_PREFIXES.get(service, service)}:{operation}"
    return ACTION_OF_OPERATION.get(named, named)


def operator_action_names() -> list[str]:
    return [a.action for a in OPERATOR_ACTIONS]


# Least privilege, checkable: for every action, the narrowest resource IAM lets a policy name
# for it and the conditions that hold for every call the operator makes. The source of each
# row is the Service Authorization Reference (docs.aws.amazon.com/service-authorization/latest/
# reference/list_amazonsagemaker.html, list_awsiotgreengrassv2.html, list_awsiot.html,
# list_applicationautoscaling.html, list_amazoncloudwatch.html, list_awsidentityandaccess
# management.html, list_amazons3.html): an action whose "Resource types" column is empty must
# be granted on "*". tests/unit/test_iam_policy.py checks that the policy gives every action
# exactly its row, and that "*" appears only where the row says AWS requires it.
#
# Tag conditions, with the operator's ownership tag (planning/ownership.py):
# - creates that carry our tags (CreateModel, CreateEndpointConfig, CreateEndpoint,
#   CreateCompilationJob, CreateComponentVersion) and sagemaker:AddTags require the request to
#   carry an owner tag (aws:RequestTag), and AddTags may set only the operator's two keys
#   (aws:TagKeys); Greengrass deployments are the exception (see their rows);
# - changes to existing resources (Update*, Delete*, Stop*) require the resource to carry the
#   owner tag (aws:ResourceTag): the operator only touches what it owns;
# - reads carry no tag condition: the operator reads before it creates, and a read of an
#   object that does not exist yet has no tags, so IAM would deny it instead of answering
#   "not found".


@dataclass(frozen=True)
class Grant:
    """What one action is granted on, and why that is the narrowest AWS allows."""

    statement: str
    """The Sid of the policy statement it goes into (same resources and condition)."""
    resources: tuple[str, ...]
    why: str
    condition: dict[str, dict[str, Any]] | None = None


ANY = ("*",)
_SAGEMAKER = "arn:aws:sagemaker:*:*"
_MODELS = (f"{_SAGEMAKER}:model/*",)
_CONFIGS = (f"{_SAGEMAKER}:endpoint-config/*",)
_ENDPOINTS = (f"{_SAGEMAKER}:endpoint/*",)
_JOBS = (f"{_SAGEMAKER}:compilation-job/*",)
_INFERENCE_COMPONENTS = (f"{_SAGEMAKER}:inference-component/*",)
_TAGGABLE = (*_MODELS, *_CONFIGS, *_ENDPOINTS, *_JOBS, *_INFERENCE_COMPONENTS)
_COMPONENTS = ("arn:aws:greengrass:*:*:components:*",)  # components and their versions
_DEPLOYMENTS = ("arn:aws:greengrass:*:*:deployments:*",)
_THING_GROUPS = ("arn:aws:iot:*:*:thinggroup/*",)
_IOT_JOBS = ("arn:aws:iot:*:*:job/*",)
_THINGS = ("arn:aws:iot:*:*:thing/*",)
_ALARMS = ("arn:aws:cloudwatch:*:*:alarm:*",)
SCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
OWNER_PATTERN = "*/*"  # <namespace>/<name>, as planning.ownership.owner_id writes it
OWNED_REQUEST: dict[str, dict[str, Any]] = {
    "StringLike": {f"aws:RequestTag/{OWNER_TAG}": OWNER_PATTERN}
}
OWNED_RESOURCE: dict[str, dict[str, Any]] = {
    "StringLike": {f"aws:ResourceTag/{OWNER_TAG}": OWNER_PATTERN}
}
ONLY_OUR_TAGS: dict[str, dict[str, Any]] = {
    "StringLike": {f"aws:RequestTag/{OWNER_TAG}": OWNER_PATTERN},
    "ForAllValues:StringEquals": {"aws:TagKeys": [MANAGED_BY_TAG, OWNER_TAG]},
}
NO_RESOURCE_TYPES = 'AWS defines no resource type for this action: only "*" is accepted'

NARROWEST: dict[str, Grant] = {
    # SageMaker: every object the operator makes is created with its ownership tags.
    **{
        action: Grant("CreateOwnedSageMakerObjects", resources, why, OWNED_REQUEST)
        for action, resources, why in (
            ("sagemaker:CreateModel", _MODELS, "model*; the request carries our tags"),
            ("sagemaker:CreateEndpointConfig", _CONFIGS, "endpoint-config*; tagged request"),
            # CreateEndpoint is authorized on the endpoint and the config it runs.
            ("sagemaker:CreateEndpoint", (*_ENDPOINTS, *_CONFIGS), "endpoint*, endpoint-config*"),
            ("sagemaker:CreateCompilationJob", _JOBS, "compilation-job*; tagged request"),
            # Authorized on the component and the endpoint it is placed on.
            (
                "sagemaker:CreateInferenceComponent",
                (*_INFERENCE_COMPONENTS, *_ENDPOINTS),
                "inference-component*, endpoint*; tagged request",
            ),
        )
    },
    **{
        action: Grant("ChangeOwnedSageMakerObjects", resources, why, OWNED_RESOURCE)
        for action, resources, why in (
            ("sagemaker:DeleteModel", _MODELS, "model*; only what carries our owner tag"),
            ("sagemaker:DeleteEndpointConfig", _CONFIGS, "endpoint-config*; ours only"),
            ("sagemaker:UpdateEndpoint", (*_ENDPOINTS, *_CONFIGS), "endpoint*, endpoint-config*"),
            ("sagemaker:UpdateEndpointWeightsAndCapacities", _ENDPOINTS, "endpoint*; ours only"),
            ("sagemaker:DeleteEndpoint", _ENDPOINTS, "endpoint*; ours only"),
            ("sagemaker:StopCompilationJob", _JOBS, "compilation-job*; ours only"),
            ("sagemaker:DeleteCompilationJob", _JOBS, "compilation-job*; ours only"),
            (
                "sagemaker:UpdateInferenceComponent",
                _INFERENCE_COMPONENTS,
                "inference-component*; ours only",
            ),
            (
                "sagemaker:UpdateInferenceComponentRuntimeConfig",
                _INFERENCE_COMPONENTS,
                "inference-component*; ours only",
            ),
            (
                "sagemaker:DeleteInferenceComponent",
                _INFERENCE_COMPONENTS,
                "inference-component*; ours only",
            ),
        )
    },
    **{
        action: Grant("ReadSageMakerObjects", resources, why)
        for action, resources, why in (
            ("sagemaker:DescribeModel", _MODELS, "model*; read before create: no tag yet"),
            ("sagemaker:DescribeEndpointConfig", _CONFIGS, "endpoint-config*"),
            ("sagemaker:DescribeEndpoint", _ENDPOINTS, "endpoint*; read before create"),
            ("sagemaker:DescribeCompilationJob", _JOBS, "compilation-job*"),
            (
                "sagemaker:DescribeInferenceComponent",
                _INFERENCE_COMPONENTS,
                "inference-component*; read before create",
            ),
            ("sagemaker:ListTags", _TAGGABLE, "the tagged types: tells ours from others'"),
            # Shadow/comparison traffic and `invoke` reach endpoints users name.
            ("sagemaker:InvokeEndpoint", _ENDPOINTS, "endpoint*"),
            ("sagemaker:InvokeEndpointAsync", _ENDPOINTS, "endpoint*"),
        )
    },
    "sagemaker:AddTags": Grant(
        "TagSageMakerObjectsAsOurs",
        _TAGGABLE,
        "the tagged types; only our two tag keys, with an owner value (adoption tags an"
        " endpoint that has no tags yet, so no aws:ResourceTag condition)",
        ONLY_OUR_TAGS,
    ),
    # Lists, metric reads and Application Auto Scaling's describes name no resource type.
    **{
        action: Grant("ActionsWithoutResourceTypes", ANY, NO_RESOURCE_TYPES)
        for action in (
            "sagemaker:ListModels",
            "sagemaker:ListEndpointConfigs",
            "sagemaker:ListCompilationJobs",
            "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:DescribeScalingPolicies",
            "cloudwatch:GetMetricData",
            "greengrass:ListDeployments",
            "greengrass:ListCoreDevices",
        )
    },
    # Scalable targets' ARNs carry an ID AWS assigns (scalable-target/<id>), which no policy
    # written before the target exists can name, and the operator does not tag them.
    **{
        action: Grant(
            "ScaleEndpointVariants",
            ANY,
            "scalable-target ARNs are IDs AWS assigns at registration; untagged",
        )
        for action in (
            "application-autoscaling:RegisterScalableTarget",
            "application-autoscaling:DeregisterScalableTarget",
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:DeleteScalingPolicy",
        )
    },
    **{
        action: Grant("TargetTrackingAlarms", _ALARMS, "alarm*: target tracking's alarms")
        for action in (
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:DeleteAlarms",
        )
    },
    "iam:CreateServiceLinkedRole": Grant(
        "ApplicationAutoScalingServiceLinkedRole",
        (
            f"arn:aws:iam::*:role/aws-service-role/{SCALING_SERVICE}/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        ),
        "that one role, for that one service",
        {"StringEquals": {"iam:AWSServiceName": SCALING_SERVICE}},
    ),
    "iam:PassRole": Grant(
        "PassExecutionRolesToSageMaker",
        ("arn:aws:iam::*:role/*",),
        "the spec's executionRoleArn (any role a user names), to SageMaker only; narrow the"
        " role path to your execution roles if they share one",
        {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    ),
    "s3:ListBucket": Grant(
        "ListModelBuckets",
        ("arn:aws:s3:::*",),
        "bucket*: the buckets of multi-model endpoints' modelDataUrl; narrow to yours",
    ),
    # S3 object actions have the resource type object* (list_amazons3.html); the buckets are
    # EdgeModels' outputS3Uri, which any spec names.
    "s3:GetObject": Grant(
        "ReadAndPublishEdgeArtifacts",
        ("arn:aws:s3:::*/*",),
        "object*: the objects under EdgeModels' outputS3Uri, and their sources (to see a new"
        " upload); narrow to your buckets",
    ),
    "s3:PutObject": Grant(
        "ReadAndPublishEdgeArtifacts",
        ("arn:aws:s3:::*/*",),
        "object*: the entrypoint under EdgeModels' outputS3Uri; narrow to your output buckets",
    ),
    # Neo writes the compiled models untagged, so no tag condition can name them: narrow the
    # resource to your EdgeModels' output prefixes.
    "s3:DeleteObject": Grant(
        "ReadAndPublishEdgeArtifacts",
        ("arn:aws:s3:::*/*",),
        "object*: the compiled models under EdgeModels' outputS3Uri (Neo writes them"
        " untagged); narrow to your output buckets",
    ),
    # Greengrass v2: component versions are created with our tags. A deployment revision keeps
    # the tags of the thing group's deployment it revises, which may be another owner's or
    # none (planning/edgemodel/deployment.py merges into it), so neither CreateDeployment nor
    # the tag-on-create TagResource it implies can require our tag.
    "greengrass:CreateComponentVersion": Grant(
        "CreateOwnedComponentVersions", _COMPONENTS, "component*; tagged request", OWNED_REQUEST
    ),
    "greengrass:CreateDeployment": Grant(
        "ActionsWithoutResourceTypes",
        ANY,
        NO_RESOURCE_TYPES + "; the request keeps the revised deployment's tags",
    ),
    "greengrass:CancelDeployment": Grant(
        "CancelHaltedDeployments",
        _DEPLOYMENTS,
        "deployment*: the revision a halted stage made (it keeps the revised deployment's"
        " tags, so no tag condition)",
    ),
    "greengrass:DeleteComponent": Grant(
        "DeleteOwnedComponentVersions", _COMPONENTS, "componentVersion*; ours only", OWNED_RESOURCE
    ),
    "greengrass:TagResource": Grant(
        "TagGreengrassObjectsOnCreate",
        (*_COMPONENTS, *_DEPLOYMENTS),
        "component, componentVersion, deployment: tag-on-create of CreateComponentVersion and"
        " CreateDeployment (a revision keeps the revised deployment's tags, so no tag condition)",
    ),
    **{
        action: Grant("ReadGreengrassAndIoT", resources, why)
        for action, resources, why in (
            ("greengrass:DescribeComponent", _COMPONENTS, "componentVersion*"),
            ("greengrass:GetDeployment", _DEPLOYMENTS, "deployment*; others' too (merge)"),
            ("iot:DescribeThingGroup", _THING_GROUPS, "thinggroup*"),
            ("iot:ListThingsInThingGroup", _THING_GROUPS, "thinggroup*"),
            ("iot:DescribeJob", _IOT_JOBS, "job*"),
            ("iot:ListJobExecutionsForJob", _IOT_JOBS, "job*"),
            ("iot:DescribeJobExecution", _THINGS, "thing*"),
        )
    },
    # Greengrass makes and cancels a deployment's IoT job with the caller's permissions; the
    # job targets the stage's thing group. Job IDs are Greengrass's, so job/*.
    **{
        action: Grant("DeploymentJobsAsTheCaller", resources, why)
        for action, resources, why in (
            ("iot:CreateJob", (*_IOT_JOBS, *_THING_GROUPS, *_THINGS), "job*, thinggroup, thing"),
            ("iot:CancelJob", _IOT_JOBS, "job*"),
            ("iot:UpdateJob", _IOT_JOBS, "job*"),
            ("iot:DescribeThing", _THINGS, "thing*"),
            ("iot:GetThingShadow", _THINGS, "thing*"),
            ("iot:UpdateThingShadow", _THINGS, "thing*"),
            ("iot:DeleteThingShadow", _THINGS, "thing*"),
        )
    },
}

# What `check --iam` tells IAM's simulator about the operator's calls, so that conditioned
# statements are judged as they are for those calls (ContextEntries of
# SimulatePrincipalPolicy): our owner tag on the request and on the resource, our tag keys,
# the services roles are passed to.
SIMULATION_CONTEXT: tuple[tuple[str, str, str], ...] = (
    (f"aws:RequestTag/{OWNER_TAG}", "default/example", "string"),
    (f"aws:ResourceTag/{OWNER_TAG}", "default/example", "string"),
    ("aws:TagKeys", f"{MANAGED_BY_TAG},{OWNER_TAG}", "stringList"),
    ("iam:PassedToService", "sagemaker.amazonaws.com", "string"),
    ("iam:AWSServiceName", SCALING_SERVICE, "string"),
)


def _resource_type(arn: str) -> str:
    """`arn:aws:sagemaker:*:*:endpoint-config/*` -> EndpointConfig (for a Sid)."""
    if arn == "*":
        return ""
    kind = re.split(r"[/:]", arn.split(":", 5)[5])[0]
    return "".join(part.capitalize() for part in re.split(r"[-_]", kind))


def statement_id(grant: Grant) -> str:
    """The grant's statement name, plus the resource types when one name has several."""
    types = sorted({_resource_type(r) for r in grant.resources} - {""})
    named = [g for g in NARROWEST.values() if g.statement == grant.statement]
    if len({(g.resources, repr(g.condition)) for g in named}) == 1:
        return grant.statement
    return grant.statement + ("".join(types) or "Any")


def policy_document() -> dict[str, object]:
    """The IAM policy to attach to the operator's role: one statement per resource set and
    condition of NARROWEST, named after its rows, in the order the actions are listed."""
    statements: dict[str, dict[str, object]] = {}
    for action in operator_action_names():
        grant = NARROWEST[action]
        sid = statement_id(grant)
        statement = statements.setdefault(
            sid,
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": [],
                "Resource": list(grant.resources)
                if len(grant.resources) > 1
                else grant.resources[0],
                **({"Condition": grant.condition} if grant.condition else {}),
            },
        )
        assert statement["Resource"] == (
            list(grant.resources) if len(grant.resources) > 1 else grant.resources[0]
        ), f"{action}: statement {sid} holds other resources"
        actions = statement["Action"]
        assert isinstance(actions, list)
        actions.append(action)
    return {"Version": "2012-10-17", "Statement": list(statements.values())}


def explain_policy() -> str:
    """NARROWEST as a Markdown table (docs/iam-policy.md): each action, its statement, the
    resources and condition it is granted with, and why that is the narrowest."""
    lines = [
        "| Action | Sid | Resource | Condition | Why |",
        "| --- | --- | --- | --- | --- |",
    ]
    for action in operator_action_names():
        grant = NARROWEST[action]
        resources = "<br>".join(f"`{r}`" for r in grant.resources)
        condition = (
            "<br>".join(
                f"{test}: `{key}`" for test, keys in grant.condition.items() for key in keys
            )
            if grant.condition
            else ""
        )
        lines.append(
            f"| `{action}` | {statement_id(grant)} | {resources} | {condition} | {grant.why} |"
        )
    return "\n".join(lines) + "\n"
