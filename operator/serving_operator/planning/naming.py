"""Deterministic, content-addressed names for immutable SageMaker objects.

SageMaker models and endpoint configs cannot be changed once created. Naming them by a
hash of their content means a retry finds what the last attempt made, equal content is
never created twice, and a changed spec always gets a fresh object.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

HASH_LENGTH = 10
MAX_NAME_LENGTH = 63
_PREFIX_LENGTH = MAX_NAME_LENGTH - HASH_LENGTH - 1


def content_hash(content: Any) -> str:
    """A short, stable hash of JSON-serialisable content (key order does not matter)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def name_prefix(endpoint_name: str) -> str:
    """The part of a child's name that ties it to its endpoint (trailing hyphens trimmed)."""
    return endpoint_name[:_PREFIX_LENGTH].rstrip("-")


def hashed_name(endpoint_name: str, content: Any) -> str:
    return f"{name_prefix(endpoint_name)}-{content_hash(content)}"


def is_hashed_child_name(name: str, endpoint_name: str) -> bool:
    """Whether `name` has the shape `hashed_name(endpoint_name, ...)` gives."""
    prefix = name_prefix(endpoint_name) + "-"
    suffix = name[len(prefix) :]
    return (
        name.startswith(prefix)
        and len(suffix) == HASH_LENGTH
        and all(c in "0123456789abcdef" for c in suffix)
    )
