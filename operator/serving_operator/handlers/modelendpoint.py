"""ModelEndpoint's part of the kopf wiring: one pass of its reconciler, reported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from serving_operator.api import MODEL_ENDPOINT
from serving_operator.api.modelendpoint import ModelEndpointSpec, ModelEndpointStatus
from serving_operator.aws.clients import Clients
from serving_operator.handlers.driver import KindController
from serving_operator.handlers.indexes import weights_writer
from serving_operator.reconcile.modelendpoint.reconciler import ModelEndpointReconciler
from serving_operator.reconcile.modelendpoint.report import memory_of, report_deletion, report_pass
from serving_operator.reconcile.report import ObjectContext, PassReport

Context = ObjectContext[ModelEndpointStatus]
Report = PassReport[ModelEndpointStatus]


def reconcile(clients: Clients, spec: ModelEndpointSpec, context: Context) -> Report:
    result = ModelEndpointReconciler(clients).reconcile(
        spec,
        namespace=context.namespace,
        name=context.name,
        memory=memory_of(context.status),
        weights_managed_by=context.related,
    )
    return report_pass(result, context, spec.endpoint_name or context.name)


def delete(clients: Clients, spec: ModelEndpointSpec, context: Context) -> Report:
    result = ModelEndpointReconciler(clients).delete(
        spec,
        namespace=context.namespace,
        name=context.name,
        memory=memory_of(context.status),
    )
    return report_deletion(result)


def weights_writer_of(body: kopf.Body, kwargs: Mapping[str, Any]) -> str | None:
    """TrafficSplit/<name> when a TrafficSplit writes this endpoint's weights (one writer)."""
    split = weights_writer(kwargs, str(body.metadata.namespace), str(body.metadata.name))
    return f"TrafficSplit/{split}" if split is not None else None


CONTROLLER: KindController[ModelEndpointSpec, ModelEndpointStatus] = KindController(
    MODEL_ENDPOINT, reconcile, delete, weights_writer_of
)
