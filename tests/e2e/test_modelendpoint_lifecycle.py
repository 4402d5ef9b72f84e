"""The tracer bullet: a ModelEndpoint is created in SageMaker, reports status, and is deleted.

The real operator process runs against the real kube-apiserver and the AWS sandbox.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_events, wait_gone
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e


def _names(items: list[dict[str, str]], key: str, prefix: str) -> set[str]:
    return {i[key] for i in items if i[key].startswith(prefix)}


def test_ab_endpoint_is_created_reports_status_and_is_deleted(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"ab-{namespace}"
    model_endpoints.create(
        namespace,
        model_endpoint(
            name,
            [
                variant("version-0-90-2", model_bucket, "v1"),
                variant("version-1-2-2", model_bucket, "v2"),
            ],
        ),
    )

    ready = wait_for_condition(model_endpoints, namespace, name, "Ready", operator)

    status = ready["status"]
    assert status["endpointStatus"] == "InService"
    assert status["endpointArn"].endswith(f":endpoint/{name}")
    assert {v["name"]: v["currentWeightPercent"] for v in status["variants"]} == {
        "version-0-90-2": 50.0,
        "version-1-2-2": 50.0,
    }
    assert all(v["currentInstanceCount"] == 1 for v in status["variants"])
    assert cluster.condition(ready, "Stalled")["status"] == "False"
    assert cluster.condition(ready, "Reconciling")["status"] == "False"

    sagemaker = sandbox.client("sagemaker")
    described = sagemaker.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == status["endpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=status["endpointConfigName"])
    assert {v["VariantName"]: v["InstanceType"] for v in config["ProductionVariants"]} == {
        "version-0-90-2": "ml.m5.large",
        "version-1-2-2": "ml.m5.large",
    }
    models = {v["ModelName"] for v in config["ProductionVariants"]}
    assert len(models) == 2
    wait_for_events(
        model_endpoints,
        namespace,
        name,
        operator,
        lambda events: (
            {"CreatedModel", "CreatedEndpointConfig", "CreatedEndpoint"}
            <= {e.reason for e in events}
        ),
        "CreatedModel, CreatedEndpointConfig and CreatedEndpoint",
    )

    model_endpoints.delete(namespace, name)
    wait_gone(model_endpoints, namespace, name, operator)

    assert name not in {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}
    assert not _names(
        sagemaker.list_endpoint_configs(NameContains=name, MaxResults=100)["EndpointConfigs"],
        "EndpointConfigName",
        name,
    )
    assert not _names(
        sagemaker.list_models(NameContains=name, MaxResults=100)["Models"], "ModelName", name
    )


def test_missing_model_artifact_stalls_with_sagemakers_reason(
    operator: OperatorProcess,
    namespace: str,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    name = f"missing-{namespace}"
    model_endpoints.create(
        namespace, model_endpoint(name, [variant("only", model_bucket, "does-not-exist")])
    )

    stalled = wait_for_condition(model_endpoints, namespace, name, "Stalled", operator)

    message = cluster.condition(stalled, "Stalled")["message"]
    assert "Failed to download model data" in message
    assert f"s3://{model_bucket}/xgboost/does-not-exist/model.tar.gz" in message
    assert cluster.condition(stalled, "Ready")["status"] == "False"
    wait_for_events(
        model_endpoints,
        namespace,
        name,
        operator,
        lambda events: any(
            e.type == "Warning" and "Failed to download model data" in e.message for e in events
        ),
        "a Warning: Failed to download model data",
    )
