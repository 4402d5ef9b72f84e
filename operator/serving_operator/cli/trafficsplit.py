"""TrafficSplit commands: promote, abort and retry a canary (annotations the operator consumes
once), compare its variants from CloudWatch, and send load to an endpoint."""

from __future__ import annotations

import datetime
from typing import Any

import click

from serving_operator.cli.output import EXIT_FAILED, UserError, emit, output_option

ANNOTATION_PREFIX = "serving.mlops.dev/"
_PLURAL_PATH = "/apis/serving.mlops.dev/v1alpha1/namespaces/{namespace}/trafficsplits/{name}"
LATENCY_PERCENTILES = (50.0, 90.0, 99.0)


def _kube() -> Any:
    from serving_operator.preflight.kube import KubeApi, KubeLoginError, login

    try:
        return KubeApi(login())
    except KubeLoginError as error:
        raise UserError(str(error)) from error


def _request_control(action: str, name: str, namespace: str) -> int:
    from serving_operator.preflight.kube import KubeApiError, KubeUnreachableError

    value = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
    path = _PLURAL_PATH.format(namespace=namespace, name=name)
    try:
        _kube().merge_patch(
            path, {"metadata": {"annotations": {f"{ANNOTATION_PREFIX}{action}": value}}}
        )
    except KubeApiError as error:
        if error.status == 404:
            raise UserError(f"no TrafficSplit {name} in namespace {namespace}") from error
        raise UserError(error.api_message) from error
    except KubeUnreachableError as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_FAILED
    click.echo(f"{action} requested for TrafficSplit {namespace}/{name} ({value})")
    return 0


def _control_command(action: str, help_text: str) -> click.Command:
    @click.command(name=action, help=help_text)
    @click.argument("name")
    @click.option("-n", "--namespace", default="default", show_default=True)
    def command(name: str, namespace: str) -> int:
        return _request_control(action, name, namespace)

    return command


promote = _control_command(
    "promote",
    "Pass a canary's current gate (a manual pause, insufficient traffic, manual promotion).",
)
abort = _control_command("abort", "Stop a canary and send all traffic back to the baseline.")
retry = _control_command(
    "retry",
    "Start a failed or aborted canary again from its first step, or run a step paused for"
    " insufficient traffic again.",
)


def _aws_or_fail() -> None:
    from serving_operator.preflight.aws import REGION_FIX, adopt_aws_region

    if adopt_aws_region().region is None:
        raise UserError(f"no AWS region set: {REGION_FIX}")


