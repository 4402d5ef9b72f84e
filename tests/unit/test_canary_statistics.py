"""The canary statistics against known values (scipy, Newcombe's published examples, hand
arithmetic) and their properties (hypothesis). The simulation lives in test_canary_simulation.py."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import accumulate

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special, stats

from serving_operator.planning.trafficsplit.statistics import (
    ErrorRateTest,
    IncreaseKind,
    Interval,
    LatencyCheck,
    LatencyWindow,
    MaxIncrease,
    SequentialState,
    ThresholdRange,
    VariantCounts,
    Verdict,
    always_valid_p_value,
    decide_error_rate,
    decide_latency,
    detectable_increase,
    difference_variance_for_testing,
    error_rate_difference,
    error_rate_interval,
    fail_alpha_per_check,
    log_error_share_likelihood_ratio,
    log_mixture_likelihood_ratio,
    log_one_sided_mixture_likelihood_ratio,
    ratio_safety_alternatives,
    standard_normal_cdf,
    two_sided_z,
    variant_error_rate,
)

# --------------------------------------------------------------------------- known values


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99, 0.999])
def test_two_sided_z_matches_scipy(confidence: float) -> None:
    assert two_sided_z(confidence) == pytest.approx(stats.norm.ppf(0.5 + confidence / 2), rel=1e-9)


@pytest.mark.parametrize("x", [-8.0, -3.2, -1.0, 0.0, 0.7, 1.96, 5.0])
def test_standard_normal_cdf_matches_scipy(x: float) -> None:
    assert standard_normal_cdf(x) == pytest.approx(stats.norm.cdf(x), rel=1e-12)


@pytest.mark.parametrize(
    ("errors", "invocations"),
    [(0, 1), (0, 1000), (1, 1000), (3, 1000), (10, 1000), (56, 70), (500, 1000), (1000, 1000)],
)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_scipy(errors: int, invocations: int, confidence: float) -> None:
    expected = stats.binomtest(errors, invocations).proportion_ci(confidence, method="wilson")
    interval = error_rate_interval(errors, invocations, confidence)
    assert interval.low == pytest.approx(expected.low, abs=1e-12)
    assert interval.high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_interval_without_invocations_is_everything() -> None:
    assert error_rate_interval(0, 0) == Interval(0.0, 1.0)


def test_variant_error_rate_is_the_report_row() -> None:
    row = variant_error_rate(VariantCounts(invocations=2000, errors=30), confidence=0.9)
    expected = stats.binomtest(30, 2000).proportion_ci(0.9, method="wilson")
    assert (row.invocations, row.errors, row.error_rate) == (2000, 30, 0.015)
    assert row.interval.low == pytest.approx(expected.low, abs=1e-12)
    assert row.interval.high == pytest.approx(expected.high, abs=1e-12)


@pytest.mark.parametrize(
    ("candidate", "baseline", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score).
        (VariantCounts(70, 56), VariantCounts(80, 48), 0.0524, 0.3339),
        (VariantCounts(10, 9), VariantCounts(10, 3), 0.1705, 0.8090),
    ],
)
def test_newcombe_interval_matches_the_published_examples(
    candidate: VariantCounts, baseline: VariantCounts, low: float, high: float
) -> None:
    difference = error_rate_difference(candidate, baseline)
    assert difference.interval.low == pytest.approx(low, abs=5e-5)
    assert difference.interval.high == pytest.approx(high, abs=5e-5)


def test_difference_standard_error_and_z_statistic_by_hand() -> None:
    # 30/1000 vs 15/1500: SE = sqrt(.03 * .97 / 1000 + .01 * .99 / 1500) = sqrt(3.57e-5).
    difference = error_rate_difference(VariantCounts(1000, 30), VariantCounts(1500, 15))
    assert difference.difference == pytest.approx(0.02)
    assert difference.standard_error == pytest.approx(math.sqrt(3.57e-5), rel=1e-12)
    z = difference.difference / difference.standard_error
    # One-sided p-value of the Wald z-test, as scipy would report it.
    assert 1.0 - standard_normal_cdf(z) == pytest.approx(stats.norm.sf(z), rel=1e-9)
    assert z == pytest.approx(3.3473, abs=1e-4)


@pytest.mark.parametrize(
    ("difference", "variance", "tau", "expected"),
    [
        # s² = τ² = 1e-4: Λ = sqrt(1/2) · exp(τ²Δ² / (2 s² (s² + τ²))), the exponent being
        # 1e-8 / 4e-8 = 0.25 for Δ = 0.01 and 9e-8 / 4e-8 = 2.25 for Δ = 0.03.
        (0.01, 1e-4, 0.01, math.sqrt(0.5) * math.exp(0.25)),
        (0.03, 1e-4, 0.01, math.sqrt(0.5) * math.exp(2.25)),
        (-0.03, 1e-4, 0.01, math.sqrt(0.5) * math.exp(2.25)),
        # s² = 3e-4, τ² = 1e-4: sqrt(3/4) · exp(1e-4 · 4e-4 / (2 · 3e-4 · 4e-4)), i.e. e^(1/6).
        (0.02, 3e-4, 0.01, math.sqrt(0.75) * math.exp(1.0 / 6.0)),
        (0.0, 1e-4, 0.01, math.sqrt(0.5)),
    ],
)
def test_mixture_likelihood_ratio_by_hand(
    difference: float, variance: float, tau: float, expected: float
) -> None:
    assert math.exp(log_mixture_likelihood_ratio(difference, variance, tau)) == pytest.approx(
        expected, rel=1e-12
    )


def _one_sided_mixture_by_integration(excess: float, variance: float, tau: float) -> float:
    """∫₀^∞ N(Δ; θ, s²)/N(Δ; 0, s²) · 2 N(θ; 0, τ²) dθ, numerically."""

    def integrand(theta: float) -> float:
        likelihood_ratio = math.exp((theta * excess - theta * theta / 2.0) / variance)
        return likelihood_ratio * 2.0 * float(stats.norm.pdf(theta, scale=tau))

    value, _ = integrate.quad(integrand, 0.0, math.inf, epsabs=0.0, epsrel=1e-11)
    return value


@pytest.mark.parametrize(
    ("excess", "variance", "tau"),
    [
        (0.01, 1e-4, 0.01),
        (-0.01, 1e-4, 0.01),
        (0.004, 2e-5, 0.01),
        (-0.002, 2e-5, 0.005),
        (0.0, 5e-5, 0.02),
    ],
)
def test_one_sided_mixture_matches_numerical_integration(
    excess: float, variance: float, tau: float
) -> None:
    computed = math.exp(log_one_sided_mixture_likelihood_ratio(excess, variance, tau))
    assert computed == pytest.approx(
        _one_sided_mixture_by_integration(excess, variance, tau), rel=1e-8
    )


def test_one_sided_mixture_at_hand_values() -> None:
    # Δ = s = τ = 0.01: x = τΔ / (s sqrt(s² + τ²)) = 1/sqrt(2), Λ₊ = 2 Φ(x) Λ.
    expected = 2.0 * stats.norm.cdf(1 / math.sqrt(2)) * math.sqrt(0.5) * math.exp(0.25)
    computed = math.exp(log_one_sided_mixture_likelihood_ratio(0.01, 1e-4, 0.01))
    assert computed == pytest.approx(expected, rel=1e-12)
    assert computed == pytest.approx(1.380527, abs=1e-6)


@pytest.mark.parametrize("excess", [-0.05, -0.2, -1.0])
def test_one_sided_mixture_deep_in_the_benign_tail_matches_scipy_logcdf(excess: float) -> None:
    # Here x < -30 and Φ(x) underflows; scipy's logcdf is the reference.
    variance, tau = 1e-6, 0.01
    x = tau * excess / math.sqrt(variance * (variance + tau * tau))
    assert x < -30
    expected = (
        math.log(2.0)
        + log_mixture_likelihood_ratio(excess, variance, tau)
        + float(stats.norm.logcdf(x))
    )
    assert log_one_sided_mixture_likelihood_ratio(excess, variance, tau) == pytest.approx(
        expected, rel=1e-9
    )


def _log_one_sided_mixture_by_erfcx(excess: float, variance: float, tau: float) -> float:
    """log Λ₊ by scipy without cancellation: for x < 0, x²/2 + log Φ(x) = log(erfcx(-x/√2) / 2);
    for x ≥ 0 nothing cancels (and erfcx would overflow)."""
    x = tau * excess / math.sqrt(variance * (variance + tau * tau))
    log_cdf_plus_half_square = (
        math.log(0.5 * float(special.erfcx(-x / math.sqrt(2.0))))
        if x < 0
        else 0.5 * x * x + float(special.log_ndtr(x))
    )
    return math.log(2.0) - 0.5 * math.log1p(tau * tau / variance) + log_cdf_plus_half_square


def _testing_inputs(
    test: ErrorRateTest, candidate: VariantCounts, baseline: VariantCounts
) -> list[tuple[float, float, float]]:
    """(excess, variance, tau) of the harm and the safety side, as decide_error_rate forms them."""
    observed = candidate.error_rate - baseline.error_rate
    tau = test.tau or test.harmful_increase
    harmful_boundary = test.margin + test.harmful_increase
    return [
        (observed - test.margin, difference_variance_for_testing(candidate, baseline), tau),
        (
            harmful_boundary - observed,
            difference_variance_for_testing(
                candidate, baseline, candidate_rate_floor=baseline.error_rate + harmful_boundary
            ),
            tau,
        ),
    ]


# Issue 18, BUG-1: counts at which the cancellation of x²/2 against log Φ(x) went wrong.
ALL_ERRORS_VS_NONE = [
    (ErrorRateTest(), VariantCounts(n, 0), VariantCounts(n, n))
    for n in (855_570_065, 3_826_096_911)
]
NO_ERRORS_WITH_MARGIN = (
    ErrorRateTest(margin=0.2),
    VariantCounts(3_400_000_029, 0),
    VariantCounts(3_400_000_029, 0),
)


@pytest.mark.parametrize(("test", "candidate", "baseline"), ALL_ERRORS_VS_NONE)
def test_a_flawless_candidate_against_a_failing_baseline_passes_at_billions(
    test: ErrorRateTest, candidate: VariantCounts, baseline: VariantCounts
) -> None:
    decision = decide_error_rate(test, candidate, baseline, SequentialState())
    assert decision.verdict == Verdict.PASS
    assert decision.state.harm_p_value == 1.0


def test_no_errors_on_either_side_within_the_margin_passes_at_billions() -> None:
    decision = decide_error_rate(*NO_ERRORS_WITH_MARGIN, SequentialState())
    assert decision.verdict == Verdict.PASS
    assert decision.state.harm_p_value == 1.0


@pytest.mark.parametrize(
    ("test", "candidate", "baseline"), [*ALL_ERRORS_VS_NONE, NO_ERRORS_WITH_MARGIN]
)
def test_one_sided_mixture_at_billions_matches_scipy_erfcx(
    test: ErrorRateTest, candidate: VariantCounts, baseline: VariantCounts
) -> None:
    for excess, variance, tau in _testing_inputs(test, candidate, baseline):
        assert log_one_sided_mixture_likelihood_ratio(excess, variance, tau) == pytest.approx(
            _log_one_sided_mixture_by_erfcx(excess, variance, tau), rel=1e-12
        )


@pytest.mark.parametrize("excess", [-1.0, -0.2, -0.01, -1e-3, 0.0, 1e-3, 0.05])
@pytest.mark.parametrize("variance", [1e-4, 1e-8, 1e-12, 1e-16, 1e-19, 1e-30])
def test_one_sided_mixture_at_any_scale_matches_scipy(excess: float, variance: float) -> None:
    tau = 0.01
    assert log_one_sided_mixture_likelihood_ratio(excess, variance, tau) == pytest.approx(
        _log_one_sided_mixture_by_erfcx(excess, variance, tau), rel=1e-12
    )


def test_an_overwhelmingly_benign_look_leaves_the_p_value_alone() -> None:
    # exp(-log Λ) overflows beyond 709; a likelihood ratio below 1 never lowers p anyway.
    assert always_valid_p_value(0.3, -1000.0) == 0.3
    assert always_valid_p_value(1.0, -math.inf) == 1.0


def test_always_valid_p_value_keeps_the_smallest_seen() -> None:
    assert always_valid_p_value(1.0, math.log(4.0)) == pytest.approx(0.25)
    assert always_valid_p_value(0.25, math.log(2.0)) == 0.25
    assert always_valid_p_value(1.0, math.log(0.5)) == 1.0


# --------------------------------------------------------------------------- decisions


def test_a_doubled_error_rate_fails() -> None:
    decision = decide_error_rate(
        ErrorRateTest(), VariantCounts(2000, 60), VariantCounts(18000, 180), SequentialState()
    )
    assert decision.verdict is Verdict.FAIL
    assert decision.state.harm_p_value <= 0.05
    assert decision.state.looks == 1


def test_identical_error_rates_with_plenty_of_data_pass() -> None:
    decision = decide_error_rate(
        ErrorRateTest(), VariantCounts(5000, 50), VariantCounts(45000, 450), SequentialState()
    )
    assert decision.verdict is Verdict.PASS
    assert decision.state.safety_p_value <= 0.05
    assert decision.state.harm_p_value == 1.0


def test_a_look_with_too_little_evidence_either_way_is_inconclusive() -> None:
    decision = decide_error_rate(
        ErrorRateTest(), VariantCounts(1000, 17), VariantCounts(9000, 90), SequentialState()
    )
    assert decision.verdict is Verdict.INCONCLUSIVE
    assert decision.reason == "NotYetDecided"
    assert 0.05 < decision.state.harm_p_value < 1.0
    assert decision.state.safety_p_value > 0.05


def test_a_margin_tolerates_a_small_increase() -> None:
    # 1.75% against 1%: reliably worse, but not by more than half a percentage point plus the
    # default harmful increase.
    candidate, baseline = VariantCounts(4000, 70), VariantCounts(36000, 360)
    strict = decide_error_rate(ErrorRateTest(), candidate, baseline, SequentialState())
    tolerant = decide_error_rate(
        ErrorRateTest(margin=0.005), candidate, baseline, SequentialState()
    )
    assert strict.verdict is Verdict.FAIL
    assert tolerant.verdict is Verdict.PASS


def test_evidence_carries_over_between_looks() -> None:
    test = ErrorRateTest()
    strong = decide_error_rate(
        test, VariantCounts(2000, 60), VariantCounts(18000, 180), SequentialState()
    )
    # A later look whose cumulative counts alone would be inconclusive keeps the earlier Fail.
    later = decide_error_rate(
        test, VariantCounts(3000, 42), VariantCounts(27000, 300), strong.state
    )
    alone = decide_error_rate(
        test, VariantCounts(3000, 42), VariantCounts(27000, 300), SequentialState()
    )
    assert alone.verdict is not Verdict.FAIL
    assert later.verdict is Verdict.FAIL
    assert later.state.harm_p_value == strong.state.harm_p_value
    assert later.state.looks == 2


def test_the_report_difference_uses_one_minus_alpha() -> None:
    decision = decide_error_rate(
        ErrorRateTest(alpha=0.1),
        VariantCounts(1000, 14),
        VariantCounts(9000, 90),
        SequentialState(),
    )
    assert decision.difference == error_rate_difference(
        VariantCounts(1000, 14), VariantCounts(9000, 90), confidence=0.9
    )


@pytest.mark.parametrize("policy", list(Verdict))
@pytest.mark.parametrize(
    ("candidate", "baseline"),
    [
        (None, VariantCounts(5000, 10)),
        (VariantCounts(5000, 10), None),
        (VariantCounts(0, 0), VariantCounts(5000, 10)),
        (VariantCounts(5000, 10), VariantCounts(0, 0)),
    ],
)
def test_no_data_takes_the_configured_verdict_but_never_a_pass(
    policy: Verdict, candidate: VariantCounts | None, baseline: VariantCounts | None
) -> None:
    # No data is fewer invocations than minSampleSize, where a check is never a pass.
    state = SequentialState(harm_p_value=0.3, safety_p_value=0.4, looks=2)
    decision = decide_error_rate(ErrorRateTest(no_data=policy), candidate, baseline, state)
    expected = Verdict.INCONCLUSIVE if policy is Verdict.PASS else policy
    assert (decision.verdict, decision.reason, decision.state) == (expected, "NoData", state)


@pytest.mark.parametrize(
    "arguments",
    [
        {"alpha": 0.0},
        {"alpha": 1.0},
        {"min_sample_size": 0},
        {"margin": -0.01},
        {"harmful_increase": 0.0},
        {"margin": 0.5, "harmful_increase": 0.6},
        {"tau": 0.0},
    ],
)
def test_nonsensical_tests_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        ErrorRateTest(**arguments)  # type: ignore[arg-type]


def test_counts_must_be_possible() -> None:
    with pytest.raises(ValueError, match="more errors"):
        VariantCounts(invocations=3, errors=4)
    with pytest.raises(ValueError, match="negative"):
        VariantCounts(invocations=-1, errors=0)


# --------------------------------------------------------------------------- properties

counts = st.integers(min_value=1, max_value=200_000).flatmap(
    lambda n: st.builds(VariantCounts, st.just(n), st.integers(min_value=0, max_value=n))
)
look_increments = st.lists(st.tuples(counts, counts), min_size=1, max_size=25)
tests = st.builds(
    ErrorRateTest,
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
    min_sample_size=st.integers(min_value=1, max_value=5000),
    margin=st.sampled_from([0.0, 0.001, 0.01]),
    harmful_increase=st.sampled_from([0.001, 0.01, 0.05]),
    tau=st.none() | st.sampled_from([0.002, 0.01, 0.05]),
)


def _cumulative(increments: list[VariantCounts]) -> list[VariantCounts]:
    return list(accumulate(increments, lambda total, more: total + more))


@given(tests, look_increments)
def test_p_values_never_increase_from_look_to_look(
    test: ErrorRateTest, increments: list[tuple[VariantCounts, VariantCounts]]
) -> None:
    candidates = _cumulative([c for c, _ in increments])
    baselines = _cumulative([b for _, b in increments])
    state = SequentialState()
    for candidate, baseline in zip(candidates, baselines, strict=True):
        decision = decide_error_rate(test, candidate, baseline, state)
        assert 0.0 <= decision.state.harm_p_value <= state.harm_p_value <= 1.0
        assert 0.0 <= decision.state.safety_p_value <= state.safety_p_value <= 1.0
        state = decision.state


@given(
    tests.filter(lambda test: test.min_sample_size > 1),
    counts,
    st.builds(
        SequentialState,
        harm_p_value=st.floats(0.0, 1.0),
        safety_p_value=st.floats(0.0, 1.0),
        looks=st.integers(0, 50),
    ),
    st.data(),
)
def test_below_the_minimum_sample_size_a_look_never_passes_and_fails_only_on_exact_evidence(
    test: ErrorRateTest, other: VariantCounts, state: SequentialState, data: st.DataObject
) -> None:
    short = data.draw(
        st.integers(min_value=1, max_value=test.min_sample_size - 1).flatmap(
            lambda n: st.builds(VariantCounts, st.just(n), st.integers(0, n))
        )
    )
    candidate_short = data.draw(st.booleans())
    candidate, baseline = (short, other) if candidate_short else (other, short)
    decision = decide_error_rate(test, candidate, baseline, state)
    # Never a Pass, and the normal test's look does not count; only the exact error-share
    # test, valid at any sample size, may fail the check on strong evidence.
    assert decision.verdict is not Verdict.PASS
    assert (decision.verdict, decision.reason) in {
        (Verdict.INCONCLUSIVE, "BelowMinSampleSize"),
        (Verdict.FAIL, "ErrorShareIncreased"),
    }
    assert replace(decision.state, share_p_value=state.share_p_value) == state
    if decision.verdict is Verdict.FAIL:
        assert test.early_fail_level is not None
        assert decision.state.share_p_value <= test.early_fail_level


@given(tests, st.lists(counts, min_size=1, max_size=25))
def test_identical_variants_never_fail(
    test: ErrorRateTest, increments: list[VariantCounts]
) -> None:
    state = SequentialState()
    for cumulative in _cumulative(increments):
        decision = decide_error_rate(test, cumulative, cumulative, state)
        assert decision.verdict is not Verdict.FAIL
        state = decision.state


@given(tests, counts, counts)
def test_more_candidate_errors_never_make_a_fail_less_likely(
    test: ErrorRateTest, candidate: VariantCounts, baseline: VariantCounts
) -> None:
    worse = VariantCounts(candidate.invocations, min(candidate.invocations, candidate.errors + 1))
    p = decide_error_rate(test, candidate, baseline, SequentialState()).state.harm_p_value
    p_worse = decide_error_rate(test, worse, baseline, SequentialState()).state.harm_p_value
    assert p_worse <= p + 1e-12


@given(
    st.floats(min_value=-0.2, max_value=0.2),
    st.floats(min_value=1e-8, max_value=1e-2),
    st.floats(min_value=1e-4, max_value=0.2),
)
def test_one_sided_halves_add_up_to_the_two_sided_mixture(
    difference: float, variance: float, tau: float
) -> None:
    # Λ₊(Δ) + Λ₊(-Δ) = 2Λ(Δ): the two half-normal mixtures make up the full normal one.
    two_sided = log_mixture_likelihood_ratio(difference, variance, tau)
    halves = [
        log_one_sided_mixture_likelihood_ratio(d, variance, tau) for d in (difference, -difference)
    ]
    assert math.log(sum(math.exp(h - two_sided) for h in halves)) == pytest.approx(
        math.log(2.0), abs=1e-9
    )


@given(counts, counts, st.sampled_from([0.8, 0.95, 0.99]))
def test_intervals_contain_their_estimates(
    candidate: VariantCounts, baseline: VariantCounts, confidence: float
) -> None:
    rate = error_rate_interval(candidate.errors, candidate.invocations, confidence)
    assert 0.0 <= rate.low <= candidate.error_rate <= rate.high <= 1.0
    difference = error_rate_difference(candidate, baseline, confidence)
    assert -1.0 <= difference.interval.low <= difference.difference <= difference.interval.high


# --------------------------------------------------------------------------- latency

FIXED = LatencyCheck(min_invocations=100, threshold_range=ThresholdRange(min=1000.0, max=50_000.0))


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        (999.0, Verdict.FAIL),
        (1000.0, Verdict.PASS),
        (20_000.0, Verdict.PASS),
        (50_000.0, Verdict.PASS),
        (50_001.0, Verdict.FAIL),
    ],
)
def test_latency_against_a_fixed_range(value: float, verdict: Verdict) -> None:
    decision = decide_latency(FIXED, LatencyWindow(percentile=value, invocations=100))
    assert decision.verdict is verdict
    assert decision.allowed == FIXED.threshold_range


def test_a_fixed_range_ignores_the_baseline_window() -> None:
    decision = decide_latency(
        FIXED, LatencyWindow(20_000.0, 500), baseline=LatencyWindow(percentile=None, invocations=0)
    )
    assert decision.verdict is Verdict.PASS


@pytest.mark.parametrize(
    ("increase", "candidate", "verdict", "limit"),
    [
        (MaxIncrease(IncreaseKind.RELATIVE, 0.2), 23_900.0, Verdict.PASS, 24_000.0),
        (MaxIncrease(IncreaseKind.RELATIVE, 0.2), 24_100.0, Verdict.FAIL, 24_000.0),
        (MaxIncrease(IncreaseKind.ABSOLUTE, 5000.0), 25_000.0, Verdict.PASS, 25_000.0),
        (MaxIncrease(IncreaseKind.ABSOLUTE, 5000.0), 25_001.0, Verdict.FAIL, 25_000.0),
    ],
)
def test_latency_against_the_baseline_window(
    increase: MaxIncrease, candidate: float, verdict: Verdict, limit: float
) -> None:
    check = LatencyCheck(min_invocations=100, max_increase=increase)
    decision = decide_latency(check, LatencyWindow(candidate, 200), LatencyWindow(20_000.0, 1800))
    assert decision.verdict is verdict
    assert decision.allowed == ThresholdRange(max=limit)


@pytest.mark.parametrize(
    ("candidate", "baseline"),
    [
        (LatencyWindow(90_000.0, 99), LatencyWindow(20_000.0, 5000)),
        (LatencyWindow(90_000.0, 5000), LatencyWindow(20_000.0, 99)),
    ],
)
def test_a_thin_latency_window_is_inconclusive(
    candidate: LatencyWindow, baseline: LatencyWindow
) -> None:
    check = LatencyCheck(min_invocations=100, max_increase=MaxIncrease(IncreaseKind.RELATIVE, 0.1))
    decision = decide_latency(check, candidate, baseline)
    assert (decision.verdict, decision.reason) == (Verdict.INCONCLUSIVE, "BelowMinInvocations")


@pytest.mark.parametrize("policy", list(Verdict))
@pytest.mark.parametrize(
    ("candidate", "baseline"),
    [
        (LatencyWindow(None, 0), LatencyWindow(20_000.0, 5000)),
        (LatencyWindow(30_000.0, 0), LatencyWindow(20_000.0, 5000)),
        (LatencyWindow(30_000.0, 500), LatencyWindow(None, 0)),
        (LatencyWindow(30_000.0, 500), None),
    ],
)
def test_latency_without_data_takes_the_configured_verdict_but_never_a_pass(
    policy: Verdict, candidate: LatencyWindow, baseline: LatencyWindow | None
) -> None:
    # Every case lacks min_invocations in a window the bound needs (a missing baseline window
    # has none), where a check is never a pass.
    check = LatencyCheck(
        min_invocations=100, max_increase=MaxIncrease(IncreaseKind.RELATIVE, 0.1), no_data=policy
    )
    decision = decide_latency(check, candidate, baseline)
    expected = Verdict.INCONCLUSIVE if policy is Verdict.PASS else policy
    assert (decision.verdict, decision.reason) == (expected, "NoData")


@pytest.mark.parametrize("policy", list(Verdict))
@pytest.mark.parametrize(
    ("check", "baseline"),
    [
        (LatencyCheck(min_invocations=100, threshold_range=ThresholdRange(max=1.0)), None),
        (
            LatencyCheck(min_invocations=100, max_increase=MaxIncrease(IncreaseKind.RELATIVE, 0.1)),
            LatencyWindow(20_000.0, 5000),
        ),
    ],
)
def test_a_missing_datapoint_with_enough_traffic_takes_the_configured_verdict(
    policy: Verdict, check: LatencyCheck, baseline: LatencyWindow | None
) -> None:
    check = replace(check, no_data=policy)
    decision = decide_latency(check, LatencyWindow(None, 5000), baseline)
    assert (decision.verdict, decision.reason) == (policy, "NoData")


def test_a_latency_check_needs_exactly_one_bound() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        LatencyCheck(min_invocations=100)
    with pytest.raises(ValueError, match="exactly one"):
        LatencyCheck(
            min_invocations=100,
            threshold_range=ThresholdRange(max=1.0),
            max_increase=MaxIncrease(IncreaseKind.ABSOLUTE, 1.0),
        )


# --------------------------------------------------------------------------- error-share test


def test_error_share_likelihood_ratio_by_hand() -> None:
    # π = 100 / 1000 = 0.1; k = 3 candidate errors of E = 4. For r = 2: q = 0.2 / 1.1.
    candidate, baseline = VariantCounts(100, 3), VariantCounts(900, 1)
    expected = 0.0
    for r in (2.0, 4.0):
        q = 0.1 * r / (0.1 * r + 0.9)
        expected += (q / 0.1) ** 3 * ((1 - q) / 0.9) ** 1 / 2
    got = log_error_share_likelihood_ratio(candidate, baseline, ratios=(2.0, 4.0))
    assert got == pytest.approx(math.log(expected), rel=1e-12)


def test_error_share_test_is_exact_at_small_counts() -> None:
    """Under equal error rates the errors land in the candidate with probability π, one by
    one: the mixture must cross 1/a in at most a fraction a of the runs, however many looks
    (here every error is a look, the most any schedule can take). Seeded; 4,000 runs."""
    rng = np.random.default_rng(20261207)
    level, runs, errors_per_run, share = 0.05, 4000, 60, 0.1
    crossed = 0
    for _ in range(runs):
        lands = rng.random(errors_per_run) < share
        k = 0
        for e, candidate_error in enumerate(lands, start=1):
            k += int(candidate_error)
            log_lr = log_error_share_likelihood_ratio(
                VariantCounts(1000, k), VariantCounts(9000, e - k)
            )
            if log_lr >= -math.log(level):
                crossed += 1
                break
    # The standard error at 0.05 over 4,000 runs is 0.0034: allow two of them.
    assert crossed / runs <= level + 0.007, crossed / runs


def test_strong_evidence_fails_below_the_minimum_sample_size() -> None:
    """100 invocations a minute, 10% to the candidate: a 5% candidate against a 0.5% baseline
    has, after 30 minutes, about 15 errors in 300 invocations against 13 in 2,700. Far below
    minSampleSize (1,000), the exact test rolls it back with a five-step canary's budget."""
    test = ErrorRateTest(fail_alpha=fail_alpha_per_check(0.05, steps=5, error_rate_checks=1))
    decision = decide_error_rate(
        test, VariantCounts(300, 15), VariantCounts(2700, 13), SequentialState()
    )
    assert (decision.verdict, decision.reason) == (Verdict.FAIL, "ErrorShareIncreased")
    assert decision.state.harm_p_value == 1.0, "the normal test did not look"
    assert decision.state.looks == 0


