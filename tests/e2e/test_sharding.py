"""Shards: two operators on one cluster, `--selector shard=a` and `--selector shard=b`, each
handling only the resources labelled for it and never touching the other's; unlabelled
resources are handled by neither.

Runs on a control plane of its own: the session's operator is cluster-wide and unsharded,
so it would act on these resources too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving_operator.handlers.sharding import UNSHARDED_FINALIZER, finalizer_for
from serving_operator.labelselector import parse_selector
from tests.e2e.helpers import wait_for_condition, wait_for_status, wait_gone
from tests.support import cluster, controlplane, processes
from tests.support import operator as operator_support
from tests.support.cli import isolated_env, run_cli
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant

pytestmark = pytest.mark.e2e

NAMESPACE = "shards"
FINALIZER_A = finalizer_for(parse_selector("shard=a"))
FINALIZER_B = finalizer_for(parse_selector("shard=b"))


@pytest.fixture
def shard_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    with own_control_plane(tmp_path / "controlplane", namespaces=[NAMESPACE]) as plane:
        yield plane


def shard(
    tmp_path: Path, plane: controlplane.ControlPlane, sandbox: Sandbox, selector: str
) -> operator_support.OperatorProcess:
    return operator_support.start(
        tmp_path / re.sub(r"\W+", "-", selector),
        plane.kubeconfig(controlplane.OPERATOR_USER),
        sandbox.env,
        args=["--standalone", "--selector", selector],
    )


def labelled(body: dict[str, Any], **labels: str) -> dict[str, Any]:
    body["metadata"]["labels"] = labels
    return body


def split(name: str, endpoint: str, variant_name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{cluster.GROUP}/{cluster.VERSION}",
        "kind": "TrafficSplit",
        "metadata": {"name": name},
        "spec": {
            "endpointRef": {"name": endpoint},
            "weights": [{"variant": variant_name, "weight": 100}],
        },
    }


def named_in(process: operator_support.OperatorProcess, name: str) -> bool:
    """Whether the operator's log has a line about this object (kopf prefixes them)."""
    return f"[{NAMESPACE}/{name}]" in process.log.read_text()


