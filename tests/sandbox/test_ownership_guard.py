"""The SageMaker adapter's ownership guard, against the sandbox: of the models and endpoint
configs whose names have exactly the operator's hashed shape for an endpoint
(`<endpoint>-<10 hex>`), only those whose owner tag names this very resource are its own.
Another install's objects, a copy made by hand, another resource's: the name filter cannot
tell them apart, only the tag can, and cleanup and deletion must never touch them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import pytest

from serving_operator.api.modelendpoint import ModelEndpointSpec
from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.clients import Clients
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.planning.modelendpoint.actions import CreateEndpointConfig, CreateModel
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint, desired_endpoint
from serving_operator.planning.modelendpoint.memory import Memory
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.planning.ownership import MANAGED_BY, MANAGED_BY_TAG, OWNER_TAG, owner_id
from serving_operator.reconcile.modelendpoint.reconciler import ModelEndpointReconciler
from tests.support.lookalikes import Lookalike, make_lookalike
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint_spec, variant

NAMESPACE = "guard"
FOREIGN_TAGS = {
    "untagged": [],
    "another resource's": [
        {"Key": MANAGED_BY_TAG, "Value": MANAGED_BY},
        {"Key": OWNER_TAG, "Value": owner_id("elsewhere", "bikes")},
    ],
    "managed but ownerless": [{"Key": MANAGED_BY_TAG, "Value": MANAGED_BY}],
}
"""Tags of objects that are not the resource's, however their names look."""
DELETES = {"DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"}


@dataclass(frozen=True)
class Scene:
    name: str
    spec: ModelEndpointSpec
    desired: DesiredEndpoint
    owner: str
    adapter: SageMaker
    lookalikes: dict[str, Lookalike]


@pytest.fixture
def scene(sandbox: Sandbox, model_bucket: str) -> Iterator[Scene]:
    """A resource's own models and config, made as the operator makes them, and a lookalike
    model and config for each kind of tags that is not the resource's."""
    name = f"guard-{uuid.uuid4().hex[:8]}"
    spec = model_endpoint_spec(variant("a", model_bucket), variant("b", model_bucket, "v2"))
    desired = desired_endpoint(spec, namespace=NAMESPACE, name=name)
    client = sandbox.client("sagemaker")
    adapter = SageMaker(client, TokenBucket(1000, 1000))
    for action in (
        *(CreateModel(model, desired.tags) for model in desired.models),
        CreateEndpointConfig(desired.config_name, desired.config_request(), desired.tags),
    ):
        adapter.execute(action)
    lookalikes = {
        kind: make_lookalike(client, desired.endpoint_name, model_bucket, tags)
        for kind, tags in FOREIGN_TAGS.items()
    }
    yield Scene(name, spec, desired, owner_id(NAMESPACE, name), adapter, lookalikes)
    for lookalike in lookalikes.values():
        # Gone already only if a test failed because they were deleted.
        if _exists(client.describe_endpoint_config, EndpointConfigName=lookalike.config):
            client.delete_endpoint_config(EndpointConfigName=lookalike.config)
        if _exists(client.describe_model, ModelName=lookalike.model):
            client.delete_model(ModelName=lookalike.model)


def _exists(describe: Any, **name: str) -> bool:
    try:
        describe(**name)
    except botocore.exceptions.ClientError as error:
        if "Could not find" in error.response["Error"]["Message"]:
            return False
        raise
    return True


def test_only_objects_tagged_for_this_resource_are_its_own(scene: Scene) -> None:
    endpoint_name = scene.desired.endpoint_name

    assert scene.adapter.owned_models(endpoint_name, scene.owner) == scene.desired.model_names
    assert scene.adapter.owned_configs(endpoint_name, scene.owner) == {scene.desired.config_name}


def test_deleting_the_resource_leaves_lookalikes_and_an_untagged_endpoint_of_its_name(
    scene: Scene, sandbox: Sandbox
) -> None:
    """The whole deletion pass through the real adapters: someone made an endpoint of the
    resource's name by hand, on a lookalike config."""
    client = sandbox.client("sagemaker")
    endpoint_name = scene.desired.endpoint_name
    client.create_endpoint(
        EndpointName=endpoint_name, EndpointConfigName=scene.lookalikes["untagged"].config
    )
    clients = Clients(
        sagemaker=scene.adapter,
        autoscaling=ApplicationAutoScaling(
            sandbox.client("application-autoscaling"), TokenBucket(1000, 1000)
        ),
        s3=S3(sandbox.client("s3"), TokenBucket(1000, 1000)),
        runtime=SageMakerRuntime(sandbox.client("sagemaker-runtime"), TokenBucket(1000, 1000)),
        cloudwatch=CloudWatch(sandbox.client("cloudwatch"), TokenBucket(1000, 1000)),
    )
    sandbox.forget_calls()

    result = ModelEndpointReconciler(clients).delete(
        scene.spec, namespace=NAMESPACE, name=scene.name, memory=Memory()
    )

    assert result.outcome.kind == OutcomeKind.READY, result.outcome
    assert _exists(client.describe_endpoint, EndpointName=endpoint_name)
    for lookalike in scene.lookalikes.values():
        assert _exists(client.describe_model, ModelName=lookalike.model)
        assert _exists(client.describe_endpoint_config, EndpointConfigName=lookalike.config)
    for model in scene.desired.model_names:
        assert not _exists(client.describe_model, ModelName=model)
    assert not _exists(
        client.describe_endpoint_config, EndpointConfigName=scene.desired.config_name
    )
    deleted = {c["target"] for c in sandbox.calls() if c["operation"] in DELETES}
    assert deleted == {*scene.desired.model_names, scene.desired.config_name}
    client.delete_endpoint(EndpointName=endpoint_name)
