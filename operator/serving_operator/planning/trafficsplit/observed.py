"""What the TrafficSplit reconciler reads and hands to the planner: plain, immutable records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from serving_operator.planning.outcome import Lookups


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class VariantWeights:
    """One production variant's weights as SageMaker reports them."""

    name: str
    current_weight: float | None
    desired_weight: float | None


@dataclass(frozen=True)
class EndpointWeights:
    """The endpoint as DescribeEndpoint shows it, reduced to what a split needs."""

    name: str
    status: str
    """SageMaker's EndpointStatus; weights can be written only when it is InService."""
    variants: tuple[VariantWeights, ...]

    @property
    def in_service(self) -> bool:
        return self.status == "InService"

    @property
    def variant_names(self) -> frozenset[str]:
        return frozenset(v.name for v in self.variants)


@dataclass(frozen=True)
class EndpointReferenceTarget:
    """The referenced ModelEndpoint, as the handler layer found it (None fields: not found)."""

    endpoint_name: str
    """The SageMaker endpoint name of the ModelEndpoint (spec.endpointName or its name)."""
    variants: frozenset[str]
    """The production variants its spec declares."""
    spec_weights: tuple[tuple[str, float], ...] = ()
    """The production variants' weights in the ModelEndpoint's spec, in its order: what the
    endpoint serves once no split writes them (empty: not known)."""
    outside_shard: str | None = None
    """This operator's label selector, when the ModelEndpoint's labels do not match it: another
    shard's operator handles the endpoint (see `serving-operator run --selector`)."""
    asynchronous: bool = False
    """Whether the ModelEndpoint is an asynchronous endpoint (spec.asyncInference)."""
    hosts_components: bool = False
    """Its variants host inference components (no models): there are no weights to split."""


@dataclass(frozen=True)
class MetricsLookup:
    """The windows the analysis needs read from CloudWatch.

    [start, end) is the span since the step's weights went live plus the initial delay: the
    error-rate test runs on cumulative counts over it. [window_start, end) is the last analysis
    interval within it: percentiles and custom values are judged per window.
    """

    start: datetime
    window_start: datetime
    end: datetime
    period: int


@dataclass(frozen=True)
class VariantTotals:
    """Sums over [start, end) of one variant's invocation metrics."""

    invocations: int
    errors_5xx: int
    errors_4xx: int


@dataclass(frozen=True)
class AnalysisData:
    """What CloudWatch answered for a `MetricsLookup`."""

    lookup: MetricsLookup
    totals: Mapping[str, VariantTotals]
    """By variant: cumulative counts since the window start."""
    window_invocations: Mapping[str, int]
    """By variant: invocations in the last window (what a percentile rests on)."""
    values: Mapping[tuple[str, str], float | None] = field(default_factory=dict)
    """By (check name, variant): the latency percentile or custom value of the last window."""


@dataclass(frozen=True)
class SplitLookups(Lookups):
    """Reads the planner needs before it can decide: the alarms of spec.autoRollback, and the
    analysis windows once a look is due."""

    metrics: MetricsLookup | None = None
    alarms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Requests:
    """The manual controls' annotation values (any new value is a request)."""

    promote: str | None = None
    abort: str | None = None
    retry: str | None = None


@dataclass(frozen=True)
class SplitObservation:
    """Everything one pass knows besides the spec and the previous status."""

    now: datetime
    target: EndpointReferenceTarget | None
    """None: no ModelEndpoint of that name in the namespace."""
    endpoint: EndpointWeights | None
    """None: the SageMaker endpoint does not exist (yet)."""
    competing_split: str | None = None
    """Another TrafficSplit that already manages this endpoint's weights."""
    requests: Requests = field(default_factory=Requests)
    metrics: AnalysisData | None = None
    alarms: Mapping[str, AlarmState] | None = None
