"""50 ModelEndpoints, 10 TrafficSplits and 5 EdgeModels converge to exactly the desired AWS
state while every AWS call may be throttled (20%), fail with a 5xx (5%) and is slowed
(20-80 ms); afterwards nothing is orphaned or made twice, deleting them leaves nothing of
ours behind, and the operator's metrics show each retry bounded and backed off.

Runs on a control plane of its own with an operator of its own: the session's operator is
cluster-wide, so it would act on these resources too, and a fresh operator's metrics count
this test's calls only. The operator's client-side rate limits are raised (RATE_LIMITS) and
its resync lengthened (15 s) so that 65 resources fit the test's time, as one would tune a
deployment this size. The AWS sandbox is the session's; it is faulted as a whole while the
test runs, so the test reads AWS through clients of its own that retry up to 20 times
(standard mode): it checks the converged and the deleted state under the same faults, and
every read is idempotent, so a retried read cannot change what it sees.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

from serving_operator.aws.base import MAX_ATTEMPTS
from tests.support import cluster, controlplane
from tests.support import operator as operator_support
from tests.support.operator import OperatorProcess
from tests.support.planes import own_control_plane
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model, model_endpoint, variant

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1200)]

NAMESPACE = "faults"
ENDPOINTS, TWO_VARIANT, FIXED_SPLITS, CANARIES, EDGE_MODELS = 50, 20, 6, 4, 5
AUTOSCALED = (5, 15, 25, 35, 45)
"""Which endpoints autoscale: 5 in the two-variant half (its blue variant), 15 (both), and
three single-variant ones."""
BLUE, GREEN = "blue", "green"
FIXED_WEIGHTS = ((90, 10), (80, 20), (70, 30), (60, 40), (50, 50), (25, 75))
SCALING = {"minInstances": 1, "maxInstances": 3, "targetValue": 5}
FAULT_SEED = 20_24
THROTTLING_RATE, SERVER_ERROR_RATE = 0.2, 0.05
RATE_LIMITS = "sagemaker=40/40,application-autoscaling=20/20,greengrassv2=20/20,iot=20/20"
"""The operator's client-side limits, raised from the defaults sized for AWS's account limits
(aws/ratelimit.py; 8/s for SageMaker) to what the sandbox takes, so 65 resources fit the test."""
CONVERGE_SECONDS, DELETE_SECONDS = 600, 300
"""Deadlines far above the time taken (about 2 minutes on a quiet machine), for a busy one."""


@dataclass(frozen=True)
class Expected:
    """What one ModelEndpoint's endpoint must run: per variant (weight, count or None for
    an autoscaled variant's count, which the autoscaler owns)."""

    name: str
    variants: dict[str, tuple[float, int | None]]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def own_plane(tmp_path: Path) -> Iterator[controlplane.ControlPlane]:
    with own_control_plane(tmp_path / "controlplane", namespaces=[NAMESPACE]) as plane:
        yield plane


@pytest.fixture
def own_operator(
    tmp_path: Path, own_plane: controlplane.ControlPlane, sandbox: Sandbox
) -> Iterator[OperatorProcess]:
    process = operator_support.start(
        tmp_path / "operator",
        own_plane.kubeconfig(controlplane.OPERATOR_USER),
        sandbox.env,
        extra_env={
            "SERVING_OPERATOR_RESYNC_SECONDS": "15",
            "SERVING_OPERATOR_AWS_RATE_LIMITS": RATE_LIMITS,
        },
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def prefix() -> str:
    """Every AWS name this test makes starts with it: the sandbox is shared by the session."""
    return f"rf{uuid.uuid4().hex[:6]}"


@pytest.fixture
def edge_groups(sandbox: Sandbox, fast_edge: None, prefix: str) -> dict[int, tuple[str, str]]:
    """Per EdgeModel a canary thing group (1 device) and a fleet group (2 devices) of its
    own, so each group's deployments are that EdgeModel's alone and can be counted."""
    iot = sandbox.client("iot")
    groups = {}
    for index in range(EDGE_MODELS):
        pair = (f"{prefix}-e{index}-canary", f"{prefix}-e{index}-fleet")
        for group, devices in zip(pair, (1, 2), strict=True):
            iot.create_thing_group(thingGroupName=group)
            for device in range(devices):
                thing = f"{group}-dev{device}"
                iot.create_thing(thingName=thing)
                iot.add_thing_to_thing_group(thingGroupName=group, thingName=thing)
        groups[index] = pair
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket=f"{prefix}-edge")
    s3.put_object(Bucket=f"{prefix}-edge", Key="classifier/model.tar.gz", Body=b"trained model")
    return groups


