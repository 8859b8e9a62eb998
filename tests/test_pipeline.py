"""The whole pipeline against a real local site: fetch, parse, extract, dedup, store."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import Config, parse_config
from aggregator.errors import StoreError
from aggregator.fetch import Fetcher
from aggregator.models import ArticleRecord, FeedPoll, SaveCounts
from aggregator.pipeline import SAVE_EVERY, Pipeline, PollSummary, _Backlog, _Prepared
from aggregator.store import Store
from aggregator.workers import WorkerPool
from tests.server import Route, TestServer
from tests.site import BOILERPLATE, NewsSite, article_page, atom, rss, story
from tests.test_store import record


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(2) as workers:
        yield workers


def run_poll(
    config: Config,
    store: Store,
    executor: WorkerPool | None = None,
    urls: list[str] | None = None,
    *,
    sync: bool = True,
) -> PollSummary:
    async def go() -> PollSummary:
        async with Fetcher.from_settings(config.settings) as fetcher:
            pipeline = Pipeline(config=config, store=store, fetcher=fetcher, executor=executor)
            try:
                feeds = store.feeds(urls=urls or [f.url for f in config.feeds])
                return await pipeline.poll(feeds)
            finally:
                pipeline.close()

    if sync:
        store.sync_feeds(config.feeds, now=datetime.now(UTC))
    return asyncio.run(go())


@pytest.fixture
def site(server: TestServer) -> NewsSite:
    return NewsSite(server)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "archive.db") as s:
        yield s


@pytest.mark.parametrize("mode", ["serial", "pooled"])
def test_first_poll_archives_clean_deduplicated_articles(
    site: NewsSite, store: Store, pool: WorkerPool, mode: str
) -> None:
    config = parse_config(site.config_text())
    summary = run_poll(config, store, pool if mode == "pooled" else None)

    assert (summary.feeds_ok, summary.feeds_failed) == (3, 0), [r.error for r in summary.results]
    # Stories 1-5 are five articles; the tracking-URL, cross-feed and copied entries are sightings.
    assert (summary.new, summary.duplicate) == (5, 3)
    articles = store.query("SELECT * FROM articles ORDER BY id")
    assert len(articles) == 5
    assert store.counts()["sightings"] == 8

    def article_of(n: int) -> dict[str, object]:
        found_all = [a for a in articles if story(n)[0] in (a["content"] or "")]
        assert len(found_all) == 1, (
            n,
            [(a["title"], a["content_source"], a["content"]) for a in articles],
        )
        (found,) = found_all
        return found

    for n in (1, 2, 4, 5):
        article = article_of(n)
        content = str(article["content"])
        assert article["content_source"] == "page"
        for paragraph in story(n):
            assert paragraph in content
        for phrase in BOILERPLATE:
            assert phrase not in content, (n, phrase)
        assert article["lang"] == "en"
        assert article["page_id"] is not None
    # Story 3's page is missing: the feed's own content stands in, cleaned.
    missing = article_of(3)
    assert missing["content_source"] == "feed"
    assert story(3, 3)[2] in str(missing["content"])
    assert "<p>" not in str(missing["content"])

    # Which sighting came first depends on which feed answered first; the grouping does not.
    url = site.server.url
    groups = {
        frozenset(r["urls"].split(" "))
        for r in store.query(
            "SELECT group_concat(url, ' ') AS urls FROM sightings GROUP BY article_id"
        )
    }
    assert groups == {
        frozenset(
            {url("/news/1.html"), url("/news/1.html?utm_source=atom&utm_medium=feed&fbclid=x")}
        ),
        frozenset({url("/news/2.html")}),
        frozenset({url("/news/3.html")}),
        frozenset({url("/news/4.html"), url("/copies/4-again.html")}),
        frozenset({url("/news/5.html")}),
    }
    reasons = sorted(r["reason"] for r in store.query("SELECT reason FROM sightings"))
    assert reasons == ["new"] * 5 + ["same-text"] + ["same-url"] * 2
    # A page already archived through another feed is not fetched again.
    assert len(site.server.requests_to("/news/2.html")) == 1


def test_second_poll_is_conditional_and_writes_nothing(site: NewsSite, store: Store) -> None:
    config = parse_config(site.config_text())
    run_poll(config, store)
    before = store.counts()
    feeds_before = {f.url: (f.etag, f.last_modified) for f in store.feeds()}
    site.server.clear()

    summary = run_poll(config, store)

    rss = site.server.requests_to("/rss.xml")[0].headers
    atom = site.server.requests_to("/atom.xml")[0].headers
    assert rss["if-none-match"] == '"rss-v1"'
    assert atom["if-modified-since"] == "Fri, 20 Nov 2026 08:00:00 GMT"
    statuses = {r.url: (r.status, r.not_modified) for r in summary.results}
    assert statuses[site.server.url("/rss.xml")] == (304, True)
    assert statuses[site.server.url("/atom.xml")] == (304, True)
    # The JSON feed has no validators: it is fetched again, and its unchanged bytes are
    # recognised by their hash, so it is not even parsed.
    assert statuses[site.server.url("/feed.json")] == (200, True)
    assert (summary.new, summary.updated, summary.duplicate) == (0, 0, 0)
    assert store.counts() == before
    assert {f.url: (f.etag, f.last_modified) for f in store.feeds()} == feeds_before
    assert not [r for r in site.server.requests if r.path.startswith("/news/")]


def test_an_updated_entry_is_refetched_and_revised(site: NewsSite, store: Store) -> None:
    config = parse_config(site.config_text())
    run_poll(config, store)
    site.server.add(
        "/feed.json",
        content_type="application/feed+json",
        body=(
            '{"version": "https://jsonfeed.org/version/1.1", "title": "Daily Test JSON",'
            f' "items": [{{"id": "json-5", "url": "{site.server.url("/news/5.html")}",'
            ' "title": "Story 5, corrected", "content_text": "x"}]}'
        ),
    )
    summary = run_poll(config, store, urls=[site.server.url("/feed.json")])
    assert summary.updated == 1
    (article,) = store.query("SELECT id, title FROM articles WHERE title LIKE 'Story 5%'")
    assert article["title"] == "Story 5, corrected"


def test_failing_feeds_are_recorded_and_do_not_stop_the_others(
    site: NewsSite, store: Store, server: TestServer
) -> None:
    server.add("/broken.xml", status=500, body="oops")
    server.add("/page.html", body="<html><head><title>Home</title></head><body>Hi</body></html>")
    config = parse_config(
        site.config_text(server.url("/broken.xml"), server.url("/page.html"), server.url("/gone"))
    )
    summary = run_poll(config, store)
    assert (summary.feeds_ok, summary.feeds_failed) == (3, 3)
    errors = {f.url: (f.last_status, f.last_error, f.error_count) for f in store.feeds()}
    assert errors[server.url("/broken.xml")][0] == 500
    assert "500" in (errors[server.url("/broken.xml")][1] or "")
    assert errors[server.url("/gone")][0] == 404
    assert "not a feed" in (errors[server.url("/page.html")][1] or "")
    assert all(e[2] == 1 for url, e in errors.items() if url not in site.feed_urls)
    assert summary.new == 5


def test_a_feed_that_breaks_later_keeps_what_it_had(
    site: NewsSite, store: Store, server: TestServer
) -> None:
    config = parse_config(site.config_text())
    run_poll(config, store)
    rss_url = server.url("/rss.xml")
    server.add("/rss.xml", Route(status=503, body="down", headers={"retry-after": "120"}))
    run_poll(config, store, urls=[rss_url])
    (feed,) = store.feeds(urls=[rss_url])
    assert (feed.etag, feed.title, feed.last_status, feed.error_count) == (
        '"rss-v1"',
        "Daily Test RSS",
        503,
        1,
    )
    assert feed.articles == 3


def test_no_articles_mode_keeps_feed_content_only(site: NewsSite, store: Store) -> None:
    config = parse_config(site.config_text(fetch_articles=False))
    summary = run_poll(config, store)
    assert summary.new >= 4
    assert not [r for r in site.server.requests if r.path.startswith("/news/")]
    sources = {r["content_source"] for r in store.query("SELECT content_source FROM articles")}
    assert sources <= {"feed", "none"}


def test_a_page_in_a_legacy_charset_named_only_by_http_is_decoded(
    store: Store, server: TestServer
) -> None:
    text = "Der Bürgermeister eröffnete die neue Brücke über den Fluss am Montag. " * 12
    page = f"<html><head><title>Brücke</title></head><body><article><h1>Brücke</h1><p>{text}</p>"
    server.add(
        "/de.html",
        body=(page + "</article></body></html>").encode("iso-8859-1"),
        content_type="text/html; charset=ISO-8859-1",
    )
    server.add(
        "/de.xml",
        content_type="application/rss+xml",
        body=(
            '<?xml version="1.0"?><rss version="2.0"><channel><title>DE</title>'
            f"<item><guid>de-1</guid><title>Brücke</title><link>{server.url('/de.html')}</link>"
            "</item></channel></rss>"
        ),
    )
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n"
        f"feeds:\n  - url: {server.url('/de.xml')}\n"
    )
    run_poll(config, store)
    (article,) = store.query("SELECT content, content_source FROM articles")
    assert article["content_source"] == "page"
    assert "Der Bürgermeister eröffnete die neue Brücke" in article["content"]


FEEDS = Path(__file__).parent / "data" / "feeds"
GOLDEN = sorted(
    p for p in FEEDS.iterdir() if p.suffix in (".xml", ".json") and ".expected" not in p.name
)


def test_every_feed_format_goes_through_the_pipeline(store: Store, server: TestServer) -> None:
    expected = {}
    for path in GOLDEN:
        kind = "application/feed+json" if path.suffix == ".json" else "application/xml"
        url = server.add(f"/formats/{path.name}", body=path.read_bytes(), content_type=kind)
        expected[url] = json.loads(path.with_name(f"{path.stem}.expected.json").read_text())
    feeds = "\n".join(f"  - url: {u}" for u in expected)
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  fetch_articles: false\n"
        f"  per_host_delay: 0s\nfeeds:\n{feeds}\n"
    )
    summary = run_poll(config, store)
    assert summary.feeds_failed == 0, [r.error for r in summary.results if not r.ok]
    for feed in store.feeds():
        golden = expected[feed.url]
        assert feed.articles == len(golden["entries"]), feed.url
        assert feed.title == golden["title"]
        assert feed.error_count == 0
        if golden["warning"]:  # recovered from malformed XML: recorded, not fatal
            assert feed.last_error == f"warning: {golden['warning']}"
    titles = {r["title"] for r in store.query("SELECT title FROM articles")}
    assert titles >= {"Item A"}
    assert {v["version"] for v in expected.values()} >= {"rss090", "rss10", "atom03", "json10"}


def test_an_archive_that_refuses_writes_fails_the_feeds_not_the_poll(
    site: NewsSite, store: Store
) -> None:
    config = parse_config(site.config_text())
    store.sync_feeds(config.feeds, now=datetime.now(UTC))
    store.db.conn.execute("PRAGMA query_only = ON")  # every write now fails inside SQLite
    summary = run_poll(config, store, sync=False)
    assert summary.feeds_failed == 3
    assert all("readonly" in (r.error or "") for r in summary.results)


def nested_page(depth: int) -> str:
    """Markup that keeps an extractor busy: thousands of nested tables."""
    return (
        "<html><body><article><h1>Deep</h1>"
        + "<table><tr><td><div><p>cell text here</p>" * depth
        + "</div></td></tr></table>" * depth
        + "</article></body></html>"
    )


def test_an_extraction_past_its_time_limit_falls_back_to_the_feed(
    store: Store, server: TestServer, pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("aggregator.pipeline.EXTRACT_TIMEOUT", 0.3)
    server.add("/deep.html", body=nested_page(3000))
    server.add("/fine.html", body=article_page("Fine", story(9)))
    feed = rss(
        "Deep",
        [
            {
                "title": "Deep page",
                "guid": "deep",
                "link": server.url("/deep.html"),
                "description": "The feed's own words about the deep page.",
            },
            {"title": "Fine page", "guid": "fine", "link": server.url("/fine.html")},
        ],
    )
    server.add("/deep.xml", body=feed, content_type="application/rss+xml")
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/deep.xml')}\n"
    )
    started = time.monotonic()
    summary = run_poll(config, store, pool)
    assert time.monotonic() - started < 30
    assert summary.new == 2
    sources = {
        r["title"]: r["content_source"]
        for r in store.query("SELECT title, content_source FROM articles")
    }
    assert sources == {"Deep page": "feed", "Fine page": "page"}
    (deep,) = store.query(
        "SELECT extract_fallback, extract_error FROM articles WHERE title = 'Deep page'"
    )
    assert deep["extract_fallback"] == "page-timeout"
    assert "took over 0.3 s" in deep["extract_error"]


def test_a_feed_with_too_many_entries_is_cut_and_says_so(store: Store, server: TestServer) -> None:
    items = [{"title": f"Item {n}", "guid": f"g{n}"} for n in range(3000)]
    server.add("/big.xml", body=rss("Big", items), content_type="application/rss+xml")
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  max_entries: 100\n"
        f"  fetch_articles: false\nfeeds:\n  - url: {server.url('/big.xml')}\n"
    )
    summary = run_poll(config, store)
    assert summary.new == 100
    (feed,) = store.feeds()
    assert "kept the first 100 of 3000 entries (max_entries)" in (feed.last_error or "")
    assert summary.results[0].warning is not None


def test_entry_links_to_private_addresses_are_never_fetched(
    store: Store, server: TestServer
) -> None:
    port = server.host.rsplit(":", 1)[1]
    sneaky = [
        f"http://localhost:{port}/secret-1",
        f"http://127.1:{port}/secret-2",
        f"http://2130706433:{port}/secret-3",
        f"http://[::1]:{port}/secret-4",
        f"http://0x7f.1:{port}/secret-5",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
    ]
    # A page on the allowed host that redirects to a forbidden spelling of the same server.
    server.add("/hop", status=302, headers={"location": f"http://localhost:{port}/secret-6"})
    items = [
        {"title": f"Sneaky {n}", "guid": f"s{n}", "link": link, "description": f"Summary {n}"}
        for n, link in enumerate([*sneaky, server.url("/hop")])
    ]
    server.add("/sneaky.xml", body=rss("Sneaky", items), content_type="application/rss+xml")
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/sneaky.xml')}\n"
    )
    summary = run_poll(config, store)
    assert summary.new == len(items)
    assert [r.path for r in server.requests if "secret" in r.path] == []
    stored = {r["title"]: r["url"] for r in store.query("SELECT title, url FROM articles")}
    for n in (5, 6, 7):  # non-http(s) links are stored as absent
        assert stored[f"Sneaky {n}"] is None
    sources = {r["content_source"] for r in store.query("SELECT content_source FROM articles")}
    assert sources == {"feed"}


HOSTILE_HTML = (
    "<p>Real words about the harbour.</p>"
    "<script>alert('x')</script><img src=x onerror=alert(1)>"
    "<a href=\"javascript:alert(2)\">click</a><iframe src='https://evil.example/'></iframe>"
    "<object data='x.swf'></object><form action='javascript:alert(3)'><input></form>"
    "<meta http-equiv='refresh' content='0;url=https://evil.example/'>"
    "<base href='https://evil.example/'><div style='width: expression(alert(4))'>styled</div>"
)


def test_hostile_markup_is_stored_as_plain_text(store: Store, server: TestServer) -> None:
    page = f"<html><head><title>T</title></head><body><article>{HOSTILE_HTML * 3}</article>"
    server.add("/xss.html", body=page + "</body></html>")
    items = [
        {
            "title": "<b>Bold</b> title <script>alert(5)</script>",
            "guid": "x1",
            "link": server.url("/xss.html"),
            "description": HOSTILE_HTML,
            "content": HOSTILE_HTML,
        },
        {"title": "No page", "guid": "x2", "description": HOSTILE_HTML, "content": HOSTILE_HTML},
    ]
    server.add("/xss.xml", body=rss("XSS", items), content_type="application/rss+xml")
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/xss.xml')}\n"
    )
    run_poll(config, store)
    rows = store.query("SELECT title, summary, content, content_source FROM articles")
    assert {r["content_source"] for r in rows} == {"page", "feed"}
    for row in rows:
        for field in ("title", "summary", "content"):
            text = row[field] or ""
            for marker in (
                "<script",
                "onerror",
                "javascript:",
                "<iframe",
                "<object",
                "<form",
                "<meta",
                "<base",
                "expression(",
                "<b>",
                "<p>",
            ):
                assert marker not in text.lower(), (field, marker, text)
        assert "Real words about the harbour." in row["content"]


def test_entries_that_share_one_link_keep_their_own_text(store: Store, server: TestServer) -> None:
    """A status feed links every update to one page: each update is its own article."""
    server.add("/status.html", body=article_page("Status", story(1)))
    updates = [
        {
            "title": f"Update {n}",
            "guid": f"urn:update:{n}",
            "link": server.url("/status.html"),
            "description": " ".join(story(100 + n, 2)),
        }
        for n in range(3)
    ]
    server.add("/status.xml", body=rss("Status", updates), content_type="application/rss+xml")
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/status.xml')}\n"
    )
    summary = run_poll(config, store)
    assert (summary.new, summary.duplicate) == (3, 0)
    rows = store.query("SELECT title, content, content_source FROM articles ORDER BY id")
    assert {r["title"] for r in rows} == {"Update 0", "Update 1", "Update 2"}
    assert all(r["content_source"] == "feed" for r in rows)
    assert all(f"Story {100 + n}" in rows[n]["content"] for n in range(3))
    assert "/status.html" not in [r.path for r in server.requests]


def test_a_feed_that_changes_its_guids_or_reuses_one_adds_no_copies(
    store: Store, server: TestServer
) -> None:
    """A CMS migration rewrites every guid (same link, same title): the same entries. A guid
    reused for two stories keeps both; when one later appears alone under the bare guid, it is
    known by its link and title."""
    for n in (1, 2, 3):
        server.add(f"/p/{n}.html", body=article_page(f"Post {n}", story(200 + n)))

    def publish(items: list[tuple[str, int]]) -> None:
        body = rss(
            "Blog",
            [{"title": f"Post {n}", "guid": guid, "link": server.url(f"/p/{n}.html")}
             for guid, n in items],
        )  # fmt: skip
        server.add("/blog.xml", body=body, content_type="application/rss+xml")

    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/blog.xml')}\n"
    )
    publish([("urn:old:1", 1), ("urn:reused", 2), ("urn:reused", 3)])
    assert run_poll(config, store).new == 3
    publish([("https://blog.example/?p=1", 1), ("urn:reused", 2)])  # new guid; reused alone
    second = run_poll(config, store)
    assert (second.new, second.duplicate) == (0, 0)
    assert len(store.query("SELECT id FROM articles")) == 3
    sightings = store.query("SELECT entry_id FROM sightings ORDER BY id")
    assert [s["entry_id"] for s in sightings][:2] == ["https://blog.example/?p=1", "urn:reused"]
    assert len(sightings) == 3


def test_feed_only_entries_are_prepared_together_and_alone_when_one_runs_out_of_time(
    store: Store, server: TestServer, pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pages, a feed's entries go to a worker in one task; when that task runs out of
    time (one entry's content is a maze), each entry is prepared alone and all are kept."""
    monkeypatch.setattr("aggregator.pipeline.EXTRACT_TIMEOUT", 0.5)
    items = [
        {"title": f"Plain {n}", "guid": f"p{n}", "description": " ".join(story(300 + n, 2))}
        for n in range(3)
    ]
    items.append({"title": "Maze", "guid": "maze", "content": nested_page(3000)})
    server.add("/maze.xml", body=rss("Maze", items), content_type="application/rss+xml")
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"  fetch_articles: false\nfeeds:\n  - url: {server.url('/maze.xml')}\n"
    )
    assert run_poll(config, store, pool).new == 4
    rows = {r["title"]: r["content"] for r in store.query("SELECT title, content FROM articles")}
    assert set(rows) == {"Plain 0", "Plain 1", "Plain 2", "Maze"}
    assert "Story 301" in (rows["Plain 1"] or "")


