"""InferenceComponent's part of the kopf wiring: the ModelEndpoint it refers to (from a kopf
index, no Kubernetes call), one pass of its reconciler, reported."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from serving_operator.api import INFERENCE_COMPONENT
from serving_operator.api.inferencecomponent import (
    InferenceComponentSpec,
    InferenceComponentStatus,
)
from serving_operator.aws.clients import Clients
from serving_operator.handlers.driver import KindController
from serving_operator.handlers.indexes import component_host
from serving_operator.planning.inferencecomponent.observed import HostEndpoint
from serving_operator.reconcile.inferencecomponent.reconciler import InferenceComponentReconciler
from serving_operator.reconcile.inferencecomponent.report import (
    memory_of,
    report_deletion,
    report_pass,
)
from serving_operator.reconcile.report import ObjectContext, PassReport

Context = ObjectContext[InferenceComponentStatus]
Report = PassReport[InferenceComponentStatus]


def relate(body: kopf.Body, kwargs: Mapping[str, Any]) -> HostEndpoint | None:
    reference = body.get("spec", {}).get("endpointRef", {})
    endpoint = str(reference.get("name", "")) if isinstance(reference, Mapping) else ""
    return component_host(kwargs, str(body.metadata.namespace), endpoint)


def reconcile(clients: Clients, spec: InferenceComponentSpec, context: Context) -> Report:
    host = context.related
    assert host is None or isinstance(host, HostEndpoint)
    result = InferenceComponentReconciler(clients).reconcile(
        spec,
        host,
        memory_of(context.status),
        namespace=context.namespace,
        name=context.name,
        now=datetime.now(UTC),
    )
    return report_pass(result, context)


def delete(clients: Clients, spec: InferenceComponentSpec, context: Context) -> Report:
    result = InferenceComponentReconciler(clients).delete(
        spec,
        memory_of(context.status),
        namespace=context.namespace,
        name=context.name,
        now=datetime.now(UTC),
    )
    return report_deletion(result)


CONTROLLER: KindController[InferenceComponentSpec, InferenceComponentStatus] = KindController(
    INFERENCE_COMPONENT, reconcile, delete, relate
)
