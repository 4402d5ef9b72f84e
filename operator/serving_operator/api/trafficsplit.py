"""TrafficSplit: how traffic is shared between the variants of a ModelEndpoint.

Two forms: a fixed split (`weights`), kept in force; or a progressive canary from `baseline`
to `candidate` (`steps`, or the `stepWeight` + `maxWeight` shorthand) judged by a statistical
analysis of CloudWatch's AWS/SageMaker metrics (docs/trafficsplit-statistics.md).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from serving_operator.api.common import (
    SAGEMAKER_NAME_PATTERN,
    ApiModel,
    KindInfo,
    StatusBase,
    StatusModel,
    age_column,
)

ANNOTATION_PREFIX = "serving.mlops.dev/"
PROMOTE_ANNOTATION = f"{ANNOTATION_PREFIX}promote"
ABORT_ANNOTATION = f"{ANNOTATION_PREFIX}abort"
RETRY_ANNOTATION = f"{ANNOTATION_PREFIX}retry"
# The smallest alpha admitted. The report's (1 - alpha) interval needs 1 - alpha to differ from
# 1 in double precision, which it stops doing below about 5.6e-17 (every look then raised); 1e-10
# stays far from that edge, and an error-rate test at it already needs a likelihood ratio of
# 1e10, more evidence than a canary step usually gathers.
MIN_ALPHA = 1e-10


def _rule(rule: str, message: str) -> dict[str, str]:
    return {"rule": rule, "message": message}


def _validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


VariantName = Annotated[str, Field(pattern=SAGEMAKER_NAME_PATTERN, max_length=63)]


class EndpointReference(ApiModel):
    name: str = Field(min_length=1, max_length=253, description="ModelEndpoint in this namespace.")


class VariantWeight(ApiModel):
    variant: str = Field(
        pattern=SAGEMAKER_NAME_PATTERN, max_length=63, description="Production variant name."
    )
    weight: float = Field(ge=0, le=1000, description="Relative weight of this variant.")


class Pause(ApiModel):
    duration: int | None = Field(
        default=None,
        ge=0,
        le=86400,
        description="Seconds to wait; without it the pause is a manual gate (promote to go on).",
    )


class CanaryStep(ApiModel):
    """One step: move the candidate to `setWeight` percent, analyse, then pause if asked."""

    set_weight: int | None = Field(
        default=None, ge=0, le=100, description="The candidate's share of traffic, in percent."
    )
    pause: Pause | None = Field(
        default=None, description="Wait after the step: {duration: S}, or {} for a manual gate."
    )
    analysis: bool | None = Field(
        default=None,
        description="Run the analysis in this step; defaults to true when the step sets a weight.",
    )


class Promotion(StrEnum):
    AUTO = "Auto"
    MANUAL = "Manual"


class OnSuccess(StrEnum):
    PROMOTE_CANDIDATE = "PromoteCandidate"
    KEEP_SPLIT = "KeepSplit"


class OnDelete(StrEnum):
    HAND_BACK = "HandBack"
    WAIT_FOR_ENDPOINT_SPEC = "WaitForEndpointSpec"


class NoData(StrEnum):
    INCONCLUSIVE = "Inconclusive"
    PASS = "Pass"
    FAIL = "Fail"


class OnInsufficientTraffic(StrEnum):
    BASELINE = "Baseline"
    HOLD = "Hold"


class MetricType(StrEnum):
    ERROR_RATE = "ErrorRate"
    LATENCY = "Latency"
    CUSTOM = "Custom"


class ErrorClass(StrEnum):
    SERVER = "5XX"
    CLIENT = "4XX"


class LatencyMetric(StrEnum):
    MODEL_LATENCY = "ModelLatency"
    OVERHEAD_LATENCY = "OverheadLatency"


class IncreaseKind(StrEnum):
    RELATIVE = "Relative"
    ABSOLUTE = "Absolute"


class ThresholdRange(ApiModel):
    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule("has(self.min) || has(self.max)", "thresholdRange needs min, max or both"),
            _rule(
                "!has(self.min) || !has(self.max) || self.min <= self.max",
                "thresholdRange min must not exceed max",
            ),
        )
    )

    min: float | None = Field(default=None, description="Lowest acceptable value.")
    max: float | None = Field(default=None, description="Highest acceptable value.")


class MaxIncrease(ApiModel):
    kind: IncreaseKind = Field(
        default=IncreaseKind.RELATIVE,
        description="Relative: 0.2 allows 20% above the baseline; Absolute: in the metric's unit.",
    )
    amount: float = Field(ge=0, le=1_000_000, description="How far above the baseline is allowed.")


class RelativeHarm(ApiModel):
    """A harm measured against the baseline's own error rate, for baselines far below 1%."""

    ratio: float = Field(
        gt=1,
        le=1000,
        description=(
            "A candidate whose error rate is at least this many times the baseline's (2 ="
            " doubled) and at least floor above it is harmful."
        ),
    )
    floor: float = Field(
        default=0.0005,
        gt=0,
        le=1,
        description=(
            "The smallest absolute increase that counts as relative harm (0.0005 = 0.05"
            " points), so that a baseline without errors does not make one error harmful."
        ),
    )


