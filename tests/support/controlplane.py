"""A real kube-apiserver and etcd for tests and the demo, started the envtest way.

Binaries come from $KUBEBUILDER_ASSETS, else from .cache/bin (`make controlplane` builds
them from their Go modules). TLS with our own CA, token authentication, RBAC.
"""

from __future__ import annotations

import base64
import os
import secrets
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support import certs, processes
from tests.support.paths import DEFAULT_ASSETS

ADMIN_USER = "admin"
OPERATOR_USER = "serving-operator"


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


def start(workdir: Path, *, detach: bool = False) -> ControlPlane:
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
    plane = ControlPlane(workdir, f"https://127.0.0.1:{api_port}", pki["ca"], tokens)
    etcd_log, api_log = workdir / "etcd.log", workdir / "kube-apiserver.log"
    plane.processes.append(
        processes.start(
            [
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
            ],
            etcd_log,
            detach=detach,
        )
    )
    plane.processes.append(
        processes.start(
            [
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
            ],
            api_log,
            detach=detach,
        )
    )
    try:
        processes.wait_until(
            lambda: plane.ready() or any(p.poll() is not None for p in plane.processes),
            timeout=90,
            what="kube-apiserver /readyz",
            log=api_log,
        )
        if not plane.ready():
            raise RuntimeError(f"control plane exited:\n{api_log.read_text()[-3000:]}")
    except BaseException:
        plane.stop()
        raise
    return plane
