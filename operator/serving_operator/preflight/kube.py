"""Just enough of a Kubernetes client for the checks, logged in the way kopf logs in.

The operator's runtime dependencies have no Kubernetes client library (kopf speaks to the API
with aiohttp). Rather than add one, the checks take their credentials from kopf's own public
login functions, in kopf's order, so `check` tests exactly what `run` will use: the official
client library when it is installed (kubeconfig exec plugins such as `aws eks get-token` need
it), else a pod's service account, else the kubeconfig file.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import ssl
import urllib.error
import urllib.request
from typing import Any

import kopf
import yaml

KUBECONFIG_FIX = (
    "point KUBECONFIG at a kubeconfig whose current context reaches the cluster"
    " (`kubectl get ns` works with it), or run in a pod with a service account"
)


class KubeLoginError(Exception):
    """No usable Kubernetes credentials."""


class KubeUnreachableError(Exception):
    """The API server did not answer."""


class KubeApiError(Exception):
    """The API server answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.api_message = message


def kubeconfig_location() -> str:
    """Where kubeconfigs are looked for, and whether anything is there."""
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    named = f"KUBECONFIG={os.environ['KUBECONFIG']}" if paths else "~/.kube/config"
    files = [os.path.expanduser(p) for p in paths or ["~/.kube/config"]]
    return named if any(os.path.exists(f) for f in files) else f"{named} (no such file)"


def login() -> kopf.ConnectionInfo:
    """The credentials kopf will find at start-up, or KubeLoginError saying why there are none."""
    settings = kopf.OperatorSettings()
    logger = logging.getLogger("serving_operator.preflight")
    info: kopf.ConnectionInfo | None
    try:
        if importlib.util.find_spec("kubernetes") is not None:
            info = kopf.login_via_client(logger=logger, settings=settings)
        else:
            info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
                settings=settings
            )
    except kopf.LoginError as error:
        raise KubeLoginError(
            f"no Kubernetes credentials: none usable in {kubeconfig_location()},"
            " and no pod service account"
        ) from error
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as error:
        raise KubeLoginError(
            f"cannot read the kubeconfig ({kubeconfig_location()}): {error}"
        ) from error
    if info is None or not info.server:
        raise KubeLoginError(
            f"no Kubernetes credentials: none in {kubeconfig_location()},"
            " and no pod service account"
        )
    return info


class KubeApi:
    """GET and POST JSON against the API server with kopf's connection info."""

    def __init__(self, connection: kopf.ConnectionInfo, timeout: float = 10.0) -> None:
        self.connection = connection
        self._timeout = timeout
        self._ssl: ssl.SSLContext | None = None

    @property
    def server(self) -> str:
        return str(self.connection.server).rstrip("/")

    def get(self, path: str) -> dict[str, Any]:
        return self._request("GET", path, None)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, body)

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("PATCH", path, body, "application/merge-patch+json")

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = self.connection.as_ssl_context()
        return self._ssl

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", **self.connection.as_http_headers()}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        request = urllib.request.Request(
            self.server + path, data=data, method=method, headers=headers
        )
        context = self._context() if self.server.startswith("https:") else None
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=context) as r:
                answer: dict[str, Any] = json.loads(r.read() or b"{}")
                return answer
        except urllib.error.HTTPError as error:
            raise KubeApiError(error.code, _status_message(error)) from error
        except (OSError, ssl.SSLError) as error:
            reason = getattr(error, "reason", error)
            raise KubeUnreachableError(f"{self.server} does not answer: {reason}") from error


def _status_message(error: urllib.error.HTTPError) -> str:
    """The `message` of the Status object Kubernetes answers errors with, else the reason."""
    try:
        status = json.loads(error.read())
        return str(status.get("message") or error.reason)
    except (ValueError, OSError):
        return str(error.reason)
