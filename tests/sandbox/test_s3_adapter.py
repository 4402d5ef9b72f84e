"""The operator's S3 adapter against the sandbox's S3: the version of an EdgeModel's source
object, which names its compilation jobs once it changes (edge-fidelity L5)."""

from __future__ import annotations

import uuid

from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.s3 import S3
from tests.support.sandbox import Sandbox


def test_a_source_reads_as_its_etag_or_its_version_id_and_changes_with_an_upload(
    sandbox: Sandbox,
) -> None:
    client = sandbox.client("s3")
    adapter = S3(client, TokenBucket(1000, 1000))
    plain = f"plain-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=plain)
    url = f"s3://{plain}/model.tar.gz"
    assert adapter.object_version(url) is None  # no object: compile as before
    client.put_object(Bucket=plain, Key="model.tar.gz", Body=b"first model")
    first = adapter.object_version(url)
    assert first is not None
    assert first.startswith("etag:")
    assert adapter.object_version(url) == first
    client.put_object(Bucket=plain, Key="model.tar.gz", Body=b"retrained model")
    second = adapter.object_version(url)
    assert second is not None
    assert second != first

    versioned = f"versioned-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=versioned)
    client.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    put = client.put_object(Bucket=versioned, Key="model.tar.gz", Body=b"first model")
    url = f"s3://{versioned}/model.tar.gz"
    assert adapter.object_version(url) == f"version:{put['VersionId']}"
    # The same bytes uploaded again: a new VersionId, so a new compilation (S3 cannot tell).
    again = client.put_object(Bucket=versioned, Key="model.tar.gz", Body=b"first model")
    assert adapter.object_version(url) == f"version:{again['VersionId']}"
