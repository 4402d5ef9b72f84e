"""Are this version's CRDs installed? Compared by a fingerprint of what matters in each."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from serving_operator.api import ALL_KINDS, GROUP, VERSION
from serving_operator.api.crdgen import crd_for
from serving_operator.preflight.kube import KubeApi, KubeApiError

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
CRDS_FIX = (
    "install this version's CRDs: `serving-operator crds | kubectl apply"
    " --server-side -f -` (or `kubectl apply -f crds/`)"
)


def _normalised(value: Any) -> Any:
    """JSON as the API server gives it back: it keeps no difference between 1 and 1.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    return value


def fingerprint(crd: dict[str, Any]) -> str:
    """A hash of the CRD's names, scope and versions: what decides what objects may hold.

    The API server adds defaults elsewhere (conversion, status), so the rest is left out.
    """
    spec = crd.get("spec", {})
    versions = [
        {
            key: version.get(key)
            for key in (
                "name",
                "served",
                "storage",
                "schema",
                "subresources",
                "additionalPrinterColumns",
            )
        }
        for version in spec.get("versions", [])
    ]
    essence = {
        "group": spec.get("group"),
        "names": spec.get("names"),
        "scope": spec.get("scope"),
        "versions": versions,
    }
    canonical = json.dumps(_normalised(essence), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def expected_crds() -> dict[str, dict[str, Any]]:
    """This version's CRDs by name, as `serving-operator crds` generates them."""
    crds = [crd_for(kind, GROUP, VERSION) for kind in ALL_KINDS]
    return {crd["metadata"]["name"]: crd for crd in crds}


@dataclass(frozen=True)
class CrdState:
    name: str
    installed: bool
    established: bool
    matches: bool
    """The installed fingerprint is this version's."""
    serves_version: bool
    """The installed CRD serves the API version this operator reads and writes."""

    @property
    def ok(self) -> bool:
        return self.installed and self.established and self.matches

    def problem(self) -> str:
        if not self.installed:
            return f"{self.name} is not installed"
        if not self.serves_version:
            return f"{self.name} does not serve {VERSION} (older than this operator)"
        if not self.established:
            return f"{self.name} is not Established yet"
        return f"{self.name} differs from this version's"


def crd_states(api: KubeApi) -> list[CrdState]:
    states = []
    for name, wanted in expected_crds().items():
        try:
            installed = api.get(CRD_PATH + name)
        except KubeApiError as error:
            if error.status != 404:
                raise
            states.append(CrdState(name, False, False, False, False))
            continue
        conditions = installed.get("status", {}).get("conditions", [])
        established = any(
            c.get("type") == "Established" and c.get("status") == "True" for c in conditions
        )
        served = {v.get("name") for v in installed["spec"].get("versions", []) if v.get("served")}
        states.append(
            CrdState(
                name,
                installed=True,
                established=established,
                matches=fingerprint(installed) == fingerprint(wanted),
                serves_version=VERSION in served,
            )
        )
    return states
