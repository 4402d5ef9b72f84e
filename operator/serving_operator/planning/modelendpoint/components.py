"""A ModelEndpoint that hosts inference components is deleted only after them.

Deleting the endpoint under its components would leave each InferenceComponent resource
reconciling against an endpoint that is gone (and SageMaker refuses DeleteEndpoint while
components run on it). A production operator waits, says what it waits for, and carries on
by itself once the last component has gone: Kubernetes deletes the components of a
`kubectl delete -f` in any order, and the endpoint follows them.
"""

from __future__ import annotations

from serving_operator.planning.outcome import Outcome

WAITING_FOR_COMPONENTS = "WaitingForInferenceComponents"


def deletion_wait(components: tuple[str, ...], *, retain: bool) -> Outcome | None:
    """Progressing while InferenceComponents still refer to the endpoint (None: go ahead).
    With deletionPolicy Retain nothing in AWS is deleted, so nothing waits."""
    if retain or not components:
        return None
    shown = ", ".join(components[:5]) + (
        f" and {len(components) - 5} more" if len(components) > 5 else ""
    )
    return Outcome.progressing(
        WAITING_FOR_COMPONENTS,
        f"waiting for InferenceComponent(s) {shown} to be deleted first: they run on this endpoint",
    )
