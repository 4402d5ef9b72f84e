"""S3 (aws/s3.py), one fake for both of its users: the model files a multi-model endpoint can
load (ModelEndpoint), and the objects EdgeModel reads the version of and publishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.fake_aws import FakeAws


class RecordingS3:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def list_models(self, prefix_url: str, limit: int = 1000) -> list[str]:
        self.aws.record("ListObjectsV2", prefix_url)
        return sorted(self.aws.model_files.get(prefix_url, []))[:limit]

    def object_version(self, url: str) -> str | None:
        self.aws.record("HeadObject", url)
        return self.aws.source_versions.get(url)

    def delete(self, url: str) -> None:
        self.aws.record("DeleteObject", url)
        self.aws.objects.pop(url, None)

    def publish(self, url: str, body: bytes) -> bool:
        self.aws.record("HeadObject", url)
        if url in self.aws.objects:
            return False
        self.aws.record("PutObject", url)
        self.aws.objects[url] = body
        return True
