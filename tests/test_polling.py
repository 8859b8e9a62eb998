"""How feeds are polled over time: moves, Retry-After, retirement, backoff, lying validators.

The pipeline runs against a real local server and a real archive; time is an injected clock,
so nothing sleeps.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.config import Config, parse_config
from aggregator.fetch import Fetcher
from aggregator.models import FeedState
from aggregator.pipeline import Pipeline, PollResult
from aggregator.store import Store
from tests.server import Route, TestServer
from tests.site import rss

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def feed_body(n: int = 2) -> str:
    return rss("Feed", [{"title": f"Item {i}", "guid": f"g{i}"} for i in range(n)])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "archive.db") as s:
        yield s


def config_for(server: TestServer, *paths: str, interval: str = "") -> Config:
    feeds = "\n".join(f"  - url: {server.url(p)}" for p in paths)
    return parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"  fetch_articles: false\n  interval: 30m\n  min_interval: 5m\n  max_interval: 1d\n"
        f"{interval}feeds:\n{feeds}\n"
    )


def poll_once(config: Config, store: Store, clock: Clock) -> PollResult:
    """Poll the config's only feed now (due or not), as the CLI's --all would."""

    async def go() -> PollResult:
        async with Fetcher.from_settings(config.settings) as fetcher:
            pipeline = Pipeline(
                config=config,
                store=store,
                fetcher=fetcher,
                clock=clock,
                rng=random.Random(7),
            )
            try:
                return await pipeline.poll_feed(the_feed(store))
            finally:
                pipeline.close()

    store.sync_feeds(config.feeds, now=clock())
    return asyncio.run(go())


def the_feed(store: Store) -> FeedState:
    (feed,) = store.feeds()
    return feed


def test_a_permanent_move_is_followed_and_the_old_url_never_asked_again(
    store: Store, server: TestServer
) -> None:
    server.add("/old.xml", status=301, headers={"location": "/mid.xml"})
    server.add("/mid.xml", status=308, headers={"location": "/new.xml"})
    server.add("/new.xml", body=feed_body(), content_type="application/rss+xml")
    config, clock = config_for(server, "/old.xml"), Clock()

    first = poll_once(config, store, clock)
    assert first.moved_to == server.url("/new.xml")
    feed = the_feed(store)
    assert (feed.url, feed.fetch_url) == (server.url("/old.xml"), server.url("/new.xml"))
    assert feed.moved_at == START

    server.clear()
    clock.advance(hours=1)
    poll_once(config, store, clock)
    assert [r.path for r in server.requests] == ["/new.xml"]


@pytest.mark.parametrize("status", [302, 307, 301])
def test_a_temporary_hop_anywhere_means_no_move(
    store: Store, server: TestServer, status: int
) -> None:
    # 301 then `status`: only an all-permanent chain is a move.
    server.add("/a.xml", status=301, headers={"location": "/b.xml"})
    server.add("/b.xml", status=status, headers={"location": "/c.xml"})
    server.add("/c.xml", body=feed_body(), content_type="application/rss+xml")
    result = poll_once(config_for(server, "/a.xml"), store, Clock())
    assert result.ok
    moved = status == 301
    assert (result.moved_to is not None) == moved
    assert (the_feed(store).fetch_url is not None) == moved


@pytest.mark.parametrize("retry_after", ["120", "Sat, 28 Nov 2026 12:02:00 GMT"])
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_exactly(
    store: Store, server: TestServer, status: int, retry_after: str
) -> None:
    server.add("/f.xml", status=status, headers={"retry-after": retry_after})
    clock = Clock()
    result = poll_once(config_for(server, "/f.xml"), store, clock)
    assert not result.ok
    feed = the_feed(store)
    assert feed.not_before == START + timedelta(minutes=2)
    assert feed.next_poll_at == START + timedelta(minutes=2)
    assert "Retry-After" in (feed.next_poll_reason or "")
    assert store.due_feeds(START + timedelta(seconds=119), limit=10) == []
    assert [f.id for f in store.due_feeds(START + timedelta(minutes=2), limit=10)] == [feed.id]


def test_an_absurd_retry_after_is_capped(store: Store, server: TestServer) -> None:
    server.add("/f.xml", status=503, headers={"retry-after": str(10**9)})
    poll_once(config_for(server, "/f.xml"), store, Clock())
    not_before = the_feed(store).not_before
    assert not_before is not None
    assert START < not_before <= START + timedelta(days=30)


def test_410_retires_the_feed_until_revived(store: Store, server: TestServer) -> None:
    server.add("/gone.xml", status=410, body="gone")
    config, clock = config_for(server, "/gone.xml"), Clock()
    result = poll_once(config, store, clock)
    assert result.retired
    feed = the_feed(store)
    assert "410" in (feed.disabled_reason or "")
    assert store.due_feeds(START + timedelta(days=365), limit=10) == []

    store.revive(feed.id)
    server.add("/gone.xml", body=feed_body(), content_type="application/rss+xml")
    assert [f.id for f in store.due_feeds(START, limit=10)] == [feed.id]
    assert poll_once(config, store, clock).ok
    assert the_feed(store).disabled_reason is None


def test_backoff_grows_with_errors_weighted_by_kind_and_recovers(
    store: Store, server: TestServer
) -> None:
    config, clock = config_for(server, "/f.xml"), Clock()
    waits = []
    for status in (500, 500, 404, 404):
        server.add("/f.xml", status=status, body="no")
        poll_once(config, store, clock)
        feed = the_feed(store)
        assert feed.next_poll_at is not None
        waits.append((feed.next_poll_at - clock()).total_seconds())
        clock.advance(days=1)
    assert waits == sorted(waits)
    assert the_feed(store).error_count == 4
    assert the_feed(store).error_score == pytest.approx(0.5 + 0.5 + 1 + 1)
    assert waits[-1] <= 4 * 86400 * 1.1  # capped at max_interval x 4 (+ jitter)

    server.add("/f.xml", body=feed_body(), content_type="application/rss+xml")
    assert poll_once(config, store, clock).ok
    feed = the_feed(store)
    assert (feed.error_count, feed.error_score, feed.last_error) == (0, 0.0, None)
    assert feed.next_poll_at is not None
    assert (feed.next_poll_at - clock()).total_seconds() <= 30 * 60 * 1.1


def test_errors_never_drop_a_feed(store: Store, server: TestServer) -> None:
    server.add("/f.xml", status=404)
    config, clock = config_for(server, "/f.xml"), Clock()
    for _ in range(30):
        poll_once(config, store, clock)
        clock.advance(days=5)
    feed = the_feed(store)
    assert feed.disabled_reason is None
    assert feed.next_poll_at is not None
    assert store.due_feeds(feed.next_poll_at, limit=10) != []


def test_validators_are_refreshed_from_every_response_and_lying_ones_caught(
    store: Store, server: TestServer
) -> None:
    versions = iter(range(100))

    def changing_etag(_: object) -> Route:  # a new ETag every time, the same bytes
        return Route(
            body=feed_body(), content_type="application/rss+xml", etag=f'"v{next(versions)}"'
        )

    server.add("/f.xml", Route(handler=changing_etag))
    config, clock = config_for(server, "/f.xml"), Clock()
    first = poll_once(config, store, clock)
    assert not first.not_modified
    assert the_feed(store).etag == '"v0"'

    second = poll_once(config, store, clock)
    assert second.status == 200
    assert second.not_modified  # same bytes: recognised by hash, not parsed again
    assert the_feed(store).etag == '"v1"'


def test_a_configured_interval_wins_and_hints_are_floors(store: Store, server: TestServer) -> None:
    body = feed_body().replace("<channel>", "<channel><ttl>120</ttl>")
    server.add("/f.xml", body=body, content_type="application/rss+xml")
    feed_interval = "  - url: {url}\n    interval: 15m\n"
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        "  fetch_articles: false\nfeeds:\n" + feed_interval.format(url=server.url("/f.xml"))
    )
    clock = Clock()
    poll_once(config, store, clock)
    feed = the_feed(store)
    assert feed.next_poll_at is not None
    wait = (feed.next_poll_at - clock()).total_seconds()
    assert 120 * 60 * 0.9 <= wait <= 120 * 60 * 1.1  # the feed's ttl beats our 15m
    assert feed.hint_interval == 120 * 60
