"""Client-side AWS rate limits: one bucket per service with defaults under AWS's limits,
overrides from SERVING_OPERATOR_AWS_RATE_LIMITS, the old global variables as an overall cap."""

from __future__ import annotations

import pytest

from serving_operator.aws.clients import build_clients
from serving_operator.aws.ratelimit import DEFAULT_RATES, Rate, ServiceLimits, parse_rates
from serving_operator.config import OperatorConfig


def test_every_adapter_the_operator_builds_has_a_default_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clients = build_clients()
    assert clients.edge is not None
    adapters = [
        clients.sagemaker,
        clients.autoscaling,
        clients.s3,
        clients.runtime,
        clients.cloudwatch,
        clients.edge.neo,
        clients.edge.greengrass,
        clients.edge.iot,
        clients.edge.sts,
    ]
    assert {a.service for a in adapters} == set(DEFAULT_RATES)


def test_the_cloudwatch_default_stays_under_its_lowest_published_limit() -> None:
    # DescribeAlarms: 9 TPS per account and Region (CloudWatch service quotas).
    cloudwatch = DEFAULT_RATES["cloudwatch"]
    assert cloudwatch.per_second < 9
    assert cloudwatch.burst < 9


def test_rates_parse_per_service_with_burst_defaulting_to_twice_the_rate() -> None:
    assert parse_rates("sagemaker=10/20, cloudwatch=2.5") == {
        "sagemaker": Rate(10, 20),
        "cloudwatch": Rate(2.5, 5),
    }
    assert parse_rates("") == {}
    assert parse_rates("sts=0.2") == {"sts": Rate(0.2, 1)}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("sagemakr=10/20", "not a service the operator calls; one of: application-autoscaling"),
        ("sagemaker", "expected service=perSecond/burst"),
        ("sagemaker=fast", "could not convert"),
        ("sagemaker=10/0", "burst"),
        ("sagemaker=0/5", "positive"),
        ("sagemaker=-1/5", "positive"),
        ("sagemaker=nan/5", "positive"),
        ("sagemaker=10/2.5", "invalid literal"),
    ],
)
def test_bad_rates_are_refused_naming_the_part(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_rates(text)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_services_draw_from_their_own_buckets() -> None:
    clock = FakeClock()
    limits = ServiceLimits(
        {"sagemaker": Rate(1, 2), "cloudwatch": Rate(1, 2)}, clock=clock, sleep=clock.sleep
    )
    sagemaker, cloudwatch = limits.for_service("sagemaker"), limits.for_service("cloudwatch")
    assert [sagemaker.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    # SageMaker's bucket is empty; CloudWatch's is not touched by it.
    assert [cloudwatch.acquire() for _ in range(2)] == [0.0, 0.0]
    assert limits.rates["iot"] == DEFAULT_RATES["iot"]


def test_an_overall_cap_holds_all_services_together() -> None:
    clock = FakeClock()
    limits = ServiceLimits({}, overall=Rate(1, 2), clock=clock, sleep=clock.sleep)
    waits = [limits.for_service(s).acquire() for s in ("sagemaker", "cloudwatch", "s3", "iot")]
    assert waits == [0.0, 0.0, pytest.approx(1.0), pytest.approx(1.0)]
    assert "at most 1/2 overall" in limits.describe()


def test_config_reads_the_overrides_and_the_old_variables_as_a_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "SERVING_OPERATOR_AWS_RATE_LIMITS",
        "SERVING_OPERATOR_AWS_CALLS_PER_SECOND",
        "SERVING_OPERATOR_AWS_BURST",
    ):
        monkeypatch.delenv(name, raising=False)
    assert OperatorConfig.from_env().aws_rates == {}
    assert OperatorConfig.from_env().aws_overall_rate is None

    monkeypatch.setenv("SERVING_OPERATOR_AWS_RATE_LIMITS", "sagemaker=3/6")
    monkeypatch.setenv("SERVING_OPERATOR_AWS_CALLS_PER_SECOND", "5")
    config = OperatorConfig.from_env()
    assert config.aws_rates == {"sagemaker": Rate(3, 6)}
    assert config.aws_overall_rate == Rate(5, 20)  # the old burst default

    monkeypatch.setenv("SERVING_OPERATOR_AWS_BURST", "0")
    with pytest.raises(ValueError, match="SERVING_OPERATOR_AWS_CALLS_PER_SECOND/_BURST"):
        OperatorConfig.from_env()
    monkeypatch.setenv("SERVING_OPERATOR_AWS_RATE_LIMITS", "sagemaker=many")
    with pytest.raises(ValueError, match="SERVING_OPERATOR_AWS_RATE_LIMITS='sagemaker=many'"):
        OperatorConfig.from_env()
