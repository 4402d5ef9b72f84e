"""Scale: the operator's memory (RSS) and CPU at rest as the cluster grows.

The cluster is filled with ModelEndpoints (two variants each, real endpoints in the
sandbox) up to each checkpoint (1,000, 3,000, 5,000); at each, once the operator is at rest
(every object Ready, no AWS call for a while, and the connections the burst opened to the
apiserver closed again), its RSS (VmRSS) and its CPU use over a WINDOW-second window are
read from /proc. The peak of the burst (VmHWM) is printed too: what a memory limit must
cover. Goals: <= 100 MiB with no resources (read once
the operator has finished starting), <= 200 MiB at 1,000 resources, and <= 80 MiB per 1,000
resources after that (from 1,000 to 3,000 and from 3,000 to 5,000). Prints figures; asserts
nothing.

Filling the cluster is a set-up, not the measurement: it lifts every rate limit (the
operator's client-side one too, so the operator measured is the one that created them, as
in production) and shortens SageMaker's lifecycles to half a second; the time it took is
printed. The operator runs with its default poll (15 s) and resync (600 s) intervals, so at
rest its timers tick as in production; a window shorter than the resync interval sees no
resyncs (the per-kind steady-state benchmark, bench_steady.py, counts those calls).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
import urllib.parse
import urllib.request
from pathlib import Path

import harness

MIB = 1024 * 1024
GOAL_MIB_AT_1000 = 200.0
GOAL_MIB_EMPTY = 100.0
GOAL_MIB_PER_1000_AFTER = 80.0
EMPTY_QUIET_SECONDS = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def _status_bytes(pid: int, field: str) -> int:
    """A memory field of /proc/PID/status (given there in kB), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for process {pid}")


def rss_bytes(pid: int) -> int:
    """The process's resident memory now (VmRSS)."""
    return _status_bytes(pid, "VmRSS")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process so far."""
    # The command name (field 2) may hold spaces; the fields after it are fixed.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_bytes(pid: int) -> int:
    """The process's highest RSS so far (VmHWM)."""
    return _status_bytes(pid, "VmHWM")


