"""One look of a step's analysis: every check of spec.analysis judged on what CloudWatch
answered, and the look's verdict (Fail if any check fails, Pass only if all pass).

This is where the statistics meet the spec, the one place a step's checks are judged:
spec.analysis.alpha enters in `look` (its Fail side spent over the canary's steps and
error-rate checks, statistics.fail_alpha_per_check) and, with minSampleSize, in
`_error_rate_check` (statistics.ErrorRateTest, its state carried between looks in
status.sequential); minSampleSize is also the window checks' minimum in `_window_check`
(statistics.LatencyCheck). What a verdict does to the canary (analysis.threshold, the
roll-back, the inconclusive deadline) is step_analysis's; when a look may be made and over
which windows, windows'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from serving_operator.api.trafficsplit import (
    Analysis,
    AnalysisMetric,
    CheckResult,
    ErrorClass,
    IncreaseKind,
    MetricType,
    SequentialTestState,
)
from serving_operator.planning.naming import content_hash
from serving_operator.planning.trafficsplit import statistics as stats
from serving_operator.planning.trafficsplit.observed import AnalysisData


@dataclass(frozen=True)
class Look:
    verdict: stats.Verdict
    checks: tuple[CheckResult, ...]
    sequential: tuple[SequentialTestState, ...]
    restarted: tuple[str, ...] = ()
    """ErrorRate checks whose sequential test started again because the spec changed it."""

    @property
    def insufficient_traffic(self) -> bool:
        """Whether an Inconclusive look lacked data rather than evidence."""
        return any(
            c.reason in ("NoData", "BelowMinSampleSize", "BelowMinInvocations") for c in self.checks
        )


def _no_data(analysis: Analysis) -> stats.Verdict:
    return stats.Verdict(analysis.no_data.value)


def _error_rate_check(
    analysis: Analysis,
    metric: AnalysisMetric,
    data: AnalysisData,
    baseline: str,
    candidate: str,
    previous: SequentialTestState | None,
    fail_alpha: float,
) -> tuple[CheckResult, SequentialTestState, bool]:
    """The check's result, the state to keep, and whether the test started again because the
    state carried from the last look belongs to a different test."""
    margin = metric.max_increase.amount if metric.max_increase is not None else 0.0
    relative = metric.relative_harm
    test = stats.ErrorRateTest(
        alpha=analysis.alpha,
        min_sample_size=analysis.min_sample_size,
        margin=min(margin, 0.99),
        harmful_increase=min(metric.harmful_increase, 1.0 - min(margin, 0.99)),
        no_data=_no_data(analysis),
        fail_alpha=fail_alpha,
        harmful_ratio=relative.ratio if relative is not None else None,
        ratio_floor=relative.floor if relative is not None else stats.DEFAULT_RATIO_FLOOR,
    )
    test_hash = _sequential_test_hash(test, metric)
    # An always-valid p-value is valid only for the hypotheses and alpha it was computed
    # under: carried into a changed test (alpha loosened, say) an old p-value would decide it.
    restarted = previous is not None and previous.test_hash != test_hash
    if restarted:
        previous = None

    def counts(variant: str) -> stats.VariantCounts | None:
        totals = data.totals.get(variant)
        if totals is None:
            return None
        errors = (totals.errors_5xx if ErrorClass.SERVER in metric.errors else 0) + (
            totals.errors_4xx if ErrorClass.CLIENT in metric.errors else 0
        )
        return stats.VariantCounts(totals.invocations, min(errors, totals.invocations))

    state = (
        stats.SequentialState(
            previous.harm_p_value,
            previous.safety_p_value,
            previous.looks,
            previous.share_p_value,
            previous.ratio_safety_p_value,
            previous.floor_safety_p_value,
        )
        if previous is not None
        else stats.SequentialState()
    )
    candidate_counts, baseline_counts = counts(candidate), counts(baseline)
    decision = stats.decide_error_rate(test, candidate_counts, baseline_counts, state)
    result = CheckResult(
        name=metric.name,
        verdict=decision.verdict.value,
        reason=decision.reason,
        value=candidate_counts.error_rate if candidate_counts else None,
        baseline_value=baseline_counts.error_rate if baseline_counts else None,
        sample_size=candidate_counts.invocations if candidate_counts else 0,
        baseline_sample_size=baseline_counts.invocations if baseline_counts else 0,
        p_value=decision.state.harm_p_value,
        safety_p_value=decision.state.safety_p_value,
        share_p_value=decision.state.share_p_value if test.early_fail_level is not None else None,
        relative_safety_p_value=(
            min(
                1.0,
                2.0 * min(decision.state.ratio_safety_p_value, decision.state.floor_safety_p_value),
            )
            if test.harmful_ratio is not None
            else None
        ),
        detectable_increase=(
            stats.detectable_increase(test, candidate_counts, baseline_counts)
            if candidate_counts is not None and baseline_counts is not None
            else None
        ),
    )
    kept = SequentialTestState(
        name=metric.name,
        harm_p_value=decision.state.harm_p_value,
        safety_p_value=decision.state.safety_p_value,
        share_p_value=decision.state.share_p_value,
        ratio_safety_p_value=decision.state.ratio_safety_p_value,
        floor_safety_p_value=decision.state.floor_safety_p_value,
        looks=decision.state.looks,
        test_hash=test_hash,
    )
    return result, kept, restarted


def _sequential_test_hash(test: stats.ErrorRateTest, metric: AnalysisMetric) -> str:
    """What the sequential test's p-values depend on (noData does not: it never reaches them)."""
    return content_hash(
        {
            "alpha": test.alpha,
            "failAlpha": test.fail_alpha,
            "minSampleSize": test.min_sample_size,
            "margin": test.margin,
            "harmfulIncrease": test.harmful_increase,
            "tau": test.tau,
            # Only with a relative harm, so that the hashes of tests without one stay as they
            # were (a new operator restarts no running step).
            **(
                {"harmfulRatio": test.harmful_ratio, "ratioFloor": test.ratio_floor}
                if test.harmful_ratio is not None
                else {}
            ),
            "errors": sorted(e.value for e in metric.errors),
        }
    )


