"""Operator start-up and shut-down: settings, kinds, AWS clients, probes."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from serving_operator.api import GROUP
from serving_operator.aws.clients import build_clients
from serving_operator.aws.ratelimit import ServiceLimits
from serving_operator.config import OperatorConfig
from serving_operator.handlers import (
    driver,
    edgemodel,
    indexes,
    inferencecomponent,
    modelendpoint,
    trafficsplit,
)
from serving_operator.handlers.api_retries import EndlessBackoff
from serving_operator.handlers.sharding import finalizer_for

logger = logging.getLogger("serving_operator.startup")

# Timer intervals are fixed when handlers are registered, so read the config now.
CONFIG = OperatorConfig.from_env()
CONTROLLERS = (
    modelendpoint.CONTROLLER,
    trafficsplit.CONTROLLER,
    edgemodel.CONTROLLER,
    inferencecomponent.CONTROLLER,
)
indexes.register(CONFIG.selector)
indexes.register_components(CONFIG.selector)
for _controller in CONTROLLERS:
    driver.register(_controller, CONFIG)


# How often kopf looks again whether an object's timer has finished, once the object is
# being deleted: its finalizer stays until the timer's pass (AWS calls on a worker thread,
# which cannot be cancelled) returns. kopf's default is 60 s, so a deletion that arrived
# during a pass left the resource Terminating for a minute after the pass had ended.
TIMER_EXIT_POLL_SECONDS = 1.0


def tune_kopf(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    """kopf's settings for this operator (the start-up handler applies them)."""
    # Keep kopf's bookkeeping in annotations under our group, so status is only ours.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # Each shard its own finalizer: kopf strips its finalizer from objects it does not handle.
    settings.persistence.finalizer = finalizer_for(config.selector)
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.networking.error_backoffs = EndlessBackoff()
    # kopf's default is 60 s; a standby takes over a replica that died without leaving
    # only once its record expires (config.py explains the choice).
    settings.peering.lifetime = config.peering_lifetime_seconds
    settings.execution.max_workers = config.workers
    settings.background.cancellation_polling = TIMER_EXIT_POLL_SECONDS


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    tune_kopf(settings, CONFIG)
    memo.config = CONFIG
    limits = ServiceLimits(CONFIG.aws_rates, CONFIG.aws_overall_rate)
    logger.info("AWS client-side rate limits (calls/s / burst): %s", limits.describe())
    if not CONFIG.selector.empty:
        logger.info(
            "Shard: handling only resources whose labels match %r (finalizer %s)",
            str(CONFIG.selector),
            settings.persistence.finalizer,
        )
    memo.aws = build_clients(limits)
    memo.executor = ThreadPoolExecutor(CONFIG.workers, thread_name_prefix="aws")


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    executor = memo.get("executor")
    if isinstance(executor, ThreadPoolExecutor):
        executor.shutdown(wait=False, cancel_futures=True)


@kopf.on.probe(id="aws")
async def aws_clients_ready(memo: kopf.Memo, **_: Any) -> bool:
    """Reported on the liveness endpoint: the operator has built its bundle of AWS adapters
    (each boto3 client under it is made when a resource first needs it)."""
    return "aws" in memo
