"""EdgeModel end to end, compiling again without a spec change: the retry-compilation
annotation after a failed compilation, and a new model uploaded to the source's key."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.edge_support import annotate, compilation_jobs, reason, thing_group, wait_status
from tests.support import cluster
from tests.support.operator import OperatorProcess
from tests.support.sandbox import Sandbox
from tests.support.specs import edge_model

pytestmark = pytest.mark.e2e

RETRY = "serving.mlops.dev/retry-compilation"


def test_a_failed_compilation_is_retried_with_the_annotation(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, _ = thing_group(sandbox, "canary", 1)
    name = f"retry-{uuid.uuid4().hex[:6]}"
    # A failure that passes by itself on AWS's side (a quota, an outage): fails once here.
    sandbox._admin(
        "POST",
        "compilation-failures",
        {"namePattern": f"{name}-arm64-*", "reason": "InternalServerError: try again"},
    )
    edge_models.create(
        namespace, edge_model(name, models, [{"name": "canary", "thingGroups": [canary]}])
    )
    failed = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda o: cluster.is_true(o, "Stalled"),
        "Stalled on the failed compilation",
    )
    assert reason(failed, "Stalled") == "CompilationFailed"
    [target] = failed["status"]["targets"]
    failed_job = target["compilationJobName"]
    sandbox._admin("DELETE", "compilation-failures")

    annotate(edge_models, namespace, name, RETRY, "1")
    ready = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda o: cluster.is_true(o, "Ready"),
        "Ready after the retry",
        timeout=120,
    )
    [target] = ready["status"]["targets"]
    assert target["compilationJobName"] != failed_job
    assert target["compilationJobStatus"] == "COMPLETED"
    assert ready["status"]["consumedRetry"] == "1"
    assert ready["status"]["compilationRetries"] == [{"target": "arm64", "token": "1"}]
    described = sandbox.client("sagemaker").describe_compilation_job(CompilationJobName=failed_job)
    assert described["CompilationJobStatus"] == "FAILED"  # the failed job is left as it was


def test_a_new_upload_to_the_source_compiles_and_rolls_out_again(
    operator: OperatorProcess,
    sandbox: Sandbox,
    namespace: str,
    edge_models: cluster.Objects,
    models: str,
) -> None:
    canary, _ = thing_group(sandbox, "canary", 1)
    name = f"upload-{uuid.uuid4().hex[:6]}"
    edge_models.create(
        namespace, edge_model(name, models, [{"name": "canary", "thingGroups": [canary]}])
    )
    first = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda o: cluster.is_true(o, "Ready"),
        "Ready",
        timeout=120,
    )
    [before] = first["status"]["targets"]
    assert first["status"]["source"]["revision"] == 0
    jobs = compilation_jobs(sandbox)

    # A retrained model, uploaded to the same key: the spec does not change.
    sandbox.client("s3").put_object(
        Bucket=models, Key="classifier/model.tar.gz", Body=b"retrained model"
    )
    # The next pass comes at the operator's resync or rest recheck: nudge it with an
    # annotation the operator does not read, as a person's kubectl annotate would.
    annotate(edge_models, namespace, name, "example.com/nudge", "1")
    again = wait_status(
        edge_models,
        namespace,
        name,
        operator,
        lambda o: (
            cluster.is_true(o, "Ready")
            and o["status"]["targets"][0]["componentVersion"] != before["componentVersion"]
        ),
        "Ready with a new version",
        timeout=120,
    )
    [after] = again["status"]["targets"]
    assert again["status"]["source"]["revision"] == 1
    assert after["compilationJobName"] != before["compilationJobName"]
    assert after["compilationJobName"] in compilation_jobs(sandbox) - jobs
    assert tuple(int(p) for p in after["componentVersion"].split(".")) > tuple(
        int(p) for p in before["componentVersion"].split(".")
    )
