"""AWS calls per resource per resync at rest, for every kind, against the goal (<= 1 read, 0
writes).

Fleets of plain, autoscaled, multi-model (a shared container per variant loading the models
under an S3 prefix, warmed up) and multi-container (Direct) ModelEndpoints, TrafficSplits (a
fixed split; a canary that completed), InferenceComponents (plain and autoscaled, several on
each component-hosting ModelEndpoint, which resyncs too) and EdgeModels (rolled out) are
brought to rest through
the real reconcilers (no kopf, no cluster) against the AWS sandbox, then resynced ROUNDS times
RESYNC_SECONDS apart in simulated time, scheduled as the operator's driver schedules them (a
pass at each resync, or later when the plan says `recheck_after`). Each TrafficSplit resyncs
with its own ModelEndpoint, as in the operator: two resources per endpoint. The sandbox's call
log, counted per fleet, gives the reads and writes per resource per resync. Prints figures;
asserts nothing. Run with `make bench` (it starts its own sandbox on loopback). To compare
with an older commit: `git archive <commit> operator | tar -x -C /tmp/before &&
PYTHONPATH=/tmp/before/operator .venv/bin/python bench/bench_steady.py`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import sandbox as sandbox_support  # noqa: E402
from tests.support.specs import edge_model_spec  # noqa: E402

from serving_operator.api.inferencecomponent import InferenceComponentSpec  # noqa: E402
from serving_operator.api.modelendpoint import ModelEndpointSpec  # noqa: E402
from serving_operator.api.trafficsplit import TrafficSplitSpec, TrafficSplitStatus  # noqa: E402
from serving_operator.aws.autoscaling import ApplicationAutoScaling  # noqa: E402
from serving_operator.aws.base import CLIENT_CONFIG  # noqa: E402
from serving_operator.aws.clients import Clients, EdgeClients  # noqa: E402
from serving_operator.aws.copyscaling import CopyScaling  # noqa: E402
from serving_operator.aws.greengrass import GreengrassV2  # noqa: E402
from serving_operator.aws.inferencecomponents import InferenceComponents  # noqa: E402
from serving_operator.aws.iot import Iot  # noqa: E402
from serving_operator.aws.neo import Neo  # noqa: E402
from serving_operator.aws.ratelimit import TokenBucket  # noqa: E402
from serving_operator.aws.runtime import SageMakerRuntime  # noqa: E402
from serving_operator.aws.s3 import S3  # noqa: E402
from serving_operator.aws.sagemaker import SageMaker  # noqa: E402
from serving_operator.aws.sts import Sts  # noqa: E402
from serving_operator.planning.edgemodel.memory import Memory as EdgeMemory  # noqa: E402
from serving_operator.planning.inferencecomponent.memory import ComponentMemory  # noqa: E402
from serving_operator.planning.inferencecomponent.observed import (  # noqa: E402
    HostEndpoint,
    HostVariant,
)
from serving_operator.planning.modelendpoint.memory import Memory  # noqa: E402
from serving_operator.planning.outcome import Outcome, OutcomeKind  # noqa: E402
from serving_operator.planning.trafficsplit.observed import EndpointReferenceTarget  # noqa: E402
from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler  # noqa: E402
from serving_operator.reconcile.inferencecomponent.reconciler import (  # noqa: E402
    InferenceComponentReconciler,
)
from serving_operator.reconcile.modelendpoint.reconciler import ModelEndpointReconciler  # noqa: E402
from serving_operator.reconcile.trafficsplit.reconciler import (  # noqa: E402
    SplitSurroundings,
    TrafficSplitReconciler,
)

ENDPOINTS = 20  # per ModelEndpoint fleet
SPLITS = 5  # per TrafficSplit fleet (each on its own ModelEndpoint)
EDGE_MODELS = 3
COMPONENT_ENDPOINTS = 2  # per InferenceComponent fleet
COMPONENTS_PER_ENDPOINT = 5
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
RESYNC_SECONDS = 600.0  # the operator's default resync
ROUNDS = 18  # three hours of resyncs: the hourly rechecks are in the average
WRITES = ("Create", "Update", "Delete", "Put", "Register", "Deregister", "Add", "Tag", "Stop")
GOAL_READS = 1.0
MULTI_MODEL_FILES = ("model-a.tar.gz", "model-b.tar.gz")


@dataclass
class Resource:
    """One resource of a fleet: how to run a pass at a moment, when it is due again."""

    name: str
    run: Callable[[float], tuple[Outcome, float | None]]
    due: float = 0.0


def single_model(variant: str) -> dict[str, Any]:
    return {"image": f"img:{variant}", "modelDataUrl": f"s3://bench-models/{variant}/model.tar.gz"}


def multi_model(variant: str) -> dict[str, Any]:
    """One shared container loading every model under the variant's own S3 prefix."""
    return {
        "image": f"img:{variant}",
        "mode": "MultiModel",
        "modelDataUrl": f"s3://bench-models/multi-{variant}/",
        "targetModels": list(MULTI_MODEL_FILES),
        "warmUp": True,
    }


