from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from aggregator.config import FeedConfig
from aggregator.errors import SearchError, StoreError
from aggregator.models import ArticleRecord, FeedFailure, FeedPoll
from aggregator.store import SCHEMA_VERSION, Store
from aggregator.store._schema import from_db_time, to_db_time

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BODY = " ".join(f"word{i}" for i in range(60))


def record(entry_id: str, **changes: object) -> ArticleRecord:
    base = ArticleRecord(
        entry_id=entry_id,
        entry_hash=f"h-{entry_id}",
        guid=entry_id,
        url=f"https://example.com/{entry_id}",
        url_key=f"https://example.com/{entry_id}",
        canonical_url=f"https://example.com/{entry_id}",
        title=f"Title {entry_id}",
        author="Ann",
        published=NOW,
        updated=None,
        summary="summary",
        content=f"{entry_id} {BODY}",
        content_source="page",
        lang="en",
        word_count=61,
        content_hash=f"text-{entry_id}",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def poll(feed_id: int, *articles: ArticleRecord, etag: str | None = '"v1"') -> FeedPoll:
    return FeedPoll(
        feed_id=feed_id,
        polled_at=NOW,
        status=200,
        etag=etag,
        last_modified=None,
        next_poll_at=NOW + timedelta(minutes=30),
        title="Feed",
        articles=articles,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "archive" / "archive.db")
    s.sync_feeds(
        [FeedConfig(url="https://a.example/feed"), FeedConfig(url="https://b.example/feed")],
        now=NOW,
    )
    return s


def feed_ids(store: Store) -> tuple[int, int]:
    a, b = store.feeds()
    return a.id, b.id


def test_new_archive_is_at_the_current_schema_in_wal_mode(store: Store) -> None:
    assert store.schema_version == SCHEMA_VERSION
    assert store.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (10000,)
    tables = {r["name"] for r in store.query("SELECT name FROM sqlite_master")}
    assert {"feeds", "articles", "sightings", "pages", "revisions", "articles_fts"} <= tables


def test_the_archive_opens_as_a_sqlite_utils_database_on_the_same_connection(
    store: Store,
) -> None:
    import sqlite_utils

    assert isinstance(store.db, sqlite_utils.Database)
    assert store.db.conn is store.conn
    assert store.db is store.db  # made once
    assert "articles" in store.db.table_names()


def test_an_empty_database_from_before_versioning_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION


def test_a_newer_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this aggregator"):
        Store(path)


def test_sync_feeds_adds_and_updates_without_duplicates(store: Store) -> None:
    store.sync_feeds([FeedConfig(url="https://a.example/feed", name="A", tags=("x",))], now=NOW)
    feeds = store.feeds()
    assert len(feeds) == 2
    assert (feeds[0].name, feeds[0].tags) == ("A", ("x",))


def test_new_duplicate_by_url_and_by_text(store: Store) -> None:
    a, b = feed_ids(store)
    assert store.save_poll(poll(a, record("1"))).new == 1
    same_url = record("other-guid", url_key="https://example.com/1", content_hash="t2")
    same_text = record("2", content_hash="text-1")
    counts = store.save_poll(poll(b, same_url, same_text))
    assert (counts.new, counts.duplicate) == (0, 2)
    assert store.counts()["articles"] == 1
    reasons = [r["reason"] for r in store.query("SELECT reason FROM sightings ORDER BY id")]
    assert reasons == ["new", "same-url", "same-text"]


def test_an_updated_entry_keeps_the_old_text_as_a_revision(store: Store) -> None:
    a, _ = feed_ids(store)
    store.save_poll(poll(a, record("1")))
    changed = record("1", entry_hash="h2", title="New title", content="changed " + BODY)
    assert store.save_poll(poll(a, changed)).updated == 1
    (article,) = store.query("SELECT title, content FROM articles")
    assert article == {"title": "New title", "content": "changed " + BODY}
    (revision,) = store.query("SELECT title, content FROM revisions")
    assert revision == {"title": "Title 1", "content": "1 " + BODY}


def test_fts_follows_inserts_and_updates(store: Store) -> None:
    a, _ = feed_ids(store)
    store.save_poll(poll(a, record("1", content="zebras " + BODY)))
    assert [h.article_id for h in store.search("zebras")] == [1]
    store.save_poll(poll(a, record("1", entry_hash="h2", content="giraffes " + BODY)))
    assert store.search("zebras") == []
    assert len(store.search("giraffe")) == 1  # porter stemming
    check = "INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')"
    store.db.conn.execute(check)


def test_fts_is_rewritten_only_when_an_indexed_value_changes(store: Store) -> None:
    a, _ = feed_ids(store)
    store.save_poll(poll(a, record("1", content="zebras " + BODY)))
    conn = store.db.conn

    def index_rows() -> list[tuple[int, bytes]]:
        return conn.execute("SELECT id, block FROM articles_fts_data ORDER BY id").fetchall()

    before = index_rows()
    conn.execute("UPDATE articles SET title = title, content = content, last_seen = 'x'")
    assert index_rows() == before
    conn.execute("UPDATE articles SET title = 'Okapis seen'")
    assert index_rows() != before
    assert [h.article_id for h in store.search("okapis")] == [1]
    assert [h.article_id for h in store.search("zebras")] == [1]
    assert store.integrity_problems() == []


def test_title_matches_rank_above_body_matches(store: Store) -> None:
    a, _ = feed_ids(store)
    body_hit = record("1", title="Something else", content="volcano " + BODY)
    title_hit = record("2", title="Volcano erupts", content="lava " + BODY)
    store.save_poll(poll(a, body_hit, title_hit))
    hits = store.search("volcano")
    assert [h.title for h in hits] == ["Volcano erupts", "Something else"]
    assert "\x02" in hits[1].snippet


def test_malformed_fts_query_is_a_search_error(store: Store) -> None:
    with pytest.raises(SearchError):
        store.search('"unbalanced')


def test_a_failed_write_leaves_everything_as_it_was(store: Store) -> None:
    a, _ = feed_ids(store)
    store.save_poll(poll(a, record("1")))
    broken = replace(record("2"), entry_id=None)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.save_poll(poll(a, record("3"), broken, etag='"v2"'))
    assert store.feeds()[0].etag == '"v1"'
    assert store.counts()["articles"] == 1


def test_record_failure_keeps_validators(store: Store) -> None:
    a, _ = feed_ids(store)
    store.save_poll(poll(a, record("1")))
    store.record_failure(
        FeedFailure(
            feed_id=a,
            polled_at=NOW,
            error="HTTP 500",
            status=500,
            next_poll_at=NOW + timedelta(hours=1),
            next_poll_reason="backoff",
            error_score=0.5,
        )
    )
    feed = store.feeds()[0]
    assert (feed.etag, feed.error_count, feed.last_error, feed.articles) == (
        '"v1"',
        1,
        "HTTP 500",
        1,
    )


def test_the_earliest_published_copy_is_the_original_whatever_the_order(store: Store) -> None:
    a, b = feed_ids(store)
    copy = record("copy", published=NOW, title="Reprint", content_hash="same")
    original = record("orig", published=NOW - timedelta(days=1), content_hash="same")
    store.save_poll(poll(b, copy))
    store.save_poll(poll(a, original))
    (article,) = store.query("SELECT feed_id, title, url FROM articles")
    assert article == {"feed_id": a, "title": "Title orig", "url": "https://example.com/orig"}


def test_migration_2_upgrades_a_version_1_archive_in_place(tmp_path: Path) -> None:
    from aggregator.store._schema import MIGRATIONS

    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO feeds (url, etag, error_count, added_at) "
        "VALUES ('https://a.example/feed', '\"e\"', 2, '2026-01-01T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO articles (feed_id, title, content, first_seen, last_seen) "
        "VALUES (1, 'Kept', 'old text survives', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    )
    conn.commit()
    conn.close()

    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        (feed,) = s.feeds()
        assert (feed.etag, feed.error_count, feed.active, feed.fetch_url) == ('"e"', 2, True, None)
        assert [h.title for h in s.search("survives")] == ["Kept"]
        assert s.daemon_state() is None
        assert s.integrity_problems() == []


def test_migration_10_keeps_how_the_last_polls_went_and_since_when_a_feed_fails(
    tmp_path: Path,
) -> None:
    from aggregator.store._schema import MIGRATIONS

    path = tmp_path / "v9.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:9]:
        migration(conn)
    conn.execute("PRAGMA user_version = 9")
    conn.execute(
        "INSERT INTO feeds (url, error_count, last_status, last_error, added_at) VALUES"
        " ('https://a.example/feed', 2, 404, 'HTTP 404 Not Found', '2026-01-01T00:00:00Z')"
    )
    conn.commit()
    conn.close()

    failure = FeedFailure(
        feed_id=1,
        polled_at=NOW,
        error="HTTP 404 Not Found",
        status=404,
        next_poll_at=NOW + timedelta(hours=1),
        next_poll_reason="backoff",
        error_score=1.0,
        outcome="h",
    )
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        (feed,) = s.feeds()
        assert (feed.error_count, feed.failing_since, feed.recent_polls) == (2, None, "")
        s.record_failure(failure)  # the run of failures began before the marks were kept
        assert (s.feeds()[0].failing_since, s.feeds()[0].recent_polls) == (None, "h")
        s.save_poll(replace(poll(1), outcome="c"))
        assert (s.feeds()[0].failing_since, s.feeds()[0].recent_polls) == (None, "hc")
        for hours in (1, 2):
            s.record_failure(replace(failure, polled_at=NOW + timedelta(hours=hours)))
        (feed,) = s.feeds()
        assert (feed.error_count, feed.failing_since) == (2, NOW + timedelta(hours=1))
        assert feed.recent_polls == "hchh"
        for _ in range(10):
            s.save_poll(replace(poll(1), outcome="3"))
            s.save_poll(replace(poll(1), outcome="i"))
        assert s.feeds()[0].recent_polls == "3i" * 10  # the last 20
        s.record_failure(replace(failure, retire="410 Gone", outcome="h"))
        s.revive(1)
        (feed,) = s.feeds()
        assert (feed.error_count, feed.failing_since, feed.disabled_reason) == (0, None, None)


# --- near-copies ------------------------------------------------------------------------------


def _prose(seed: int, words: int = 200) -> str:
    import random

    rng = random.Random(seed)
    vocabulary = [f"{a}{b}{c}" for a in "bdgkmp" for b in "aeiou" for c in "nrst"]
    return " ".join(rng.choice(vocabulary) for _ in range(words))


def near_record(entry_id: str, text: str, published: datetime | None = NOW) -> ArticleRecord:
    from aggregator import dedup

    return record(
        entry_id,
        content=text,
        content_hash=dedup.content_hash(text),
        near_keys=dedup.near_keys(dedup.shingles(text)),
        published=published,
    )


def by_guid(store: Store, columns: str) -> dict[str, dict[str, object]]:
    return {r["guid"]: r for r in store.query(f"SELECT guid, {columns} FROM articles")}


def test_a_near_copy_keeps_its_row_and_points_at_the_original(store: Store) -> None:
    a, b = feed_ids(store)
    original = _prose(1)
    copy = original.replace(original.split()[5], "changed", 1) + " " + _prose(99, 20)
    other = _prose(2)
    store.save_poll(poll(a, near_record("orig", original)))
    counts = store.save_poll(poll(b, near_record("copy", copy), near_record("other", other)))
    assert counts.new == 2
    rows = {
        r["guid"]: r for r in store.query("SELECT id, guid, duplicate_of, similarity FROM articles")
    }
    assert rows["copy"]["duplicate_of"] == rows["orig"]["id"]
    assert 0.8 < rows["copy"]["similarity"] < 1
    assert rows["orig"]["duplicate_of"] is None
    assert rows["other"]["duplicate_of"] is None
    reasons = {
        r["entry_id"]: r["reason"] for r in store.query("SELECT entry_id, reason FROM sightings")
    }
    assert reasons == {"orig": "new", "copy": "near-copy", "other": "new"}

    word = original.split()[7]
    (hit,) = [h for h in store.search(f'"{word}"') if h.title in ("Title orig", "Title copy")]
    assert (hit.title, hit.copies, hit.duplicate_of) == ("Title orig", 1, None)
    shown = {h.title: h for h in store.search(f'"{word}"', duplicates=True)}
    assert shown["Title copy"].duplicate_of == rows["orig"]["id"]


def test_a_band_many_texts_share_still_finds_the_copy(store: Store) -> None:
    from aggregator import dedup
    from aggregator.store._articles import _POSTINGS

    a, b = feed_ids(store)
    original = _prose(6)
    store.save_poll(poll(a, near_record("orig", original)))
    ((article_id, week, sketch),) = store.db.conn.execute(
        "SELECT id, near_week, near_sketch FROM articles"
    ).fetchall()
    common = sketch[:8]  # the first band key, filed under many more (made up) articles
    store.db.conn.executemany(
        "INSERT INTO near_keys (week, key, article_id) VALUES (?, ?, ?)",
        [
            (week, int.from_bytes(common, "big", signed=True), article_id + n)
            for n in range(1, _POSTINGS * dedup.NEAR_BANDS + 10)
        ],
    )
    store.save_poll(poll(b, near_record("copy", original + " tail words")))
    rows = by_guid(store, "id, duplicate_of")
    assert rows["copy"]["duplicate_of"] == rows["orig"]["id"]


def test_the_original_is_the_copy_published_first(store: Store) -> None:
    a, b = feed_ids(store)
    text = _prose(3)
    store.save_poll(poll(a, near_record("late", text + " coda words here", NOW)))
    store.save_poll(
        poll(a, near_record("later", text + " another ending", NOW + timedelta(hours=2)))
    )
    earliest = near_record("early", text + " first telling", NOW - timedelta(hours=3))
    store.save_poll(poll(b, earliest))
    rows = by_guid(store, "id, duplicate_of")
    early = rows["early"]["id"]
    assert rows["early"]["duplicate_of"] is None
    assert rows["late"]["duplicate_of"] == early
    assert rows["later"]["duplicate_of"] == early  # copies point at the original directly


def test_near_keys_follow_the_text_when_it_changes(store: Store) -> None:
    a, _ = feed_ids(store)
    store.save_poll(poll(a, near_record("x", _prose(4))))
    (article_id,) = [r["id"] for r in store.query("SELECT id FROM articles")]
    before = store.query("SELECT key FROM near_keys WHERE article_id = ?", [article_id])
    store.save_poll(poll(a, replace(near_record("x", _prose(5)), entry_hash="changed")))
    after = store.query("SELECT key FROM near_keys WHERE article_id = ?", [article_id])
    assert len(after) == len(before) == 20
    assert {r["key"] for r in after}.isdisjoint({r["key"] for r in before})
    # The new text is found by its own near-copies, the old one no longer.
    store.save_poll(poll(a, near_record("copy-of-new", _prose(5) + " tail")))
    store.save_poll(poll(a, near_record("copy-of-old", _prose(4) + " tail")))
    rows = {
        r["guid"]: r["duplicate_of"] for r in store.query("SELECT guid, duplicate_of FROM articles")
    }
    assert rows == {"x": None, "copy-of-new": article_id, "copy-of-old": None}


def test_entries_sharing_a_link_are_not_one_story_by_it(store: Store) -> None:
    a, _ = feed_ids(store)
    shared = {
        "url": "https://example.com/status",
        "url_key": "https://example.com/status",
        "canonical_url": "https://example.com/status",
        "url_is_identity": False,
    }
    store.save_poll(poll(a, record("s1", **shared), record("s2", **shared)))  # fmt: skip
    assert len(store.query("SELECT id FROM articles")) == 2


def test_search_filters_by_tag_language_period_and_sorts_by_date(tmp_path: Path) -> None:
    store = Store(tmp_path / "filters.db")
    store.sync_feeds(
        [
            FeedConfig(url="https://a.example/feed", tags=("Politics",)),
            FeedConfig(url="https://b.example/feed"),
        ],
        now=NOW,
    )
    a, b = (f.id for f in store.feeds())
    old = record("old", published=NOW - timedelta(days=10), lang="de", tags=("Wahl",))
    new = record("new", published=NOW - timedelta(days=1), lang="en")
    other = record("other", published=NOW - timedelta(days=5), lang="en", tags=("sport",))
    store.save_poll(poll(a, old, new))
    store.save_poll(poll(b, other))

    def titles(**options: object) -> list[str | None]:
        return [h.title for h in store.search("word5", **options)]  # type: ignore[arg-type]

    assert sorted(titles()) == ["Title new", "Title old", "Title other"]
    assert titles(newest_first=True) == ["Title new", "Title other", "Title old"]
    assert sorted(titles(tag="politics")) == ["Title new", "Title old"]  # the feed's tag
    assert titles(tag="WAHL") == ["Title old"]  # the entry's own category
    assert titles(lang="de") == ["Title old"]
    assert titles(until=NOW - timedelta(days=2), newest_first=True) == ["Title other", "Title old"]
    assert titles(since=NOW - timedelta(days=6), until=NOW - timedelta(days=2)) == ["Title other"]
    assert titles(tag="nothing") == []


def test_a_broad_query_is_ranked_among_recent_matches_widened_until_enough(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more matches than BROAD_MATCHES, the ranking looks at the most recent ones, and
    widens its window when the filters leave too few hits there."""
    monkeypatch.setattr("aggregator.store.BROAD_MATCHES", 3)
    a, _ = feed_ids(store)
    articles = [
        record(f"n{n}", published=NOW - timedelta(days=30 - n), title=f"Broad story {n}")
        for n in range(12)
    ]
    store.save_poll(poll(a, *articles))
    recent = [h.title for h in store.search("word5", limit=3)]
    assert len(recent) == 3
    assert set(recent) <= {f"Broad story {n}" for n in range(9, 12)}
    old = store.search("word5", limit=2, until=NOW - timedelta(days=25))
    assert len(old) == 2  # found by widening: the 3 most recent matches are all too new
    assert {h.title for h in old} <= {f"Broad story {n}" for n in range(5)}
    everything = store.search("word5", limit=50, newest_first=True)
    assert [h.title for h in everything] == [f"Broad story {n}" for n in range(11, -1, -1)]


def test_ranked_search_is_bm25_order_ties_newest_first(store: Store) -> None:
    from aggregator.store import BM25_WEIGHTS

    a, _ = feed_ids(store)
    texts = ["okapi okapi zebra", "zebra", "okapi", "okapi zebra zebra", "zebra okapi", "okapi"]
    store.save_poll(
        poll(a, *(record(f"r{n}", content=f"{text} {BODY}") for n, text in enumerate(texts)))
    )
    weights = ", ".join(map(str, BM25_WEIGHTS))
    for query in ("okapi", "okapi OR zebra", '"zebra okapi"'):
        expected = [
            rowid
            for (rowid,) in store.conn.execute(
                f"SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
                f" ORDER BY bm25(articles_fts, {weights}), rowid DESC",
                (query,),
            )
        ]
        assert [h.article_id for h in store.search(query)] == expected


def test_maintenance_merges_the_index_segments_within_its_time(store: Store) -> None:
    a, _ = feed_ids(store)
    for n in range(12):  # a segment per save
        store.save_poll(poll(a, record(f"m{n}", content=f"merged{n} okapi {BODY}")))
    conn = store.conn

    def merge_does_work() -> bool:
        before = conn.total_changes
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('merge', 2000)")
        return conn.total_changes - before >= 2

    assert store.maintain(seconds=0) is False  # no time: nothing merged, nothing claimed
    assert store.maintain() is True
    assert not merge_does_work()
    assert len(store.search("okapi", limit=50)) == 12
    assert [h.title for h in store.search("merged7")] == ["Title m7"]
    assert store.integrity_problems() == []


def test_pages_are_stored_with_zstandard_and_older_zlib_pages_still_read() -> None:
    import zlib

    from aggregator.store import compress_page, decompress_page

    body = b"<html><body>" + b"<p>A paragraph of the page.</p>" * 200 + b"</body></html>"
    packed = compress_page(body)
    assert packed.startswith(b"\x28\xb5\x2f\xfd")  # a zstandard frame
    assert len(packed) < len(body) / 10
    assert decompress_page(packed) == body
    assert decompress_page(zlib.compress(body, 6)) == body  # archives from before
    with pytest.raises(StoreError, match="cannot be decompressed"):
        decompress_page(b"\x00\xffnot a page")


# --- issue 8: the writer at scale -------------------------------------------------------------


def test_migration_7_files_near_keys_by_week_and_leaves_indexing_to_the_writer(
    tmp_path: Path,
) -> None:
    from aggregator import dedup
    from aggregator.store._articles import pack_keys
    from aggregator.store._schema import MIGRATIONS

    path = tmp_path / "v6.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:6]:
        migration(conn)
    conn.execute("PRAGMA user_version = 6")
    conn.execute(
        "INSERT INTO feeds (url, added_at) VALUES ('https://a.example/feed', '2026-01-01')"
    )
    text = _prose(7)
    keys = dedup.near_keys(dedup.shingles(text))
    conn.execute(
        "INSERT INTO articles (feed_id, title, content, published, first_seen, last_seen,"
        " near_sketch) VALUES (1, 'Kept', ?, '2026-11-20T08:00:00Z', '2026-11-28T00:00:00Z',"
        " '2026-11-28T00:00:00Z', ?)",
        (text, pack_keys(keys)),
    )
    conn.executemany("INSERT INTO near_keys (key, article_id) VALUES (?, 1)", [(k,) for k in keys])
    conn.commit()
    conn.close()

    week = dedup.near_week(datetime(2026, 11, 20, 8, tzinfo=UTC))
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        rows = s.query("SELECT week, key, article_id FROM near_keys ORDER BY key")
        assert rows == [{"week": week, "key": k, "article_id": 1} for k in sorted(keys)]
        assert s.query("SELECT near_week FROM articles") == [{"near_week": week}]
        triggers = {
            r["name"] for r in s.query("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        assert triggers == {"articles_ad", "articles_au"}
        assert [h.title for h in s.search(text.split()[3])] == ["Kept"]
        # The old article's near-copy, a few days later, is still found; new articles are
        # indexed for search by the writer.
        (feed,) = s.feeds()
        copy = near_record("copy", text + " with a new ending", NOW - timedelta(days=5))
        assert s.save_poll(poll(feed.id, replace(copy, title="Copy"))).new == 1
        assert s.query("SELECT duplicate_of FROM articles WHERE title = 'Copy'") == [
            {"duplicate_of": 1}
        ]
        assert {h.title for h in s.search(text.split()[3], duplicates=True)} == {"Kept", "Copy"}
        assert s.integrity_problems() == []


def test_near_copies_are_looked_for_among_articles_of_nearby_weeks(store: Store) -> None:
    a, b = feed_ids(store)
    text = _prose(8)
    store.save_poll(poll(a, near_record("orig", text, NOW - timedelta(days=40))))
    store.save_poll(poll(b, near_record("soon", text + " one more line", NOW - timedelta(days=36))))
    store.save_poll(poll(b, near_record("later", text + " another line", NOW)))
    rows = by_guid(store, "id, duplicate_of")
    assert rows["soon"]["duplicate_of"] == rows["orig"]["id"]
    assert rows["later"]["duplicate_of"] is None  # weeks apart: a story of its own
    # Identical text is one story however far apart (the content hash, not the index).
    store.save_poll(
        poll(b, replace(near_record("same", text, NOW), url_key="u", canonical_url="u"))
    )
    assert len(store.query("SELECT id FROM articles")) == 3


def test_articles_changed_in_the_poll_that_brings_them_stay_searchable(store: Store) -> None:
    """New articles are indexed at the end of their batch; one changed before that (the same
    entry twice, or a second link to it with the page's text) is indexed first."""
    a, b = feed_ids(store)
    short = record("x", content="feedtext only a summary", content_source="feed", word_count=4)
    longer = record("x2", url_key=short.url_key, content=f"pagetext {BODY}", word_count=61)
    twice = [record("y", content=f"draft {BODY}"), record("y", content=f"final {BODY}")]
    twice[1] = replace(twice[1], entry_hash="changed")
    store.save_poll(poll(a, short, longer, *twice))
    assert [h.title for h in store.search("pagetext OR feedtext")] == ["Title x"]
    assert [h.title for h in store.search("pagetext")] == ["Title x"]
    assert [h.title for h in store.search("final OR draft")] == ["Title y"]
    assert [h.title for h in store.search("final")] == ["Title y"]
    assert store.integrity_problems() == []
    later = record("z", content=f"laterword {BODY}")
    store.save_poll(poll(b, later))
    assert [h.title for h in store.search("laterword")] == ["Title z"]


def test_ranking_reads_past_the_best_matches_when_filters_drop_them(
    store: Store, tmp_path: Path
) -> None:
    """The best matches are ranked in the index alone and then filtered; when the filters
    leave too few (here every near-copy is folded), all the matches are read."""
    a, _ = feed_ids(store)
    copies = [
        record(f"c{n}", title=f"needle story {n}", content=f"needle {BODY}") for n in range(30)
    ]
    original = record("orig", title="Original", content=f"{BODY} needle")
    store.save_poll(poll(a, original, *copies))
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE articles SET duplicate_of = (SELECT id FROM articles WHERE guid = 'orig')"
                 " WHERE guid != 'orig'")  # fmt: skip
    conn.commit()
    conn.close()
    (hit,) = store.search("needle", limit=1)
    assert (hit.title, hit.copies) == ("Original", 30)
    assert len(store.search("needle", limit=5, duplicates=True)) == 5


NEW_YORK = timezone(-timedelta(hours=5))


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (datetime(2026, 11, 28, 9, 5, 7, 123456, tzinfo=UTC), "2026-11-28T09:05:07Z"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=NEW_YORK), "2026-01-02T08:04:05Z"),
        (datetime(5, 1, 1, tzinfo=UTC), "0005-01-01T00:00:00Z"),  # four digits: it sorts
    ],
)
def test_times_are_stored_as_utc_text_that_sorts_and_reads_back(when: datetime, text: str) -> None:
    assert to_db_time(when) == text
    assert from_db_time(text) == when.replace(microsecond=0)