def test_a_few_errors_are_not_strong_evidence() -> None:
    test = ErrorRateTest(fail_alpha=fail_alpha_per_check(0.05, steps=5, error_rate_checks=1))
    decision = decide_error_rate(
        test, VariantCounts(300, 6), VariantCounts(2700, 13), SequentialState()
    )
    assert (decision.verdict, decision.reason) == (Verdict.INCONCLUSIVE, "BelowMinSampleSize")
    assert decision.state.share_p_value < 1.0


def test_with_a_margin_only_the_normal_test_judges() -> None:
    test = ErrorRateTest(margin=0.01)
    assert test.early_fail_level is None
    assert test.mixture_fail_level == test.alpha
    decision = decide_error_rate(
        test, VariantCounts(300, 60), VariantCounts(2700, 1), SequentialState()
    )
    assert decision.verdict is Verdict.INCONCLUSIVE
    assert decision.state.share_p_value == 1.0


def test_the_fail_budget_is_alpha_split_over_steps_and_checks() -> None:
    assert fail_alpha_per_check(0.05, steps=5, error_rate_checks=2) == pytest.approx(0.005)
    assert fail_alpha_per_check(0.05, steps=0, error_rate_checks=0) == 0.05
    test = ErrorRateTest(alpha=0.05, fail_alpha=0.01)
    assert test.mixture_fail_level == pytest.approx(0.009)
    assert test.early_fail_level == pytest.approx(0.001)
    with pytest.raises(ValueError, match="fail_alpha"):
        ErrorRateTest(alpha=0.05, fail_alpha=0.06)