def multi_container(variant: str) -> dict[str, Any]:
    """Two containers a caller picks between (Direct invocation)."""
    return {
        "containers": [
            {
                "hostname": hostname,
                "image": f"img:{variant}-{hostname}",
                "modelDataUrl": f"s3://bench-models/{variant}/model.tar.gz",
            }
            for hostname in ("preprocess", "predict")
        ],
        "inferenceExecution": "Direct",
    }


def endpoint_spec(
    variants: list[str],
    *,
    autoscaled: bool,
    model: Callable[[str], dict[str, Any]] = single_model,
) -> Any:
    from serving_operator.api.modelendpoint import ModelEndpointSpec

    scaling = (
        {
            "autoscaling": {
                "minInstances": 2,
                "maxInstances": 4,
                "maxRequestsPerSecondPerInstance": 10,
            }
        }
        if autoscaled
        else {}
    )
    return ModelEndpointSpec.model_validate(
        {
            "executionRoleArn": ROLE,
            "variants": [
                {
                    "name": v,
                    "model": model(v),
                    "instanceType": "ml.m5.large",
                    "instanceCount": 2,
                    **scaling,
                }
                for v in variants
            ],
        }
    )


def clients_for(box: sandbox_support.Sandbox) -> Clients:
    limiter = TokenBucket(1000, 1000)  # measure the operator, not the client-side limit
    return Clients(
        sagemaker=SageMaker(box.client("sagemaker", CLIENT_CONFIG), limiter),
        autoscaling=ApplicationAutoScaling(
            box.client("application-autoscaling", CLIENT_CONFIG), limiter
        ),
        s3=S3(box.client("s3", CLIENT_CONFIG), limiter),
        runtime=SageMakerRuntime(box.client("sagemaker-runtime", CLIENT_CONFIG), limiter),
        cloudwatch=None,  # type: ignore[arg-type]  # no pass at rest reads CloudWatch
        edge=EdgeClients(
            neo=Neo(box.client("sagemaker", CLIENT_CONFIG), limiter),
            greengrass=GreengrassV2(box.client("greengrassv2", CLIENT_CONFIG), limiter),
            iot=Iot(box.client("iot", CLIENT_CONFIG), limiter),
            sts=Sts(box.client("sts", CLIENT_CONFIG), limiter),
            s3=S3(box.client("s3", CLIENT_CONFIG), limiter),
        ),
        components=InferenceComponents(box.client("sagemaker", CLIENT_CONFIG), limiter),
        copy_scaling=CopyScaling(box.client("application-autoscaling", CLIENT_CONFIG), limiter),
    )


def endpoint_fleet(
    clients: Clients,
    kind: str,
    *,
    autoscaled: bool,
    model: Callable[[str], dict[str, Any]] = single_model,
) -> list[Resource]:
    reconciler = ModelEndpointReconciler(clients)
    spec = endpoint_spec(["v0", "v1"], autoscaled=autoscaled, model=model)
    fleet = []
    for i in range(ENDPOINTS):
        memory = [Memory()]

        def run(now: float, name: str = f"{kind}-{i}", memory: list[Memory] = memory) -> Any:
            result = reconciler.reconcile(
                spec,
                namespace="bench",
                name=name,
                memory=memory[0],
                now=datetime.fromtimestamp(now, UTC),
            )
            memory[0] = result.memory
            return result.outcome, None

        fleet.append(Resource(f"{kind}-{i}", run))
    return fleet


def split_fleet(clients: Clients, kind: str, split: dict[str, Any]) -> list[Resource]:
    """TrafficSplits, each on its own two-variant ModelEndpoint: both resync, as in the
    operator (a split at rest may use its ModelEndpoint's read of the endpoint)."""
    endpoints = ModelEndpointReconciler(clients)
    splits = TrafficSplitReconciler(clients)
    endpoint = endpoint_spec(["blue", "green"], autoscaled=False)
    spec = TrafficSplitSpec.model_validate({"endpointRef": {"name": "x"}, **split})
    fleet = []
    for i in range(SPLITS):
        name = f"{kind}-{i}"
        model_endpoint = Resource(
            name, _endpoint_pass(endpoints, endpoint, name, f"TrafficSplit/{name}")
        )
        converge([model_endpoint])
        status = [TrafficSplitStatus()]
        target = SplitSurroundings(EndpointReferenceTarget(name, frozenset({"blue", "green"})))

        def run(now: float, status: list[TrafficSplitStatus] = status, target: Any = target) -> Any:
            result = splits.reconcile(spec, target, status[0], datetime.fromtimestamp(now, UTC))
            status[0] = result.memory
            return result.outcome, result.recheck_after

        fleet += [model_endpoint, Resource(f"split-{name}", run)]
    return fleet


