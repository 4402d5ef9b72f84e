"""Fixtures of the end-to-end tier beyond the session's control plane, sandbox and operator
(tests/conftest.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support import controlplane
from tests.support.cli import isolated_env
from tests.support.sandbox import Sandbox


@pytest.fixture
def models(sandbox: Sandbox, fast_edge: None) -> str:
    """A bucket with a trained model in it (compiled output goes there too)."""
    s3 = sandbox.client("s3")
    bucket = f"edge-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="classifier/model.tar.gz", Body=b"trained model")
    return bucket


@pytest.fixture
def cli_env(
    tmp_path: Path, control_plane: controlplane.ControlPlane, sandbox: Sandbox
) -> dict[str, str]:
    return isolated_env(
        tmp_path,
        KUBECONFIG=str(control_plane.kubeconfig(controlplane.OPERATOR_USER)),
        **sandbox.env,
    )