# --------------------------------------------------------------------------- relative harm


def test_error_share_likelihood_ratio_against_a_null_ratio_by_hand() -> None:
    """The Pass side of a relative harm: null "the candidate fails R = 2 times as often",
    q0 = 0.1·2 / (0.1·2 + 0.9); bets below it. k = 3 candidate errors of E = 40."""
    candidate, baseline = VariantCounts(100, 3), VariantCounts(900, 37)
    null = 0.2 / 1.1
    expected = 0.0
    for r in (1.0, 0.5):
        q = 0.1 * r / (0.1 * r + 0.9)
        expected += (q / null) ** 3 * ((1 - q) / (1 - null)) ** 37 / 2
    got = log_error_share_likelihood_ratio(candidate, baseline, ratios=(1.0, 0.5), null_ratio=2.0)
    assert got == pytest.approx(math.log(expected), rel=1e-12)


def test_the_ratio_safety_test_is_exact_at_its_boundary() -> None:
    """A candidate failing exactly R = 2 times as often as the baseline (the edge of the
    relative harm): its errors land in the candidate with probability q0 = 0.2/1.1, one by
    one; the Pass side's mixture must reach 1/a in at most a fraction a of the runs, looking
    after every error. Seeded; 4,000 runs."""
    rng = np.random.default_rng(20261208)
    level, runs, errors_per_run, share, ratio = 0.05, 4000, 80, 0.1, 2.0
    null = share * ratio / (share * ratio + 1 - share)
    crossed = 0
    for _ in range(runs):
        lands = rng.random(errors_per_run) < null
        k = 0
        for e, candidate_error in enumerate(lands, start=1):
            k += int(candidate_error)
            log_lr = log_error_share_likelihood_ratio(
                VariantCounts(1000, k),
                VariantCounts(9000, e - k),
                ratio_safety_alternatives(ratio),
                null_ratio=ratio,
            )
            if log_lr >= -math.log(level):
                crossed += 1
                break
    assert crossed / runs <= level + 0.007, crossed / runs