def _endpoint_pass(
    reconciler: ModelEndpointReconciler, spec: Any, name: str, weights_by: str | None
) -> Callable[[float], tuple[Outcome, float | None]]:
    memory = [Memory()]

    def run(now: float) -> tuple[Outcome, float | None]:
        result = reconciler.reconcile(
            spec,
            namespace="bench",
            name=name,
            memory=memory[0],
            weights_managed_by=weights_by,
            now=datetime.fromtimestamp(now, UTC),
        )
        memory[0] = result.memory
        return result.outcome, None

    return run


def component_fleet(clients: Clients, kind: str, *, autoscaled: bool) -> list[Resource]:
    """Component-hosting ModelEndpoints, each with COMPONENTS_PER_ENDPOINT InferenceComponents
    (one CPU core, 1 GiB a copy): the endpoints resync too, as in the operator."""
    endpoints = ModelEndpointReconciler(clients)
    components = InferenceComponentReconciler(clients)
    fleet: list[Resource] = []
    for e in range(COMPONENT_ENDPOINTS):
        endpoint_name = f"{kind}-fleet-{e}"
        endpoint = ModelEndpointSpec.model_validate(
            {
                "executionRoleArn": ROLE,
                "variants": [
                    {
                        "name": "shared",
                        "instanceType": "ml.m5.4xlarge",
                        "managedInstanceScaling": {"minInstanceCount": 1, "maxInstanceCount": 2},
                    }
                ],
            }
        )
        hosting = Resource(endpoint_name, _endpoint_pass(endpoints, endpoint, endpoint_name, None))
        converge([hosting])
        fleet.append(hosting)
        host = HostEndpoint(endpoint_name, ROLE, (HostVariant("shared", "ml.m5.4xlarge", True, 1),))
        for c in range(COMPONENTS_PER_ENDPOINT):
            scaling = (
                {"autoscaling": {"minCopies": 1, "maxCopies": 2, "targetInvocationsPerCopy": 10}}
                if autoscaled
                else {}
            )
            spec = InferenceComponentSpec.model_validate(
                {
                    "endpointRef": {"name": endpoint_name},
                    "model": single_model("v0"),
                    "compute": {"cpuCores": 1, "minMemoryMiB": 1024},
                    "copyCount": 1,
                    **scaling,
                }
            )
            memory = [ComponentMemory()]

            def run(
                now: float,
                name: str = f"{endpoint_name}-c{c}",
                spec: Any = spec,
                memory: list[ComponentMemory] = memory,
                host: HostEndpoint = host,
            ) -> Any:
                result = components.reconcile(
                    spec,
                    host,
                    memory[0],
                    namespace="bench",
                    name=name,
                    now=datetime.fromtimestamp(now, UTC),
                )
                memory[0] = result.memory
                return result.outcome, result.recheck_after

            fleet.append(Resource(f"{endpoint_name}-c{c}", run))
    return fleet


def edge_fleet(clients: Clients, box: sandbox_support.Sandbox) -> list[Resource]:
    """EdgeModels of two targets rolled out to a canary group, then a fleet group."""
    reconciler = EdgeModelReconciler(clients)
    iot = box.client("iot")
    fleet = []
    for i in range(EDGE_MODELS):
        groups = [f"bench-canary-{i}", f"bench-fleet-{i}"]
        for group in groups:
            iot.create_thing_group(thingGroupName=group)
            for device in range(2):
                iot.create_thing(thingName=f"{group}-{device}")
                iot.add_thing_to_thing_group(thingGroupName=group, thingName=f"{group}-{device}")
        spec = edge_model_spec(
            source="s3://bench-models/v0/model.tar.gz",
            outputS3Uri=f"s3://bench-models/compiled-{i}",
            rollout={
                "stages": [
                    {"name": "canary", "thingGroups": [groups[0]]},
                    {"name": "fleet", "thingGroups": [groups[1]]},
                ],
                "stageDeadlineSeconds": 600,
            },
        )
        memory = [EdgeMemory()]

        def run(now: float, name: str = f"edge-{i}", spec: Any = spec, memory: Any = memory) -> Any:
            result = reconciler.reconcile(
                spec,
                namespace="bench",
                name=name,
                memory=memory[0],
                annotations={},
                now=datetime.fromtimestamp(now, UTC),
            )
            memory[0] = result.memory
            return result.outcome, result.recheck_after

        fleet.append(Resource(f"edge-{i}", run))
    return fleet


