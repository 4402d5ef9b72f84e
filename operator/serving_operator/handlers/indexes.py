"""kopf indexes that let one kind's pass see another's objects without a Kubernetes call:
which ModelEndpoints exist (and their SageMaker names and variants), and which TrafficSplits
refer to which ModelEndpoint (the first one created writes the weights).

With a shard's label selector, the TrafficSplits index holds only this shard's splits (a
split another shard handles never writes weights here), while the ModelEndpoints index holds
all of them, marked when outside the shard: a split here that refers to one there is told so
(Stalled) instead of "not found"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import kopf

from serving_operator.api import GROUP, VERSION
from serving_operator.handlers.sharding import selects
from serving_operator.labelselector import LabelSelector
from serving_operator.planning.inferencecomponent.observed import HostEndpoint, HostVariant
from serving_operator.planning.trafficsplit.observed import EndpointReferenceTarget

MODEL_ENDPOINTS = "modelendpoint_targets"
SPLITS_BY_ENDPOINT = "trafficsplits_by_endpoint"


def modelendpoint_targets(
    selector: LabelSelector,
) -> Callable[..., dict[tuple[str | None, str], EndpointReferenceTarget]]:
    def index(
        namespace: str | None, name: str, spec: kopf.Spec, labels: kopf.Labels, **_: Any
    ) -> dict[tuple[str | None, str], EndpointReferenceTarget]:
        declared = [v for v in spec.get("variants", []) if isinstance(v, Mapping)]
        variants = frozenset(str(v.get("name")) for v in declared)
        target = EndpointReferenceTarget(
            spec.get("endpointName") or name,
            variants,
            spec_weights=_spec_weights(declared),
            outside_shard=None if selector.matches(labels) else str(selector),
            asynchronous=spec.get("asyncInference") is not None,
            hosts_components=bool(declared) and all("model" not in v for v in declared),
        )
        return {(namespace, name): target}

    return index


def _spec_weights(variants: list[Mapping[str, Any]]) -> tuple[tuple[str, float], ...]:
    """(name, weight) of each declared variant, in the spec's order; the API's default
    weight (1) when none is given; nothing when one cannot be read (admission forbids it)."""
    weights = []
    for variant in variants:
        try:
            weights.append((str(variant.get("name")), float(variant.get("weight", 1.0))))
        except (TypeError, ValueError):
            return ()
    return tuple(weights)


def trafficsplits_by_endpoint(
    namespace: str | None, name: str, spec: kopf.Spec, meta: kopf.Meta, **_: Any
) -> dict[tuple[str | None, str], tuple[str, str]]:
    """(namespace, ModelEndpoint name) -> (creationTimestamp, TrafficSplit name)."""
    reference = spec.get("endpointRef", {})
    endpoint = reference.get("name") if isinstance(reference, Mapping) else None
    if not endpoint:
        return {}
    return {(namespace, str(endpoint)): (str(meta.get("creationTimestamp", "")), name)}


def register(selector: LabelSelector) -> None:
    """Register both indexes with kopf, for the shard `selector` picks."""
    kopf.index(GROUP, VERSION, "modelendpoints", id=MODEL_ENDPOINTS)(
        modelendpoint_targets(selector)
    )
    kopf.index(GROUP, VERSION, "trafficsplits", id=SPLITS_BY_ENDPOINT, when=selects(selector))(
        trafficsplits_by_endpoint
    )


def weights_writer(kwargs: Mapping[str, Any], namespace: str, endpoint: str) -> str | None:
    """The TrafficSplit that writes this ModelEndpoint's weights: the oldest referring to it."""
    index = kwargs.get(SPLITS_BY_ENDPOINT)
    if index is None:
        return None
    splits = sorted(index.get((namespace, endpoint), []))
    return str(splits[0][1]) if splits else None


def endpoint_target(
    kwargs: Mapping[str, Any], namespace: str, endpoint: str
) -> EndpointReferenceTarget | None:
    index = kwargs.get(MODEL_ENDPOINTS)
    if index is None:
        return None
    found = list(index.get((namespace, endpoint), []))
    return found[0] if found else None


# Inference components: the ModelEndpoints that host them, and which component refers to
# which endpoint (a ModelEndpoint waits for its components to go before it is deleted).
COMPONENT_HOSTS = "inferencecomponent_hosts"
COMPONENTS_BY_ENDPOINT = "inferencecomponents_by_endpoint"


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def component_hosts(
    selector: LabelSelector,
) -> Callable[..., dict[tuple[str | None, str], HostEndpoint]]:
    def index(
        namespace: str | None, name: str, spec: kopf.Spec, labels: kopf.Labels, **_: Any
    ) -> dict[tuple[str | None, str], HostEndpoint]:
        declared = [v for v in spec.get("variants", []) if isinstance(v, Mapping)]
        variants = []
        for variant in declared:
            managed = variant.get("managedInstanceScaling")
            variants.append(
                HostVariant(
                    name=str(variant.get("name")),
                    instance_type=variant.get("instanceType"),
                    hosts_components="model" not in variant,
                    managed_min_instances=_int_or_none(managed.get("minInstanceCount"))
                    if isinstance(managed, Mapping)
                    else None,
                )
            )
        host = HostEndpoint(
            endpoint_name=str(spec.get("endpointName") or name),
            execution_role_arn=str(spec.get("executionRoleArn", "")),
            variants=tuple(variants),
            outside_shard=None if selector.matches(labels) else str(selector),
        )
        return {(namespace, name): host}

    return index


def components_by_endpoint(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str | None, str], str]:
    """(namespace, ModelEndpoint name) -> InferenceComponent name."""
    reference = spec.get("endpointRef", {})
    endpoint = reference.get("name") if isinstance(reference, Mapping) else None
    if not endpoint:
        return {}
    return {(namespace, str(endpoint)): name}


def register_components(selector: LabelSelector) -> None:
    kopf.index(GROUP, VERSION, "modelendpoints", id=COMPONENT_HOSTS)(component_hosts(selector))
    # Every component, in any shard: a ModelEndpoint is not deleted under any of them.
    kopf.index(GROUP, VERSION, "inferencecomponents", id=COMPONENTS_BY_ENDPOINT)(
        components_by_endpoint
    )


def component_host(kwargs: Mapping[str, Any], namespace: str, endpoint: str) -> HostEndpoint | None:
    index = kwargs.get(COMPONENT_HOSTS)
    if index is None:
        return None
    found = list(index.get((namespace, endpoint), []))
    return found[0] if found else None


def components_on(kwargs: Mapping[str, Any], namespace: str, endpoint: str) -> tuple[str, ...]:
    """The InferenceComponents that refer to this ModelEndpoint, by name."""
    index = kwargs.get(COMPONENTS_BY_ENDPOINT)
    if index is None:
        return ()
    return tuple(sorted(str(n) for n in index.get((namespace, endpoint), [])))
