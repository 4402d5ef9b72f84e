"""Check every answer a boto3 client gets, success or error, against botocore's model of the
operation: whatever the protocol (JSON, REST-JSON, query, REST-XML), after botocore parsed it.

Success: the output shape's required members, types, enums, string and blob lengths, list
and map sizes, numeric ranges and patterns; for JSON bodies also members the shape does not
have (botocore's parser drops those, so the raw body is read before it parses).
Errors: the code is one the operation declares (`operation_model.error_shapes`) or one of
AWS's common errors, with the HTTP status the declared error shape gives; the members the
error shape requires are there.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel, Shape

# Errors any operation may answer without declaring them: the "Common Errors" of each
# service's API reference (e.g. https://docs.aws.amazon.com/sagemaker/latest/APIReference/
# CommonErrors.html, https://docs.aws.amazon.com/iot/latest/apireference/CommonErrors.html,
# https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html), with the class of
# HTTP status they come with. SageMaker's and Application Auto Scaling's ValidationError is
# sent as ValidationException by the JSON services; S3 and IAM say AccessDenied.
COMMON_ERRORS: dict[str, int] = {
    "AccessDenied": 4,
    "AccessDeniedException": 4,
    "IncompleteSignature": 4,
    "InternalFailure": 5,
    "InvalidAction": 4,
    "InvalidClientTokenId": 4,
    "NotAuthorized": 4,
    "OptInRequired": 4,
    "RequestExpired": 4,
    "ServiceUnavailable": 5,
    "ThrottlingException": 4,
    "Throttling": 4,
    "ValidationError": 4,
    "ValidationException": 4,
    "UnrecognizedClientException": 4,
}

# Java's POSIX classes (US-ASCII unless UNICODE_CHARACTER_CLASS), as botocore's patterns use them.
_POSIX = {
    "Upper": "A-Z",
    "Lower": "a-z",
    "Alpha": "A-Za-z",
    "Digit": "0-9",
    "Alnum": "A-Za-z0-9",
    "ASCII": "\\x00-\\x7f",
    "Print": "\\x20-\\x7e",
    "Graph": "\\x21-\\x7e",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "Space": " \\t\\n\\x0b\\f\\r",
    "Punct": "!-/:-@\\[-`{-~",
}


@functools.cache
def _category_ranges() -> dict[str, str]:
    """Unicode general categories (two letters) as character-class ranges, for \\p{..}."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    for point in range(sys.maxunicode + 1):
        spans = ranges.setdefault(unicodedata.category(chr(point)), [])
        if spans and spans[-1][1] == point - 1:
            spans[-1] = (spans[-1][0], point)
        else:
            spans.append((point, point))
    return {
        category: "".join(
            f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in spans
        )
        for category, spans in ranges.items()
    }


def _property(name: str) -> str:
    """The ranges of \\p{name}: a POSIX class or a (one- or two-letter) general category."""
    if name in _POSIX:
        return _POSIX[name]
    categories = _category_ranges()
    found = [ranges for category, ranges in categories.items() if category.startswith(name)]
    if not found or len(name) > 2:
        raise ValueError(f"unknown character property \\p{{{name}}}")
    return "".join(found)


_SURROGATE_PAIR_RANGE = "\\uD800\\uDC00-\\uDBFF\\uDFFF"


