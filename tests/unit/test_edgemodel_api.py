"""EdgeModel's API: the enums match botocore's SageMaker model, and the spec's own rules."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from pydantic import ValidationError

from serving_operator.api import edgemodel
from serving_operator.api.edgemodel import EdgeModelSpec


def _botocore_enum(shape: str) -> tuple[str, ...]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return tuple(model.shape_for(shape).enum)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("shape", "ours"),
    [
        ("Framework", edgemodel.NEO_FRAMEWORKS),
        ("TargetDevice", edgemodel.NEO_TARGET_DEVICES),
        ("TargetPlatformOs", edgemodel.NEO_PLATFORM_OS),
        ("TargetPlatformArch", edgemodel.NEO_PLATFORM_ARCH),
        ("TargetPlatformAccelerator", edgemodel.NEO_PLATFORM_ACCELERATORS),
    ],
)
def test_enums_are_botocores(shape: str, ours: tuple[str, ...]) -> None:
    assert ours == _botocore_enum(shape)


def spec(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "source": "s3://models/classifier/model.tar.gz",
        "framework": "PYTORCH",
        "frameworkVersion": "1.8",
        "roleArn": "arn:aws:iam::123456789012:role/Neo",
        "outputS3Uri": "s3://models/compiled",
        "targets": [{"name": "nano", "targetDevice": "jetson_nano"}],
        "rollout": {"stages": [{"name": "canary", "thingGroups": ["canary"]}]},
    }
    return base | changes


def test_a_minimal_spec_takes_the_defaults() -> None:
    parsed = EdgeModelSpec.model_validate(spec())
    assert parsed.component.dlr.name == "variant.DLR"
    assert parsed.rollout.failure_handling_policy == "ROLLBACK"
    assert parsed.deletion_policy == "Delete"


@pytest.mark.parametrize(
    "target",
    [
        {
            "name": "both",
            "targetDevice": "jetson_nano",
            "targetPlatform": {"os": "LINUX", "arch": "ARM64"},
        },
        {"name": "neither"},
        {"name": "bad", "targetDevice": "toaster"},
        {"name": "bad", "targetPlatform": {"os": "LINUX", "arch": "SPARC"}},
    ],
)
def test_a_target_names_one_known_device_or_platform(target: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EdgeModelSpec.model_validate(spec(targets=[target]))


def test_platform_matrix_follows_neo() -> None:
    assert "X86_64" in edgemodel.PLATFORM_MATRIX[("LINUX", "NVIDIA")]
    assert "ARM_EABIHF" not in edgemodel.PLATFORM_MATRIX[("LINUX", "NVIDIA")]
    assert edgemodel.PLATFORM_MATRIX[("LINUX", "INTEL_GRAPHICS")] == ("X86_64",)
    assert "X86_64" not in edgemodel.PLATFORM_MATRIX[("LINUX", "MALI")]
