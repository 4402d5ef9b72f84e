"""The statistics behind a progressive canary: pure functions over invocation counts.

Error rates: per-variant Wilson intervals, the candidate-minus-baseline difference with a
Newcombe interval, and a sequential test (a one-sided mixture SPRT with always-valid p-values)
that may be looked at after every metrics window without raising its false-alarm rate above
alpha. Latency: a per-window percentile rule, because CloudWatch gives per-period statistics,
not per-request samples. docs/trafficsplit-statistics.md explains the choices and the figures.

Only the standard library: the operator image carries no numpy or scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()

DEFAULT_ALPHA = 0.05
DEFAULT_CONFIDENCE = 0.95
# Candidate (and baseline) invocations since the step began before a look counts. At error
# rates near 1% that is about ten expected errors, where the normal approximation the test rests
# on starts to hold (docs/trafficsplit-statistics.md has the simulation behind this).
DEFAULT_MIN_SAMPLE_SIZE = 1000
# The absolute error-rate increase the test is built to catch (one percentage point: a doubling
# of a 1% baseline). It is fixed in the spec rather than estimated from the baseline because an
# estimate taken from the same data lets a harmful candidate pass far more often than alpha.
DEFAULT_HARMFUL_INCREASE = 0.01
# With a relative harm (relativeHarm), the smallest absolute increase that counts as harm: 0.05
# points, so that at a 0.1% baseline a doubling (0.1 points) is harmful, while a baseline with
# no errors at all does not make a candidate's single error harmful (docs/trafficsplit-
# statistics.md, "Relative harm").
DEFAULT_RATIO_FLOOR = 0.0005
# The power at which `detectable_increase` reports the smallest harm the counts can detect.
DETECTION_POWER = 0.8
# The part of a check's Fail budget the exact error-share test spends (the rest goes to the
# normal mixture SPRT). Small, so that it acts only on strong evidence, where the normal
# approximation cannot yet be trusted: a few errors at a rate the baseline never shows.
EARLY_FAIL_SHARE = 0.1
ERROR_SHARE_RATIOS = (2.0, 4.0, 8.0, 16.0, 32.0)
"""The candidate-to-baseline error-rate ratios the error-share test's mixture bets on, with
equal weight: from "twice as many errors" to "a broken candidate"."""


class Verdict(StrEnum):
    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"


# --------------------------------------------------------------------------- counts, intervals


@dataclass(frozen=True)
class VariantCounts:
    """Invocations and errors (e.g. Invocation5XXErrors) of one variant over some span."""

    invocations: int
    errors: int

    def __post_init__(self) -> None:
        if self.invocations < 0 or self.errors < 0:
            raise ValueError(f"counts cannot be negative: {self}")
        if self.errors > self.invocations:
            raise ValueError(f"more errors than invocations: {self}")

    @property
    def error_rate(self) -> float:
        return self.errors / self.invocations if self.invocations else 0.0

    def __add__(self, other: VariantCounts) -> VariantCounts:
        return VariantCounts(self.invocations + other.invocations, self.errors + other.errors)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"interval bounds out of order: {self}")


def two_sided_z(confidence: float) -> float:
    """The standard normal quantile z with P(-z < Z < z) = confidence (1.96 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return _STANDARD_NORMAL.inv_cdf(0.5 + confidence / 2.0)


def standard_normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def error_rate_interval(
    errors: int, invocations: int, confidence: float = DEFAULT_CONFIDENCE
) -> Interval:
    """Wilson score interval for an error rate (Wilson 1927, without continuity correction).

    Unlike the Wald interval it keeps a sensible width when there are no errors at all, the
    usual state of a healthy endpoint. With no invocations nothing is known: [0, 1].
    """
    VariantCounts(invocations, errors)  # validates
    if invocations == 0:
        return Interval(0.0, 1.0)
    z = two_sided_z(confidence)
    rate = errors / invocations
    z2_over_n = z * z / invocations
    centre = (rate + z2_over_n / 2.0) / (1.0 + z2_over_n)
    half_width = (
        z * math.sqrt(rate * (1.0 - rate) / invocations + z2_over_n / (4.0 * invocations))
    ) / (1.0 + z2_over_n)
    # The exact bounds are 0 with no errors and 1 with only errors; rounding would miss them.
    low = 0.0 if errors == 0 else max(0.0, centre - half_width)
    high = 1.0 if errors == invocations else min(1.0, centre + half_width)
    return Interval(low, high)


@dataclass(frozen=True)
class VariantErrorRate:
    """One row of the `compare` report."""

    invocations: int
    errors: int
    error_rate: float
    interval: Interval
    confidence: float


def variant_error_rate(
    counts: VariantCounts, confidence: float = DEFAULT_CONFIDENCE
) -> VariantErrorRate:
    return VariantErrorRate(
        invocations=counts.invocations,
        errors=counts.errors,
        error_rate=counts.error_rate,
        interval=error_rate_interval(counts.errors, counts.invocations, confidence),
        confidence=confidence,
    )


@dataclass(frozen=True)
class ErrorRateDifference:
    """Candidate minus baseline error rate.

    `standard_error` is the unpooled (Wald) one, sqrt(p_C(1-p_C)/n_C + p_B(1-p_B)/n_B);
    `interval` is Newcombe's hybrid score interval (Newcombe 1998, method 10), built from the
    two Wilson intervals, because the Wald interval covers badly at error rates near zero.
    """

    difference: float
    standard_error: float
    interval: Interval
    confidence: float


def error_rate_difference(
    candidate: VariantCounts,
    baseline: VariantCounts,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ErrorRateDifference:
    p_c, p_b = candidate.error_rate, baseline.error_rate
    c = error_rate_interval(candidate.errors, candidate.invocations, confidence)
    b = error_rate_interval(baseline.errors, baseline.invocations, confidence)
    difference = p_c - p_b
    low = difference - math.sqrt((p_c - c.low) ** 2 + (b.high - p_b) ** 2)
    high = difference + math.sqrt((c.high - p_c) ** 2 + (p_b - b.low) ** 2)
    return ErrorRateDifference(
        difference=difference,
        standard_error=math.sqrt(
            _binomial_variance(p_c, candidate.invocations)
            + _binomial_variance(p_b, baseline.invocations)
        ),
        interval=Interval(max(-1.0, low), min(1.0, high)),
        confidence=confidence,
    )


def _binomial_variance(rate: float, invocations: int) -> float:
    return rate * (1.0 - rate) / invocations if invocations else 0.0


def difference_variance_for_testing(
    candidate: VariantCounts, baseline: VariantCounts, candidate_rate_floor: float = 0.0
) -> float:
    """Variance of the observed difference as the sequential test uses it.

    Each rate is estimated as (errors + 1) / (invocations + 2) for the variance only (the
    Agresti-Caffo adjustment): the plain plug-in variance is zero while a variant has no errors,
    which would make a single error look infinitely significant. `candidate_rate_floor` lets a
    test take the candidate's variance at its null boundary instead of at a lucky low estimate.
    """
    # p(1 - p) peaks at 0.5: a floor above that would shrink the variance it means to raise.
    candidate_rate = max(_adjusted_rate(candidate), min(candidate_rate_floor, 0.5))
    return _binomial_variance(candidate_rate, candidate.invocations) + _binomial_variance(
        _adjusted_rate(baseline), baseline.invocations
    )


def _adjusted_rate(counts: VariantCounts) -> float:
    return (counts.errors + 1) / (counts.invocations + 2)


# --------------------------------------------------------------------------- mixture SPRT


def log_mixture_likelihood_ratio(difference: float, variance: float, tau: float) -> float:
    """log Λ of the two-sided normal-mixture SPRT (Johari et al. 2017).

    Λ = sqrt(s² / (s² + τ²)) · exp(τ² Δ² / (2 s² (s² + τ²))): the likelihood of the observed
    difference Δ ~ N(θ, s²) averaged over θ ~ N(0, τ²), divided by its likelihood at θ = 0.
    """
    _check_mixture_inputs(variance, tau)
    if variance == 0.0:
        return -math.inf if difference == 0.0 else math.inf
    total = variance + tau * tau
    return 0.5 * math.log(variance / total) + tau * tau * difference * difference / (
        2.0 * variance * total
    )


def log_one_sided_mixture_likelihood_ratio(excess: float, variance: float, tau: float) -> float:
    """log Λ₊: the same mixture over θ > 0 only (θ ~ half-normal with scale τ).

    Λ₊ = 2 Φ(x) Λ with x = τ Δ / (s sqrt(s² + τ²)), where Φ(x) is the posterior probability that
    θ > 0. It answers the one-sided question directly: evidence on the other side shrinks Λ₊
    towards 0 instead of counting as evidence. Every component θ > 0 gives a likelihood ratio
    that is a supermartingale whenever the true θ ≤ 0, so Ville's inequality bounds the chance of
    ever reaching Λ₊ ≥ 1/alpha by alpha over the whole composite null θ ≤ 0, not only at θ = 0.
    `excess` is the observed difference minus the null boundary (Δ - δ).
    """
    _check_mixture_inputs(variance, tau)
    if variance == 0.0:
        return math.inf if excess > 0.0 else -math.inf
    x = tau * excess / math.sqrt(variance * (variance + tau * tau))
    # log Λ = 0.5 log(s² / (s² + τ²)) + x²/2, so log Λ₊ = log 2 + 0.5 log(...) + x²/2 + log Φ(x).
    # Deep in the benign tail x²/2 and log Φ(x) are huge and nearly cancel (at billions of
    # invocations |x| ~ 1e9: the rounding of x²/2 alone is hundreds); they are computed as one.
    return (
        math.log(2.0)
        - 0.5 * math.log1p(tau * tau / variance)
        + _log_standard_normal_cdf_plus_half_square(x)
    )


def _check_mixture_inputs(variance: float, tau: float) -> None:
    if variance < 0.0:
        raise ValueError(f"variance cannot be negative, got {variance}")
    if tau <= 0.0:
        raise ValueError(f"tau must be positive, got {tau}")


# Above this x, log Φ(x) and x²/2 are small and their direct sum loses nothing; below it they
# grow and cancel, so the sum comes from Mills' ratio, which leaves no x² term to cancel.
_MILLS_RATIO_BELOW = -5.0
# Terms of the continued fraction; from |x| = 5 on, 40 already reach double precision.
_MILLS_RATIO_TERMS = 60


def _log_standard_normal_cdf_plus_half_square(x: float) -> float:
    """log Φ(x) + x²/2, accurate for every x (log of the scaled complementary error function)."""
    if x >= 0.0:
        # Φ(x) = 1 - Φ(-x): log1p keeps the tiny upper-tail probability.
        return 0.5 * x * x + math.log1p(-standard_normal_cdf(-x))
    if x > _MILLS_RATIO_BELOW:
        return 0.5 * x * x + math.log(standard_normal_cdf(x))
    # Φ(x) = φ(x) · R(-x) with Mills' ratio R(t) = 1/(t + 1/(t + 2/(t + 3/(t + ...)))), so
    # log Φ(x) + x²/2 = log R(-x) - 0.5 log 2π, with no x² term left to cancel.
    t = -x
    denominator = t
    for k in range(_MILLS_RATIO_TERMS, 0, -1):
        denominator = t + k / denominator
    return -math.log(denominator) - 0.5 * math.log(2.0 * math.pi)


def always_valid_p_value(previous: float, log_likelihood_ratio: float) -> float:
    """p_k = min(p_{k-1}, 1/Λ_k), p_0 = 1.

    Once small it stays small, and under the null P(ever ≤ alpha) ≤ alpha (Ville's inequality).
    """
    if log_likelihood_ratio <= 0.0:
        # 1/Λ ≥ 1 cannot lower p, and exp(-log Λ) would overflow for a very benign look.
        return min(previous, 1.0)
    return min(previous, 1.0, math.exp(-log_likelihood_ratio))


def log_error_share_likelihood_ratio(
    candidate: VariantCounts,
    baseline: VariantCounts,
    ratios: tuple[float, ...] = ERROR_SHARE_RATIOS,
    null_ratio: float = 1.0,
) -> float:
    """log Λ of an exact, one-sided test that the candidate fails more often than the baseline.

    Given where the requests went, each error is the candidate's with probability
    π = n_C / (n_C + n_B) when both variants fail at the same rate, and with
    q = π r / (π r + 1 - π) when the candidate fails r times as often. For k candidate errors
    among E errors, Λ = mean over r in `ratios` of (q/π)^k ((1 - q)/(1 - π))^(E - k). Each
    term is a likelihood ratio, so under "the candidate fails no more often" the mean is a
    nonnegative (super)martingale in the sequence of errors, and by Ville's inequality it
    ever reaches 1/a with probability at most a: exact at any sample size, with no normal
    approximation. π is taken from the invocations, fixed within a step (one set of weights).

    `null_ratio` R₀ moves the null to "the candidate fails R₀ times as often" (q₀ in place of
    π), with every ratio in `ratios` on one side of it: above R₀ the null is r ≤ R₀ (evidence
    of harm), below it r ≥ R₀ (evidence of safety, the relative-harm Pass test). For a bet
    q on one side of q₀, q·(q/q₀) + (1 - q)·((1 - q)/(1 - q₀)) is at most 1 at every truth on
    the null's side, so each term stays a supermartingale over that whole composite null.
    """
    total_invocations = candidate.invocations + baseline.invocations
    if not candidate.invocations or not baseline.invocations:
        return 0.0
    share = candidate.invocations / total_invocations
    k, others = candidate.errors, baseline.errors
    null = _error_share(share, null_ratio)
    terms = []
    for ratio in ratios:
        q = _error_share(share, ratio)
        terms.append(k * math.log(q / null) + others * math.log((1.0 - q) / (1.0 - null)))
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms) / len(terms))


