"""The SQLite archive: schema, migrations, the writer's upserts, and the queries behind the CLI.

This is the only package that speaks SQL (``_schema``: migrations and formats; ``_articles``:
how an entry becomes an article). One ``Store`` owns one connection; use it from one
thread at a time (the pipeline gives it a thread of its own). Every write of a feed's poll is one
transaction: the feed's state is committed only together with the articles it produced.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from aggregator.boilerplate import LearnedLine, learn
from aggregator.config import FeedConfig
from aggregator.errors import ConfigError, SearchError, StoreError
from aggregator.health import RECENT_POLLS, FeedActivity
from aggregator.models import (
    HIGHLIGHT,
    ArticleRecord,
    ArticleVersion,
    FeedFailure,
    FeedPoll,
    FeedState,
    ReextractJob,
    ReextractUpdate,
    SaveCounts,
    SearchHit,
)
from aggregator.pages import compress_page, decompress_page
from aggregator.store import _export, _health, _sites
from aggregator.store._articles import save_articles, save_reextracted
from aggregator.store._export import ArchivedPage, ExportedArticle
from aggregator.store._schema import MIGRATIONS, SCHEMA_VERSION, from_db_time, to_db_time

if TYPE_CHECKING:
    import sqlite_utils

__all__ = [
    "SCHEMA_VERSION",
    "ArchiveLock",
    "ArchivedPage",
    "ExportedArticle",
    "Outcome",
    "Store",
    "compress_page",
    "decompress_page",
    "from_db_time",
    "to_db_time",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)

#: A query with more matches than this is first ranked among its most recent ones.
BROAD_MATCHES = 5_000

#: Time one maintenance may spend merging the full-text index's segments (the writer waits).
MERGE_SECONDS = 20.0
#: Pages of merged index written per transaction while merging.
MERGE_PAGES = 2000

#: bm25 weights of the FTS columns: title, summary, content, author.
BM25_WEIGHTS = (10.0, 4.0, 1.0, 2.0)


class ArchiveLock:
    """One writer process per archive: an exclusive lock on ``<archive>.lock``.

    The kernel drops the lock when the process ends, even by ``kill -9``, so a crash never
    leaves a stale lock behind.
    """

    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(f"{db_path}.lock")
        self._file: IO[str] | None = None

    def __enter__(self) -> ArchiveLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+")
        except OSError as exc:
            raise StoreError(f"cannot create the lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreError(
                f"the archive {str(self.path)[:-5]} is in use by {holder}: "
                "only one `aggregator run` or `aggregator poll` at a time"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"aggregator pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class Store:
    """The archive at ``path`` (created and migrated on open)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self.conn = conn
            self._db: sqlite_utils.Database | None = None
            self._together = False
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            # SQLite's own 2 MB page cache: 16 MB saved nothing measurable at 1M articles
            # (1,116-1,187 against 1,203-1,273 articles/s) and cost the writer 14 MB.
            conn.execute("PRAGMA journal_mode = wal")
            # The WAL is folded back into the database every 10,000 pages (40 MB), not 1,000:
            # a page that many commits rewrite (an index's) is copied back once, not each time.
            conn.execute("PRAGMA wal_autocheckpoint = 10000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the archive {self.path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot create the archive folder {self.path.parent}: {exc}") from exc

    @property
    def db(self) -> sqlite_utils.Database:
        """The archive as a ``sqlite_utils.Database`` on the store's connection, for scripts
        and tests (imported on first use: the store itself needs only the connection, and
        a poll's start-up is shorter without sqlite-utils)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the archive {self.path} has schema version {version}, newer than this "
                f"aggregator ({SCHEMA_VERSION}): upgrade aggregator"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                MIGRATIONS[number - 1](self.conn)
                self.conn.execute(f"PRAGMA user_version = {number}")
            log.info("event=migrated db=%s version=%d", self.path, number)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction of its own, or a savepoint inside ``run_together``'s."""
        conn = self.conn
        if self._together and conn.in_transaction:
            conn.execute("SAVEPOINT one")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # else SQLite already rolled everything back
                    conn.execute("ROLLBACK TO one")
                    conn.execute("RELEASE one")
                raise
            conn.execute("RELEASE one")
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def run_together(self, calls: Sequence[Callable[[], object]]) -> list[Outcome]:
        """Run ``calls`` (this store's methods) in order in one transaction, each in a savepoint:
        one that fails is rolled back alone, and their changes are committed together (a
        commit writes out every index page a call touched, so one commit for several feeds'
        polls costs less than one each). Returns each call's outcome; when the transaction
        itself fails, every call that had succeeded fails with its error.
        """
        conn = self.conn
        if len(calls) == 1 or conn.in_transaction:
            return [Outcome.of(call) for call in calls]
        with self._errors("saving"):
            conn.execute("BEGIN IMMEDIATE")
        outcomes: list[Outcome] = []
        self._together = True
        try:
            for call in calls:
                outcomes.append(Outcome.of(call))
                if not conn.in_transaction:  # SQLite rolled it back (disk full, I/O error)
                    break
            with self._errors("saving"):
                if not conn.in_transaction:
                    raise sqlite3.OperationalError("the transaction was rolled back")
                conn.execute("COMMIT")
        except StoreError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            lost = Outcome(ok=False, value=exc)
            outcomes = [o if not o.ok else lost for o in outcomes]
        finally:
            self._together = False
        # The calls after a rollback run each in a transaction of its own.
        return outcomes + [Outcome.of(call) for call in calls[len(outcomes) :]]

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{action} failed: {exc}") from exc

    # --- feeds --------------------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[FeedConfig], *, now: datetime) -> None:
        """Make the archive's feed list match feeds.yaml.

        New feeds are added (due at once), listed ones get their name and tags refreshed, and
        feeds no longer listed become inactive: they are not polled, their articles stay.
        """
        with self._errors("updating the feed list"), self._transaction() as conn:
            conn.execute("UPDATE feeds SET active = 0 WHERE active = 1")
            conn.executemany(
                """
                INSERT INTO feeds (url, name, tags, added_at, active) VALUES (?, ?, ?, ?, 1)
                ON CONFLICT (url) DO UPDATE SET name = excluded.name, tags = excluded.tags,
                    active = 1
                """,
                [(f.url, f.name, json.dumps(list(f.tags)), to_db_time(now)) for f in feeds],
            )

    def feeds(
        self, urls: Iterable[str] | None = None, *, active_only: bool = False
    ) -> list[FeedState]:
        """Feed rows (all, or those with the given URLs), with their article counts."""
        where: list[str] = []
        args: list[str] = []
        if urls is not None:
            args = list(urls)
            where.append(f"url IN ({', '.join('?' * len(args))})")
        if active_only:
            where.append("active = 1")
        return self._feed_rows(" WHERE " + " AND ".join(where) if where else "", args)

    def feed_ids(self, names: Sequence[str]) -> list[int]:
        """The ids of the feeds named by URL, name or title; ConfigError (a usage error)
        naming the first the archive does not have."""
        known = self.feeds()
        ids: list[int] = []
        for name in names:
            matches = [f.id for f in known if name in (f.url, f.name, f.title)]
            if not matches:
                raise ConfigError(f"no feed named or at {name!r} in the archive")
            ids += matches
        return ids

    def due_feeds(
        self, now: datetime, *, limit: int, exclude: Iterable[int] = ()
    ) -> list[FeedState]:
        """Active feeds whose time has come (never polled first, then the most overdue),
        except retired ones, those under a server's Retry-After, and ``exclude``."""
        skip = list(exclude)
        marks = ", ".join("?" * len(skip))
        stamp = to_db_time(now)
        return self._feed_rows(
            f"""
            WHERE active = 1 AND disabled_reason IS NULL
                AND (next_poll_at IS NULL OR next_poll_at <= ?)
                AND (not_before IS NULL OR not_before <= ?)
                {f"AND id NOT IN ({marks})" if skip else ""}
            ORDER BY next_poll_at IS NOT NULL, next_poll_at LIMIT ?
            """,
            [stamp, stamp, *skip, limit],
        )

    def _feed_rows(self, clause: str, args: Sequence[Any]) -> list[FeedState]:
        sql = (
            "SELECT feeds.*, (SELECT count(*) FROM sightings WHERE feed_id = feeds.id) AS n "
            "FROM feeds " + clause
        )
        if "ORDER BY" not in clause:
            sql += " ORDER BY id"
        with self._errors("reading feeds"):
            rows = self.conn.execute(sql, args)
            columns = [c[0] for c in rows.description]
            return [_feed_state(dict(zip(columns, row, strict=True))) for row in rows]

    def record_failure(self, failure: FeedFailure) -> None:
        """Note a failed poll; validators, title and articles stay as they were. The first
        failure after a success starts the feed's ``failing_since``."""
        with self._errors("recording a failed poll"), self._transaction() as conn:
            conn.execute(
                """
                UPDATE feeds SET last_polled_at = ?, last_status = ?, last_error = ?,
                    error_count = error_count + 1, error_score = ?, next_poll_at = ?,
                    next_poll_reason = ?, not_before = ?,
                    disabled_reason = coalesce(?, disabled_reason),
                    retired_at = CASE WHEN ? IS NULL THEN retired_at ELSE ? END,
                    failing_since = CASE WHEN error_count = 0 THEN ? ELSE failing_since END,
                    recent_polls = substr(recent_polls || ?, -?)
                WHERE id = ?
                """,
                (
                    to_db_time(failure.polled_at),
                    failure.status,
                    failure.error,
                    failure.error_score,
                    to_db_time(failure.next_poll_at),
                    failure.next_poll_reason,
                    to_db_time(failure.not_before),
                    failure.retire,
                    failure.retire,
                    to_db_time(failure.polled_at),
                    to_db_time(failure.polled_at),
                    failure.outcome,
                    RECENT_POLLS,
                    failure.feed_id,
                ),
            )

    def revive(self, feed_id: int) -> None:
        """Poll a retired feed again, at once, with its error history cleared."""
        with self._errors("reviving a feed"), self._transaction() as conn:
            conn.execute(
                """
                UPDATE feeds SET disabled_reason = NULL, retired_at = NULL, error_count = 0,
                    error_score = 0, next_poll_at = NULL, next_poll_reason = 'revived',
                    not_before = NULL, failing_since = NULL
                WHERE id = ?
                """,
                (feed_id,),
            )

    def adopt_moved_url(self, feed_id: int) -> str:
        """Make a moved feed's new URL its identity (after feeds.yaml was rewritten)."""
        with self._errors("renaming a moved feed"), self._transaction() as conn:
            row = conn.execute("SELECT fetch_url FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            if row is None or row[0] is None:
                raise StoreError(f"feed {feed_id} has not moved")
            conn.execute(
                "UPDATE feeds SET url = fetch_url, fetch_url = NULL WHERE id = ?", (feed_id,)
            )
            return str(row[0])

    def entry_times(self, feed_id: int, *, limit: int = 200) -> list[datetime]:
        """When this feed's recent entries appeared (published date, else first seen)."""
        with self._errors("reading entry times"):
            rows = self.conn.execute(
                """
                SELECT coalesce(a.published, s.first_seen) AS t FROM sightings s
                JOIN articles a ON a.id = s.article_id
                WHERE s.feed_id = ? ORDER BY s.id DESC LIMIT ?
                """,
                (feed_id, limit),
            )
            return [t for (value,) in rows if (t := from_db_time(value)) is not None]

    def maintain(self, *, seconds: float = MERGE_SECONDS) -> bool:
        """Housekeeping for a long-running archive: merge the full-text index's segments (for
        up to ``seconds``, a transaction per ``MERGE_PAGES`` pages written), refresh planner
        statistics, and fold the WAL back into the database. Returns whether the index is
        merged (else the next maintenance goes on).

        Every search probes every segment: at 100,000 articles, 14 segments merged into 3 made
        a newest-first search of a frequent word 4-6 -> 2.1-2.7 ms.
        """
        with self._errors("maintenance"):
            deadline = time.monotonic() + seconds
            merged = False
            while not merged and time.monotonic() < deadline:
                before = self.conn.total_changes
                with self._transaction() as conn:
                    conn.execute(
                        "INSERT INTO articles_fts (articles_fts, rank) VALUES ('merge', ?)",
                        (MERGE_PAGES,),
                    )
                merged = self.conn.total_changes - before < 2  # FTS5's sign of nothing to do
            self.conn.execute("PRAGMA optimize")
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return merged

    def integrity_problems(self) -> list[str]:
        """What ``PRAGMA integrity_check`` and the FTS index's own check find (empty: none)."""
        with self._errors("integrity check"):
            found = [row[0] for row in self.conn.execute("PRAGMA integrity_check")]
            problems = [p for p in found if p != "ok"]
            try:
                self.conn.execute(
                    "INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)"
                )
            except sqlite3.DatabaseError as exc:
                problems.append(f"articles_fts: {exc}")
            return problems

    # --- the daemon's heartbeat -------------------------------------------------------------

    def daemon_started(self, *, pid: int, host: str, now: datetime) -> None:
        with self._errors("recording the daemon's start"), self._transaction() as conn:
            conn.execute(
                """
                INSERT INTO daemon (id, pid, host, started_at, last_tick_at, stopped_at)
                VALUES (1, ?, ?, ?, NULL, NULL)
                ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host,
                    started_at = excluded.started_at, last_tick_at = NULL, stopped_at = NULL
                """,
                (pid, host, to_db_time(now)),
            )

    def daemon_tick(self, now: datetime) -> None:
        with self._errors("recording the daemon's heartbeat"), self._transaction() as conn:
            conn.execute("UPDATE daemon SET last_tick_at = ? WHERE id = 1", (to_db_time(now),))

    def daemon_stopped(self, now: datetime) -> None:
        with self._errors("recording the daemon's stop"), self._transaction() as conn:
            conn.execute("UPDATE daemon SET stopped_at = ? WHERE id = 1", (to_db_time(now),))

    def daemon_state(self) -> dict[str, Any] | None:
        """pid, host, started_at, last_tick_at, stopped_at of the last daemon (None: never ran)."""
        rows = self.query("SELECT pid, host, started_at, last_tick_at, stopped_at FROM daemon")
        if not rows:
            return None
        state = rows[0]
        for key in ("started_at", "last_tick_at", "stopped_at"):
            state[key] = from_db_time(state[key])
        return state

    # --- what the pipeline asks before fetching pages -----------------------------------

    def entry_hashes(self, feed_id: int) -> dict[str, str]:
        """entry id -> fingerprint of every entry this feed delivered before."""
        with self._errors("reading known entries"):
            rows = self.conn.execute(
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
                    for row in self.conn.execute(
                        f"SELECT canonical_url FROM articles WHERE canonical_url IN ({marks})"
                        f" UNION SELECT url_key FROM sightings WHERE url_key IN ({marks})",
                        chunk + chunk,
                    )
                )
        return found

    # --- the writer ---------------------------------------------------------------------

    def save_poll(self, poll: FeedPoll) -> SaveCounts:
        """Store one feed's poll (state and articles) in one transaction."""
        polled = to_db_time(poll.polled_at)
        # Articles are stamped when they reach the archive, not when their poll began (pages
        # may take minutes): a digest "since its last run" then misses none.
        saved = to_db_time(poll.saved_at or datetime.now(UTC))
        with self._errors("saving a poll"), self._transaction() as conn:
            conn.execute(
                """
                UPDATE feeds SET title = coalesce(?, title), site_url = coalesce(?, site_url),
                    etag = ?, last_modified = ?, last_polled_at = ?, last_success_at = ?,
                    last_status = ?, last_error = ?, error_count = 0, error_score = 0,
                    next_poll_at = ?, next_poll_reason = ?, interval = ?, not_before = NULL,
                    hint_interval = CASE WHEN ? THEN ? ELSE hint_interval END,
                    body_sha256 = coalesce(?, body_sha256),
                    moved_at = CASE WHEN ? IS NULL OR ? IS fetch_url THEN moved_at ELSE ? END,
                    fetch_url = coalesce(?, fetch_url), failing_since = NULL,
                    recent_polls = substr(recent_polls || ?, -?)
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
                    poll.next_poll_reason,
                    poll.interval,
                    poll.parsed,
                    poll.hint_interval,
                    poll.body_sha256,
                    poll.moved_to,
                    poll.moved_to,
                    polled,
                    poll.moved_to,
                    poll.outcome,
                    RECENT_POLLS,
                    poll.feed_id,
                ),
            )
            counts = _save_articles(conn, poll.feed_id, poll.articles, saved)
            ids = list(poll.seen_entry_ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(
                    f"UPDATE sightings SET last_seen = ? WHERE feed_id = ? "
                    f"AND entry_id IN ({', '.join('?' * len(chunk))})",
                    [polled, poll.feed_id, *chunk],
                )
        return counts

    def save_articles(
        self, feed_id: int, articles: Sequence[ArticleRecord], *, saved_at: datetime | None = None
    ) -> SaveCounts:
        """Store some of a feed's articles in one transaction before its poll is saved: a feed
        whose pages take long is archived as it goes (``save_poll`` then stores the rest and
        the feed's state, validators included, so an interrupted poll is done again)."""
        saved = to_db_time(saved_at or datetime.now(UTC))
        with self._errors("saving articles"), self._transaction() as conn:
            return _save_articles(conn, feed_id, articles, saved)

    # --- reading ------------------------------------------------------------------------

    def search(
        self,
        fts_query: str,
        *,
        limit: int = 20,
        feed: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        tag: str | None = None,
        lang: str | None = None,
        duplicates: bool = False,
        newest_first: bool = False,
    ) -> list[SearchHit]:
        """Articles matching an FTS5 query, best first (bm25, title weighted highest) or
        newest first (their ``rank`` is then 0).

        A query matching more than ``BROAD_MATCHES`` articles is ranked among its most recent
        ``BROAD_MATCHES`` matches (sorted by date: its most recent ``3 * limit``), a window
        widened (x8 each time) until it yields ``limit`` hits. Near-copies are collapsed into
        their original (each hit counts its copies), unless ``duplicates``. ``feed`` matches a
        feed's URL, name or title (any feed that carried the story); ``tag`` an article's
        category or a tag of a feed that carried it (case ignored); ``lang`` the article's
        language code; ``since``/``until`` its publication (else first-seen) time. Raises
        SearchError when FTS5 rejects the query.
        """
        where = ["articles_fts MATCH ?"]
        if not duplicates:
            where.append("a.duplicate_of IS NULL")
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
        if until:
            where.append("coalesce(a.published, a.first_seen) < ?")
            args.append(to_db_time(until))
        if tag:
            where.append(
                "(EXISTS (SELECT 1 FROM json_each(a.tags) WHERE lower(value) = lower(?))"
                " OR a.id IN (SELECT s.article_id FROM sightings s JOIN feeds tf"
                " ON tf.id = s.feed_id, json_each(tf.tags) t WHERE lower(t.value) = lower(?)))"
            )
            args += [tag, tag]
        if lang:
            where.append("lower(a.lang) = lower(?)")
            args.append(lang)
        filters = " AND ".join(where[1:]) or "1"
        # First the ids of the page of hits (cheap columns only: the sort may see every
        # match), then snippets and counts for those few. Newest first: no bm25 (its rank is
        # 0); the window's matches are found once, then sorted by date among themselves.
        by_date = f"""
            SELECT a.id, 0.0 FROM articles a
            WHERE a.id IN (SELECT value FROM json_each(?)) AND {filters}
            ORDER BY coalesce(a.published, a.first_seen) DESC, a.id DESC
            LIMIT ?
        """
        start, end = HIGHLIGHT
        details = f"""
            SELECT a.id, a.title, a.url, coalesce(f.name, f.title, f.url), a.published,
                snippet(articles_fts, -1, '{start}', '{end}', '…', 24),
                (SELECT count(*) FROM articles c WHERE c.duplicate_of = a.id),
                a.duplicate_of,
                (SELECT count(DISTINCT s.feed_id) FROM sightings s WHERE s.article_id = a.id)
            FROM articles_fts
            JOIN articles a ON a.id = articles_fts.rowid
            JOIN feeds f ON f.id = a.feed_id
            WHERE articles_fts MATCH ? AND articles_fts.rowid IN (SELECT value FROM json_each(?))
        """
        try:
            # A query matching very many articles is ranked among its most recent matches
            # only (a window of rowids), widened until it gives enough hits: scoring every
            # match of a frequent word is what makes plain FTS5 slow on a large archive.
            window = 3 * limit if newest_first else BROAD_MATCHES
            while True:
                if newest_first:
                    newest = self._newest_matches(fts_query, window)
                    found = self.conn.execute(
                        by_date, [json.dumps(newest), *args[1:], limit]
                    ).fetchall()
                    complete = len(newest) < window
                else:
                    scored = self._scored_newest(fts_query, window)
                    found = self._best_kept(scored, filters, args[1:], limit)
                    complete = len(scored) < window
                if len(found) >= limit or complete:
                    break
                window *= 8
            scores = dict(found)
            rows = self.conn.execute(details, [fts_query, json.dumps(list(scores))]).fetchall()
        except sqlite3.OperationalError as exc:
            if any(word in str(exc) for word in ("locked", "disk", "readonly", "no such table")):
                raise StoreError(f"search failed: {exc}") from exc
            # Anything else is FTS5 rejecting the query ("unterminated string", "syntax error").
            raise SearchError(f"cannot search for {fts_query!r}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"search failed: {exc}") from exc
        by_id = {row[0]: row for row in rows}
        return [
            SearchHit(
                article_id=article_id,
                title=row[1],
                url=row[2],
                feed=row[3],
                published=from_db_time(row[4]),
                snippet=row[5] or "",
                rank=score,
                copies=row[6],
                duplicate_of=row[7],
                feeds=max(1, row[8]),
            )
            for article_id, score in scores.items()
            if (row := by_id.get(article_id)) is not None
        ]

    def history(self, article_id: int) -> list[ArticleVersion]:
        """Every version of an article's text, oldest first; the last is the current one.

        Raises StoreError when there is no such article.
        """
        with self._errors("reading an article's history"):
            current = self.conn.execute(
                "SELECT title, content, coalesce(updated, last_seen) FROM articles WHERE id = ?",
                (article_id,),
            ).fetchone()
            if current is None:
                raise StoreError(f"there is no article #{article_id} in the archive")
            rows = self.conn.execute(
                "SELECT title, content, replaced_at FROM revisions WHERE article_id = ?"
                " ORDER BY id",
                (article_id,),
            ).fetchall()
        versions = []
        since = None
        for title, content, replaced_at in rows:
            until = from_db_time(replaced_at)
            versions.append(ArticleVersion(title=title, content=content, since=since, until=until))
            since = until
        versions.append(
            ArticleVersion(title=current[0], content=current[1], since=since, until=None)
        )
        return versions

    def _scored_newest(self, fts_query: str, n: int) -> list[tuple[int, float]]:
        """(rowid, bm25) of the query's ``n`` most recent matches, best first (ties: newest
        first), scored as FTS5 walks its doclists in rowid order: one pass, where finding the
        window and then scoring it took two (a phrase's positions were checked twice)."""
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        rows = self.conn.execute(
            f"SELECT rowid, bm25(articles_fts, {weights}) FROM articles_fts"
            " WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
            (fts_query, n),
        ).fetchall()
        rows.sort(key=lambda row: row[1])  # stable: equal scores stay newest first
        return rows

    def _best_kept(
        self, scored: list[tuple[int, float]], filters: str, filter_args: list[Any], limit: int
    ) -> list[tuple[int, float]]:
        """The first ``limit`` of ``scored`` whose articles pass ``filters``. The best
        ``4 * limit + 20`` are checked first (filters seldom drop more), then, if too few are
        left, all."""
        kept: list[tuple[int, float]] = []
        for candidates in (scored[: 4 * limit + 20], scored):
            passing = {
                article_id
                for (article_id,) in self.conn.execute(
                    f"SELECT a.id FROM articles a"
                    f" WHERE a.id IN (SELECT value FROM json_each(?)) AND {filters}",
                    [json.dumps([rowid for rowid, _ in candidates]), *filter_args],
                )
            }
            kept = [row for row in candidates if row[0] in passing][:limit]
            if len(kept) >= limit or len(candidates) == len(scored):
                break
        return kept

    def _newest_matches(self, fts_query: str, n: int) -> list[int]:
        """The rowids of the query's ``n`` most recent matches (FTS5 walks its doclists in
        rowid order without scoring)."""
        rows = self.conn.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
            (fts_query, n),
        )
        return [rowid for (rowid,) in rows]

    def site_boilerplate(self, site: str) -> frozenset[str]:
        """The keys (``boilerplate.line_key``) of the lines learned as the site's boilerplate."""
        with self._errors("reading learned boilerplate"):
            return _sites.learned_keys(self.conn, site)

    def learn_boilerplate(self, site: str, *, now: datetime) -> int:
        """Learn the lines the site's articles repeat, here and now (``boilerplate_sample``,
        ``aggregator.boilerplate.learn``, ``keep_boilerplate``); returns how many are new."""
        texts = self.boilerplate_sample(site)
        return self.keep_boilerplate(site, learn(texts), sampled=len(texts), now=now)

    def boilerplate_sample(self, site: str) -> list[str]:
        """The texts of the site's latest articles, to learn its boilerplate from
        (``aggregator.boilerplate.learn``, in a worker: it costs more than the reading)."""
        with self._errors("reading a site's articles"):
            return _sites.sample(self.conn, site)

    def keep_boilerplate(
        self, site: str, found: Sequence[LearnedLine], *, sampled: int, now: datetime
    ) -> int:
        """Keep the lines learned from ``sampled`` of the site's articles and remove them from
        its archived articles (see ``aggregator.boilerplate``); returns how many are new."""
        with self._errors("learning boilerplate"), self._transaction() as conn:
            return _sites.keep(conn, site, found, sampled, to_db_time(now))

    def learned_boilerplate(self, site: str | None = None) -> list[dict[str, Any]]:
        """The learned lines (of one site, or of all), most frequent first."""
        where, args = ("WHERE site = ?", [site]) if site else ("", [])
        return self.query(
            f"SELECT site, line, pages, sample, learned_at FROM site_boilerplate {where}"
            " ORDER BY site, pages DESC, line",
            args,
        )

    def forget_boilerplate(self, site: str) -> int:
        """Forget what was learned for a site (its articles keep their text); returns lines."""
        with self._errors("forgetting boilerplate"), self._transaction() as conn:
            return conn.execute("DELETE FROM site_boilerplate WHERE site = ?", (site,)).rowcount

    def extraction_stats(self) -> dict[int, dict[str, Any]]:
        """Per feed: where its articles' text came from and how extraction fared."""
        rows = self.query(
            """
            SELECT feed_id,
                count(*) FILTER (WHERE content_source = 'page') AS from_page,
                count(*) FILTER (WHERE content_source = 'feed') AS from_feed,
                count(*) FILTER (WHERE content_source = 'none') AS without_text,
                count(*) FILTER (WHERE extract_fallback = 'page-failed') AS page_failed,
                count(*) FILTER (WHERE extract_fallback = 'page-timeout') AS page_timeout,
                count(*) FILTER (WHERE extract_fallback = 'feed-longer') AS feed_longer,
                avg(CASE WHEN content_source = 'page' AND feed_words > 0
                    THEN 1.0 * page_words / feed_words END) AS page_to_feed,
                sum(boilerplate_lines) AS boilerplate_lines,
                (SELECT extract_error FROM articles AS last
                    WHERE last.feed_id = articles.feed_id AND extract_error IS NOT NULL
                    ORDER BY id DESC LIMIT 1) AS last_error
            FROM articles GROUP BY feed_id
            """
        )
        return {row.pop("feed_id"): row for row in rows}

    def feed_activity(self) -> dict[int, FeedActivity]:
        """Per feed: when its recent entries appeared and how its recent pages fared (what
        ``aggregator.health.diagnose`` needs beyond the feeds' rows)."""
        with self._errors("reading the feeds' recent activity"):
            return _health.feed_activity(self.conn)

    def reextract_jobs(
        self,
        *,
        after_id: int,
        limit: int,
        feed_ids: Sequence[int] | None = None,
        outdated_than: str | None = None,
    ) -> list[ReextractJob]:
        """The next ``limit`` articles after ``after_id`` that have an archived page (of the
        feeds ``feed_ids`` sighted, and not extracted by ``outdated_than``, when given)."""
        clauses: list[str] = ["articles.id > ?"]
        args: list[Any] = [after_id]
        if feed_ids is not None:
            marks = ", ".join("?" * len(feed_ids))
            clauses.append(
                f"articles.id IN (SELECT article_id FROM sightings WHERE feed_id IN ({marks}))"
            )
            args += feed_ids
        if outdated_than is not None:
            clauses.append("articles.extractor IS NOT ?")
            args.append(outdated_than)
        with self._errors("reading archived pages"):
            rows = self.conn.execute(
                f"""
                SELECT articles.id, site, content, content_source,
                    coalesce(feed_words,
                        CASE WHEN content_source = 'feed' THEN word_count ELSE 0 END),
                    pages.body, pages.final_url, pages.content_type, pages.headers
                FROM articles JOIN pages ON pages.id = articles.page_id
                WHERE {" AND ".join(clauses)} ORDER BY articles.id LIMIT ?
                """,
                [*args, limit],
            ).fetchall()
        return [
            ReextractJob(
                article_id=row[0],
                site=row[1],
                content=row[2],
                content_source=row[3],
                feed_words=row[4],
                page_body=row[5],
                final_url=row[6],
                content_type=row[7],
                charset=_charset(row[8]),
            )
            for row in rows
        ]

    def save_reextracted(self, updates: Sequence[ReextractUpdate]) -> int:
        """Write the articles whose text or extraction record changed; returns how many."""
        changed = 0
        with self._errors("saving re-extracted articles"), self._transaction() as conn:
            for update in updates:
                changed += save_reextracted(conn, update)
        return changed

    def export_pages(
        self, *, feed_ids: Sequence[int] | None = None, since: datetime | None = None
    ) -> Iterator[ArchivedPage]:
        """The archived pages, decoded, in the order they were fetched (of the articles the
        feeds ``feed_ids`` sighted, fetched since ``since``, when given)."""
        with self._errors("exporting pages"):
            yield from _export.pages(self.conn, feed_ids=feed_ids, since=since)

    def export_articles(
        self, *, feed_ids: Sequence[int] | None = None
    ) -> Iterator[ExportedArticle]:
        """Every article (near-copies included), with the feeds that carried it."""
        with self._errors("exporting articles"):
            yield from _export.articles(self.conn, feed_ids=feed_ids)

    def last_digest_run(self, name: str) -> datetime | None:
        """When the digest ``name`` last ran (None: never)."""
        rows = self.query("SELECT last_run_at FROM digest_runs WHERE name = ?", [name])
        return from_db_time(rows[0]["last_run_at"]) if rows else None

    def record_digest_run(self, name: str, *, at: datetime, articles: int) -> None:
        """Remember that the digest ``name`` ran (its next ``--since last`` starts there)."""
        with self._errors("recording a digest run"), self._transaction() as conn:
            conn.execute(
                """
                INSERT INTO digest_runs (name, last_run_at, articles) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at,
                    articles = excluded.articles
                """,
                (name, to_db_time(at), articles),
            )

    def read(self, action: str, reader: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``reader(connection, *args, **kwargs)`` for the read-side modules' own queries
        (functions in this package); a database error becomes a StoreError about ``action``."""
        with self._errors(action):
            return reader(self.conn, *args, **kwargs)

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables."""
        with self._errors("counting rows"):
            return {
                table: int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("feeds", "articles", "sightings", "pages", "revisions")
            }

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts (for tests, benchmarks and reports)."""
        with self._errors("query"):
            cursor = self.conn.execute(sql, args)
            columns = [c[0] for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor]


def _charset(headers: str) -> str | None:
    """The charset of the Content-Type in archived headers (JSON), if any."""
    try:
        content_type = json.loads(headers).get("content-type", "")
    except (ValueError, AttributeError):
        return None
    match = _CHARSET.search(content_type) if isinstance(content_type, str) else None
    return match.group(1) if match else None


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
        fetch_url=row["fetch_url"],
        moved_at=from_db_time(row["moved_at"]),
        active=bool(row["active"]),
        interval=row["interval"],
        hint_interval=row["hint_interval"],
        next_poll_reason=row["next_poll_reason"],
        not_before=from_db_time(row["not_before"]),
        error_score=row["error_score"],
        body_sha256=row["body_sha256"],
        retired_at=from_db_time(row["retired_at"]),
        last_success_at=from_db_time(row["last_success_at"]),
        failing_since=from_db_time(row["failing_since"]),
        recent_polls=row["recent_polls"],
    )


def _save_articles(
    conn: sqlite3.Connection, feed_id: int, articles: Sequence[ArticleRecord], saved: str | None
) -> SaveCounts:
    outcomes = save_articles(conn, feed_id, articles, saved)
    return SaveCounts(
        new=outcomes["new"], updated=outcomes["updated"], duplicate=outcomes["duplicate"]
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one of ``Store.run_together``'s calls returned (``ok``) or raised."""

    ok: bool
    value: object

    @staticmethod
    def of(call: Callable[[], object]) -> Outcome:
        """Run ``call``: what it returned, or the exception it raised."""
        try:
            return Outcome(ok=True, value=call())
        except Exception as exc:
            return Outcome(ok=False, value=exc)
