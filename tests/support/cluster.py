"""Setting up the test cluster: CRDs, the operator's RBAC, namespaces, custom objects."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import kubernetes
import yaml
from kubernetes.client.rest import ApiException

from tests.support.paths import CLUSTERROLE_RULES, CRDS, PEERING_RULES

GROUP, VERSION = "serving.mlops.dev", "v1alpha1"


def api_client(kubeconfig: Path) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(config_file=str(kubeconfig))


def install_crds(api: kubernetes.client.ApiClient, folder: Path = CRDS) -> None:
    """Create or replace every CRD in `folder` and wait until each is Established."""
    ext = kubernetes.client.ApiextensionsV1Api(api)
    names = []
    for path in sorted(folder.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names.append(crd["metadata"]["name"])
        try:
            existing = ext.read_custom_resource_definition(crd["metadata"]["name"])
            crd["metadata"]["resourceVersion"] = existing.metadata.resource_version
            ext.replace_custom_resource_definition(crd["metadata"]["name"], crd)
        except ApiException as error:
            if error.status != 404:
                raise
            ext.create_custom_resource_definition(crd)
    deadline = time.monotonic() + 30
    for name in names:
        while True:
            conditions = ext.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not Established")
            time.sleep(0.1)


def grant_operator(api: kubernetes.client.ApiClient, user: str) -> None:
    """Bind `user` to exactly the chart's ClusterRole rules with peering.enabled (the tests'
    operators run standalone or with peering)."""
    rbac = kubernetes.client.RbacAuthorizationV1Api(api)
    rules = yaml.safe_load(CLUSTERROLE_RULES.read_text())
    rules += yaml.safe_load(PEERING_RULES.read_text())
    rbac.create_cluster_role({"metadata": {"name": "serving-operator"}, "rules": rules})
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": "serving-operator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "serving-operator",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
    )


class Objects:
    """The custom objects of one kind, with the reads tests need."""

    def __init__(self, api: kubernetes.client.ApiClient, plural: str) -> None:
        self.custom = kubernetes.client.CustomObjectsApi(api)
        self.core = kubernetes.client.CoreV1Api(api)
        self.plural = plural

    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, self.plural, body
        )
        return created

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, self.plural, name
            )
            return found
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def patch_spec(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, self.plural, name, {"spec": spec}
        )

    def delete(self, namespace: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, self.plural, name)

    def events(self, namespace: str, name: str) -> list[Any]:
        items = self.core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={name}"
        ).items
        return list(items)


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    if not obj:
        return None
    for cond in obj.get("status", {}).get("conditions", []):
        if cond.get("type") == type_:
            return dict(cond)
    return None


def is_true(obj: dict[str, Any] | None, type_: str) -> bool:
    cond = condition(obj, type_)
    return bool(cond and cond["status"] == "True")


def current_generation_observed(obj: dict[str, Any] | None) -> bool:
    return bool(
        obj and obj.get("status", {}).get("observedGeneration") == obj["metadata"]["generation"]
    )
