"""TrafficSplit end to end: the operator, the real control plane and the sandbox, with real
InvokeEndpoint traffic from the load generator and CloudWatch metrics at one-second periods."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from tests.e2e.helpers import (
    wait_for_condition,
    wait_for_events,
    wait_for_resyncs,
    wait_for_status,
)
from tests.sandbox.canary import behaviour_admin, set_behaviour
from tests.support import cluster, controlplane, processes
from tests.support.cli import isolated_env, run_cli
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import model_endpoint, variant
from tests.support.traffic import Traffic

pytestmark = pytest.mark.e2e

BLUE, GREEN = "blue", "green"
HEALTHY = {"errorRate5xx": 0.0, "latencyMs": {"median": 2, "p99": 6}}


@pytest.fixture
def user_env(
    tmp_path: Path, control_plane: controlplane.ControlPlane, sandbox: Sandbox
) -> dict[str, str]:
    """A user's shell: a kubeconfig for the shared control plane, and the sandbox as AWS."""
    return isolated_env(
        tmp_path, KUBECONFIG=str(control_plane.kubeconfig(controlplane.ADMIN_USER)), **sandbox.env
    )


@pytest.fixture
def splits(admin_api: kubernetes.client.ApiClient) -> cluster.Objects:
    return cluster.Objects(admin_api, "trafficsplits")


@pytest.fixture
def one_second_metrics(sandbox: Sandbox) -> Iterator[None]:
    """Metrics at one-second periods for this test; the shared sandbox's settings and
    variant behaviours are put back afterwards."""
    before = sandbox._admin("GET", "settings")
    sandbox.settings(metricPeriodSeconds=1)
    yield
    sandbox.settings(metricPeriodSeconds=before["metricPeriodSeconds"])
    behaviour_admin(sandbox, "DELETE")


@pytest.fixture
def ab_endpoint(
    operator: OperatorProcess, namespace: str, model_endpoints: cluster.Objects, model_bucket: str
) -> str:
    """A Ready ModelEndpoint with two equally weighted variants, blue (v1) and green (v2)."""
    name = f"ts-{namespace}"
    model_endpoints.create(
        namespace,
        model_endpoint(
            name, [variant(BLUE, model_bucket, "v1"), variant(GREEN, model_bucket, "v2")]
        ),
    )
    wait_for_condition(model_endpoints, namespace, name, "Ready", operator)
    return name


def split(name: str, endpoint: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{cluster.GROUP}/{cluster.VERSION}",
        "kind": "TrafficSplit",
        "metadata": {"name": name},
        "spec": {"endpointRef": {"name": endpoint}, **spec},
    }


