"""SageMaker's endpoints, endpoint configs and models, as the ModelEndpoint and TrafficSplit
shells call them (aws/sagemaker.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from serving_operator.aws.base import AwsError
from serving_operator.aws.sagemaker import Effect
from serving_operator.planning.modelendpoint.actions import CreateEndpointConfig, CreateModel
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedArtifacts,
    ObservedEndpoint,
    ObservedVariant,
)
from serving_operator.planning.ownership import ObservedOwner
from tests.support.fake_aws.arns import endpoint_arn

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


def weighted_endpoint(
    name: str, weights: Mapping[str, float], status: EndpointStatus = EndpointStatus.IN_SERVICE
) -> ObservedEndpoint:
    """An endpoint whose variants (one instance each, in name order) serve `weights`."""
    return ObservedEndpoint(
        name,
        endpoint_arn(name),
        status,
        "config",
        None,
        tuple(ObservedVariant(n, w, w, 1, 1) for n, w in sorted(weights.items())),
    )


class RecordingSageMaker:
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
            raise _refused(operation, f'Could not find endpoint "{endpoint_arn(name)}".')
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


def _refused(operation: str, message: str) -> AwsError:
    return AwsError("sagemaker", operation, "ValidationException", message, 400)
