"""Kubernetes label selectors as kubectl's `-l` takes them, parsed once into a predicate.

`serving-operator run --selector` shards the operator: each install handles only the
resources whose labels match. The grammar is the one of Kubernetes' labels.Parse that
kubectl accepts, minus the numeric `<`/`>` comparisons (no Kubernetes API selector has
them): comma-separated requirements, all of which must hold:

    key=value  key==value  key!=value  key in (v1,v2)  key notin (v1,v2)  key  !key

As in Kubernetes, `!=` and `notin` also match an object without the label. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
_KEY = re.compile(rf"(?:{_PREFIX}/)?{_NAME}")
_VALUE = re.compile(rf"(?:{_NAME})?")
_SET = re.compile(r"^(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQUALITY = re.compile(r"^(?P<key>[^\s!=(),]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s!=(),]*)$")
_EXISTS = re.compile(r"^(?P<bang>!?)\s*(?P<key>[^\s!=(),]+)$")


class SelectorError(ValueError):
    """The selector does not parse; the message says which part and why."""


class Operator(StrEnum):
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        match self.operator:
            case Operator.IN:
                return present and labels[self.key] in self.values
            case Operator.NOT_IN:
                return not present or labels[self.key] not in self.values
            case Operator.EXISTS:
                return present
            case Operator.DOES_NOT_EXIST:
                return not present
            case _:
                assert_never(self.operator)

    def __str__(self) -> str:
        match self.operator:
            case Operator.EXISTS:
                return self.key
            case Operator.DOES_NOT_EXIST:
                return f"!{self.key}"
            case _:
                return f"{self.key} {self.operator.value} ({','.join(sorted(self.values))})"


@dataclass(frozen=True)
class LabelSelector:
    """All requirements must hold; no requirements: every object matches (no sharding)."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        found = labels or {}
        return all(r.matches(found) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    @property
    def canonical(self) -> str:
        """One spelling per meaning: `shard=a` and `shard in (a)` read the same."""
        return ",".join(sorted(str(r) for r in self.requirements))

    def fingerprint(self) -> str:
        """A short, stable name for this selector, e.g. for a finalizer of its own."""
        return hashlib.sha256(self.canonical.encode()).hexdigest()[:10]

    def __str__(self) -> str:
        return self.canonical


def _split_requirements(text: str) -> list[str]:
    """Commas separate requirements, except inside a set's parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
            if depth > 1:
                raise SelectorError("nested parentheses")
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError("')' without '('")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise SelectorError("'(' without ')'")
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _key(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    if not _KEY.fullmatch(key) or len(name) > 63 or len(key) - len(name) > 254:
        raise SelectorError(
            f"{key!r} is not a label key (an optional DNS prefix and '/', then up to 63"
            " letters, digits, '-', '_' or '.', starting and ending alphanumeric)"
        )
    return key


def _value(value: str) -> str:
    if not _VALUE.fullmatch(value):
        raise SelectorError(
            f"{value!r} is not a label value (up to 63 letters, digits, '-', '_' or '.',"
            " starting and ending alphanumeric)"
        )
    return value


def _requirement(text: str) -> Requirement:
    if not text:
        raise SelectorError("an empty requirement (two commas, or one at an end)")
    if found := _SET.match(text):
        values = [v.strip() for v in found["values"].split(",")]
        if values == [""]:
            raise SelectorError(f"{text!r}: '{found['op']}' needs at least one value")
        operator = Operator.IN if found["op"] == "in" else Operator.NOT_IN
        return Requirement(_key(found["key"]), operator, frozenset(_value(v) for v in values))
    if found := _EQUALITY.match(text):
        operator = Operator.NOT_IN if found["op"] == "!=" else Operator.IN
        return Requirement(_key(found["key"]), operator, frozenset({_value(found["value"])}))
    if found := _EXISTS.match(text):
        operator = Operator.DOES_NOT_EXIST if found["bang"] else Operator.EXISTS
        return Requirement(_key(found["key"]), operator)
    raise SelectorError(
        f"cannot read {text!r}: use key=value, key!=value, key in (a,b), key notin (a,b),"
        " key or !key"
    )


def parse_selector(text: str) -> LabelSelector:
    """Parse a selector as kubectl -l takes it; raise SelectorError naming the bad part."""
    if not text.strip():
        return LabelSelector()
    return LabelSelector(tuple(_requirement(part) for part in _split_requirements(text)))