def canary(name: str, endpoint: str, steps: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A canary from blue to green, judged on the 5XX error rate at 60 invocations a look;
    harmfulIncrease 0.15 makes a healthy candidate pass at that sample size."""
    analysis = {
        "interval": 2,
        "minSampleSize": 60,
        "metrics": [{"name": "errors", "type": "ErrorRate", "harmfulIncrease": 0.15}],
    }
    return split(
        name,
        endpoint,
        baseline=BLUE,
        candidate=GREEN,
        steps=steps,
        analysis=analysis | spec.pop("analysis", {}),
        metricPeriodSeconds=1,
        progressDeadlineSeconds=spec.pop("progressDeadlineSeconds", 120),
        **spec,
    )


def wait_for_phase(
    splits: cluster.Objects,
    namespace: str,
    name: str,
    operator: OperatorProcess,
    phase: str,
    *,
    reason: str | None = None,
    timeout: float = 120,
) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def check() -> bool:
        obj = splits.get(namespace, name)
        status = (obj or {}).get("status", {})
        if status.get("phase") == phase and (reason is None or status.get("reason") == reason):
            found.append(obj or {})
            return True
        return False

    processes.wait_until(
        check,
        timeout=timeout,
        interval=0.25,
        what=lambda: (
            f"{namespace}/{name} in phase {phase} ({reason}): at the deadline"
            f" {splits.get(namespace, name)}"
        ),
        log=operator.log,
    )
    return found[-1]


def live_weights(sandbox: Sandbox, endpoint: str) -> dict[str, float]:
    described = sandbox.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    return {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}


def weight_writes(sandbox: Sandbox, endpoint: str) -> int:
    return sum(
        1
        for c in sandbox.calls()
        if c["operation"] == "UpdateEndpointWeightsAndCapacities"
        and c.get("target") == endpoint
        and c["status"] == 200
    )


def annotate(splits: cluster.Objects, namespace: str, name: str, key: str, value: str) -> None:
    splits.custom.patch_namespaced_custom_object(
        cluster.GROUP,
        cluster.VERSION,
        namespace,
        "trafficsplits",
        name,
        {"metadata": {"annotations": {f"serving.mlops.dev/{key}": value}}},
    )


# --------------------------------------------------------------------------- fixed split


def test_fixed_split_is_one_call_and_the_model_endpoint_keeps_its_hands_off(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
    model_endpoints: cluster.Objects,
) -> None:
    sandbox.forget_calls()
    splits.create(
        namespace,
        split(
            "ninety-ten",
            ab_endpoint,
            weights=[{"variant": BLUE, "weight": 90}, {"variant": GREEN, "weight": 10}],
        ),
    )
    done = wait_for_condition(splits, namespace, "ninety-ten", "Ready", operator)
    assert done["status"]["phase"] == "Succeeded"
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 90.0, GREEN: 10.0}
    assert weight_writes(sandbox, ab_endpoint) == 1

    # The ModelEndpoint (spec: 1/1) says who writes its weights and does not revert them.
    wait_for_condition(
        model_endpoints,
        namespace,
        ab_endpoint,
        "Ready",
        operator,
        also=lambda o: o["status"].get("weightsManagedBy") == "TrafficSplit/ninety-ten",
    )
    wait_for_resyncs(sandbox, ab_endpoint, operator, passes=4)
    assert weight_writes(sandbox, ab_endpoint) == 1
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 90.0, GREEN: 10.0}

    # Deleting the split hands the weights back to the ModelEndpoint's spec.
    splits.delete(namespace, "ninety-ten")
    wait_for_condition(
        model_endpoints,
        namespace,
        ab_endpoint,
        "Ready",
        operator,
        also=lambda o: "weightsManagedBy" not in o["status"],
    )
    processes.wait_until(
        lambda: live_weights(sandbox, ab_endpoint) == {BLUE: 1.0, GREEN: 1.0},
        timeout=30,
        what="the ModelEndpoint's own weights back",
        log=operator.log,
    )
    events = wait_for_events(
        model_endpoints,
        namespace,
        ab_endpoint,
        operator,
        lambda events: {"WeightsManagedBy", "WeightsHandedBack"} <= {e.reason for e in events},
        "WeightsManagedBy and WeightsHandedBack",
    )
    # The hand-back was announced: its weight write is no drift (kopf posts a pass's Events
    # together, so a Warning of the same pass would be here already).
    assert not {"DriftDetected", "DriftCorrected"} & {e.reason for e in events}


def test_a_succeeded_canary_says_what_deleting_it_hands_back_and_can_wait_for_git(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
    model_endpoints: cluster.Objects,
) -> None:
    """Issue 18: deleting a Succeeded canary handed the weights back to the ModelEndpoint's
    spec (50/50) without a word. Now the split says so when it succeeds (status.handBack,
    an Event) with the patch that keeps the promotion, and with onDelete:
    WaitForEndpointSpec its deletion waits until that patch is in the ModelEndpoint."""
    steps = [{"setWeight": 50}]
    splits.create(
        namespace,
        canary("kept", ab_endpoint, steps, skipAnalysis=True, onDelete="WaitForEndpointSpec"),
    )
    done = wait_for_phase(splits, namespace, "kept", operator, "Succeeded")
    hint = done["status"]["handBack"]
    assert hint["weights"] == {BLUE: 1.0, GREEN: 1.0}
    assert hint["changesTraffic"] is True
    assert "blue 50%, green 50% instead of blue 0%, green 100%" in hint["message"]
    wait_for_events(
        splits,
        namespace,
        "kept",
        operator,
        lambda events: any(
            e.reason == "HandBackOnDelete" and "blue 50%, green 50%" in e.message for e in events
        ),
        "HandBackOnDelete naming the weights the ModelEndpoint would give back",
    )

    splits.delete(namespace, "kept")
    waiting = wait_for_condition(
        splits,
        namespace,
        "kept",
        "Reconciling",
        operator,
        also=lambda o: (
            (cluster.condition(o, "Reconciling") or {}).get("reason") == "WaitingForEndpointSpec"
        ),
    )
    assert waiting["metadata"]["deletionTimestamp"]
    wait_for_resyncs(sandbox, ab_endpoint, operator, passes=3)
    assert splits.get(namespace, "kept") is not None
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 0.0, GREEN: 100.0}

    # What a user commits to Git, applied as it is.
    model_endpoints.custom.patch_namespaced_custom_object(
        cluster.GROUP,
        cluster.VERSION,
        namespace,
        "modelendpoints",
        ab_endpoint,
        json.loads(hint["patch"]),
        _content_type="application/json-patch+json",
    )
    processes.wait_until(
        lambda: splits.get(namespace, "kept") is None,
        timeout=60,
        what="the split gone once the ModelEndpoint asks for its weights",
        log=operator.log,
    )
    wait_for_condition(
        model_endpoints,
        namespace,
        ab_endpoint,
        "Ready",
        operator,
        also=lambda o: "weightsManagedBy" not in o["status"],
    )
    wait_for_resyncs(sandbox, ab_endpoint, operator, passes=3)
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 0.0, GREEN: 100.0}


def test_a_split_at_rest_puts_back_weights_changed_out_of_band(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
) -> None:
    """At rest the split takes the endpoint as its ModelEndpoint's pass read it: a weight
    change made behind the operator's back must still be seen and undone."""
    splits.create(
        namespace,
        split(
            "at-rest",
            ab_endpoint,
            weights=[{"variant": BLUE, "weight": 90}, {"variant": GREEN, "weight": 10}],
        ),
    )
    wait_for_condition(splits, namespace, "at-rest", "Ready", operator)
    sandbox.forget_calls()
    wait_for_resyncs(sandbox, ab_endpoint, operator, passes=3)  # at rest now
    sandbox.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=ab_endpoint,
        DesiredWeightsAndCapacities=[
            {"VariantName": BLUE, "DesiredWeight": 1.0},
            {"VariantName": GREEN, "DesiredWeight": 1.0},
        ],
    )
    # Ours, then the operator's: the weights were moved, and moved back.
    processes.wait_until(
        lambda: (
            weight_writes(sandbox, ab_endpoint) >= 2
            and live_weights(sandbox, ab_endpoint) == {BLUE: 90.0, GREEN: 10.0}
        ),
        timeout=60,
        what="the split's weights put back",
        log=operator.log,
    )
    done = wait_for_condition(splits, namespace, "at-rest", "Ready", operator)
    assert done["status"]["phase"] == "Succeeded"
    assert done["status"]["liveWeights"] == {BLUE: 90.0, GREEN: 10.0}


