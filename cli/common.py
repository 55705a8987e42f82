"""What both console scripts share: one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import os
import sys

import click

#: Exit status for user errors (bad input, bad arguments), as click uses for usage errors.
EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def run(group: click.Group, prog: str, argv: list[str] | None = None) -> None:
    """Run a click group; every error becomes one line ``PROG: error: ...`` on stderr.

    Set ``EVM_DEBUG=1`` to get the Python traceback of an unexpected error.
    """
    from evm.io import VideoError

    try:
        rv = group.main(args=argv, prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(f"{prog}: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        click.echo(f"{prog}: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (VideoError, ValueError, OSError) as exc:
        if os.environ.get("EVM_DEBUG"):
            raise
        click.echo(f"{prog}: error: {_one_line(exc)}", err=True)
        sys.exit(EXIT_FAILED)
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        if os.environ.get("EVM_DEBUG"):
            raise
        click.echo(
            f"{prog}: internal error: {type(exc).__name__}: {_one_line(exc)} (EVM_DEBUG=1 shows a traceback)",
            err=True,
        )
        sys.exit(3)
    sys.exit(rv if isinstance(rv, int) else 0)


def show_progress(quiet: bool) -> bool:
    """Progress bars only on an interactive terminal: in logs they are noise."""
    return not quiet and sys.stderr.isatty()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split()) or type(exc).__name__
