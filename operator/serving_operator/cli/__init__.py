"""The `serving-operator` command: built on click, printed with rich.

User errors (bad flags, missing files, a missing extra) are one line on stderr with exit code
2, never a traceback; set SERVING_OPERATOR_TRACEBACK=1 to see one for an unexpected error.
"""

from __future__ import annotations

import os
import sys

import click

from serving_operator import __version__
from serving_operator.cli.check import check
from serving_operator.cli.commands import completion, crds, iam_policy, invoke, sandbox, version
from serving_operator.cli.edge import edge_status
from serving_operator.cli.output import EXIT_FAILED, EXIT_USAGE
from serving_operator.cli.run import run
from serving_operator.cli.trafficsplit import abort, compare, load, promote, retry

PROG = "serving-operator"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name=PROG, message="%(version)s")
def cli() -> None:
    """Kubernetes operator for SageMaker endpoints, traffic splits and edge models.

    Start with `serving-operator check`.
    """


for command in (
    run,
    check,
    crds,
    sandbox,
    invoke,
    load,
    promote,
    abort,
    retry,
    compare,
    edge_status,
    version,
    completion,
    iam_policy,
):
    cli.add_command(command)


def _usage_line(error: click.UsageError) -> str:
    """click's usage error as one line, with where to find help."""
    message = error.format_message().replace("\n", " ")
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    path = error.ctx.command_path if error.ctx else PROG
    return f"error: {message} (see `{path} --help`)"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    try:
        result = cli.main(args=argv, prog_name=PROG, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as bare:
        bare.show()  # no command: the help, as a whole
        return EXIT_USAGE
    except click.UsageError as error:
        click.echo(_usage_line(error), err=True)
        return EXIT_USAGE
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if os.environ.get("SERVING_OPERATOR_TRACEBACK"):
            raise
        first_line = (str(error).splitlines() or [""])[0]
        click.echo(
            f"error: {type(error).__name__}: {first_line}"
            " (a bug: set SERVING_OPERATOR_TRACEBACK=1 for the traceback and report it)",
            err=True,
        )
        return EXIT_FAILED
    # --help and --version finish without a command's return value.
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
