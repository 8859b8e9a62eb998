"""What the archive exports: its pages and its articles, streamed in id order.

Generators of an open connection (wrapped by ``Store``). Each batch is one query that starts
after the last id seen, so memory stays flat whatever the size of the archive and no cursor
stays open between batches.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.errors import StoreError
from aggregator.pages import decompress_page
from aggregator.store._schema import from_db_time, to_db_time

#: Pages read per query (a page may weigh megabytes).
PAGE_BATCH = 50
#: Articles read per query.
ARTICLE_BATCH = 500


@dataclass(frozen=True, kw_only=True, slots=True)
class ArchivedPage:
    """A page as it was fetched, its body decompressed from the archive."""

    id: int
    url: str
    """The URL asked for."""
    final_url: str
    """Where the answer came from, after redirects."""
    status: int
    content_type: str | None
    headers: tuple[tuple[str, str], ...]
    """The response headers as received (lowercase names): they describe the body on the
    wire, which may have been compressed; ``body`` is always decoded."""
    fetched_at: datetime
    sha256: str
    body: bytes
    """The raw body, decoded from any Content-Encoding."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ExportedArticle:
    """An article with the feeds that carried it and how its text was obtained.

    The field order is the key order of the JSON lines export.
    """

    id: int
    feed_url: str
    """The feed of the original (the copy published first)."""
    feed_name: str | None
    feeds: tuple[str, ...]
    """URLs of every feed that carried the story, in the order they first did."""
    guid: str | None
    url: str | None
    canonical_url: str | None
    page_url: str | None
    """Where the archived page came from (its WARC-Target-URI), if a page was archived."""
    title: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    summary: str | None
    content: str | None
    content_source: str
    lang: str | None
    word_count: int
    content_hash: str | None
    duplicate_of: int | None
    tags: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    site: str | None
    extractor: str | None
    extract_method: str | None
    extract_fallback: str | None
    extract_error: str | None
    page_words: int | None
    feed_words: int | None
    boilerplate_lines: int


def pages(
    conn: sqlite3.Connection,
    *,
    feed_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    batch: int = PAGE_BATCH,
) -> Iterator[ArchivedPage]:
    """Archived pages in id order: all, or those of articles the feeds ``feed_ids`` sighted,
    fetched at ``since`` or later.

    Raises StoreError for a page whose body no longer matches its checksum.
    """
    clauses = ["id > ?"]
    args: list[Any] = []
    if feed_ids is not None:
        clauses.append(
            "id IN (SELECT a.page_id FROM articles a JOIN sightings s ON s.article_id = a.id"
            f" WHERE s.feed_id IN ({', '.join('?' * len(feed_ids))}))"
        )
        args += feed_ids
    if since is not None:
        clauses.append("fetched_at >= ?")
        args.append(to_db_time(since))
    sql = (
        "SELECT id, url, final_url, status, content_type, headers, fetched_at, sha256, body"
        f" FROM pages WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
    )
    last_id = 0
    while rows := conn.execute(sql, [last_id, *args, batch]).fetchall():
        for row in rows:
            yield _page(*row)
        last_id = rows[-1][0]


def _page(
    page_id: int,
    url: str,
    final_url: str,
    status: int,
    content_type: str | None,
    headers: str,
    fetched_at: str,
    sha256: str,
    compressed: bytes,
) -> ArchivedPage:
    try:
        body = decompress_page(compressed)
    except StoreError as exc:
        raise StoreError(f"the archived page {page_id} ({final_url}) is damaged: {exc}") from exc
    if hashlib.sha256(body).hexdigest() != sha256:
        raise StoreError(
            f"the archived page {page_id} ({final_url}) is damaged: its checksum does not match"
        )
    fetched = from_db_time(fetched_at)
    assert fetched is not None  # NOT NULL column
    return ArchivedPage(
        id=page_id,
        url=url,
        final_url=final_url,
        status=status,
        content_type=content_type,
        headers=tuple((str(k), str(v)) for k, v in json.loads(headers or "{}").items()),
        fetched_at=fetched,
        sha256=sha256,
        body=body,
    )


def articles(
    conn: sqlite3.Connection,
    *,
    feed_ids: Sequence[int] | None = None,
    batch: int = ARTICLE_BATCH,
) -> Iterator[ExportedArticle]:
    """Articles in id order, duplicates included (see ``duplicate_of``): all, or those the
    feeds ``feed_ids`` sighted."""
    clauses = ["a.id > ?"]
    args: list[Any] = []
    if feed_ids is not None:
        clauses.append(
            "a.id IN (SELECT article_id FROM sightings"
            f" WHERE feed_id IN ({', '.join('?' * len(feed_ids))}))"
        )
        args += feed_ids
    sql = f"""
        SELECT a.id, f.url AS feed_url, coalesce(f.name, f.title) AS feed_name, a.guid, a.url,
            a.canonical_url, p.final_url AS page_url, a.title, a.author, a.published,
            a.updated, a.summary, a.content, a.content_source, a.lang, a.word_count,
            a.content_hash, a.duplicate_of, a.tags, a.first_seen, a.last_seen, a.site,
            a.extractor, a.extract_method, a.extract_fallback, a.extract_error, a.page_words,
            a.feed_words, a.boilerplate_lines
        FROM articles a JOIN feeds f ON f.id = a.feed_id
        LEFT JOIN pages p ON p.id = a.page_id
        WHERE {" AND ".join(clauses)} ORDER BY a.id LIMIT ?
    """
    last_id = 0
    while True:
        cursor = conn.execute(sql, [last_id, *args, batch])
        columns = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
        if not rows:
            return
        carriers = _carriers(conn, rows[0][0], rows[-1][0])
        for row in rows:
            yield _article(dict(zip(columns, row, strict=True)), carriers.get(row[0], ()))
        last_id = rows[-1][0]


def _carriers(conn: sqlite3.Connection, first: int, last: int) -> dict[int, tuple[str, ...]]:
    """article id -> URLs of the feeds that sighted it, for the articles first..last."""
    found: dict[int, dict[str, None]] = {}
    rows = conn.execute(
        "SELECT s.article_id, f.url FROM sightings s JOIN feeds f ON f.id = s.feed_id"
        " WHERE s.article_id BETWEEN ? AND ? ORDER BY s.id",
        (first, last),
    )
    for article_id, feed_url in rows:
        found.setdefault(article_id, {})[feed_url] = None
    return {article_id: tuple(urls) for article_id, urls in found.items()}


def _article(values: dict[str, Any], feeds: tuple[str, ...]) -> ExportedArticle:
    """The article of a row whose column names are the fields' names."""
    for key in ("published", "updated", "first_seen", "last_seen"):
        values[key] = from_db_time(values[key])
    values["tags"] = tuple(json.loads(values["tags"] or "[]"))
    return ExportedArticle(feeds=feeds, **values)
