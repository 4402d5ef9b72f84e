"""The metrics port's HTTP server: Prometheus' `/metrics` and the readiness check `/readyz`.

kopf's `--liveness` endpoint answers as long as the event loop runs (its probe handlers only
add data to the answer): that is liveness, not readiness. kopf documents no readiness probe
("for operators, readiness probing makes no practical sense", docs.kopf.dev, probing), but a
Deployment's rollout, a PodDisruptionBudget and `kubectl rollout status` count ready pods, so a
pod that cannot reach its cluster must not count. Ready here means both:

- kopf has finished its start-up activity (the `ready_flag` of `kopf.run`, raised once the
  operator's startup handlers built its AWS clients): only then do kopf's watch streams start;
- the API server lets this identity list each kind it watches, in each watched namespace (or
  cluster-wide), now: the request every watch stream starts with and repeats on reconnect.
  Checked at most every `max_age` seconds, so probes cost the API server little.

A standby replica under kopf peering is ready too: it is connected and takes over at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from serving_operator.api import ALL_KINDS, GROUP, VERSION
from serving_operator.preflight.kube import (
    KubeApi,
    KubeApiError,
    KubeLoginError,
    KubeUnreachableError,
    login,
)

READY_PATH = "/readyz"


def list_paths(namespaces: Sequence[str]) -> list[str]:
    """One `limit=1` list per watched kind and namespace (cluster-wide without namespaces)."""
    scopes = [f"/namespaces/{n}" for n in namespaces] or [""]
    return [
        f"/apis/{GROUP}/{VERSION}{scope}/{kind.plural}?limit=1"
        for kind in ALL_KINDS
        for scope in scopes
    ]


def _connect() -> KubeApi:
    """Logged in afresh each time, as kopf does: a pod's token file is rotated."""
    return KubeApi(login(), timeout=3.0)


@dataclass
class Readiness:
    """Whether the operator is ready, and why not (see the module's docstring)."""

    paths: list[str]
    started: threading.Event = field(default_factory=threading.Event)
    max_age: float = 5.0
    connect: Callable[[], KubeApi] = field(default_factory=lambda: _connect)
    _checked_at: float = field(default=float("-inf"), init=False)
    _problem: str | None = field(default="not checked yet", init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def problem(self) -> str | None:
        """None when ready, else what is missing."""
        if not self.started.is_set():
            return "kopf has not finished starting (startup handlers)"
        with self._lock:
            if time.monotonic() - self._checked_at >= self.max_age:
                self._problem = self._list_each_kind()
                self._checked_at = time.monotonic()
            return self._problem

    def _list_each_kind(self) -> str | None:
        try:
            api = self.connect()
        except KubeLoginError as error:
            return str(error)
        for path in self.paths:
            try:
                api.get(path)
            except (KubeApiError, KubeUnreachableError) as error:
                return f"cannot list {path.partition('?')[0]}: {error}"
        return None


def metrics_and_readiness_app(readiness: Readiness) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: `/readyz` answers 200 or 503 with a JSON reason; the rest is Prometheus'."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != READY_PATH:
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        problem = readiness.problem()
        body = json.dumps({"ready": problem is None, **({"reason": problem} if problem else {})})
        status = "200 OK" if problem is None else "503 Service Unavailable"
        start_response(status, [("Content-Type", "application/json")])
        return [body.encode()]

    return app


class _QuietHandler(WSGIRequestHandler):
    """No access log line per probe or scrape."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(port: int, address: str, app: Callable[..., Iterable[bytes]]) -> None:
    """Serve `app` on a daemon thread, one thread per request (as prometheus_client does)."""
    from prometheus_client.exposition import ThreadingWSGIServer

    server = make_server(address, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-readiness", daemon=True).start()
