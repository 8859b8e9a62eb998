"""How one feed entry becomes an article: identity, duplicates, updates and revisions.

Functions of an open connection inside the writer's transaction (see ``Store.save_poll``).
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from aggregator import dedup
from aggregator.models import ArticleRecord, PageRecord, ReextractUpdate
from aggregator.store._schema import from_db_time, to_db_time


def _identity(record: ArticleRecord) -> tuple[str | None, ...]:
    """guid, url, canonical_url, title, author, published, updated: who the article is."""
    return (
        record.guid,
        record.url,
        record.canonical_url,
        record.title,
        record.author,
        to_db_time(record.published),
        to_db_time(record.updated),
    )


#: The columns of ``_quality``, in order.
_QUALITY_COLUMNS = (
    "site",
    "extractor",
    "extract_method",
    "extract_fallback",
    "extract_error",
    "page_words",
    "feed_words",
    "boilerplate_lines",
)


def _quality(record: ArticleRecord) -> tuple[str | int | None, ...]:
    """Where the text came from and how it was obtained (see ``ExtractionReport``)."""
    report = record.extraction
    return (
        record.site,
        report.extractor,
        report.method,
        report.fallback,
        report.error,
        report.page_words,
        report.feed_words,
        report.boilerplate_lines,
    )


class _Unindexed:
    """New articles not yet in the full-text index: they are indexed together, in one
    statement, when the batch ends (or before one of them changes).

    FTS5 writes its pending terms out as a new index segment at every statement that opens a
    savepoint; an insert trigger made one tiny segment per article, and merging them cost more
    than indexing the text.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._ids: set[int] = set()

    def add(self, article_id: int) -> None:
        self._ids.add(article_id)

    def before_change(self, article_id: int) -> None:
        """Index the pending articles if ``article_id`` is one (the update triggers take the
        old text out of the index, so it must be in)."""
        if article_id in self._ids:
            self.flush()

    def flush(self) -> None:
        if self._ids:
            self._conn.execute(
                """
                INSERT INTO articles_fts (rowid, title, summary, content, author)
                SELECT id, title, summary, content, author FROM articles
                WHERE id IN (SELECT value FROM json_each(?))
                """,
                (json.dumps(sorted(self._ids)),),
            )
            self._ids.clear()


def save_articles(
    conn: sqlite3.Connection, feed_id: int, records: Sequence[ArticleRecord], now: str | None
) -> Counter[str]:
    """``save_article`` for each of a feed's entries; returns how many had each outcome."""
    unindexed = _Unindexed(conn)
    outcomes = Counter(save_article(conn, feed_id, record, now, unindexed) for record in records)
    unindexed.flush()
    return outcomes