def _error_share(share: float, ratio: float) -> float:
    """The probability that an error is the candidate's when it receives `share` of the
    requests and fails `ratio` times as often as the baseline: π r / (π r + 1 - π)."""
    return share * ratio / (share * ratio + 1.0 - share)


def ratio_safety_alternatives(harmful_ratio: float) -> tuple[float, ...]:
    """What the relative-harm Pass test bets on, all below the harmful ratio R: a candidate as
    good as the baseline (the usual case), one halfway to R, and one twice as good."""
    return (1.0, (1.0 + harmful_ratio) / 2.0, 0.5)


def fail_alpha_per_check(alpha: float, steps: int, error_rate_checks: int) -> float:
    """The Fail budget of one error-rate check in one step, so that a canary of identical
    variants is rolled back with probability at most alpha over all its steps and checks.

    Each (step, check) test is valid at its own level however often it looks; a roll back of
    identical variants needs at least one of them to fail, so by the union bound the whole
    canary's false roll back rate is at most the sum of their levels: alpha split evenly.
    """
    return alpha / max(1, steps) / max(1, error_rate_checks)


# --------------------------------------------------------------------------- error-rate check


@dataclass(frozen=True)
class ErrorRateTest:
    """How the candidate's error rate is judged against the baseline's.

    - Fail: always-valid evidence that the candidate's error rate exceeds the baseline's by
      more than `margin`, at level `fail_alpha` (the share of alpha this check may spend on
      a false roll back in this step; `alpha` when None). Two tests share it: the normal
      mixture SPRT below (9/10 of it, from `min_sample_size` on) and, when `margin` is 0, the
      exact error-share test (1/10 of it, at any sample size: strong evidence of harm rolls
      back before `min_sample_size`). False-alarm rate ≤ fail_alpha however often one looks.
    - Pass: always-valid evidence (p ≤ alpha) that it does not exceed it by `margin` +
      `harmful_increase` or more. A harmful candidate passes with probability ≤ alpha.
      Never below `min_sample_size` invocations in either variant.
    - Inconclusive: neither yet.

    `margin` and `harmful_increase` are absolute error-rate differences (0.01 = one percentage
    point). `tau`, the scale of the mixing distribution, defaults to `harmful_increase`: the
    mixture is most powerful against differences of about τ, and that is the size we want caught.
    Both error bounds rest on a normal approximation; the simulation test measures them.

    `harmful_ratio` R (optional) makes a relative harm harmful too: a candidate whose error
    rate is at least R times the baseline's and at least `ratio_floor` above it (absolute; so
    that a baseline without errors does not make a single error harmful). A Pass then also
    needs that relative harm excluded, at alpha/2 by either of two tests (Bonferroni: the
    relative harm is the intersection of both nulls, so rejecting either excludes it): the
    exact error-share test with its null at R (`ratio_safety_p_value`), or the normal mixture
    SPRT with its boundary at `ratio_floor` (`floor_safety_p_value`). A candidate harmful by
    either definition passes with probability at most alpha: a Pass needs every form of harm
    excluded (an intersection-union test, Berger 1982: no extra alpha). Fail is unchanged.
    """

    alpha: float = DEFAULT_ALPHA
    min_sample_size: int = DEFAULT_MIN_SAMPLE_SIZE
    margin: float = 0.0
    harmful_increase: float = DEFAULT_HARMFUL_INCREASE
    tau: float | None = None
    no_data: Verdict = Verdict.INCONCLUSIVE
    fail_alpha: float | None = None
    harmful_ratio: float | None = None
    ratio_floor: float = DEFAULT_RATIO_FLOOR

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must lie strictly between 0 and 1, got {self.alpha}")
        if self.fail_alpha is not None and not 0.0 < self.fail_alpha <= self.alpha:
            raise ValueError(f"fail_alpha must lie in (0, alpha], got {self.fail_alpha}")
        if self.min_sample_size < 1:
            raise ValueError(f"min_sample_size must be at least 1, got {self.min_sample_size}")
        if not 0.0 <= self.margin < 1.0:
            raise ValueError(f"margin must lie in [0, 1), got {self.margin}")
        if not 0.0 < self.harmful_increase <= 1.0 - self.margin:
            raise ValueError(
                f"harmful_increase must lie in (0, 1 - margin], got {self.harmful_increase}"
            )
        if self.tau is not None and self.tau <= 0.0:
            raise ValueError(f"tau must be positive, got {self.tau}")
        if self.harmful_ratio is not None and not 1.0 < self.harmful_ratio < math.inf:
            raise ValueError(f"harmful_ratio must be above 1, got {self.harmful_ratio}")
        if not 0.0 < self.ratio_floor <= 1.0:
            raise ValueError(f"ratio_floor must lie in (0, 1], got {self.ratio_floor}")

    @property
    def mixture_fail_level(self) -> float:
        """The normal mixture SPRT's share of the Fail budget."""
        budget = self.fail_alpha if self.fail_alpha is not None else self.alpha
        return budget * (1.0 - EARLY_FAIL_SHARE) if self.margin == 0.0 else budget

    @property
    def early_fail_level(self) -> float | None:
        """The exact error-share test's share of the Fail budget (None: it does not run, as
        it tests "no worse at all" and a margin asks for more)."""
        if self.margin != 0.0:
            return None
        budget = self.fail_alpha if self.fail_alpha is not None else self.alpha
        return budget * EARLY_FAIL_SHARE


