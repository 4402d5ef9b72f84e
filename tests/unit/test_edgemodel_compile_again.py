"""Compiling again without a spec change: a new upload to the source's key (edge-fidelity
L5) and the retry-compilation annotation for a failed target (L7)."""

from __future__ import annotations

from dataclasses import replace

from serving_operator.api.edgemodel import RETRY_COMPILATION_ANNOTATION
from serving_operator.planning.edgemodel.actions import CreateCompilationJob
from serving_operator.planning.edgemodel.desired import desired_edge_model
from serving_operator.planning.edgemodel.memory import Memory, SourceRecord, next_source
from serving_operator.planning.edgemodel.observed import CompilationStatus, ObservedCompilation
from serving_operator.planning.edgemodel.planner import plan_from_observation
from serving_operator.planning.outcome import OutcomeKind
from serving_operator.reconcile.edgemodel.reconciler import EdgeModelReconciler
from tests.unit.test_edgemodel_planner import actions, at, compiled, desired, memory_of, spec
from tests.unit.test_reconcile_edgemodel import (
    ROLLED_OUT,
    SPEC,
    _pass,
    _ready_to_roll_out,
    _rolled_out,
)

SOURCE = SPEC.source


def test_a_new_upload_to_the_source_compiles_every_target_again() -> None:
    aws = _ready_to_roll_out(source_versions={SOURCE: "etag:aaa"})
    memory = _rolled_out(aws)
    assert memory.source == SourceRecord(SOURCE, "etag:aaa", 0)
    jobs_before = {j for op, j in aws.calls if op == "CreateCompilationJob"}
    assert not jobs_before  # _ready_to_roll_out's jobs were there: the first read changed no name
    aws.source_versions[SOURCE] = "etag:bbb"  # someone uploaded a new model.tar.gz
    aws.calls.clear()
    result = _pass(aws, memory)
    created = [j for op, j in aws.calls if op == "CreateCompilationJob"]
    assert len(created) == len(SPEC.targets)
    assert result.outcome.reason != ROLLED_OUT
    assert result.memory.source == SourceRecord(SOURCE, "etag:bbb", 1)
    # The same object again: nothing new.
    again = _pass(aws, result.memory)
    assert again.memory.source == result.memory.source


def test_the_source_record_counts_changes_per_uri_and_keeps_it_when_unreadable() -> None:
    first = next_source(None, "s3://b/m.tar.gz", "etag:1")
    assert first == SourceRecord("s3://b/m.tar.gz", "etag:1", 0)
    assert next_source(first, "s3://b/m.tar.gz", "etag:1") == first
    assert next_source(first, "s3://b/m.tar.gz", "etag:2") == SourceRecord(
        "s3://b/m.tar.gz", "etag:2", 1
    )
    assert next_source(first, "s3://b/m.tar.gz", None) == first
    assert next_source(first, "s3://b/other.tar.gz", "etag:2") == SourceRecord(
        "s3://b/other.tar.gz", "etag:2", 0
    )
    # Revision 0 is today's job name: an operator upgrade compiles nothing again.
    plain = desired_edge_model(spec(), namespace="ml", name="classifier")
    revised = desired_edge_model(spec(), namespace="ml", name="classifier", source_revision=1)
    assert [t.job_name for t in plain.targets] == [t.job_name for t in desired().targets]
    assert all(
        a.job_name != b.job_name for a, b in zip(plain.targets, revised.targets, strict=True)
    )


def test_a_retry_token_compiles_only_the_failed_target_again() -> None:
    model = desired()
    nano = next(t for t in model.targets if t.name == "nano")
    observed = compiled(model)
    observed = replace(
        observed,
        compilations={
            **observed.compilations,
            nano.job_name: ObservedCompilation(
                nano.job_name, CompilationStatus.FAILED, failure_reason="quota"
            ),
        },
    )
    stalled = plan_from_observation(model, observed, Memory(), now=at(0.0), promotion=None)
    assert stalled.outcome.kind == OutcomeKind.STALLED
    # The annotation: recorded first, no job yet (write-ahead), Reconciling.
    asked = plan_from_observation(
        model, observed, memory_of(stalled), now=at(1.0), promotion=None, retry="1"
    )
    memory = memory_of(asked)
    assert (memory.retries, memory.consumed_retry) == ({"nano": "1"}, "1")
    assert actions(asked, CreateCompilationJob) == []
    assert asked.outcome.kind == OutcomeKind.PROGRESSING
    assert "nano" in asked.outcome.message
    # The next pass's model carries the token in nano's job name only: a new job for it.
    retried = desired_edge_model(
        spec(), namespace="ml", name="classifier", versions=memory.versions, retries=memory.retries
    )
    by_name = {t.name: t for t in retried.targets}
    assert by_name["nano"].job_name != nano.job_name
    assert by_name["arm"].job_name == next(t for t in model.targets if t.name == "arm").job_name
    plan = plan_from_observation(
        retried,
        replace(observed, compilations={**observed.compilations, by_name["nano"].job_name: None}),
        memory,
        now=at(2.0),
        promotion=None,
        retry="1",
    )
    assert [a.job_name for a in actions(plan, CreateCompilationJob)] == [by_name["nano"].job_name]
    # The same token again retries nothing more.
    assert memory_of(plan).retries == {"nano": "1"}


def test_the_shell_passes_the_annotation() -> None:
    aws = _ready_to_roll_out()
    model = desired_edge_model(SPEC, namespace="ml", name="classifier")
    nano = next(t for t in model.targets if t.name == "nano")
    aws.compilations[nano.job_name] = ObservedCompilation(
        nano.job_name, CompilationStatus.FAILED, failure_reason="quota"
    )
    reconciler = EdgeModelReconciler(aws.clients())
    memory = _pass(aws).memory
    first = reconciler.reconcile(
        SPEC,
        namespace="ml",
        name="classifier",
        memory=memory,
        annotations={RETRY_COMPILATION_ANNOTATION: "x"},
        now=at(1001.0),
    )
    assert first.memory.retries == {"nano": "x"}
    second = reconciler.reconcile(
        SPEC,
        namespace="ml",
        name="classifier",
        memory=first.memory,
        annotations={RETRY_COMPILATION_ANNOTATION: "x"},
        now=at(1002.0),
    )
    assert [type(a).__name__ for a in second.executed].count("CreateCompilationJob") == 1
