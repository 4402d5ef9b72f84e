"""The call log names S3's REST-XML operations, so faults and the IAM policy check see them."""

from __future__ import annotations

from serving_operator.aws.base import CLIENT_CONFIG
from tests.support.sandbox import Sandbox


def test_common_s3_operations_are_named(sandbox: Sandbox) -> None:
    s3 = sandbox.client("s3")
    bucket = "call-names"
    sandbox.forget_calls()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/model.tar.gz", Body=b"m")
    s3.head_object(Bucket=bucket, Key="a/model.tar.gz")
    s3.get_object(Bucket=bucket, Key="a/model.tar.gz")["Body"].read()
    s3.list_objects_v2(Bucket=bucket, Prefix="a/")
    s3.delete_object(Bucket=bucket, Key="a/model.tar.gz")
    s3.delete_bucket(Bucket=bucket)
    # The operator may share this sandbox: its EdgeModels read their sources' revisions.
    named = [
        c["operation"] for c in sandbox.calls() if c["service"] == "s3" and not c.get("byOperator")
    ]
    assert named == [
        "CreateBucket",
        "PutObject",
        "HeadObject",
        "GetObject",
        "ListObjectsV2",
        "DeleteObject",
        "DeleteBucket",
    ]


def test_the_operators_own_calls_are_marked(sandbox: Sandbox) -> None:
    """What lets a test sharing the sandbox with a running operator leave its calls out."""
    ours = sandbox.client("s3")
    theirs = sandbox.client("s3", CLIENT_CONFIG)  # the operator's clients' configuration
    ours.create_bucket(Bucket="marked")
    sandbox.forget_calls()
    ours.list_objects_v2(Bucket="marked")
    theirs.list_objects_v2(Bucket="marked")  # a call the operator makes (multi-model)
    marks = [c.get("byOperator", False) for c in sandbox.calls() if c["service"] == "s3"]
    ours.delete_bucket(Bucket="marked")
    assert marks == [False, True]