def converge(fleet: list[Resource], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(fleet)
    while pending:
        pending = [r for r in pending if r.run(time.time())[0].kind != OutcomeKind.READY]
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"not at rest after {timeout:.0f} s: {[r.name for r in pending]}")
        if pending:
            time.sleep(0.2)


def at_rest(
    box: sandbox_support.Sandbox, fleet: list[Resource]
) -> tuple[float, float, Counter[str]]:
    """Resync the fleet ROUNDS times, as the driver schedules passes: reads and writes per
    resource per resync, and the calls."""
    # Whole seconds: a TrafficSplit's clock is a datetime (microseconds), and a read made by
    # its ModelEndpoint at the same simulated moment must not look a fraction newer than it.
    start = float(int(time.time()))
    for resource in fleet:
        resource.due = start
    box.forget_calls()
    for round_ in range(1, ROUNDS + 1):
        now = start + round_ * RESYNC_SECONDS
        for resource in fleet:
            if now < resource.due:
                continue
            outcome, recheck_after = resource.run(now)
            if outcome.kind != OutcomeKind.READY:
                raise SystemExit(f"{resource.name} left rest: {outcome}")
            resource.due = now + (recheck_after if recheck_after is not None else RESYNC_SECONDS)
    calls = Counter(c["operation"] for c in box.calls())
    resyncs = ROUNDS * len(fleet)
    writes = sum(n for op, n in calls.items() if op.startswith(WRITES))
    return (sum(calls.values()) - writes) / resyncs, writes / resyncs, calls


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        box = sandbox_support.start(
            Path(folder),
            {
                "creatingSeconds": 0.5,
                "updatingSeconds": 0.5,
                "deletingSeconds": 0,
                **sandbox_support.FAST_EDGE,
            },
        )
        try:
            s3 = box.client("s3")
            s3.create_bucket(Bucket="bench-models")
            for key in ("v0", "v1", "blue", "green"):
                s3.put_object(Bucket="bench-models", Key=f"{key}/model.tar.gz", Body=b"m")
                for file in MULTI_MODEL_FILES:
                    s3.put_object(Bucket="bench-models", Key=f"multi-{key}/{file}", Body=b"m")
            clients = clients_for(box)
            fleets: list[tuple[str, Callable[[], list[Resource]]]] = [
                ("plain ModelEndpoint", lambda: endpoint_fleet(clients, "plain", autoscaled=False)),
                (
                    "autoscaled ModelEndpoint",
                    lambda: endpoint_fleet(clients, "scaled", autoscaled=True),
                ),
                (
                    "multi-model ModelEndpoint",
                    lambda: endpoint_fleet(clients, "multi", autoscaled=False, model=multi_model),
                ),
                (
                    "multi-container ModelEndpoint",
                    lambda: endpoint_fleet(
                        clients, "containers", autoscaled=False, model=multi_container
                    ),
                ),
                (
                    "TrafficSplit + ModelEndpoint, fixed",
                    lambda: split_fleet(
                        clients,
                        "fixed",
                        {
                            "weights": [
                                {"variant": "blue", "weight": 90},
                                {"variant": "green", "weight": 10},
                            ]
                        },
                    ),
                ),
                (
                    "TrafficSplit + ModelEndpoint, canary",
                    lambda: split_fleet(
                        clients,
                        "canary",
                        {"baseline": "blue", "candidate": "green", "steps": [{"setWeight": 50}]},
                    ),
                ),
                (
                    "InferenceComponent + its endpoints",
                    lambda: component_fleet(clients, "ic", autoscaled=False),
                ),
                (
                    "InferenceComponent, autoscaled",
                    lambda: component_fleet(clients, "icscaled", autoscaled=True),
                ),
                ("EdgeModel, rolled out", lambda: edge_fleet(clients, box)),
            ]
            print(
                f"AWS calls per resource per resync at rest ({ROUNDS} resyncs"
                f" {RESYNC_SECONDS:.0f} s apart, simulated; goal <= {GOAL_READS:.0f} read,"
                " 0 writes)"
            )
            for label, build in fleets:
                fleet = build()
                converge(fleet)
                reads, writes, calls = at_rest(box, fleet)
                verdict = (
                    "meets the goal"
                    if reads <= GOAL_READS and writes == 0
                    else f"over the goal by {max(reads - GOAL_READS, 0):.3f} reads,"
                    f" {writes:.3f} writes"
                )
                print(
                    f"  {label:<36} {len(fleet):>3} resources: {reads:.3f} reads,"
                    f" {writes:.3f} writes  ({verdict})"
                )
                print(f"    calls: {', '.join(f'{op} {n}' for op, n in sorted(calls.items()))}")
        finally:
            box.stop()


if __name__ == "__main__":
    main()
