"""The SQLite archive: schema, migrations, the writer's upserts, and the queries behind the CLI.

This is the only module that speaks SQL. One ``Store`` owns one connection; use it from one
thread at a time (the pipeline gives it a thread of its own). Every write of a feed's poll is one
transaction: the feed's state is committed only together with the articles it produced.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from aggregator.config import FeedConfig
from aggregator.errors import SearchError, StoreError
from aggregator.models import (
    HIGHLIGHT,
    ArticleRecord,
    FeedPoll,
    FeedState,
    PageRecord,
    SaveCounts,
    SearchHit,
)

log = logging.getLogger(__name__)

#: bm25 weights of the FTS columns: title, summary, content, author.
BM25_WEIGHTS = (10.0, 4.0, 1.0, 2.0)


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one inside the caller's transaction.

    (``executescript`` would commit the transaction first.)
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement.strip()[:80]}")


def _migration_1(conn: sqlite3.Connection) -> None:
    """The first schema: feeds, articles, sightings, pages, revisions and the FTS index."""
    _execute_script(
        conn,
        """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            name TEXT,
            title TEXT,
            site_url TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            etag TEXT,
            last_modified TEXT,
            last_polled_at TEXT,
            next_poll_at TEXT,
            last_status INTEGER,
            last_error TEXT,
            error_count INTEGER NOT NULL DEFAULT 0,
            disabled_reason TEXT,
            last_success_at TEXT,
            added_at TEXT NOT NULL
        );
        CREATE TABLE pages (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            final_url TEXT NOT NULL,
            status INTEGER NOT NULL,
            content_type TEXT,
            headers TEXT NOT NULL DEFAULT '{}',
            fetched_at TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            body BLOB NOT NULL
        );
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            feed_id INTEGER NOT NULL REFERENCES feeds(id),
            guid TEXT,
            url TEXT,
            canonical_url TEXT,
            title TEXT,
            author TEXT,
            published TEXT,
            updated TEXT,
            summary TEXT,
            content TEXT,
            content_source TEXT NOT NULL DEFAULT 'none',
            lang TEXT,
            word_count INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT,
            simhash TEXT,
            duplicate_of INTEGER REFERENCES articles(id),
            tags TEXT NOT NULL DEFAULT '[]',
            page_id INTEGER REFERENCES pages(id),
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL
        );
        CREATE INDEX articles_feed_id ON articles(feed_id);
        CREATE INDEX articles_canonical_url ON articles(canonical_url);
        CREATE INDEX articles_content_hash ON articles(content_hash);
        CREATE INDEX articles_published ON articles(published);
        CREATE INDEX articles_duplicate_of ON articles(duplicate_of);
        CREATE TABLE sightings (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            feed_id INTEGER NOT NULL REFERENCES feeds(id),
            entry_id TEXT NOT NULL,
            guid TEXT,
            url TEXT,
            url_key TEXT,
            entry_hash TEXT NOT NULL,
            reason TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            UNIQUE (feed_id, entry_id)
        );
        CREATE INDEX sightings_article_id ON sightings(article_id);
        CREATE INDEX sightings_url_key ON sightings(url_key);
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            title TEXT,
            content TEXT,
            content_hash TEXT,
            replaced_at TEXT NOT NULL
        );
        CREATE INDEX revisions_article_id ON revisions(article_id);
        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, summary, content, author,
            content=[articles], content_rowid=[id],
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts (rowid, title, summary, content, author)
            VALUES (new.id, new.title, new.summary, new.content, new.author);
        END;
        CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, summary, content, author)
            VALUES ('delete', old.id, old.title, old.summary, old.content, old.author);
        END;
        CREATE TRIGGER articles_au AFTER UPDATE OF title, summary, content, author ON articles
        BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, summary, content, author)
            VALUES ('delete', old.id, old.title, old.summary, old.content, old.author);
            INSERT INTO articles_fts (rowid, title, summary, content, author)
            VALUES (new.id, new.title, new.summary, new.content, new.author);
        END;
        """,
    )


#: Numbered migrations: ``MIGRATIONS[n - 1]`` upgrades a database from version n-1 to n.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migration_1,)
SCHEMA_VERSION = len(MIGRATIONS)


def to_db_time(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, the one time format in the database (sorts as text)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Store:
    """The archive at ``path`` (created and migrated on open)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self.db = sqlite_utils.Database(conn)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            self.db.enable_wal()
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the archive {self.path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot create the archive folder {self.path.parent}: {exc}") from exc

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.db.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the archive {self.path} has schema version {version}, newer than this "
                f"aggregator ({SCHEMA_VERSION}): upgrade aggregator"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                MIGRATIONS[number - 1](self.db.conn)
                self.db.conn.execute(f"PRAGMA user_version = {number}")
            log.info("event=migrated db=%s version=%d", self.path, number)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{action} failed: {exc}") from exc

    # --- feeds --------------------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[FeedConfig], *, now: datetime) -> None:
        """Add the configured feeds that are new and refresh the names and tags of the others."""
        with self._errors("updating the feed list"), self._transaction() as conn:
            conn.executemany(
                """
                INSERT INTO feeds (url, name, tags, added_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (url) DO UPDATE SET name = excluded.name, tags = excluded.tags
                """,
                [(f.url, f.name, json.dumps(list(f.tags)), to_db_time(now)) for f in feeds],
            )

    def feeds(self, urls: Iterable[str] | None = None) -> list[FeedState]:
        """Feed rows (all, or those with the given URLs), with their article counts."""
        sql = """
            SELECT feeds.*, (SELECT count(*) FROM sightings WHERE feed_id = feeds.id) AS n
            FROM feeds
        """
        args: list[str] = []
        if urls is not None:
            args = list(urls)
            sql += f" WHERE url IN ({', '.join('?' * len(args))})"
        with self._errors("reading feeds"):
            rows = self.db.conn.execute(sql + " ORDER BY id", args)
            columns = [c[0] for c in rows.description]
            return [_feed_state(dict(zip(columns, row, strict=True))) for row in rows]

    def record_failure(
        self,
        feed_id: int,
        *,
        polled_at: datetime,
        error: str,
        status: int | None,
        next_poll_at: datetime,
    ) -> None:
        """Note a failed poll; validators, title and articles stay as they were."""
        with self._errors("recording a failed poll"), self._transaction() as conn:
            conn.execute(
                """
                UPDATE feeds SET last_polled_at = ?, last_status = ?, last_error = ?,
                    error_count = error_count + 1, next_poll_at = ?
                WHERE id = ?
                """,
                (to_db_time(polled_at), status, error, to_db_time(next_poll_at), feed_id),
            )

    # --- what the pipeline asks before fetching pages -----------------------------------

    def entry_hashes(self, feed_id: int) -> dict[str, str]:
        """entry id -> fingerprint of every entry this feed delivered before."""
        with self._errors("reading known entries"):
            rows = self.db.conn.execute(
                "SELECT entry_id, entry_hash FROM sightings WHERE feed_id = ?", (feed_id,)
            )
            return dict(rows.fetchall())

    def known_url_keys(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` (canonical URLs) that already belong to an article."""
        keys = list(set(keys))
        found: set[str] = set()
        with self._errors("looking up known URLs"):
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                found.update(
                    row[0]
                    for row in self.db.conn.execute(
                        f"SELECT canonical_url FROM articles WHERE canonical_url IN ({marks})"
                        f" UNION SELECT url_key FROM sightings WHERE url_key IN ({marks})",
                        chunk + chunk,
                    )
                )
        return found

    # --- the writer ---------------------------------------------------------------------

    def save_poll(self, poll: FeedPoll) -> SaveCounts:
        """Store one feed's poll (state and articles) in one transaction."""
        new = updated = duplicate = 0
        polled = to_db_time(poll.polled_at)
        with self._errors("saving a poll"), self._transaction() as conn:
            conn.execute(
                """
                UPDATE feeds SET title = coalesce(?, title), site_url = coalesce(?, site_url),
                    etag = ?, last_modified = ?, last_polled_at = ?, last_success_at = ?,
                    last_status = ?, last_error = ?, error_count = 0, next_poll_at = ?
                WHERE id = ?
                """,
                (
                    poll.title,
                    poll.site_url,
                    poll.etag,
                    poll.last_modified,
                    polled,
                    polled,
                    poll.status,
                    f"warning: {poll.warning}" if poll.warning else None,
                    to_db_time(poll.next_poll_at),
                    poll.feed_id,
                ),
            )
            for record in poll.articles:
                outcome = self._save_article(conn, poll.feed_id, record, polled)
                if outcome == "new":
                    new += 1
                elif outcome == "updated":
                    updated += 1
                elif outcome == "duplicate":
                    duplicate += 1
            ids = list(poll.seen_entry_ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(
                    f"UPDATE sightings SET last_seen = ? WHERE feed_id = ? "
                    f"AND entry_id IN ({', '.join('?' * len(chunk))})",
                    [polled, poll.feed_id, *chunk],
                )
        return SaveCounts(new=new, updated=updated, duplicate=duplicate)

    def _save_article(
        self, conn: sqlite3.Connection, feed_id: int, record: ArticleRecord, now: str | None
    ) -> str:
        """Attach one entry to its article, creating the article if the story is new.

        Identity, in order: the same feed and entry id (an update); the same canonical URL
        (the entry's link or the page's canonical URL) under any feed; the same text.
        Returns 'new', 'updated', 'duplicate' or 'unchanged'.
        """
        page_id = self._save_page(conn, record.page) if record.page else None
        row = conn.execute(
            "SELECT id, article_id FROM sightings WHERE feed_id = ? AND entry_id = ?",
            (feed_id, record.entry_id),
        ).fetchone()
        if row is not None:
            sighting_id, article_id = row
            conn.execute(
                "UPDATE sightings SET entry_hash = ?, url = ?, url_key = ?, last_seen = ? "
                "WHERE id = ?",
                (record.entry_hash, record.url, record.url_key, now, sighting_id),
            )
            changed = self._update_article(conn, article_id, record, page_id, now)
            return "updated" if changed else "unchanged"

        article_id, reason = self._find_same_story(conn, record)
        if article_id is None:
            article_id = self._insert_article(conn, feed_id, record, page_id, now)
            reason = "new"
        else:
            self._adopt_if_earlier(conn, article_id, record, feed_id)
            self._improve_article(conn, article_id, record, page_id)
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
        return "new" if reason == "new" else "duplicate"

    @staticmethod
    def _find_same_story(conn: sqlite3.Connection, record: ArticleRecord) -> tuple[int | None, str]:
        keys = [k for k in {record.url_key, record.canonical_url} if k]
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

    @staticmethod
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

    @staticmethod
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
                tags, page_id, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                feed_id,
                record.guid,
                record.url,
                record.canonical_url,
                record.title,
                record.author,
                to_db_time(record.published),
                to_db_time(record.updated),
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
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @staticmethod
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
        return True

    @staticmethod
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
                record.guid,
                record.url,
                record.canonical_url,
                record.title,
                record.author,
                to_db_time(record.published),
                to_db_time(record.updated),
                article_id,
                date,
            ),
        )

    @staticmethod
    def _improve_article(
        conn: sqlite3.Connection, article_id: int, record: ArticleRecord, page_id: int | None
    ) -> None:
        """A second sighting may bring the page text the first one lacked: keep the better."""
        if record.content_source != "page" or record.content is None:
            return
        conn.execute(
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

    # --- reading ------------------------------------------------------------------------

    def search(
        self,
        fts_query: str,
        *,
        limit: int = 20,
        feed: str | None = None,
        since: datetime | None = None,
    ) -> list[SearchHit]:
        """Articles matching an FTS5 query, best first (bm25, title weighted highest).

        Duplicates are collapsed into their original. ``feed`` matches a feed's URL, name or
        title. Raises SearchError when FTS5 rejects the query.
        """
        where = ["articles_fts MATCH ?", "a.duplicate_of IS NULL"]
        args: list[Any] = [fts_query]
        if feed:
            where.append(
                "a.id IN (SELECT s.article_id FROM sightings s JOIN feeds f ON f.id = s.feed_id"
                " WHERE f.url = ? OR f.name = ? OR f.title = ?)"
            )
            args += [feed, feed, feed]
        if since:
            where.append("coalesce(a.published, a.first_seen) >= ?")
            args.append(to_db_time(since))
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        start, end = HIGHLIGHT
        sql = f"""
            SELECT a.id, a.title, a.url, coalesce(f.name, f.title, f.url), a.published,
                snippet(articles_fts, -1, '{start}', '{end}', '…', 24),
                bm25(articles_fts, {weights}) AS score
            FROM articles_fts
            JOIN articles a ON a.id = articles_fts.rowid
            JOIN feeds f ON f.id = a.feed_id
            WHERE {" AND ".join(where)}
            ORDER BY score
            LIMIT ?
        """
        args.append(limit)
        try:
            rows = self.db.conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if any(word in str(exc) for word in ("locked", "disk", "readonly", "no such table")):
                raise StoreError(f"search failed: {exc}") from exc
            # Anything else is FTS5 rejecting the query ("unterminated string", "syntax error").
            raise SearchError(f"cannot search for {fts_query!r}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"search failed: {exc}") from exc
        return [
            SearchHit(
                article_id=row[0],
                title=row[1],
                url=row[2],
                feed=row[3],
                published=from_db_time(row[4]),
                snippet=row[5] or "",
                rank=row[6],
            )
            for row in rows
        ]

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables."""
        with self._errors("counting rows"):
            return {
                table: int(self.db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("feeds", "articles", "sightings", "pages", "revisions")
            }

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts (for tests, benchmarks and reports)."""
        with self._errors("query"):
            cursor = self.db.conn.execute(sql, args)
            columns = [c[0] for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor]


def _feed_state(row: dict[str, Any]) -> FeedState:
    return FeedState(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        title=row["title"],
        site_url=row["site_url"],
        tags=tuple(json.loads(row["tags"] or "[]")),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_polled_at=from_db_time(row["last_polled_at"]),
        next_poll_at=from_db_time(row["next_poll_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        error_count=row["error_count"],
        disabled_reason=row["disabled_reason"],
        articles=row["n"],
    )
