"""The command line: parse arguments, call the library, render with rich (or --json).

One module a group of commands; importing them registers them on the ``cli`` group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from aggregator._malloc import fewer_arenas
from aggregator.cli import (  # noqa: F401 (importing a module registers its commands)
    _archive,
    _feeds,
    _poll,
    _search,
    _shell,
    _status,
)
from aggregator.cli._app import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``aggregator`` command.

    When a command returns, its work is committed and its files are closed: the process then
    ends at once, its output flushed, rather than tearing down the ~400 modules it imported
    (30-50 ms, a tenth of a poll where every feed answers 304). It ends the usual way when
    child processes are still running (the worker pool's, being reaped) and under a tracer
    or profiler (coverage, cProfile), so that they can finish.
    """
    fewer_arenas()
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="aggregator")
    except SystemExit as exc:  # click always ends this way in standalone mode
        if sys.gettrace() is not None or sys.getprofile() is not None or _has_children():
            raise
        _exit_now(_status_of(exc))
    raise AssertionError("click returned without an exit status")  # pragma: no cover


def _has_children() -> bool:
    """Whether a child process is still running (those that ended are reaped on the way)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def _status_of(exc: SystemExit) -> int:
    """The exit status ``SystemExit`` stands for (a message is printed, status 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _exit_now(status: int) -> NoReturn:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that left (`| head`)
            stream.flush()
    os._exit(status)
