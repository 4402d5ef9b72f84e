"""Waits shared by the end-to-end tests (spec builders are in tests/support/specs.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support import cluster, processes
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox


def wait_for_status(
    objects: cluster.Objects,
    namespace: str,
    name: str,
    operator: OperatorProcess,
    holds: Callable[[dict[str, Any]], bool],
    what: str,
    *,
    timeout: float = 60,
) -> dict[str, Any]:
    """Wait until the operator has observed the current generation and `holds(obj)`."""
    found: list[dict[str, Any]] = []

    def check() -> bool:
        obj = objects.get(namespace, name)
        if obj is not None and cluster.current_generation_observed(obj) and holds(obj):
            found.append(obj)
            return True
        return False

    processes.wait_until(
        check,
        timeout=timeout,
        interval=0.25,
        what=lambda: (
            f"{what} on {namespace}/{name}: at the deadline {objects.get(namespace, name)}"
        ),
        log=operator.log,
    )
    return found[-1]


def wait_for_condition(
    objects: cluster.Objects,
    namespace: str,
    name: str,
    type_: str,
    operator: OperatorProcess,
    *,
    timeout: float = 60,
    also: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """Wait until `type_` is True for the current generation, as `kubectl wait` would,
    and `also(obj)` holds."""
    return wait_for_status(
        objects,
        namespace,
        name,
        operator,
        lambda obj: cluster.is_true(obj, type_) and also(obj),
        f"{type_}=True",
        timeout=timeout,
    )


def wait_gone(
    objects: cluster.Objects,
    namespace: str,
    name: str,
    operator: OperatorProcess,
    *,
    timeout: float = 60,
) -> None:
    processes.wait_until(
        lambda: objects.get(namespace, name) is None,
        timeout=timeout,
        interval=0.25,
        what=f"{namespace}/{name} to be deleted",
        log=operator.log,
    )


def wait_for_resyncs(
    sandbox: Sandbox, endpoint_name: str, operator: OperatorProcess, *, passes: int = 2
) -> None:
    """Wait until the operator has looked at the endpoint `passes` more times (each pass
    begins with a DescribeEndpoint), counted from the sandbox's call log since the last
    `forget_calls`: what it did meanwhile is then in the log."""

    def described() -> int:
        return sum(
            1
            for c in sandbox.calls()
            if c.get("target") == endpoint_name and c["operation"] == "DescribeEndpoint"
        )

    processes.wait_until(
        lambda: described() >= passes,
        timeout=60,
        interval=0.25,
        what=f"{passes} passes of the operator over endpoint {endpoint_name}",
        log=operator.log,
    )


def wait_for_events(
    objects: cluster.Objects,
    namespace: str,
    name: str,
    operator: OperatorProcess,
    holds: Callable[[list[Any]], bool],
    what: str,
    *,
    timeout: float = 30,
) -> list[Any]:
    """The object's Events once `holds(events)`. kopf posts Events from a queue of its own,
    after the pass that made them: they may reach the API server after the status or the
    AWS change a test waited for, the more so on a busy machine."""
    seen: list[list[Any]] = [[]]

    def check() -> bool:
        seen[0] = objects.events(namespace, name)
        return holds(seen[0])

    processes.wait_until(
        check,
        timeout=timeout,
        interval=0.25,
        what=lambda: (
            f"Events {what} on {namespace}/{name}: at the deadline"
            f" {[(e.type, e.reason, e.message) for e in seen[0]]}"
        ),
        log=operator.log,
    )
    return seen[0]