@pytest.fixture
def faults(sandbox: Sandbox) -> Iterator[None]:
    """20% throttling, 5% InternalFailure and 20-80 ms on every call to every service, each
    from its own seeded stream; cleared whatever happens."""
    sandbox.clear_faults()
    try:
        sandbox.add_fault(count=-1, rate=THROTTLING_RATE, seed=FAULT_SEED)
        sandbox.add_fault(
            count=-1,
            rate=SERVER_ERROR_RATE,
            seed=FAULT_SEED + 1,
            errorCode="InternalFailure",
            httpStatus=500,
            message="We encountered an internal error. Please try again.",
        )
        sandbox.add_fault(count=-1, errorCode=None, latencyMs=20, latencyJitterMs=60)
        yield
    finally:
        sandbox.clear_faults()


def patient_client(sandbox: Sandbox, service: str) -> Any:
    """The test's own view of AWS under the faults: 20 attempts make a failed read
    vanishingly unlikely (0.25^20)."""
    return sandbox.client(service, Config(retries={"mode": "standard", "total_max_attempts": 20}))


# --------------------------------------------------------------------------- the desired state


def endpoint_manifests(prefix: str, bucket: str) -> tuple[list[dict[str, Any]], list[Expected]]:
    """Endpoints 0-19 have blue (v1) and green (v2); 0-9 get a TrafficSplit, 10-19 run
    weights 3/1 with two blue instances; 20-49 have one variant, every third with two
    instances."""
    manifests, expected = [], []
    for index in range(ENDPOINTS):
        name = f"{prefix}-ep-{index:02d}"
        scaled: dict[str, Any] = {"autoscaling": SCALING} if index in AUTOSCALED else {}
        if index < TWO_VARIANT:
            blue_weight, blue_count = (1, 1) if index < 10 else (3, 2)
            variants = [
                variant(BLUE, bucket, "v1", weight=blue_weight, count=blue_count, **scaled),
                variant(GREEN, bucket, "v2", **(scaled if index == 15 else {})),
            ]
        else:
            variants = [variant("only", bucket, "v3", count=2 if index % 3 == 0 else 1, **scaled)]
        manifests.append(model_endpoint(name, variants))
        expected.append(
            Expected(
                name,
                {
                    v["name"]: (
                        float(v["weight"]),
                        None if "autoscaling" in v else v["instanceCount"],
                    )
                    for v in variants
                },
            )
        )
    return manifests, expected


def split_manifests(prefix: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """Fixed splits on endpoints 0-5; canaries on 6-9 that step 20% then 60% with a second's
    pause, unjudged (analysis needs real invocation traffic, which a test this size on a
    shared machine cannot afford), two promoting the candidate and two keeping the last step.
    Returns the manifests and the live weights each endpoint must end on, in percent."""
    manifests, weights = [], {}
    for index, (blue, green) in enumerate(FIXED_WEIGHTS):
        endpoint = f"{prefix}-ep-{index:02d}"
        manifests.append(
            split_manifest(
                f"split-{index}",
                endpoint,
                weights=[{"variant": BLUE, "weight": blue}, {"variant": GREEN, "weight": green}],
            )
        )
        weights[endpoint] = {BLUE: float(blue), GREEN: float(green)}
    for index in range(FIXED_SPLITS, FIXED_SPLITS + CANARIES):
        endpoint = f"{prefix}-ep-{index:02d}"
        promote = index % 2 == 0
        manifests.append(
            split_manifest(
                f"canary-{index}",
                endpoint,
                baseline=BLUE,
                candidate=GREEN,
                steps=[
                    {"setWeight": 20, "pause": {"duration": 1}},
                    {"setWeight": 60, "pause": {"duration": 1}},
                ],
                skipAnalysis=True,
                progressDeadlineSeconds=CONVERGE_SECONDS,
                onSuccess="PromoteCandidate" if promote else "KeepSplit",
            )
        )
        weights[endpoint] = {BLUE: 0.0, GREEN: 100.0} if promote else {BLUE: 40.0, GREEN: 60.0}
    return manifests, weights


def split_manifest(name: str, endpoint: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{cluster.GROUP}/{cluster.VERSION}",
        "kind": "TrafficSplit",
        "metadata": {"name": name},
        "spec": {"endpointRef": {"name": endpoint}, **spec},
    }


# --------------------------------------------------------------------------- waiting


def wait_all(
    objects: dict[str, cluster.Objects],
    operator: OperatorProcess,
    holds: Callable[[str, list[dict[str, Any]]], bool],
    what: str,
    timeout: float,
) -> None:
    """Poll every kind's list until `holds` is true of each; at the deadline, fail naming
    what is not Ready yet, with the operator log's tail."""

    def items(plural: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = objects[plural].custom.list_namespaced_custom_object(
            cluster.GROUP, cluster.VERSION, NAMESPACE, plural
        )["items"]
        return listed

    deadline = time.monotonic() + timeout
    while not all(holds(plural, items(plural)) for plural in objects):
        if time.monotonic() > deadline:
            waiting = "; ".join(not_ready(objects[p], items(p)) for p in objects)
            tail = "\n".join(operator.log.read_text().splitlines()[-40:])
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}: {waiting}\n{tail}")
        time.sleep(1)


def kstatus_ready(obj: dict[str, Any]) -> bool:
    return cluster.current_generation_observed(obj) and cluster.is_true(obj, "Ready")


def not_ready(objects: cluster.Objects, items: list[dict[str, Any]]) -> str:
    """What the deadline message shows: the first few resources not Ready, with their reason."""

    def reason(obj: dict[str, Any]) -> str:
        found = cluster.condition(obj, "Reconciling") or cluster.condition(obj, "Stalled") or {}
        return f"{obj['metadata']['name']} ({found.get('reason')})"

    waiting = [reason(o) for o in items if not kstatus_ready(o)]
    return f"{objects.plural}: {len(waiting)} not Ready {waiting[:5]}"


# --------------------------------------------------------------------------- reading AWS


def list_all(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**params):
        found.extend(page[key])
    return found


def in_parallel(read: Callable[[str], Any], names: list[str]) -> dict[str, Any]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(names, pool.map(read, names), strict=True))


