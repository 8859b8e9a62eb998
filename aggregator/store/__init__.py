"""The SQLite archive: schema, migrations, the writer's upserts, and the queries behind the CLI.

This is the only package that speaks SQL (``_schema``: migrations and formats; ``_articles``:
how an entry becomes an article). One ``Store`` owns one connection; use it from one
thread at a time (the pipeline gives it a thread of its own). Every write of a feed's poll is one
transaction: the feed's state is committed only together with the articles it produced.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from aggregator.config import FeedConfig
from aggregator.errors import SearchError, StoreError
from aggregator.models import HIGHLIGHT, FeedPoll, FeedState, SaveCounts, SearchHit
from aggregator.store._articles import save_article
from aggregator.store._schema import MIGRATIONS, SCHEMA_VERSION, from_db_time, to_db_time

__all__ = ["SCHEMA_VERSION", "Store", "from_db_time", "to_db_time"]

log = logging.getLogger(__name__)

#: bm25 weights of the FTS columns: title, summary, content, author.
BM25_WEIGHTS = (10.0, 4.0, 1.0, 2.0)


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
                outcome = save_article(conn, poll.feed_id, record, polled)
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