@dataclass(frozen=True)
class SequentialState:
    """What one look hands to the next within a canary step; the caller keeps it in status.

    Start each step (each weight change) from `SequentialState()`: the test runs on cumulative
    counts since the step began, and a new step is a new test.
    """

    harm_p_value: float = 1.0
    safety_p_value: float = 1.0
    looks: int = 0  # looks that had enough data to count
    share_p_value: float = 1.0
    """The exact error-share test's always-valid p-value (it runs at any sample size)."""
    ratio_safety_p_value: float = 1.0
    """With a harmful ratio: the exact error-share test's p-value that it is not R times worse."""
    floor_safety_p_value: float = 1.0
    """With a harmful ratio: the mixture SPRT's p-value that it is not `ratio_floor` worse."""


@dataclass(frozen=True)
class ErrorRateDecision:
    verdict: Verdict
    reason: str
    state: SequentialState
    difference: ErrorRateDifference | None = None


def decide_error_rate(
    test: ErrorRateTest,
    candidate: VariantCounts | None,
    baseline: VariantCounts | None,
    state: SequentialState,
) -> ErrorRateDecision:
    """One look at cumulative counts since the current step began.

    `difference` in the decision carries a fixed-sample (1 - alpha) Newcombe interval for the
    report; the verdict comes from the sequential test alone.

    No data (a variant without invocations, or no metric at all) takes the `no_data` verdict,
    except that a `no_data` of Pass gives Inconclusive: no data is fewer invocations than
    `min_sample_size` (at least 1), and below it a look is never a Pass. Below
    `min_sample_size` the look is Inconclusive and does not count: the state is returned
    unchanged, so the normal approximation is never trusted on a handful of requests. Skipping
    looks never raises the false-alarm rate.
    """
    if (
        candidate is None
        or baseline is None
        or not candidate.invocations
        or not baseline.invocations
    ):
        return ErrorRateDecision(_never_a_pass(test.no_data), "NoData", state)
    difference = error_rate_difference(candidate, baseline, 1.0 - test.alpha)
    early_level = test.early_fail_level
    if early_level is not None:
        state = replace(
            state,
            share_p_value=always_valid_p_value(
                state.share_p_value, log_error_share_likelihood_ratio(candidate, baseline)
            ),
        )
    if test.harmful_ratio is not None:
        # Exact, so it may gather evidence below minSampleSize; a Pass still waits for it.
        state = replace(
            state,
            ratio_safety_p_value=always_valid_p_value(
                state.ratio_safety_p_value,
                log_error_share_likelihood_ratio(
                    candidate,
                    baseline,
                    ratio_safety_alternatives(test.harmful_ratio),
                    null_ratio=test.harmful_ratio,
                ),
            ),
        )
    if min(candidate.invocations, baseline.invocations) < test.min_sample_size:
        if early_level is not None and state.share_p_value <= early_level:
            return ErrorRateDecision(Verdict.FAIL, "ErrorShareIncreased", state, difference)
        return ErrorRateDecision(Verdict.INCONCLUSIVE, "BelowMinSampleSize", state, difference)

    state = _next_state(test, candidate, baseline, difference.difference, state)
    # Harm first: if both sides have crossed, the candidate sits between margin and margin +
    # harmful_increase and is reliably worse than allowed, which is what a rollback is for.
    if state.harm_p_value <= test.mixture_fail_level:
        return ErrorRateDecision(Verdict.FAIL, "ErrorRateIncreased", state, difference)
    if early_level is not None and state.share_p_value <= early_level:
        return ErrorRateDecision(Verdict.FAIL, "ErrorShareIncreased", state, difference)
    if state.safety_p_value <= test.alpha:
        if _relative_harm_excluded(test, state):
            return ErrorRateDecision(Verdict.PASS, "ErrorRateNotWorse", state, difference)
        return ErrorRateDecision(Verdict.INCONCLUSIVE, "RatioNotYetExcluded", state, difference)
    return ErrorRateDecision(Verdict.INCONCLUSIVE, "NotYetDecided", state, difference)


