"""What both console scripts share: one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click

#: Exit status for user errors (bad input, bad arguments), as click uses for usage errors.
EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP) turned into an exception.

    It unwinds like Ctrl-C, so every ``finally`` and context manager on the way (atomic outputs,
    batch workers) removes the interrupted item's partial output and keeps finished work.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(exc: BaseException) -> int:
    """The conventional status of a process ended by ``exc``: 128 + the signal number."""
    return 128 + exc.signum if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def _raise_terminated(signum: int, frame) -> None:
    # Later signals are ignored while the first one unwinds: a second Ctrl-C or kill must not
    # cut the clean-up (removal of partial files) short. SIGKILL still ends the process.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def handle_signals() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into exceptions in this (main) thread; see :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup'ed runs keep ignoring SIGHUP
            signal.signal(sig, _raise_terminated)


def run(group: click.Group, prog: str, argv: list[str] | None = None) -> None:
    """Run a click group; every error becomes one line ``PROG: error: ...`` on stderr.

    Set ``EVM_DEBUG=1`` to get the Python traceback of an unexpected error.
    """
    from evm.io import VideoError

    handle_signals()
    try:
        rv = group.main(args=argv, prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        # click turns a KeyboardInterrupt (and so a Terminated) raised in a command into Abort.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            _interrupted(prog, cause)
        click.echo(f"{prog}: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt as exc:
        _interrupted(prog, exc)
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


def _interrupted(prog: str, exc: KeyboardInterrupt) -> None:
    what = f"terminated ({exc.args[0]})" if isinstance(exc, Terminated) else "interrupted"
    click.echo(f"{prog}: {what}; finished work kept, the unfinished output removed", err=True)
    sys.exit(exit_status(exc))


def show_progress(quiet: bool) -> bool:
    """Progress bars only on an interactive terminal: in logs they are noise."""
    return not quiet and sys.stderr.isatty()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split()) or type(exc).__name__