def sagemaker_state(sagemaker: Any, autoscaling: Any, prefix: str) -> dict[str, Any]:
    """Everything of ours SageMaker and Application Auto Scaling hold: endpoints, configs,
    models and scalable targets whose names start with the test's prefix."""
    endpoints = list_all(sagemaker, "list_endpoints", "Endpoints", NameContains=prefix)
    configs = list_all(sagemaker, "list_endpoint_configs", "EndpointConfigs", NameContains=prefix)
    models = list_all(sagemaker, "list_models", "Models", NameContains=prefix)
    targets = list_all(
        autoscaling,
        "describe_scalable_targets",
        "ScalableTargets",
        ServiceNamespace="sagemaker",
    )
    policies = list_all(
        autoscaling,
        "describe_scaling_policies",
        "ScalingPolicies",
        ServiceNamespace="sagemaker",
    )
    # NameContains narrows the listing, but the sandbox (moto) ignores it for some lists:
    # only names with the prefix are this test's.
    return {
        "endpoints": sorted(e["EndpointName"] for e in endpoints if prefix in e["EndpointName"]),
        "configs": sorted(
            c["EndpointConfigName"] for c in configs if prefix in c["EndpointConfigName"]
        ),
        "models": sorted(m["ModelName"] for m in models if prefix in m["ModelName"]),
        "targets": {t["ResourceId"]: t for t in targets if f"/{prefix}-" in t["ResourceId"]},
        "policies": sorted(
            (p["ResourceId"], p["PolicyName"]) for p in policies if f"/{prefix}-" in p["ResourceId"]
        ),
    }


def successful_creates(sandbox: Sandbox) -> Counter[tuple[str, str]]:
    """(operation, name) of every Create* call that succeeded since the log was cleared."""
    return Counter(
        (c["operation"], c["target"])
        for c in sandbox.calls()
        if c["operation"].startswith("Create") and c["status"] == 200 and c.get("target")
    )


# --------------------------------------------------------------------------- metrics


def metric_samples(operator: OperatorProcess, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(operator.metrics())
        for sample in family.samples
        if sample.name == name
    ]


def total(operator: OperatorProcess, name: str, **labels: str) -> float:
    return sum(
        value
        for found, value in metric_samples(operator, name)
        if all(found.get(k) == v for k, v in labels.items())
    )


# --------------------------------------------------------------------------- the test


