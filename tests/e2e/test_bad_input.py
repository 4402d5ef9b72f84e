"""A corpus of malformed manifests (tests/e2e/bad_input/*.yaml): each is rejected at admission
with a message that says what is wrong, or admitted and then Stalled with a reason, a message
and a Warning event. The operator survives all of them: alive, and no traceback in its log.

Each file's comment header says what to expect:

    # <what is wrong, for a person>
    # expect: rejected | stalled
    # reason: <the Stalled condition's reason>          (stalled only)
    # message: <a substring of the apiserver's or the Stalled condition's message>
    # inflate: <dotted.path> <characters>                (optional: a string that long)
    # repeat: <dotted.path> <items>                      (optional: item 0 that many times)

A file may hold several documents: all but the last are set up first (and must become Ready
or at least be admitted), the last is the case.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes.client.rest import ApiException

from tests.e2e.helpers import wait_for_condition, wait_for_events
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import FAST_EDGE, Sandbox

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).parent / "bad_input"
PLURALS = {
    "ModelEndpoint": "modelendpoints",
    "TrafficSplit": "trafficsplits",
    "EdgeModel": "edgemodels",
    "InferenceComponent": "inferencecomponents",
}
# What the stalled cases refer to in the sandbox: artifacts, a trained model, a thing group.
BUCKET = "bad-input-models"
THING_GROUP = "bad-input-canary"
_HEADER = re.compile(r"^# (expect|reason|message|inflate|repeat): ?(.*)$")


@dataclass(frozen=True)
class Case:
    name: str
    why: str
    expect: str
    reason: str
    message: str
    setup: tuple[dict[str, Any], ...]
    body: dict[str, Any]


def _grow(body: dict[str, Any], directive: str, make: str) -> None:
    """Make the value at a dotted path huge: a long string (inflate) or a long list (repeat)."""
    path, size = directive.rsplit(" ", 1)
    *parents, leaf = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(leaf) if isinstance(node, list) else leaf
    if make == "inflate":
        node[key] = "x" * int(size)
        return
    first = node[key][0]
    node[key] = [
        {**copy.deepcopy(first), "name": f"{first['name']}{i}"}
        if isinstance(first, dict) and "name" in first
        else copy.deepcopy(first)
        for i in range(int(size))
    ]


def load_case(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    header = {m.group(1): m.group(2) for m in map(_HEADER.match, lines) if m}
    *setup, body = [d for d in yaml.safe_load_all(text) if d is not None]
    for directive in ("inflate", "repeat"):
        if directive in header:
            _grow(body, header[directive], directive)
    assert header["expect"] in ("rejected", "stalled"), path
    assert header.get("message"), f"{path} names no message to expect"
    assert header["expect"] == "rejected" or header.get("reason"), f"{path} names no reason"
    return Case(
        name=path.stem,
        why=lines[0].removeprefix("# "),
        expect=header["expect"],
        reason=header.get("reason", ""),
        message=header["message"],
        setup=tuple(setup),
        body=body,
    )


CASES = {path.stem: load_case(path) for path in sorted(CORPUS.glob("*.yaml"))}


def test_the_corpus_covers_every_kind_and_both_outcomes() -> None:
    kinds = {(case.body["kind"], case.expect) for case in CASES.values()}
    assert {(kind, "rejected") for kind in PLURALS} <= kinds
    assert {(kind, "stalled") for kind in PLURALS} <= kinds
    assert len(CASES) >= 40


@pytest.fixture(scope="module")
def operator_log_start(operator: OperatorProcess) -> int:
    """Where the operator's log stood before the corpus: only what follows is checked."""
    return operator.log.stat().st_size


@pytest.fixture(scope="module")
def world(sandbox: Sandbox) -> Iterator[None]:
    """What the stalled cases need to exist (so each fails only for its own reason), and
    short edge lifecycles."""
    s3 = sandbox.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="xgboost/v1/model.tar.gz", Body=b"model")
    s3.put_object(Bucket=BUCKET, Key="classifier/model.tar.gz", Body=b"trained model")
    iot = sandbox.client("iot")
    with contextlib.suppress(iot.exceptions.ResourceAlreadyExistsException):
        iot.create_thing_group(thingGroupName=THING_GROUP)
    before = sandbox._admin("GET", "settings")
    sandbox.settings(**FAST_EDGE)
    yield
    sandbox.settings(**before)


def _objects(admin_api: kubernetes.client.ApiClient, body: dict[str, Any]) -> cluster.Objects:
    return cluster.Objects(admin_api, PLURALS[body["kind"]])


def _message(error: ApiException) -> str:
    """What `kubectl apply` prints: the Status message (a 413 comes as plain text)."""
    try:
        return str(json.loads(error.body or "")["message"])
    except (TypeError, ValueError, KeyError):
        return str(error.body)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_rejected_or_stalled(
    name: str,
    namespace: str,
    admin_api: kubernetes.client.ApiClient,
    operator: OperatorProcess,
    operator_log_start: int,
    world: None,
) -> None:
    case = CASES[name]
    for prerequisite in case.setup:
        objects = _objects(admin_api, prerequisite)
        objects.create(namespace, prerequisite)
        wait_for_condition(
            objects, namespace, prerequisite["metadata"]["name"], "Ready", operator, timeout=90
        )
    objects = _objects(admin_api, case.body)

    if case.expect == "rejected":
        with pytest.raises(ApiException) as rejected:
            objects.create(namespace, case.body)
        assert rejected.value.status in (413, 422), rejected.value.body
        message = _message(rejected.value)
        assert case.message in message, f"{case.why}: {message}"
        return

    objects.create(namespace, case.body)
    name_ = case.body["metadata"]["name"]
    stalled = wait_for_condition(objects, namespace, name_, "Stalled", operator, timeout=90)
    condition = cluster.condition(stalled, "Stalled")
    assert condition is not None
    assert condition["reason"] == case.reason, condition
    assert case.message in condition["message"], f"{case.why}: {condition}"
    assert cluster.condition(stalled, "Ready")["status"] == "False"  # type: ignore[index]
    wait_for_events(
        objects,
        namespace,
        name_,
        operator,
        lambda events: any(
            e.type == "Warning" and e.reason == condition["reason"] and case.message in e.message
            for e in events
        ),
        f"a Warning for {condition}",
    )


def test_the_operator_survived_the_corpus(
    operator: OperatorProcess, operator_log_start: int
) -> None:
    """Runs after the corpus (pytest keeps the file's order): still alive, no crash logged."""
    assert operator.alive()
    with operator.log.open(encoding="utf-8", errors="replace") as log:
        log.seek(operator_log_start)
        written = log.read()
    assert "Traceback" not in written, written[written.find("Traceback") - 2000 :][:6000]
    assert "Unhandled" not in written
