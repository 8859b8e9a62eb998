"""The archive's schema: numbered migrations and the one time format of the database."""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Callable
from datetime import UTC, datetime

from aggregator.boilerplate import site_of
from aggregator.dedup import near_keys, near_week, shingles


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


def _migration_2(conn: sqlite3.Connection) -> None:
    """The daemon's state: where a feed moved, why it is polled when, Retry-After, a score of
    recent errors, the hash of the last body, whether feeds.yaml still lists it; a heartbeat."""
    _execute_script(
        conn,
        """
        ALTER TABLE feeds ADD COLUMN fetch_url TEXT;
        ALTER TABLE feeds ADD COLUMN moved_at TEXT;
        ALTER TABLE feeds ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE feeds ADD COLUMN interval REAL;
        ALTER TABLE feeds ADD COLUMN hint_interval REAL;
        ALTER TABLE feeds ADD COLUMN next_poll_reason TEXT;
        ALTER TABLE feeds ADD COLUMN not_before TEXT;
        ALTER TABLE feeds ADD COLUMN error_score REAL NOT NULL DEFAULT 0;
        ALTER TABLE feeds ADD COLUMN body_sha256 TEXT;
        ALTER TABLE feeds ADD COLUMN retired_at TEXT;
        CREATE INDEX feeds_due ON feeds(active, next_poll_at);
        CREATE TABLE daemon (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            started_at TEXT NOT NULL,
            last_tick_at TEXT,
            stopped_at TEXT
        );
        """,
    )


def _migration_3(conn: sqlite3.Connection) -> None:
    """How each article's text was obtained (extractor, path, fallback, error, lengths), and
    the boilerplate lines learned per site from the archive."""
    _execute_script(
        conn,
        """
        ALTER TABLE articles ADD COLUMN extractor TEXT;
        ALTER TABLE articles ADD COLUMN extract_method TEXT;
        ALTER TABLE articles ADD COLUMN extract_fallback TEXT;
        ALTER TABLE articles ADD COLUMN extract_error TEXT;
        ALTER TABLE articles ADD COLUMN page_words INTEGER;
        ALTER TABLE articles ADD COLUMN feed_words INTEGER;
        ALTER TABLE articles ADD COLUMN boilerplate_lines INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE articles ADD COLUMN site TEXT;
        CREATE INDEX articles_site ON articles(site, id);
        CREATE TABLE site_boilerplate (
            site TEXT NOT NULL,
            key TEXT NOT NULL,
            line TEXT NOT NULL,
            pages INTEGER NOT NULL,
            sample INTEGER NOT NULL,
            learned_at TEXT NOT NULL,
            PRIMARY KEY (site, key)
        ) WITHOUT ROWID;
        """,
    )
    rows = conn.execute(
        "SELECT articles.id, pages.final_url, articles.url FROM articles"
        " LEFT JOIN pages ON pages.id = articles.page_id"
    ).fetchall()
    conn.executemany(
        "UPDATE articles SET site = ? WHERE id = ?",
        [(site_of(page_url or url), article_id) for article_id, page_url, url in rows],
    )


def _migration_4(conn: sqlite3.Connection) -> None:
    """Near-duplicates: each article's MinHash band keys, indexed, and how similar a near-copy
    is to the article it copies (``duplicate_of``)."""
    _execute_script(
        conn,
        """
        ALTER TABLE articles ADD COLUMN similarity REAL;
        CREATE TABLE near_keys (
            key INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            PRIMARY KEY (key, article_id)
        ) WITHOUT ROWID;
        CREATE INDEX near_keys_article_id ON near_keys(article_id);
        """,
    )
    rows = conn.execute("SELECT id, content FROM articles WHERE content IS NOT NULL")
    conn.executemany(
        "INSERT OR IGNORE INTO near_keys (key, article_id) VALUES (?, ?)",
        (
            (key, article_id)
            for article_id, content in rows.fetchall()
            for key in near_keys(shingles(content))
        ),
    )


def _migration_5(conn: sqlite3.Connection) -> None:
    """When each named digest last ran (for ``--since last``)."""
    _execute_script(
        conn,
        """
        CREATE TABLE digest_runs (
            name TEXT PRIMARY KEY,
            last_run_at TEXT NOT NULL,
            articles INTEGER NOT NULL DEFAULT 0
        );
        """,
    )


