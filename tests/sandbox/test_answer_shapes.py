"""The sandbox answers in AWS's shapes: every operation the operator calls (and those AWS calls
with the operator's permissions on its behalf) is sent, with the operator's own adapters and
requests, and each answer, success or error, is checked against botocore's model of the
operation (tests/sandbox/answers.py).

Each scenario names the operations it must have checked; a test compares their union with
the operations the operator's code calls, so a new operation without a scenario fails here.
"""

from __future__ import annotations

import ast
import datetime
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.session import Session

import serving_operator.aws
from serving_operator import edge_runtime
from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import AwsError
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.greengrass import GreengrassV2
from serving_operator.aws.iam import Iam
from serving_operator.aws.iot import Iot
from serving_operator.aws.neo import Neo
from serving_operator.aws.permissions import ACTION_OF_OPERATION, operator_action_names
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import Effect, SageMaker
from serving_operator.aws.sts import Sts
from serving_operator.planning.edgemodel.actions import CreateComponentVersion, CreateDeployment
from serving_operator.planning.edgemodel.desired import desired_edge_model, recipe
from serving_operator.planning.modelendpoint.actions import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteModel,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
    TagEndpoint,
    UpdateEndpoint,
    UpdateWeightsAndCapacities,
    VariantWeightAndCapacity,
)
from serving_operator.planning.modelendpoint.desired import desired_endpoint, scale_out_from_zero
from serving_operator.planning.ownership import OWNER_TAG
from serving_operator.planning.trafficsplit.observed import AlarmState, MetricsLookup
from tests.sandbox.answers import AnswerChecker, compile_pattern, every_output_pattern
from tests.sandbox.edge import FAST_EDGE, bucket_with, group_of_things, unique
from tests.sandbox.endpoints import wait_until
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model_spec, model_endpoint_spec, variant

AWS_PACKAGE = Path(serving_operator.aws.__file__).parent
SERVICES = (
    "sagemaker",
    "sagemaker-runtime",
    "application-autoscaling",
    "cloudwatch",
    "greengrassv2",
    "iot",
    "s3",
    "sts",
    "iam",
)
# IAM's prefix of each service whose prefix is not its botocore name.
IAM_PREFIXES = {"greengrass": ("greengrassv2",), "sagemaker": ("sagemaker", "sagemaker-runtime")}
BOTOCORE = Session()
Operation = tuple[str, str]


def _operations(service: str) -> frozenset[str]:
    return frozenset(BOTOCORE.get_service_model(service).operation_names)


def _adapter_service(tree: ast.AST) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "service" for t in node.targets
        ):
            assert isinstance(node.value, ast.Constant)
            return str(node.value.value)
    return None


