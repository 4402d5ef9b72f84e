"""A TrafficSplit's two SageMaker calls: the endpoint's weights as the planner reads them,
and the write of DesiredWeight (never instance counts: those are the ModelEndpoint's or the
autoscaler's, see the one-writer table in docs)."""

from __future__ import annotations

from serving_operator.aws.sagemaker import SageMaker
from serving_operator.planning.trafficsplit.actions import SetWeights
from serving_operator.planning.trafficsplit.observed import EndpointWeights, VariantWeights


def endpoint_weights(
    sagemaker: SageMaker, name: str, *, read_since: float | None = None, now: float | None = None
) -> EndpointWeights | None:
    """The endpoint's production variants' weights, as a TrafficSplit needs them
    (`read_since`: see SageMaker.describe_endpoint)."""
    endpoint = sagemaker.describe_endpoint(name, read_since=read_since, now=now)
    if endpoint is None:
        return None
    return EndpointWeights(
        name=endpoint.name,
        status=endpoint.status.value,
        variants=tuple(
            VariantWeights(v.name, v.current_weight, v.desired_weight) for v in endpoint.variants
        ),
    )


def set_weights(sagemaker: SageMaker, action: SetWeights) -> None:
    """DesiredWeight only: instance counts stay the ModelEndpoint's or the autoscaler's."""
    sagemaker.call(
        "UpdateEndpointWeightsAndCapacities",
        EndpointName=action.endpoint_name,
        DesiredWeightsAndCapacities=[
            {"VariantName": variant, "DesiredWeight": weight} for variant, weight in action.weights
        ],
    )
