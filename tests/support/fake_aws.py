"""Recording fakes of the AWS adapters, for the unit tier of `reconcile/` (the ModelEndpoint,
InferenceComponent and TrafficSplit shells alike; EdgeModel's are in fake_edge_aws).

They hold a little AWS state (one endpoint with its variants' weights, its owner tag, which
models and configs exist, one inference component, registered scaling of variants and of
component copies, CloudWatch alarms and their states, the variants' invocation counts) and
record every call, so a scenario says "this state in, these calls out" without a network.
The adapters themselves are tested against the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from serving_operator.aws.base import AwsError
from serving_operator.aws.clients import Clients
from serving_operator.aws.runtime import Invocation
from serving_operator.aws.sagemaker import Effect
from serving_operator.planning.inferencecomponent.observed import (
    ObservedComponent,
    ObservedCopyScaling,
)
from serving_operator.planning.modelendpoint.actions import (
    CreateEndpointConfig,
    CreateModel,
    DeregisterScalableTarget,
)
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedArtifacts,
    ObservedEndpoint,
    ObservedScaling,
    ObservedVariant,
)
from serving_operator.planning.ownership import ObservedOwner
from serving_operator.planning.trafficsplit.observed import (
    AlarmState,
    AnalysisData,
    MetricsLookup,
    VariantTotals,
)
from tests.support.recording import CallRecorder


@dataclass
class FakeAws(CallRecorder):
    endpoint: ObservedEndpoint | None = None
    endpoint_owner: str | None = None
    models: set[str] = field(default_factory=set)
    configs: set[str] = field(default_factory=set)
    scaling: dict[str, ObservedScaling] = field(default_factory=dict)
    """Application Auto Scaling resource id -> its registered target: a variant's instances
    or an inference component's copies."""
    model_files: dict[str, list[str]] = field(default_factory=dict)
    """S3 prefix -> the model files under it (what a multi-model variant can load)."""
    alarms: dict[str, list[str]] = field(default_factory=dict)
    """CloudWatch alarm name -> its AlarmActions."""
    gone_policies: set[str] = field(default_factory=set)
    """Scaling policies deleted since the pass's (shared) read showed them: asked for by
    name, AWS answers none."""
    alarm_states: dict[str, AlarmState] = field(default_factory=dict)
    """CloudWatch alarm name -> its StateValue, as DescribeAlarms answers it."""
    metric_totals: dict[str, VariantTotals] = field(default_factory=dict)
    """Variant -> the invocation counts CloudWatch sums for it over any window asked (a variant
    left out had no invocations)."""

    component: ObservedComponent | None = None
    """The one inference component there is (DescribeInferenceComponent of another name:
    not found)."""
    component_owner: str | None = None
    """The owner tag on that component (ListTags)."""

    read_prefixes = (*CallRecorder.read_prefixes, "Observe", "Owner", "Invoke")
    """Besides AWS's reads, the adapter-level reads this fake names after its methods
    (ObserveArtifacts, OwnerOf) and a warm-up invocation, which changes nothing."""

    def clients(self) -> Clients:
        return Clients(
            sagemaker=_FakeSageMaker(self),  # type: ignore[arg-type]
            autoscaling=_FakeAutoscaling(self),  # type: ignore[arg-type]
            s3=_FakeS3(self),  # type: ignore[arg-type]
            runtime=_FakeRuntime(self),  # type: ignore[arg-type]
            # A ModelEndpoint pass only writes CloudWatch: the scale-out-from-zero alarm; a
            # TrafficSplit pass only reads it: alarm states and invocation metrics.
            cloudwatch=_FakeCloudWatch(self),  # type: ignore[arg-type]
            components=_FakeComponents(self),  # type: ignore[arg-type]
            copy_scaling=_FakeCopyScaling(self),  # type: ignore[arg-type]
        )

    def finish_update(self) -> None:
        """SageMaker finishes the update in flight: each variant's CurrentWeight becomes its
        DesiredWeight and the endpoint is InService again (the sandbox does this after its
        `updating_seconds`; here the scenario says when)."""
        assert self.endpoint is not None
        self.endpoint = replace(
            self.endpoint,
            status=EndpointStatus.IN_SERVICE,
            variants=tuple(
                replace(v, current_weight=v.desired_weight) for v in self.endpoint.variants
            ),
        )

    def serve_weights(self, weights: Mapping[str, float]) -> None:
        """The named variants serve `weights` (current and desired), written by someone else
        and applied by SageMaker: what a weight change out of band looks like."""
        assert self.endpoint is not None
        self.endpoint = replace(
            self.endpoint,
            variants=tuple(
                replace(v, current_weight=weights[v.name], desired_weight=weights[v.name])
                if v.name in weights
                else v
                for v in self.endpoint.variants
            ),
        )