def test_a_second_split_on_the_same_endpoint_is_stalled_naming_the_first(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
) -> None:
    first = [{"variant": BLUE, "weight": 70}, {"variant": GREEN, "weight": 30}]
    splits.create(namespace, split("first", ab_endpoint, weights=first))
    wait_for_condition(splits, namespace, "first", "Ready", operator)
    second = [{"variant": BLUE, "weight": 10}, {"variant": GREEN, "weight": 90}]
    splits.create(namespace, split("second", ab_endpoint, weights=second))
    stalled = wait_for_condition(splits, namespace, "second", "Stalled", operator)
    stalled_condition = cluster.condition(stalled, "Stalled")
    assert stalled_condition is not None
    assert stalled_condition["reason"] == "WeightsManagedElsewhere"
    assert "first" in stalled_condition["message"]
    wait_for_resyncs(sandbox, ab_endpoint, operator, passes=3)
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 70.0, GREEN: 30.0}


def test_a_missing_variant_is_stalled_naming_it(
    ab_endpoint: str, operator: OperatorProcess, namespace: str, splits: cluster.Objects
) -> None:
    splits.create(
        namespace,
        split("typo", ab_endpoint, weights=[{"variant": "grene", "weight": 10}]),
    )
    stalled = wait_for_condition(splits, namespace, "typo", "Stalled", operator)
    message = (cluster.condition(stalled, "Stalled") or {}).get("message", "")
    assert "grene" in message


