"""The SageMaker objects a ModelEndpoint spec asks for, with their deterministic names."""

from __future__ import annotations

from dataclasses import dataclass

from serving_operator.api.modelendpoint import ModelEndpointSpec, ModelSpec
from serving_operator.planning.naming import hashed_name

MANAGED_BY_TAG = "serving.mlops.dev/managed-by"
OWNER_TAG = "serving.mlops.dev/owner"
MANAGED_BY = "serving-operator"

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ModelDefinition:
    """One SageMaker Model (CreateModel input), named by its content."""

    name: str
    image: str
    model_data_url: str | None
    environment: tuple[tuple[str, str], ...]
    execution_role_arn: str


@dataclass(frozen=True)
class VariantDefinition:
    name: str
    model_name: str
    instance_type: str
    instance_count: int
    weight: float


@dataclass(frozen=True)
class DesiredEndpoint:
    endpoint_name: str
    config_name: str
    models: tuple[ModelDefinition, ...]
    variants: tuple[VariantDefinition, ...]
    tags: Tags

    @property
    def model_names(self) -> frozenset[str]:
        return frozenset(m.name for m in self.models)


def owner_id(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def ownership_tags(namespace: str, name: str) -> Tags:
    return ((MANAGED_BY_TAG, MANAGED_BY), (OWNER_TAG, owner_id(namespace, name)))


def _model_definition(endpoint_name: str, model: ModelSpec, default_role: str) -> ModelDefinition:
    role = model.execution_role_arn or default_role
    environment = tuple(sorted(model.environment.items()))
    content = {
        "image": model.image,
        "modelDataUrl": model.model_data_url,
        "environment": environment,
        "executionRoleArn": role,
    }
    return ModelDefinition(
        name=hashed_name(endpoint_name, content),
        image=model.image,
        model_data_url=model.model_data_url,
        environment=environment,
        execution_role_arn=role,
    )


def desired_endpoint(spec: ModelEndpointSpec, *, namespace: str, name: str) -> DesiredEndpoint:
    """Translate a spec into named SageMaker objects.

    The endpoint config's name hashes only what a new config is needed for (variant names,
    models, instance types). Weights and instance counts are left out on purpose: changing
    them is done in place with UpdateEndpointWeightsAndCapacities, with no new config.
    """
    endpoint_name = spec.endpoint_name or name
    models: dict[str, ModelDefinition] = {}
    variants = []
    for variant in spec.variants:
        model = _model_definition(endpoint_name, variant.model, spec.execution_role_arn)
        models[model.name] = model
        variants.append(
            VariantDefinition(
                name=variant.name,
                model_name=model.name,
                instance_type=variant.instance_type,
                instance_count=variant.instance_count,
                weight=variant.weight,
            )
        )
    config_shape = sorted((v.name, v.model_name, v.instance_type) for v in variants)
    tags = tuple(sorted(spec.tags.items())) + ownership_tags(namespace, name)
    return DesiredEndpoint(
        endpoint_name=endpoint_name,
        config_name=hashed_name(endpoint_name, {"variants": config_shape}),
        models=tuple(sorted(models.values(), key=lambda m: m.name)),
        variants=tuple(variants),
        tags=tags,
    )