# 0.1% baseline, the candidate twice as bad, 25,000 invocations each: a difference of 0.1
# points, a tenth of the default harmfulIncrease.
LOW_BASELINE, DOUBLED = VariantCounts(25_000, 25), VariantCounts(25_000, 50)


def test_the_absolute_default_passes_a_doubled_low_error_rate() -> None:
    decision = decide_error_rate(ErrorRateTest(), DOUBLED, LOW_BASELINE, SequentialState())
    assert (decision.verdict, decision.reason) == (Verdict.PASS, "ErrorRateNotWorse")


@pytest.mark.parametrize(
    ("harmful_ratio", "verdict", "reason"),
    [
        # 2x is relatively harmful at R = 1.5 and at R = 2 (its edge): no Pass at these counts.
        (1.5, Verdict.INCONCLUSIVE, "RatioNotYetExcluded"),
        (2.0, Verdict.INCONCLUSIVE, "RatioNotYetExcluded"),
        # At R = 8 the errors' split (50 of 75 in the candidate, q0 = 8/9 at an even split)
        # excludes 8x at once.
        (8.0, Verdict.PASS, "ErrorRateNotWorse"),
    ],
)
def test_a_harmful_ratio_judges_a_doubled_low_error_rate_as_the_math_says(
    harmful_ratio: float, verdict: Verdict, reason: str
) -> None:
    test = ErrorRateTest(harmful_ratio=harmful_ratio)
    decision = decide_error_rate(test, DOUBLED, LOW_BASELINE, SequentialState())
    assert (decision.verdict, decision.reason) == (verdict, reason)
    # The ratio p-value is 1/Λ of the exact test at null R, by hand.
    share = 0.5
    null = share * harmful_ratio / (share * harmful_ratio + 1 - share)
    terms = [
        (q / null) ** 50 * ((1 - q) / (1 - null)) ** 25
        for r in ratio_safety_alternatives(harmful_ratio)
        for q in [share * r / (share * r + 1 - share)]
    ]
    expected = min(1.0, len(terms) / sum(terms))
    assert decision.state.ratio_safety_p_value == pytest.approx(expected, rel=1e-9)
    assert decision.state.safety_p_value <= test.alpha, "the absolute harm is excluded"


