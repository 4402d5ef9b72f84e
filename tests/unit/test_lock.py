"""One lock for every Python dependency (lock/all.txt), and the image's cut of it.

The lock is what makes a fresh machine green tomorrow as it is today: these tests fail when
pyproject.toml and the lock disagree, when code imports a distribution the lock does not
name, or when the environment running the tests holds anything the lock did not put there.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.lock import ALL, RUNTIME, entries, installed_from, pins
from tests.support.paths import ROOT

SCANNED = ("operator", "tests", "bench", "hack")
FIRST_PARTY = {"serving_operator", "tests", "bench", "hack"}


def declared() -> list[Requirement]:
    """Every requirement pyproject.toml declares, runtime and every extra's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines: list[str] = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_every_locked_entry_is_pinned_with_hashes() -> None:
    for path in (ALL, RUNTIME):
        pinned = entries(path)
        assert len(pinned) > 30, f"{path.name} parsed to {len(pinned)} entries"
        unhashed = [pin.name for pin in pinned if not pin.hashes]
        assert not unhashed, f"{path.name}: no --hash for {unhashed}; run `make lock`"


def test_pyprojects_ranges_admit_the_locked_versions() -> None:
    locked: dict[str, list[str]] = {}
    for pin in entries(ALL):
        locked.setdefault(pin.name, []).append(pin.version)
    problems = []
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name == "serving-operator":
            continue  # the dev extra's reference to the sandbox and plot extras
        if name not in locked:
            problems.append(f"{requirement} is declared but not in lock/all.txt")
        for version in locked.get(name, []):
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{requirement} does not admit the locked {name}=={version}")
    assert not problems, "; ".join(problems) + ": run `make lock`"


def test_the_runtime_lock_is_the_same_resolution_cut_down() -> None:
    """The image installs lock/runtime.txt: each of its pins must be all.txt's, hashes too,
    so the image runs exactly the versions the suite ran."""
    everything = {(pin.name, pin.version): pin for pin in entries(ALL)}
    for pin in entries(RUNTIME):
        same = everything.get((pin.name, pin.version))
        assert same is not None, f"runtime.txt pins {pin.name}=={pin.version}, all.txt does not"
        assert set(pin.hashes) == set(same.hashes), f"{pin.name}: hashes differ"
    runtime_names = {pin.name for pin in entries(RUNTIME)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        assert canonicalize_name(Requirement(line).name) in runtime_names, line
    assert "moto" not in runtime_names, "the image must not need the sandbox"


def python_files() -> Iterator[Path]:
    for folder in SCANNED:
        yield from (ROOT / folder).rglob("*.py")


def imported_top_level_modules(path: Path) -> set[str]:
    """The top-level names of every absolute import in the file, wherever it sits (function
    bodies, try blocks, TYPE_CHECKING)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def local_modules(path: Path) -> set[str]:
    """Scripts import their neighbours by plain name (bench/ runs as a folder of scripts)."""
    return {p.stem for p in path.parent.glob("*.py")} | {
        p.name for p in path.parent.iterdir() if p.is_dir()
    }


@cache
def distributions_of_modules() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def test_every_imported_distribution_is_in_the_lock() -> None:
    locked = set(pins(ALL))
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    problems: dict[str, str] = {}
    for path in python_files():
        third_party = imported_top_level_modules(path) - stdlib - FIRST_PARTY - local_modules(path)
        for module in sorted(third_party):
            distributions = distributions_of_modules().get(module)
            if not distributions:
                problems[module] = f"imported by {path.relative_to(ROOT)}, installed by nothing"
            elif not {canonicalize_name(d) for d in distributions} & locked:
                problems[module] = (
                    f"imported by {path.relative_to(ROOT)} from {distributions}, "
                    "which lock/all.txt does not name"
                )
    assert not problems, problems


def test_the_scan_sees_third_party_imports() -> None:
    """The import scan above finds something to check, so it cannot pass by seeing nothing."""
    seen = set().union(*(imported_top_level_modules(p) for p in python_files()))
    assert {"kopf", "boto3", "moto", "pydantic", "hypothesis", "kubernetes"} <= seen
    assert "packaging" in imported_top_level_modules(Path(__file__))


def test_the_environment_holds_exactly_what_the_lock_pins() -> None:
    """`make venv` installs lock/all.txt with --require-hashes and the project with
    --no-index: this proves nothing else arrived (`make test-latest` points it at its own
    resolution through SERVING_OPERATOR_LOCKFILE)."""
    lock = installed_from()
    locked = pins(lock)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    if "moto" not in installed:
        pytest.skip("not the development environment (no sandbox installed)")
    installed.pop("serving-operator", None)
    stray = {
        name: version
        for name, version in installed.items()
        if name not in locked or locked[name].version != version
    }
    assert not stray, f"installed but not as {lock.name} pins: {stray}"


def test_the_docs_name_the_tools_the_lock_was_made_with() -> None:
    """README and docs/dependencies.md say which uv and Python made the lock: the uv pinned
    in the lock, and a CPython of the minor version the image runs. The lock is universal
    (`--python-version` of that minor), so the image may run a newer patch release than the
    one the lock was made on (docs/dependencies.md says which)."""
    uv = pins(ALL)["uv"].version
    image_python = re.search(r"python:(\d+\.\d+)\.\d+-", (ROOT / "Dockerfile").read_text())
    assert image_python is not None
    minor = image_python.group(1)
    assert f"--python-version {minor}" in (ROOT / "Makefile").read_text()
    for doc in (ROOT / "README.md", ROOT / "docs" / "dependencies.md"):
        text = doc.read_text()
        assert f"uv {uv}" in text, f"{doc.name} should say the lock was made with uv {uv}"
        assert re.search(rf"CPython {re.escape(minor)}\.\d+", text), doc.name
