"""Greengrass v2 component recipes: parsing (JSON or YAML), the checks CreateComponentVersion
makes, semantic versions and version requirements, and which manifest fits a device."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

RECIPE_FORMAT_VERSION = "2020-01-25"
UNARCHIVE_MODES = frozenset({"NONE", "ZIP"})
DEPENDENCY_TYPES = frozenset({"HARD", "SOFT"})
PUBLIC_PREFIXES = ("aws.greengrass.", "variant.")
"""Components AWS publishes: deployable everywhere, not kept in the account."""
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_CLAUSE = re.compile(r"^(\^|~|>=|<=|>|<|=)?\s*(.+)$")


class RecipeError(ValueError):
    """Why CreateComponentVersion refuses a recipe (a ValidationException's message)."""


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _SEMVER.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a semantic version (major.minor.patch)")
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor), int(patch), pre or "")

    def key(self) -> tuple[int, int, int, int, str]:
        # A pre-release sorts before its release.
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, self.prerelease)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __le__(self, other: Version) -> bool:
        return self.key() <= other.key()


def satisfies(version_text: str, requirement: str) -> bool:
    """Whether a version meets an npm-style requirement ('>=1.0.0 <2.0.0', '^1.2.0', '~1.2.0',
    '1.2.3', '*'); '||' separates alternatives."""
    version = Version.parse(version_text)
    return any(
        all(_clause_holds(version, clause) for clause in alternative.split())
        for alternative in requirement.split("||")
    )


def _clause_holds(version: Version, clause: str) -> bool:
    if clause in ("*", "x", "X", ""):
        return True
    match = _CLAUSE.match(clause)
    if not match:
        raise ValueError(f"{clause!r} is not a version requirement")
    operator, bound_text = match.groups()
    bound = Version.parse(bound_text)
    if operator == "^":
        ceiling = (
            Version(bound.major + 1, 0, 0)
            if bound.major
            else Version(0, bound.minor + 1, 0)
            if bound.minor
            else Version(0, 0, bound.patch + 1)
        )
        return bound <= version < ceiling
    if operator == "~":
        return bound <= version < Version(bound.major, bound.minor + 1, 0)
    comparisons = {
        ">=": bound <= version,
        "<=": version <= bound,
        ">": bound < version,
        "<": version < bound,
    }
    return comparisons.get(operator or "=", version.key() == bound.key())


def requirement_problem(requirement: str) -> str | None:
    try:
        satisfies("0.0.0", requirement)
    except ValueError as error:
        return str(error)
    return None


def parse_recipe(text: bytes) -> dict[str, Any]:
    """A recipe from JSON or YAML (JSON is YAML, but its errors read better as JSON's)."""
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise RecipeError(f"The recipe is neither valid JSON nor valid YAML: {error}") from None
    if not isinstance(parsed, dict):
        raise RecipeError("The recipe must be a JSON or YAML object.")
    return parsed


def check_recipe(recipe: dict[str, Any]) -> None:
    """Raise RecipeError for what Greengrass refuses in a recipe."""
    if str(recipe.get("RecipeFormatVersion", "")) != RECIPE_FORMAT_VERSION:
        raise RecipeError(
            f"RecipeFormatVersion must be {RECIPE_FORMAT_VERSION}, got"
            f" {recipe.get('RecipeFormatVersion')!r}."
        )
    name = recipe.get("ComponentName")
    if not isinstance(name, str) or not name.strip():
        raise RecipeError("The recipe must have a ComponentName.")
    if name.startswith(PUBLIC_PREFIXES):
        raise RecipeError(f"Component names starting with {name.split('.')[0]}. are reserved.")
    version = str(recipe.get("ComponentVersion", ""))
    try:
        Version.parse(version)
    except ValueError:
        raise RecipeError(
            f"ComponentVersion {version!r} is not a semantic version (major.minor.patch)."
        ) from None
    dependencies = recipe.get("ComponentDependencies") or {}
    if not isinstance(dependencies, dict):
        raise RecipeError("ComponentDependencies must map component names to requirements.")
    for dependency, spec in dependencies.items():
        spec = spec or {}
        problem = requirement_problem(str(spec.get("VersionRequirement", "*")))
        if problem:
            raise RecipeError(f"Dependency {dependency}: VersionRequirement {problem}.")
        if spec.get("DependencyType", "HARD") not in DEPENDENCY_TYPES:
            raise RecipeError(
                f"Dependency {dependency}: DependencyType must be HARD or SOFT, got"
                f" {spec.get('DependencyType')!r}."
            )
    manifests = recipe.get("Manifests") or []
    if not isinstance(manifests, list):
        raise RecipeError("Manifests must be a list.")
    for index, manifest in enumerate(manifests):
        for artifact in (manifest or {}).get("Artifacts") or []:
            uri = artifact.get("URI") or artifact.get("Uri")
            if not uri:
                raise RecipeError(f"Manifests[{index}]: every artifact needs a URI.")
            mode = str(artifact.get("Unarchive", "NONE")).upper()
            if mode not in UNARCHIVE_MODES:
                raise RecipeError(
                    f"Artifact {uri}: Unarchive must be NONE or ZIP, got"
                    f" {artifact.get('Unarchive')!r}."
                )


