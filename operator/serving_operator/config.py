"""Operator settings, read once from the environment (the Helm chart sets them)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass(frozen=True)
class OperatorConfig:
    resync_seconds: float = 600.0
    """How often every resource is re-read from AWS to correct drift."""
    poll_seconds: float = 15.0
    """How soon to look again while SageMaker is busy (Creating, Updating, Deleting)."""
    aws_calls_per_second: float = 10.0
    aws_burst: int = 20
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
            aws_calls_per_second=_float(
                "SERVING_OPERATOR_AWS_CALLS_PER_SECOND", cls.aws_calls_per_second
            ),
            aws_burst=int(_float("SERVING_OPERATOR_AWS_BURST", cls.aws_burst)),
            workers=int(_float("SERVING_OPERATOR_WORKERS", cls.workers)),
            peering_lifetime_seconds=int(
                _float("SERVING_OPERATOR_PEERING_LIFETIME_SECONDS", cls.peering_lifetime_seconds)
            ),
        )
