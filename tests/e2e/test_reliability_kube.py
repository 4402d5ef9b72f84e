"""Kubernetes faults under a running operator: kube-apiserver and etcd restarted while
reconciles are in flight.

The operator must ride them out: no crash on a lost watch, watches re-established (a spec
changed right after the restart is acted upon: only a watch brings the operator the new
spec), every resource converged with its status for the latest generation, and nothing
made twice in AWS.

Status writes cannot conflict: the operator writes status only through kopf's merge patch
of the status subresource, which carries no resourceVersion (no 409 is possible). What an
outage can do is fail that write: kopf retries it (connection refused, 5xx), by default for
about a minute, after which a timer's write escalates and kopf never runs that timer for
that object again. The operator retries without end instead (handlers/api_retries.py), and
the apiserver outage below outlasts kopf's default budget to prove it.

Runs on a control plane of its own (the session's is shared with other tests), restarted
in place: same ports, same etcd data.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kopf
import kubernetes
import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_status
from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Long enough that every endpoint is still Creating when the control plane goes down.
SLOW_AWS = {"creatingSeconds": 6.0, "updatingSeconds": 3.0, "deletingSeconds": 1.0}
ENDPOINTS = 3
CREATES = ("CreateModel", "CreateEndpointConfig", "CreateEndpoint")
_KOPF_BACKOFFS = kopf.OperatorSettings().networking.error_backoffs
KOPF_DEFAULT_RETRY_SECONDS = sum(
    _KOPF_BACKOFFS if not isinstance(_KOPF_BACKOFFS, float | int) else [_KOPF_BACKOFFS]
)
"""How long stock kopf retries a failed API request before it escalates (about a minute)."""


@pytest.fixture(scope="module")
def restartable_plane(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[controlplane.ControlPlane]:
    with own_control_plane(tmp_path_factory.mktemp("kube-faults") / "controlplane") as plane:
        yield plane


@pytest.fixture(scope="module")
def slow_aws(sandbox: Sandbox) -> Iterator[None]:
    before = sandbox._admin("GET", "settings")
    sandbox.settings(**SLOW_AWS)
    yield
    sandbox.settings(**before)


@pytest.fixture(scope="module")
def faulted_operator(
    tmp_path_factory: pytest.TempPathFactory,
    restartable_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    slow_aws: None,
) -> Iterator[operator_support.OperatorProcess]:
    process = operator_support.start(
        tmp_path_factory.mktemp("kube-faults-operator"),
        restartable_plane.kubeconfig(controlplane.OPERATOR_USER),
        sandbox.env,
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def objects(restartable_plane: controlplane.ControlPlane) -> cluster.Objects:
    api = cluster.api_client(restartable_plane.kubeconfig(controlplane.ADMIN_USER))
    return cluster.Objects(api, "modelendpoints")


@pytest.fixture
def fault_namespace(restartable_plane: controlplane.ControlPlane, tmp_path: Path) -> str:
    api = cluster.api_client(restartable_plane.kubeconfig(controlplane.ADMIN_USER))
    name = f"faults-{tmp_path.name[-8:]}".lower().replace("_", "-").strip("-")
    kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def endpoint_names(namespace: str) -> list[str]:
    # SageMaker endpoint names are account-wide and the sandbox is shared: make them unique.
    return [f"{namespace}-{index}" for index in range(ENDPOINTS)]


def create_endpoints(objects: cluster.Objects, namespace: str, bucket: str) -> list[str]:
    names = endpoint_names(namespace)
    for name in names:
        objects.create(namespace, model_endpoint(name, [variant("a", bucket, "v1")]))
    return names


def wait_all_creating(
    objects: cluster.Objects,
    namespace: str,
    names: list[str],
    operator: operator_support.OperatorProcess,
) -> None:
    """Every endpoint's CreateEndpoint is under way in AWS and reported as Reconciling."""
    for name in names:
        wait_for_status(
            objects,
            namespace,
            name,
            operator,
            lambda o: (
                o.get("status", {}).get("endpointStatus") == "Creating"
                and cluster.is_true(o, "Reconciling")
            ),
            "endpoint Creating",
        )


