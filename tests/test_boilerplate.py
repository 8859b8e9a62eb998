"""Per-site boilerplate learned from the archive, and how each article's text was obtained."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator import boilerplate
from aggregator.cli import cli
from aggregator.config import Config, parse_config
from aggregator.extract import EXTRACTOR
from aggregator.fetch import Fetcher
from aggregator.pipeline import Pipeline, PollSummary
from aggregator.store import SCHEMA_VERSION, Store
from tests.server import TestServer
from tests.site import article_page, rss, story

SIGN_OFF = (
    "Maria Lopez covers the harbour and city hall for the Gazette. "
    "Send tips to the newsroom at any hour."
)
PITCH = "Get the Morning Gazette in your inbox every weekday at 6 a.m."


def test_site_of_names_the_host_without_www() -> None:
    assert boilerplate.site_of("https://WWW.Example.org:8443/a?b") == "example.org"
    assert boilerplate.site_of("http://127.0.0.1:5000/x") == "127.0.0.1"
    assert boilerplate.site_of(None) is None
    assert boilerplate.site_of("not a url") is None


def test_a_line_key_is_blind_to_case_spacing_and_punctuation_not_numbers() -> None:
    key = boilerplate.line_key
    same = key("©  2025 the GAZETTE — all rights reserved")
    assert key("© 2025 The Gazette. All rights reserved.") == same
    assert key("Week 12 in review") != key("Week 13 in review")
    assert key("Share this story") != key("Share this page")
    assert key(" — ") is None
    assert key("word " * 200) is None  # a paragraph, not boilerplate


def texts_with(line: str, count: int, total: int) -> list[str]:
    return ["\n\n".join([*story(n, 3), line] if n < count else story(n, 3)) for n in range(total)]


def test_learning_needs_enough_pages_and_a_share_of_them() -> None:
    assert boilerplate.learn(texts_with(SIGN_OFF, 7, 7)) == []  # too few articles to tell
    (learned,) = boilerplate.learn(texts_with(SIGN_OFF, 5, 10))
    assert (learned.line, learned.pages) == (SIGN_OFF, 5)
    assert boilerplate.learn(texts_with(SIGN_OFF, 4, 10)) == []  # under MIN_PAGES
    assert boilerplate.learn(texts_with(SIGN_OFF, 19, 200)) == []  # under MIN_SHARE
    assert [x.line for x in boilerplate.learn(texts_with(SIGN_OFF, 20, 200))] == [SIGN_OFF]


def test_a_line_repeated_within_one_article_counts_once() -> None:
    texts = ["\n\n".join([*story(n, 2), PITCH, PITCH, PITCH]) for n in range(4)]
    texts += ["\n\n".join(story(n, 2)) for n in range(10, 16)]
    assert boilerplate.learn(texts) == []


def test_strip_removes_learned_lines_and_never_empties_a_text() -> None:
    keys = frozenset({boilerplate.line_key(SIGN_OFF), boilerplate.line_key(PITCH)}) - {None}
    text = "\n\n".join([*story(1, 2), PITCH, "A list item\nAnother item", SIGN_OFF])
    cleaned, removed = boilerplate.strip(text, keys)
    assert removed == 2
    assert cleaned == "\n\n".join([*story(1, 2), "A list item\nAnother item"])
    assert boilerplate.strip("Short note.\n\n" + SIGN_OFF, keys) == (
        "Short note.\n\n" + SIGN_OFF,
        0,
    )
    assert boilerplate.strip(text, frozenset()) == (text, 0)


# --- learning in the archive and in the pipeline ----------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "archive.db") as s:
        yield s


def gazette_page(n: int) -> str:
    """An article page whose sign-off and pitch look like prose to any extractor."""
    return article_page(f"Gazette story {n}", [*story(n, 4), PITCH, SIGN_OFF])


def gazette(server: TestServer, stories: range) -> None:
    for n in stories:
        server.add(f"/gazette/{n}.html", body=gazette_page(n))
    items = [
        {"title": f"Gazette story {n}", "guid": f"g{n}", "link": server.url(f"/gazette/{n}.html")}
        for n in stories
    ]
    server.add("/gazette.xml", body=rss("Gazette", items), content_type="application/rss+xml")


def config_for(server: TestServer, *, learn: bool = True) -> Config:
    return parse_config(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"  learn_boilerplate: {str(learn).lower()}\n"
        f"feeds:\n  - url: {server.url('/gazette.xml')}\n"
    )


def poll(config: Config, store: Store) -> PollSummary:
    async def go() -> PollSummary:
        async with Fetcher.from_settings(config.settings) as fetcher:
            pipeline = Pipeline(config=config, store=store, fetcher=fetcher)
            try:
                return await pipeline.poll(store.feeds(urls=[f.url for f in config.feeds]))
            finally:
                pipeline.close()

    store.sync_feeds(config.feeds, now=datetime.now(UTC))
    return asyncio.run(go())


def contents(store: Store) -> list[str]:
    return [r["content"] for r in store.query("SELECT content FROM articles ORDER BY id")]


def test_the_archive_learns_a_sites_boilerplate_and_cleans_its_articles(
    store: Store, server: TestServer
) -> None:
    gazette(server, range(1, 13))
    config = config_for(server)
    summary = poll(config, store)
    assert summary.new == 12

    site = boilerplate.site_of(server.url("/"))
    learned = {row["line"] for row in store.learned_boilerplate(site)}
    assert {PITCH, SIGN_OFF} <= learned
    assert all("Maria Lopez" not in c and "Morning Gazette" not in c for c in contents(store))
    assert all("paragraph 3" in c for c in contents(store))  # the story itself stays
    assert store.search("Maria Lopez") == []  # the index follows the text
    rows = store.query("SELECT boilerplate_lines, content_hash, word_count FROM articles")
    assert all(r["boilerplate_lines"] >= 2 for r in rows)
    assert store.integrity_problems() == []

    # New articles of the site lose the learned lines as they arrive.
    gazette(server, range(1, 15))
    assert poll(config, store).new == 2
    new = store.query("SELECT content, boilerplate_lines FROM articles WHERE id > 12")
    assert [r["boilerplate_lines"] for r in new] == [2, 2]
    assert all(SIGN_OFF not in r["content"] for r in new)


def test_learning_can_be_turned_off(store: Store, server: TestServer) -> None:
    gazette(server, range(1, 13))
    poll(config_for(server, learn=False), store)
    assert store.learned_boilerplate() == []
    assert all(SIGN_OFF in c for c in contents(store))


def test_what_is_learned_stays_learned_and_can_be_forgotten(
    store: Store, server: TestServer
) -> None:
    gazette(server, range(1, 13))
    poll(config_for(server), store)
    site = boilerplate.site_of(server.url("/"))
    assert site is not None
    before = store.learned_boilerplate(site)
    assert store.learn_boilerplate(site, now=datetime.now(UTC)) == 0  # the lines are gone...
    assert store.learned_boilerplate(site) == before  # ...and still known
    assert store.forget_boilerplate(site) == len(before)
    assert store.site_boilerplate(site) == frozenset()


# --- how each article's text was obtained -----------------------------------------------------


def test_each_article_records_how_its_text_was_obtained(store: Store, server: TestServer) -> None:
    server.add("/ok.html", body=article_page("Fine page", story(1)))
    server.add("/pdf", body=b"%PDF-1.4", content_type="application/pdf")
    long_feed_text = " ".join(story(2, 12))
    items = [
        {"title": "Fine page", "guid": "ok", "link": server.url("/ok.html"),
         "description": "A short teaser."},
        {"title": "Gone page", "guid": "gone", "link": server.url("/gone.html"),
         "description": "The feed's words about a page that is gone."},
        {"title": "A PDF", "guid": "pdf", "link": server.url("/pdf"),
         "description": "The feed's words about a PDF."},
        {"title": "Long feed", "guid": "long", "link": server.url("/ok.html?copy=2"),
         "content": f"<p>{long_feed_text}</p>"},
    ]  # fmt: skip
    server.add("/gazette.xml", body=rss("Mixed", items), content_type="application/rss+xml")
    poll(config_for(server, learn=False), store)
    rows = {
        r["title"]: r
        for r in store.query(
            "SELECT title, content_source, extractor, extract_method, extract_fallback,"
            " extract_error, page_words, feed_words, site FROM articles"
        )
    }
    fine = rows["Fine page"]
    assert (fine["content_source"], fine["extractor"], fine["extract_fallback"]) == (
        "page",
        EXTRACTOR,
        None,
    )
    assert fine["extract_method"]
    assert fine["page_words"] > fine["feed_words"] == 3
    assert fine["site"] == "127.0.0.1"
    gone = rows["Gone page"]
    assert (gone["content_source"], gone["extract_fallback"]) == ("feed", "page-failed")
    assert "404" in gone["extract_error"]
    pdf = rows["A PDF"]
    assert pdf["extract_fallback"] == "page-failed"
    assert "not HTML" in pdf["extract_error"]
    long = rows["Long feed"]
    assert (long["content_source"], long["extract_fallback"]) == ("feed", "feed-longer")
    assert long["feed_words"] > long["page_words"] > 0


def test_status_and_the_boilerplate_command_show_it(folder: Path, server: TestServer) -> None:
    gazette(server, range(1, 13))
    server.add("/broken.xml", body=rss("Broken", [
        {"title": "Gone", "guid": "x", "link": server.url("/nothing-here.html")}
    ]), content_type="application/rss+xml")  # fmt: skip
    (folder / "feeds.yaml").write_text(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/gazette.xml')}\n"
        f"  - url: {server.url('/broken.xml')}\n"
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], catch_exceptions=False).exit_code == 0

    status = runner.invoke(cli, ["status"], catch_exceptions=False)
    assert status.exit_code == 0
    assert "12/12" in status.output
    assert "1 page gave no text" in status.output
    assert "404" in status.output
    assert "learned boilerplate: 2 lines on 1 sites" in status.output
    rows = json.loads(runner.invoke(cli, ["status", "--json"]).output)
    by_url = {row["url"]: row["extraction"] for row in rows}
    assert by_url[server.url("/gazette.xml")]["from_page"] == 12
    assert by_url[server.url("/broken.xml")]["page_failed"] == 1

    listed = runner.invoke(cli, ["boilerplate"], catch_exceptions=False)
    assert "Maria Lopez" in listed.output
    assert "12/12" in listed.output
    lines = json.loads(runner.invoke(cli, ["boilerplate", "127.0.0.1", "--json"]).output)
    assert {row["line"] for row in lines} == {PITCH, SIGN_OFF}
    forgot = runner.invoke(cli, ["boilerplate", "127.0.0.1", "--forget"])
    assert "forgot 2 learned lines" in forgot.output
    assert "no boilerplate learned" in runner.invoke(cli, ["boilerplate"]).output
    assert runner.invoke(cli, ["boilerplate", "--forget"]).exit_code == 2


def test_migrations_3_and_4_record_sites_and_index_archived_articles(tmp_path: Path) -> None:
    from aggregator.store._schema import MIGRATIONS

    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        migration(conn)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO feeds (url, added_at)"
        " VALUES ('https://a.example/feed', '2026-01-01T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO articles (feed_id, url, title, content, first_seen, last_seen) VALUES "
        "(1, 'https://www.a.example/1', 'Kept', 'old text', '2026-01-01T00:00:00Z', "
        "'2026-01-01T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO articles (feed_id, url, content, first_seen, last_seen) VALUES "
        "(1, 'https://b.example/2', ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        ("\n\n".join(story(7, 4)),),
    )
    conn.commit()
    conn.close()
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        rows = s.query("SELECT site, extractor, boilerplate_lines FROM articles ORDER BY id")
        assert rows[0] == {"site": "a.example", "extractor": None, "boilerplate_lines": 0}
        assert rows[1]["site"] == "b.example"
        # Migration 4 indexed the long one for near-duplicates.
        keys = s.query("SELECT article_id, count(*) AS n FROM near_keys GROUP BY article_id")
        assert keys == [{"article_id": 2, "n": 20}]
        assert s.integrity_problems() == []