def _parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def compare_rows(split: dict[str, Any], cloudwatch: Any, now: datetime.datetime) -> dict[str, Any]:
    """The A/B report of a TrafficSplit: per variant, since the canary's first recorded step."""
    from serving_operator.api.trafficsplit import AnalysisMetric, MetricType, ThresholdRange
    from serving_operator.planning.trafficsplit.observed import MetricsLookup
    from serving_operator.planning.trafficsplit.statistics import VariantCounts, variant_error_rate
    from serving_operator.planning.trafficsplit.windows import longest_period_within

    spec, status = split.get("spec", {}), split.get("status", {})
    endpoint = status.get("endpointName")
    variants = [v for v in (spec.get("baseline"), spec.get("candidate")) if v] or [
        w["variant"] for w in spec.get("weights", [])
    ]
    history = status.get("history", [])
    if not endpoint or not history:
        raise UserError("the TrafficSplit has no history yet: wait for its first step")
    period = int(spec.get("metricPeriodSeconds", 60))
    start = canary_start(status)
    start_s = int(start.timestamp()) - int(start.timestamp()) % period
    end_s = int(now.timestamp()) - int(now.timestamp()) % period + period
    aligned_start = datetime.datetime.fromtimestamp(start_s, datetime.UTC)
    end = datetime.datetime.fromtimestamp(end_s, datetime.UTC)
    span = longest_period_within(end_s - start_s)
    lookup = MetricsLookup(aligned_start, end - datetime.timedelta(seconds=span), end, period)
    metrics = [
        AnalysisMetric(
            name=f"p{p:g}",
            type=MetricType.LATENCY,
            percentile=p,
            # The report reads values only; the check's bounds are never applied.
            threshold_range=ThresholdRange(max=1e12),
        )
        for p in LATENCY_PERCENTILES
    ]
    data = cloudwatch.read_analysis(endpoint, variants, metrics, lookup)
    rows = []
    for variant in variants:
        totals = data.totals[variant]
        errors = min(totals.errors_5xx, totals.invocations)
        rate = variant_error_rate(VariantCounts(totals.invocations, errors))
        rows.append(
            {
                "variant": variant,
                "role": "baseline"
                if variant == spec.get("baseline")
                else "candidate"
                if variant == spec.get("candidate")
                else "",
                "weightPercent": _share(status.get("liveWeights", {}), variant),
                "invocations": totals.invocations,
                "errors5xx": errors,
                "errorRate": rate.error_rate,
                "errorRateInterval": [rate.interval.low, rate.interval.high],
                "latencyMicroseconds": {
                    f"p{p:g}": data.values.get((f"p{p:g}", variant)) for p in LATENCY_PERCENTILES
                },
            }
        )
    return {
        "name": split["metadata"]["name"],
        "endpoint": endpoint,
        "phase": status.get("phase"),
        "reason": status.get("reason"),
        "verdict": status.get("verdict"),
        "since": aligned_start.isoformat(),
        "latencySince": lookup.window_start.isoformat(),
        "variants": rows,
        "lastChecks": next((h.get("checks", []) for h in reversed(history) if h.get("checks")), []),
    }


def check_line(check: dict[str, Any]) -> str:
    """One check of the last look, for a person: its verdict, p-values and, for an ErrorRate
    check, the smallest harm this step's traffic can detect (status' detectableIncrease: the
    increase the roll-back test catches with 80% power at the step's counts, see
    docs/trafficsplit-statistics.md), also as a multiple of the baseline's rate."""
    line = f"check {check['name']}: {check['verdict']} ({check.get('reason', '')})"
    for key, label in (
        ("pValue", "p(worse)"),
        ("safetyPValue", "p(not harmful)"),
        ("relativeSafetyPValue", "p(not relatively harmful)"),
    ):
        if check.get(key) is not None:
            line += f", {label}={check[key]:.3g}"
    detectable = check.get("detectableIncrease")
    if detectable is not None:
        line += f"; smallest detectable harm (80% power): +{100 * detectable:.3g} points"
        baseline = check.get("baselineValue")
        if baseline:
            line += f" ({(baseline + detectable) / baseline:.3g}x the baseline's rate)"
    elif check.get("pValue") is not None:
        line += "; smallest detectable harm: none yet (too little traffic)"
    return line


def canary_start(status: dict[str, Any]) -> datetime.datetime:
    """The rollout's first recorded moment: its first step's summary, which outlives the
    history's last 40 entries (else the history's first entry)."""
    moments = [_parse_time(s["startedAt"]) for s in status.get("stepSummaries", [])]
    moments += [_parse_time(h["time"]) for h in status.get("history", [])[:1]]
    return min(moments)


Timeline = list[tuple[datetime.datetime, dict[str, float]]]
Looks = list[tuple[datetime.datetime, list[dict[str, Any]]]]


def plot_series(status: dict[str, Any]) -> tuple[Timeline, Looks]:
    """The weights over time and each look's checks, for the whole rollout: every step's
    summary (when it started and last changed, its first and last looks) and, in detail, the
    history's last 40 entries."""
    weights: dict[datetime.datetime, dict[str, float]] = {}
    looks: dict[datetime.datetime, list[dict[str, Any]]] = {}
    for summary in status.get("stepSummaries", []):
        weights[_parse_time(summary["startedAt"])] = summary.get("weights", {})
        weights[_parse_time(summary["endedAt"])] = summary.get("endWeights", {})
        if summary.get("firstChecks") and summary.get("firstLookedAt"):
            looks[_parse_time(summary["firstLookedAt"])] = summary["firstChecks"]
        if summary.get("checks") and summary.get("lookedAt"):
            looks[_parse_time(summary["lookedAt"])] = summary["checks"]
    for entry in status.get("history", []):
        moment = _parse_time(entry["time"])
        weights[moment] = entry.get("weights", {})
        if entry.get("checks"):
            looks[moment] = entry["checks"]
    return sorted(weights.items(), key=lambda p: p[0]), sorted(looks.items(), key=lambda p: p[0])