def test_two_shards_each_handle_only_their_own_resources(
    tmp_path: Path, shard_plane: controlplane.ControlPlane, sandbox: Sandbox, model_bucket: str
) -> None:
    api = cluster.api_client(shard_plane.kubeconfig(controlplane.ADMIN_USER))
    endpoints = cluster.Objects(api, "modelendpoints")
    splits = cluster.Objects(api, "trafficsplits")
    suffix = tmp_path.name[-6:].replace("_", "-").lower()
    names = {key: f"{key}-{suffix}" for key in ("a", "a-legacy", "b", "nobody", "other-label")}

    def endpoint(key: str, **labels: str) -> dict[str, Any]:
        body = labelled(model_endpoint(names[key], [variant("main", model_bucket)]), **labels)
        return body

    shard_a = shard(tmp_path, shard_plane, sandbox, "shard=a")
    shard_b = shard(tmp_path, shard_plane, sandbox, "shard=b")
    try:
        endpoints.create(NAMESPACE, endpoint("a", shard="a"))
        # As an unsharded install left it: shard a takes its finalizer over.
        legacy = endpoint("a-legacy", shard="a")
        legacy["metadata"]["finalizers"] = [UNSHARDED_FINALIZER]
        endpoints.create(NAMESPACE, legacy)
        endpoints.create(NAMESPACE, endpoint("b", shard="b"))
        endpoints.create(NAMESPACE, endpoint("nobody"))
        endpoints.create(NAMESPACE, endpoint("other-label", shard="c"))
        splits.create(NAMESPACE, labelled(split("split-a", names["a"], "main"), shard="a"))
        splits.create(NAMESPACE, labelled(split("split-b", names["b"], "main"), shard="b"))
        # A split in shard a on shard b's endpoint: a says why it cannot act; b never sees it.
        splits.create(NAMESPACE, labelled(split("across", names["b"], "main"), shard="a"))

        owners = {
            names["a"]: (shard_a, FINALIZER_A),
            names["a-legacy"]: (shard_a, FINALIZER_A),
            names["b"]: (shard_b, FINALIZER_B),
        }
        for name, (owner, _) in owners.items():
            wait_for_condition(endpoints, NAMESPACE, name, "Ready", owner)
        ready_a = wait_for_condition(splits, NAMESPACE, "split-a", "Ready", shard_a)
        ready_b = wait_for_condition(splits, NAMESPACE, "split-b", "Ready", shard_b)
        across = wait_for_condition(splits, NAMESPACE, "across", "Stalled", shard_a)

        # Each shard's operator handled its own, wrote its own finalizer and status...
        for name, (owner, finalizer) in owners.items():
            obj = endpoints.get(NAMESPACE, name)
            assert obj is not None
            assert obj["metadata"]["finalizers"] == [finalizer], name
            assert f"[{NAMESPACE}/{name}] Handler 'modelendpoint-create' succeeded" in (
                owner.log.read_text()
            ) or f"[{NAMESPACE}/{name}] Handler 'modelendpoint-resume' succeeded" in (
                owner.log.read_text()
            )
        assert ready_a["metadata"]["finalizers"] == [FINALIZER_A]
        assert ready_b["metadata"]["finalizers"] == [FINALIZER_B]
        assert ready_a["status"]["phase"] == ready_b["status"]["phase"] == "Succeeded"
        stalled = cluster.condition(across, "Stalled")
        assert stalled is not None
        assert stalled["reason"] == "ModelEndpointInOtherShard"
        assert "shard in (a)" in stalled["message"]
        # ...and shard b keeps writing its endpoint's weights: the split across is not its.
        wait_for_condition(
            endpoints,
            NAMESPACE,
            names["b"],
            "Ready",
            shard_b,
            also=lambda o: o["status"].get("weightsManagedBy") == "TrafficSplit/split-b",
        )

        # ...while the other shard's log never names it.
        for name in (names["a"], names["a-legacy"], "split-a", "across"):
            assert not named_in(shard_b, name), name
        for name in (names["b"], "split-b"):
            assert not named_in(shard_a, name), name

        # Unlabelled, or labelled for no running shard: nobody's, in Kubernetes and in AWS.
        for key in ("nobody", "other-label"):
            obj = endpoints.get(NAMESPACE, names[key])
            assert obj is not None
            assert "finalizers" not in obj["metadata"], obj["metadata"]
            # The CRD's default status, as created: no pass has written it.
            assert obj["status"]["observedGeneration"] == 0, obj["status"]
            assert [c["reason"] for c in obj["status"]["conditions"]] == ["Pending"]
            assert not named_in(shard_a, names[key])
            assert not named_in(shard_b, names[key])
        aws_endpoints = {
            e["EndpointName"]
            for e in sandbox.client("sagemaker").list_endpoints(MaxResults=100)["Endpoints"]
        }
        assert {names["a"], names["a-legacy"], names["b"]} <= aws_endpoints
        assert not {names["nobody"], names["other-label"]} & aws_endpoints

        # Both keep resyncing their own (RESYNC=3 s) and never touch the other's objects: a
        # shard that stripped the other's finalizer, and the owner putting it back, would
        # show as new resource versions of objects whose status no longer changes.
        versions = {
            (plural, name): objects.get(NAMESPACE, name)["metadata"]["resourceVersion"]  # type: ignore[index]
            for plural, objects, keys in (
                ("modelendpoints", endpoints, [names["a"], names["b"], names["nobody"]]),
                ("trafficsplits", splits, ["split-a", "split-b"]),
            )
            for name in keys
        }
        passes_before = reconcile_passes(shard_a), reconcile_passes(shard_b)
        processes.wait_until(
            lambda: (
                reconcile_passes(shard_a) >= passes_before[0] + 8
                and reconcile_passes(shard_b) >= passes_before[1] + 6
            ),
            timeout=60,
            what="both shards to resync their resources twice",
            log=shard_a.log,
        )
        for (plural, name), version in versions.items():
            objects = endpoints if plural == "modelendpoints" else splits
            obj = objects.get(NAMESPACE, name)
            assert obj is not None
            assert obj["metadata"]["resourceVersion"] == version, (plural, name, obj["metadata"])

        # Deletion is the owning shard's too: it cleans up AWS and releases its finalizer.
        splits.delete(NAMESPACE, "split-a")
        endpoints.delete(NAMESPACE, names["a"])
        wait_gone(endpoints, NAMESPACE, names["a"], shard_a)
        assert f"[{NAMESPACE}/{names['a']}] Handler 'modelendpoint-delete' succeeded" in (
            shard_a.log.read_text()
        )
        assert not named_in(shard_b, names["a"])
        # Relabelled into shard b: a lets go, b takes it (its finalizer, its status).
        endpoints.custom.patch_namespaced_custom_object(
            cluster.GROUP,
            cluster.VERSION,
            NAMESPACE,
            "modelendpoints",
            names["a-legacy"],
            {"metadata": {"labels": {"shard": "b"}}},
        )
        wait_for_status(
            endpoints,
            NAMESPACE,
            names["a-legacy"],
            shard_b,
            lambda o: (
                o["metadata"].get("finalizers") == [FINALIZER_B] and cluster.is_true(o, "Ready")
            ),
            "shard b's finalizer only",
        )
        creations = [
            c
            for c in sandbox.calls()
            if c["operation"] == "CreateEndpoint" and c.get("target") == names["a-legacy"]
        ]
        assert len(creations) == 1, "the new shard takes the endpoint over, not recreates it"
    finally:
        shard_a.stop()
        shard_b.stop()
        strip_finalizers(endpoints, splits)


def reconcile_passes(process: operator_support.OperatorProcess) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in process.metrics().splitlines()
        if line.startswith("serving_operator_reconciles_total{")
    )


def strip_finalizers(*collections: cluster.Objects) -> None:
    """The control plane goes with the test; nothing should wait on a finalizer meanwhile."""
    for objects in collections:
        for item in objects.custom.list_namespaced_custom_object(
            cluster.GROUP, cluster.VERSION, NAMESPACE, objects.plural
        )["items"]:
            objects.custom.patch_namespaced_custom_object(
                cluster.GROUP,
                cluster.VERSION,
                NAMESPACE,
                objects.plural,
                item["metadata"]["name"],
                {"metadata": {"finalizers": None}},
            )


@pytest.mark.parametrize(
    ("selector", "complaint"),
    [("shard in (a,b", "'(' without ')'"), ("shard>1", "not a label key")],
)
def test_a_bad_selector_stops_run_in_one_line(
    tmp_path: Path, selector: str, complaint: str
) -> None:
    done = run_cli(
        ["run", "--standalone", "--selector", selector, "--metrics-port", "0"],
        isolated_env(tmp_path),
        timeout=60,
    )
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: --selector ")
    assert complaint in line
    # The environment variable the chart sets is read, and checked, the same way.
    done = run_cli(
        ["run", "--standalone", "--metrics-port", "0"],
        isolated_env(tmp_path, SERVING_OPERATOR_SELECTOR=selector),
        timeout=60,
    )
    assert done.returncode == 2, done
    assert complaint in done.stderr
