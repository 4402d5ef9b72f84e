"""Crash tests: an operator of its own on a control plane of its own, SIGKILLed at a seeded
random point and started again.

The shared session operator is cluster-wide on the session control plane, so a test that
kills operators brings both of its own. The kill point is drawn from the sandbox's call log:
"after the Nth call of operation X (on this resource), then a random delay", which lands in
the windows that matter (between an AWS write and the status that records it, while AWS is
still working, during clean-up) far more often than a delay after the triggering change.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes

from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox

Call = dict[str, Any]
CallFilter = Callable[[Call], bool]


def abandon(plane: controlplane.ControlPlane, namespace: str) -> None:
    """Take a test's objects out of the control plane without the operator (finalizers
    stripped, AWS objects left in the sandbox under their own names), so that every later
    operator start resumes only what later tests make. (A namespace's deletion would not do:
    without a controller manager nothing deletes its contents.)"""
    api = cluster.api_client(plane.kubeconfig(controlplane.ADMIN_USER))
    custom = kubernetes.client.CustomObjectsApi(api)
    for plural in ("trafficsplits", "edgemodels", "modelendpoints"):
        listed = custom.list_namespaced_custom_object(
            cluster.GROUP, cluster.VERSION, namespace, plural
        )
        for item in listed["items"]:
            name = item["metadata"]["name"]
            try:
                custom.patch_namespaced_custom_object(
                    cluster.GROUP,
                    cluster.VERSION,
                    namespace,
                    plural,
                    name,
                    {"metadata": {"finalizers": None}},
                )
                custom.delete_namespaced_custom_object(
                    cluster.GROUP, cluster.VERSION, namespace, plural, name
                )
            except kubernetes.client.ApiException as error:
                if error.status != 404:  # gone meanwhile
                    raise


def sigkill(process: OperatorProcess) -> None:
    """Kill the operator the way the kernel's OOM killer or a node loss would: no clean-up,
    no status written, no lease released."""
    process.process.send_signal(signal.SIGKILL)
    process.process.wait(timeout=20)


HOLD_MS = 400
"""How long the sandbox holds a write the operator is killed during (it is applied after the
operator is gone, before a new one could look: starting one takes longer)."""
READS = ("Describe", "List", "Get")


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: during or after the `occurrence`-th call of `operation` the scenario
    makes. `held`: while the sandbox holds that call, which it applies once the operator is
    gone (AWS did it, the operator never heard back); otherwise `delay` seconds after the
    call is seen (0: at once, usually before the operator wrote status)."""

    operation: str
    occurrence: int
    delay: float = 0.0
    held: bool = False

    def __str__(self) -> str:
        if self.held:
            return f"during {self.operation} #{self.occurrence} (applied after the kill)"
        return f"{self.delay:.2f}s after {self.operation} #{self.occurrence}"


def choose_kill_point(
    scenario: str, seed: int, candidates: Sequence[tuple[str, int]], *, max_delay: float
) -> KillPoint:
    """The kill point for one seed (counted from 1). Seeds take the scenario's (operation, how
    many calls of it are certain) candidates in turn, and the ways to kill in turn: while the
    sandbox holds the call (a read: at once instead), at once, after a random delay; so a few
    seeds cover the operations listed first. Which of those calls, and the delay, are drawn
    from a stream seeded by the scenario's name and the seed (hashed alike in every process).
    """
    operation, certain = candidates[(seed - 1) % len(candidates)]
    way = (seed - 1) % 3
    draw = random.Random(f"{scenario}:{seed}")
    occurrence = draw.randint(1, certain)
    delay = round(draw.uniform(0.0, max_delay), 3)
    if way == 0 and not operation.startswith(READS):
        return KillPoint(operation, occurrence, held=True)
    return KillPoint(operation, occurrence, delay if way == 2 else 0.0)


def count_calls(calls: Iterable[Call], operation: str, matches: CallFilter) -> int:
    return sum(1 for c in calls if c["operation"] == operation and matches(c))


@dataclass
class CrashingOperator:
    """The one operator process a crash test has at a time, on the test's own control plane;
    every start is a new process (as a restarted pod is) logging to its own file."""

    workdir: Path
    plane: controlplane.ControlPlane
    sandbox: Sandbox
    current: OperatorProcess | None = None
    kills: list[str] = field(default_factory=list)
    _starts: int = 0

    def running(self) -> OperatorProcess:
        """The current operator, started if there is none (or it died)."""
        if self.current is None or self.current.process.poll() is not None:
            self.start()
        assert self.current is not None
        return self.current

    def start(self) -> OperatorProcess:
        self._starts += 1
        self.current = operator_support.start(
            self.workdir / f"operator-{self._starts}",
            self.plane.kubeconfig(controlplane.OPERATOR_USER),
            self.sandbox.env,
        )
        return self.current

    def kill_at(self, point: KillPoint, matches: CallFilter, *, timeout: float = 60) -> None:
        """SIGKILL the operator at `point` (counting the calls since the last forget_calls
        that `matches` accepts) and start a new one."""
        running = self.running()

        def seen(calls: int) -> None:
            processes.wait_until(
                lambda: count_calls(self.sandbox.calls(), point.operation, matches) >= calls,
                timeout=timeout,
                interval=0.01,
                what=f"{point.operation} #{calls}, for the kill point ({point})",
                log=running.log,
            )

        if point.held:
            seen(point.occurrence - 1)
            self.sandbox.add_fault(
                operation=point.operation, errorCode=None, latencyMs=HOLD_MS, count=1
            )
            try:
                # The call may already have gone by (calls of one pass follow each other
                # closely): then this is a kill just after it.
                processes.wait_until(
                    lambda: (
                        not self.sandbox.pending_faults()
                        or count_calls(self.sandbox.calls(), point.operation, matches)
                        >= point.occurrence
                    ),
                    timeout=timeout,
                    interval=0.01,
                    what=f"{point.operation} #{point.occurrence} to reach the sandbox",
                    log=running.log,
                )
            finally:
                sigkill(running)
                self.sandbox.clear_faults()
        else:
            seen(point.occurrence)
            if point.delay:
                time.sleep(point.delay)  # the drawn kill point itself, not a wait for a condition
            sigkill(running)
        self.kills.append(str(point))
        self.start()

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None