def test_everything_converges_exactly_under_throttling_5xx_and_latency_and_deletes_cleanly(
    own_plane: controlplane.ControlPlane,
    own_operator: OperatorProcess,
    sandbox: Sandbox,
    model_bucket: str,
    edge_groups: dict[int, tuple[str, str]],
    prefix: str,
    faults: None,
) -> None:
    started = time.monotonic()
    api = cluster.api_client(own_plane.kubeconfig(controlplane.ADMIN_USER))
    objects = {
        plural: cluster.Objects(api, plural)
        for plural in ("modelendpoints", "trafficsplits", "edgemodels")
    }
    endpoints, expected = endpoint_manifests(prefix, model_bucket)
    splits, split_weights = split_manifests(prefix)
    edge_models = [
        edge_model(
            f"{prefix}-edge-{index}",
            f"{prefix}-edge",
            [
                {"name": "canary", "thingGroups": [edge_groups[index][0]]},
                {"name": "fleet", "thingGroups": [edge_groups[index][1]], "maximumPerMinute": 100},
            ],
            {"stageDeadlineSeconds": CONVERGE_SECONDS},
        )
        for index in range(EDGE_MODELS)
    ]
    sandbox.forget_calls()
    for plural, manifests in (
        ("modelendpoints", endpoints),
        ("trafficsplits", splits),
        ("edgemodels", edge_models),
    ):
        for manifest in manifests:
            objects[plural].create(NAMESPACE, manifest)
    managed = {split["spec"]["endpointRef"]["name"] for split in splits}
    wanted = {
        "modelendpoints": ENDPOINTS,
        "trafficsplits": FIXED_SPLITS + CANARIES,
        "edgemodels": EDGE_MODELS,
    }

    def converged(plural: str, items: list[dict[str, Any]]) -> bool:
        if len(items) != wanted[plural] or not all(kstatus_ready(o) for o in items):
            return False
        if plural == "trafficsplits":
            return all(o["status"].get("phase") == "Succeeded" for o in items)
        if plural == "modelendpoints":  # the splits' weights are live, not the spec's
            return all(
                bool(o["status"].get("weightsManagedBy")) == (o["metadata"]["name"] in managed)
                for o in items
            )
        return True

    wait_all(objects, own_operator, converged, "everything Ready", CONVERGE_SECONDS)
    converged_after = time.monotonic() - started

    sagemaker = patient_client(sandbox, "sagemaker")
    autoscaling = patient_client(sandbox, "application-autoscaling")
    edge = EdgeView(sandbox, edge_groups)
    models = assert_endpoints_exact(
        sagemaker, autoscaling, prefix, expected, split_weights, statuses(objects, "modelendpoints")
    )
    published = assert_edge_exact(edge, prefix, statuses(objects, "edgemodels"))

    creates = successful_creates(sandbox)
    assert [key for key, times in creates.items() if times > 1] == [], "created twice"
    by_operation = Counter(operation for operation, _ in creates)
    assert by_operation["CreateEndpoint"] == ENDPOINTS
    assert by_operation["CreateEndpointConfig"] == ENDPOINTS
    assert by_operation["CreateModel"] == models
    assert by_operation["CreateCompilationJob"] == EDGE_MODELS  # one target each

    # Delete everything, under the same faults.
    for plural, manifests in (
        ("trafficsplits", splits),
        ("modelendpoints", endpoints),
        ("edgemodels", edge_models),
    ):
        for manifest in manifests:
            objects[plural].delete(NAMESPACE, manifest["metadata"]["name"])
    wait_all(
        objects, own_operator, lambda _, items: not items, "every resource deleted", DELETE_SECONDS
    )
    assert sagemaker_state(sagemaker, autoscaling, prefix) == {
        "endpoints": [],
        "configs": [],
        "models": [],
        "targets": {},
        "policies": [],
    }
    assert_edge_removed(edge, prefix, published)
    creates = successful_creates(sandbox)
    assert [key for key, times in creates.items() if times > 1] == [], "created twice"

    summary = assert_retries_bounded_and_backed_off(own_operator)
    # What a run looks like, for the record (pytest -s shows it).
    print(
        f"\nconverged in {converged_after:.0f}s, all done in {time.monotonic() - started:.0f}s;"
        f" {summary}"
    )


def statuses(objects: dict[str, cluster.Objects], plural: str) -> dict[str, dict[str, Any]]:
    items: list[dict[str, Any]] = objects[plural].custom.list_namespaced_custom_object(
        cluster.GROUP, cluster.VERSION, NAMESPACE, plural
    )["items"]
    return {o["metadata"]["name"]: o["status"] for o in items}