def test_feed_only_entries_are_all_kept_from_one_worker_task(
    store: Store, server: TestServer, pool: WorkerPool
) -> None:
    items = [
        {"title": f"Item {n}", "guid": f"i{n}", "description": " ".join(story(400 + n, 2))}
        for n in range(20)
    ]
    server.add("/many.xml", body=rss("Many", items), content_type="application/rss+xml")
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"  fetch_articles: false\nfeeds:\n  - url: {server.url('/many.xml')}\n"
    )
    assert run_poll(config, store, pool).new == 20
    rows = store.query("SELECT title, content, content_source, word_count FROM articles")
    assert len(rows) == 20
    assert all(r["content_source"] == "feed" and r["word_count"] > 40 for r in rows)


def long_feed(server: TestServer, count: int) -> Config:
    """A feed of ``count`` entries, each linking to its own article page, with an ETag."""
    for n in range(count):
        server.add(f"/long/{n}.html", body=article_page(f"Long {n}", story(600 + n)))
    items = [
        {"title": f"Long {n}", "guid": f"long-{n}", "link": server.url(f"/long/{n}.html")}
        for n in range(count)
    ]
    server.add(
        "/long.xml", body=rss("Long", items), content_type="application/rss+xml", etag='"long-v1"'
    )
    return parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/long.xml')}\n"
    )


