"""Fault injection: make chosen AWS operations throttle, fail or slow down on demand."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    service: str = "*"
    operation: str = "*"
    error_code: str | None = "ThrottlingException"
    http_status: int = 400
    message: str = "Rate exceeded"
    count: int = 1
    """How many matching calls fail; -1 for every call until cleared."""
    latency_ms: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        return cls(
            service=data.get("service", "*"),
            operation=data.get("operation", "*"),
            error_code=data.get("errorCode", "ThrottlingException"),
            http_status=int(data.get("httpStatus", 400)),
            message=data.get("message", "Rate exceeded"),
            count=int(data.get("count", 1)),
            latency_ms=int(data.get("latencyMs", 0)),
        )

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


class FaultTable:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, service: str, operation: str) -> Fault | None:
        """The first fault matching this call, used up by one."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, operation):
                    if fault.count > 0:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault
        return None
