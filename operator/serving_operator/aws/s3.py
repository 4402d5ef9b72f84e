"""S3 adapter: what a multi-model endpoint can load."""

from __future__ import annotations

from typing import Any

from serving_operator.aws.base import ServiceAdapter


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
