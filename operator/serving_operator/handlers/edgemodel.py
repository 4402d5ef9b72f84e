"""EdgeModel's part of the kopf wiring: one pass of its reconciler, reported."""

from __future__ import annotations

from functools import cache

from serving_operator.api import EDGE_MODEL
from serving_operator.api.edgemodel import EdgeModelSpec, EdgeModelStatus
from serving_operator.aws.clients import Clients
from serving_operator.config import OperatorConfig
from serving_operator.handlers.driver import KindController
from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler
from serving_operator.reconcile.edgemodel.report import memory_of, report_deletion, report_pass
from serving_operator.reconcile.report import ObjectContext, PassReport

Context = ObjectContext[EdgeModelStatus]
Report = PassReport[EdgeModelStatus]


@cache
def _rest_recheck_seconds() -> float:
    """SERVING_OPERATOR_EDGE_RECHECK_SECONDS, read once (lifecycle.py has already checked
    the settings at start-up)."""
    return OperatorConfig.from_env().edge_recheck_seconds


def reconcile(clients: Clients, spec: EdgeModelSpec, context: Context) -> Report:
    reconciler = EdgeModelReconciler(clients, rest_recheck_seconds=_rest_recheck_seconds())
    result = reconciler.reconcile(
        spec,
        namespace=context.namespace,
        name=context.name,
        memory=memory_of(context.status),
        annotations=dict(context.annotations),
    )
    return report_pass(result, context)


def delete(clients: Clients, spec: EdgeModelSpec, context: Context) -> Report:
    result = EdgeModelReconciler(clients).delete(
        spec, namespace=context.namespace, name=context.name, memory=memory_of(context.status)
    )
    return report_deletion(result)


CONTROLLER: KindController[EdgeModelSpec, EdgeModelStatus] = KindController(
    EDGE_MODEL, reconcile, delete
)
