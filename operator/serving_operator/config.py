"""Operator settings, read once from the environment (the Helm chart sets them)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from serving_operator.aws.ratelimit import Rate, parse_rates
from serving_operator.labelselector import LabelSelector, parse_selector

T = TypeVar("T")


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return _read(name, float, raw) if raw else default


def _read(name: str, parse: Callable[[str], T], raw: str) -> T:
    """`parse(raw)`, with the variable's name in the error a user sees."""
    try:
        return parse(raw)
    except ValueError as error:
        raise ValueError(f"{name}={raw!r}: {error}") from error


def _overall_rate() -> Rate | None:
    """SERVING_OPERATOR_AWS_CALLS_PER_SECOND / _BURST, once one bucket for every call, now
    cap all services together when set (a missing half takes its old default, 10/s or 20)."""
    per_second = os.environ.get("SERVING_OPERATOR_AWS_CALLS_PER_SECOND") or "10"
    burst = os.environ.get("SERVING_OPERATOR_AWS_BURST") or "20"
    if not any(
        os.environ.get(f"SERVING_OPERATOR_AWS_{name}") for name in ("CALLS_PER_SECOND", "BURST")
    ):
        return None
    return _read(
        "SERVING_OPERATOR_AWS_CALLS_PER_SECOND/_BURST",
        lambda _: Rate(float(per_second), int(float(burst))),
        f"{per_second}/{burst}",
    )


@dataclass(frozen=True)
class OperatorConfig:
    resync_seconds: float = 600.0
    """How often every resource is re-read from AWS to correct drift."""
    poll_seconds: float = 15.0
    """How soon to look again while SageMaker is busy (Creating, Updating, Deleting)."""
    aws_rates: Mapping[str, Rate] = field(default_factory=dict)
    """Per-service client-side rate limits that replace the defaults (aws/ratelimit.py)."""
    aws_overall_rate: Rate | None = None
    """A cap on all AWS calls together, from the variables that were once the only limit."""
    selector: LabelSelector = field(default_factory=LabelSelector)
    """Handle only resources whose labels match (a kubectl label selector); empty: all."""
    edge_recheck_seconds: float = 3600.0
    """How often a rolled-out EdgeModel reads its component versions and its thing groups'
    latest deployments (instead of at every resync): a deployment by someone else that
    drops its component is merged again within this long."""
    workers: int = 16
    """Threads for blocking AWS calls: reconciles of different resources run in parallel."""
    peering_lifetime_seconds: int = 30
    """With peering: how long a replica's keep-alive counts. A replica that dies without
    leaving (SIGKILL, node lost) is taken over by a standby once its record expires, so this
    bounds the handover. Each replica renews 5-10 s before its record expires, whatever the
    lifetime, so a shorter one risks no more false takeovers; it costs a write per lifetime."""

    @classmethod
    def from_env(cls) -> OperatorConfig:
        return cls(
            resync_seconds=_float("SERVING_OPERATOR_RESYNC_SECONDS", cls.resync_seconds),
            poll_seconds=_float("SERVING_OPERATOR_POLL_SECONDS", cls.poll_seconds),
            aws_rates=_read(
                "SERVING_OPERATOR_AWS_RATE_LIMITS",
                parse_rates,
                os.environ.get("SERVING_OPERATOR_AWS_RATE_LIMITS", ""),
            ),
            aws_overall_rate=_overall_rate(),
            selector=_read(
                "SERVING_OPERATOR_SELECTOR",
                parse_selector,
                os.environ.get("SERVING_OPERATOR_SELECTOR", ""),
            ),
            edge_recheck_seconds=_float(
                "SERVING_OPERATOR_EDGE_RECHECK_SECONDS", cls.edge_recheck_seconds
            ),
            workers=int(_float("SERVING_OPERATOR_WORKERS", cls.workers)),
            peering_lifetime_seconds=int(
                _float("SERVING_OPERATOR_PEERING_LIFETIME_SECONDS", cls.peering_lifetime_seconds)
            ),
        )