def weighted_endpoint(
    name: str, weights: Mapping[str, float], status: EndpointStatus = EndpointStatus.IN_SERVICE
) -> ObservedEndpoint:
    """An endpoint whose variants (one instance each, in name order) serve `weights`."""
    return ObservedEndpoint(
        name,
        _endpoint_arn(name),
        status,
        "config",
        None,
        tuple(ObservedVariant(n, w, w, 1, 1) for n, w in sorted(weights.items())),
    )


class _FakeSageMaker:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def describe_endpoint(
        self, name: str, *, read_since: float | None = None, now: float | None = None
    ) -> ObservedEndpoint | None:
        """Reads AWS's state now, whatever the caller would accept; records the name and
        whether a read another pass made since `read_since` would do (None: only a new one)."""
        self.aws.record("DescribeEndpoint", (name, read_since))
        return self.aws.endpoint

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """The one raw call a shell makes itself: UpdateEndpointWeightsAndCapacities. Like
        SageMaker (API reference; the sandbox's `_update_weights_and_capacities`) it refuses an
        endpoint that is missing or not InService and a variant the endpoint lacks, else sets
        the DesiredWeights and the endpoint Updating until `FakeAws.finish_update`."""
        assert operation == "UpdateEndpointWeightsAndCapacities", f"not modelled: {operation}"
        self.aws.record(operation, params)
        endpoint = self.aws.endpoint
        name = params["EndpointName"]
        if endpoint is None or endpoint.name != name:
            raise _refused(operation, f'Could not find endpoint "{_endpoint_arn(name)}".')
        if endpoint.status != EndpointStatus.IN_SERVICE:
            raise _refused(operation, f'Cannot update in-progress endpoint "{endpoint.arn}".')
        desired = {
            c["VariantName"]: c["DesiredWeight"] for c in params["DesiredWeightsAndCapacities"]
        }
        if unknown := sorted(set(desired) - {v.name for v in endpoint.variants}):
            raise _refused(
                operation,
                f'The variant name(s) "{", ".join(unknown)}" is/are not present within'
                f' endpoint configuration "{endpoint.config_name}".',
            )
        self.aws.endpoint = replace(
            endpoint,
            status=EndpointStatus.UPDATING,
            variants=tuple(
                replace(v, desired_weight=desired.get(v.name, v.desired_weight))
                for v in endpoint.variants
            ),
        )
        return {"EndpointArn": endpoint.arn}

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


def _endpoint_arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"


def _refused(operation: str, message: str) -> AwsError:
    return AwsError("sagemaker", operation, "ValidationException", message, 400)


