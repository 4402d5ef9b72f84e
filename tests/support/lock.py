"""Reading the project's lock files (lock/all.txt, lock/runtime.txt): their pins, and which
lock the running environment was installed from."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

from tests.support.paths import ROOT

ALL = ROOT / "lock" / "all.txt"
RUNTIME = ROOT / "lock" / "runtime.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies_here(self) -> bool:
        return self.marker is None or self.marker.evaluate()


def entries(path: Path) -> list[Pin]:
    """Every `name==version [; marker]` entry of a lock file with its hashes. The lock is
    universal: a distribution may appear once per Python version range."""
    found: list[Pin] = []
    for line in path.read_text().splitlines():
        if match := _PIN.match(line):
            name, version, marker = match.groups()
            found.append(
                Pin(canonicalize_name(name), version, Marker(marker) if marker else None, ())
            )
        elif found and (hash_ := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            last = found[-1]
            found[-1] = Pin(last.name, last.version, last.marker, (*last.hashes, hash_.group(1)))
    return found


def pins(path: Path) -> dict[str, Pin]:
    """canonical name -> the entry that applies to the Python running this test."""
    return {pin.name: pin for pin in entries(path) if pin.applies_here()}


def installed_from() -> Path:
    """The lock this environment was installed from: lock/all.txt, or the fresh resolution
    `make test-latest` installs (it says which through SERVING_OPERATOR_LOCKFILE)."""
    lock = Path(os.environ.get("SERVING_OPERATOR_LOCKFILE", ALL))
    return lock if lock.is_absolute() else ROOT / lock
