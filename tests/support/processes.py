"""Starting and stopping the helper processes tests need (never left running)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(
    args: list[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    *,
    detach: bool = False,
) -> subprocess.Popen[bytes]:
    """Start a process whose output goes to `log`; `detach` lets it outlive its parent."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=detach,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str | Callable[[], str],
    interval: float = 0.1,
    log: Path | None = None,
) -> None:
    """Poll `check` until it holds; fail with `what` (and the log's tail) at the deadline.

    `what` may be a function: it is called at the deadline, so the message can say what
    was seen then (an object's status), not what was there when the wait began."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    tail = ""
    if log is not None and log.exists():
        tail = "\n--- " + str(log) + " ---\n" + "\n".join(log.read_text().splitlines()[-40:])
    described = what() if callable(what) else what
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {described}{tail}")
