"""The worker pool: time limits and dead workers cost one task, never the pool."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest

from aggregator.errors import TaskTimeout, WorkerDied
from aggregator.workers import WorkerPool


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(2) as workers:
        yield workers


def test_a_task_past_its_limit_is_stopped_and_the_pool_goes_on(pool: WorkerPool) -> None:
    async def go() -> tuple[float, int]:
        started = time.monotonic()
        with pytest.raises(TaskTimeout, match=r"longer than 0\.5 s"):
            await pool.run(time.sleep, 0.5, 30)
        took = time.monotonic() - started
        return took, await pool.run(abs, 5, -3)

    took, after = asyncio.run(go())
    assert took < 5
    assert after == 3


def test_a_worker_that_dies_costs_one_task(pool: WorkerPool) -> None:
    async def go() -> int:
        with pytest.raises(WorkerDied, match="exit code 3"):
            await pool.run(os._exit, 5, 3)
        return await pool.run(abs, 5, -4)

    assert asyncio.run(go()) == 4


def test_tasks_run_in_other_processes(pool: WorkerPool) -> None:
    pids = asyncio.run(pool.run(os.getpid, 5))
    assert pids != os.getpid()