# --------------------------------------------------------------------------- canaries


def test_healthy_canary_goes_10_30_50_then_100(
    tmp_path: Path,
    user_env: dict[str, str],
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
    one_second_metrics: None,
) -> None:
    for name in (BLUE, GREEN):
        set_behaviour(sandbox, ab_endpoint, name, **HEALTHY)
    steps = [{"setWeight": 10}, {"setWeight": 30}, {"setWeight": 50}]
    with Traffic(sandbox, ab_endpoint, rps=80):
        latency = {
            "name": "latency",
            "type": "Latency",
            "percentile": 99,
            "thresholdRange": {"max": 1_000_000},  # one second, in microseconds
        }
        errors = {"name": "errors", "type": "ErrorRate", "harmfulIncrease": 0.15}
        analysis = {"metrics": [errors, latency]}
        splits.create(namespace, canary("rollout", ab_endpoint, steps, analysis=analysis))
        done = wait_for_phase(splits, namespace, "rollout", operator, "Succeeded", timeout=240)
    status = done["status"]
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 0.0, GREEN: 100.0}
    assert status["candidateWeightPercent"] == 100.0
    passes = [h for h in status["history"] if h.get("verdict") == "Pass"]
    assert [h["stepIndex"] for h in passes] == [0, 1, 2]
    assert [round(h["weights"][GREEN]) for h in passes] == [10, 30, 50]
    for look in passes:
        checks = {c["name"]: c for c in look["checks"]}
        assert checks["errors"]["sampleSize"] >= 60
        assert checks["errors"]["baselineSampleSize"] >= 60
        assert checks["errors"]["safetyPValue"] <= 0.05
        assert checks["latency"]["verdict"] == "Pass"
        assert 0 < checks["latency"]["value"] < 1_000_000
    events = wait_for_events(
        splits,
        namespace,
        "rollout",
        operator,
        lambda events: (
            "Succeeded" in {e.reason for e in events}
            and sum(e.reason == "WeightsSet" for e in events) >= 4
        ),
        "Succeeded and four WeightsSet",
    )
    assert sum(e.reason == "WeightsSet" for e in events) == 4

    done_cli = run_cli(["compare", "rollout", "-n", namespace, "-o", "json"], user_env)
    assert done_cli.returncode == 0, done_cli.stderr
    report = json.loads(done_cli.stdout)
    assert report["phase"] == "Succeeded"
    rows = {row["variant"]: row for row in report["variants"]}
    assert set(rows) == {BLUE, GREEN}
    for row in rows.values():
        assert row["invocations"] >= 60
        assert row["errors5xx"] == 0
        low, high = row["errorRateInterval"]
        assert low == 0.0
        assert 0.0 < high < 0.1
        assert row["latencyMicroseconds"]["p50"] is not None
    table = run_cli(["compare", "rollout", "-n", namespace], user_env)
    assert table.returncode == 0, table.stderr
    assert "check errors: Pass (ErrorRateNotWorse)" in table.stdout
    assert BLUE in table.stdout
    assert GREEN in table.stdout

    plot = tmp_path / "rollout.png"
    drawn = run_cli(["compare", "rollout", "-n", namespace, "--plot", str(plot)], user_env)
    assert drawn.returncode == 0, drawn.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("TRAFFICSPLIT_PLOT_COPY"):  # keep the picture of a run for a report
        shutil.copy(plot, os.environ["TRAFFICSPLIT_PLOT_COPY"])
        Path(os.environ["TRAFFICSPLIT_PLOT_COPY"] + ".txt").write_text(table.stdout)


