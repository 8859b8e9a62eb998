"""Extracting archived pages again: `aggregator reextract` against a real archive."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.extract import EXTRACTOR
from aggregator.reextract import ReextractSummary, reextract
from aggregator.store import Store
from aggregator.workers import WorkerPool
from tests.server import TestServer
from tests.test_boilerplate import SIGN_OFF, config_for, gazette, poll


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "archive.db") as s:
        yield s


def run(store: Store, pool: WorkerPool | None = None, **options: object) -> ReextractSummary:
    return asyncio.run(reextract(store, pool, **options))  # type: ignore[arg-type]


def snapshot(store: Store) -> list[dict[str, object]]:
    return store.query(
        "SELECT id, content, content_hash, word_count, extractor, extract_method,"
        " boilerplate_lines FROM articles ORDER BY id"
    )


def test_reextract_restores_stale_text_and_a_second_run_changes_nothing(
    store: Store, server: TestServer
) -> None:
    gazette(server, range(1, 13))
    poll(config_for(server), store)
    store.db.conn.execute(
        "UPDATE articles SET content = 'stale words from an old extractor',"
        " extractor = 'aggregator-extract/0' WHERE id IN (1, 2)"
    )
    store.db.conn.commit()
    assert len(store.search("stale")) == 2

    with WorkerPool(2) as pool:
        first = run(store, pool)
    assert (first.articles, first.failed) == (12, 0)
    assert first.changed >= 2
    assert store.search("stale") == []
    rows = snapshot(store)
    assert all(r["extractor"] == EXTRACTOR for r in rows)
    assert all("paragraph 3" in str(r["content"]) for r in rows)
    assert all(SIGN_OFF not in str(r["content"]) for r in rows)  # still learned: still removed

    before = snapshot(store)
    assert run(store).changed == 0
    assert snapshot(store) == before
    assert store.integrity_problems() == []


def test_reextract_applies_the_boilerplate_known_now(store: Store, server: TestServer) -> None:
    gazette(server, range(1, 13))
    poll(config_for(server), store)
    site = "127.0.0.1"
    store.forget_boilerplate(site)
    run(store)
    assert all(SIGN_OFF in str(r["content"]) for r in snapshot(store))  # nothing learned now
    assert store.learn_boilerplate(site, now=datetime.now(UTC)) >= 2  # learned again...
    assert all(SIGN_OFF not in str(r["content"]) for r in snapshot(store))  # ...and applied

    store.db.conn.execute("UPDATE articles SET extractor = 'aggregator-extract/0' WHERE id <= 3")
    store.db.conn.commit()
    outdated = run(store, outdated_only=True)
    assert outdated.articles == 3


def test_a_page_that_no_longer_extracts_leaves_the_article_as_it_was(
    store: Store, server: TestServer
) -> None:
    gazette(server, range(1, 13))
    poll(config_for(server), store)
    store.db.conn.execute(
        "UPDATE pages SET body = ? WHERE id = 1", (zlib.compress(b"<html><body></body></html>"),)
    )
    store.db.conn.execute("UPDATE pages SET body = x'00ff' WHERE id = 2")
    store.db.conn.commit()
    before = snapshot(store)
    summary = run(store)
    assert (summary.failed, summary.changed) == (2, 0)
    assert snapshot(store) == before


def test_reextract_from_the_command_line(folder: Path, server: TestServer) -> None:
    gazette(server, range(1, 13))
    server.add(
        "/other.xml", body="<rss version='2.0'><channel><title>Other</title></channel></rss>"
    )
    (folder / "feeds.yaml").write_text(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"feeds:\n  - url: {server.url('/gazette.xml')}\n    name: Gazette\n"
        f"  - url: {server.url('/other.xml')}\n    name: Other\n"
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], catch_exceptions=False).exit_code == 0

    result = runner.invoke(cli, ["reextract"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "re-extracted 12 articles: 0 changed, 0 pages gave no text" in result.output
    totals = json.loads(runner.invoke(cli, ["reextract", "--feed", "Other", "--json"]).output)
    assert totals == {"articles": 0, "changed": 0, "failed": 0}
    totals = json.loads(runner.invoke(cli, ["reextract", "--feed", "Gazette", "--json"]).output)
    assert totals["articles"] == 12
    assert runner.invoke(cli, ["reextract", "--feed", "Nope"]).exit_code == 2
    assert runner.invoke(cli, ["--db", str(folder / "none.db"), "reextract"]).exit_code == 1
