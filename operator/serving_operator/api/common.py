"""Building blocks shared by every kind: the camelCase model base and kstatus conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# SageMaker's name pattern for endpoints, configs, models and variants.
SAGEMAKER_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
S3_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"
IAM_ROLE_ARN_PATTERN = r"^arn:aws[a-z\-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@\-/]+$"
ML_INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
SECURITY_GROUP_PATTERN = r"^sg-[0-9a-f]+$"
SUBNET_PATTERN = r"^subnet-[0-9a-f]+$"

# What a value matching each pattern is, in words: the CRDs check these patterns with CEL
# rules that say so, instead of an OpenAPI pattern whose error quotes the regular expression.
PATTERN_MESSAGES = {
    SAGEMAKER_NAME_PATTERN: (
        "must be a SageMaker name: letters, digits and hyphens, at most 63 characters,"
        " starting and ending with a letter or digit"
    ),
    S3_URI_PATTERN: "must be an S3 URI such as s3://my-bucket/path/model.tar.gz",
    IAM_ROLE_ARN_PATTERN: (
        "must be an IAM role ARN such as arn:aws:iam::123456789012:role/SageMakerExecutionRole"
    ),
    ML_INSTANCE_TYPE_PATTERN: "must be an ML instance type such as ml.m5.large",
    SECURITY_GROUP_PATTERN: "must be a security group ID such as sg-0123456789abcdef0",
    SUBNET_PATTERN: "must be a subnet ID such as subnet-0123456789abcdef0",
}


class ApiModel(BaseModel):
    """Base of every spec and status model: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )


class StatusModel(ApiModel):
    """Base of status models: read back leniently, since an older or newer operator may
    have written fields this one does not know."""

    model_config = ConfigDict(extra="ignore")


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """A kstatus condition, shaped like metav1.Condition so kubectl, Argo CD and Flux read it."""

    type: str = Field(description="Ready, Reconciling, Stalled, or a kind-specific type.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(default="", description="One CamelCase word a machine can match on.")
    message: str = Field(default="", description="What happened, for a person.")
    # Absent until the operator computes the condition (the CRD's initial status has none),
    # then always set: never "", which metav1.Condition-reading tools cannot parse.
    last_transition_time: str | None = Field(
        default=None,
        description="When the status last changed (RFC 3339); absent before the first pass.",
    )
    observed_generation: int = Field(
        default=0, description="The metadata.generation this condition was computed from."
    )


class StatusBase(StatusModel):
    """What every kind's status has: the kstatus conditions and the generation they are for."""

    observed_generation: int | None = Field(
        default=None, description="The metadata.generation the status was last computed for."
    )
    conditions: list[Condition] = Field(
        description="kstatus conditions Ready, Reconciling and Stalled, and kind-specific ones.",
        default_factory=list,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )


class KindInfo(BaseModel):
    """How a kind appears in the Kubernetes API (used by CRD generation)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: str
    spec_model: type[BaseModel]
    status_model: type[BaseModel]
    description: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    categories: tuple[str, ...] = ("mlserving",)
    printer_columns: tuple[dict[str, Any], ...] = ()
    root_validations: tuple[dict[str, str], ...] = ()


def named_by_metadata_unless(spec_field: str, what: str) -> dict[str, str]:
    """The root CEL rule of a kind whose SageMaker name defaults to metadata.name: unless
    spec.<spec_field> names it, metadata.name must be a valid SageMaker name."""
    return {
        "rule": (
            f"has(self.spec.{spec_field}) || self.metadata.name.matches('{SAGEMAKER_NAME_PATTERN}')"
        ),
        "message": (
            f"metadata.name is not a valid SageMaker {what} name"
            f" (letters, digits and hyphens, at most 63): set spec.{spec_field}"
        ),
    }


def ready_column() -> dict[str, Any]:
    return {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    }


def age_column() -> dict[str, Any]:
    return {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def to_rfc3339(moment: datetime, *, microseconds: bool = True) -> str:
    """A moment as every kind's status writes it: RFC 3339 in UTC with "Z". Microseconds are
    kept unless the field is meant to read to the second (a canary's step times)."""
    utc = moment.astimezone(UTC)
    if not microseconds:
        utc = utc.replace(microsecond=0)
    return utc.isoformat().replace("+00:00", "Z")


def to_optional_rfc3339(moment: datetime | None) -> str | None:
    """`to_rfc3339` for a status field that may hold no moment yet (None stays None)."""
    return to_rfc3339(moment) if moment is not None else None


def parse_rfc3339(value: str | None) -> datetime | None:
    """A time of a status (RFC 3339, "Z" or an offset); None when there is none or it does not
    parse (hand-edited), and UTC when it names no zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
