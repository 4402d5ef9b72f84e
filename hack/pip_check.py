"""`pip check`, less one false alarm: wheels whose file name says `py3-none` but whose
WHEEL metadata still says the interpreter they were built on.

treelite and treelite-runtime 3.9.1 and xgboost 1.7.x publish
`*-py3-none-manylinux2014_x86_64.whl` files (their libraries are loaded with ctypes, so any
CPython 3 can use them) whose `.dist-info/WHEEL` lists `Tag: cp38-cp38-manylinux...`.
pip 23.2+ checks the installed WHEEL tags and reports "<name> <version> is not supported on
this platform" for them, although they import and run (tests/sandbox/test_edge_inference.py
compiles and runs a model with them). Every other complaint of `pip check` still fails.
"""

from __future__ import annotations

import re
import subprocess
import sys

RETAGGED = frozenset({"treelite", "treelite-runtime", "xgboost"})
_UNSUPPORTED = re.compile(r"^(\S+) \S+ is not supported on this platform$")


def main() -> int:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    problems = [
        line
        for line in lines
        if line != "No broken requirements found."
        and not ((m := _UNSUPPORTED.match(line)) and m.group(1).lower() in RETAGGED)
    ]
    for line in problems:
        print(line)
    if problems:
        return 1
    print("No broken requirements found (pip check; see hack/pip_check.py).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
