"""Check a raw AWS JSON response against botocore's service model, member by member."""

from __future__ import annotations

import json
from typing import Any

from botocore.model import Shape

_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "timestamp": (int, float, str),
    "blob": (str,),
}


def _size_errors(value: Any, shape: Shape, path: str) -> list[str]:
    """A list's, map's or string's length outside the shape's `min`/`max` (e.g. a TagMap
    has min 1: an empty `tags: {}` is not an answer AWS gives)."""
    if not isinstance(value, list | dict | str) or isinstance(value, bool):
        return []
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(value) < low:
        return [f"{path}: length {len(value)} below {shape.name}'s min {low}"]
    if high is not None and len(value) > high and shape.type_name != "string":
        return [f"{path}: length {len(value)} above {shape.name}'s max {high}"]
    return []


def shape_errors(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Every way `value` breaks `shape`: unknown or missing members, wrong types, bad enums,
    lengths outside min/max."""
    errors: list[str] = _size_errors(value, shape, path)
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            if key not in members:
                errors.append(f"{path}.{key}: not a member of {shape.name}")
            else:
                errors += shape_errors(item, members[key], f"{path}.{key}")
        for required in shape.required_members:
            if required not in value:
                errors.append(f"{path}.{required}: required by {shape.name}, missing")
    elif shape.type_name == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        for i, item in enumerate(value):
            errors += shape_errors(item, shape.member, f"{path}[{i}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        for key, item in value.items():
            errors += shape_errors(item, shape.value, f"{path}[{key}]")  # type: ignore[attr-defined]
    else:
        expected = _SCALARS[shape.type_name]
        if isinstance(value, bool) and bool not in expected:
            errors.append(f"{path}: boolean where {shape.type_name} expected")
        elif not isinstance(value, expected):
            errors.append(f"{path}: {type(value).__name__} where {shape.type_name} expected")
        elif getattr(shape, "enum", None) and value not in shape.enum:  # type: ignore[attr-defined]
            errors.append(f"{path}: {value!r} not one of {shape.name}'s values")
    return errors


class ShapeRecorder:
    """Captures each raw response body and checks it against its output shape.

    Register it for `before-parse.<service>.<operation>` events of JSON-protocol clients.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.checked: list[str] = []

    def __call__(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict.get("body") or b""
        if response_dict.get("status_code", 500) >= 300 or not body:
            return
        shape = operation_model.output_shape
        if shape is not None:
            self.errors += [
                f"{operation_model.name}: {e}" for e in shape_errors(json.loads(body), shape)
            ]
        self.checked.append(operation_model.name)


class ErrorShapeRecorder:
    """Checks each error response of a REST-JSON client (SageMaker Runtime) against the
    error shape its x-amzn-ErrorType names: the members, and the HTTP status it declares.

    Register it for `before-parse.<service>.<operation>` events.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.checked: list[str] = []

    def __call__(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        status = int(response_dict.get("status_code", 200))
        if status < 300:
            return
        headers = {k.lower(): v for k, v in response_dict.get("headers", {}).items()}
        code = str(headers.get("x-amzn-errortype", "")).split(":")[0]
        declared = {shape.name: shape for shape in operation_model.error_shapes}
        if code not in declared:
            self.errors.append(f"{operation_model.name}: error {code!r} is not declared")
            return
        shape = declared[code]
        if shape.metadata.get("error", {}).get("httpStatusCode") != status:
            self.errors.append(f"{operation_model.name}: {code} came with HTTP {status}")
        self.errors += [
            f"{operation_model.name} {code}: {e}"
            for e in shape_errors(json.loads(response_dict.get("body") or b"{}"), shape)
        ]
        self.checked.append(code)
