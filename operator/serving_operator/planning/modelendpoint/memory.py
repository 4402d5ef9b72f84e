"""What a ModelEndpoint remembers between passes, kept in its status.

All of it can be re-derived from AWS at a cost; remembering it keeps a steady-state pass at
one DescribeEndpoint and tells a failed update apart from one not yet tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Memory:
    attempted_config: str | None = None
    """The config the endpoint was last switched to; tells a failed update from a new one."""
    cleaned_for_config: str | None = None
    """The config after whose rollout unused configs and models were last deleted."""
    warmed_for_config: str | None = None
    """The config whose multi-model target models were last warmed up."""
    scaling_registered: bool = False
    """Whether the operator left autoscaling registered for any variant."""
    scaling_checked: str | None = None
    """Fingerprint of the autoscaling spec and endpoint variants last read and made to match."""
    scaling_checked_at: datetime | None = None
    """When that read was; a steady pass reads scaling again once it is old."""
    models_listed_for_config: str | None = None
    """The config whose multi-model S3 prefixes were last listed (status.variants' modelsFound)."""
    models_listed_at: datetime | None = None
    """When they were listed; a steady pass lists them again an hour later."""