def _share(weights: dict[str, float], variant: str) -> float | None:
    total = sum(weights.values())
    return round(100.0 * weights.get(variant, 0.0) / total, 2) if total else None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.1f}"


def plot_history(split: dict[str, Any], path: str) -> None:
    """Draw the canary's weights over time and each look's error rates into `path`."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise UserError("--plot needs matplotlib: pip install 'serving-operator[plot]'") from error
    spec, status = split.get("spec", {}), split.get("status", {})
    timeline, looks = plot_series(status)
    candidate, baseline = spec.get("candidate"), spec.get("baseline")
    figure, (weights_axis, errors_axis) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    for variant in [v for v in (baseline, candidate) if v]:
        weights_axis.step(
            [t for t, _ in timeline],
            [_share(w, variant) or 0.0 for _, w in timeline],
            where="post",
            label=variant,
        )
    weights_axis.set_ylabel("traffic %")
    weights_axis.set_ylim(-2, 102)
    weights_axis.legend(loc="best")
    weights_axis.set_title(
        f"TrafficSplit {split['metadata']['name']}: {status.get('phase')} ({status.get('reason')})"
    )
    for check_name in sorted({c["name"] for _, checks in looks for c in checks}):
        points = [
            (t, c)
            for t, checks in looks
            for c in checks
            if c["name"] == check_name and c.get("pValue") is not None
        ]
        if not points:
            continue
        errors_axis.plot(
            [t for t, _ in points],
            [100 * (c.get("value") or 0.0) for _, c in points],
            marker="o",
            label=f"{check_name}: {candidate}",
        )
        errors_axis.plot(
            [t for t, _ in points],
            [100 * (c.get("baselineValue") or 0.0) for _, c in points],
            marker="x",
            label=f"{check_name}: {baseline}",
        )
    errors_axis.set_ylabel("error rate %")
    errors_axis.set_xlabel("time (UTC)")
    if errors_axis.has_data():
        errors_axis.legend(loc="best")
    figure.autofmt_xdate()
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=100)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror}") from error
    finally:
        plt.close(figure)


@click.command()
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="also draw weights and error rates over time into this PNG (needs matplotlib)",
)
@output_option()
def compare(name: str, namespace: str, plot_file: str | None, output: str) -> int:
    """Compare a TrafficSplit's variants: invocations, error rate with a 95% interval,
    latency percentiles, and the canary's verdict."""
    import boto3
    from rich.table import Table

    from serving_operator.aws.base import CLIENT_CONFIG, AwsError
    from serving_operator.aws.cloudwatch import CloudWatch
    from serving_operator.aws.ratelimit import TokenBucket
    from serving_operator.preflight.kube import KubeApiError

    _aws_or_fail()
    try:
        split = _kube().get(_PLURAL_PATH.format(namespace=namespace, name=name))
    except KubeApiError as error:
        raise UserError(
            f"cannot read TrafficSplit {namespace}/{name}: {error.api_message}"
        ) from error
    cloudwatch = CloudWatch(
        boto3.session.Session().client("cloudwatch", config=CLIENT_CONFIG), TokenBucket(10, 10)
    )
    try:
        report = compare_rows(split, cloudwatch, datetime.datetime.now(datetime.UTC))
    except AwsError as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_FAILED

    def table(console: Any) -> None:
        drawn = Table(
            title=f"{report['name']} on {report['endpoint']}: {report['phase']}"
            f" ({report['reason']}), verdict {report['verdict'] or '-'}"
        )
        for column in ("variant", "role", "weight %", "invocations", "5xx", "error rate (95% CI)"):
            drawn.add_column(column)
        for p in LATENCY_PERCENTILES:
            drawn.add_column(f"p{p:g} ms")
        for row in report["variants"]:
            low, high = row["errorRateInterval"]
            drawn.add_row(
                row["variant"],
                row["role"],
                "-" if row["weightPercent"] is None else f"{row['weightPercent']:g}",
                str(row["invocations"]),
                str(row["errors5xx"]),
                f"{100 * row['errorRate']:.2f}% [{100 * low:.2f}, {100 * high:.2f}]",
                *(_ms(v) for v in row["latencyMicroseconds"].values()),
            )
        console.print(drawn)
        for check in report["lastChecks"]:
            console.print(check_line(check))

    emit(report, output, table)
    if plot_file is not None:
        plot_history(split, plot_file)
    return 0