def _relative_harm_excluded(test: ErrorRateTest, state: SequentialState) -> bool:
    """Whether a relative harm (R times the baseline's rate and `ratio_floor` above it) is
    excluded: by either of its two tests at alpha/2, or trivially without a harmful ratio."""
    if test.harmful_ratio is None:
        return True
    return min(state.ratio_safety_p_value, state.floor_safety_p_value) <= test.alpha / 2.0


def _never_a_pass(verdict: Verdict) -> Verdict:
    """The verdict of a look below the minimum sample size: a configured Fail stands (it is the
    cautious side), a Pass does not."""
    return Verdict.INCONCLUSIVE if verdict is Verdict.PASS else verdict


def _next_state(
    test: ErrorRateTest,
    candidate: VariantCounts,
    baseline: VariantCounts,
    observed: float,
    state: SequentialState,
) -> SequentialState:
    tau = test.tau or test.harmful_increase
    harm_excess = observed - test.margin
    harm_variance = difference_variance_for_testing(candidate, baseline)
    # Under "harmful" the candidate's rate is at least the baseline's + margin + harmful_increase;
    # taking its variance there keeps a lucky run of few candidate errors from passing too soon.
    harmful_boundary = test.margin + test.harmful_increase
    safety_excess = harmful_boundary - observed
    safety_variance = difference_variance_for_testing(
        candidate, baseline, candidate_rate_floor=baseline.error_rate + harmful_boundary
    )
    floor_safety_p_value = state.floor_safety_p_value
    if test.harmful_ratio is not None:
        # The relative harm's absolute part, measured from the baseline (not from the margin),
        # tested as the safety side is, with the mixture scaled to it.
        floor_variance = difference_variance_for_testing(
            candidate, baseline, candidate_rate_floor=baseline.error_rate + test.ratio_floor
        )
        floor_safety_p_value = always_valid_p_value(
            state.floor_safety_p_value,
            log_one_sided_mixture_likelihood_ratio(
                test.ratio_floor - observed, floor_variance, test.ratio_floor
            ),
        )
    return replace(
        state,
        harm_p_value=always_valid_p_value(
            state.harm_p_value,
            log_one_sided_mixture_likelihood_ratio(harm_excess, harm_variance, tau),
        ),
        safety_p_value=always_valid_p_value(
            state.safety_p_value,
            log_one_sided_mixture_likelihood_ratio(safety_excess, safety_variance, tau),
        ),
        looks=state.looks + 1,
        floor_safety_p_value=floor_safety_p_value,
    )


