"""The worker pool: time limits and dead workers cost one task, never the pool."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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


def test_a_stopped_pool_is_restarted_for_the_next_task() -> None:
    with WorkerPool(1) as workers:

        async def go() -> int:
            assert await workers.run(abs, 5, -3) == 3
            assert workers._pool is not None
            workers._pool.stop()  # what pebble does when every worker dies at once
            with pytest.raises(WorkerDied, match="restarted"):
                await workers.run(abs, 5, -1)
            return await workers.run(abs, 5, -2)

        assert asyncio.run(go()) == 2


def test_a_pool_starts_with_its_first_task() -> None:
    with WorkerPool(2) as workers:
        assert workers._pool is None  # a poll of 304s starts no processes
        assert asyncio.run(workers.run(abs, 5, -1)) == 1
        assert workers._pool is not None


def test_workers_do_not_outlive_their_parent(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        "import asyncio, os, sys, time\n"
        "from aggregator.workers import WorkerPool\n"
        "async def main():\n"
        "    pool = WorkerPool(2)\n"
        "    await pool.run(abs, 30, -1)\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert parent.stdout is not None
    assert parent.stdout.readline().strip() == "ready"
    children = descendants(parent.pid)
    assert len(children) >= 2
    parent.kill()
    parent.wait(timeout=10)
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.1)
    assert [pid for pid in children if alive(pid)] == []


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == current:
                    found.append(int(entry.name))
                    todo.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_are_forked_ready_with_the_shared_modules_frozen(pool: WorkerPool) -> None:
    """Workers come from the fork server: what tasks need is imported already, and the objects
    they share are out of the garbage collector's sight (copy-on-write stays cold). (The fork
    server is the process's: whichever pool starts it first chooses its imports.)"""
    frozen, imported = asyncio.run(pool.run(worker_state, 5))
    assert frozen > 10_000
    assert imported


def worker_state() -> tuple[int, bool]:
    import gc
    import sys

    return gc.get_freeze_count(), "aggregator.parse._xml" in sys.modules
