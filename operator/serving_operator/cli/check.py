"""`serving-operator check`: is everything in place for the operator? One line per check."""

from __future__ import annotations

import click
from rich.console import Console
from rich.markup import escape

from serving_operator import __version__
from serving_operator.cli.output import EXIT_FAILED, emit, output_option
from serving_operator.preflight.checks import run_checks
from serving_operator.preflight.edge import DEFAULT_ROLE_ALIAS
from serving_operator.preflight.results import CheckResult, Status

MARKS = {Status.OK: "[green]✓[/]", Status.FAILED: "[red]✗[/]", Status.SKIPPED: "[dim]-[/]"}


def line(result: CheckResult) -> str:
    """`✓ name: summary`, or `✗ name: summary; fix: ...` (rich markup)."""
    text = f"{MARKS[result.status]} {escape(result.name)}: {escape(result.summary)}"
    if result.fix:
        text += f"; [bold]fix:[/] {escape(result.fix)}"
    return text


@click.command()
@click.option(
    "--iam",
    is_flag=True,
    help="also simulate every AWS action the operator calls (iam:SimulatePrincipalPolicy)",
)
@click.option(
    "--peering",
    is_flag=True,
    help="also check the kopf peering permissions (for an operator run with --peering)",
)
@click.option(
    "--role-alias",
    default=DEFAULT_ROLE_ALIAS,
    show_default=True,
    help="the Greengrass token exchange role alias of the core devices (checked when"
    " EdgeModels exist: its role must be allowed s3:GetObject in their output buckets)",
)
@output_option()
def check(iam: bool, peering: bool, role_alias: str, output: str) -> int:
    """Check the Kubernetes API, CRDs, RBAC, AWS region and credentials before running, and,
    when EdgeModels exist, that Greengrass devices may download their artifacts.

    Exits 1 when any check fails; each failed line says how to fix it.
    """
    results = run_checks(iam=iam, peering=peering, role_alias=role_alias)
    ok = all(r.status is not Status.FAILED for r in results)

    def table(console: Console) -> None:
        for result in results:
            console.print(line(result))
        failures = sum(r.status is Status.FAILED for r in results)
        console.print(
            f"serving-operator {__version__}: "
            + ("all checks passed" if ok else f"{failures} check(s) failed")
        )

    emit({"ok": ok, "checks": [r.as_dict() for r in results]}, output, table)
    return 0 if ok else EXIT_FAILED
