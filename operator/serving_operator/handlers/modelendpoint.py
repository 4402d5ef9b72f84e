"""ModelEndpoint's part of the kopf wiring: one pass of its reconciler, reported."""

from __future__ import annotations

from serving_operator.api import MODEL_ENDPOINT
from serving_operator.api.modelendpoint import ModelEndpointSpec, ModelEndpointStatus
from serving_operator.aws.clients import Clients
from serving_operator.handlers.driver import KindController
from serving_operator.reconcile.modelendpoint import ModelEndpointReconciler
from serving_operator.reconcile.modelendpoint_report import memory_of, report_deletion, report_pass
from serving_operator.reconcile.report import ObjectContext, PassReport

Context = ObjectContext[ModelEndpointStatus]
Report = PassReport[ModelEndpointStatus]


def reconcile(clients: Clients, spec: ModelEndpointSpec, context: Context) -> Report:
    result = ModelEndpointReconciler(clients).reconcile(
        spec,
        namespace=context.namespace,
        name=context.name,
        memory=memory_of(context.status),
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


CONTROLLER: KindController[ModelEndpointSpec, ModelEndpointStatus] = KindController(
    MODEL_ENDPOINT, reconcile, delete
)