def test_raised_candidate_error_rate_rolls_back(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
    one_second_metrics: None,
) -> None:
    set_behaviour(sandbox, ab_endpoint, BLUE, **HEALTHY)
    set_behaviour(sandbox, ab_endpoint, GREEN, **(HEALTHY | {"errorRate5xx": 0.5}))
    steps = [{"setWeight": 20}, {"setWeight": 50}]
    with Traffic(sandbox, ab_endpoint, rps=80):
        splits.create(namespace, canary("bad", ab_endpoint, steps))
        failed = wait_for_phase(splits, namespace, "bad", operator, "Failed", timeout=180)
    status = failed["status"]
    assert status["reason"] == "AnalysisFailed"
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 100.0, GREEN: 0.0}
    failing = [c for h in status["history"] for c in h.get("checks", []) if c["verdict"] == "Fail"]
    assert failing
    # Two steps at alpha 0.05: each step's Fail budget is 0.025, a tenth of it for the exact
    # error-share test (any sample size) and the rest for the normal mixture test.
    decided_by = {"ErrorRateIncreased": "pValue", "ErrorShareIncreased": "sharePValue"}
    level = {"pValue": 0.025 * 0.9, "sharePValue": 0.025 * 0.1}
    p_value = decided_by[failing[0]["reason"]]
    assert failing[0][p_value] <= level[p_value]
    assert failing[0]["value"] > failing[0]["baselineValue"]
    assert all(h["weights"].get(GREEN, 0) <= 20 for h in status["history"])
    stalled = cluster.condition(failed, "Stalled")
    assert stalled is not None


def test_too_little_traffic_pauses_insufficient_and_is_not_promoted(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
    one_second_metrics: None,
) -> None:
    for name in (BLUE, GREEN):
        set_behaviour(sandbox, ab_endpoint, name, **HEALTHY)
    with Traffic(sandbox, ab_endpoint, rps=3):
        splits.create(
            namespace,
            canary("quiet", ab_endpoint, [{"setWeight": 10}], progressDeadlineSeconds=15),
        )
        paused = wait_for_phase(
            splits, namespace, "quiet", operator, "Paused", reason="InsufficientTraffic"
        )
        # onInsufficientTraffic defaults to Baseline: nobody could judge the candidate, so
        # it serves no one until a person promotes, retries or aborts.
        processes.wait_until(
            lambda: live_weights(sandbox, ab_endpoint) == {BLUE: 100.0, GREEN: 0.0},
            timeout=30,
            what="the unjudged candidate out of traffic",
            log=operator.log,
        )
    status = paused["status"]
    assert "out of traffic" in status["message"]
    looks = [h for h in status["history"] if h.get("verdict")]
    assert looks
    assert {h["verdict"] for h in looks} == {"Inconclusive"}
    assert cluster.is_true(paused, "Stalled")
    # The status follows what SageMaker serves (at the next pass: a Stalled split's is at
    # the resync), and the split stays paused.
    held = wait_for_status(
        splits,
        namespace,
        "quiet",
        operator,
        lambda o: o["status"].get("liveWeights") == {BLUE: 100.0, GREEN: 0.0},
        "liveWeights blue 100, green 0",
    )
    assert held["status"]["phase"] == "Paused"


def test_the_deadline_counts_while_cloudwatch_fails(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
    one_second_metrics: None,
) -> None:
    """Issue 18: with CloudWatch failing, a canary sat in AwsUnavailable far past its
    progressDeadlineSeconds. The step's deadline counts through the outage: it stops
    without a verdict (never promoted) and its unjudged candidate leaves the traffic."""
    for name in (BLUE, GREEN):
        set_behaviour(sandbox, ab_endpoint, name, **HEALTHY)
    sandbox.add_fault(
        service="monitoring",
        operation="GetMetricData",
        errorCode="ServiceUnavailable",
        httpStatus=503,
        message="Service Unavailable",
        count=-1,
    )
    try:
        with Traffic(sandbox, ab_endpoint, rps=20):
            splits.create(
                namespace,
                canary("blind", ab_endpoint, [{"setWeight": 10}], progressDeadlineSeconds=15),
            )
            paused = wait_for_phase(
                splits, namespace, "blind", operator, "Paused", reason="InsufficientTraffic"
            )
            processes.wait_until(
                lambda: live_weights(sandbox, ab_endpoint) == {BLUE: 100.0, GREEN: 0.0},
                timeout=30,
                what="the unjudged candidate out of traffic",
                log=operator.log,
            )
        assert "AWS unavailable" in paused["status"]["message"]
        assert cluster.is_true(paused, "Stalled")
        assert not [h for h in paused["status"].get("history", []) if h.get("verdict")]
        assert any(
            c["operation"] == "GetMetricData" and c["status"] == 503 for c in sandbox.calls()
        )
    finally:
        sandbox.clear_faults()


