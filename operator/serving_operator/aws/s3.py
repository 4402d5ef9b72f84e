"""S3 adapter: what a multi-model endpoint can load, and the objects EdgeModel publishes."""

from __future__ import annotations

from typing import Any

from serving_operator.aws.base import AwsError, ServiceAdapter


class S3(ServiceAdapter):
    service = "s3"

    def list_models(self, prefix_url: str, limit: int = 1000) -> list[str]:
        """Object names under an s3://bucket/prefix/ URI, relative to the prefix (first `limit`)."""
        bucket, _, prefix = prefix_url.removeprefix("s3://").partition("/")
        names: list[str] = []
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while len(names) < limit:
            page = self.call("ListObjectsV2", **params)
            names += [o["Key"][len(prefix) :] for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                break
            params["ContinuationToken"] = page["NextContinuationToken"]
        return sorted(n for n in names[:limit] if n and not n.endswith("/"))

    def exists(self, url: str) -> bool:
        """Whether s3://bucket/key exists (HeadObject; a missing key answers 404)."""
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            self.call("HeadObject", Bucket=bucket, Key=key)
        except AwsError as error:
            # HeadObject has no body, so a missing key is only its status: 404 ("NotFound"),
            # or 403 without s3:ListBucket on the bucket (S3 API reference, HeadObject).
            if error.http_status == 404:
                return False
            raise
        return True

    def object_version(self, url: str) -> str | None:
        """The object's VersionId in a versioned bucket, else its ETag (HeadObject); None when
        there is none or it cannot be read. An EdgeModel's source is read by Neo's role, not
        the operator's: without s3:GetObject on it (403) the operator cannot tell a new
        upload, and compiles as before rather than stall."""
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            head = self.call("HeadObject", Bucket=bucket, Key=key)
        except AwsError as error:
            if error.http_status in (403, 404):
                return None
            raise
        version = head.get("VersionId")
        if version and version != "null":  # "null": written before versioning was enabled
            return f"version:{version}"
        etag = head.get("ETag")
        return f"etag:{etag.strip(chr(34))}" if etag else None

    def publish(self, url: str, body: bytes) -> bool:
        """Put `body` at s3://bucket/key unless the key exists (content-addressed keys: an
        object there already holds this body). True when it was put."""
        if self.exists(url):
            return False
        bucket, _, key = url.removeprefix("s3://").partition("/")
        self.call("PutObject", Bucket=bucket, Key=key, Body=body)
        return True