def save_article(
    conn: sqlite3.Connection,
    feed_id: int,
    record: ArticleRecord,
    now: str | None,
    unindexed: _Unindexed,
) -> str:
    """Attach one entry to its article, creating the article if the story is new (and adding
    it to ``unindexed``).

    Identity, in order: the same feed and entry id (an update); the same canonical URL
    (the entry's link or the page's canonical URL) under any feed; the same text.
    Returns 'new', 'updated', 'duplicate' or 'unchanged'.
    """
    page_id = _save_page(conn, record.page) if record.page else None
    row = conn.execute(
        "SELECT id, article_id FROM sightings WHERE feed_id = ? AND entry_id = ?",
        (feed_id, record.entry_id),
    ).fetchone() or _same_entry_new_id(conn, feed_id, record)
    if row is not None:
        sighting_id, article_id = row
        unindexed.before_change(article_id)
        conn.execute(
            "UPDATE sightings SET entry_id = ?, guid = ?, entry_hash = ?, url = ?, url_key = ?,"
            " last_seen = ? WHERE id = ?",
            (
                record.entry_id,
                record.guid,
                record.entry_hash,
                record.url,
                record.url_key,
                now,
                sighting_id,
            ),
        )
        changed = _update_article(conn, article_id, record, page_id, now)
        return "updated" if changed else "unchanged"

    article_id, reason = _find_same_story(conn, record)
    if article_id is None:
        article_id = _insert_article(conn, feed_id, record, page_id, now)
        unindexed.add(article_id)
        reason = "near-copy" if _link_near_copy(conn, article_id, record, now) else "new"
    else:
        unindexed.before_change(article_id)
        _adopt_if_earlier(conn, article_id, record, feed_id)
        _improve_article(conn, article_id, record, page_id)
    conn.execute(
        """
        INSERT INTO sightings (article_id, feed_id, entry_id, guid, url, url_key,
            entry_hash, reason, first_seen, last_seen)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            article_id,
            feed_id,
            record.entry_id,
            record.guid,
            record.url,
            record.url_key,
            record.entry_hash,
            reason,
            now,
            now,
        ),
    )
    return "new" if reason in ("new", "near-copy") else "duplicate"


def _same_entry_new_id(
    conn: sqlite3.Connection, feed_id: int, record: ArticleRecord
) -> tuple[int, int] | None:
    """The sighting of an entry the feed now gives another id (a CMS that rewrote its guids,
    or a reused guid told apart by its link): the same feed, link and title.

    Returns (sighting id, article id), or None.
    """
    if not (record.url_key and record.url_is_identity and record.title):
        return None
    row = conn.execute(
        """
        SELECT sightings.id, sightings.article_id FROM sightings
        JOIN articles ON articles.id = sightings.article_id
        WHERE sightings.feed_id = ? AND sightings.url_key = ? AND articles.title = ?
        ORDER BY sightings.id LIMIT 1
        """,
        (feed_id, record.url_key, record.title),
    ).fetchone()
    return (int(row[0]), int(row[1])) if row is not None else None


def _find_same_story(conn: sqlite3.Connection, record: ArticleRecord) -> tuple[int | None, str]:
    keys = [k for k in {record.url_key, record.canonical_url} if k and record.url_is_identity]
    if keys:
        marks = ", ".join("?" * len(keys))
        row = conn.execute(
            f"""
            SELECT id FROM articles WHERE canonical_url IN ({marks})
            UNION SELECT article_id FROM sightings WHERE url_key IN ({marks})
            ORDER BY 1 LIMIT 1
            """,
            keys + keys,
        ).fetchone()
        if row is not None:
            return int(row[0]), "same-url"
    if record.content_hash:
        row = conn.execute(
            "SELECT id FROM articles WHERE content_hash = ? ORDER BY id LIMIT 1",
            (record.content_hash,),
        ).fetchone()
        if row is not None:
            return int(row[0]), "same-text"
    return None, "new"


def _save_page(conn: sqlite3.Connection, page: PageRecord) -> int:
    conn.execute(
        """
        INSERT INTO pages (url, final_url, status, content_type, headers, fetched_at,
            sha256, body)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING
        """,
        (
            page.url,
            page.final_url,
            page.status,
            page.content_type,
            json.dumps(dict(page.headers)),
            to_db_time(page.fetched_at),
            page.sha256,
            page.body,
        ),
    )
    row = conn.execute("SELECT id FROM pages WHERE sha256 = ?", (page.sha256,)).fetchone()
    return int(row[0])


def _insert_article(
    conn: sqlite3.Connection,
    feed_id: int,
    record: ArticleRecord,
    page_id: int | None,
    now: str | None,
) -> int:
    cursor = conn.execute(
        """
        INSERT INTO articles (feed_id, guid, url, canonical_url, title, author, published,
            updated, summary, content, content_source, lang, word_count, content_hash,
            tags, page_id, first_seen, last_seen, site, extractor, extract_method,
            extract_fallback, extract_error, page_words, feed_words, boilerplate_lines)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            feed_id,
            *_identity(record),
            record.summary,
            record.content,
            record.content_source,
            record.lang,
            record.word_count,
            record.content_hash,
            json.dumps(list(record.tags)),
            page_id,
            now,
            now,
            *_quality(record),
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _update_article(
    conn: sqlite3.Connection,
    article_id: int,
    record: ArticleRecord,
    page_id: int | None,
    now: str | None,
) -> bool:
    """Apply an updated entry; keep the old text as a revision when it changed."""
    old = conn.execute(
        "SELECT title, content, content_hash, summary, author FROM articles WHERE id = ?",
        (article_id,),
    ).fetchone()
    title, content, content_hash, summary, author = old
    new_content = record.content if record.content is not None else content
    new_hash = record.content_hash if record.content is not None else content_hash
    if (title, content, summary, author) == (
        record.title,
        new_content,
        record.summary,
        record.author,
    ):
        conn.execute("UPDATE articles SET last_seen = ? WHERE id = ?", (now, article_id))
        return False
    if content is not None and new_content != content:
        conn.execute(
            "INSERT INTO revisions (article_id, title, content, content_hash, replaced_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (article_id, title, content, content_hash, now),
        )
    conn.execute(
        """
        UPDATE articles SET title = ?, author = ?, summary = ?, content = ?,
            content_hash = ?, updated = coalesce(?, updated), last_seen = ?,
            content_source = CASE WHEN ? IS NULL THEN content_source ELSE ? END,
            word_count = CASE WHEN ? IS NULL THEN word_count ELSE ? END,
            lang = coalesce(?, lang), page_id = coalesce(?, page_id)
        WHERE id = ?
        """,
        (
            record.title,
            record.author,
            record.summary,
            new_content,
            new_hash,
            to_db_time(record.updated),
            now,
            record.content,
            record.content_source,
            record.content,
            record.word_count,
            record.lang,
            page_id,
            article_id,
        ),
    )
    if record.content is not None:
        _set_quality(conn, article_id, record)
        if new_content != content:
            set_near_keys(conn, article_id, record.near_keys)
    return True


def _set_quality(conn: sqlite3.Connection, article_id: int, record: ArticleRecord) -> None:
    assignments = ", ".join(f"{column} = ?" for column in _QUALITY_COLUMNS)
    conn.execute(f"UPDATE articles SET {assignments} WHERE id = ?", (*_quality(record), article_id))


def _adopt_if_earlier(
    conn: sqlite3.Connection, article_id: int, record: ArticleRecord, feed_id: int
) -> None:
    """The original of a story is the copy published first: it gives the article its
    title, link and feed, whichever feed happened to be polled first."""
    date = to_db_time(record.published or record.updated)
    if date is None:
        return
    conn.execute(
        """
        UPDATE articles SET feed_id = ?, guid = ?, url = ?, canonical_url = ?, title = ?,
            author = coalesce(?, author), published = ?, updated = ?
        WHERE id = ? AND coalesce(published, updated, first_seen) > ?
        """,
        (
            feed_id,
            *_identity(record),
            article_id,
            date,
        ),
    )


def _improve_article(
    conn: sqlite3.Connection, article_id: int, record: ArticleRecord, page_id: int | None
) -> None:
    """A second sighting may bring the page text the first one lacked: keep the better."""
    if record.content_source != "page" or record.content is None:
        return
    cursor = conn.execute(
        """
        UPDATE articles SET content = ?, content_source = 'page', word_count = ?,
            content_hash = ?, lang = coalesce(lang, ?), page_id = coalesce(?, page_id)
        WHERE id = ? AND content_source != 'page' AND word_count < ?
        """,
        (
            record.content,
            record.word_count,
            record.content_hash,
            record.lang,
            page_id,
            article_id,
            record.word_count,
        ),
    )
    if cursor.rowcount:
        _set_quality(conn, article_id, record)
        set_near_keys(conn, article_id, record.near_keys)


def save_reextracted(conn: sqlite3.Connection, update: ReextractUpdate) -> int:
    """Apply a new extraction of an article's archived page; 1 if anything changed, else 0.

    Not a revision: the page is the same, only our reading of it changed.
    """
    report = update.extraction
    values = (
        update.content,
        update.content_source,
        update.word_count,
        update.content_hash,
        report.extractor,
        report.method,
        report.fallback,
        report.error,
        report.page_words,
        report.feed_words,
        report.boilerplate_lines,
    )
    cursor = conn.execute(
        """
        UPDATE articles SET content = ?, content_source = ?, word_count = ?, content_hash = ?,
            extractor = ?, extract_method = ?, extract_fallback = ?, extract_error = ?,
            page_words = ?, feed_words = ?, boilerplate_lines = ?, lang = coalesce(lang, ?)
        WHERE id = ? AND (content, content_source, word_count, content_hash, extractor,
            extract_method, extract_fallback, extract_error, page_words, feed_words,
            boilerplate_lines) IS NOT (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (*values, update.lang, update.article_id, *values),
    )
    if cursor.rowcount:
        set_near_keys(conn, update.article_id, update.near_keys)
    return cursor.rowcount


def _link_near_copy(
    conn: sqlite3.Connection, article_id: int, record: ArticleRecord, now: str | None
) -> bool:
    """Index a new article's near-duplicate keys; if it nearly copies a stored article, link
    the two (``duplicate_of``, ``similarity``) and say so.

    Candidates came out within ``dedup.NEAR_WINDOW_WEEKS`` of it and share at least
    ``NEAR_MIN_BANDS`` band keys; the one that overlaps most, at or above ``NEAR_THRESHOLD``,
    wins. The original of a cluster is the article published first (ties: the one seen first);
    every copy points at it directly.
    """
    if not record.near_keys or record.content is None:
        return False
    week = _week(to_db_time(record.published or record.updated) or now)
    found = find_near_copy(conn, record.near_keys, record.content, week)
    set_near_keys(conn, article_id, record.near_keys)
    if found is None:
        return False
    best, best_similarity = found
    (root,) = conn.execute(
        "SELECT coalesce(duplicate_of, id) FROM articles WHERE id = ?", (best,)
    ).fetchone()
    similarity = round(best_similarity, 4)
    if _published_before(conn, article_id, root):
        conn.execute(
            "UPDATE articles SET duplicate_of = ? WHERE duplicate_of = ?", (article_id, root)
        )
        conn.execute(
            "UPDATE articles SET duplicate_of = ?, similarity = ? WHERE id = ?",
            (article_id, similarity, root),
        )
    else:
        conn.execute(
            "UPDATE articles SET duplicate_of = ?, similarity = ? WHERE id = ?",
            (root, similarity, article_id),
        )
    return True


#: Near-duplicate candidates compared exactly, at most (the ones sharing the most bands).
_NEAR_CANDIDATES = 8
#: Articles read per band key, at most (the most recent).
_POSTINGS = 64


def find_near_copy(
    conn: sqlite3.Connection, keys: tuple[int, ...], text: str, week: int
) -> tuple[int, float] | None:
    """The stored article ``text`` (of ``week``, see ``dedup.near_week``) nearly copies, and
    their overlap, if any.

    The articles filed under its band keys in the weeks around ``week`` are read from the
    index, at most the ``_POSTINGS`` most recent of each key (so a band that many texts share
    costs no more than a rare one); the ``_NEAR_CANDIDATES`` articles sharing the most bands
    (at least ``NEAR_MIN_BANDS``) are compared exactly (``dedup.overlap``).
    """
    weeks = list(dedup.near_weeks(week))
    distinct = sorted(set(keys))
    week_marks, key_marks = ", ".join("?" * len(weeks)), ", ".join("?" * len(distinct))
    # All the keys' postings in one statement (a statement per key cost six times more) ...
    limit = _POSTINGS * len(distinct)
    postings = [
        article_id
        for (article_id,) in conn.execute(
            f"SELECT article_id FROM near_keys WHERE week IN ({week_marks})"
            f" AND key IN ({key_marks}) LIMIT ?",
            (*weeks, *distinct, limit + 1),
        )
    ]
    if len(postings) > limit:
        # ... unless some band is common: then each key's newest _POSTINGS only.
        lookup = (
            f"SELECT article_id FROM near_keys WHERE week IN ({week_marks})"
            " AND key = ? ORDER BY article_id DESC LIMIT ?"
        )
        postings = [
            article_id
            for key in distinct
            for (article_id,) in conn.execute(lookup, (*weeks, key, _POSTINGS))
        ]
    shared = Counter(postings)
    candidates = [
        article_id
        for article_id, count in sorted(shared.items(), key=lambda item: (-item[1], item[0]))
        if count >= dedup.NEAR_MIN_BANDS
    ][:_NEAR_CANDIDATES]
    if not candidates:
        return None
    mine = dedup.shingles(text)
    best, best_similarity = 0, 0.0
    for candidate in candidates:
        row = conn.execute("SELECT content FROM articles WHERE id = ?", (candidate,)).fetchone()
        similarity = dedup.overlap(mine, dedup.shingles(row[0] or "")) if row else 0.0
        if similarity > best_similarity:
            best, best_similarity = candidate, similarity
    return (best, best_similarity) if best_similarity >= dedup.NEAR_THRESHOLD else None


def _published_before(conn: sqlite3.Connection, first: int, second: int) -> bool:
    """Whether article ``first`` came out before ``second`` (ties: the one seen first)."""
    row = conn.execute(
        """
        SELECT (SELECT coalesce(published, updated, first_seen) FROM articles WHERE id = ?),
            (SELECT coalesce(published, updated, first_seen) FROM articles WHERE id = ?)
        """,
        (first, second),
    ).fetchone()
    return bool((row[0], first) < (row[1], second))


def set_near_keys(conn: sqlite3.Connection, article_id: int, keys: tuple[int, ...]) -> None:
    """Index an article's band keys in place of its previous ones, under the week it came out.

    The article keeps its own keys and their week (``near_sketch``, ``near_week``), so replacing
    them costs primary-key deletes rather than a second index on ``near_keys`` to maintain.
    """
    old, old_week, date = conn.execute(
        "SELECT near_sketch, near_week, coalesce(published, updated, first_seen)"
        " FROM articles WHERE id = ?",
        (article_id,),
    ).fetchone() or (None, None, None)
    if old:
        conn.executemany(
            "DELETE FROM near_keys WHERE week = ? AND key = ? AND article_id = ?",
            [(old_week, key, article_id) for key in unpack_keys(old)],
        )
    week = _week(date) if keys else None
    conn.executemany(
        "INSERT OR IGNORE INTO near_keys (week, key, article_id) VALUES (?, ?, ?)",
        [(week, key, article_id) for key in keys],
    )
    conn.execute(
        "UPDATE articles SET near_sketch = ?, near_week = ? WHERE id = ?",
        (pack_keys(keys), week, article_id),
    )


def _week(date: str | None) -> int:
    """``dedup.near_week`` of a database time (the current week when there is none)."""
    return dedup.near_week(from_db_time(date) or datetime.now(UTC))


def pack_keys(keys: tuple[int, ...]) -> bytes | None:
    return struct.pack(f">{len(keys)}q", *keys) if keys else None


def unpack_keys(packed: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{len(packed) // 8}q", packed)
