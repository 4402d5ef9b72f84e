"""Shards: several operators on one cluster, each handling the resources its label selector
matches (`run --selector`), never touching another shard's.

kopf removes its finalizer from any object that no handler of this operator matches any
more: with one finalizer name for all shards, every shard would strip the others' (and they
would put it back, for ever), and an object deleted in between would lose its AWS clean-up.
So each shard has a finalizer of its own, named after its selector; the unsharded operator
keeps the original one. An operator that handles an object takes over the finalizers other
serving-operator installs left on it (after a move from one install to shards, a changed
selector, or a relabelled object whose old shard is gone), so no finalizer is left that
nobody would remove.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from serving_operator.api import GROUP
from serving_operator.labelselector import LabelSelector

UNSHARDED_FINALIZER = f"{GROUP}/finalizer"


def finalizer_for(selector: LabelSelector) -> str:
    if selector.empty:
        return UNSHARDED_FINALIZER
    return f"{UNSHARDED_FINALIZER}-{selector.fingerprint()}"


def is_ours(finalizer: str) -> bool:
    """Whether a serving-operator install (sharded or not) put this finalizer there."""
    return finalizer == UNSHARDED_FINALIZER or finalizer.startswith(f"{UNSHARDED_FINALIZER}-")


def foreign_finalizers(finalizers: list[str], own: str) -> list[str]:
    """The serving-operator finalizers on an object besides this operator's own."""
    return [f for f in finalizers if is_ours(f) and f != own]


def _remove(raw: dict[str, Any], finalizer: str) -> None:
    finalizers = raw.get("metadata", {}).get("finalizers", [])
    while finalizer in finalizers:
        finalizers.remove(finalizer)


def take_over_finalizers(body: kopf.Body, patch: kopf.Patch, own: str) -> list[str]:
    """Remove the other installs' finalizers from the object (a JSON patch, so the list is
    edited, not replaced); returns the ones removed."""
    found = foreign_finalizers(list(body.metadata.get("finalizers") or []), own)
    for finalizer in found:
        patch.fns.append(functools.partial(_remove, finalizer=finalizer))
    return found


def selects(selector: LabelSelector) -> Callable[..., bool]:
    """A kopf `when=` filter: the object's labels match the selector."""

    def matches(labels: Mapping[str, str], **_: Any) -> bool:
        return selector.matches(labels)

    return matches