def wait_operator_failed_a_request(operator: operator_support.OperatorProcess, since: int) -> None:
    """The operator has tried the API and failed since the log was `since` bytes long: the
    outage is real to it, not only to us."""

    def failed_a_request() -> bool:
        text = operator.log.read_bytes()[since:].decode(errors="replace")
        return "Request attempt" in text and "failed" in text

    processes.wait_until(
        failed_a_request, timeout=90, what="the operator to hit the outage", log=operator.log
    )


def served_model_url(sandbox: Sandbox, endpoint: str) -> str:
    sagemaker = sandbox.client("sagemaker")
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return str(model["PrimaryContainer"]["ModelDataUrl"])


def creates_per_name(sandbox: Sandbox, names: list[str]) -> Counter[tuple[str, str]]:
    """(operation, target) for every successful Create* naming one of our endpoints' objects."""
    return Counter(
        (call["operation"], call["target"])
        for call in sandbox.calls()
        if call["operation"] in CREATES
        and call.get("status", 200) < 300
        and any(str(call.get("target", "")).startswith(name) for name in names)
    )


def assert_converged_once(
    objects: cluster.Objects,
    namespace: str,
    names: list[str],
    operator: operator_support.OperatorProcess,
    sandbox: Sandbox,
    bucket: str,
    latest: dict[str, str],
) -> None:
    """Every endpoint Ready for its latest generation, serving its latest model, each AWS
    object created once, and the operator still the same live process."""
    for name in names:
        ready: dict[str, Any] = wait_for_condition(
            objects, namespace, name, "Ready", operator, timeout=120
        )
        assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]
        version = latest.get(name, "v1")
        assert served_model_url(sandbox, name) == f"s3://{bucket}/xgboost/{version}/model.tar.gz"
    repeated = {key: n for key, n in creates_per_name(sandbox, names).items() if n > 1}
    assert not repeated, f"AWS objects created more than once: {repeated}"
    assert operator.process.poll() is None, operator.log.read_text()[-3000:]
    assert operator.alive()


def change_model(objects: cluster.Objects, namespace: str, name: str, bucket: str) -> str:
    objects.patch_spec(namespace, name, {"variants": [variant("a", bucket, "v2")]})
    return "v2"


def test_apiserver_restart_mid_reconcile_loses_nothing(
    restartable_plane: controlplane.ControlPlane,
    faulted_operator: operator_support.OperatorProcess,
    objects: cluster.Objects,
    fault_namespace: str,
    sandbox: Sandbox,
    model_bucket: str,
) -> None:
    names = create_endpoints(objects, fault_namespace, model_bucket)
    wait_all_creating(objects, fault_namespace, names, faulted_operator)

    log_size = faulted_operator.log.stat().st_size

    def outlast_kopf_default_retries() -> None:
        wait_operator_failed_a_request(faulted_operator, log_size)
        # The outage's length is the fault under test, not a wait for a condition: longer
        # than stock kopf would retry a status write before it stopped the object's timer.
        time.sleep(KOPF_DEFAULT_RETRY_SECONDS + 5)

    restartable_plane.restart_apiserver(while_down=outlast_kopf_default_retries)
    # Right after the restart: the operator sees this only through a re-established watch.
    latest = {names[0]: change_model(objects, fault_namespace, names[0], model_bucket)}

    assert_converged_once(
        objects, fault_namespace, names, faulted_operator, sandbox, model_bucket, latest
    )


def test_etcd_restart_mid_reconcile_loses_nothing(
    restartable_plane: controlplane.ControlPlane,
    faulted_operator: operator_support.OperatorProcess,
    objects: cluster.Objects,
    fault_namespace: str,
    sandbox: Sandbox,
    model_bucket: str,
) -> None:
    names = create_endpoints(objects, fault_namespace, model_bucket)
    wait_all_creating(objects, fault_namespace, names, faulted_operator)

    log_size = faulted_operator.log.stat().st_size
    # etcd alone: the apiserver stays up and its watches stay open, but a status write waits
    # for storage until the apiserver gives up on it (504), which the operator retries.
    restartable_plane.restart_etcd(
        while_down=lambda: wait_operator_failed_a_request(faulted_operator, log_size)
    )
    latest = {names[0]: change_model(objects, fault_namespace, names[0], model_bucket)}
    assert_converged_once(
        objects, fault_namespace, names, faulted_operator, sandbox, model_bucket, latest
    )