def test_manual_gate_then_promote(
    user_env: dict[str, str],
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
) -> None:
    steps = [{"setWeight": 25, "pause": {}}, {"setWeight": 60}]
    splits.create(namespace, canary("gated", ab_endpoint, steps, skipAnalysis=True))
    wait_for_phase(splits, namespace, "gated", operator, "Paused", reason="ManualGate")
    wait_for_resyncs(sandbox, ab_endpoint, operator, passes=2)
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 75.0, GREEN: 25.0}
    promoted = run_cli(["promote", "gated", "-n", namespace], user_env)
    assert promoted.returncode == 0, promoted.stderr
    done = wait_for_phase(splits, namespace, "gated", operator, "Succeeded")
    annotations = done["metadata"]["annotations"]
    assert done["status"]["handled"]["promote"] == annotations["serving.mlops.dev/promote"]
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 0.0, GREEN: 100.0}


def test_abort_then_retry(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
) -> None:
    steps = [{"setWeight": 40, "pause": {}}]
    splits.create(namespace, canary("again", ab_endpoint, steps, skipAnalysis=True))
    wait_for_phase(splits, namespace, "again", operator, "Paused", reason="ManualGate")
    annotate(splits, namespace, "again", "abort", "stop-1")
    aborted = wait_for_phase(splits, namespace, "again", operator, "Aborted")
    processes.wait_until(
        lambda: live_weights(sandbox, ab_endpoint) == {BLUE: 100.0, GREEN: 0.0},
        timeout=30,
        what="all traffic back on blue",
        log=operator.log,
    )
    assert aborted["status"]["handled"]["abort"] == "stop-1"
    annotate(splits, namespace, "again", "retry", "go-2")
    wait_for_phase(splits, namespace, "again", operator, "Paused", reason="ManualGate")
    processes.wait_until(
        lambda: live_weights(sandbox, ab_endpoint) == {BLUE: 60.0, GREEN: 40.0},
        timeout=30,
        what="the retried canary's first step",
        log=operator.log,
    )
    # The abort annotation is still there, already handled: it does not abort the retry.
    wait_for_resyncs(sandbox, ab_endpoint, operator, passes=2)
    obj = splits.get(namespace, "again")
    assert obj is not None
    assert obj["status"]["phase"] == "Paused"


def test_alarm_in_alarm_rolls_back(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
) -> None:
    alarm = f"{ab_endpoint}-errors"
    cloudwatch = sandbox.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    try:
        steps = [{"setWeight": 30, "pause": {}}]
        splits.create(
            namespace,
            canary(
                "watched",
                ab_endpoint,
                steps,
                skipAnalysis=True,
                autoRollback={"alarms": [alarm]},
            ),
        )
        wait_for_phase(splits, namespace, "watched", operator, "Paused", reason="ManualGate")
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
        failed = wait_for_phase(splits, namespace, "watched", operator, "Failed")
        assert failed["status"]["reason"] == "AlarmFired"
        assert alarm in failed["status"]["message"]
        assert live_weights(sandbox, ab_endpoint) == {BLUE: 100.0, GREEN: 0.0}
    finally:
        cloudwatch.delete_alarms(AlarmNames=[alarm])


