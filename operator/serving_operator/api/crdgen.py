"""Generate CustomResourceDefinitions from the pydantic models.

Pydantic emits JSON Schema 2020-12; Kubernetes wants a *structural* OpenAPI v3.0 schema:
no ``$ref``, no ``anyOf`` for optional fields, ``exclusiveMinimum`` as a boolean, and
``x-kubernetes-*`` extensions carried through as they are.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from serving_operator.api.common import PATTERN_MESSAGES, KindInfo

# Keys of a JSON Schema node that mean the same in a structural OpenAPI v3 schema.
_KEPT_KEYS = {
    "type",
    "description",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "required",
}


# The apiserver estimates a CEL rule's cost from the longest string it may see, times how
# many times it may run (lists of lists): past this length, a regular expression in CEL
# busts the CRD's cost budget, so long fields (S3 URIs, ARNs) keep their OpenAPI pattern.
_CEL_PATTERN_MAX_LENGTH = 64


def _pattern_as_cel(node: dict[str, Any]) -> dict[str, Any]:
    """A known pattern on a short string becomes a CEL rule whose message says what the
    value must be, instead of an OpenAPI pattern whose error quotes the expression."""
    message = PATTERN_MESSAGES.get(node.get("pattern", ""))
    if message is None or node.get("maxLength", _CEL_PATTERN_MAX_LENGTH + 1) > (
        _CEL_PATTERN_MAX_LENGTH
    ):
        return node
    rule = {"rule": f"self.matches({json.dumps(node['pattern'])})", "message": message}
    rest = {k: v for k, v in node.items() if k != "pattern"}
    return {**rest, "x-kubernetes-validations": [*rest.get("x-kubernetes-validations", []), rule]}


def _structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Turn one pydantic JSON Schema node into a structural OpenAPI v3 node."""
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, defs)
    if "anyOf" in node:
        # `X | None` is "optional" in the API: the field may be absent, never null.
        choices = [c for c in node["anyOf"] if c.get("type") != "null"]
        if len(choices) != 1:
            raise ValueError(f"unions are not structural: {node['anyOf']}")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        return _structural({**choices[0], **rest}, defs)

    node = _pattern_as_cel(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        extension = key.startswith("x-kubernetes-")
        if key in _KEPT_KEYS or extension or (key == "default" and value is not None):
            out[key] = value
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            out[bound] = value
            out[key] = True
    if "properties" in node:
        out["properties"] = {
            name: _structural(prop, defs) for name, prop in node["properties"].items()
        }
    if "items" in node:
        out["items"] = _structural(node["items"], defs)
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = _structural(node["additionalProperties"], defs)
    if "required" in out:
        # A field with a default is not required from the user's point of view.
        props = node.get("properties", {})
        out["required"] = [n for n in out["required"] if "default" not in props.get(n, {})]
        if not out["required"]:
            del out["required"]
    return out


def openapi_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, mode="validation")
    defs = schema.pop("$defs", {})
    result = _structural(schema, defs)
    if model.__doc__:
        result["description"] = model.__doc__.strip().splitlines()[0]
    return result


# What a resource shows before the operator's first pass. The apiserver drops status on
# create and applies this default whenever status is absent, so kstatus (Flux, kubectl
# wait-style tools) and Argo CD read a new resource as in progress, never as healthy
# before anything happened: Reconciling is True and generation 0 is not the current one.
INITIAL_STATUS: dict[str, Any] = {
    "observedGeneration": 0,
    "conditions": [
        {
            "type": "Reconciling",
            "status": "True",
            "reason": "Pending",
            "message": "waiting for the operator's first pass",
        }
    ],
}


# `kubectl get -o wide` says why a resource is not Ready: the Ready condition carries the
# reason and message of every outcome (Stalled and Reconciling ones included).
_REASON_COLUMNS = (
    {
        "name": "Reason",
        "type": "string",
        "priority": 1,
        "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
    },
    {
        "name": "Message",
        "type": "string",
        "priority": 1,
        "jsonPath": '.status.conditions[?(@.type=="Ready")].message',
    },
)


def crd_for(kind: KindInfo, group: str, version: str) -> dict[str, Any]:
    status = {**openapi_schema(kind.status_model), "default": INITIAL_STATUS}
    root: dict[str, Any] = {
        "type": "object",
        "description": kind.description,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": openapi_schema(kind.spec_model),
            "status": status,
        },
        "required": ["spec"],
    }
    if kind.root_validations:
        root["x-kubernetes-validations"] = list(kind.root_validations)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{group}"},
        "spec": {
            "group": group,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": list(kind.categories),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [*kind.printer_columns, *_REASON_COLUMNS],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def crd_file_name(kind: KindInfo, group: str) -> str:
    return f"{kind.plural}.{group}.yaml"


def kopf_peering_crds() -> list[dict[str, Any]]:
    """kopf's peering CRDs, needed only with `serving-operator run --peering NAME`.

    Active/standby replicas find each other through these objects; their contents are
    kopf's own, so the schema keeps unknown fields.
    """
    crds = []
    for kind, scope in (("ClusterKopfPeering", "Cluster"), ("KopfPeering", "Namespaced")):
        plural = kind.lower() + "s"
        crds.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.kopf.dev"},
                "spec": {
                    "group": "kopf.dev",
                    "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                    "scope": scope,
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {
                                "openAPIV3Schema": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    ],
                },
            }
        )
    return crds