class _FakeAutoscaling:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def observe(
        self, resource_ids: list[str], *, shared_since: float | None = None, now: float = 0.0
    ) -> dict[str, ObservedScaling]:
        """Reads AWS's state now, shared or not; records whether a shared read would do, and
        the caller's clock."""
        self.aws.record("DescribeScalableTargets", (tuple(resource_ids), shared_since, now))
        return {r: s for r, s in self.aws.scaling.items() if r in resource_ids}

    def execute(self, action: Any) -> None:
        self.aws.record(type(action).__name__, action)
        if isinstance(action, DeregisterScalableTarget):
            self.aws.scaling.pop(action.resource_id, None)

    def policy_arn(self, resource_id: str, policy_name: str) -> str | None:
        self.aws.record("DescribeScalingPolicies", (resource_id, policy_name))
        if policy_name in self.aws.gone_policies:
            return None
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
        # PutMetricAlarm (botocore's model): a new alarm starts INSUFFICIENT_DATA; an update
        # leaves its state unchanged.
        self.aws.alarm_states.setdefault(name, AlarmState.INSUFFICIENT_DATA)

    def delete_alarm(self, name: str) -> bool:
        self.aws.record("DeleteAlarms", name)
        self.aws.alarm_states.pop(name, None)
        return self.aws.alarms.pop(name, None) is not None

    def alarm_states(self, names: Sequence[str]) -> dict[str, AlarmState]:
        """Each named alarm's state; one that does not exist is left out, as by the adapter."""
        self.aws.record("DescribeAlarms", tuple(names))
        return {n: self.aws.alarm_states[n] for n in names if n in self.aws.alarm_states}

    def read_analysis(
        self, endpoint: str, variants: Sequence[str], metrics: Any, lookup: MetricsLookup
    ) -> AnalysisData:
        """The same counts for whatever window is asked; no latency or custom values (as
        CloudWatch answers a query with no datapoints)."""
        self.aws.record("GetMetricData", (lookup.start, lookup.end))
        totals = {v: self.aws.metric_totals.get(v, VariantTotals(0, 0, 0)) for v in variants}
        return AnalysisData(lookup, totals, {v: t.invocations for v, t in totals.items()})


class _FakeComponents:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def describe(self, name: str) -> ObservedComponent | None:
        self.aws.record("DescribeInferenceComponent", name)
        component = self.aws.component
        return component if component is not None and component.name == name else None

    def owner_of(self, name: str) -> str | None:
        """The component's owner tag, read as the adapter does: its ARN, then ListTags (the
        DescribeInferenceComponent before it is the adapter's and recorded alike)."""
        component = self.describe(name)
        if component is None:
            return None
        self.aws.record("ListTags", component.arn)
        return self.aws.component_owner

    def execute(self, action: Any) -> bool:
        """Records the write and says it changed something; the component does not change."""
        self.aws.record(type(action).__name__, action)
        return True


class _FakeCopyScaling:
    """Reads the components' copy scaling through the variants' reader, as the adapter does
    (aws/copyscaling.py): the same DescribeScalableTargets, recorded alike."""

    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def observe(
        self, resource_id: str, *, shared_since: float | None = None, now: float = 0.0
    ) -> ObservedCopyScaling | None:
        reader = _FakeAutoscaling(self.aws)
        found = reader.observe([resource_id], shared_since=shared_since, now=now).get(resource_id)
        if found is None:
            return None
        return ObservedCopyScaling(found.min_instances, found.max_instances, found.policies)

    def execute(self, action: Any) -> bool:
        """Records the write (RegisterCopyScaling, PutCopyScalingPolicy, DeregisterCopyScaling
        by their action names); a deregistration removes the target."""
        self.aws.record(type(action).__name__, action)
        if type(action).__name__ == "DeregisterCopyScaling":
            return self.aws.scaling.pop(action.resource_id, None) is not None
        return True

    def put_step_policy(self, resource_id: str, name: str, configuration: Any) -> str:
        self.aws.record("PutScalingPolicy", (resource_id, name))
        return (
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/sagemaker/"
            f"{resource_id}:policyName/{name}"
        )

    def delete_policy(self, resource_id: str, name: str) -> bool:
        self.aws.record("DeleteScalingPolicy", (resource_id, name))
        return True


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