def assert_endpoints_exact(
    sagemaker: Any,
    autoscaling: Any,
    prefix: str,
    expected: list[Expected],
    split_weights: dict[str, dict[str, float]],
    status: dict[str, dict[str, Any]],
) -> int:
    """Each endpoint InService with the desired variants, shares and counts; one config and
    one model per variant each in AWS, all in use (nothing orphaned by a retried create,
    nothing made twice); a scalable target and policy per autoscaled variant. Returns the
    number of models."""
    names = [e.name for e in expected]
    described = in_parallel(lambda name: sagemaker.describe_endpoint(EndpointName=name), names)
    for want in expected:
        endpoint = described[want.name]
        assert endpoint["EndpointStatus"] == "InService", want.name
        assert endpoint["EndpointConfigName"] == status[want.name]["endpointConfigName"]
        live = {v["VariantName"]: v for v in endpoint["ProductionVariants"]}
        assert set(live) == set(want.variants), want.name
        # Weights are relative: 50/50 is 1/1, so the shares of traffic are compared.
        weights = split_weights.get(want.name) or {n: w for n, (w, _) in want.variants.items()}
        for key in ("CurrentWeight", "DesiredWeight"):
            shown = shares({n: v[key] for n, v in live.items()})
            assert shown == pytest.approx(shares(weights)), (want.name, key)
        for name, (_, count) in want.variants.items():
            variant_shown = live[name]
            if count is None:  # the autoscaler's to set, within the bounds
                current = variant_shown["CurrentInstanceCount"]
                assert SCALING["minInstances"] <= current <= SCALING["maxInstances"]
            else:
                assert (
                    variant_shown["CurrentInstanceCount"]
                    == variant_shown["DesiredInstanceCount"]
                    == count
                ), (want.name, name)

    in_use = sorted(status[name]["endpointConfigName"] for name in names)
    config_models = in_parallel(
        lambda config: [
            v["ModelName"]
            for v in sagemaker.describe_endpoint_config(EndpointConfigName=config)[
                "ProductionVariants"
            ]
        ],
        in_use,
    )
    models_in_use = sorted(m for models in config_models.values() for m in models)
    state = sagemaker_state(sagemaker, autoscaling, prefix)
    assert state["endpoints"] == sorted(names)
    assert state["configs"] == in_use
    assert state["models"] == models_in_use
    assert len(models_in_use) == sum(len(e.variants) for e in expected)
    scaled = {
        f"endpoint/{e.name}/variant/{v}"
        for e in expected
        for v, (_, count) in e.variants.items()
        if count is None
    }
    assert set(state["targets"]) == scaled
    bounds = (SCALING["minInstances"], SCALING["maxInstances"])
    assert {(t["MinCapacity"], t["MaxCapacity"]) for t in state["targets"].values()} == {bounds}
    assert state["policies"] == sorted(
        (target, f"serving-operator-{target.rsplit('/', 1)[1]}") for target in scaled
    )
    return len(models_in_use)


class EdgeView:
    """The test's patient Neo, Greengrass and IoT clients, and its thing groups' ARNs."""

    def __init__(self, sandbox: Sandbox, groups: dict[int, tuple[str, str]]) -> None:
        self.neo = patient_client(sandbox, "sagemaker")
        self.greengrass = patient_client(sandbox, "greengrassv2")
        iot = patient_client(sandbox, "iot")
        self.groups = groups
        self.arns = {
            group: iot.describe_thing_group(thingGroupName=group)["thingGroupArn"]
            for pair in groups.values()
            for group in pair
        }

    def jobs(self, edge_model: str) -> list[dict[str, Any]]:
        return list_all(
            self.neo,
            "list_compilation_jobs",
            "CompilationJobSummaries",
            NameContains=f"{edge_model}-",
        )

    def components(self) -> set[str]:
        listed = list_all(self.greengrass, "list_components", "components", scope="PRIVATE")
        return {c["componentName"] for c in listed}

    def deployments(self, group: str) -> list[dict[str, Any]]:
        """Every deployment the group ever had, newest first."""
        return list_all(
            self.greengrass,
            "list_deployments",
            "deployments",
            targetArn=self.arns[group],
            historyFilter="ALL",
        )

    def components_of(self, deployment: dict[str, Any]) -> dict[str, str]:
        found = self.greengrass.get_deployment(deploymentId=deployment["deploymentId"])
        return {n: c["componentVersion"] for n, c in found.get("components", {}).items()}