def _migration_6(conn: sqlite3.Connection) -> None:
    """Each article keeps its own near-duplicate keys packed, instead of ``near_keys`` keeping
    a second index by article (half the index writes for every new article); digests select
    by ``first_seen``."""
    _execute_script(
        conn,
        """
        ALTER TABLE articles ADD COLUMN near_sketch BLOB;
        CREATE INDEX articles_first_seen ON articles(first_seen);
        """,
    )
    keys: dict[int, list[int]] = {}
    for key, article_id in conn.execute("SELECT key, article_id FROM near_keys"):
        keys.setdefault(article_id, []).append(key)
    conn.executemany(
        "UPDATE articles SET near_sketch = ? WHERE id = ?",
        [(struct.pack(f">{len(k)}q", *k), article_id) for article_id, k in keys.items()],
    )
    conn.execute("DROP INDEX near_keys_article_id")


def _migration_7(conn: sqlite3.Connection) -> None:
    """Near-duplicate keys filed by the week their article came out (``dedup.near_week``), so
    that new keys land in one small, recent part of the index however large the archive; new
    articles are put in the FTS index by the writer, a batch at a time, not by a trigger; FTS5
    merges its segments 8 at a time (not 4: fewer rewrites of the index as it grows)."""
    _execute_script(
        conn,
        """
        DROP TRIGGER articles_ai;
        INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', 8);
        ALTER TABLE articles ADD COLUMN near_week INTEGER;
        CREATE TABLE near_keys_by_week (
            week INTEGER NOT NULL,
            key INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            PRIMARY KEY (week, key, article_id)
        ) WITHOUT ROWID;
        """,
    )
    rows = conn.execute(
        "SELECT id, near_sketch, coalesce(published, updated, first_seen) FROM articles"
        " WHERE near_sketch IS NOT NULL"
    ).fetchall()
    weeks = [
        (article_id, sketch, near_week(datetime.fromisoformat(date)))
        for article_id, sketch, date in rows
    ]
    conn.executemany(
        "UPDATE articles SET near_week = ? WHERE id = ?",
        [(week, article_id) for article_id, _, week in weeks],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO near_keys_by_week (week, key, article_id) VALUES (?, ?, ?)",
        (
            (week, key, article_id)
            for article_id, sketch, week in weeks
            for key in struct.unpack(f">{len(sketch) // 8}q", sketch)
        ),
    )
    _execute_script(
        conn,
        """
        DROP TABLE near_keys;
        ALTER TABLE near_keys_by_week RENAME TO near_keys;
        """,
    )


def _migration_8(conn: sqlite3.Connection) -> None:
    """The full-text index is rewritten only when an indexed column's value changes: an update
    that sets the same title (a copy adopting the original's identity, a refreshed entry) no
    longer takes the whole text out of the index and puts it back."""
    _execute_script(
        conn,
        """
        DROP TRIGGER articles_au;
        CREATE TRIGGER articles_au AFTER UPDATE OF title, summary, content, author ON articles
        WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary
            OR old.content IS NOT new.content OR old.author IS NOT new.author
        BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, summary, content, author)
            VALUES ('delete', old.id, old.title, old.summary, old.content, old.author);
            INSERT INTO articles_fts (rowid, title, summary, content, author)
            VALUES (new.id, new.title, new.summary, new.content, new.author);
        END;
        """,
    )


def _migration_9(conn: sqlite3.Connection) -> None:
    """Maintenance merges the full-text index's segments down to about one per level
    (``usermerge`` 2, not 4): each search probes every segment."""
    conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('usermerge', 2)")


def _migration_10(conn: sqlite3.Connection) -> None:
    """Feed health: when a feed's current run of failed polls began, and how its last polls
    went, a letter each (``aggregator.health.Mark``; empty for the polls before)."""
    _execute_script(
        conn,
        """
        ALTER TABLE feeds ADD COLUMN failing_since TEXT;
        ALTER TABLE feeds ADD COLUMN recent_polls TEXT NOT NULL DEFAULT '';
        """,
    )


#: Numbered migrations: ``MIGRATIONS[n - 1]`` upgrades a database from version n-1 to n.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
)
SCHEMA_VERSION = len(MIGRATIONS)


def to_db_time(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, the one time format in the database (sorts as text)."""
    if value is None:
        return None
    # isoformat, not strftime: four times faster, and years before 1000 keep their four digits.
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def from_db_time(value: str | None) -> datetime | None:
    """The database's time text as an aware UTC datetime (fromisoformat: ~20x strptime)."""
    if not value:
        return None
    return datetime.fromisoformat(value)
