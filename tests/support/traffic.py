"""Steady InvokeEndpoint traffic through the sandbox, for canaries to judge."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.loadgen import generate_load
from tests.support.sandbox import Sandbox


class Traffic:
    """InvokeEndpoint calls at a steady rate from a background thread, until stopped."""

    def __init__(self, sandbox: Sandbox, endpoint: str, rps: float) -> None:
        self.runtime = SageMakerRuntime(
            sandbox.client("sagemaker-runtime"), TokenBucket(10_000, 10_000)
        )
        self.endpoint, self.rps = endpoint, rps
        self.stopped = threading.Event()
        self.answered: Counter[str] = Counter()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.is_set():
            summary = generate_load(self.runtime, self.endpoint, self.rps, 1.0, body=b"[1, 2]")
            self.answered.update(summary.by_variant)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