def assert_edge_exact(
    edge: EdgeView, prefix: str, status: dict[str, dict[str, Any]]
) -> dict[str, dict[str, str]]:
    """Per EdgeModel: one completed compilation job per target, exactly the component
    version its status names, one deployment per thing group carrying both. Returns each
    EdgeModel's components and versions."""
    components = edge.components()
    published: dict[str, dict[str, str]] = {}
    for index, groups in edge.groups.items():
        name = f"{prefix}-edge-{index}"
        assert status[name]["devicesOk"] == "3/3", name
        targets = {t["name"]: t for t in status[name]["targets"]}
        assert set(targets) == {"arm64"}  # edge_model()'s one target
        jobs = edge.jobs(name)
        assert sorted(j["CompilationJobName"] for j in jobs) == sorted(
            t["compilationJobName"] for t in targets.values()
        ), "one compilation job per target"
        assert {j["CompilationJobStatus"] for j in jobs} == {"COMPLETED"}
        ours = {t["componentName"]: t["componentVersion"] for t in targets.values()}
        published[name] = ours
        for target in targets.values():
            assert target["componentName"] in components
            versions = list_all(
                edge.greengrass,
                "list_component_versions",
                "componentVersions",
                arn=target["componentArn"].rsplit(":versions:", 1)[0],
            )
            assert [v["componentVersion"] for v in versions] == [target["componentVersion"]]
        for group in groups:
            history = edge.deployments(group)
            assert len(history) == 1, (group, history)
            assert edge.components_of(history[0]) == ours
    return published


def assert_edge_removed(edge: EdgeView, prefix: str, published: dict[str, dict[str, str]]) -> None:
    """deletionPolicy Delete (docs/edgemodel.md): the component versions are deleted and each
    group gets one more deployment, without our components; then the finished compilation
    jobs are deleted with the models they wrote."""
    assert edge.components().isdisjoint(c for ours in published.values() for c in ours)
    for index, groups in edge.groups.items():
        name = f"{prefix}-edge-{index}"
        assert edge.jobs(name) == []
        for group in groups:
            history = edge.deployments(group)
            assert len(history) == 2, (group, history)
            assert set(edge.components_of(history[0])).isdisjoint(published[name])


def assert_retries_bounded_and_backed_off(operator: OperatorProcess) -> str:
    """The operator's metrics: the faults made calls retry; no call made more than
    MAX_ATTEMPTS attempts; every retry waited first, about as long as botocore's backoff
    says; no reconcile pass raised. Returns a summary of the figures."""
    calls = total(operator, "serving_operator_aws_calls_total")
    retries = total(operator, "serving_operator_aws_retries_total")
    attempts = {
        n: total(operator, "serving_operator_aws_call_attempts_bucket", le=f"{float(n)}")
        for n in range(1, MAX_ATTEMPTS + 1)
    }
    counted = total(operator, "serving_operator_aws_call_attempts_count")
    assert counted == calls > 0
    for service in ("sagemaker", "application-autoscaling", "greengrassv2", "iot"):
        assert total(operator, "serving_operator_aws_retries_total", service=service) > 0, (
            f"the faults bit {service}"
        )
    assert attempts[1] < counted
    assert attempts[MAX_ATTEMPTS] == counted, f"no call made more than {MAX_ATTEMPTS} attempts"
    waits = total(operator, "serving_operator_aws_retry_wait_seconds_count")
    assert waits == retries, "every retry waited before it was sent"
    first_waits = total(operator, "serving_operator_aws_retry_wait_seconds_count", retry="1")
    first_waited = total(operator, "serving_operator_aws_retry_wait_seconds_sum", retry="1")
    # Botocore's backoff before the first retry is uniform in 0-1 s: 0.5 s on average.
    assert first_waited / first_waits > 0.1
    errors = total(operator, "serving_operator_reconciles_total", outcome="Error")
    assert errors == 0, f"reconcile passes raised:\n{operator.tracebacks()}"
    outcomes: Counter[str] = Counter()
    for labels, value in metric_samples(operator, "serving_operator_aws_calls_total"):
        outcomes[labels["outcome"]] += int(value)
    by_attempts = [int(attempts[n] - attempts.get(n - 1, 0)) for n in attempts]
    return (
        f"{calls:.0f} AWS calls, {retries:.0f} retries; calls by attempts {by_attempts};"
        f" outcomes {dict(outcomes.most_common())};"
        f" mean wait before retry 1: {first_waited / first_waits:.2f}s"
    )


def shares(weights: dict[str, float]) -> dict[str, float]:
    """Each variant's share of the traffic."""
    whole = sum(weights.values())
    return {name: weight / whole for name, weight in weights.items()}
