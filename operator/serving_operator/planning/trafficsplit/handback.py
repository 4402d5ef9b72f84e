"""What deleting a split does to the traffic, said before it is done (status.handBack), and
whether a deletion may go ahead (spec.onDelete).

While a split exists it writes the endpoint's weights; once it is gone the ModelEndpoint's
spec does again (the one-writer table in docs). Deleting a Succeeded canary therefore undoes
its promotion unless the ModelEndpoint's spec (in Git) was changed to the promoted weights
first. So every pass says which weights the spec would give back and, when they differ from
the split's, the JSON patch of the ModelEndpoint that would keep the split's; and with
onDelete: WaitForEndpointSpec a deletion waits until that patch is in the spec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from serving_operator.api.trafficsplit import (
    HandBack,
    OnDelete,
    TrafficSplitSpec,
    TrafficSplitStatus,
)
from serving_operator.planning.outcome import Outcome
from serving_operator.planning.trafficsplit.actions import describe_weights
from serving_operator.planning.trafficsplit.observed import EndpointReferenceTarget
from serving_operator.planning.trafficsplit.weights import same_shares

WAITING_FOR_ENDPOINT_SPEC = "WaitingForEndpointSpec"
WEIGHTS_HANDED_BACK = "WeightsHandedBack"


def split_weights(status: TrafficSplitStatus) -> dict[str, float]:
    """The weights the split holds the endpoint to: those it asks for, else those it saw."""
    return dict(status.desired_weights or status.live_weights)


def keep_patch(target: EndpointReferenceTarget, weights: Mapping[str, float]) -> str:
    """A JSON patch (RFC 6902) of the ModelEndpoint that sets each declared variant's weight
    to the split's. Each `add` is guarded by a `test` of the variant's name at that index, so
    it applies to the spec it was made for or not at all; `add` also sets a weight the
    manifest leaves to its default (a `replace` of a missing member fails)."""
    operations: list[dict[str, object]] = []
    for index, (name, _) in enumerate(target.spec_weights):
        operations.append({"op": "test", "path": f"/spec/variants/{index}/name", "value": name})
        operations.append(
            {
                "op": "add",
                "path": f"/spec/variants/{index}/weight",
                "value": float(weights.get(name, 0.0)),
            }
        )
    return json.dumps(operations, separators=(",", ":"))


def hand_back(
    target: EndpointReferenceTarget | None, status: TrafficSplitStatus
) -> HandBack | None:
    """What deleting the split gives back, or None when it cannot be known (no ModelEndpoint,
    nothing asked yet)."""
    if target is None or not target.spec_weights:
        return None
    held = split_weights(status)
    if not held:
        return None
    given = dict(target.spec_weights)
    kept = {name: float(held.get(name, 0.0)) for name in given}
    endpoint = target.endpoint_name
    if same_shares(given, held):
        return HandBack(
            weights=given,
            changes_traffic=False,
            message=(
                f"deleting this split changes no traffic: the ModelEndpoint's spec asks for"
                f" the same weights ({describe_weights(given)})"
            ),
        )
    patch = keep_patch(target, held) if any(kept.values()) else None
    keep = (
        f"; to keep {describe_weights(kept)}, first commit to the ModelEndpoint's spec the"
        f" weights {', '.join(f'{n}: {w:g}' for n, w in kept.items())} (status.handBack.patch)"
        if patch is not None
        else ""
    )
    return HandBack(
        weights=given,
        changes_traffic=True,
        patch=patch,
        message=(
            f"deleting this split hands endpoint {endpoint}'s weights back to the"
            f" ModelEndpoint's spec: {describe_weights(given)} instead of"
            f" {describe_weights(held)}{keep}"
        ),
    )


def deletion_outcome(
    spec: TrafficSplitSpec, target: EndpointReferenceTarget | None, status: TrafficSplitStatus
) -> Outcome:
    """Ready: the split may go, and the message says what the endpoint gets back;
    Progressing: onDelete WaitForEndpointSpec and the spec would still change the traffic."""
    hint = hand_back(target, status)
    if target is None or hint is None:
        return Outcome.ready(
            WEIGHTS_HANDED_BACK,
            "TrafficSplit deleted: the weights are the ModelEndpoint's again (its spec's"
            " weights apply at its next pass)",
        )
    if spec.on_delete == OnDelete.WAIT_FOR_ENDPOINT_SPEC and hint.changes_traffic:
        return Outcome.progressing(
            WAITING_FOR_ENDPOINT_SPEC,
            f"onDelete WaitForEndpointSpec: the deletion waits until the ModelEndpoint's"
            f" spec asks for {describe_weights(split_weights(status))}"
            f" (now {describe_weights(hint.weights)}): commit status.handBack.patch"
            f" {hint.patch or ''} to it, or set onDelete: HandBack to let the split go anyway",
        )
    changed = (
        f" (it served {describe_weights(split_weights(status))})" if hint.changes_traffic else ""
    )
    return Outcome.ready(
        WEIGHTS_HANDED_BACK,
        f"TrafficSplit deleted: endpoint {target.endpoint_name} gets the ModelEndpoint's spec"
        f" weights back at its next pass: {describe_weights(hint.weights)}{changed}",
    )
