"""`serving-operator run`: check what cannot be waited out, then hand over to kopf."""

from __future__ import annotations

import ctypes
import getpass
import logging
import os
import random
import re
import socket
import threading
import urllib.parse
from typing import Any

import click

from serving_operator.cli.output import EXIT_FAILED, UserError

logger = logging.getLogger("serving_operator.startup")

DEFAULT_LIVENESS = "http://0.0.0.0:8081/healthz"
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
# glibc's mallopt parameter number for M_MMAP_THRESHOLD (malloc.h).
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 128 * 1024


class _QuietTimers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Timer ") and message.endswith(" succeeded."))


def peering_priority(priority: int | None, peering: str | None) -> int | None:
    """With peering, replicas of equal priority all pause (kopf's rule): unless told,
    each replica draws its own, so exactly one is active and the others stand by."""
    if priority is not None or peering is None:
        return priority
    return random.SystemRandom().randint(1, 2**31 - 1)


def peering_identity() -> str:
    """This replica's name among its peers, as kopf makes it, but without kopf's
    getpass.getuser(), which fails for a uid with no passwd entry (an image's user, an
    OpenShift-assigned uid): POD_ID when the chart sets it, else user@host/pid.

    kopf types the parameter with a NewType of str it does not export."""
    pod = os.environ.get("POD_ID")
    if pod:
        return pod
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}/{os.getpid()}"


def return_freed_buffers_to_the_os() -> bool:
    """Keep glibc's mmap threshold at its 128 KiB default; False where there is no glibc.

    kopf opens a TLS connection to the apiserver per concurrent request, and asyncio gives
    each a 256 KiB read buffer: a burst (hundreds of resources applied at once) opens
    hundreds. glibc's threshold adapts upwards once such a buffer is freed, so later ones
    come from the heap, and the heap keeps them when the burst is over (bench/bench_scale.py
    saw ~80 MiB more RSS at rest after 300 creates). Fixed, they stay mmapped and go back to
    the OS as the idle connections close."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES))


def exact_namespace(pattern: str) -> bool:
    """A namespace name (a DNS label) rather than a kopf pattern (globs, negations, lists)."""
    return re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", pattern) is not None


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_port_free(host: str, port: int, flag: str) -> None:
    """Fail with the flag to change, instead of kopf's traceback deep in its event loop."""
    with socket.socket() as sock:
        # As aiohttp binds: a port in TIME_WAIT from a previous run is not "taken".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            raise UserError(
                f"port {port} on {host} is taken ({error.strerror}), perhaps by another"
                f" operator: pass {flag} 0 for a free port, or another port"
            ) from error


def liveness_url(liveness: str, liveness_port: int | None) -> str:
    """The liveness endpoint: --liveness, with --liveness-port (0: any free port) applied."""
    if not liveness:
        return ""
    parts = urllib.parse.urlsplit(liveness)
    if parts.scheme != "http" or not parts.hostname:
        raise UserError(f"--liveness must be an http:// URL, not {liveness!r}")
    host = parts.hostname
    port = parts.port or 80 if liveness_port is None else liveness_port
    if port == 0:
        port = free_port(host)
    ensure_port_free(host, port, "--liveness-port")
    return urllib.parse.urlunsplit((parts.scheme, f"{host}:{port}", parts.path, "", ""))


class AwsWatch:
    """Waits for AWS to answer, with backoff, saying so once: not a reason to stop the operator.

    Until STS answers, the `awsReachable` probe on the liveness endpoint reads false.
    """

    def __init__(self) -> None:
        self.reachable = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="aws-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        from serving_operator.aws.base import AwsError
        from serving_operator.preflight.aws import caller_identity, credentials_problem

        delay, told = BACKOFF_FIRST_SECONDS, False
        while not self._stop.is_set():
            try:
                identity = caller_identity()
            except AwsError as error:
                if not told:
                    problem, fix = credentials_problem(error)
                    logger.warning(
                        "AWS: %s (fix: %s). The operator runs on: readiness stays false and it"
                        " retries with backoff up to every %.0f s.",
                        problem,
                        fix,
                        BACKOFF_MAX_SECONDS,
                    )
                    told = True
                self._stop.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_SECONDS)
                continue
            self.reachable = True
            logger.info(
                "AWS %sanswers: account %s, %s",
                "now " if told else "",
                identity.account,
                identity.arn,
            )
            return