def test_load_command_sends_bounded_traffic(
    user_env: dict[str, str], ab_endpoint: str, sandbox: Sandbox, one_second_metrics: None
) -> None:
    for name in (BLUE, GREEN):
        set_behaviour(sandbox, ab_endpoint, name, **HEALTHY)
    done = run_cli(["load", ab_endpoint, "--rps", "20", "--duration", "2", "-o", "json"], user_env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert 30 <= summary["sent"] <= 40
    assert summary["failed"] == 0
    assert set(summary["byVariant"]) == {BLUE, GREEN}


def test_load_command_goes_as_slow_as_asked(
    user_env: dict[str, str], ab_endpoint: str, sandbox: Sandbox, one_second_metrics: None
) -> None:
    """3 calls a minute for 30 s is two calls (one at once, one 20 s later), and a rate given
    twice is a usage error."""
    done = run_cli(
        ["load", ab_endpoint, "--per-minute", "3", "--duration", "30", "-o", "json"], user_env
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["sent"] == 2
    assert summary["elapsedSeconds"] >= 20
    twice = run_cli(
        ["load", ab_endpoint, "--rps", "1", "--per-minute", "3", "--duration", "1"], user_env
    )
    assert twice.returncode == 2
    assert "--rps or --per-minute" in twice.stderr


def test_promote_of_a_missing_split_is_a_user_error(
    user_env: dict[str, str], namespace: str
) -> None:
    done = run_cli(["promote", "nothing-here", "-n", namespace], user_env)
    assert done.returncode == 2
    assert done.stderr.startswith("error: no TrafficSplit nothing-here")
    assert "Traceback" not in done.stderr


def test_deadline_fires_while_the_endpoint_is_stuck_updating(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
) -> None:
    before = sandbox._admin("GET", "settings")
    sandbox.settings(updatingSeconds=25)
    try:
        steps = [{"setWeight": 20, "pause": {}}]
        splits.create(
            namespace,
            canary("slow", ab_endpoint, steps, skipAnalysis=True, progressDeadlineSeconds=10),
        )
        paused = wait_for_phase(
            splits, namespace, "slow", operator, "Paused", reason="EndpointNotReady", timeout=60
        )
        assert cluster.is_true(paused, "Stalled")
        assert "10s" in paused["status"]["message"]
        # Once SageMaker has finished, the canary goes on by itself.
        wait_for_phase(splits, namespace, "slow", operator, "Paused", reason="ManualGate")
        assert live_weights(sandbox, ab_endpoint) == {BLUE: 80.0, GREEN: 20.0}
    finally:
        sandbox.settings(updatingSeconds=before["updatingSeconds"])


def test_a_config_switch_during_a_canary_keeps_its_weights(
    ab_endpoint: str,
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    splits: cluster.Objects,
    model_endpoints: cluster.Objects,
    model_bucket: str,
) -> None:
    steps = [{"setWeight": 25, "pause": {}}]
    splits.create(namespace, canary("held", ab_endpoint, steps, skipAnalysis=True))
    wait_for_phase(splits, namespace, "held", operator, "Paused", reason="ManualGate")
    wait_for_condition(
        model_endpoints,
        namespace,
        ab_endpoint,
        "Ready",
        operator,
        also=lambda o: o["status"].get("weightsManagedBy") == "TrafficSplit/held",
    )
    before = model_endpoints.get(namespace, ab_endpoint)
    assert before is not None
    old_config = before["status"]["endpointConfigName"]
    model_endpoints.patch_spec(
        namespace,
        ab_endpoint,
        {"variants": [variant(BLUE, model_bucket, "v1"), variant(GREEN, model_bucket, "v3")]},
    )
    switched = wait_for_condition(
        model_endpoints,
        namespace,
        ab_endpoint,
        "Ready",
        operator,
        also=lambda o: o["status"].get("endpointConfigName") not in (None, old_config),
    )
    assert switched["status"]["endpointConfigName"] != old_config
    wait_for_resyncs(sandbox, ab_endpoint, operator, passes=3)
    assert live_weights(sandbox, ab_endpoint) == {BLUE: 75.0, GREEN: 25.0}
    held = splits.get(namespace, "held")
    assert held is not None
    assert held["status"]["phase"] == "Paused"