def artifact_uris(recipe: dict[str, Any]) -> list[str]:
    return [
        str(artifact.get("URI") or artifact.get("Uri"))
        for manifest in recipe.get("Manifests") or []
        for artifact in (manifest or {}).get("Artifacts") or []
    ]


def platforms(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    """DescribeComponent's platforms: one per manifest that names a platform."""
    found = []
    for manifest in recipe.get("Manifests") or []:
        platform = (manifest or {}).get("Platform") or {}
        if platform:
            attributes = {str(k): str(v) for k, v in platform.items() if k != "name"}
            entry: dict[str, Any] = {"attributes": attributes}
            if "name" in platform:
                entry["name"] = str(platform["name"])
            found.append(entry)
    return found


def platform_matches(required: dict[str, Any], device_platform: dict[str, str]) -> bool:
    """Whether a manifest's Platform admits the device. Each attribute is a value, `*`, or a
    regular expression between slashes (`/amd64|x86/`) matched against the whole device
    value (recipe reference, Manifests > Platform); `name` only labels the platform."""
    for key, value in required.items():
        if key == "name":
            continue
        wanted, have = str(value), device_platform.get(key)
        if wanted == "*":
            continue
        if have is None:
            return False
        if len(wanted) > 1 and wanted.startswith("/") and wanted.endswith("/"):
            if re.fullmatch(wanted[1:-1], have) is None:
                return False
        elif wanted != have:
            return False
    return True


def select_manifest(
    recipe: dict[str, Any], device_platform: dict[str, str]
) -> dict[str, Any] | None:
    """The manifest a core device uses: the first whose Platform it meets (recipe reference:
    "The core device uses the first manifest with platform requirements that the device
    meets"); a recipe without manifests gives an empty one; None when none fits."""
    manifests = recipe.get("Manifests") or []
    if not manifests:
        return {}
    for manifest in manifests:
        if platform_matches((manifest or {}).get("Platform") or {}, device_platform):
            return dict(manifest or {})
    return None


def fits(recipe: dict[str, Any], device_platform: dict[str, str]) -> bool:
    """Whether some manifest fits the device (a recipe without manifests fits every one)."""
    return select_manifest(recipe, device_platform) is not None


def lifecycle_of(recipe: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """The lifecycle a device runs: the manifest's if it defines one, else the recipe's global
    Lifecycle (selection keys are not modelled). Keys are read case-insensitively, as the
    nucleus does (AWS's own recipes write `install`, `setEnv`, `script`)."""
    chosen = manifest.get("Lifecycle")
    if not chosen:
        chosen = recipe.get("Lifecycle") or {}
    return _lower_keys(chosen) if isinstance(chosen, dict) else {}


def _lower_keys(value: dict[str, Any]) -> dict[str, Any]:
    lowered: dict[str, Any] = {}
    for key, inner in value.items():
        # Environment variable names keep their case.
        if str(key).lower() == "setenv" and isinstance(inner, dict):
            lowered["setenv"] = {str(k): str(v) for k, v in inner.items()}
        elif isinstance(inner, dict):
            lowered[str(key).lower()] = _lower_keys(inner)
        else:
            lowered[str(key).lower()] = inner
    return lowered


def artifacts_of(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(URI, Unarchive mode) of the manifest's artifacts."""
    return [
        (
            str(artifact.get("URI") or artifact.get("Uri")),
            str(artifact.get("Unarchive", "NONE")).upper(),
        )
        for artifact in manifest.get("Artifacts") or []
    ]


def render(recipe: dict[str, Any], output_format: str) -> bytes:
    if output_format == "YAML":
        return yaml.safe_dump(recipe, sort_keys=False).encode()
    return json.dumps(recipe, indent=2).encode()
