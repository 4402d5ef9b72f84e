"""Reading and writing objects in moto's S3 by s3:// URI, for the edge overlays."""

from __future__ import annotations

from typing import Any

from moto.backends import get_backend


def split_uri(uri: str) -> tuple[str, str]:
    """The bucket and key of an s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _backend(account: str) -> Any:
    return get_backend("s3")[account]["aws"]


def read_object(account: str, uri: str) -> bytes | None:
    """The object's bytes, or None if the bucket or the key is not there."""
    bucket_name, key = split_uri(uri)
    bucket = _backend(account).buckets.get(bucket_name)
    if bucket is None or not key:
        return None
    stored = bucket.keys.get(key)
    if stored is None:
        return None
    value: bytes = stored.value
    return value


def bucket_region(account: str, uri: str) -> str | None:
    """The Region of the URI's bucket, or None if there is no such bucket."""
    bucket = _backend(account).buckets.get(split_uri(uri)[0])
    return None if bucket is None else str(bucket.region_name)


def has_bucket(account: str, uri: str) -> bool:
    return split_uri(uri)[0] in _backend(account).buckets


def write_object(account: str, uri: str, body: bytes) -> None:
    bucket_name, key = split_uri(uri)
    _backend(account).put_object(bucket_name, key, body)
