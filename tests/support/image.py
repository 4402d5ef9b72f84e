"""The Dockerfile's install, repeated without a Docker engine: the runtime lock with its
hashes, then the package from a build context without an index or build isolation, so the
only distributions in the environment are those lock/runtime.txt names."""

from __future__ import annotations

import subprocess
from pathlib import Path

RUNTIME_LOCK = Path("lock") / "runtime.txt"


def install_as_the_image_does(python: Path, context: Path) -> None:
    """Install `context` (a checkout or a build context) into the virtualenv of `python`."""
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "--require-hashes", "--no-deps", "-r", str(context / RUNTIME_LOCK)],
        check=True,
        timeout=600,
    )
    subprocess.run(
        [*pip, "--no-index", "--no-deps", "--no-build-isolation", str(context)],
        check=True,
        timeout=600,
    )
    subprocess.run([str(python), "-m", "pip", "check"], check=True, timeout=120)
