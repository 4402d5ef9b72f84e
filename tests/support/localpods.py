"""The chart's operator pods as local processes.

The test control plane has no kubelet, and there is no Docker here: a Deployment the chart
creates never gets a pod. Where a test (or a doc run by tests/e2e/test_docs.py) installs the
chart, LocalPods stands in for the kubelet and the Deployment controller: for every Deployment
of the chart it keeps `replicas` `serving-operator run` processes running with the container's
arguments and environment, as the Deployment's ServiceAccount (a token the API server issues
through the TokenRequest API), so each has exactly the permissions the chart grants. The
sandbox stands in for AWS: its endpoint and credentials are what IRSA would give the pod. A
changed pod template (helm upgrade) replaces the processes, a process that exits is started
again (restartPolicy Always), and a deleted Deployment (helm uninstall) stops them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes

from tests.support import cluster, controlplane
from tests.support import operator as operator_support

CHART_PODS = "app.kubernetes.io/name=serving-operator"
# The sandbox's variables that stand in for the pod's AWS access; the region stays the chart's.
AWS_ACCESS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
# Listen ports: the local process gets free ones (operator.start adds them).
LISTEN_FLAGS = ("--metrics-port", "--liveness")


@dataclass
class Replicas:
    template: str
    processes: list[operator_support.OperatorProcess] = field(default_factory=list)
    evicted: int = 0


def run_arguments(container: dict[str, Any]) -> list[str]:
    """The container's arguments for `serving-operator run`, without `run` and the listen
    ports (operator.start adds both)."""
    args = list(container.get("args") or [])
    assert args[:1] == ["run"], f"the chart's container does not run the operator: {args}"
    kept: list[str] = []
    skip = False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg in LISTEN_FLAGS:
            skip = True
        else:
            kept.append(arg)
    return kept


def container_env(container: dict[str, Any], pod: str, namespace: str) -> dict[str, str]:
    """The container's literal environment, and the downward-API fields a pod would get."""
    env: dict[str, str] = {}
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
            continue
        path = ((entry.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if path == "metadata.name":
            env[entry["name"]] = pod
        elif path == "metadata.namespace":
            env[entry["name"]] = namespace
    return env


class LocalPods:
    def __init__(
        self,
        plane: controlplane.ControlPlane,
        workdir: Path,
        aws_env: dict[str, str],
        *,
        interval: float = 0.5,
    ) -> None:
        self.plane = plane
        self.workdir = workdir
        self.aws = {k: v for k, v in aws_env.items() if k in AWS_ACCESS}
        self.interval = interval
        self.api = cluster.api_client(plane.kubeconfig(controlplane.ADMIN_USER))
        self.running: dict[tuple[str, str], Replicas] = {}
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-pods", daemon=True)
        self._started = 0

    def __enter__(self) -> LocalPods:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=120)
        with self._lock:
            for replicas in self.running.values():
                for process in replicas.processes:
                    process.stop()
            self.running.clear()

    def processes(self) -> list[operator_support.OperatorProcess]:
        with self._lock:
            return [p for r in self.running.values() for p in r.processes]

    def evict(self, process: operator_support.OperatorProcess) -> None:
        """Stop one replica cleanly (it leaves its peering at once) and start no other in its
        place: a pod evicted from a node with no room for another."""
        with self._lock:
            for replicas in self.running.values():
                if process in replicas.processes:
                    replicas.processes.remove(process)
                    replicas.evicted += 1
        process.stop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._sync()
            except Exception as error:
                self.errors.append(f"{type(error).__name__}: {error}")
            self._stopping.wait(self.interval)

    def _sync(self) -> None:
        apps = kubernetes.client.AppsV1Api(self.api)
        found = {}
        for deployment in apps.list_deployment_for_all_namespaces(label_selector=CHART_PODS).items:
            body = self.api.sanitize_for_serialization(deployment)
            key = (body["metadata"]["namespace"], body["metadata"]["name"])
            found[key] = body
        with self._lock:
            gone = [key for key in self.running if key not in found]
        for key in gone:
            self._stop_replicas(key)
        for key, body in found.items():
            template = json.dumps(body["spec"]["template"], sort_keys=True)
            with self._lock:
                current = self.running.get(key)
            if current is not None and current.template != template:
                self._stop_replicas(key)
                current = None
            if current is None:
                current = Replicas(template)
                with self._lock:
                    self.running[key] = current
            for process in list(current.processes):
                if process.process.poll() is not None:  # exited: restartPolicy Always
                    with self._lock:
                        current.processes.remove(process)
            wanted = int(body["spec"].get("replicas", 1)) - current.evicted
            while len(current.processes) < wanted and not self._stopping.is_set():
                process = self._start(key, body)
                with self._lock:
                    current.processes.append(process)

    def _stop_replicas(self, key: tuple[str, str]) -> None:
        """Stop the Deployment's processes, and only then forget them: `processes()` lists a
        replica until it has exited, as `kubectl get pods` shows a pod until it is gone."""
        with self._lock:
            replicas = self.running.get(key)
        for process in list(replicas.processes) if replicas else []:
            process.stop()
        with self._lock:
            if self.running.get(key) is replicas:
                self.running.pop(key, None)

    def _start(
        self, key: tuple[str, str], deployment: dict[str, Any]
    ) -> operator_support.OperatorProcess:
        namespace, name = key
        pod_spec = deployment["spec"]["template"]["spec"]
        (container,) = pod_spec["containers"]
        self._started += 1
        pod = f"{name}-local-{self._started}"
        kubeconfig = self._service_account_kubeconfig(
            namespace, pod_spec.get("serviceAccountName") or "default"
        )
        env = {**container_env(container, pod, namespace), **self.aws}
        try:
            return operator_support.start(
                self.workdir / pod, kubeconfig, {}, extra_env=env, args=run_arguments(container)
            )
        except RuntimeError:
            time.sleep(2)  # a crash loop's back-off
            raise

    def _service_account_kubeconfig(self, namespace: str, account: str) -> Path:
        core = kubernetes.client.CoreV1Api(self.api)
        request = core.create_namespaced_service_account_token(
            account, namespace, {"spec": {"expirationSeconds": 3600}}
        )
        user = f"serviceaccount-{namespace}-{account}"
        self.plane.tokens[user] = request.status.token
        return self.plane.kubeconfig(user)
