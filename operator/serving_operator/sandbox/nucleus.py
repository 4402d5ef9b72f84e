"""Core devices that run what they are deployed, as the Greengrass nucleus does.

When lifecycles run (EdgeSettings.run_lifecycles, or a device table entry's runLifecycle), a
core device that starts a deployment's job execution carries the deployment out for real,
in its own directory under the sandbox's temporary root (the nucleus' /greengrass/v2):

- its components are the union of the latest deployment of every target that reached it
  (a thing group's deployment replaces only that group's part: GGv2 developer guide, "Deploy
  AWS IoT Greengrass components to devices"), each with its dependencies, dependencies
  first; components no longer wanted are stopped (Shutdown step, then the process group);
- a component uses the first manifest whose Platform the device meets (recipe reference,
  "Manifests"); its artifacts are downloaded from the sandbox's S3 into
  packages/artifacts/<name>/<version>/, and those with Unarchive ZIP are unpacked into
  packages/artifacts-unarchived/<name>/<version>/<archive name without .zip>/ (Greengrass
  unarchives ZIP only);
- its lifecycle steps run with `sh -c` in work/<name>, its log in logs/<name>.log, with the
  recipe variables substituted (recipe reference, "Recipe variables"): {artifacts:path},
  {artifacts:decompressedPath}, {work:path}, {configuration:/JSON pointer},
  {kernel:rootPath}, {iot:thingName}, and a dependency's {<name>:artifacts:path},
  {<name>:artifacts:decompressedPath}, {<name>:work:path} and {<name>:configuration:/...}.
  The configuration is the recipe's DefaultConfiguration (kept across deployments, as the
  nucleus keeps it) with the deployment's configurationUpdate: reset pointers first, then
  merge. Setenv of the lifecycle and of the step is the step's environment, over a plain
  system PATH (not the sandbox's virtual environment: what a script needs, it must bring);
- Install (and Startup) must exit 0, within Timeout (default 120 s, recipe reference). Run
  is started and watched for deviceRunSettleSeconds: exiting 0 is FINISHED, still running is
  RUNNING, exiting non-zero is ERRORED and it is started again; the third error makes the
  component BROKEN (the nucleus restarts an errored component up to three times). A
  component that is RUNNING or FINISHED has reached its desired state, and the deployment
  succeeds once all have (nucleus DeploymentConfigMerger.waitForServicesToStart); a Run
  process that exits non-zero later marks the component BROKEN and the core device
  UNHEALTHY, without failing the deployment that already succeeded;
- a BROKEN component fails the deployment with the nucleus' cause "Service <name> in broken
  state after deployment". With failureHandlingPolicy ROLLBACK the device converges back to
  what it ran before (detailed-deployment-status FAILED_ROLLBACK_COMPLETE, or
  FAILED_UNABLE_TO_ROLLBACK if that breaks too); with DO_NOTHING it stays as it is
  (FAILED_ROLLBACK_NOT_REQUESTED).

AWS-published components come from a small table of real ones (PUBLIC_COMPONENTS); any
other public name or version fails resolution as on a device. variant.DLR's install is the
sandbox's stand-in for AWS's installer (which downloads DLR with pip or conda): a real
virtual environment at {MLRootPath}/greengrass_ml_dlr_venv, whose interpreter also sees the
sandbox's own site-packages (numpy, treelite-runtime). AWS's installer makes a conda
environment instead on x86_64 from variant.DLR 1.6.7 on; the sandbox always makes the venv.
RequiresPrivilege is not modelled: steps run as the sandbox's user.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from serving_operator.sandbox import recipes
from serving_operator.sandbox.edge_settings import EdgeSettings

DEVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INSTALL_TIMEOUT_SECONDS = 120.0  # recipe reference: Install's Timeout default
SHUTDOWN_TIMEOUT_SECONDS = 15.0  # recipe reference: Shutdown's Timeout default
RUN_ATTEMPTS = 3
BROKEN_STACK = ("DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN")
DLR_ENVIRONMENT = "greengrass_ml_dlr_venv"


@dataclass(frozen=True)
class PublicComponent:
    versions: tuple[str, ...]
    platforms: tuple[dict[str, str], ...] = ({},)
    """The Platform of each of its manifests (a device must meet one)."""
    default_configuration: Mapping[str, Any] = field(default_factory=dict)


# The AWS-published components the sandbox knows, with the versions AWS published.
# variant.DLR: 1.3.2 (its first release) and 1.6.1 to 1.6.12 (GGv2 developer guide,
# dlr-component.md, "Versions" and "Changelog"); its manifests and configuration are those of
# AWS's recipe (awslabs/aws-greengrass-labs-ml-components, dlr/variant.DLR/recipe.json). The
# nucleus and the Greengrass CLI: the 2.12 line, the sandbox's nucleus being 2.12.0.
PUBLIC_COMPONENTS: dict[str, PublicComponent] = {
    "variant.DLR": PublicComponent(
        versions=("1.3.2", *(f"1.6.{patch}" for patch in range(1, 13))),
        platforms=(
            {"os": "linux", "architecture": "arm"},
            {"os": "linux", "architecture": "amd64"},
            {"os": "linux", "architecture": "aarch64"},
            {"os": "windows", "architecture": "*"},
        ),
        default_configuration={
            "MLRootPath": "../variant.DLR/greengrass_ml",
            "WindowsMLRootPath": "%cd%\\..\\variant.DLR\\greengrass_ml",
            "UseInstaller": "true",
        },
    ),
    "aws.greengrass.Nucleus": PublicComponent(tuple(f"2.12.{p}" for p in range(7))),
    "aws.greengrass.Cli": PublicComponent(tuple(f"2.12.{p}" for p in range(7))),
}


def is_public(name: str) -> bool:
    return name.startswith(recipes.PUBLIC_PREFIXES)


def public_version(name: str, requirement: str) -> str | None:
    """The newest published version of a public component meeting the requirement."""
    known = PUBLIC_COMPONENTS.get(name)
    if known is None:
        return None
    fitting = [v for v in known.versions if recipes.satisfies(v, requirement)]
    return max(fitting, key=lambda v: recipes.Version.parse(v).key(), default=None)


def public_fits(name: str, device_platform: dict[str, str]) -> bool:
    known = PUBLIC_COMPONENTS.get(name)
    return known is not None and any(
        recipes.platform_matches(p, device_platform) for p in known.platforms
    )


@dataclass(frozen=True)
class PlannedComponent:
    """A component version a device is to run, as the cloud resolved it."""

    name: str
    version: str
    recipe: Mapping[str, Any]
    """Its recipe (an empty one for a public component)."""
    configuration_update: Mapping[str, Any] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return is_public(self.name)


@dataclass(frozen=True)
class DeviceResult:
    succeeded: bool
    details: dict[str, str]
    """The execution's statusDetails.detailsMap, as the nucleus reports it."""


