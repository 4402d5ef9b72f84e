"""The actions a plan is made of: each one AWS write, executed by the AWS adapters."""

from __future__ import annotations

from dataclasses import dataclass

from serving_operator.planning.desired import ModelDefinition, Tags, VariantDefinition


@dataclass(frozen=True)
class CreateModel:
    model: ModelDefinition
    tags: Tags


@dataclass(frozen=True)
class CreateEndpointConfig:
    config_name: str
    variants: tuple[VariantDefinition, ...]
    tags: Tags


@dataclass(frozen=True)
class CreateEndpoint:
    endpoint_name: str
    config_name: str
    tags: Tags


@dataclass(frozen=True)
class UpdateEndpoint:
    """Blue/green switch to a new config; SageMaker keeps serving the old one meanwhile."""

    endpoint_name: str
    config_name: str


@dataclass(frozen=True)
class VariantWeightAndCapacity:
    variant_name: str
    weight: float | None
    instance_count: int | None


@dataclass(frozen=True)
class UpdateWeightsAndCapacities:
    endpoint_name: str
    changes: tuple[VariantWeightAndCapacity, ...]


@dataclass(frozen=True)
class DeleteEndpoint:
    endpoint_name: str


@dataclass(frozen=True)
class DeleteEndpointConfig:
    config_name: str


@dataclass(frozen=True)
class DeleteModel:
    model_name: str


Action = (
    CreateModel
    | CreateEndpointConfig
    | CreateEndpoint
    | UpdateEndpoint
    | UpdateWeightsAndCapacities
    | DeleteEndpoint
    | DeleteEndpointConfig
    | DeleteModel
)


def describe_action(action: Action) -> tuple[str, str]:
    """An event reason and message for an action, as a user reads it in `kubectl describe`."""
    match action:
        case CreateModel(model=model):
            return "CreatedModel", f"created SageMaker model {model.name} ({model.image})"
        case CreateEndpointConfig(config_name=name):
            return "CreatedEndpointConfig", f"created endpoint config {name}"
        case CreateEndpoint(endpoint_name=endpoint, config_name=config):
            return "CreatedEndpoint", f"creating endpoint {endpoint} with config {config}"
        case UpdateEndpoint(endpoint_name=endpoint, config_name=config):
            return "UpdatingEndpoint", f"updating endpoint {endpoint} to config {config}"
        case UpdateWeightsAndCapacities(endpoint_name=endpoint, changes=changes):
            described = ", ".join(
                f"{c.variant_name}: weight={c.weight} instances={c.instance_count}" for c in changes
            )
            return "UpdatedWeightsAndCapacities", f"endpoint {endpoint}: {described}"
        case DeleteEndpoint(endpoint_name=endpoint):
            return "DeletingEndpoint", f"deleting endpoint {endpoint}"
        case DeleteEndpointConfig(config_name=name):
            return "DeletedEndpointConfig", f"deleted endpoint config {name}"
        case DeleteModel(model_name=name):
            return "DeletedModel", f"deleted SageMaker model {name}"