@click.command()
@click.option(
    "-n",
    "--namespace",
    multiple=True,
    help="watch only this namespace (repeatable; glob patterns allowed); default: all",
)
@click.option(
    "-l",
    "--selector",
    default="",
    envvar="SERVING_OPERATOR_SELECTOR",
    help="handle only resources whose labels match, as kubectl -l takes it"
    " ('shard=a', 'shard in (a,b)', '!legacy'): one operator per shard; default: all"
    " [env: SERVING_OPERATOR_SELECTOR]",
)
@click.option("--standalone", is_flag=True, help="run without kopf peering")
@click.option(
    "--peering",
    default=None,
    help="kopf peering object name, for active/standby replicas (needs the peering CRDs)",
)
@click.option(
    "--priority",
    type=int,
    default=None,
    help="kopf peering priority: the highest live one is active (default: random)",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    envvar="SERVING_OPERATOR_METRICS_PORT",
    help="Prometheus metrics port; 0 disables metrics [env: SERVING_OPERATOR_METRICS_PORT]",
)
@click.option("--metrics-address", default="0.0.0.0", show_default=True)
@click.option(
    "--liveness",
    default=DEFAULT_LIVENESS,
    show_default=True,
    help="kopf liveness endpoint URL; empty disables it",
)
@click.option(
    "--liveness-port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar="SERVING_OPERATOR_LIVENESS_PORT",
    help="the liveness endpoint's port (0: any free port, logged at start)"
    " [env: SERVING_OPERATOR_LIVENESS_PORT]",
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
@click.option("-v", "--verbose", is_flag=True)
def run(
    namespace: tuple[str, ...],
    selector: str,
    standalone: bool,
    peering: str | None,
    priority: int | None,
    metrics_port: int,
    metrics_address: str,
    liveness: str,
    liveness_port: int | None,
    log_format: str,
    verbose: bool,
) -> int:
    """Run the operator against the current kubeconfig (or the pod's service account).

    Stops at once, with the fix, when there is no AWS region, no way into Kubernetes, or
    the CRDs are missing or not this version's; waits out AWS being unreachable.
    """
    from serving_operator.preflight.checks import fatal_startup_problems

    check_settings(selector)
    problems = fatal_startup_problems()
    if problems:
        for problem in problems:
            click.echo(f"error: {problem.summary}; fix: {problem.fix}", err=True)
        return EXIT_FAILED
    probe_url = liveness_url(liveness, liveness_port)
    return _run_kopf(
        namespaces=namespace,
        standalone=standalone,
        peering=peering,
        priority=priority,
        metrics_port=metrics_port,
        metrics_address=metrics_address,
        liveness=probe_url,
        log_format=log_format,
        verbose=verbose,
    )


def check_settings(selector: str) -> None:
    """Refuse a bad --selector or SERVING_OPERATOR_* value before anything starts.

    The handlers are registered, with their label filter, when their modules are imported;
    they read the selector from the environment like every other setting."""
    from serving_operator.config import OperatorConfig
    from serving_operator.labelselector import SelectorError, parse_selector

    try:
        parse_selector(selector)
    except SelectorError as error:
        raise UserError(f"--selector {selector!r}: {error}") from error
    os.environ["SERVING_OPERATOR_SELECTOR"] = selector
    try:
        OperatorConfig.from_env()
    except ValueError as error:
        raise UserError(str(error)) from error


def _run_kopf(
    *,
    namespaces: tuple[str, ...],
    standalone: bool,
    peering: str | None,
    priority: int | None,
    metrics_port: int,
    metrics_address: str,
    liveness: str,
    log_format: str,
    verbose: bool,
) -> int:
    import kopf

    # Importing the handler modules registers them with kopf.
    import serving_operator.handlers.lifecycle  # noqa: F401
    from serving_operator.cli.probes import (
        READY_PATH,
        Readiness,
        list_paths,
        metrics_and_readiness_app,
        serve,
    )

    # kopf's formatters put the resource (namespace/name) on every line about it; JSON
    # gives one structured record per line for log pipelines.
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.FULL,
        log_prefix=True,
    )
    if not verbose:
        # The resync timer fires every poll interval for every resource; its routine
        # "succeeded" lines would drown the log. Errors and our own messages still show.
        logging.getLogger("kopf.objects").addFilter(_QuietTimers())
    exact = bool(namespaces) and all(exact_namespace(n) for n in namespaces)
    # Patterns: the cluster-wide list is what kopf's watch of the matching namespaces needs.
    readiness = Readiness(list_paths(namespaces if exact else ()))
    if metrics_port:
        try:
            serve(metrics_port, metrics_address, metrics_and_readiness_app(readiness))
        except OSError as error:
            raise UserError(
                f"cannot serve metrics on {metrics_address}:{metrics_port} ({error.strerror}):"
                " pass --metrics-port with a free port, or 0 to turn metrics off"
            ) from error
        logger.info(
            "Metrics on http://%s:%d/metrics, readiness on %s",
            metrics_address,
            metrics_port,
            READY_PATH,
        )
    if liveness:
        logger.info("Liveness (and the awsReachable probe) on %s", liveness)

    return_freed_buffers_to_the_os()
    watch = AwsWatch()

    @kopf.on.probe(id="awsReachable")
    def aws_reachable(**_: Any) -> bool:
        return watch.reachable

    settings = kopf.OperatorSettings()
    if exact:
        # Exact namespaces need no cluster-wide namespace listing, which a namespaced
        # install may not grant: kopf would retry the forbidden listing (without end, with
        # the operator's API backoff) instead of serving the namespaces it was given.
        settings.scanning.disabled = True
    watch.start()
    try:
        kopf.run(
            clusterwide=not namespaces,
            namespaces=namespaces,
            settings=settings,
            standalone=standalone,
            peering_name=peering,
            priority=peering_priority(priority, peering),
            liveness_endpoint=liveness or None,
            identity=peering_identity(),  # type: ignore[arg-type]
            ready_flag=readiness.started,
        )
    finally:
        watch.stop()
    return 0
