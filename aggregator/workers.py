"""The process pool for CPU work (parsing, extraction), with a time limit on every task.

trafilatura and lxml have no timeout of their own, and a hostile page can keep them busy for
minutes; a thread cannot be stopped, a process can. pebble's pool kills a worker whose task runs
past its time limit (or that dies: out of memory, a crash in C code) and starts a fresh one, so
one bad page costs one task, never the pool. Workers are also replaced after ``MAX_TASKS`` tasks,
so whatever a long-running daemon's libraries leak is given back.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import TimeoutError
from typing import ParamSpec, TypeVar

import pebble

from aggregator.errors import TaskTimeout, WorkerDied

P = ParamSpec("P")
T = TypeVar("T")

#: Tasks a worker runs before it is replaced by a fresh process.
MAX_TASKS = 1000


class WorkerPool:
    """``workers`` processes (default: one per core), started with forkserver."""

    def __init__(self, workers: int | None = None) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["aggregator.pipeline"])
        self._pool = pebble.ProcessPool(
            max_workers=workers or os.cpu_count() or 1, max_tasks=MAX_TASKS, context=context
        )

    async def run(
        self, fn: Callable[P, T], timeout: float, /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(*args, **kwargs)`` in a worker; TaskTimeout after ``timeout`` seconds."""
        future = self._pool.schedule(fn, args=args, kwargs=kwargs, timeout=timeout)
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError as exc:
            raise TaskTimeout(f"took longer than {timeout:g} s and was stopped") from exc
        except pebble.ProcessExpired as exc:
            raise WorkerDied(f"the worker process died (exit code {exc.exitcode})") from exc

    def close(self) -> None:
        """Stop the workers (tasks still running are abandoned)."""
        self._pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated
        self._pool.join(timeout=10)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
