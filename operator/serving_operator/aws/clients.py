"""The bundle of AWS adapters the operator uses: built at start-up, each client made on
first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3

from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import CLIENT_CONFIG, ServiceAdapter
from serving_operator.aws.cloudwatch import CloudWatch
from serving_operator.aws.copyscaling import CopyScaling
from serving_operator.aws.greengrass import GreengrassV2
from serving_operator.aws.inferencecomponents import InferenceComponents
from serving_operator.aws.iot import Iot
from serving_operator.aws.neo import Neo
from serving_operator.aws.ratelimit import RateLimiter, ServiceLimits
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.aws.sts import Sts

AdapterT = TypeVar("AdapterT", bound=ServiceAdapter)


@dataclass(frozen=True)
class EdgeClients:
    """What EdgeModel uses: Neo (in SageMaker's API), Greengrass v2, IoT, STS for the
    account that component ARNs name, and S3 for the entrypoint it publishes."""

    neo: Neo
    greengrass: GreengrassV2
    iot: Iot
    sts: Sts
    s3: S3


@dataclass(frozen=True)
class Clients:
    sagemaker: SageMaker
    autoscaling: ApplicationAutoScaling
    s3: S3
    runtime: SageMakerRuntime
    cloudwatch: CloudWatch
    edge: EdgeClients | None = None
    components: InferenceComponents | None = None
    copy_scaling: CopyScaling | None = None


class _OnFirstUse:
    """Makes each adapter, and the boto3 client under it, the first time it is asked for.

    A boto3 client holds its service's model, parsed from botocore's JSON, for as long as
    it lives: SageMaker's costs ~18 MiB of RSS, S3's 8.5, IoT's 5, the eight together ~40
    (bench/README.md, "Scale"). A cluster of plain ModelEndpoints needs only SageMaker's;
    one without EdgeModels never loads Greengrass's or IoT's.

    One boto3 session, one client per service (SageMaker's serves both the SageMaker and
    the Neo adapter): boto3 sessions are not thread-safe, clients are, so making them is
    serialised and using them is not."""

    def __init__(self, limits: ServiceLimits) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._adapters: dict[str, ServiceAdapter] = {}

    def adapter(
        self, make: Callable[[Any, RateLimiter], AdapterT], service: str, key: str
    ) -> AdapterT:
        made = self._adapters.get(key)
        if made is None:
            with self._lock:
                made = self._adapters.get(key)
                if made is None:
                    made = self._adapters[key] = make(
                        self._client(service), self._limits.for_service(service)
                    )
        adapter: AdapterT = made  # type: ignore[assignment]
        return adapter

    def made(self) -> list[str]:
        """The adapters made so far, by name."""
        return sorted(self._adapters)

    def _client(self, service: str) -> Any:
        """boto3 finds region, credentials and AWS_ENDPOINT_URL (the sandbox in tests) itself.
        Called with the lock held."""
        if service not in self._clients:
            if self._session is None:
                self._session = boto3.session.Session()
            self._clients[service] = self._session.client(  # type: ignore[call-overload]
                service, config=CLIENT_CONFIG
            )
        return self._clients[service]


class _LazyEdgeClients(EdgeClients):
    """EdgeClients whose adapters are made on first use."""

    _build: _OnFirstUse

    def __init__(self, build: _OnFirstUse) -> None:  # no dataclass fields to set
        object.__setattr__(self, "_build", build)

    @property
    def neo(self) -> Neo:
        return self._build.adapter(Neo, "sagemaker", "neo")

    @property
    def greengrass(self) -> GreengrassV2:
        return self._build.adapter(GreengrassV2, "greengrassv2", "greengrass")

    @property
    def iot(self) -> Iot:
        return self._build.adapter(Iot, "iot", "iot")

    @property
    def sts(self) -> Sts:
        return self._build.adapter(Sts, "sts", "sts")

    @property
    def s3(self) -> S3:
        return self._build.adapter(S3, "s3", "s3")

    # The dataclass's own would read every field, and so make every client.
    def __repr__(self) -> str:
        return f"EdgeClients(made on first use; made: {', '.join(self._build.made()) or 'none'})"

    __eq__ = object.__eq__
    __hash__ = object.__hash__


class _LazyClients(Clients):
    """Clients whose adapters are made on first use."""

    _build: _OnFirstUse
    _edge: _LazyEdgeClients

    def __init__(self, build: _OnFirstUse) -> None:  # no dataclass fields to set
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_edge", _LazyEdgeClients(build))

    @property
    def sagemaker(self) -> SageMaker:
        return self._build.adapter(SageMaker, "sagemaker", "sagemaker")

    @property
    def autoscaling(self) -> ApplicationAutoScaling:
        return self._build.adapter(ApplicationAutoScaling, "application-autoscaling", "autoscaling")

    @property
    def s3(self) -> S3:
        return self._build.adapter(S3, "s3", "s3")

    @property
    def runtime(self) -> SageMakerRuntime:
        return self._build.adapter(SageMakerRuntime, "sagemaker-runtime", "runtime")

    @property
    def cloudwatch(self) -> CloudWatch:
        return self._build.adapter(CloudWatch, "cloudwatch", "cloudwatch")

    @property
    def edge(self) -> EdgeClients:
        return self._edge

    @property
    def components(self) -> InferenceComponents:
        return self._build.adapter(InferenceComponents, "sagemaker", "components")

    @property
    def copy_scaling(self) -> CopyScaling:
        return self._build.adapter(CopyScaling, "application-autoscaling", "copy_scaling")

    def __repr__(self) -> str:
        return f"Clients(made on first use; made: {', '.join(self._build.made()) or 'none'})"

    __eq__ = object.__eq__
    __hash__ = object.__hash__


def build_clients(limits: ServiceLimits | None = None) -> Clients:
    """Adapters sharing one session, each service held to its own client-side rate limit
    (several adapters on one service, SageMaker and Neo, share its bucket and its client).
    Each is made the first time a reconciler asks for it."""
    return _LazyClients(_OnFirstUse(limits or ServiceLimits({})))
