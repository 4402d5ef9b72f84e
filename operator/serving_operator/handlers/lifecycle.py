"""Operator start-up and shut-down: settings, AWS clients, metrics, probes."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import kopf

from serving_operator.api import GROUP
from serving_operator.aws.autoscaling import ApplicationAutoScaling
from serving_operator.aws.base import CLIENT_CONFIG
from serving_operator.aws.ratelimit import TokenBucket
from serving_operator.aws.runtime import SageMakerRuntime
from serving_operator.aws.s3 import S3
from serving_operator.aws.sagemaker import SageMaker
from serving_operator.config import OperatorConfig
from serving_operator.reconcile.modelendpoint import Clients


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config = OperatorConfig.from_env()
    # Keep kopf's bookkeeping in annotations under our group, so status is only ours.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.execution.max_workers = config.workers

    session = boto3.session.Session()
    limiter = TokenBucket(config.aws_calls_per_second, config.aws_burst)
    memo.config = config
    memo.aws = Clients(
        sagemaker=SageMaker(session.client("sagemaker", config=CLIENT_CONFIG), limiter),
        autoscaling=ApplicationAutoScaling(
            session.client("application-autoscaling", config=CLIENT_CONFIG), limiter
        ),
        s3=S3(session.client("s3", config=CLIENT_CONFIG), limiter),
        runtime=SageMakerRuntime(
            session.client("sagemaker-runtime", config=CLIENT_CONFIG), limiter
        ),
    )
    memo.executor = ThreadPoolExecutor(config.workers, thread_name_prefix="aws")


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    executor = memo.get("executor")
    if isinstance(executor, ThreadPoolExecutor):
        executor.shutdown(wait=False, cancel_futures=True)


@kopf.on.probe(id="aws")
async def aws_clients_ready(memo: kopf.Memo, **_: Any) -> bool:
    """Reported on the liveness endpoint: the operator has built its AWS clients."""
    return "aws" in memo