def test_a_relative_harm_is_excluded_at_half_alpha() -> None:
    """Relative harm is 'R times the rate and floor above it': excluding it needs either test
    at alpha/2 (Bonferroni), not alpha. A carried ratio p-value between the two decides."""
    test = ErrorRateTest(harmful_ratio=2.0)
    # Counts that are no evidence about the ratio (the candidate's share of errors is q0).
    candidate, baseline = VariantCounts(10_000, 20), VariantCounts(10_000, 10)
    for carried, verdict in ((0.03, Verdict.INCONCLUSIVE), (0.02, Verdict.PASS)):
        decision = decide_error_rate(
            test, candidate, baseline, SequentialState(ratio_safety_p_value=carried)
        )
        assert decision.state.ratio_safety_p_value == carried
        assert decision.state.safety_p_value <= test.alpha
        assert decision.verdict is verdict, carried


def test_identical_low_error_rates_pass_a_relative_harm_with_enough_errors() -> None:
    test = ErrorRateTest(harmful_ratio=2.0)
    state, verdicts = SequentialState(), []
    for look in range(1, 41):
        n = 5_000 * look
        decision = decide_error_rate(
            test, VariantCounts(n, n // 1000), VariantCounts(n, n // 1000), state
        )
        state = decision.state
        verdicts.append(decision.verdict)
    assert Verdict.PASS in verdicts
    assert Verdict.FAIL not in verdicts
    # Tens of errors a side before a doubling can be excluded: not at the first look.
    assert verdicts[0] is Verdict.INCONCLUSIVE


def test_a_baseline_without_errors_does_not_make_every_error_harmful() -> None:
    """With no baseline errors the ratio test has nothing to go on; the floor lets a
    candidate with no errors pass once the counts exclude 0.05 points."""
    test = ErrorRateTest(harmful_ratio=2.0)
    decision = decide_error_rate(
        test, VariantCounts(200_000, 0), VariantCounts(200_000, 0), SequentialState()
    )
    assert decision.state.ratio_safety_p_value == 1.0
    assert decision.state.floor_safety_p_value <= test.alpha / 2
    assert decision.verdict is Verdict.PASS


@pytest.mark.parametrize("ratio", [1.0, 0.5, math.inf])
def test_a_harmful_ratio_must_lie_above_1(ratio: float) -> None:
    with pytest.raises(ValueError, match="harmful_ratio"):
        ErrorRateTest(harmful_ratio=ratio)


# --------------------------------------------------------------------------- detectable harm


def test_the_detectable_increase_is_the_tests_boundary_plus_the_power_quantile() -> None:
    """θ = δ + c + z_0.8 · s, with c where log Λ₊ reaches log(1/level): recomputed here from
    the pieces, and Φ((θ - δ - c)/s) is the power."""
    test = ErrorRateTest(fail_alpha=0.01)
    candidate, baseline = VariantCounts(10_000, 10), VariantCounts(90_000, 90)
    theta = detectable_increase(test, candidate, baseline)
    assert theta is not None
    variance = difference_variance_for_testing(candidate, baseline)
    s = math.sqrt(variance)
    c = theta - stats.norm.ppf(0.8) * s
    needed = -math.log(test.mixture_fail_level)
    tau = test.harmful_increase
    assert log_one_sided_mixture_likelihood_ratio(c, variance, tau) == pytest.approx(
        needed, abs=1e-9
    )
    assert log_one_sided_mixture_likelihood_ratio(c * 0.999, variance, tau) < needed
    assert stats.norm.cdf((theta - c) / s) == pytest.approx(0.8)


def test_the_detectable_increase_shrinks_with_traffic_and_respects_the_margin() -> None:
    test = ErrorRateTest(fail_alpha=0.01)
    sizes = [
        detectable_increase(test, VariantCounts(n, n // 100), VariantCounts(n, n // 100))
        for n in (1_000, 10_000, 100_000)
    ]
    assert all(x is not None for x in sizes)
    assert sizes[0] > sizes[1] > sizes[2]  # type: ignore[operator]
    with_margin = detectable_increase(
        ErrorRateTest(fail_alpha=0.01, margin=0.005),
        VariantCounts(10_000, 100),
        VariantCounts(10_000, 100),
    )
    assert with_margin == pytest.approx(sizes[1] + 0.005, rel=0.05)  # type: ignore[operator]
    assert detectable_increase(test, VariantCounts(0, 0), VariantCounts(10, 0)) is None
    # Three requests a side: no increase up to 100% would reach the level.
    assert detectable_increase(test, VariantCounts(3, 0), VariantCounts(3, 0)) is None