class CustomQuery(ApiModel):
    """A CloudWatch metric read per variant; `$endpoint` and `$variant` in dimension values are
    replaced by the endpoint and variant names."""

    namespace: str = Field(min_length=1, max_length=255, description="CloudWatch namespace.")
    metric_name: str = Field(min_length=1, max_length=255, description="CloudWatch metric name.")
    dimensions: dict[str, str] = Field(
        default_factory=dict, max_length=10, description="Dimension name -> value."
    )
    stat: str = Field(
        default="Average",
        pattern=r"^(Average|Minimum|Maximum|SampleCount|Sum|p\d{1,2}(\.\d{1,2})?)$",
        description="Average, Minimum, Maximum, SampleCount, Sum or a percentile such as p99.",
    )


class AnalysisMetric(ApiModel):
    """One check of the candidate against fixed bounds or against the baseline."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "self.type != 'ErrorRate' || !has(self.thresholdRange)",
                "an ErrorRate check compares with the baseline: use maxIncrease (Absolute)",
            ),
            _rule(
                "self.type != 'ErrorRate' || !has(self.maxIncrease)"
                " || self.maxIncrease.kind == 'Absolute'",
                "an ErrorRate check's maxIncrease must be Absolute (e.g. 0.005 = 0.5 points)",
            ),
            _rule(
                "self.type == 'ErrorRate' || (has(self.thresholdRange) != has(self.maxIncrease))",
                "set exactly one of thresholdRange or maxIncrease",
            ),
            _rule(
                "(self.type == 'Custom') == has(self.query)",
                "query is required with type: Custom, and only then",
            ),
            _rule(
                "self.type == 'ErrorRate' || !has(self.relativeHarm)",
                "relativeHarm is for ErrorRate checks (Latency: maxIncrease kind Relative)",
            ),
            # Harm is either form (absolute or relative): with a floor at or above the
            # absolute boundary, every relative harm is already an absolute one.
            _rule(
                "!has(self.relativeHarm) || self.relativeHarm.floor < self.harmfulIncrease"
                " + (has(self.maxIncrease) ? self.maxIncrease.amount : 0.0)",
                "relativeHarm.floor must be below maxIncrease + harmfulIncrease, or the ratio"
                " guards nothing the absolute harm does not",
            ),
        )
    )

    name: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Names this check in status and reports.",
    )
    type: MetricType = Field(description="ErrorRate, Latency or Custom.")
    errors: list[ErrorClass] = Field(
        default_factory=lambda: [ErrorClass.SERVER],
        max_length=2,
        description="ErrorRate: which errors count (Invocation5XXErrors, Invocation4XXErrors).",
    )
    harmful_increase: float = Field(
        default=0.01,
        gt=0,
        le=1,
        description=(
            "ErrorRate: the absolute increase above maxIncrease the sequential test is built to"
            " catch (0.01 = one percentage point); a candidate this much worse passes with"
            " probability at most alpha."
        ),
    )
    relative_harm: RelativeHarm | None = Field(
        default=None,
        description=(
            "ErrorRate: also count as harmful a candidate ratio times as bad as the baseline"
            " (and floor above it), so a 0.1% baseline can be guarded; a candidate harmful"
            " either way passes with probability at most alpha. Roll back is unchanged."
        ),
    )
    latency_metric: LatencyMetric = Field(
        default=LatencyMetric.MODEL_LATENCY, description="Latency: which SageMaker latency."
    )
    percentile: float = Field(
        default=99, gt=0, le=100, description="Latency: the percentile judged (p50, p90, p99...)."
    )
    query: CustomQuery | None = Field(default=None, description="Custom: the metric to read.")
    threshold_range: ThresholdRange | None = Field(
        default=None,
        description="Absolute bounds on the candidate's value (latency in microseconds).",
    )
    max_increase: MaxIncrease | None = Field(
        default=None, description="Bound relative to the baseline's value in the same window."
    )


class Analysis(ApiModel):
    interval: int = Field(
        default=60, ge=1, le=3600, description="Seconds between looks at the metrics."
    )
    threshold: int = Field(
        default=1,
        ge=1,
        le=100,
        description=(
            "Failed looks (a look fails when any check fails) at which the canary rolls back:"
            " on the look that reaches it."
        ),
    )
    min_sample_size: int = Field(
        default=1000,
        ge=1,
        le=100_000_000,
        description=(
            "Candidate and baseline invocations a Pass needs (and the normal test's Fail);"
            " below it a check is never a Pass, and fails only on the exact error-share"
            " test's strong evidence."
        ),
    )
    alpha: float = Field(
        default=0.05,
        ge=MIN_ALPHA,
        lt=1,
        description=(
            "Bounds, over the whole canary however often it looks, the probability that"
            " variants with equal error rates are rolled back by the ErrorRate checks (spent"
            " as alpha / (steps x checks) per step and check), and the probability that a"
            " candidate worse by maxIncrease + harmfulIncrease is promoted. Latency and Custom"
            " checks are rules, not tests: alpha does not cover them. At least 1e-10."
        ),
    )
    no_data: NoData = Field(
        default=NoData.INCONCLUSIVE, description="The verdict of a check with no data at all."
    )
    initial_delay_seconds: int | None = Field(
        default=None,
        ge=0,
        le=3600,
        description=(
            "Seconds after a weight change before metrics count (CloudWatch ingestion);"
            " defaults to metricPeriodSeconds."
        ),
    )
    on_insufficient_traffic: OnInsufficientTraffic = Field(
        default=OnInsufficientTraffic.BASELINE,
        description=(
            "The candidate's traffic while a step that reached progressDeadlineSeconds without"
            " a verdict waits Paused (InsufficientTraffic) for a person. Baseline: none, all"
            " to the baseline, so a candidate nobody could judge serves no one meanwhile; Hold:"
            " the step's weight. Then promote skips the step (the next step's weights and"
            " analysis, or the promotion after the last), retry runs the step again (its"
            " weight, a new test), abort ends the canary."
        ),
    )
    metrics: list[AnalysisMetric] = Field(
        min_length=1,
        max_length=10,
        description="The checks; every one must pass for a step to succeed.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )


class AutoRollback(ApiModel):
    alarms: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list,
        max_length=10,
        description="CloudWatch alarm names: the canary rolls back when one is in ALARM.",
    )


class TrafficSplitSpec(ApiModel):
    """A fixed split (`weights`), or a progressive canary from `baseline` to `candidate`."""

    model_config = ConfigDict(
        json_schema_extra=_validations(
            _rule(
                "[has(self.weights), has(self.steps), has(self.stepWeight)]"
                ".filter(x, x).size() == 1",
                "set exactly one of weights (fixed split), steps, or stepWeight + maxWeight",
            ),
            _rule(
                "has(self.stepWeight) == has(self.maxWeight)",
                "stepWeight and maxWeight go together",
            ),
            _rule(
                "has(self.weights) || (has(self.baseline) && has(self.candidate))",
                "a progressive canary needs baseline and candidate",
            ),
            _rule(
                "!has(self.baseline) || !has(self.candidate) || self.baseline != self.candidate",
                "baseline and candidate must be different variants",
            ),
            _rule(
                "!has(self.stepWeight) || self.stepWeight <= self.maxWeight",
                "stepWeight must not exceed maxWeight",
            ),
            _rule(
                "self.skipAnalysis || has(self.weights) || has(self.analysis)",
                "a progressive canary needs analysis (or skipAnalysis: true)",
            ),
        )
    )

    endpoint_ref: EndpointReference = Field(description="The ModelEndpoint whose weights to set.")
    baseline: VariantName | None = Field(
        default=None, description="The variant serving today (canary)."
    )
    candidate: VariantName | None = Field(
        default=None, description="The variant being rolled out (canary)."
    )
    weights: list[VariantWeight] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Fixed split: relative weight per variant, kept in force.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["variant"],
            **_validations(
                _rule(
                    "self.exists(w, w.weight > 0.0)",
                    "at least one variant must have a weight greater than 0",
                )
            ),
        },
    )
    steps: list[CanaryStep] | None = Field(
        default=None, min_length=1, max_length=50, description="The canary's steps, in order."
    )
    step_weight: int | None = Field(
        default=None, ge=1, le=100, description="Shorthand: raise the candidate by this percent."
    )
    max_weight: int | None = Field(
        default=None, ge=1, le=100, description="Shorthand: the last step's candidate percent."
    )
    analysis: Analysis | None = Field(default=None, description="How each step is judged.")
    progress_deadline_seconds: int = Field(
        default=600,
        ge=10,
        le=86400,
        description=(
            "Longest wait for anything, AWS outages included, before the canary pauses with a"
            " reason: the endpoint applying weights (EndpointNotReady), a step's verdict, also"
            " when CloudWatch cannot be read (InsufficientTraffic), AWS failing while weights"
            " wait to be written (AwsUnavailable). Promoting, RollingBack and a fixed split"
            " are Stalled at it instead; an outage never moves a canary on."
        ),
    )
    promotion: Promotion = Field(
        default=Promotion.AUTO,
        description="Auto: promote after the last step; Manual: wait for a promote request.",
    )
    on_success: OnSuccess = Field(
        default=OnSuccess.PROMOTE_CANDIDATE,
        description="PromoteCandidate: 100% to the candidate; KeepSplit: keep the last weights.",
    )
    on_delete: OnDelete = Field(
        default=OnDelete.HAND_BACK,
        description=(
            "What deleting the split does to the traffic. HandBack: the ModelEndpoint's spec"
            " weights apply again at once (status.handBack names them before, with the patch"
            " that would keep the split's weights instead); WaitForEndpointSpec: the deletion"
            " waits until the ModelEndpoint's spec asks for the split's weights (commit"
            " status.handBack.patch), so deleting changes no traffic (a ModelEndpoint that is"
            " gone lets it go; set HandBack to let it go anyway)."
        ),
    )
    skip_analysis: bool = Field(default=False, description="Move through the steps unjudged.")
    paused: bool = Field(default=False, description="Hold the canary where it is.")
    auto_rollback: AutoRollback | None = Field(
        default=None, description="CloudWatch alarms that roll the canary back."
    )
    metric_period_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Period of the AWS/SageMaker metrics (60 on AWS; tests use 1).",
    )


class Phase(StrEnum):
    INITIALIZING = "Initializing"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    PROMOTING = "Promoting"
    SUCCEEDED = "Succeeded"
    ROLLING_BACK = "RollingBack"
    FAILED = "Failed"
    ABORTED = "Aborted"


class CheckResult(StatusModel):
    """One check at one look."""

    name: str = Field(description="The check's name (spec.analysis.metrics[].name).")
    verdict: str = Field(description="Pass, Fail or Inconclusive.")
    reason: str = Field(default="", description="Why, e.g. BelowMinSampleSize, ErrorRateNotWorse.")
    value: float | None = Field(default=None, description="The candidate's value.")
    baseline_value: float | None = Field(
        default=None, description="The baseline's value in the same window."
    )
    sample_size: int = Field(default=0, description="Candidate invocations behind the value.")
    baseline_sample_size: int = Field(
        default=0, description="Baseline invocations behind its value."
    )
    p_value: float | None = Field(
        default=None, description="ErrorRate: always-valid p-value that the candidate is worse."
    )
    safety_p_value: float | None = Field(
        default=None, description="ErrorRate: always-valid p-value that it is not harmful."
    )
    share_p_value: float | None = Field(
        default=None,
        description=(
            "ErrorRate: the exact error-share test's always-valid p-value that the candidate"
            " is worse (any sample size; reason ErrorShareIncreased when it decides)."
        ),
    )
    relative_safety_p_value: float | None = Field(
        default=None,
        description=(
            "ErrorRate with relativeHarm: always-valid p-value that it is not relatively"
            " harmful (Bonferroni over its two tests; a Pass needs it and safetyPValue at most"
            " alpha)."
        ),
    )
    detectable_increase: float | None = Field(
        default=None,
        description=(
            "ErrorRate: the smallest increase over the baseline's error rate that the roll-back"
            " test detects with 80% power at this step's counts (absolute; 0.002 = 0.2 points)."
        ),
    )


class StepRecord(StatusModel):
    """One look (or step change) in the canary's history."""

    time: str = Field(description="When (RFC 3339).")
    step_index: int = Field(description="The step (0 is the first).")
    weights: dict[str, float] = Field(
        default_factory=dict, description="The live weights at that time, by variant."
    )
    verdict: str | None = Field(default=None, description="The look's overall verdict.")
    checks: list[CheckResult] = Field(default_factory=list, description="Each check's result.")
    note: str = Field(default="", description="What happened.")


