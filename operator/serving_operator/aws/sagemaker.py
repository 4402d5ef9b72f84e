"""SageMaker adapter: reads endpoints into records, executes endpoint actions."""

from __future__ import annotations

import enum
import threading
import time
from typing import Any, assert_never

from serving_operator.aws.base import AwsError, ServiceAdapter
from serving_operator.aws.ratelimit import RateLimiter
from serving_operator.planning.modelendpoint.actions import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteModel,
    SageMakerAction,
    TagEndpoint,
    UpdateEndpoint,
    UpdateWeightsAndCapacities,
)
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedArtifacts,
    ObservedEndpoint,
    ObservedVariant,
)
from serving_operator.planning.naming import is_hashed_child_name, name_prefix
from serving_operator.planning.ownership import OWNER_TAG, ObservedOwner, Tags


def _is_not_found(error: AwsError) -> bool:
    # SageMaker answers a missing endpoint, config or model with ValidationException.
    return error.code in ("ValidationException", "ResourceNotFound") and (
        "Could not find" in error.aws_message or "does not exist" in error.aws_message
    )


EXISTED = "existed"
"""The metrics' outcome of a create SageMaker refused because the object already exists."""

_CREATES_OF_HASHED_NAMES = frozenset({"CreateModel", "CreateEndpointConfig"})


def _already_exists(error: AwsError) -> bool:
    # SageMaker: ValidationException 'Cannot create already existing model "arn:...".' (and
    # '... endpoint configuration "arn:..."'). Matched loosely: the wording is not documented.
    return error.code == "ValidationException" and "already exist" in error.aws_message.lower()


# Public names for the adapters of other SageMaker objects (inference components).
is_not_found = _is_not_found
is_already_exists = _already_exists


class Effect(enum.Enum):
    """What executing an action did."""

    DONE = "done"
    EXISTED = "existed"
    """A create found the object there already; as the name is a content hash, it is the one
    wanted (an earlier pass made it and stopped before it could record that)."""


def _tag_list(tags: Tags) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


