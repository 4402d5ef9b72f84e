"""A real kube-apiserver and etcd for tests and the demo, started the envtest way.

Binaries come from $KUBEBUILDER_ASSETS, else from .cache/bin (`make controlplane` builds
them from their Go modules). TLS with our own CA, token authentication, RBAC.

On request, a kube-controller-manager running only the controllers a test needs
(`start(..., controllers=("namespace-controller",))`): without its namespace controller a
deleted namespace stays Terminating for ever, as in a cluster whose controller manager is down.

Each process can be stopped and started again on the same ports and data
(`restart_apiserver`, `restart_etcd`, `restart_controller_manager`): the faults a
control-plane upgrade or a crash causes.
"""

from __future__ import annotations

import base64
import os
import secrets
import ssl
import subprocess
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support import certs, processes
from tests.support.paths import DEFAULT_ASSETS

ADMIN_USER = "admin"
OPERATOR_USER = "serving-operator"
ETCD, APISERVER = "etcd", "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"


def assets_dir() -> Path:
    folder = Path(os.environ.get("KUBEBUILDER_ASSETS") or DEFAULT_ASSETS)
    missing = [b for b in ("etcd", "kube-apiserver") if not (folder / b).exists()]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)} not found in {folder}: run `make controlplane`"
            " or point KUBEBUILDER_ASSETS at a folder holding them"
        )
    return folder