class StepSummary(StatusModel):
    """One step of the canary, kept however long its history grows (one entry per step)."""

    step_index: int = Field(description="The step (0 is the first; stepCount: the ending).")
    started_at: str = Field(description="Its first history entry (RFC 3339).")
    ended_at: str = Field(description="Its last history entry so far (RFC 3339).")
    weights: dict[str, float] = Field(
        default_factory=dict, description="The live weights at its first entry, by variant."
    )
    end_weights: dict[str, float] = Field(
        default_factory=dict, description="The live weights at its last entry, by variant."
    )
    looks: int = Field(default=0, description="Looks of its analysis.")
    first_looked_at: str | None = Field(default=None, description="When its first look was.")
    first_checks: list[CheckResult] = Field(
        default_factory=list, description="Its first look's checks."
    )
    verdict: str | None = Field(default=None, description="Its last look's overall verdict.")
    looked_at: str | None = Field(default=None, description="When its last look was.")
    checks: list[CheckResult] = Field(default_factory=list, description="Its last look's checks.")
    note: str = Field(default="", description="Its last entry's note.")


class SequentialTestState(StatusModel):
    """What the sequential error-rate test carries between looks of one step."""

    name: str = Field(description="The ErrorRate check it belongs to.")
    harm_p_value: float = Field(default=1.0, description="Always-valid p-value: worse.")
    safety_p_value: float = Field(default=1.0, description="Always-valid p-value: not harmful.")
    share_p_value: float = Field(
        default=1.0,
        description=(
            "Always-valid p-value of the exact error-share test (any sample size): worse."
        ),
    )
    ratio_safety_p_value: float = Field(
        default=1.0,
        description="relativeHarm: the exact error-share test's p-value: not ratio times worse.",
    )
    floor_safety_p_value: float = Field(
        default=1.0, description="relativeHarm: the normal test's p-value: not floor worse."
    )
    looks: int = Field(default=0, description="Looks with enough data that counted.")
    test_hash: str | None = Field(
        default=None,
        description=(
            "Identity of the test (alpha, minSampleSize, the check's errors, maxIncrease,"
            " harmfulIncrease and relativeHarm): a look of a different test starts again from"
            " p = 1."
        ),
    )


