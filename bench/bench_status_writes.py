"""Status writes at rest: the operator's requests to the apiserver per resource per pass.

A resource at rest is polled and resynced for ever; a pass that finds nothing new has
nothing to write, and each write it made anyway would be a request per resource per
resync (at 5,000 resources and the default 600 s resync, ~8 a second, and a burst of them
when resources created together come due together). COUNT ModelEndpoints are created and
brought to Ready; then, with the operator polling every second and resyncing every RESYNC
seconds, the apiserver's own request counter (`apiserver_request_total`) counts the writes
to ModelEndpoints over a WINDOW-second window, and the sandbox the AWS calls (each pass
reads its endpoint once: the passes that ran). Goal: 0 writes. Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import harness

COUNT = 100
RESYNC_SECONDS = 5.0
WINDOW_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    harness.banner(
        f"status writes at rest: {args.count} ModelEndpoints, resync every {RESYNC_SECONDS:g} s"
    )
    with harness.stack() as bench:
        bench.start_operator(
            calls_per_second=harness.SETUP_CALLS_PER_SECOND,
            burst=harness.SETUP_BURST,
            poll_seconds=1.0,
            resync_seconds=RESYNC_SECONDS,
        )
        harness.populate(bench, args.count)
        time.sleep(2 * RESYNC_SECONDS)  # the passes that finish the creations are done
        calls_before = len(bench.box.calls())
        writes_before = harness.apiserver_writes(bench.plane)
        time.sleep(WINDOW_SECONDS)
        writes = harness.apiserver_writes(bench.plane) - writes_before
        passes = len(bench.box.calls()) - calls_before

    print(
        f"   {WINDOW_SECONDS:.0f} s at rest: {passes} AWS calls (passes), {writes} writes to"
        " ModelEndpoints"
    )
    per_pass = writes / max(passes, 1)
    verdict = "met" if writes == 0 else "MISSED"
    print(f"   writes per pass at rest: {per_pass:.3f} (goal 0): {verdict}")
    harness.write_json(
        args.json,
        {"count": args.count, "passes": passes, "writes": writes, "machine": harness.machine()},
    )


if __name__ == "__main__":
    main()