class DeviceRun:
    """A deployment a core device is carrying out, on its own thread."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.result: DeviceResult | None = None
        self.finished_at: float = 0.0

    def done(self) -> bool:
        return self._done.is_set()

    def finish(self, result: DeviceResult) -> None:
        self.result, self.finished_at = result, time.time()
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


@dataclass
class Service:
    component: PlannedComponent
    configuration: dict[str, Any]
    state: str = "NEW"
    """NEW, INSTALLED, RUNNING, FINISHED, ERRORED, BROKEN (the nucleus' states we model)."""
    process: subprocess.Popen[bytes] | None = None
    lifecycle: dict[str, Any] = field(default_factory=dict)


class ArtifactError(Exception):
    """An artifact could not be downloaded or unpacked."""


class CoreDevice:
    """One core device: its directory, its components, one deployment at a time."""

    def __init__(
        self,
        root: Path,
        thing: str,
        region: str,
        settings: EdgeSettings,
        read_artifact: Callable[[str], bytes | None],
    ) -> None:
        self.root, self.thing, self.region = root, thing, region
        self.settings = settings
        self.read_artifact = read_artifact
        self.platform: dict[str, str] = {}
        self.lock = threading.RLock()
        self.services: dict[str, Service] = {}
        self.deployed: dict[str, tuple[PlannedComponent, ...]] = {}
        """Target ARN -> the components of its latest deployment this device applied."""

    # -- paths ------------------------------------------------------------------------------
    def work(self, name: str) -> Path:
        return self.root / "work" / name

    def artifacts(self, component: PlannedComponent) -> Path:
        return self.root / "packages" / "artifacts" / component.name / component.version

    def unarchived(self, component: PlannedComponent) -> Path:
        return self.root / "packages" / "artifacts-unarchived" / component.name / component.version

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    # -- deployments --------------------------------------------------------------------------
    def apply(
        self,
        target: str,
        components: tuple[PlannedComponent, ...],
        *,
        roll_back: bool,
        platform: dict[str, str],
    ) -> DeviceResult:
        with self.lock:
            self.platform = dict(platform)
            before = dict(self.deployed)
            after = {**before, target: components}
            broken = self._converge(after)
            if broken is None:
                self.deployed = after
                return DeviceResult(True, {"detailed-deployment-status": "SUCCESSFUL"})
            if roll_back:
                again = self._converge(before)
                self.deployed = before
                detailed = (
                    "FAILED_ROLLBACK_COMPLETE" if again is None else "FAILED_UNABLE_TO_ROLLBACK"
                )
            else:
                self.deployed = after
                detailed = "FAILED_ROLLBACK_NOT_REQUESTED"
            kind = "AWS_COMPONENT_ERROR" if is_public(broken) else "USER_COMPONENT_ERROR"
            return DeviceResult(
                False,
                {
                    "detailed-deployment-status": detailed,
                    "deployment-failure-cause": (
                        f"Service {broken} in broken state after deployment"
                    ),
                    "deployment-error-stack": json.dumps(list(BROKEN_STACK)),
                    "deployment-error-types": json.dumps([kind]),
                },
            )

    def states(self) -> dict[str, str]:
        """Component name -> its state now (a RUNNING process that died is BROKEN).

        Read without the deployment lock, which an install holds for as long as it runs:
        GetCoreDevice must not wait for it (the overlay's lock is held meanwhile)."""
        services = list(self.services.items())  # one step under the GIL: a consistent copy
        for _, service in services:
            process = service.process
            if service.state == "RUNNING" and process is not None:
                code = process.poll()
                if code is not None:
                    service.state = "FINISHED" if code == 0 else "BROKEN"
        return {name: service.state for name, service in services}

    def stop_all(self) -> None:
        with self.lock:
            for name in list(self.services):
                self._stop(self.services.pop(name))

    def _converge(self, deployed: Mapping[str, tuple[PlannedComponent, ...]]) -> str | None:
        """Run exactly the components `deployed` asks for; the first one that broke, if any."""
        wanted: dict[str, PlannedComponent] = {}
        for components in deployed.values():
            for component in components:
                wanted[component.name] = component
        for name in [n for n in self.services if n not in wanted]:
            self._stop(self.services.pop(name))
        for component in wanted.values():
            current = self.services.get(component.name)
            configuration = self._configuration(component, current)
            if (
                current is not None
                and current.component.version == component.version
                and current.configuration == configuration
                and self.states().get(component.name) in ("RUNNING", "FINISHED", "INSTALLED")
            ):
                continue
            if current is not None:
                self._stop(current)
            service = Service(component, configuration)
            self.services[component.name] = service
            self._install_and_start(service)
            if service.state == "BROKEN":
                return component.name
        return None

    # -- configuration ------------------------------------------------------------------------
    def _configuration(
        self, component: PlannedComponent, current: Service | None
    ) -> dict[str, Any]:
        default = _default_configuration(component)
        kept = _copy(current.configuration if current is not None else default)
        update = component.configuration_update or {}
        for pointer in update.get("reset") or []:
            kept = _reset(kept, default, str(pointer))
        merge = update.get("merge")
        if merge:
            parsed = json.loads(merge) if isinstance(merge, str) else merge
            if isinstance(parsed, dict):
                kept = _deep_merge(kept, parsed)
        return kept

    # -- lifecycle ------------------------------------------------------------------------------
    def _install_and_start(self, service: Service) -> None:
        component = service.component
        work = self.work(component.name)
        work.mkdir(parents=True, exist_ok=True)
        self.log(component.name).parent.mkdir(parents=True, exist_ok=True)
        if component.public:
            self._install_public(service)
            return
        manifest = recipes.select_manifest(dict(component.recipe), self.platform)
        if manifest is None:  # resolution checked this; a changed platform could still miss
            self._note(component.name, "no manifest fits the device's platform")
            service.state = "BROKEN"
            return
        try:
            self._download(component, manifest)
        except ArtifactError as error:
            self._note(component.name, str(error))
            service.state = "BROKEN"
            return
        service.lifecycle = recipes.lifecycle_of(dict(component.recipe), manifest)
        for step in ("install", "startup"):
            if step in service.lifecycle and not self._run_to_end(service, step):
                service.state = "BROKEN"
                return
        service.state = "INSTALLED"
        if "startup" in service.lifecycle:
            service.state = "RUNNING"
        elif "run" in service.lifecycle:
            self._start_run(service)
        else:
            service.state = "FINISHED"

    def _install_public(self, service: Service) -> None:
        component = service.component
        if not public_fits(component.name, self.platform):
            self._note(component.name, "no manifest fits the device's platform")
            service.state = "BROKEN"
            return
        if component.name == "variant.DLR":
            root = service.configuration.get("MLRootPath", "../variant.DLR/greengrass_ml")
            try:
                _dlr_environment((self.work(component.name) / str(root)).resolve())
            except (OSError, subprocess.SubprocessError) as error:
                self._note(component.name, f"could not make the DLR environment: {error}")
                service.state = "BROKEN"
                return
        service.state = "FINISHED"

    def _download(self, component: PlannedComponent, manifest: dict[str, Any]) -> None:
        into, unpacked = self.artifacts(component), self.unarchived(component)
        into.mkdir(parents=True, exist_ok=True)
        for uri, mode in recipes.artifacts_of(manifest):
            file_name = uri.rstrip("/").rsplit("/", 1)[-1]
            body = self.read_artifact(uri)
            if body is None:
                raise ArtifactError(f"Failed to download artifact {uri}")
            (into / file_name).write_bytes(body)
            if mode == "ZIP":
                folder = unpacked / file_name.removesuffix(".zip")
                folder.mkdir(parents=True, exist_ok=True)
                try:
                    with zipfile.ZipFile(io.BytesIO(body)) as archive:
                        _safe_extract(archive, folder)
                except zipfile.BadZipFile as error:
                    raise ArtifactError(f"Failed to unarchive {uri}: {error}") from None

    def _step(self, service: Service, step: str) -> tuple[str, float | None, dict[str, str]]:
        """The step's script, timeout and environment, variables substituted."""
        given = service.lifecycle.get(step)
        if isinstance(given, dict):
            script = str(given.get("script", ""))
            timeout = float(given["timeout"]) if "timeout" in given else None
            step_env = given.get("setenv") or {}
        else:
            script, timeout, step_env = str(given or ""), None, {}
        environment = {
            "PATH": DEVICE_PATH,
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "AWS_IOT_THING_NAME": self.thing,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        for key, value in {**(service.lifecycle.get("setenv") or {}), **step_env}.items():
            environment[str(key)] = self._substitute(service, str(value))
        return self._substitute(service, script), timeout, environment

    def _spawn(
        self, name: str, step: str, script: str, environment: dict[str, str], log: IO[bytes]
    ) -> subprocess.Popen[bytes]:
        """A lifecycle step's script as its own process group in the component's work
        directory, its output appended to the component's log under a header."""
        log.write(f"--- {step} ---\n".encode())
        log.flush()
        return subprocess.Popen(
            ["sh", "-c", script],
            cwd=self.work(name),
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _run_to_end(self, service: Service, step: str) -> bool:
        script, timeout, environment = self._step(service, step)
        name = service.component.name
        default = INSTALL_TIMEOUT_SECONDS if step in ("install", "startup") else None
        with self.log(name).open("ab") as log:
            process = self._spawn(name, step, script, environment, log)
            try:
                code = process.wait(timeout=timeout or default)
            except subprocess.TimeoutExpired:
                _kill(process)
                log.write(f"--- {step} timed out ---\n".encode())
                return False
            log.write(f"--- {step} exited {code} ---\n".encode())
        return code == 0

    def _start_run(self, service: Service) -> None:
        name = service.component.name
        for _ in range(RUN_ATTEMPTS):
            script, _timeout, environment = self._step(service, "run")
            log: IO[bytes]
            with self.log(name).open("ab") as log:
                process = self._spawn(name, "run", script, environment, log)
            service.process = process
            code = _watch(process, self.settings.device_run_settle_seconds)
            if code is None:
                service.state = "RUNNING"
                return
            if code == 0:
                service.state = "FINISHED"
                return
            service.state = "ERRORED"
            self._note(name, f"run exited {code}")
        service.state = "BROKEN"

    def _stop(self, service: Service) -> None:
        if "shutdown" in service.lifecycle:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                script, timeout, environment = self._step(service, "shutdown")
                subprocess.run(
                    ["sh", "-c", script],
                    cwd=self.work(service.component.name),
                    env=environment,
                    capture_output=True,
                    timeout=timeout or SHUTDOWN_TIMEOUT_SECONDS,
                    check=False,
                )
        if service.process is not None:
            _kill(service.process)
        service.state = "NEW"

    def _note(self, name: str, message: str) -> None:
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        with self.log(name).open("a") as log:
            log.write(f"--- {message} ---\n")

    # -- recipe variables -----------------------------------------------------------------------
    def _substitute(self, service: Service, text: str) -> str:
        component = service.component

        def value(match: re.Match[str]) -> str:
            owner, kind, pointer = match.group("owner"), match.group("kind"), match.group("ptr")
            if owner is None:
                subject: Service | None = service
            elif owner in component.dependencies:
                subject = self.services.get(owner)
            else:
                subject = None  # only a dependency's variables resolve (recipe reference)
            if kind == "kernel:rootPath" and owner is None:
                return str(self.root)
            if kind == "iot:thingName" and owner is None:
                return self.thing
            if subject is None:
                return match.group(0)
            if kind == "artifacts:path":
                return str(self.artifacts(subject.component))
            if kind == "artifacts:decompressedPath":
                return str(self.unarchived(subject.component))
            if kind == "work:path":
                return str(self.work(subject.component.name))
            if pointer is not None:
                found = _pointer(subject.configuration, pointer)
                if found is None:
                    return match.group(0)
                return found if isinstance(found, str) else json.dumps(found)
            return match.group(0)

        return _VARIABLE.sub(value, text)


_VARIABLE = re.compile(
    r"\{(?:(?P<owner>[A-Za-z0-9._-]+):)?"
    r"(?P<kind>artifacts:path|artifacts:decompressedPath|work:path|kernel:rootPath"
    r"|iot:thingName|configuration:(?P<ptr>/[^{}]*))\}"
)


class DeviceFleet:
    """Every core device of the sandbox that has run a lifecycle, under one temporary root."""

    def __init__(self, settings: EdgeSettings, root: Path | None = None) -> None:
        self.settings = settings
        self.root = root or Path(tempfile.mkdtemp(prefix="sandbox-core-devices-"))
        self.lock = threading.Lock()
        self.devices: dict[tuple[str, str, str], CoreDevice] = {}
        atexit.register(self.shutdown)

    def device(
        self,
        account: str,
        region: str,
        thing: str,
        read_artifact: Callable[[str], bytes | None],
    ) -> CoreDevice:
        with self.lock:
            key = (account, region, thing)
            if key not in self.devices:
                root = self.root / account / region / thing
                self.devices[key] = CoreDevice(root, thing, region, self.settings, read_artifact)
            return self.devices[key]

    def known(self, account: str, region: str, thing: str) -> CoreDevice | None:
        with self.lock:
            return self.devices.get((account, region, thing))

    def start(
        self,
        device: CoreDevice,
        target: str,
        components: tuple[PlannedComponent, ...],
        *,
        roll_back: bool,
        platform: dict[str, str],
    ) -> DeviceRun:
        run = DeviceRun()

        def carry_out() -> None:
            try:
                result = device.apply(target, components, roll_back=roll_back, platform=platform)
            except Exception as error:  # the device reports, whatever went wrong on it
                result = DeviceResult(
                    False,
                    {
                        "detailed-deployment-status": "FAILED_NO_STATE_CHANGE",
                        "deployment-failure-cause": f"{type(error).__name__}: {error}",
                    },
                )
            run.finish(result)

        threading.Thread(target=carry_out, name=f"core-device-{device.thing}", daemon=True).start()
        return run

    def shutdown(self) -> None:
        with self.lock:
            devices = list(self.devices.values())
            self.devices.clear()
        for device in devices:
            device.stop_all()
        shutil.rmtree(self.root, ignore_errors=True)


# -- helpers ------------------------------------------------------------------------------------
def _default_configuration(component: PlannedComponent) -> dict[str, Any]:
    if component.public:
        known = PUBLIC_COMPONENTS.get(component.name)
        return dict(known.default_configuration) if known else {}
    configuration = (component.recipe.get("ComponentConfiguration") or {}).get(
        "DefaultConfiguration"
    ) or {}
    return dict(configuration) if isinstance(configuration, dict) else {}


def _copy(document: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(document))
    return copied


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _pointer(document: Any, pointer: str) -> Any:
    found = document
    for part in _pointer_parts(pointer):
        if isinstance(found, dict) and part in found:
            found = found[part]
        elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
            found = found[int(part)]
        else:
            return None
    return found


def _reset(kept: dict[str, Any], default: dict[str, Any], pointer: str) -> dict[str, Any]:
    """configurationUpdate.reset: the value at the pointer goes back to its default."""
    if pointer in ("", "/"):
        return _copy(default)
    parts = _pointer_parts(pointer)
    parent: Any = kept
    for part in parts[:-1]:
        if not isinstance(parent, dict) or part not in parent:
            return kept
        parent = parent[part]
    if isinstance(parent, dict):
        original = _pointer(default, pointer)
        if original is None:
            parent.pop(parts[-1], None)
        else:
            parent[parts[-1]] = json.loads(json.dumps(original))
    return kept


def _safe_extract(archive: zipfile.ZipFile, folder: Path) -> None:
    base = folder.resolve()
    for member in archive.infolist():
        target = (folder / member.filename).resolve()
        if base not in (target, *target.parents):
            raise zipfile.BadZipFile(f"{member.filename} would unpack outside the folder")
    archive.extractall(folder)


def _watch(process: subprocess.Popen[bytes], seconds: float) -> int | None:
    """The process' exit code if it ends within `seconds`, else None (still running)."""
    try:
        return process.wait(timeout=max(0.0, seconds))
    except subprocess.TimeoutExpired:
        return None


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


_ENVIRONMENT_LOCK = threading.Lock()


def _dlr_environment(ml_root: Path) -> None:
    """variant.DLR's virtual environment at <MLRootPath>/greengrass_ml_dlr_venv (made once
    per device, as AWS's installer skips an existing one), seeing the sandbox's packages."""
    environment = ml_root / DLR_ENVIRONMENT
    with _ENVIRONMENT_LOCK:
        if (environment / "bin" / "activate").exists():
            return
        shutil.rmtree(environment, ignore_errors=True)  # a half-made one, as AWS's does
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(environment)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site = environment / "lib" / version / "site-packages"
        paths = sysconfig.get_paths()
        site.joinpath("sandbox-variant-dlr.pth").write_text(
            "\n".join(dict.fromkeys([paths["purelib"], paths["platlib"]])) + "\n"
        )
