"""Active/standby handover when the active replica dies without leaving (SIGKILL, as an OOM
kill or a lost node would): its peering record stays until it expires, and the standby
resumes within SERVING_OPERATOR_PEERING_LIFETIME_SECONDS, takes up the work the dead
replica left in flight, acts on a change made while no replica was active, and does
nothing twice in AWS.

The handover time is measured and reported (`-s` prints it; junit gets it as a property);
it is asserted only against a generous bound that the lifetime setting implies.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import wait_for_condition, wait_for_status
from tests.e2e.test_peering import NAMESPACE, peering_plane, replica
from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_FIXTURES = peering_plane  # the control plane with the peering object, from test_peering

# Short, so the test runs fast; production defaults to 30 s (docs/configuration.md).
LIFETIME_SECONDS = 10
POLL_SECONDS = 1  # tests/support/operator.py
# The standby lists the resources and runs a pass over each after it resumes: on a machine
# shared by many test workers that can take a while. Generous: this is no benchmark.
SLACK_SECONDS = 45
CREATES = ("CreateModel", "CreateEndpointConfig", "CreateEndpoint")


@pytest.fixture
def slow_creation(sandbox: Sandbox) -> Iterator[None]:
    """Long enough that an endpoint is still Creating when the active replica dies."""
    before = sandbox._admin("GET", "settings")
    sandbox.settings(creatingSeconds=6.0, updatingSeconds=2.0)
    yield
    sandbox.settings(**before)


def sigkill(process: operator_support.OperatorProcess) -> None:
    process.process.send_signal(signal.SIGKILL)
    process.process.wait(timeout=20)


def handled_anything(process: operator_support.OperatorProcess) -> bool:
    return "Handler 'modelendpoint-" in process.log.read_text()


def our_calls(
    sandbox: Sandbox, names: list[str], operations: tuple[str, ...]
) -> Counter[tuple[str, str]]:
    """(operation, target) of the successful calls naming one of our endpoints' AWS objects."""
    return Counter(
        (call["operation"], str(call.get("target")))
        for call in sandbox.calls()
        if call["operation"] in operations
        and call.get("status", 200) < 300
        and any(str(call.get("target", "")).startswith(name) for name in names)
    )


def seconds_until(
    check: Callable[[], bool], since: float, *, timeout: float, what: str, log: Path
) -> float:
    processes.wait_until(check, timeout=timeout, interval=0.2, what=what, log=log)
    return time.monotonic() - since


def test_a_killed_active_replica_is_taken_over_within_the_lifetime_and_nothing_runs_twice(
    tmp_path: Path,
    peering_plane: controlplane.ControlPlane,
    sandbox: Sandbox,
    model_bucket: str,
    slow_creation: None,
    record_property: Callable[[str, object], None],
) -> None:
    api = cluster.api_client(peering_plane.kubeconfig(controlplane.ADMIN_USER))
    objects = cluster.Objects(api, "modelendpoints")
    lifetime = {"SERVING_OPERATOR_PEERING_LIFETIME_SECONDS": str(LIFETIME_SECONDS)}
    active = replica(tmp_path, peering_plane, sandbox, "active", 200, lifetime)
    standby = replica(tmp_path, peering_plane, sandbox, "standby", 100, lifetime)
    suffix = tmp_path.name[-8:].lower().replace("_", "-").strip("-")
    served, in_flight = f"served-{suffix}", f"in-flight-{suffix}"
    names = [served, in_flight]
    try:
        objects.create(NAMESPACE, model_endpoint(served, [variant("a", model_bucket, "v1")]))
        wait_for_condition(objects, NAMESPACE, served, "Ready", active)
        objects.create(NAMESPACE, model_endpoint(in_flight, [variant("a", model_bucket, "v1")]))
        wait_for_status(
            objects,
            NAMESPACE,
            in_flight,
            active,
            lambda o: o.get("status", {}).get("endpointStatus") == "Creating",
            "endpoint Creating",
        )
        assert handled_anything(active)
        assert not handled_anything(standby), "the standby acted while the active was alive"

        sigkill(active)
        killed_at = time.monotonic()
        # A change while no replica acts: only the standby, once resumed, can carry it out.
        objects.patch_spec(NAMESPACE, served, {"variants": [variant("a", model_bucket, "v2")]})
        generation = (objects.get(NAMESPACE, served) or {})["metadata"]["generation"]

        resumed = seconds_until(
            lambda: "Resuming operations" in standby.log.read_text(),
            killed_at,
            timeout=LIFETIME_SECONDS + SLACK_SECONDS,
            what="the standby to resume",
            log=standby.log,
        )
        acted = seconds_until(
            lambda: (
                (objects.get(NAMESPACE, served) or {}).get("status", {}).get("observedGeneration")
                == generation
            ),
            killed_at,
            timeout=LIFETIME_SECONDS + POLL_SECONDS + SLACK_SECONDS,
            what="the standby to act on the change",
            log=standby.log,
        )
        print(
            f"\nhandover after SIGKILL with a {LIFETIME_SECONDS} s peering lifetime:"
            f" standby resumed in {resumed:.1f} s, acted on a change in {acted:.1f} s"
        )
        record_property("handover_resumed_seconds", round(resumed, 1))
        record_property("handover_acted_seconds", round(acted, 1))
        assert acted < LIFETIME_SECONDS + POLL_SECONDS + SLACK_SECONDS

        for name in names:
            wait_for_condition(objects, NAMESPACE, name, "Ready", standby, timeout=90)
        sagemaker = sandbox.client("sagemaker")
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=sagemaker.describe_endpoint(EndpointName=served)[
                "EndpointConfigName"
            ]
        )
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        assert model["PrimaryContainer"]["ModelDataUrl"].endswith("/xgboost/v2/model.tar.gz")
    finally:
        active.stop()
        standby.stop()

    repeated = {k: n for k, n in our_calls(sandbox, names, CREATES).items() if n > 1}
    assert not repeated, f"created twice across the handover: {repeated}"
    creates = our_calls(sandbox, [in_flight], ("CreateEndpoint",))
    assert creates == {("CreateEndpoint", in_flight): 1}
    # One config change, one UpdateEndpoint (none for the endpoint that was being created).
    updates = our_calls(sandbox, names, ("UpdateEndpoint",))
    assert updates == {("UpdateEndpoint", served): 1}
