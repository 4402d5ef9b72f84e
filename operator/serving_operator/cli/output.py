"""How the CLI speaks: data as a table, JSON or YAML; user errors as one line on stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

import click
import yaml
from rich.console import Console

OUTPUT_FORMATS = ("table", "json", "yaml")

# Exit codes: 1 when something checked or called failed, 2 when the command line or the local
# set-up is wrong (a flag, a missing file, a missing extra): fix it and run again.
EXIT_FAILED = 1
EXIT_USAGE = 2


class UserError(click.ClickException):
    """A mistake the user can fix: printed as one line, exit code 2, no traceback."""

    exit_code = EXIT_USAGE

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


def output_option(default: str = "table") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(OUTPUT_FORMATS),
        default=default,
        show_default=True,
        help="how to print the result",
    )


def stdout() -> Console:
    # highlight=False: rich would otherwise colour numbers and paths in plain sentences.
    return Console(highlight=False, soft_wrap=True)


def emit(data: Any, output: str, table: Callable[[Console], None]) -> None:
    """Print `data` as JSON or YAML, or call `table` to draw it for people."""
    if output == "json":
        click.echo(json.dumps(data, indent=2, default=str))
    elif output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
    else:
        table(stdout())