class SageMaker(ServiceAdapter):
    service = "sagemaker"

    def __init__(self, client: Any, limiter: RateLimiter) -> None:
        super().__init__(client, limiter)
        # The last read of each endpoint (when, what it showed), for a pass that can use a
        # read another pass made; and a count of writes to each endpoint, so a read that a
        # write overtook is not kept. Reconciles run on several worker threads.
        self._reads_lock = threading.Lock()
        self._last_reads: dict[str, tuple[float, ObservedEndpoint | None]] = {}
        self._writes: dict[str, int] = {}

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        name = params.get("EndpointName")
        if isinstance(name, str) and not operation.startswith(("Describe", "List")):
            with self._reads_lock:
                self._writes[name] = self._writes.get(name, 0) + 1
                self._last_reads.pop(name, None)
        return super().call(operation, **params)

    def describe_endpoint(
        self, name: str, *, read_since: float | None = None, now: float | None = None
    ) -> ObservedEndpoint | None:
        """The endpoint now (None: it does not exist). With `read_since` (epoch seconds;
        `now` is the caller's clock, the system's when None), the endpoint as any pass of
        this process read it at or after that moment, if one did and nothing was written to
        it since: a TrafficSplit at rest uses its ModelEndpoint's read."""
        moment = time.time() if now is None else now
        with self._reads_lock:
            last = self._last_reads.get(name)
            writes = self._writes.get(name, 0)
        if read_since is not None and last is not None and read_since <= last[0] <= moment:
            return last[1]
        endpoint = self._read_endpoint(name)
        with self._reads_lock:
            if self._writes.get(name, 0) == writes:
                self._last_reads[name] = (moment, endpoint)
        return endpoint

    def _read_endpoint(self, name: str) -> ObservedEndpoint | None:
        try:
            response = self.call("DescribeEndpoint", EndpointName=name)
        except AwsError as error:
            if _is_not_found(error):
                return None
            raise
        return ObservedEndpoint(
            name=response["EndpointName"],
            arn=response["EndpointArn"],
            status=EndpointStatus(response["EndpointStatus"]),
            config_name=response.get("EndpointConfigName", ""),
            failure_reason=response.get("FailureReason"),
            variants=tuple(
                ObservedVariant(
                    name=v["VariantName"],
                    current_weight=v.get("CurrentWeight"),
                    desired_weight=v.get("DesiredWeight"),
                    current_instance_count=v.get("CurrentInstanceCount"),
                    desired_instance_count=v.get("DesiredInstanceCount"),
                )
                for v in response.get("ProductionVariants", [])
            ),
        )

    def owner_of(self, arn: str) -> ObservedOwner:
        """The owner tag of an endpoint, model or config."""
        tags = self.call("ListTags", ResourceArn=arn).get("Tags", [])
        return ObservedOwner(next((t["Value"] for t in tags if t["Key"] == OWNER_TAG), None))

    def _exists(self, operation: str, **params: Any) -> bool:
        try:
            self.call(operation, **params)
        except AwsError as error:
            if _is_not_found(error):
                return False
            raise
        return True

    def observe_artifacts(self, desired: DesiredEndpoint) -> ObservedArtifacts:
        existing = frozenset(
            m.name for m in desired.models if self._exists("DescribeModel", ModelName=m.name)
        )
        return ObservedArtifacts(
            existing_models=existing,
            config_exists=self._exists(
                "DescribeEndpointConfig", EndpointConfigName=desired.config_name
            ),
        )

    def _owned(
        self, list_operation: str, key: str, endpoint_name: str, owner: str
    ) -> frozenset[str]:
        """Names of models or configs that carry our naming scheme and owner tag."""
        names: list[tuple[str, str]] = []
        params: dict[str, Any] = {"NameContains": name_prefix(endpoint_name), "MaxResults": 100}
        while True:
            page = self.call(list_operation, **params)
            names += [
                (item[f"{key}Name"], item[f"{key}Arn"])
                for item in page.get(f"{key}s", [])
                if is_hashed_child_name(item[f"{key}Name"], endpoint_name)
            ]
            if not page.get("NextToken"):
                break
            params["NextToken"] = page["NextToken"]
        return frozenset(name for name, arn in names if self.owner_of(arn).owner == owner)

    def owned_configs(self, endpoint_name: str, owner: str) -> frozenset[str]:
        return self._owned("ListEndpointConfigs", "EndpointConfig", endpoint_name, owner)

    def owned_models(self, endpoint_name: str, owner: str) -> frozenset[str]:
        return self._owned("ListModels", "Model", endpoint_name, owner)

    def outcome_of(self, error: AwsError) -> str:
        if error.operation in _CREATES_OF_HASHED_NAMES and _already_exists(error):
            return EXISTED
        return error.code

    def execute(self, action: SageMakerAction) -> Effect:
        """Carry out one planned action. Deleting what is already gone is not an error, nor
        is creating a model or config that exists (their names are content hashes)."""
        match action:
            case CreateModel(model=model, tags=tags):
                return self._create(
                    "CreateModel", ModelName=model.name, Tags=_tag_list(tags), **model.request
                )
            case CreateEndpointConfig(config_name=name, request=request, tags=tags):
                return self._create(
                    "CreateEndpointConfig",
                    EndpointConfigName=name,
                    Tags=_tag_list(tags),
                    **request,
                )
            case CreateEndpoint(endpoint_name=name, config_name=config, tags=tags):
                self.call(
                    "CreateEndpoint",
                    EndpointName=name,
                    EndpointConfigName=config,
                    Tags=_tag_list(tags),
                )
            case UpdateEndpoint(endpoint_name=name, config_name=config, options=options):
                self.call(
                    "UpdateEndpoint",
                    EndpointName=name,
                    EndpointConfigName=config,
                    **dict(options or {}),
                )
            case TagEndpoint(endpoint_arn=arn, tags=tags):
                self.call("AddTags", ResourceArn=arn, Tags=_tag_list(tags))
            case UpdateWeightsAndCapacities(endpoint_name=name, changes=changes):
                desired = []
                for change in changes:
                    entry: dict[str, Any] = {"VariantName": change.variant_name}
                    if change.weight is not None:
                        entry["DesiredWeight"] = change.weight
                    if change.instance_count is not None:
                        entry["DesiredInstanceCount"] = change.instance_count
                    desired.append(entry)
                self.call(
                    "UpdateEndpointWeightsAndCapacities",
                    EndpointName=name,
                    DesiredWeightsAndCapacities=desired,
                )
            case DeleteEndpoint(endpoint_name=name):
                self._delete("DeleteEndpoint", EndpointName=name)
            case DeleteEndpointConfig(config_name=name):
                self._delete("DeleteEndpointConfig", EndpointConfigName=name)
            case DeleteModel(model_name=name):
                self._delete("DeleteModel", ModelName=name)
            case _:
                assert_never(action)
        return Effect.DONE

    def _create(self, operation: str, **params: Any) -> Effect:
        try:
            self.call(operation, **params)
        except AwsError as error:
            if _already_exists(error):
                return Effect.EXISTED
            raise
        return Effect.DONE

    def _delete(self, operation: str, **params: Any) -> None:
        try:
            self.call(operation, **params)
        except AwsError as error:
            if not _is_not_found(error):
                raise
