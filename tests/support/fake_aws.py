"""Recording fakes of the AWS adapters, for the unit tier of `reconcile/`.

They hold a little AWS state (one endpoint, its owner tag, which models and configs exist,
registered scaling) and record every call, so a scenario says "this state in, these calls
out" without a network. The adapters themselves are tested against the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from serving_operator.aws.clients import Clients
from serving_operator.aws.runtime import Invocation
from serving_operator.aws.sagemaker import Effect
from serving_operator.planning.modelendpoint.actions import (
    CreateEndpointConfig,
    CreateModel,
    DeregisterScalableTarget,
)
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint
from serving_operator.planning.modelendpoint.observed import (
    ObservedArtifacts,
    ObservedEndpoint,
    ObservedScaling,
)
from serving_operator.planning.ownership import ObservedOwner
from tests.support.recording import CallRecorder


@dataclass
class FakeAws(CallRecorder):
    endpoint: ObservedEndpoint | None = None
    endpoint_owner: str | None = None
    models: set[str] = field(default_factory=set)
    configs: set[str] = field(default_factory=set)
    scaling: dict[str, ObservedScaling] = field(default_factory=dict)
    model_files: dict[str, list[str]] = field(default_factory=dict)
    """S3 prefix -> the model files under it (what a multi-model variant can load)."""
    alarms: dict[str, list[str]] = field(default_factory=dict)
    """CloudWatch alarm name -> its AlarmActions."""

    read_prefixes = ("Describe", "List", "Observe", "Owner", "Invoke")
    """Besides AWS's reads, the adapter-level reads this fake names after its methods
    (ObserveArtifacts, OwnerOf) and a warm-up invocation, which changes nothing."""

    def clients(self) -> Clients:
        return Clients(
            sagemaker=_FakeSageMaker(self),  # type: ignore[arg-type]
            autoscaling=_FakeAutoscaling(self),  # type: ignore[arg-type]
            s3=_FakeS3(self),  # type: ignore[arg-type]
            runtime=_FakeRuntime(self),  # type: ignore[arg-type]
            # A ModelEndpoint pass only writes CloudWatch: the scale-out-from-zero alarm.
            cloudwatch=_FakeCloudWatch(self),  # type: ignore[arg-type]
        )


class _FakeSageMaker:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def describe_endpoint(
        self, name: str, *, read_since: float | None = None, now: float | None = None
    ) -> ObservedEndpoint | None:
        """Reads AWS's state now, whatever the caller would accept."""
        self.aws.record("DescribeEndpoint", name)
        return self.aws.endpoint

    def observe_artifacts(self, desired: DesiredEndpoint) -> ObservedArtifacts:
        self.aws.record("ObserveArtifacts", desired.config_name)
        return ObservedArtifacts(
            frozenset(m for m in desired.model_names if m in self.aws.models),
            desired.config_name in self.aws.configs,
        )

    def owner_of(self, arn: str) -> ObservedOwner:
        self.aws.record("OwnerOf", arn)
        return ObservedOwner(self.aws.endpoint_owner)

    def owned_configs(self, endpoint_name: str, owner: str) -> frozenset[str]:
        self.aws.record("ListEndpointConfigs", endpoint_name)
        return frozenset(self.aws.configs)

    def owned_models(self, endpoint_name: str, owner: str) -> frozenset[str]:
        self.aws.record("ListModels", endpoint_name)
        return frozenset(self.aws.models)

    def execute(self, action: Any) -> Effect:
        """Creates models and configs, refusing one that exists as SageMaker does."""
        self.aws.record(type(action).__name__, action)
        match action:
            case CreateModel(model=model):
                return self._create(self.aws.models, model.name)
            case CreateEndpointConfig(config_name=name):
                return self._create(self.aws.configs, name)
        return Effect.DONE

    @staticmethod
    def _create(existing: set[str], name: str) -> Effect:
        if name in existing:
            return Effect.EXISTED
        existing.add(name)
        return Effect.DONE


class _FakeAutoscaling:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def observe(
        self, resource_ids: list[str], *, shared_since: float | None = None, now: float = 0.0
    ) -> dict[str, ObservedScaling]:
        """Reads AWS's state now, shared or not; records whether a shared read would do."""
        self.aws.record("DescribeScalableTargets", (tuple(resource_ids), shared_since))
        return {r: s for r, s in self.aws.scaling.items() if r in resource_ids}

    def execute(self, action: Any) -> None:
        self.aws.record(type(action).__name__, action)
        if isinstance(action, DeregisterScalableTarget):
            self.aws.scaling.pop(action.resource_id, None)

    def policy_arn(self, resource_id: str, policy_name: str) -> str:
        self.aws.record("DescribeScalingPolicies", (resource_id, policy_name))
        return (
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/sagemaker/"
            f"{resource_id}:policyName/{policy_name}"
        )


class _FakeCloudWatch:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def put_alarm(self, request: Any, actions: list[str]) -> None:
        name = request["AlarmName"]
        self.aws.record("PutMetricAlarm", name)
        self.aws.alarms[name] = list(actions)

    def delete_alarm(self, name: str) -> bool:
        self.aws.record("DeleteAlarms", name)
        return self.aws.alarms.pop(name, None) is not None


class _FakeS3:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def list_models(self, prefix_url: str, limit: int = 1000) -> list[str]:
        self.aws.record("ListObjectsV2", prefix_url)
        return sorted(self.aws.model_files.get(prefix_url, []))[:limit]


class _FakeRuntime:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def invoke(self, endpoint_name: str, body: bytes, **target: str | None) -> Invocation:
        self.aws.record("InvokeEndpoint", target)
        return Invocation(b"{}", "application/json", target.get("variant"), 0.01)
