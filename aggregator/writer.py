"""The store's own thread, shared by the pipeline and the daemon: one writer, calls in order.

Calls that queue up while the thread is busy run next, together, in one transaction
(``Store.run_together``: each in a savepoint, so one that fails costs only itself). A busy poll's
feeds then share commits: a commit writes out every index page its transaction touched, and
many small ones cost more than the work they commit.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar, cast

from aggregator.store import Outcome, Store

P = ParamSpec("P")
T = TypeVar("T")

#: Calls in one transaction, at most (a bound on how long the first of them waits).
TOGETHER = 64


@dataclass(frozen=True, slots=True)
class _Call:
    run: Callable[[], object]
    done: asyncio.Future[object]
    alone: bool


class Writer:
    """Runs ``store`` calls on one thread, in the order they were asked for."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aggregator-db")
        self._queue: list[_Call] = []
        self._busy = False

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the store's thread, perhaps in a transaction shared with
        other calls (so ``fn`` must not need to be outside one)."""
        return await self._call(functools.partial(fn, *args, **kwargs), alone=False)

    async def alone(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the store's thread, outside any transaction (maintenance:
        a WAL checkpoint cannot run inside one)."""
        return await self._call(functools.partial(fn, *args, **kwargs), alone=True)

    def close(self) -> None:
        """Wait for the thread: a transaction in flight commits or rolls back."""
        self._thread.shutdown(wait=True)

    async def _call(self, run: Callable[[], T], *, alone: bool) -> T:
        loop = asyncio.get_running_loop()
        call = _Call(run, loop.create_future(), alone)
        self._queue.append(call)
        if not self._busy:
            self._next(loop)
        return cast(T, await call.done)

    def _next(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._queue[0].alone:
            count = 1
        else:
            count = next(
                (i for i, call in enumerate(self._queue[:TOGETHER]) if call.alone),
                min(len(self._queue), TOGETHER),
            )
        batch, self._queue = self._queue[:count], self._queue[count:]
        self._busy = True
        if batch[0].alone:
            ran = loop.run_in_executor(self._thread, lambda: [Outcome.of(batch[0].run)])
        else:
            ran = loop.run_in_executor(
                self._thread, self.store.run_together, [call.run for call in batch]
            )
        ran.add_done_callback(functools.partial(self._finished, loop, batch))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Call],
        ran: asyncio.Future[list[Outcome]],
    ) -> None:
        self._busy = False
        if ran.cancelled():
            outcomes = [Outcome(ok=False, value=asyncio.CancelledError())] * len(batch)
        elif (error := ran.exception()) is not None:
            outcomes = [Outcome(ok=False, value=error)] * len(batch)
        else:
            outcomes = ran.result()
        for call, outcome in zip(batch, outcomes, strict=True):
            if call.done.done():  # its caller gave up waiting
                continue
            if outcome.ok:
                call.done.set_result(outcome.value)
            else:
                call.done.set_exception(cast(BaseException, outcome.value))
        if self._queue:
            self._next(loop)