def connections_to(pid: int, port: int) -> int:
    """The process's established TCP connections to `port` (the apiserver's), from /proc:
    its socket inodes (/proc/PID/fd), found in its network namespace's TCP tables."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed since listed
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    established = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01" and fields[9] in inodes:
                established += 1
    return established


def connections_closed(pid: int, port: int, at_most: int, timeout: float) -> tuple[float, int]:
    """Wait until the process has at most `at_most` connections to `port` (what it keeps with
    no work: its watch streams, a request or two); seconds waited and the count then.

    kopf opens a connection to the apiserver per request in flight (no pool limit), hundreds
    in a burst of creates, and they stay open while its trailing patches and Events reuse
    them (aiohttp takes the oldest idle one first); when that traffic ends they expire
    together and give back 30-70 MiB (bench/README.md, "The burst of creates"). Read before
    that, the figure is the burst's, not the operator's at rest."""
    started = time.monotonic()
    count = connections_to(pid, port)
    while count > at_most and time.monotonic() - started < timeout:
        time.sleep(2)
        count = connections_to(pid, port)
    return time.monotonic() - started, count


def settle(bench: harness.Stack, quiet_seconds: float, timeout: float) -> float:
    """Wait until the sandbox has seen no AWS call for `quiet_seconds`; seconds waited."""
    started = time.monotonic()
    bench.box.forget_calls()
    quiet_since = time.monotonic()
    while time.monotonic() - started < timeout:
        time.sleep(1)
        if bench.box.calls():
            bench.box.forget_calls()
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            break
    return time.monotonic() - started


def probes(operator: harness.operator_support.OperatorProcess) -> dict[str, object]:
    """The operator's liveness endpoint: kopf's probe results, by probe id."""
    with urllib.request.urlopen(operator.liveness_url, timeout=5) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def at_rest_when_empty(operator: harness.operator_support.OperatorProcess, quiet: float) -> None:
    """Wait until the operator has done what it does at start (AWS answered its identity
    check, on a thread of its own), then `quiet` seconds more."""
    deadline = time.monotonic() + 60
    while probes(operator).get("awsReachable") is not True:
        if time.monotonic() > deadline:
            raise TimeoutError("the operator's awsReachable probe never turned true")
        time.sleep(0.5)
    time.sleep(quiet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count",
        type=int,
        nargs="+",
        default=[1000, 3000, 5000],
        help="the checkpoints, in resources",
    )
    parser.add_argument("--window", type=float, default=60.0, help="seconds of CPU measured")
    parser.add_argument("--quick", action="store_true", help="100 and 300 resources, 15 s")
    parser.add_argument(
        "--checkout",
        action="store_true",
        help="run the checkout's operator (its virtualenv loads test dependencies, ~20 MiB)"
        " instead of one installed as the image installs it",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.count, args.window = [100, 300], 15.0
    checkpoints = sorted(args.count)

    harness.banner(f"scale: operator at rest with {', '.join(f'{c:,}' for c in checkpoints)}")
    rows: list[dict[str, float]] = []
    with harness.stack() as bench:
        operator = bench.start_operator(
            calls_per_second=harness.SETUP_CALLS_PER_SECOND,
            burst=harness.SETUP_BURST,
            image=not args.checkout,
        )
        pid = operator.process.pid
        at_rest_when_empty(operator, quiet=EMPTY_QUIET_SECONDS)
        empty_rss = rss_bytes(pid) / MIB
        apiserver_port = urllib.parse.urlsplit(bench.plane.url).port or 443
        idle_connections = connections_to(pid, apiserver_port)
        print(
            f"   no resources: RSS {empty_rss:,.1f} MiB"
            f" ({EMPTY_QUIET_SECONDS:.0f} s after AWS answered its start-up check;"
            f" {idle_connections} connections to the apiserver)",
            flush=True,
        )
        have = 0
        for target in checkpoints:
            setup = harness.populate(bench, target - have, prefix=f"me{target}")
            have = target
            waited = settle(bench, quiet_seconds=20, timeout=180)
            peak = peak_rss_bytes(pid) / MIB
            # At rest: the burst's connections closed (a request or two in flight allowed).
            closing, left_open = connections_closed(
                pid, apiserver_port, at_most=idle_connections + 2, timeout=600
            )
            calls_before = len(bench.box.calls())
            writes_before = harness.apiserver_writes(bench.plane)
            cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
            time.sleep(args.window)
            cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
            calls = len(bench.box.calls()) - calls_before
            writes = harness.apiserver_writes(bench.plane) - writes_before
            rss = rss_bytes(pid) / MIB
            rows.append(
                {
                    "resources": target,
                    "rssMiB": rss,
                    "peakRssMiB": peak,
                    "cpuPercent": cpu * 100,
                    "setup": setup,
                    "apiserverConnections": left_open,
                    "awsCallsAtRest": calls,
                    "apiserverWritesAtRest": writes,
                }
            )
            print(
                f"   {target:>6,} resources: RSS {rss:,.1f} MiB, CPU {cpu * 100:.1f}% of a core"
                f" over {args.window:.0f} s at rest ({calls} AWS calls and {writes} writes to"
                f" ModelEndpoints in it); peak so far"
                f" {peak:,.1f} MiB; set-up {setup:,.0f} s, settled in {waited:.0f} s, the"
                f" burst's apiserver connections closed {closing:.0f} s later ({left_open}"
                f" open, {idle_connections} with no work)",
                flush=True,
            )

    print(
        "   "
        + harness.goal_line(
            "RSS with no resources", empty_rss, GOAL_MIB_EMPTY, " MiB", lower_is_better=True
        )
    )
    for before, after in itertools.pairwise(rows):
        per_thousand = (
            (after["rssMiB"] - before["rssMiB"]) / (after["resources"] - before["resources"]) * 1000
        )
        label = f"growth {before['resources']:,.0f} -> {after['resources']:,.0f}"
        print(f"   {label}: {per_thousand * 1024 / 1000:,.1f} KiB per resource")
        if before["resources"] >= 1000:
            print(
                "   "
                + harness.goal_line(
                    label + ", per 1,000",
                    per_thousand,
                    GOAL_MIB_PER_1000_AFTER,
                    " MiB",
                    lower_is_better=True,
                )
            )
        else:
            print(f"   {label}: {per_thousand:,.1f} MiB per 1,000 resources")
    at_1000 = next((r for r in rows if r["resources"] == 1000), None)
    if at_1000 is not None:
        print(
            "   "
            + harness.goal_line(
                "RSS at 1,000", at_1000["rssMiB"], GOAL_MIB_AT_1000, " MiB", lower_is_better=True
            )
        )
    harness.write_json(
        args.json, {"emptyRssMiB": empty_rss, "checkpoints": rows, "machine": harness.machine()}
    )


if __name__ == "__main__":
    main()
