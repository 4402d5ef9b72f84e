"""How fast and how small is planning? Prints figures and ratios; asserts nothing.

The planner runs on every reconcile of every resource, so its cost bounds how many
ModelEndpoints one operator can keep in sync per resync interval (AWS quotas aside).
"""

from __future__ import annotations

import time
import tracemalloc

from serving_operator.api.modelendpoint import ModelEndpointSpec
from serving_operator.planning.modelendpoint.desired import DesiredEndpoint, desired_endpoint
from serving_operator.planning.modelendpoint.endpoint import plan_endpoint
from serving_operator.planning.modelendpoint.observed import (
    EndpointStatus,
    ObservedArtifacts,
    ObservedEndpoint,
    ObservedVariant,
)

RESOURCES = 5_000


def make_spec(i: int) -> ModelEndpointSpec:
    return ModelEndpointSpec.model_validate(
        {
            "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
            "variants": [
                {
                    "name": f"version-{v}",
                    "model": {
                        "image": f"img:{i}-{v}",
                        "modelDataUrl": f"s3://models/{i}/{v}.tar.gz",
                    },
                    "instanceType": "ml.m5.large",
                    "instanceCount": 2,
                    "weight": 1,
                }
                for v in range(3)
            ],
        }
    )


def in_service(want: DesiredEndpoint) -> ObservedEndpoint:
    return ObservedEndpoint(
        want.endpoint_name,
        "arn",
        EndpointStatus.IN_SERVICE,
        want.config_name,
        None,
        tuple(
            ObservedVariant(v.name, v.weight, v.weight, v.instance_count, v.instance_count)
            for v in want.variants
        ),
    )


def timed(label: str, func: object, count: int) -> float:
    started = time.perf_counter()
    func()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    print(
        f"{label:<45} {count / seconds:>12,.0f} per second  ({seconds * 1e6 / count:,.1f} µs each)"
    )
    return seconds


def main() -> None:
    specs = [make_spec(i) for i in range(RESOURCES)]
    desired: list[DesiredEndpoint] = []
    derive = timed(
        "derive desired state (3 variants)",
        lambda: desired.extend(
            desired_endpoint(s, namespace="ns", name=f"e{i}") for i, s in enumerate(specs)
        ),
        RESOURCES,
    )
    observed = [in_service(d) for d in desired]
    nothing = ObservedArtifacts(frozenset(), config_exists=False)
    steady = timed(
        "plan, steady state (no change)",
        lambda: [plan_endpoint(d, o, None) for d, o in zip(desired, observed, strict=True)],
        RESOURCES,
    )
    create = timed(
        "plan, create from nothing",
        lambda: [plan_endpoint(d, None, nothing) for d in desired],
        RESOURCES,
    )
    print(
        f"ratio create/steady planning time: {create / steady:.2f}x;"
        f" derive/steady: {derive / steady:.2f}x"
    )

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = [desired_endpoint(s, namespace="ns", name=f"e{i}") for i, s in enumerate(specs)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(
        f"memory held by {len(kept):,} desired states: {size / 1024:,.0f} KiB"
        f" ({size / len(kept):,.0f} bytes per resource)"
    )


if __name__ == "__main__":
    main()
