"""The recording AWS fake of the unit tier of `reconcile/`: every kind's shell (ModelEndpoint,
TrafficSplit, InferenceComponent, EdgeModel) runs against the same `FakeAws`.

It holds a little AWS state, grouped by service below, and records every call (the
`CallRecorder` core in tests/support/recording.py), so a scenario says "this state in, these
calls out" without a network. `FakeAws.clients()` answers every group of `Clients`, the
EdgeModel's `edge` included; each service's stand-in is a module of this package named after
the adapter it replaces (sagemaker.py for aws/sagemaker.py, and so on) and reads and writes
this one state. The adapters themselves are tested against the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from serving_operator.aws.clients import Clients, EdgeClients
from serving_operator.planning.edgemodel.observed import (
    DeviceFailure,
    ObservedCompilation,
    ObservedComponentVersion,
    ObservedDeployment,
    ObservedJob,
)
from serving_operator.planning.inferencecomponent.observed import ObservedComponent
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedEndpoint,
    ObservedScaling,
)
from serving_operator.planning.trafficsplit.observed import AlarmState, VariantTotals
from tests.support.fake_aws.arns import ACCOUNT, REGION, group_arn, version_arn
from tests.support.fake_aws.autoscaling import RecordingAutoscaling
from tests.support.fake_aws.cloudwatch import RecordingCloudWatch
from tests.support.fake_aws.copyscaling import RecordingCopyScaling
from tests.support.fake_aws.greengrass import RecordingGreengrass
from tests.support.fake_aws.inferencecomponents import RecordingInferenceComponents
from tests.support.fake_aws.iot import RecordingIot
from tests.support.fake_aws.neo import RecordingNeo
from tests.support.fake_aws.runtime import RecordingRuntime
from tests.support.fake_aws.s3 import RecordingS3
from tests.support.fake_aws.sagemaker import RecordingSageMaker, weighted_endpoint
from tests.support.fake_aws.sts import RecordingSts
from tests.support.recording import CallRecorder

__all__ = ["ACCOUNT", "REGION", "FakeAws", "group_arn", "version_arn", "weighted_endpoint"]


@dataclass
class FakeAws(CallRecorder):
    # SageMaker: the one endpoint, and the configs and models that exist.
    endpoint: ObservedEndpoint | None = None
    """The one endpoint there is (DescribeEndpoint answers it whatever the name)."""
    endpoint_owner: str | None = None
    """The owner tag on that endpoint."""
    models: set[str] = field(default_factory=set)
    configs: set[str] = field(default_factory=set)

    # SageMaker inference components.
    component: ObservedComponent | None = None
    """The one inference component there is (DescribeInferenceComponent of another name:
    not found). Not Greengrass's `components` below."""
    component_owner: str | None = None
    """The owner tag on that component (ListTags)."""

    # Application Auto Scaling.
    scaling: dict[str, ObservedScaling] = field(default_factory=dict)
    """Application Auto Scaling resource id -> its registered target: a variant's instances
    or an inference component's copies."""
    gone_policies: set[str] = field(default_factory=set)
    """Scaling policies deleted since the pass's (shared) read showed them: asked for by
    name, AWS answers none."""

    # CloudWatch.
    alarms: dict[str, list[str]] = field(default_factory=dict)
    """CloudWatch alarm name -> its AlarmActions."""
    alarm_states: dict[str, AlarmState] = field(default_factory=dict)
    """CloudWatch alarm name -> its StateValue, as DescribeAlarms answers it."""
    metric_totals: dict[str, VariantTotals] = field(default_factory=dict)
    """Variant -> the invocation counts CloudWatch sums for it over any window asked (a variant
    left out had no invocations)."""

    # S3: model files for multi-model endpoints, objects for EdgeModel.
    model_files: dict[str, list[str]] = field(default_factory=dict)
    """S3 prefix -> the model files under it (what a multi-model variant can load)."""
    objects: dict[str, bytes] = field(default_factory=dict)
    """S3 URL -> body (what EdgeModel published)."""
    source_versions: dict[str, str] = field(default_factory=dict)
    """The version (ETag or VersionId) HeadObject gives for a source URI; none: unreadable."""

    # SageMaker Neo.
    compilations: dict[str, ObservedCompilation] = field(default_factory=dict)
    """Compilation job name -> the job."""

    # Greengrass v2.
    components: dict[str, ObservedComponentVersion] = field(default_factory=dict)
    """Greengrass component versions, by version ARN."""
    deployments: dict[str, ObservedDeployment] = field(default_factory=dict)
    """Thing group -> its latest deployment."""
    tokens: dict[str, str] = field(default_factory=dict)
    """Client token -> what it made (component version ARN or deployment ID)."""
    not_core: set[str] = field(default_factory=set)
    """Things that are not Greengrass core devices (every other member is one)."""
    unhealthy: set[str] = field(default_factory=set)
    """Core devices Greengrass reports UNHEALTHY."""
    unreadable: set[str] = field(default_factory=set)
    """S3 URLs Greengrass cannot read: a version naming one is refused at creation."""

    # IoT.
    groups: set[str] = field(default_factory=set)
    """Thing groups that exist."""
    members: dict[str, set[str]] = field(default_factory=dict)
    """Thing group -> the things in it (child groups' included)."""
    jobs: dict[str, ObservedJob] = field(default_factory=dict)
    """IoT job ID -> the job a deployment runs on."""
    failures: dict[str, list[DeviceFailure]] = field(default_factory=dict)
    """Job ID -> the devices that failed it, with their causes."""

    # STS.
    partition: str = "aws"
    """The partition of the caller's ARN (aws-cn in China, aws-us-gov in GovCloud)."""

    read_prefixes = (*CallRecorder.read_prefixes, "Observe", "Owner", "Invoke")
    """Besides AWS's reads, the adapter-level reads this fake names after its methods
    (ObserveArtifacts, OwnerOf) and a warm-up invocation, which changes nothing."""

    def clients(self) -> Clients:
        s3 = RecordingS3(self)
        return Clients(
            sagemaker=RecordingSageMaker(self),  # type: ignore[arg-type]
            autoscaling=RecordingAutoscaling(self),  # type: ignore[arg-type]
            s3=s3,  # type: ignore[arg-type]
            runtime=RecordingRuntime(self),  # type: ignore[arg-type]
            cloudwatch=RecordingCloudWatch(self),  # type: ignore[arg-type]
            components=RecordingInferenceComponents(self),  # type: ignore[arg-type]
            copy_scaling=RecordingCopyScaling(self),  # type: ignore[arg-type]
            edge=EdgeClients(
                neo=RecordingNeo(self),  # type: ignore[arg-type]
                greengrass=RecordingGreengrass(self),  # type: ignore[arg-type]
                iot=RecordingIot(self),  # type: ignore[arg-type]
                sts=RecordingSts(self),  # type: ignore[arg-type]
                s3=s3,  # type: ignore[arg-type]
            ),
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
