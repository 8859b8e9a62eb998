"""The store's thread: calls in order, those queued while it is busy in one transaction."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from aggregator.config import FeedConfig
from aggregator.errors import StoreError
from aggregator.store import Outcome, Store
from aggregator.writer import TOGETHER, Writer
from tests.test_store import NOW, poll, record


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "archive.db")
    s.sync_feeds([FeedConfig(url="https://a.example/feed")], now=NOW)
    return s


def titles(store: Store) -> list[str]:
    return [r["title"] for r in store.query("SELECT title FROM articles ORDER BY id")]


def retitle(store: Store, title: str, *, fail: bool = False) -> str:
    with store._transaction() as conn:
        conn.execute("UPDATE feeds SET title = ?", (title,))
        if fail:
            raise StoreError(f"{title} failed")
    return title


def test_together_a_failing_call_is_rolled_back_alone(store: Store) -> None:
    (feed,) = store.feeds()
    outcomes = store.run_together(
        [
            lambda: store.save_poll(poll(feed.id, record("a"))),
            lambda: retitle(store, "broken", fail=True),
            lambda: store.save_poll(poll(feed.id, record("b"))),
        ]
    )
    assert [o.ok for o in outcomes] == [True, False, True]
    assert str(outcomes[1].value) == "broken failed"
    assert titles(store) == ["Title a", "Title b"]
    assert store.feeds()[0].title == "Feed"  # the failed call's change is gone
    assert not store.db.conn.in_transaction


def test_together_a_rolled_back_transaction_fails_the_calls_before_it(store: Store) -> None:
    (feed,) = store.feeds()

    def lose_everything() -> None:
        store.db.conn.execute("ROLLBACK")  # as SQLite does on a full disk or an I/O error

    outcomes = store.run_together(
        [
            lambda: store.save_poll(poll(feed.id, record("a"))),
            lose_everything,
            lambda: store.save_poll(poll(feed.id, record("b"))),
        ]
    )
    assert [o.ok for o in outcomes] == [False, False, True]
    assert "rolled back" in str(outcomes[0].value)
    assert titles(store) == ["Title b"]  # run on its own after the rollback


def test_calls_queued_while_busy_share_one_transaction_in_order(store: Store) -> None:
    asyncio.run(_queued_while_busy(store))


async def _queued_while_busy(store: Store) -> None:
    writer = Writer(store)
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        release.wait(10)
        order.append("first")

    def seen(name: str) -> tuple[bool, bool]:
        order.append(name)
        return store._together, store.db.conn.in_transaction

    try:
        blocker = asyncio.ensure_future(writer.call(first))
        await asyncio.sleep(0.05)  # the thread is now busy with `first`
        queued = [asyncio.ensure_future(writer.call(seen, f"call {i}")) for i in range(3)]
        failing = asyncio.ensure_future(writer.call(retitle, store, "broken", fail=True))
        alone = asyncio.ensure_future(writer.alone(seen, "alone"))
        after = asyncio.ensure_future(writer.call(seen, "after"))
        await asyncio.sleep(0.05)
        release.set()
        await blocker
        assert await asyncio.gather(*queued) == [(True, True)] * 3
        with pytest.raises(StoreError, match="broken failed"):
            await failing
        assert await alone == (False, False)
        assert await after == (False, False)  # alone in its batch: no transaction to share
        assert order == ["first", "call 0", "call 1", "call 2", "alone", "after"]
    finally:
        writer.close()


def test_a_batch_holds_at_most_together_calls(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real = store.run_together

    def counted(calls: Sequence[Callable[[], object]]) -> list[Outcome]:
        sizes.append(len(calls))
        return real(calls)

    monkeypatch.setattr(store, "run_together", counted)

    async def go() -> None:
        writer = Writer(store)
        try:
            await asyncio.gather(*(writer.call(store.feeds) for _ in range(TOGETHER + 5)))
        finally:
            writer.close()

    asyncio.run(go())
    assert sum(sizes) == TOGETHER + 5
    assert max(sizes) <= TOGETHER
