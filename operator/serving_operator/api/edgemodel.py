"""EdgeModel: a model compiled with SageMaker Neo and rolled out with AWS IoT Greengrass v2.

Only the compilation inputs are modelled so far; packaging and staged rollout come with
their own issue.
"""

from __future__ import annotations

from pydantic import Field

from serving_operator.api.common import (
    S3_URI_PATTERN,
    ApiModel,
    KindInfo,
    StatusBase,
    age_column,
    ready_column,
)


class CompilationTarget(ApiModel):
    name: str = Field(
        pattern=r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$",
        description="A short name for this target, used in AWS resource names.",
    )
    device: str = Field(
        min_length=1,
        max_length=64,
        description="Neo TargetDevice, e.g. jetson_nano or rasp4b.",
    )


class EdgeModelSpec(ApiModel):
    """A trained model to compile for edge devices."""

    model_data_url: str = Field(
        pattern=S3_URI_PATTERN, max_length=1024, description="S3 URI of the trained model."
    )
    framework: str = Field(
        min_length=1, max_length=32, description="Neo framework, e.g. XGBOOST or PYTORCH."
    )
    targets: list[CompilationTarget] = Field(
        description="The devices or platforms to compile for.",
        min_length=1,
        max_length=20,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )


class EdgeModelStatus(StatusBase):
    pass


EDGE_MODEL = KindInfo(
    kind="EdgeModel",
    spec_model=EdgeModelSpec,
    status_model=EdgeModelStatus,
    description="A model compiled with SageMaker Neo and rolled out to devices with Greengrass v2.",
    plural="edgemodels",
    singular="edgemodel",
    short_names=("edgem",),
    printer_columns=(
        {"name": "Framework", "type": "string", "jsonPath": ".spec.framework"},
        ready_column(),
        age_column(),
    ),
)
