"""TrafficSplit's part of the kopf wiring: what Kubernetes knows around the object (the
ModelEndpoint it refers to, other splits on it, the manual-control annotations), one pass."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from serving_operator.api import TRAFFIC_SPLIT
from serving_operator.api.trafficsplit import (
    ABORT_ANNOTATION,
    PROMOTE_ANNOTATION,
    RETRY_ANNOTATION,
    TrafficSplitSpec,
    TrafficSplitStatus,
)
from serving_operator.aws.clients import Clients
from serving_operator.handlers.driver import KindController
from serving_operator.handlers.indexes import endpoint_target, weights_writer
from serving_operator.planning.trafficsplit.observed import Requests
from serving_operator.reconcile.report import ObjectContext, PassReport
from serving_operator.reconcile.trafficsplit.reconciler import (
    SplitSurroundings,
    TrafficSplitReconciler,
)
from serving_operator.reconcile.trafficsplit.report import report_deletion, report_pass

Context = ObjectContext[TrafficSplitStatus]
Report = PassReport[TrafficSplitStatus]


def relate(body: kopf.Body, kwargs: Mapping[str, Any]) -> SplitSurroundings:
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    reference = body.get("spec", {}).get("endpointRef", {})
    endpoint = str(reference.get("name", "")) if isinstance(reference, Mapping) else ""
    writer = weights_writer(kwargs, namespace, endpoint)
    annotations = body.metadata.annotations
    return SplitSurroundings(
        target=endpoint_target(kwargs, namespace, endpoint),
        competing_split=writer if writer is not None and writer != name else None,
        requests=Requests(
            promote=annotations.get(PROMOTE_ANNOTATION),
            abort=annotations.get(ABORT_ANNOTATION),
            retry=annotations.get(RETRY_ANNOTATION),
        ),
    )


def reconcile(clients: Clients, spec: TrafficSplitSpec, context: Context) -> Report:
    surroundings = context.related
    assert isinstance(surroundings, SplitSurroundings)
    result = TrafficSplitReconciler(clients).reconcile(
        spec, surroundings, context.status, datetime.now(UTC)
    )
    target = surroundings.target
    return report_pass(result, context, target.endpoint_name if target is not None else None)


def delete(clients: Clients, spec: TrafficSplitSpec, context: Context) -> Report:
    # Nothing in AWS belongs to a split; the ModelEndpoint takes its weights back once the
    # split has left the index (at its next pass), unless spec.onDelete holds the deletion.
    surroundings = context.related
    assert isinstance(surroundings, SplitSurroundings)
    return report_deletion(spec, context, surroundings.target)


CONTROLLER: KindController[TrafficSplitSpec, TrafficSplitStatus] = KindController(
    TRAFFIC_SPLIT, reconcile, delete, relate
)
