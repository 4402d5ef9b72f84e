"""The call log names S3's REST-XML operations, so faults and the IAM policy check see them."""

from __future__ import annotations

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
    named = [c["operation"] for c in sandbox.calls() if c["service"] == "s3"]
    assert named == [
        "CreateBucket",
        "PutObject",
        "HeadObject",
        "GetObject",
        "ListObjectsV2",
        "DeleteObject",
        "DeleteBucket",
    ]