@click.command()
@click.argument("endpoint")
@click.option(
    "--rps",
    type=click.FloatRange(min=0, max=10_000, min_open=True),
    help="calls a second (any rate above 0, e.g. 0.05 = 3 a minute)",
)
@click.option(
    "--per-minute",
    type=click.FloatRange(min=0, max=600_000, min_open=True),
    help="calls a minute, instead of --rps (e.g. 3)",
)
@click.option("--duration", type=click.FloatRange(min=0.1, max=86_400), required=True)
@click.option("--variant", help="TargetVariant: call only this production variant")
@click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True)
@click.option("--data", type=click.File("rb"), default=None, help="request body file (default [])")
@click.option("--content-type", default="application/json", show_default=True)
@output_option()
def load(
    endpoint: str,
    rps: float | None,
    per_minute: float | None,
    duration: float,
    variant: str | None,
    concurrency: int,
    data: Any,
    content_type: str,
    output: str,
) -> int:
    """Send steady traffic to an endpoint (bounded: RPS x DURATION calls at most)."""
    if (rps is None) == (per_minute is None):
        raise click.UsageError("give the rate once: --rps or --per-minute")
    if rps is None:
        assert per_minute is not None
        rps = per_minute / 60.0
    import boto3
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from serving_operator.aws.base import CLIENT_CONFIG
    from serving_operator.aws.ratelimit import TokenBucket
    from serving_operator.aws.runtime import SageMakerRuntime
    from serving_operator.loadgen import LoadProgress, generate_load

    _aws_or_fail()
    body = data.read() if data is not None else b"[]"
    runtime = SageMakerRuntime(
        boto3.session.Session().client("sagemaker-runtime", config=CLIENT_CONFIG),
        TokenBucket(max(rps * 2, 10), max(int(rps), 10)),
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} calls, {task.fields[failed]} failed"),
        TimeElapsedColumn(),
        transient=output != "table",
    ) as progress:
        task = progress.add_task(endpoint, total=rps * duration, failed=0)

        def advance(at: LoadProgress) -> None:
            progress.update(task, completed=at.completed, failed=at.failed)

        summary = generate_load(
            runtime,
            endpoint,
            rps,
            duration,
            body=body,
            content_type=content_type,
            variant=variant,
            concurrency=concurrency,
            on_progress=advance,
        )
    result = {
        "sent": summary.sent,
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "byVariant": dict(summary.by_variant),
        "errors": dict(summary.errors),
        "latencyP50Ms": None
        if summary.latency_p50_seconds is None
        else summary.latency_p50_seconds * 1000,
        "latencyP99Ms": None
        if summary.latency_p99_seconds is None
        else summary.latency_p99_seconds * 1000,
        "elapsedSeconds": summary.elapsed_seconds,
    }

    def table(console: Any) -> None:
        console.print(
            f"sent {summary.sent}, succeeded {summary.succeeded}, failed {summary.failed}"
            f" in {summary.elapsed_seconds:.1f}s; by variant: "
            + ", ".join(f"{k} {v}" for k, v in sorted(summary.by_variant.items()))
        )
        if summary.errors:
            console.print("errors: " + ", ".join(f"{k} {v}" for k, v in summary.errors.items()))

    emit(result, output, table)
    return 0 if summary.sent else EXIT_FAILED