def test_a_long_feed_is_saved_as_it_goes_in_its_own_order(
    store: Store, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Articles are saved SAVE_EVERY at a time while the feed's pages are read (memory holds a
    few pages, not the whole feed), in the feed's order; the counts cover every batch."""
    config = long_feed(server, 25)
    batches: list[int] = []
    save_articles = store.save_articles

    def counting(feed_id: int, articles: Sequence[ArticleRecord], **kwargs: Any) -> SaveCounts:
        batches.append(len(articles))
        return save_articles(feed_id, articles, **kwargs)

    monkeypatch.setattr(store, "save_articles", counting)
    summary = run_poll(config, store)
    assert summary.new == 25
    assert batches
    assert all(size >= SAVE_EVERY for size in batches)
    assert sum(batches) < 25  # the rest is saved with the feed's state
    sightings = store.query("SELECT entry_id FROM sightings ORDER BY id")
    assert [row["entry_id"].rsplit("/", 1)[-1] for row in sightings] == [
        f"long-{n}" for n in range(25)
    ]


def test_a_poll_cut_short_after_early_saves_is_completed_by_the_next(
    store: Store, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed's state (its ETag) is saved last: when that save fails, the next poll fetches the
    feed again and archives what is missing, without copies."""
    config = long_feed(server, 25)
    save_poll = store.save_poll

    def failing(poll: FeedPoll) -> SaveCounts:
        raise StoreError("disk I/O error")

    monkeypatch.setattr(store, "save_poll", failing)
    first = run_poll(config, store)
    assert first.feeds_failed == 1
    kept = len(store.query("SELECT id FROM articles"))
    assert 0 < kept < 25  # the early batches are in the archive
    assert store.feeds()[0].etag is None

    monkeypatch.setattr(store, "save_poll", save_poll)
    second = run_poll(config, store)
    assert (second.feeds_ok, second.new, second.duplicate) == (1, 25 - kept, 0)
    assert len(store.query("SELECT id FROM articles")) == 25
    assert store.feeds()[0].etag == '"long-v1"'


def test_prepared_articles_are_handed_out_in_order_and_kept_when_saving_fails() -> None:
    records = [record(f"e{n}") for n in range(2 * SAVE_EVERY + 3)]
    prepared = _Prepared(len(records))
    # Out of order: nothing is handed out until the first SAVE_EVERY are all there.
    assert prepared.add(1, records[1]) == []
    for n in range(2, SAVE_EVERY + 2):
        assert prepared.add(n, records[n]) == []
    batch = prepared.add(0, records[0])
    assert batch == records[: SAVE_EVERY + 2]
    assert prepared.add(SAVE_EVERY + 2, records[SAVE_EVERY + 2]) == []  # one batch at a time
    prepared.saved(len(batch))
    for n in range(SAVE_EVERY + 3, 2 * SAVE_EVERY + 1):
        assert prepared.add(n, records[n]) == []
    batch = prepared.add(2 * SAVE_EVERY + 1, records[2 * SAVE_EVERY + 1])
    assert batch == records[SAVE_EVERY + 2 : 2 * SAVE_EVERY + 2]
    prepared.keep_all()  # that save failed: nothing more is handed out, nothing is lost
    assert prepared.add(2 * SAVE_EVERY + 2, records[2 * SAVE_EVERY + 2]) == []
    assert prepared.rest() == records[SAVE_EVERY + 2 :]


def test_the_backlog_holds_fetching_back_only_while_pages_wait_for_a_worker() -> None:
    async def go() -> list[str]:
        backlog = _Backlog(2)
        events: list[str] = []
        await backlog.room()  # empty: no wait
        first, second = backlog.holding(), backlog.holding()
        first.__enter__()
        second.__enter__()

        async def fetcher(name: str) -> None:
            await backlog.room()
            events.append(name)

        waiting = [asyncio.create_task(fetcher(name)) for name in ("a", "b", "c")]
        cancelled = asyncio.create_task(fetcher("never"))
        await asyncio.sleep(0.01)
        assert events == []  # two pages wait for a worker: no fetching
        cancelled.cancel()
        first.__exit__(None, None, None)  # one extracted: room for one fetch
        await asyncio.sleep(0.01)
        assert events == ["a"]
        second.__exit__(None, None, None)  # none waits: room for two
        await asyncio.gather(*waiting)
        return events

    assert asyncio.run(go()) == ["a", "b", "c"]


def test_an_entry_dated_only_by_its_update_is_published_then(
    store: Store, server: TestServer
) -> None:
    """Atom requires <updated>, not <published>: that date stands for the entry's, and the page
    is not searched for another (the costliest part of reading its metadata)."""
    server.add("/dated.html", body=article_page("Dated", story(700)))
    entries = [
        {"id": "urn:dated", "title": "Dated", "link": server.url("/dated.html"),
         "updated": "2026-11-20T10:30:00Z"},
    ]  # fmt: skip
    server.add("/dated.xml", body=atom("Dated", entries), content_type="application/atom+xml")
    config = parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/dated.xml')}\n"
    )
    assert run_poll(config, store).new == 1
    (row,) = store.query("SELECT published, content_source FROM articles")
    assert row["content_source"] == "page"
    assert row["published"].startswith("2026-11-20T10:30:00")


def test_read_feed_gives_each_entry_its_keys() -> None:
    from aggregator import dedup
    from aggregator.prepare import EntryKeys, read_feed

    items = [
        {"guid": "a", "title": "A", "link": "https://www.Example.com/a?utm_source=x"},
        {"guid": "b", "title": "B", "link": "https://news.example.org/b/"},
    ]
    body = rss("Feed", items).encode()
    feed, keys = read_feed(body, "https://example.com/feed.xml")
    assert keys == tuple(
        EntryKeys(
            dedup.entry_fingerprint(entry),
            dedup.canonical_url(entry.url or ""),
            entry.url and entry.url.split("/")[2].lower().removeprefix("www."),
        )
        for entry in feed.entries
    )
    assert [k.site for k in keys] == ["example.com", "news.example.org"]
