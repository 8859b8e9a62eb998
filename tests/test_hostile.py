"""Every hostile or broken answer, met by a feed that was fine before (issue 4).

For each fault: a real local server produces it; the poll ends in bounded time; a clear error
(or warning) is recorded on the feed; nothing from the hostile answer is stored; the feed's
earlier good state (entries, validators, title) is untouched; a healthy feed polled alongside
is unaffected.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.config import parse_config
from aggregator.fetch import Fetcher
from aggregator.pipeline import Pipeline, PollSummary
from aggregator.store import Store
from tests.server import Route, TestServer
from tests.site import rss

GOOD = rss("Good feed", [{"title": "Good entry", "guid": "good-1", "description": "Fine."}])


def zeros_gzip(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1_000_000)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


def endless() -> Iterator[bytes]:
    for _ in itertools.count():
        yield b"<item>" * 1000


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(8))
    + ']><rss version="2.0"><channel><title>&i;</title>'
    "<item><guid>evil</guid><title>&i;</title></item></channel></rss>"
)

#: case -> (the route that replaces the good feed, what the recorded error must contain)
CASES: dict[str, tuple[Route, str]] = {
    "500": (Route(status=500, body="oops"), "HTTP 500"),
    "404": (Route(status=404, body="no"), "HTTP 404"),
    "410": (Route(status=410, body="gone"), "HTTP 410"),
    "429": (Route(status=429, headers={"retry-after": "120"}), "HTTP 429"),
    "503": (Route(status=503, headers={"retry-after": "Sat, 28 Nov 2099 10:00:00 GMT"}), "503"),
    "gzip bomb": (
        Route(body=zeros_gzip(30), headers={"content-encoding": "gzip"}),
        "larger than 2,000,000 bytes",
    ),
    "endless body": (Route(chunks=endless), "larger than 2,000,000 bytes"),
    "drip": (Route(body=GOOD, drip=0.5), "timed out after 2 s"),
    "redirect loop": (Route(status=302, headers={"location": "/feed.xml"}), "redirect loop"),
    "HTML page": (
        Route(
            body='<html><head><link rel="alternate" type="application/rss+xml" '
            'href="/other.xml"></head><body>Hi</body></html>'
        ),
        "not a feed",
    ),
    "empty body": (Route(body=b""), "empty document"),
    "not XML at all": (Route(body=b"\x00\x01garbage\xff" * 100), "not a feed"),
}


def test_entity_declarations_are_ignored_and_nothing_expands(
    server: TestServer, store: Store
) -> None:
    """A document declaring entities is read without its DTD: a warning, nothing expanded."""
    server.add("/feed.xml", body=LAUGHS, content_type="application/rss+xml")
    server.add("/control.xml", body=GOOD, content_type="application/rss+xml")
    started = time.monotonic()
    poll(server, store)
    assert time.monotonic() - started < 15
    feed = next(f for f in store.feeds() if f.url.endswith("/feed.xml"))
    assert "ignored the DTD" in (feed.last_error or "")
    longest = store.query("SELECT max(length(title)) AS n FROM articles")[0]["n"]
    assert longest < 100
    assert len(feed.title or "") < 100


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "archive.db") as s:
        yield s


def poll(server: TestServer, store: Store) -> PollSummary:
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        "  timeout: 2s\n  max_bytes: 2MB\n  fetch_articles: false\n"
        f"feeds:\n  - url: {server.url('/feed.xml')}\n  - url: {server.url('/control.xml')}\n"
    )

    async def go() -> PollSummary:
        async with Fetcher.from_settings(config.settings) as fetcher:
            pipeline = Pipeline(config=config, store=store, fetcher=fetcher)
            try:
                return await pipeline.poll(store.feeds())
            finally:
                pipeline.close()

    store.sync_feeds(config.feeds, now=datetime.now(UTC))
    return asyncio.run(go())


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_answer_costs_one_poll_and_nothing_else(
    case: str, server: TestServer, store: Store
) -> None:
    route, expected = CASES[case]
    server.add("/feed.xml", body=GOOD, content_type="application/rss+xml", etag='"good"')
    control = rss("Control", [{"title": "Control entry", "guid": "c-1"}])
    server.add("/control.xml", body=control, content_type="application/rss+xml")
    first = poll(server, store)
    assert first.feeds_failed == 0
    before = store.feeds()[0]
    articles_before = store.query("SELECT id, title, content FROM articles ORDER BY id")

    server.add("/feed.xml", route)
    control = rss(
        "Control", [{"title": "Control entry", "guid": "c-1"}, {"title": "New", "guid": "c-2"}]
    )
    server.add("/control.xml", body=control, content_type="application/rss+xml")
    started = time.monotonic()
    second = poll(server, store)
    assert time.monotonic() - started < 15

    feed, healthy = store.feeds()
    assert expected in (feed.last_error or ""), feed.last_error
    assert (feed.etag, feed.title) == (before.etag, before.title) == ('"good"', "Good feed")
    assert store.query("SELECT id, title, content FROM articles WHERE feed_id = ?", [feed.id]) == [
        a for a in articles_before if a["title"] == "Good entry"
    ]
    assert healthy.error_count == 0
    assert healthy.articles == 2
    assert {r.url: r.ok for r in second.results}[healthy.url]


def test_a_flood_of_namespace_declarations_is_refused_at_once() -> None:
    """feedparser's strict parser is quadratic in declared prefixes; real feeds declare few."""
    from aggregator.errors import ParseError
    from aggregator.parse import MAX_NAMESPACES, parse

    declarations = " ".join(f'xmlns:p{n}="urn:p{n}"' for n in range(MAX_NAMESPACES + 1))
    body = f'<rss version="2.0" {declarations}><channel><title>x</title></channel></rss>'
    with pytest.raises(ParseError, match="more than 1,000 XML namespaces"):
        parse(body.encode(), "https://example.org/feed.xml")
