"""ModelEndpoint's part of the kopf wiring: one pass of its reconciler, reported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from serving_operator.api import MODEL_ENDPOINT
from serving_operator.api.modelendpoint import (
    DeletionPolicy,
    ModelEndpointSpec,
    ModelEndpointStatus,
)
from serving_operator.aws.clients import Clients
from serving_operator.handlers.driver import KindController
from serving_operator.handlers.indexes import components_on, weights_writer
from serving_operator.planning.modelendpoint.components import deletion_wait
from serving_operator.reconcile.modelendpoint.reconciler import ModelEndpointReconciler
from serving_operator.reconcile.modelendpoint.report import memory_of, report_deletion, report_pass
from serving_operator.reconcile.report import ObjectContext, PassReport

Context = ObjectContext[ModelEndpointStatus]
Report = PassReport[ModelEndpointStatus]


@dataclass(frozen=True)
class EndpointSurroundings:
    weights_managed_by: str | None
    """TrafficSplit/<name> when a TrafficSplit writes this endpoint's weights (one writer)."""
    components: tuple[str, ...] = ()
    """The InferenceComponents that refer to this endpoint."""


def reconcile(clients: Clients, spec: ModelEndpointSpec, context: Context) -> Report:
    surroundings = context.related
    assert isinstance(surroundings, EndpointSurroundings)
    result = ModelEndpointReconciler(clients).reconcile(
        spec,
        namespace=context.namespace,
        name=context.name,
        memory=memory_of(context.status),
        weights_managed_by=surroundings.weights_managed_by,
    )
    return report_pass(result, context, spec.endpoint_name or context.name)


def delete(clients: Clients, spec: ModelEndpointSpec, context: Context) -> Report:
    surroundings = context.related
    assert isinstance(surroundings, EndpointSurroundings)
    waiting = deletion_wait(
        surroundings.components, retain=spec.deletion_policy == DeletionPolicy.RETAIN
    )
    if waiting is not None:
        return Report(outcome=waiting)
    result = ModelEndpointReconciler(clients).delete(
        spec,
        namespace=context.namespace,
        name=context.name,
        memory=memory_of(context.status),
    )
    return report_deletion(result)


def surroundings_of(body: kopf.Body, kwargs: Mapping[str, Any]) -> EndpointSurroundings:
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    split = weights_writer(kwargs, namespace, name)
    return EndpointSurroundings(
        weights_managed_by=f"TrafficSplit/{split}" if split is not None else None,
        components=components_on(kwargs, namespace, name),
    )


CONTROLLER: KindController[ModelEndpointSpec, ModelEndpointStatus] = KindController(
    MODEL_ENDPOINT, reconcile, delete, surroundings_of
)
