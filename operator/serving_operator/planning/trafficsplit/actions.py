"""What a TrafficSplit plan asks the AWS adapters to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SetWeights:
    """UpdateEndpointWeightsAndCapacities with DesiredWeight only: counts stay the
    ModelEndpoint's (or the autoscaler's)."""

    endpoint_name: str
    weights: tuple[tuple[str, float], ...]
    """(variant, relative weight), every production variant of the endpoint."""

    @property
    def as_dict(self) -> dict[str, float]:
        return dict(self.weights)


def describe_weights(weights: dict[str, float]) -> str:
    total = sum(weights.values()) or 1.0
    return ", ".join(f"{name} {100.0 * w / total:g}%" for name, w in sorted(weights.items()))