@functools.cache
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A botocore (Java) pattern as a Python regex: \\p{..} classes spelled out, a UTF-16
    surrogate-pair range as the code points it means. Matched whole (`fullmatch`), as the
    services validate."""
    text = pattern.replace(_SURROGATE_PAIR_RANGE, "\\U00010000-\\U0010ffff")
    # Java lets a quantifier follow `$` (e.g. `(...)*${1,128}`): it adds nothing.
    text = re.sub(r"\$\{\d+(,\d*)?\}", "$", text)
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            if text[i + 1] in "pP" and text[i + 2 : i + 3] == "{":
                end = text.index("}", i)
                ranges = _property(text[i + 3 : end])
                negate = text[i + 1] == "P"
                if in_class:
                    if negate:
                        raise ValueError(f"\\P inside a class is not supported: {pattern}")
                    out.append(ranges)
                else:
                    out.append(f"[{'^' if negate else ''}{ranges}]")
                i = end + 1
                continue
            out.append(text[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class and out and out[-1] not in ("[", "[^"):
            in_class = False
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _has_length(value: Any) -> bool:
    return isinstance(value, str | bytes | bytearray | list | dict)


def value_errors(value: Any, shape: Shape, path: str) -> list[str]:
    """Every way a parsed `value` breaks `shape` and its constraints."""
    meta = shape.metadata
    kind = shape.type_name
    if meta.get("document"):
        return []
    errors: list[str] = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected a structure, got {type(value).__name__}"]
        members = shape.members  # type: ignore[attr-defined]
        for name in shape.required_members:
            if name not in value:
                errors.append(f"{path}.{name}: required by {shape.name}, missing")
        for name, item in value.items():
            if name in members:
                errors += value_errors(item, members[name], f"{path}.{name}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        for index, item in enumerate(value):
            errors += value_errors(item, shape.member, f"{path}[{index}]")  # type: ignore[attr-defined]
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        for key, item in value.items():
            errors += value_errors(key, shape.key, f"{path} key {key!r}")  # type: ignore[attr-defined]
            errors += value_errors(item, shape.value, f"{path}[{key!r}]")  # type: ignore[attr-defined]
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {type(value).__name__} where a string is expected"]
        enum = meta.get("enum")
        if enum and value not in enum:
            errors.append(f"{path}: {value!r} is not one of {shape.name}'s values {enum}")
        pattern = meta.get("pattern")
        if pattern and not compile_pattern(pattern).fullmatch(value):
            errors.append(f"{path}: {value!r} does not match {shape.name}'s pattern {pattern}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: {type(value).__name__} where an {kind} is expected"]
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{path}: {type(value).__name__} where a {kind} is expected"]
    elif kind == "boolean":
        if not isinstance(value, bool):
            return [f"{path}: {type(value).__name__} where a boolean is expected"]
    elif kind == "timestamp":
        if not isinstance(value, datetime.datetime):
            return [f"{path}: {value!r} was not read as a timestamp"]
    elif kind == "blob" and not (isinstance(value, bytes | bytearray) or hasattr(value, "read")):
        return [f"{path}: {type(value).__name__} where a blob is expected"]
    errors += _range_errors(value, shape, path)
    return errors


def _range_errors(value: Any, shape: Shape, path: str) -> list[str]:
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    if low is None and high is None:
        return []
    if _has_length(value):
        size, what = len(value), "length"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        size, what = value, "value"
    else:
        return []
    if low is not None and size < low:
        return [f"{path}: {what} {size} is below {shape.name}'s min {low}"]
    if high is not None and size > high:
        return [f"{path}: {what} {size} is above {shape.name}'s max {high}"]
    return []


def _body_members(shape: Shape) -> dict[str, Shape] | None:
    """The members a JSON body may carry (None: the body is a payload, not the structure)."""
    if shape.serialization.get("payload"):
        return None
    return {
        name: member
        for name, member in shape.members.items()  # type: ignore[attr-defined]
        if not member.serialization.get("location")
    }


def unknown_members(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Members of a raw JSON answer that its shape does not have (at any depth)."""
    found: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            if key not in members:
                found.append(f"{path}.{key}: not a member of {shape.name}")
            else:
                found += unknown_members(item, members[key], f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            found += unknown_members(item, shape.member, f"{path}[{index}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            found += unknown_members(item, shape.value, f"{path}[{key!r}]")  # type: ignore[attr-defined]
    return found


def _declared_code(shape: Shape) -> str:
    code: str = shape.metadata.get("error", {}).get("code") or shape.name
    return code


@dataclass(frozen=True)
class Checked:
    service: str
    operation: str
    outcome: str
    """"ok", or the error code."""


@dataclass
class AnswerChecker:
    """Register it on clients with `watch`; it records each answer and what was wrong."""

    errors: list[str] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)

    def watch(self, client: Any) -> Any:
        events = client.meta.events
        service = client.meta.service_model.service_id.hyphenize()
        events.register(f"before-parse.{service}", self._raw, unique_id="answer-checker-raw")
        # First, on the service's own event: botocore's after-call handlers rewrite some
        # answers (after-call.iam decodes IAM's policy documents into dicts), and the answer
        # is checked as AWS sent it.
        events.register_first(
            f"after-call.{service}", self._parsed, unique_id="answer-checker-parsed"
        )
        return client

    def operations(self, outcome: str | None = None) -> set[tuple[str, str]]:
        return {
            (c.service, c.operation)
            for c in self.checked
            if outcome is None or (c.outcome == "ok") == (outcome == "ok")
        }

    def _raw(
        self, operation_model: OperationModel, response_dict: dict[str, Any], **_: Any
    ) -> None:
        """JSON bodies of successful answers: members their shape does not have."""
        protocol = operation_model.service_model.protocol
        body = response_dict.get("body") or b""
        shape = operation_model.output_shape
        if (
            protocol not in ("json", "rest-json")
            or response_dict.get("status_code", 500) >= 300
            or shape is None
            or not body
            or not isinstance(body, bytes)
        ):
            return
        members = _body_members(shape) if protocol == "rest-json" else shape.members  # type: ignore[attr-defined]
        if members is None:
            return
        try:
            parsed = json.loads(body)
        except ValueError:
            self.errors.append(f"{operation_model.name}: the answer is not JSON")
            return
        for key, item in parsed.items() if isinstance(parsed, dict) else ():
            if key not in members:
                self.errors.append(f"{operation_model.name}: $.{key}: not in {shape.name}")
            else:
                self.errors += [
                    f"{operation_model.name}: {e}"
                    for e in unknown_members(item, members[key], f"$.{key}")
                ]

    def _parsed(self, model: OperationModel, parsed: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        status = int(parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        error = parsed.get("Error")
        if error or status >= 300:
            code = str((error or {}).get("Code", ""))
            self.checked.append(Checked(service, model.name, code))
            self.errors += [
                f"{service}.{model.name} {code}: {e}" for e in error_errors(model, parsed)
            ]
            return
        self.checked.append(Checked(service, model.name, "ok"))
        shape = model.output_shape
        if shape is None:
            return
        answer = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        self.errors += [f"{service}.{model.name}: {e}" for e in value_errors(answer, shape, "$")]


def error_errors(model: OperationModel, parsed: dict[str, Any]) -> list[str]:
    """What is wrong with an error answer: its code, its HTTP status, its members."""
    error = parsed.get("Error") or {}
    code = str(error.get("Code", ""))
    status = int(parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    declared = {_declared_code(shape): shape for shape in model.error_shapes}
    declared.update({shape.name: shape for shape in model.error_shapes})
    if code in declared:
        shape = declared[code]
        problems: list[str] = []
        expected = shape.metadata.get("error", {}).get("httpStatusCode")
        if expected is not None and expected != status:
            problems.append(f"came with HTTP {status}, {shape.name} declares {expected}")
        for name in shape.required_members:
            missing = name not in parsed and not (
                name.lower() == "message" and error.get("Message")
            )
            if missing:
                problems.append(f"{name}: required by {shape.name}, missing")
        members = shape.members  # type: ignore[attr-defined]
        for name, value in parsed.items():
            if name in members and name not in ("Error", "ResponseMetadata"):
                problems += value_errors(value, members[name], f"$.{name}")
        return problems
    if model.http.get("method") == "HEAD" and code == str(status):
        # A HEAD answer has no body, so its error is only its status, which botocore makes
        # the code: "if the HEAD request generates an error, it returns a generic code, such
        # as 400 Bad Request, 403 Forbidden, 404 Not Found" (S3 API reference, HeadObject).
        return []
    if code in COMMON_ERRORS:
        if status // 100 != COMMON_ERRORS[code]:
            return [f"a common error that comes with a {COMMON_ERRORS[code]}xx, not {status}"]
        return []
    names = sorted(declared)
    return [f"{model.name} does not declare it (declares {names}), nor is it a common error"]


def every_output_pattern(models: Iterable[OperationModel]) -> set[str]:
    """The patterns of every shape the operations' answers can hold (to compile them all)."""
    patterns: set[str] = set()
    seen: set[str] = set()

    def walk(shape: Shape | None) -> None:
        if shape is None or shape.name in seen:
            return
        seen.add(shape.name)
        if shape.metadata.get("pattern"):
            patterns.add(shape.metadata["pattern"])
        if shape.type_name == "structure":
            for member in shape.members.values():  # type: ignore[attr-defined]
                walk(member)
        elif shape.type_name == "list":
            walk(shape.member)  # type: ignore[attr-defined]
        elif shape.type_name == "map":
            walk(shape.key)  # type: ignore[attr-defined]
            walk(shape.value)  # type: ignore[attr-defined]

    for model in models:
        walk(model.output_shape)
        for error_shape in model.error_shapes:
            walk(error_shape)
    return patterns
