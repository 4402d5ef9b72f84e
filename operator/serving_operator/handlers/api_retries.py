"""How the operator retries a failed Kubernetes API request (kopf makes the requests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class EndlessBackoff:
    """Delays between retries of a failed Kubernetes API request (connection refused, 5xx,
    429, 403 mid-upgrade), doubling up to `cap`, without end.

    kopf's default gives up after about a minute, and then a timer whose status write gave
    up is never run again for that object: it would not be polled or resynced until the
    operator restarts, with the liveness probe still green. Waiting out the outage instead
    keeps every timer; the API coming back is the only way forward anyway. Iterable many
    times over: kopf starts each request's retries from the first delay.

    The cap bounds how long after the API server is back a waiting request (a watch, a
    status write) notices it; it also bounds the load of retries on an API server coming
    back (one request per cap per pending write or watch)."""

    first: float = 1.0
    cap: float = 15.0

    def __iter__(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.cap)