def operations_the_adapters_call() -> set[Operation]:
    """Every string in an adapter that names an operation of its service: `self.call("X")`
    and the names its helpers pass on (`self._create("CreateModel", ...)`)."""
    found: set[Operation] = set()
    for path in sorted(AWS_PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        service = _adapter_service(tree)
        if not service:  # base.py's ServiceAdapter: service = ""
            continue
        names = _operations(service)
        found |= {
            (service, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in names
        }
    return found


def operations_of_the_policy() -> set[Operation]:
    """The operations aws/permissions.py grants: the adapters' calls, and those AWS makes
    with the operator's permissions (Greengrass's CreateJob and CancelJob, target tracking's
    alarms, the service-linked role). Permission-only actions (iam:PassRole) name none."""
    # The first operation named for an action is the one the operator calls (s3:ListBucket:
    # ListObjectsV2; HeadBucket only when botocore asks for a bucket's Region).
    operation_of_action: dict[str, str] = {}
    for op, action in ACTION_OF_OPERATION.items():
        operation_of_action.setdefault(action, op)
    found: set[Operation] = set()
    for action in operator_action_names():
        prefix, name = operation_of_action.get(action, action).split(":")
        for service in IAM_PREFIXES.get(prefix, (prefix,)):
            if name in _operations(service):
                found.add((service, name))
    return found


def operator_operations() -> set[Operation]:
    return operations_the_adapters_call() | operations_of_the_policy()


# Inference components' operations (issue 21), which the sandbox answers (moto has none);
# checked here whether or not the operator's adapters call them yet.
INFERENCE_COMPONENT_OPERATIONS: set[Operation] = {
    ("sagemaker", op)
    for op in (
        "CreateInferenceComponent",
        "DescribeInferenceComponent",
        "ListInferenceComponents",
        "UpdateInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
        "DeleteInferenceComponent",
    )
}

# Operations the sandbox answers that no operator code calls, checked because their answers
# were found wrong (issue 16): the edge tests and demos read them. And inference components'.
ALSO_CHECKED: set[Operation] = {("greengrassv2", "GetCoreDevice"), *INFERENCE_COMPONENT_OPERATIONS}

SCENARIOS: dict[str, set[Operation]] = {
    "sagemaker": {
        ("sagemaker", op)
        for op in (
            "CreateModel",
            "DescribeModel",
            "DeleteModel",
            "ListModels",
            "CreateEndpointConfig",
            "DescribeEndpointConfig",
            "DeleteEndpointConfig",
            "ListEndpointConfigs",
            "CreateEndpoint",
            "DescribeEndpoint",
            "UpdateEndpoint",
            "UpdateEndpointWeightsAndCapacities",
            "DeleteEndpoint",
            "ListTags",
            "AddTags",
        )
    }
    | {("sagemaker-runtime", "InvokeEndpoint")},
    "autoscaling": {
        ("application-autoscaling", op)
        for op in (
            "RegisterScalableTarget",
            "PutScalingPolicy",
            "DescribeScalableTargets",
            "DescribeScalingPolicies",
            "DeregisterScalableTarget",
            "DeleteScalingPolicy",
        )
    }
    | {("iam", "CreateServiceLinkedRole")},
    "cloudwatch": {
        ("cloudwatch", op)
        for op in ("PutMetricAlarm", "DescribeAlarms", "DeleteAlarms", "GetMetricData")
    },
    "neo": {
        ("sagemaker", op)
        for op in (
            "CreateCompilationJob",
            "DescribeCompilationJob",
            "StopCompilationJob",
            "ListCompilationJobs",
            "DeleteCompilationJob",
        )
    },
    "greengrass": {
        ("greengrassv2", op)
        for op in (
            "CreateComponentVersion",
            "DescribeComponent",
            "DeleteComponent",
            "ListDeployments",
            "GetDeployment",
            "CreateDeployment",
            "TagResource",
            "GetCoreDevice",
            "ListCoreDevices",
            "CancelDeployment",
        )
    }
    | {
        ("iot", op)
        for op in (
            "DescribeThingGroup",
            "ListThingsInThingGroup",
            "DescribeJob",
            "ListJobExecutionsForJob",
            "DescribeJobExecution",
            "CreateJob",
            "CancelJob",
            "DescribeThing",
            "UpdateJob",
        )
    },
    "async inference": {("sagemaker-runtime", "InvokeEndpointAsync")},
    "inference components": INFERENCE_COMPONENT_OPERATIONS
    | {("sagemaker", op) for op in ("CreateEndpointConfig", "CreateEndpoint", "DescribeEndpoint")}
    | {("sagemaker-runtime", "InvokeEndpoint")}
    | {
        ("application-autoscaling", op)
        for op in (
            "RegisterScalableTarget",
            "PutScalingPolicy",
            "DescribeScalableTargets",
            "DescribeScalingPolicies",
            "DeregisterScalableTarget",
        )
    },
    "s3, sts and iam": {
        ("s3", "ListObjectsV2"),
        ("s3", "HeadObject"),
        ("s3", "GetObject"),
        ("s3", "PutObject"),
        ("s3", "DeleteObject"),
        ("sts", "GetCallerIdentity"),
        ("iam", "GetRole"),
        ("iam", "SimulatePrincipalPolicy"),
    },
}


def test_every_operation_the_operator_calls_has_a_scenario() -> None:
    called = operator_operations()
    assert ("sagemaker", "CreateModel") in called  # helpers' operation names are seen
    assert ("iot", "CancelJob") in called  # and those AWS calls on the operator's behalf
    assert {s for s, _ in called} == set(SERVICES)
    covered = set().union(*SCENARIOS.values())
    assert sorted(called - covered) == []
    assert sorted(covered - called - ALSO_CHECKED) == []


def test_every_pattern_of_the_answers_compiles() -> None:
    """The checker reads each Java pattern botocore holds for these answers."""
    models = []
    for service in SERVICES:
        model = BOTOCORE.get_service_model(service)
        models += [model.operation_model(op) for op in model.operation_names]
    for pattern in every_output_pattern(models):
        compile_pattern(pattern)
    assert compile_pattern(r"[^\p{C}]+").fullmatch("a job")
    assert not compile_pattern(r"[^\p{C}]+").fullmatch("a\x00job")
    assert not compile_pattern(r"^(https|s3)://([^/]+)/?(.*)$").fullmatch("")


@pytest.fixture
def checker() -> Iterator[AnswerChecker]:
    checker = AnswerChecker()
    yield checker
    assert checker.errors == [], "\n".join(checker.errors)


@pytest.fixture
def adapters(sandbox: Sandbox, checker: AnswerChecker) -> Callable[[type[Any]], Any]:
    """An adapter of the given class on a fresh sandbox client whose answers are checked."""

    def make(adapter: type[Any]) -> Any:
        client = checker.watch(sandbox.client(adapter.service))
        return adapter(client, TokenBucket(1000, 1000))

    return make


def _covered(checker: AnswerChecker, scenario: str, *, errors: set[tuple[str, str]]) -> None:
    """The scenario's operations were all answered and checked, with these error codes."""
    assert sorted(SCENARIOS[scenario] - checker.operations()) == []
    seen = {(c.operation, c.outcome) for c in checker.checked if c.outcome != "ok"}
    assert errors <= seen, sorted(seen)


def test_sagemaker_endpoint_answers(
    adapters: Callable[[type[Any]], Any],
    checker: AnswerChecker,
    sandbox_settings: Callable[..., None],
    model_bucket: str,
) -> None:
    sandbox_settings(creatingSeconds=0.2, updatingSeconds=0.2, deletingSeconds=0.2)
    sagemaker: SageMaker = adapters(SageMaker)
    name = unique("shapes")
    want = desired_endpoint(
        model_endpoint_spec(variant("a", model_bucket)), namespace="shapes", name=name
    )
    later = desired_endpoint(
        model_endpoint_spec(variant("a", model_bucket, "v2")), namespace="shapes", name=name
    )
    assert sagemaker.observe_artifacts(want).existing_models == frozenset()  # not found
    assert sagemaker.describe_endpoint(want.endpoint_name) is None
    creates = [
        *(CreateModel(model, want.tags) for model in want.models),
        CreateEndpointConfig(want.config_name, want.config_request(), want.tags),
    ]
    assert {sagemaker.execute(action) for action in creates} == {Effect.DONE}
    assert {sagemaker.execute(action) for action in creates} == {Effect.EXISTED}
    assert sagemaker.observe_artifacts(want).config_exists
    sagemaker.execute(CreateEndpoint(want.endpoint_name, want.config_name, want.tags))

    def in_service() -> bool:
        endpoint = sagemaker.describe_endpoint(want.endpoint_name)
        return endpoint is not None and endpoint.status.value == "InService"

    wait_until(lambda: {"done": in_service()}, lambda d: d["done"], "InService")
    endpoint = sagemaker.describe_endpoint(want.endpoint_name)
    assert endpoint is not None
    sagemaker.execute(TagEndpoint(endpoint.arn, want.tags))
    owner = dict(want.tags)[OWNER_TAG]
    assert sagemaker.owned_models(want.endpoint_name, owner) == want.model_names
    assert sagemaker.owned_configs(want.endpoint_name, owner) == {want.config_name}

    runtime: SageMakerRuntime = adapters(SageMakerRuntime)
    assert runtime.invoke(want.endpoint_name, b"[1]").body is not None
    with pytest.raises(AwsError):
        runtime.invoke(unique("missing"), b"[1]")

    sagemaker.execute(
        UpdateWeightsAndCapacities(want.endpoint_name, (VariantWeightAndCapacity("a", 1.0, 2),))
    )
    wait_until(lambda: {"done": in_service()}, lambda d: d["done"], "InService after weights")
    for action in (
        *(CreateModel(model, later.tags) for model in later.models),
        CreateEndpointConfig(later.config_name, later.config_request(), later.tags),
        UpdateEndpoint(later.endpoint_name, later.config_name),
    ):
        sagemaker.execute(action)
    wait_until(lambda: {"done": in_service()}, lambda d: d["done"], "InService after update")
    for action in (
        DeleteEndpoint(want.endpoint_name),
        DeleteEndpoint(unique("missing")),
        *(DeleteEndpointConfig(c) for c in (want.config_name, later.config_name)),
        DeleteEndpointConfig(unique("missing")),
        *(DeleteModel(m) for m in want.model_names | later.model_names),
        DeleteModel(unique("missing")),
    ):
        sagemaker.execute(action)
    _covered(
        checker,
        "sagemaker",
        errors={
            ("DescribeEndpoint", "ValidationException"),
            ("DescribeModel", "ValidationException"),
            ("CreateModel", "ValidationException"),
            ("DeleteModel", "ValidationException"),
        },
    )


def test_inference_component_answers(
    checker: AnswerChecker, sandbox: Sandbox, sandbox_settings: Callable[..., None]
) -> None:
    """Every inference component operation, success and error, and Application Auto
    Scaling's answers about a component's copies (sagemaker:inference-component:
    DesiredCopyCount)."""
    sandbox_settings(creatingSeconds=0.2, updatingSeconds=0.2, deletingSeconds=0.2)
    sagemaker = checker.watch(sandbox.client("sagemaker"))
    runtime = checker.watch(sandbox.client("sagemaker-runtime"))
    autoscaling = checker.watch(sandbox.client("application-autoscaling"))
    config, endpoint, name = unique("shapes"), unique("shapes"), unique("shapes")
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        ProductionVariants=[
            {
                "VariantName": "main",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 0,
                    "MaxInstanceCount": 2,
                },
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    wait_until(
        lambda: sagemaker.describe_endpoint(EndpointName=endpoint),
        lambda d: d["EndpointStatus"] == "InService",
        "the endpoint to be InService",
    )
    specification = {
        "Container": {"Image": "llm:1", "Environment": {"MODEL": "small"}},
        "StartupParameters": {"ContainerStartupHealthCheckTimeoutInSeconds": 600},
        "ComputeResourceRequirements": {
            "NumberOfCpuCoresRequired": 2,
            "MinMemoryRequiredInMb": 4096,
            "NumberOfAcceleratorDevicesRequired": 1,
        },
    }
    sagemaker.create_inference_component(
        InferenceComponentName=name,
        EndpointName=endpoint,
        VariantName="main",
        Specification=specification,
        RuntimeConfig={"CopyCount": 1},
        Tags=[{"Key": "team", "Value": "shapes"}],
    )
    with pytest.raises(sagemaker.exceptions.ClientError):
        sagemaker.create_inference_component(
            InferenceComponentName=unique("shapes"),
            EndpointName=unique("missing"),
            Specification=specification,
            RuntimeConfig={"CopyCount": 1},
        )

    def status() -> dict[str, Any]:
        described: dict[str, Any] = sagemaker.describe_inference_component(
            InferenceComponentName=name
        )
        return described

    wait_until(status, lambda d: d["InferenceComponentStatus"] == "InService", "InService")
    assert sagemaker.list_inference_components(EndpointNameEquals=endpoint, MaxResults=1)[
        "InferenceComponents"
    ]
    runtime.invoke_endpoint(EndpointName=endpoint, Body=b"[1]", InferenceComponentName=name)
    sagemaker.update_inference_component(
        InferenceComponentName=name,
        Specification={**specification, "Container": {"Image": "llm:2"}},
        RuntimeConfig={"CopyCount": 2},
        DeploymentConfig={
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 0,
                "MaximumExecutionTimeoutInSeconds": 600,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": unique("alarm")}]},
        },
    )
    wait_until(status, lambda d: d["InferenceComponentStatus"] == "InService", "the update")
    assert status()["LastDeploymentConfig"]["RollingUpdatePolicy"]
    resource = f"inference-component/{name}"
    dimension = "sagemaker:inference-component:DesiredCopyCount"
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=0,
        MaxCapacity=2,
    )
    autoscaling.put_scaling_policy(
        PolicyName="per-copy",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 1000.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": (
                    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
                )
            },
        },
    )
    autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=dimension
    )
    autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=dimension
    )
    sagemaker.update_inference_component_runtime_config(
        InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 1}
    )
    wait_until(status, lambda d: d["InferenceComponentStatus"] == "InService", "the copies")
    # Two GPUs a copy on one-GPU instances: it stays Creating, and cannot be updated.
    stuck = unique("shapes")
    sagemaker.create_inference_component(
        InferenceComponentName=stuck,
        EndpointName=endpoint,
        VariantName="main",
        Specification={
            **specification,
            "ComputeResourceRequirements": {
                "MinMemoryRequiredInMb": 1024,
                "NumberOfAcceleratorDevicesRequired": 2,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    with pytest.raises(sagemaker.exceptions.ClientError):
        sagemaker.update_inference_component_runtime_config(
            InferenceComponentName=stuck, DesiredRuntimeConfig={"CopyCount": 2}
        )
    sagemaker.describe_inference_component(InferenceComponentName=stuck)  # with its reason
    for deleted in (name, stuck):
        sagemaker.delete_inference_component(InferenceComponentName=deleted)
    for missing in (
        lambda: sagemaker.describe_inference_component(InferenceComponentName=unique("x")),
        lambda: sagemaker.delete_inference_component(InferenceComponentName=unique("x")),
        lambda: sagemaker.update_inference_component(
            InferenceComponentName=unique("x"), RuntimeConfig={"CopyCount": 1}
        ),
    ):
        with pytest.raises(sagemaker.exceptions.ClientError):
            missing()
    _covered(
        checker,
        "inference components",
        errors={
            ("CreateInferenceComponent", "ValidationException"),
            ("DescribeInferenceComponent", "ValidationException"),
            ("UpdateInferenceComponent", "ValidationException"),
            ("UpdateInferenceComponentRuntimeConfig", "ValidationException"),
            ("DeleteInferenceComponent", "ValidationException"),
        },
    )


def test_autoscaling_answers(
    adapters: Callable[[type[Any]], Any], checker: AnswerChecker, sandbox: Sandbox
) -> None:
    autoscaling: ApplicationAutoScaling = adapters(ApplicationAutoScaling)
    resource = f"endpoint/{unique('shapes')}/variant/a"
    other = f"endpoint/{unique('shapes')}/variant/a"
    autoscaling.execute(RegisterScalableTarget(resource, 1, 4))
    autoscaling.execute(
        PutScalingPolicy(
            resource,
            "invocations",
            {
                "TargetValue": 70.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        )
    )
    step = scale_out_from_zero("shapes", "a")
    autoscaling.execute(PutScalingPolicy(resource, step.policy_name, step.policy, "StepScaling"))
    arn = autoscaling.policy_arn(resource, step.policy_name)
    assert arn is not None
    assert arn.endswith(f"policyName/{step.policy_name}")
    cloudwatch: CloudWatch = adapters(CloudWatch)
    cloudwatch.put_alarm({"AlarmName": step.alarm_name, **step.alarm}, [arn])
    autoscaling.execute(RegisterScalableTarget(other, 1, 2))
    observed = autoscaling.observe([resource, other])
    assert observed[resource].max_instances == 4
    assert sorted(observed[resource].policies) == sorted(["invocations", step.policy_name])
    assert observed[resource].policies[step.policy_name] == step.policy
    assert observed[resource].policy_alarms == {step.policy_name: frozenset({step.alarm_name})}
    assert autoscaling.observe([resource])[resource].min_instances == 1  # one by one
    autoscaling.execute(DeleteScalingPolicy(resource, "invocations"))
    autoscaling.execute(DeleteScalingPolicy(resource, step.policy_name))
    assert autoscaling.policy_arn(resource, step.policy_name) is None  # gone: no ARN
    cloudwatch.delete_alarm(step.alarm_name)
    for target in (resource, other):
        autoscaling.execute(DeregisterScalableTarget(target))
    with pytest.raises(AwsError) as gone:
        autoscaling.execute(DeregisterScalableTarget(resource))
    assert gone.value.code == "ObjectNotFoundException"
    # The role Application Auto Scaling makes, once, with the caller's permissions.
    iam = checker.watch(sandbox.client("iam"))
    role = iam.create_service_linked_role(
        AWSServiceName="sagemaker.application-autoscaling.amazonaws.com"
    )
    iam.delete_role(RoleName=role["Role"]["RoleName"])
    _covered(
        checker, "autoscaling", errors={("DeregisterScalableTarget", "ObjectNotFoundException")}
    )


def test_cloudwatch_answers(
    adapters: Callable[[type[Any]], Any], checker: AnswerChecker, sandbox: Sandbox
) -> None:
    cloudwatch: CloudWatch = adapters(CloudWatch)
    endpoint = unique("shapes")
    alarm = f"TargetTracking-endpoint/{endpoint}/variant/a-AlarmHigh-{uuid.uuid4()}"
    # As target tracking makes its alarms, with the operator's permissions.
    client = checker.watch(sandbox.client("cloudwatch"))
    client.put_metric_alarm(
        AlarmName=alarm,
        MetricName="InvocationsPerInstance",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": "a"},
        ],
        Period=60,
        EvaluationPeriods=3,
        Threshold=70.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    states = cloudwatch.alarm_states([alarm, unique("missing")])
    assert states == {alarm: AlarmState.INSUFFICIENT_DATA}
    client.delete_alarms(AlarmNames=[alarm])
    end = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    lookup = MetricsLookup(
        start=end - datetime.timedelta(minutes=10),
        window_start=end - datetime.timedelta(minutes=1),
        end=end,
        period=60,
    )
    data = cloudwatch.read_analysis(endpoint, ["a", "b"], [], lookup)
    assert data.totals["a"].invocations == 0
    _covered(checker, "cloudwatch", errors=set())


def test_async_inference_answers(
    adapters: Callable[[type[Any]], Any],
    checker: AnswerChecker,
    sandbox_settings: Callable[..., None],
    model_bucket: str,
    sandbox: Sandbox,
) -> None:
    sandbox_settings(creatingSeconds=0.2, deletingSeconds=0.2, asyncProcessingSeconds=0.1)
    sagemaker: SageMaker = adapters(SageMaker)
    bucket = bucket_with(sandbox, "in/request.json")
    want = desired_endpoint(
        model_endpoint_spec(
            variant("a", model_bucket),
            asyncInference={"outputPath": f"s3://{bucket}/out", "failurePath": f"s3://{bucket}/f"},
        ),
        namespace="shapes",
        name=unique("shapes"),
    )
    for action in (
        *(CreateModel(model, want.tags) for model in want.models),
        CreateEndpointConfig(want.config_name, want.config_request(), want.tags),
        CreateEndpoint(want.endpoint_name, want.config_name, want.tags),
    ):
        sagemaker.execute(action)

    def in_service() -> bool:
        endpoint = sagemaker.describe_endpoint(want.endpoint_name)
        return endpoint is not None and endpoint.status.value == "InService"

    wait_until(lambda: {"done": in_service()}, lambda d: d["done"], "InService")
    runtime: SageMakerRuntime = adapters(SageMakerRuntime)
    queued = runtime.invoke_async(want.endpoint_name, f"s3://{bucket}/in/request.json")
    assert queued.output_location == f"s3://{bucket}/out/{queued.inference_id}.out"
    assert queued.failure_location == f"s3://{bucket}/f/{queued.inference_id}-error.out"
    with pytest.raises(AwsError) as refused:
        runtime.invoke_async(unique("missing"), f"s3://{bucket}/in/request.json")
    assert refused.value.code == "ValidationError"
    sagemaker.execute(DeleteEndpoint(want.endpoint_name))
    _covered(checker, "async inference", errors={("InvokeEndpointAsync", "ValidationError")})


@pytest.fixture
def fast_edge(sandbox_settings: Callable[..., None]) -> None:
    sandbox_settings(**FAST_EDGE)


def test_neo_answers(
    adapters: Callable[[type[Any]], Any], checker: AnswerChecker, sandbox: Sandbox, fast_edge: None
) -> None:
    neo: Neo = adapters(Neo)
    bucket = bucket_with(sandbox, "classifier/model.tar.gz")
    name = unique("neo")
    desired = desired_edge_model(
        edge_model_spec(
            source=f"s3://{bucket}/classifier/model.tar.gz", outputS3Uri=f"s3://{bucket}/out"
        ),
        namespace="shapes",
        name=name,
    )
    first, second = desired.targets
    assert neo.describe(first.job_name) is None
    neo.create(first.job_name, dict(first.compilation))
    neo.create(first.job_name, dict(first.compilation))  # ResourceInUse: taken as done
    starting = neo.describe(first.job_name)  # before completion: no artifact yet
    assert starting is not None
    assert starting.artifact_uri is None
    done = wait_until(
        lambda: {"job": neo.describe(first.job_name)},
        lambda d: d["job"] is not None and d["job"].status.value == "COMPLETED",
        "the compilation to complete",
    )
    assert done["job"].artifact_uri.startswith(f"s3://{bucket}/out/")
    neo.create(second.job_name, dict(second.compilation))
    neo.stop(second.job_name)
    neo.stop(unique("missing"))
    assert set(neo.list_names(name)) == {first.job_name, second.job_name}
    neo.delete(first.job_name)
    neo.delete(first.job_name)  # gone: done
    assert neo.describe(first.job_name) is None
    _covered(
        checker,
        "neo",
        errors={
            ("CreateCompilationJob", "ResourceInUse"),
            ("StopCompilationJob", "ResourceNotFound"),
            ("DeleteCompilationJob", "ResourceNotFound"),
        },
    )


def test_greengrass_and_iot_answers(
    adapters: Callable[[type[Any]], Any], checker: AnswerChecker, sandbox: Sandbox, fast_edge: None
) -> None:
    greengrass: GreengrassV2 = adapters(GreengrassV2)
    iot: Iot = adapters(Iot)
    bucket = bucket_with(sandbox, "out/model-jetson_nano.tar.gz")
    desired = desired_edge_model(
        edge_model_spec(outputS3Uri=f"s3://{bucket}/out"), namespace="shapes", name=unique("gg")
    )
    target = desired.targets[0]
    # Greengrass reads every artifact at creation: the entrypoint the recipe names too.
    sandbox.client("s3").put_object(
        Bucket=bucket,
        Key=desired.entrypoint_uri.removeprefix(f"s3://{bucket}/"),
        Body=edge_runtime.entrypoint_source(),
    )
    iot_client = checker.watch(sandbox.client("iot"))
    group_arn, things = group_of_things(iot_client, 2)
    group = group_arn.rsplit("/", 1)[-1]
    assert iot.thing_group_arn(group) == group_arn
    assert iot.thing_group_arn(unique("missing")) is None
    assert iot.things_in_group(group) == frozenset(things)
    child = unique("fleet")
    iot_client.create_thing_group(thingGroupName=child, parentGroupName=group)
    nested = unique("cam")
    iot_client.create_thing(thingName=nested)
    iot_client.add_thing_to_thing_group(thingGroupName=child, thingName=nested)
    # Child groups' things too: the group's deployment reaches them.
    assert iot.things_in_group(group) == frozenset({*things, nested})

    artifact = f"s3://{bucket}/out/model-jetson_nano.tar.gz"
    arn = greengrass.create_component_version(
        CreateComponentVersion(
            target.component_name,
            target.component_version,
            recipe(desired, target, artifact),
            unique("token"),
            desired.tags,
        )
    )
    wait_until(
        lambda: {"c": greengrass.describe_component(arn)},
        lambda d: d["c"] is not None and d["c"].state.value == "DEPLOYABLE",
        "the component to be deployable",
    )
    assert greengrass.latest_deployment(group_arn) is None
    deployment = CreateDeployment(
        thing_group=group,
        target_arn=group_arn,
        deployment_name=f"shapes-{group}",
        components={target.component_name: {"componentVersion": target.component_version}},
        deployment_policies={"failureHandlingPolicy": "ROLLBACK"},
        iot_job_configuration={"jobExecutionsRolloutConfig": {"maximumPerMinute": 100}},
        tags=dict(desired.tags),
        replaces=None,
        why="shapes",
    )
    deployment_id = greengrass.create_deployment(deployment, unique("token"))
    latest = greengrass.latest_deployment(group_arn)
    assert latest is not None
    assert latest.deployment_id == deployment_id
    assert latest.iot_job_id is not None
    greengrass_client = checker.watch(sandbox.client("greengrassv2"))
    greengrass_client.tag_resource(resourceArn=arn, tags={"shapes": "yes"})
    with pytest.raises(greengrass_client.exceptions.ResourceNotFoundException):
        greengrass_client.get_deployment(deploymentId=str(uuid.uuid4()))

    # A thing group's deployment job is continuous: it stays IN_PROGRESS for new members.
    wait_until(
        lambda: {"job": iot.describe_job(latest.iot_job_id or "")},
        lambda d: d["job"] is not None and d["job"].counts.succeeded == len(things) + 1,
        "every device to take the deployment",
    )
    assert iot.describe_job(unique("missing")) is None
    assert {e.thing_name for e in iot.executions(latest.iot_job_id)} == {*things, nested}
    assert iot.execution_detail(latest.iot_job_id, things[0]) is not None
    # Core devices appear once a device has taken a deployment.
    assert greengrass_client.get_core_device(coreDeviceThingName=things[0])["status"]
    assert {*things, nested} <= greengrass.core_devices()

    # What Greengrass does with the operator's permissions: create a job, cancel it; and
    # a job that is done cannot be canceled.
    iot_client.update_job(jobId=latest.iot_job_id, description="Revised by Greengrass.")
    iot_client.cancel_job(jobId=latest.iot_job_id, comment="Replaced by a newer deployment.")
    greengrass.cancel_deployment(deployment_id)
    greengrass.cancel_deployment(deployment_id)  # no longer ACTIVE: done, not an error
    done = unique("job")
    thing_arn = iot_client.describe_thing(thingName=things[0])["thingArn"]
    iot_client.create_job(jobId=done, targets=[thing_arn], document=json.dumps({"do": "it"}))
    wait_until(
        lambda: {"job": iot.describe_job(done)},
        lambda d: d["job"] is not None and d["job"].status == "COMPLETED",
        "a snapshot job to complete",
    )
    with pytest.raises(iot_client.exceptions.InvalidRequestException):
        iot_client.cancel_job(jobId=done)
    with pytest.raises(iot_client.exceptions.ResourceNotFoundException):
        iot_client.cancel_job(jobId=unique("missing"))

    greengrass.delete_component(arn)
    greengrass.delete_component(arn)  # gone: not an error
    assert greengrass.describe_component(arn) is None
    _covered(
        checker,
        "greengrass",
        errors={
            ("DescribeThingGroup", "ResourceNotFoundException"),
            ("DescribeJob", "ResourceNotFoundException"),
            ("GetDeployment", "ResourceNotFoundException"),
            ("DescribeComponent", "ResourceNotFoundException"),
            ("CancelJob", "InvalidRequestException"),
            ("CancelJob", "ResourceNotFoundException"),
            ("CancelDeployment", "ConflictException"),
        },
    )


def test_s3_sts_and_iam_answers(
    adapters: Callable[[type[Any]], Any], checker: AnswerChecker, sandbox: Sandbox
) -> None:
    s3: S3 = adapters(S3)
    bucket = bucket_with(sandbox, "mme/a.tar.gz", "mme/b.tar.gz")
    assert s3.list_models(f"s3://{bucket}/mme/") == ["a.tar.gz", "b.tar.gz"]
    with pytest.raises(AwsError) as missing:
        s3.list_models(f"s3://{unique('missing')}/mme/")
    assert missing.value.code == "NoSuchBucket"
    entrypoint = f"s3://{bucket}/out/serving_entrypoint.py"
    assert not s3.exists(entrypoint)  # HeadObject's 404
    assert s3.publish(entrypoint, b"print('hi')") is True
    assert s3.publish(entrypoint, b"print('hi')") is False  # there: not put again
    assert s3.exists(entrypoint)
    assert s3.read(entrypoint) == b"print('hi')"
    assert s3.read(f"s3://{bucket}/out/missing") is None  # GetObject's NoSuchKey
    s3.delete(entrypoint)
    s3.delete(entrypoint)  # not there: no error
    assert not s3.exists(entrypoint)
    sts: Sts = adapters(Sts)
    assert sts.caller_identity().account == "123456789012"
    iam: Iam = adapters(Iam)
    role = unique("shapes")
    client = sandbox.client("iam")
    client.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    try:
        role_arn = iam.role_arn(role)
        assert role_arn.endswith(f":role/{role}")
        with pytest.raises(AwsError) as gone:
            iam.role_arn(unique("missing"))
        assert gone.value.code == "NoSuchEntity"
        decisions = iam.simulate(role_arn, operator_action_names())
        assert set(decisions) == set(operator_action_names())
    finally:
        client.delete_role(RoleName=role)
    _covered(
        checker,
        "s3, sts and iam",
        errors={
            ("ListObjectsV2", "NoSuchBucket"),
            ("HeadObject", "404"),
            ("GetObject", "NoSuchKey"),
            ("GetRole", "NoSuchEntity"),
        },
    )
