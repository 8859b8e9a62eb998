"""The process pool for CPU work (parsing, extraction), with a time limit on every task.

trafilatura and lxml have no timeout of their own, and a hostile page can keep them busy for
minutes; a thread cannot be stopped, a process can. pebble's pool kills a worker whose task runs
past its time limit (or that dies: out of memory, a crash in C code) and starts a fresh one, so
one bad page costs one task, never the pool. Workers are also replaced after ``MAX_TASKS`` tasks,
so whatever a long-running daemon's libraries leak is given back.

Workers are forked from a fork server: a fresh interpreter (nothing of the daemon's threads or
sockets is inherited) that imports the parsers and the extractor once, so a new worker starts in
milliseconds, ready, and shares those modules' memory with its siblings instead of holding its
own copy. Where there is no fork server (not Linux or macOS), workers are spawned. On Linux each
worker asks the kernel to kill it when its parent dies; the fork server ends with the daemon, so
not even a ``kill -9`` of the daemon leaves a worker behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from aggregator.errors import TaskTimeout, WorkerDied

if TYPE_CHECKING:
    import pebble

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Tasks a worker runs before it is replaced by a fresh process.
MAX_TASKS = 1000
#: What the fork server imports before it forks workers: everything a task needs...
PRELOAD = (
    "aggregator.prepare",
    "aggregator.parse._xml",
    "aggregator.parse._jsonfeed",
    "aggregator.extract._main_text",
    "aggregator.extract._metadata",
    "aggregator._forkserver",
)
#: ...and all but the page extractor (trafilatura), for polls that read feeds only.
PRELOAD_FEEDS_ONLY = (*PRELOAD[:3], PRELOAD[-1])
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Pool initializer: on Linux, be killed when the process that started us dies."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """The fork server's context (its imports are those of the first pool to start it)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return context


class WorkerPool:
    """``workers`` processes (default: one per core)."""

    def __init__(self, workers: int | None = None, *, preload: Sequence[str] = PRELOAD) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._preload = preload
        self._pool: pebble.ProcessPool | None = None
        """Started by the first task: a poll whose feeds all answer 304 imports no pebble."""

    @property
    def workers(self) -> int:
        return self._workers

    def _start(self) -> pebble.ProcessPool:
        import pebble

        return pebble.ProcessPool(
            max_workers=self._workers,
            max_tasks=MAX_TASKS,
            initializer=_die_with_parent,
            context=_context(self._preload),
        )

    async def run(
        self, fn: Callable[P, T], timeout: float, /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(*args, **kwargs)`` in a worker; TaskTimeout after ``timeout`` seconds."""
        import pebble

        if self._pool is None:
            self._pool = self._start()
        try:
            future = self._pool.schedule(fn, args=args, kwargs=kwargs, timeout=timeout)
        except (BrokenProcessPool, RuntimeError) as exc:  # the pool is not running any more
            raise self._restart(exc) from exc
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError as exc:
            raise TaskTimeout(f"took longer than {timeout:g} s and was stopped") from exc
        except pebble.ProcessExpired as exc:
            raise WorkerDied(f"the worker process died (exit code {exc.exitcode})") from exc
        except BrokenProcessPool as exc:  # every worker died at once
            raise self._restart(exc) from exc

    def _restart(self, cause: Exception) -> WorkerDied:
        """Replace a broken pool with a new one, for the tasks that follow."""
        log.error("event=pool_restarted error=%r", str(cause))
        if self._pool is not None:
            self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool = self._start()
        return WorkerDied(f"the worker pool failed and was restarted: {cause}")

    def close(self) -> None:
        """Stop the workers (tasks still running are abandoned)."""
        if self._pool is None:
            return
        self._pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated
        self._pool.join(timeout=10)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
