"""`serving-operator run` gives back the memory of a burst of apiserver connections.

Each TLS connection asyncio opens holds a 256 KiB read buffer; kopf opens one connection per
concurrent request. Once a burst is over, the operator's RSS should fall back, even with
smaller allocations made meanwhile that outlive the buffers (as the objects' own do).
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

BURST = """
import sys
from serving_operator.cli.run import return_freed_buffers_to_the_os

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

if sys.argv[1] == "operator":
    assert return_freed_buffers_to_the_os()
# glibc raises its mmap threshold past a freed buffer's size (unless told not to).
first = bytearray(256 * 1024)
del first
before = rss_mib()
buffers, kept = [], []
for _ in range(400):  # 100 MiB: a burst of 400 connections' read buffers
    buffers.append(bytearray(256 * 1024))
    # Kept, and on the heap between them. 16 KiB rather than a few: smaller ones may all fit
    # in holes start-up left lower in the heap (how many depends on the hash seed), and then
    # nothing above the buffers stops glibc trimming them, with or without the setting.
    kept.append(bytes(16 * 1024))
del buffers
print(rss_mib() - before)
"""

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the setting is glibc's",
)


def retained_mib(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", BURST, mode], capture_output=True, text=True, check=True
    )
    return int(result.stdout)


def test_the_operator_returns_a_burst_of_connection_buffers_to_the_os() -> None:
    assert retained_mib("operator") < 20


def test_without_it_glibc_keeps_them() -> None:
    """The case the setting is for: the same process without it keeps ~100 MiB."""
    assert retained_mib("default") > 80
