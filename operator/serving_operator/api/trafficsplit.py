"""TrafficSplit: how traffic is shared between the variants of a ModelEndpoint.

Only the fixed split is modelled so far; the progressive canary comes with its own issue.
"""

from __future__ import annotations

from pydantic import Field

from serving_operator.api.common import (
    SAGEMAKER_NAME_PATTERN,
    ApiModel,
    KindInfo,
    StatusBase,
    age_column,
    ready_column,
)


class EndpointReference(ApiModel):
    name: str = Field(min_length=1, max_length=253, description="ModelEndpoint in this namespace.")


class VariantWeight(ApiModel):
    variant: str = Field(
        pattern=SAGEMAKER_NAME_PATTERN, max_length=63, description="A variant of the endpoint."
    )
    weight: float = Field(ge=0, le=1000, description="Relative weight of this variant.")


class TrafficSplitSpec(ApiModel):
    """Desired traffic split between the variants of one ModelEndpoint."""

    endpoint_ref: EndpointReference = Field(
        description="The ModelEndpoint whose variants share traffic."
    )
    weights: list[VariantWeight] = Field(
        description="Relative weight of each variant.",
        min_length=1,
        max_length=10,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["variant"],
            "x-kubernetes-validations": [
                {
                    "rule": "self.exists(w, w.weight > 0.0)",
                    "message": "at least one variant must have a weight greater than 0",
                }
            ],
        },
    )


class TrafficSplitStatus(StatusBase):
    pass


TRAFFIC_SPLIT = KindInfo(
    kind="TrafficSplit",
    spec_model=TrafficSplitSpec,
    status_model=TrafficSplitStatus,
    description="Traffic weights between the variants of a ModelEndpoint.",
    plural="trafficsplits",
    singular="trafficsplit",
    short_names=("tsplit",),
    printer_columns=(
        {"name": "Endpoint", "type": "string", "jsonPath": ".spec.endpointRef.name"},
        ready_column(),
        age_column(),
    ),
)
