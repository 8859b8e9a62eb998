"""What the archive learns about each site: the boilerplate lines its pages repeat.

Functions of an open connection inside the writer's transaction (see ``Store.keep_boilerplate``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from aggregator import boilerplate, dedup
from aggregator.store._articles import set_near_keys

#: Articles re-cleaned per statement batch when a site's learned lines change.
_BATCH = 500


def learned_keys(conn: sqlite3.Connection, site: str) -> frozenset[str]:
    rows = conn.execute("SELECT key FROM site_boilerplate WHERE site = ?", (site,))
    return frozenset(key for (key,) in rows)


def sample(conn: sqlite3.Connection, site: str) -> list[str]:
    """The texts of the site's latest articles, to learn its boilerplate from."""
    return [
        text
        for (text,) in conn.execute(
            "SELECT content FROM articles WHERE site = ? AND content IS NOT NULL"
            " ORDER BY id DESC LIMIT ?",
            (site, boilerplate.SAMPLE),
        )
    ]


def keep(
    conn: sqlite3.Connection,
    site: str,
    found: Sequence[boilerplate.LearnedLine],
    sampled: int,
    now: str | None,
) -> int:
    """Keep the lines learned from ``sampled`` of the site's articles; returns how many are new.

    What is learned stays learned (the lines are gone from the articles that taught it, so
    they could not be learned again); when something new is learned, it is removed from the
    site's archived articles too.
    """
    known = learned_keys(conn, site)
    conn.executemany(
        """
        INSERT INTO site_boilerplate (site, key, line, pages, sample, learned_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (site, key) DO UPDATE SET pages = excluded.pages, sample = excluded.sample
        """,
        [(site, line.key, line.line, line.pages, sampled, now) for line in found],
    )
    fresh = {line.key for line in found} - known
    if fresh:
        reclean(conn, site, known | fresh)
    return len(fresh)


def reclean(conn: sqlite3.Connection, site: str, keys: frozenset[str]) -> int:
    """Remove the learned lines from the site's archived articles; returns articles changed.

    Word count and text hash follow the text (so copies found later still match), and the
    full-text index follows through its triggers.
    """
    changed = 0
    last_id = 0
    while True:
        rows = conn.execute(
            "SELECT id, content FROM articles WHERE site = ? AND id > ? AND content IS NOT NULL"
            " ORDER BY id LIMIT ?",
            (site, last_id, _BATCH),
        ).fetchall()
        if not rows:
            return changed
        last_id = rows[-1][0]
        updates = []
        for article_id, content in rows:
            cleaned, removed = boilerplate.strip(content, keys)
            if removed:
                words = dedup.words(cleaned)
                count = len(words)
                updates.append(
                    (cleaned, count, dedup.content_hash(cleaned), count, removed, article_id)
                )
        for update in updates:
            set_near_keys(conn, update[-1], dedup.near_keys(dedup.shingles(update[0])))
        conn.executemany(
            """
            UPDATE articles SET content = ?, word_count = ?, content_hash = ?,
                page_words = CASE WHEN content_source = 'page' THEN ? ELSE page_words END,
                boilerplate_lines = boilerplate_lines + ?
            WHERE id = ?
            """,
            updates,
        )
        changed += len(updates)
