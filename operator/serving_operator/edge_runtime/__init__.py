"""What an EdgeModel component runs on a core device: the inference entrypoint (an artifact
the operator publishes next to the compiled model) and the lifecycle that runs it inside
variant.DLR's environment, as AWS's own DLR components do.

AWS's DLR inference components (aws.greengrass.DLRImageClassification and
DLRObjectDetection; recipes in awslabs/aws-greengrass-labs-ml-components, GGv2 developer
guide `ml-customization.md`) run Python only after activating the environment variant.DLR
installed, with RequiresPrivilege:

    . {variant.DLR:configuration:/MLRootPath}/greengrass_ml_dlr_venv/bin/activate

on Arm and aarch64 (the venv), and on x86_64, where newer variant.DLR versions install
Miniconda instead, `export PATH=<MLRootPath>/greengrass_ml_dlr_conda/bin:$PATH`,
`eval "$(conda shell.bash hook)"`, `conda activate greengrass_ml_dlr_conda`. The Run step
below does whichever the device has, so one recipe serves every platform.

Nothing here imports the rest of the operator; serving_entrypoint.py imports nothing but the
standard library at module level (it runs on devices, not in the operator).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from importlib import resources
from typing import Any

ENTRYPOINT = "serving_entrypoint.py"
"""The entrypoint's file name, in {artifacts:path} on the device."""
MODEL_DIRECTORY = "{work:path}/model"
ENDPOINT_FILE = "{work:path}/endpoint.json"
DEFAULT_CONFIGURATION: Mapping[str, str] = {"Host": "127.0.0.1", "Port": "0"}
"""The component's DefaultConfiguration: where the entrypoint listens (Port 0: any free
port, written to {work:path}/endpoint.json; set a fixed one with a configurationUpdate)."""


@functools.cache
def entrypoint_source() -> bytes:
    return resources.files(__name__).joinpath(ENTRYPOINT).read_bytes()


@functools.cache
def entrypoint_sha256() -> str:
    return hashlib.sha256(entrypoint_source()).hexdigest()


def entrypoint_uri(output_s3_uri: str) -> str:
    """Where the operator publishes the entrypoint: content-addressed under the EdgeModel's
    outputS3Uri, so a new entrypoint never changes the object (and the digest Greengrass
    fixed at CreateComponentVersion) of a version already published."""
    return f"{output_s3_uri.rstrip('/')}/serving-entrypoint/{entrypoint_sha256()[:16]}/{ENTRYPOINT}"


def install_script(model_file: str) -> str:
    """Unpack Neo's .tar.gz (Greengrass unarchives only ZIP) into a fresh model directory."""
    return (
        f"rm -rf {MODEL_DIRECTORY} && mkdir -p {MODEL_DIRECTORY}"
        f" && tar -xzf {{artifacts:path}}/{model_file} -C {MODEL_DIRECTORY}"
    )


def run_script(dlr_component: str = "variant.DLR") -> str:
    """Activate the DLR environment as AWS's DLR components do, then serve the model."""
    root = f"{{{dlr_component}:configuration:/MLRootPath}}"
    return "\n".join(
        [
            f'ML_ROOT="{root}"',
            'if [ -x "$ML_ROOT/greengrass_ml_dlr_conda/bin/conda" ]; then',
            '  export PATH="$ML_ROOT/greengrass_ml_dlr_conda/bin:$PATH"',
            '  eval "$("$ML_ROOT/greengrass_ml_dlr_conda/bin/conda" shell.bash hook)"',
            "  conda activate greengrass_ml_dlr_conda",
            "else",
            '  . "$ML_ROOT/greengrass_ml_dlr_venv/bin/activate"',
            "fi",
            f"exec python3 -u {{artifacts:path}}/{ENTRYPOINT} --model-dir {MODEL_DIRECTORY}"
            " --host {configuration:/Host} --port {configuration:/Port}"
            f" --endpoint-file {ENDPOINT_FILE}",
        ]
    )


def lifecycle(
    model_file: str,
    *,
    dlr_component: str = "variant.DLR",
    run_command: str | None = None,
    environment: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The manifest's Lifecycle: Install unpacks the model, Run serves it (or runs
    `run_command`, a user's own, which must then activate the environment itself)."""
    steps: dict[str, Any] = {
        "Install": {"Script": install_script(model_file), "Timeout": 300},
        "Run": {
            "Script": run_command if run_command is not None else run_script(dlr_component),
            "RequiresPrivilege": True,
        },
    }
    if environment:
        steps["Setenv"] = dict(environment)
    return steps


def artifacts(model_uri: str, entrypoint: str) -> list[dict[str, str]]:
    """The manifest's Artifacts: the compiled model and the entrypoint, neither unarchived."""
    return [
        {"URI": model_uri, "Unarchive": "NONE"},
        {"URI": entrypoint, "Unarchive": "NONE"},
    ]