class HandledRequests(StatusModel):
    """The annotation values already acted on, so each request is consumed once."""

    promote: str | None = Field(default=None, description="Last serving.mlops.dev/promote.")
    abort: str | None = Field(default=None, description="Last serving.mlops.dev/abort.")
    retry: str | None = Field(default=None, description="Last serving.mlops.dev/retry.")


class HandBack(StatusModel):
    """What deleting the split would do to the traffic, said before it is done."""

    weights: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "The weights the ModelEndpoint's spec asks for: what the endpoint serves once this"
            " split is deleted."
        ),
    )
    changes_traffic: bool = Field(
        default=False, description="Whether they differ from the split's weights (as shares)."
    )
    patch: str | None = Field(
        default=None,
        description=(
            "A JSON patch (RFC 6902) of the ModelEndpoint that makes its spec ask for the"
            " split's weights: commit it where the ModelEndpoint is kept (Git), then deleting"
            " the split changes no traffic. Absent when nothing would change."
        ),
    )
    message: str = Field(default="", description="The same, for a person.")


class TrafficSplitStatus(StatusBase):
    """Where the split stands, written by the operator."""

    phase: Phase | None = Field(
        default=None,
        description=(
            "Initializing, Progressing, Paused, Promoting, Succeeded, RollingBack, Failed or"
            " Aborted."
        ),
    )
    reason: str | None = Field(default=None, description="Why the phase is what it is.")
    message: str | None = Field(default=None, description="The same, for a person.")
    endpoint_name: str | None = Field(default=None, description="The SageMaker endpoint.")
    rollout_hash: str | None = Field(
        default=None, description="Identity of the rollout; a change restarts the canary."
    )
    step_index: int | None = Field(default=None, description="The current step (0 is the first).")
    step_count: int | None = Field(default=None, description="How many steps the canary has.")
    step_started_at: str | None = Field(
        default=None, description="When the step's weights went live (metrics count after it)."
    )
    waiting_since: str | None = Field(
        default=None, description="Start of the current wait for the endpoint, for its deadline."
    )
    analysis_done: bool | None = Field(default=None, description="The step's analysis passed.")
    pause_started_at: str | None = Field(
        default=None, description="When the step's timed pause began."
    )
    last_analysis_at: str | None = Field(default=None, description="When the last look was.")
    desired_weights: dict[str, float] = Field(
        default_factory=dict, description="The weights the split asks for, by variant."
    )
    live_weights: dict[str, float] = Field(
        default_factory=dict, description="The weights SageMaker serves now, by variant."
    )
    candidate_weight_percent: float | None = Field(
        default=None, description="The candidate's live share of traffic, in percent."
    )
    verdict: str | None = Field(default=None, description="The last look's overall verdict.")
    failed_checks: int = Field(default=0, description="Failed looks so far (see threshold).")
    sequential: list[SequentialTestState] = Field(
        default_factory=list, description="The sequential tests' state in the current step."
    )
    history: list[StepRecord] = Field(
        default_factory=list,
        description=(
            "Step changes and looks, newest last (the last 40; stepSummaries keeps every step)."
        ),
    )
    step_summaries: list[StepSummary] = Field(
        default_factory=list,
        description=(
            "Every step of this rollout in one entry each, beyond the history's last 40: when"
            " it started and last changed, its weights, its looks and its last look."
        ),
    )
    handled: HandledRequests = Field(
        default_factory=HandledRequests, description="Manual requests already acted on."
    )
    hand_back: HandBack | None = Field(
        default=None,
        description=(
            "What deleting this split would do to the traffic (see onDelete): the weights the"
            " ModelEndpoint's spec gives back, and the patch that keeps the split's."
        ),
    )


TRAFFIC_SPLIT = KindInfo(
    kind="TrafficSplit",
    spec_model=TrafficSplitSpec,
    status_model=TrafficSplitStatus,
    description="Traffic weights between the variants of a ModelEndpoint, fixed or progressive.",
    plural="trafficsplits",
    singular="trafficsplit",
    short_names=("tsplit",),
    printer_columns=(
        {"name": "Endpoint", "type": "string", "jsonPath": ".spec.endpointRef.name"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Step", "type": "integer", "jsonPath": ".status.stepIndex"},
        {"name": "Candidate %", "type": "number", "jsonPath": ".status.candidateWeightPercent"},
        {"name": "Verdict", "type": "string", "jsonPath": ".status.verdict"},
        age_column(),
        {"name": "Reason", "type": "string", "jsonPath": ".status.reason", "priority": 1},
        {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
    ),
)