def detectable_increase(
    test: ErrorRateTest,
    candidate: VariantCounts,
    baseline: VariantCounts,
    power: float = DETECTION_POWER,
) -> float | None:
    """The smallest error-rate increase (absolute, candidate minus baseline) that the Fail
    side's mixture SPRT would detect with probability `power` at these counts; None when no
    increase within [0, 1] is (no invocations on a side, or too few to ever reach the level).

    The test fails once the observed excess Δ̂ - δ reaches c, the smallest excess at which
    log Λ₊(c, s², τ) ≥ log(1 / level) (Λ₊ increases with the excess, so c is found by
    bisection). With Δ̂ ~ N(θ, s²), P(Δ̂ - δ ≥ c) = Φ((θ - δ - c) / s), which is `power` at

        θ = δ + c + z_power · s

    the textbook minimum detectable effect of a one-sided normal test, (z_{1-a} + z_power)·s
    (Chow, Shao & Wang, Sample Size Calculations in Clinical Research, 2nd ed. 2008, §4.2),
    with the mixture SPRT's boundary c (Johari et al. 2017) in place of z_{1-a}·s (a: the
    level). It is the power of this one look at the counts so far: the always-valid test may
    also have crossed at an earlier look, so the real power is at least this (conservative).
    s² is the variance the test uses (difference_variance_for_testing), τ and the level too.
    """
    if not candidate.invocations or not baseline.invocations:
        return None
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie strictly between 0 and 1, got {power}")
    tau = test.tau or test.harmful_increase
    variance = difference_variance_for_testing(candidate, baseline)
    needed = -math.log(test.mixture_fail_level)

    def crosses(excess: float) -> bool:
        return log_one_sided_mixture_likelihood_ratio(excess, variance, tau) >= needed

    reach = 1.0 - test.margin
    if not crosses(reach):
        return None
    low, high = 0.0, reach
    for _ in range(60):  # 2⁻⁶⁰ of the range: far below any rate a count can show
        middle = (low + high) / 2.0
        low, high = (low, middle) if crosses(middle) else (middle, high)
    theta = test.margin + high + _STANDARD_NORMAL.inv_cdf(power) * math.sqrt(variance)
    return theta if theta <= 1.0 else None