def _window_check(
    analysis: Analysis,
    metric: AnalysisMetric,
    data: AnalysisData,
    baseline: str,
    candidate: str,
) -> CheckResult:
    """Latency percentiles and custom values: judged per window, against bounds or baseline."""
    threshold = (
        stats.ThresholdRange(metric.threshold_range.min, metric.threshold_range.max)
        if metric.threshold_range is not None
        else None
    )
    increase = (
        stats.MaxIncrease(
            stats.IncreaseKind(metric.max_increase.kind.value), metric.max_increase.amount
        )
        if metric.max_increase is not None and threshold is None
        else None
    )
    if threshold is None and increase is None:  # admission forbids it; be safe
        increase = stats.MaxIncrease(stats.IncreaseKind(IncreaseKind.RELATIVE.value), 0.0)
    check = stats.LatencyCheck(
        min_invocations=analysis.min_sample_size,
        threshold_range=threshold,
        max_increase=increase,
        no_data=_no_data(analysis),
    )
    windows = {
        variant: stats.LatencyWindow(
            data.values.get((metric.name, variant)), data.window_invocations.get(variant, 0)
        )
        for variant in (baseline, candidate)
    }
    decision = stats.decide_latency(check, windows[candidate], windows[baseline])
    return CheckResult(
        name=metric.name,
        verdict=decision.verdict.value,
        reason=decision.reason,
        value=decision.candidate,
        baseline_value=windows[baseline].percentile,
        sample_size=windows[candidate].invocations,
        baseline_sample_size=windows[baseline].invocations,
    )


def look(
    analysis: Analysis,
    data: AnalysisData,
    baseline: str,
    candidate: str,
    sequential: Sequence[SequentialTestState],
    *,
    steps: int = 1,
) -> Look:
    """Judge every check; the look fails if any check fails and passes only if all pass.

    `steps` is the number of steps of the canary: alpha's Fail side is split over them and
    over the error-rate checks, so that identical variants are rolled back with probability
    at most alpha over the whole canary (statistics.fail_alpha_per_check)."""
    previous = {s.name: s for s in sequential}
    error_rate_checks = sum(1 for m in analysis.metrics if m.type == MetricType.ERROR_RATE)
    fail_alpha = stats.fail_alpha_per_check(analysis.alpha, steps, error_rate_checks)
    checks: list[CheckResult] = []
    kept: list[SequentialTestState] = []
    restarted: list[str] = []
    for metric in analysis.metrics:
        if metric.type == MetricType.ERROR_RATE:
            result, state, test_changed = _error_rate_check(
                analysis, metric, data, baseline, candidate, previous.get(metric.name), fail_alpha
            )
            kept.append(state)
            if test_changed:
                restarted.append(metric.name)
        else:
            result = _window_check(analysis, metric, data, baseline, candidate)
        checks.append(result)
    verdicts = {c.verdict for c in checks}
    if stats.Verdict.FAIL.value in verdicts:
        verdict = stats.Verdict.FAIL
    elif verdicts == {stats.Verdict.PASS.value}:
        verdict = stats.Verdict.PASS
    else:
        verdict = stats.Verdict.INCONCLUSIVE
    return Look(verdict, tuple(checks), tuple(kept), tuple(restarted))