@dataclass
class ControlPlane:
    workdir: Path
    url: str
    ca_file: Path
    tokens: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    """etcd, kube-apiserver, then kube-controller-manager if asked for: the running process
    of each (replaced on a restart)."""
    commands: dict[str, list[str]] = field(default_factory=dict)
    """How each component (ETCD, APISERVER, CONTROLLER_MANAGER) was started, to start it
    again the same way."""
    detach: bool = False
    controller_manager_url: str | None = None
    """kube-controller-manager's secure port (self-signed), when it runs."""

    def kubeconfig(self, user: str) -> Path:
        """A kubeconfig file that authenticates as `user` with its bearer token."""
        path = self.workdir / f"kubeconfig-{user}"
        ca_data = base64.b64encode(self.ca_file.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {"server": self.url, "certificate-authority-data": ca_data},
                }
            ],
            "users": [{"name": user, "user": {"token": self.tokens[user]}}],
            "contexts": [{"name": user, "context": {"cluster": "test", "user": user}}],
            "current-context": user,
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def ready(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        request = urllib.request.Request(
            self.url + "/readyz", headers={"Authorization": f"Bearer {self.tokens[ADMIN_USER]}"}
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        for process in reversed(self.processes):
            processes.stop(process)

    def log(self, component: str) -> Path:
        return self.workdir / f"{component}.log"

    def _index(self, component: str) -> int:
        return list(self.commands).index(component)

    def stop_component(self, component: str) -> None:
        """Stop a component as a node shutdown would (SIGTERM, then SIGKILL)."""
        processes.stop(self.processes[self._index(component)])

    def start_component(self, component: str) -> None:
        """Start a stopped component again on its ports and data dir (etcd keeps every
        object, so the cluster comes back as it was); wait until the API is ready (and
        kube-controller-manager healthy, when that is the one started)."""
        index = self._index(component)
        if self.processes[index].poll() is None:
            raise RuntimeError(f"{component} is still running")
        self.processes[index] = processes.start(
            self.commands[component], self.log(component), detach=self.detach
        )
        self.wait_ready()
        if component == CONTROLLER_MANAGER:
            self.wait_controller_manager_healthy()

    def restart_apiserver(self, while_down: Callable[[], None] = lambda: None) -> None:
        """Stop kube-apiserver, call `while_down`, start it again; etcd keeps running."""
        self.stop_component(APISERVER)
        while_down()
        self.start_component(APISERVER)

    def restart_etcd(
        self, while_down: Callable[[], None] = lambda: None, *, with_apiserver: bool = False
    ) -> None:
        """Stop etcd (and kube-apiserver first, with `with_apiserver`), call `while_down`,
        start them again. Without the apiserver restart, the running apiserver loses its
        storage: reads from its watch cache go on, writes fail until etcd is back."""
        if with_apiserver:
            self.stop_component(APISERVER)
        self.stop_component(ETCD)
        while_down()
        self.processes[self._index(ETCD)] = processes.start(
            self.commands[ETCD], self.log(ETCD), detach=self.detach
        )
        if with_apiserver:
            self.start_component(APISERVER)
        else:
            self.wait_ready()

    def restart_controller_manager(self, while_down: Callable[[], None] = lambda: None) -> None:
        """Stop kube-controller-manager, call `while_down`, start it again (it then lists
        everything afresh, as after a crash or an upgrade)."""
        self.stop_component(CONTROLLER_MANAGER)
        while_down()
        self.start_component(CONTROLLER_MANAGER)

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait for /readyz (the apiserver answers it only once etcd answers it)."""
        processes.wait_until(
            lambda: self.ready() or self._exited() != [],
            timeout=timeout,
            what="kube-apiserver /readyz",
            log=self.log(APISERVER),
        )
        self._fail_if_exited()

    def controller_manager_healthy(self) -> bool:
        if self.controller_manager_url is None:
            return False
        # Its serving certificate is self-signed; /healthz needs no credentials.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(
                self.controller_manager_url + "/healthz", context=context, timeout=2
            ) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def wait_controller_manager_healthy(self, timeout: float = 60) -> None:
        processes.wait_until(
            lambda: self.controller_manager_healthy() or self._exited() != [],
            timeout=timeout,
            what="kube-controller-manager /healthz",
            log=self.log(CONTROLLER_MANAGER),
        )
        self._fail_if_exited()

    def _exited(self) -> list[str]:
        return [
            name
            for name, p in zip(self.commands, self.processes, strict=True)
            if p.poll() is not None
        ]

    def _fail_if_exited(self) -> None:
        exited = self._exited()
        if exited:
            tail = self.log(exited[-1]).read_text()[-3000:]
            raise RuntimeError(f"control plane: {', '.join(exited)} exited:\n{tail}")


def start(workdir: Path, *, detach: bool = False, controllers: Sequence[str] = ()) -> ControlPlane:
    """Start etcd and kube-apiserver, and kube-controller-manager running `controllers`
    (its --controllers names, e.g. "namespace-controller", "garbage-collector-controller")
    when there are any."""
    bins = assets_dir()
    workdir.mkdir(parents=True, exist_ok=True)
    pki = certs.write_pki(workdir / "pki")
    tokens = {ADMIN_USER: secrets.token_hex(16), OPERATOR_USER: secrets.token_hex(16)}
    token_file = workdir / "tokens.csv"
    token_file.write_text(
        f'{tokens[ADMIN_USER]},{ADMIN_USER},uid-admin,"system:masters"\n'
        f"{tokens[OPERATOR_USER]},{OPERATOR_USER},uid-operator\n"
    )
    etcd_port, peer_port, api_port = (processes.free_port() for _ in range(3))
    plane = ControlPlane(workdir, f"https://127.0.0.1:{api_port}", pki["ca"], tokens, detach=detach)
    plane.commands[ETCD] = [
        str(bins / "etcd"),
        "--data-dir",
        str(workdir / "etcd"),
        "--listen-client-urls",
        f"http://127.0.0.1:{etcd_port}",
        "--advertise-client-urls",
        f"http://127.0.0.1:{etcd_port}",
        "--listen-peer-urls",
        f"http://127.0.0.1:{peer_port}",
        "--initial-advertise-peer-urls",
        f"http://127.0.0.1:{peer_port}",
        "--initial-cluster",
        f"default=http://127.0.0.1:{peer_port}",
        "--unsafe-no-fsync",
    ]
    plane.commands[APISERVER] = [
        str(bins / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{etcd_port}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={api_port}",
        f"--cert-dir={workdir / 'pki'}",
        f"--tls-cert-file={pki['cert']}",
        f"--tls-private-key-file={pki['key']}",
        f"--token-auth-file={token_file}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki['sa_pub']}",
        f"--service-account-signing-key-file={pki['sa_key']}",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        # Like envtest: no Service/Endpoints for the apiserver itself (loopback).
        "--endpoint-reconciler-type=none",
    ]
    for component, command in plane.commands.items():
        plane.processes.append(processes.start(command, plane.log(component), detach=detach))
    try:
        plane.wait_ready()
        if controllers:
            _start_controller_manager(plane, bins, controllers)
    except BaseException:
        plane.stop()
        raise
    return plane


def _start_controller_manager(plane: ControlPlane, bins: Path, controllers: Sequence[str]) -> None:
    binary = bins / CONTROLLER_MANAGER
    if not binary.exists():
        raise FileNotFoundError(f"{binary} not found: run `make controlplane`")
    port = processes.free_port()
    plane.controller_manager_url = f"https://127.0.0.1:{port}"
    plane.commands[CONTROLLER_MANAGER] = [
        str(binary),
        # As the admin user: its controllers then may do anything, with no RBAC of their own.
        f"--kubeconfig={plane.kubeconfig(ADMIN_USER)}",
        f"--controllers={','.join(controllers)}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={plane.workdir / 'controller-manager-pki'}",
    ]
    plane.processes.append(
        processes.start(
            plane.commands[CONTROLLER_MANAGER],
            plane.log(CONTROLLER_MANAGER),
            detach=plane.detach,
        )
    )
    plane.wait_controller_manager_healthy()