# --------------------------------------------------------------------------- latency


@dataclass(frozen=True)
class LatencyWindow:
    """One metrics window of one variant: a percentile (e.g. p99 ModelLatency, in whatever unit
    the caller uses throughout; SageMaker publishes microseconds) and the invocations behind it.
    `percentile` is None when CloudWatch returned no datapoint."""

    percentile: float | None
    invocations: int

    def __post_init__(self) -> None:
        if self.invocations < 0:
            raise ValueError(f"invocations cannot be negative: {self}")


@dataclass(frozen=True)
class ThresholdRange:
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError("a threshold range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"threshold range min above max: {self}")


class IncreaseKind(StrEnum):
    RELATIVE = "Relative"  # 0.2 allows the candidate 20% above the baseline
    ABSOLUTE = "Absolute"  # 5000 allows the candidate 5000 units above the baseline


@dataclass(frozen=True)
class MaxIncrease:
    kind: IncreaseKind
    amount: float

    def __post_init__(self) -> None:
        if self.amount < 0.0:
            raise ValueError(f"max increase cannot be negative: {self}")

    def limit(self, baseline: float) -> float:
        if self.kind is IncreaseKind.RELATIVE:
            return baseline * (1.0 + self.amount)
        return baseline + self.amount


@dataclass(frozen=True)
class LatencyCheck:
    """A percentile judged per window, against fixed bounds or against the baseline's window."""

    min_invocations: int
    threshold_range: ThresholdRange | None = None
    max_increase: MaxIncrease | None = None
    no_data: Verdict = Verdict.INCONCLUSIVE

    def __post_init__(self) -> None:
        if (self.threshold_range is None) == (self.max_increase is None):
            raise ValueError("a latency check needs exactly one of threshold_range, max_increase")
        if self.min_invocations < 1:
            raise ValueError(f"min_invocations must be at least 1, got {self.min_invocations}")


@dataclass(frozen=True)
class LatencyDecision:
    verdict: Verdict
    reason: str
    candidate: float | None = None
    allowed: ThresholdRange | None = None  # the bounds the candidate was held to


def decide_latency(
    check: LatencyCheck, candidate: LatencyWindow, baseline: LatencyWindow | None = None
) -> LatencyDecision:
    """One window. Comparing against the baseline needs the baseline's same window, and both
    windows need `min_invocations`: a percentile of a handful of requests is noise.

    A window without data takes the `no_data` verdict, but never a Pass while a window the
    bound needs (a missing baseline window has no invocations) is below `min_invocations`:
    `no_data: Pass` is for a datapoint that is missing although the traffic is there."""
    value = candidate.percentile
    allowed = _allowed_range(check, baseline)
    # The baseline's window matters only when the bound comes from it.
    needed = (
        (candidate.invocations,)
        if check.threshold_range is not None
        else (candidate.invocations, baseline.invocations if baseline is not None else 0)
    )
    below_min_invocations = any(n < check.min_invocations for n in needed)
    if value is None or allowed is None or not all(needed):
        verdict = _never_a_pass(check.no_data) if below_min_invocations else check.no_data
        return LatencyDecision(verdict, "NoData", value)
    if below_min_invocations:
        return LatencyDecision(Verdict.INCONCLUSIVE, "BelowMinInvocations", value)
    within = (allowed.min is None or value >= allowed.min) and (
        allowed.max is None or value <= allowed.max
    )
    if within:
        return LatencyDecision(Verdict.PASS, "LatencyWithinBounds", value, allowed)
    return LatencyDecision(Verdict.FAIL, "LatencyOutOfBounds", value, allowed)


def _allowed_range(check: LatencyCheck, baseline: LatencyWindow | None) -> ThresholdRange | None:
    """The bounds the candidate's percentile must meet, or None without a baseline to compare."""
    if check.threshold_range is not None:
        return check.threshold_range
    if check.max_increase is None or baseline is None or baseline.percentile is None:
        return None
    return ThresholdRange(max=check.max_increase.limit(baseline.percentile))
