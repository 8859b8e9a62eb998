"""What a digest takes from the archive: the stories of a period, near-copies folded in.

Functions of an open connection, called through ``Store.read`` (which turns database errors
into ``StoreError``). A story is a cluster: an original and its near-copies (``duplicate_of``),
each with the feeds that sighted it. A digest shows each story once, as the cluster's original,
and names the other feeds that carried it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aggregator.errors import SearchError
from aggregator.store._schema import from_db_time, to_db_time

#: Which time puts an article in a period: when the archive first saw it, or its publication
#: date (the first-seen time when it has none).
Clock = Literal["seen", "published"]

#: Characters of an article's text read for its excerpt (the excerpt itself is shorter).
TEXT_CHARS = 2000


@dataclass(frozen=True, kw_only=True, slots=True)
class Carrier:
    """Another feed that carried a story, and the story's link there."""

    feed: str
    url: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Story:
    """One story of a digest: an article (the original of its cluster, as far as the
    selection sees) with the other feeds that carried it or a near-copy of it."""

    id: int
    title: str | None
    url: str | None
    author: str | None
    feed: str
    """The label (name, else title, else URL) of the article's own feed."""
    feed_tags: tuple[str, ...]
    """Tags of the feeds that sighted the article, its own feed's first."""
    tags: tuple[str, ...]
    """The article's own tags (the feed entry's categories)."""
    published: datetime | None
    first_seen: datetime
    text: str
    """The start of the summary, else of the content ('' when neither): plain text."""
    also_in: tuple[Carrier, ...]
    """Other feeds that carried the story (the article or a near-copy), first seen first."""


def stories(
    conn: sqlite3.Connection,
    *,
    since: datetime,
    until: datetime,
    clock: Clock = "seen",
    feed_ids: Sequence[int] | None = None,
    tags: Sequence[str] = (),
    match: str | None = None,
    limit: int,
) -> list[Story]:
    """The newest ``limit`` stories with an article in [``since``, ``until``), newest first
    (by publication date, else first-seen time).

    Filters (all that are given must hold): sighted by one of the feeds ``feed_ids``; tagged
    with one of ``tags`` (a tag of a feed that sighted it or of the article itself, compared
    without case); matching the FTS5 query ``match`` (a rejected query raises SearchError).

    Near-copies are folded into their original. A near-copy whose original passes the filters
    but came before the period is left out: its story is not new. One whose original does not
    pass them stands for the story itself (the earliest such copy, when there are several).
    """
    filters, args = _filters(feed_ids, tags, match)
    time = "a.first_seen" if clock == "seen" else "coalesce(a.published, a.first_seen)"
    rows = _execute(
        conn,
        f"""
        SELECT a.id, a.duplicate_of FROM articles a
        WHERE {time} >= ? AND {time} < ? AND {filters}
        ORDER BY coalesce(a.published, a.first_seen) DESC, a.id DESC
        """,
        [to_db_time(since), to_db_time(until), *args],
        match,
    )
    in_period = {article_id for article_id, _ in rows}
    outside = {root for _, root in rows if root is not None and root not in in_period}
    passing: set[int] = set()
    if outside:
        passing = {
            root
            for (root,) in _execute(
                conn,
                "SELECT a.id FROM articles a WHERE a.id IN (SELECT value FROM json_each(?))"
                f" AND {filters}",
                [json.dumps(sorted(outside)), *args],
                match,
            )
        }
    chosen: dict[int, int] = {}
    """cluster root -> the article that stands for it (rows come newest first, so a later
    copy of the same root is an earlier one and replaces the one before)."""
    for article_id, root in rows:
        if root is None:
            chosen[article_id] = article_id
        elif root not in in_period and root not in passing:
            chosen[root] = article_id
    order = {article_id: position for position, (article_id, _) in enumerate(rows)}
    picked = sorted(chosen.items(), key=lambda pair: order[pair[1]])[:limit]
    return _stories(conn, picked)


def _filters(
    feed_ids: Sequence[int] | None, tags: Sequence[str], match: str | None
) -> tuple[str, list[Any]]:
    """A condition on the article ``a`` for the filters given ('1' for none), and its args."""
    clauses = ["1"]
    args: list[Any] = []
    if feed_ids is not None:
        clauses.append(
            "a.id IN (SELECT s.article_id FROM sightings s"
            " WHERE s.feed_id IN (SELECT value FROM json_each(?)))"
        )
        args.append(json.dumps(list(feed_ids)))
    if tags:
        wanted = json.dumps(sorted({tag.casefold() for tag in tags}))
        clauses.append(
            """(EXISTS (SELECT 1 FROM json_each(a.tags) t
                    WHERE lower(t.value) IN (SELECT value FROM json_each(?)))
                OR a.id IN (SELECT s.article_id FROM sightings s
                    JOIN feeds f ON f.id = s.feed_id, json_each(f.tags) t
                    WHERE lower(t.value) IN (SELECT value FROM json_each(?))))"""
        )
        args += [wanted, wanted]
    if match is not None:
        clauses.append("a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
        args.append(match)
    return " AND ".join(clauses), args


def _execute(
    conn: sqlite3.Connection, sql: str, args: Sequence[Any], match: str | None
) -> list[Any]:
    """Rows of ``sql``; when it carries an FTS5 query, FTS5 rejecting it raises SearchError."""
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if match is None or any(
            word in message for word in ("locked", "disk", "readonly", "no such table")
        ):
            raise
        raise SearchError(f"cannot search for {match!r}: {message}") from exc


def _stories(conn: sqlite3.Connection, picked: Sequence[tuple[int, int]]) -> list[Story]:
    """The stories of (cluster root, article shown) pairs, in that order."""
    shown = json.dumps([article_id for _, article_id in picked])
    rows = conn.execute(
        f"""
        SELECT a.id, a.title, a.url, a.author, a.feed_id, coalesce(f.name, f.title, f.url),
            a.tags, a.published, a.first_seen,
            substr(coalesce(nullif(trim(a.summary), ''), a.content, ''), 1, {TEXT_CHARS})
        FROM articles a JOIN feeds f ON f.id = a.feed_id
        WHERE a.id IN (SELECT value FROM json_each(?))
        """,
        (shown,),
    ).fetchall()
    articles = {row[0]: row for row in rows}
    carriers = _carriers(conn, [root for root, _ in picked])
    result = []
    for root, article_id in picked:
        _, title, url, author, feed_id, feed, tags, published, first_seen, text = articles[
            article_id
        ]
        seen = from_db_time(first_seen)
        assert seen is not None  # NOT NULL column
        sightings = carriers.get(root, [])
        result.append(
            Story(
                id=article_id,
                title=title,
                url=url,
                author=author,
                feed=feed,
                feed_tags=_feed_tags(sightings, article_id, feed_id),
                tags=_unique(json.loads(tags or "[]")),
                published=from_db_time(published),
                first_seen=seen,
                text=text,
                also_in=_also_in(sightings, feed_id),
            )
        )
    return result


_Sighting = tuple[int, int, str, str | None, tuple[str, ...]]
"""article id, feed id, feed label, the story's link in that feed, the feed's tags."""


def _carriers(conn: sqlite3.Connection, roots: Sequence[int]) -> dict[int, list[_Sighting]]:
    """cluster root -> the sightings of its original and of every near-copy, first seen first."""
    found: dict[int, list[_Sighting]] = {}
    ids = json.dumps(list(roots))
    rows = conn.execute(
        """
        SELECT coalesce(a.duplicate_of, a.id), a.id, s.feed_id,
            coalesce(f.name, f.title, f.url), coalesce(s.url, a.url), f.tags
        FROM articles a JOIN sightings s ON s.article_id = a.id JOIN feeds f ON f.id = s.feed_id
        WHERE a.id IN (SELECT value FROM json_each(?1))
            OR a.duplicate_of IN (SELECT value FROM json_each(?1))
        ORDER BY s.first_seen, s.id
        """,
        (ids,),
    )
    for root, article_id, feed_id, label, url, feed_tags in rows:
        found.setdefault(root, []).append(
            (article_id, feed_id, label, url, tuple(json.loads(feed_tags or "[]")))
        )
    return found


def _also_in(sightings: Sequence[_Sighting], own_feed: int) -> tuple[Carrier, ...]:
    """One carrier per feed other than ``own_feed``, in the order they first carried it."""
    seen = {own_feed}
    carriers = []
    for _, feed_id, label, url, _ in sightings:
        if feed_id not in seen:
            seen.add(feed_id)
            carriers.append(Carrier(feed=label, url=url))
    return tuple(carriers)


def _feed_tags(sightings: Sequence[_Sighting], article_id: int, own_feed: int) -> tuple[str, ...]:
    """The tags of the feeds that sighted the article, those of ``own_feed`` first."""
    own = [s for s in sightings if s[0] == article_id]
    own.sort(key=lambda s: s[1] != own_feed)
    return _unique(tag for *_, feed_tags in own for tag in feed_tags)


def _unique(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags without repeats (compared without case), in their first spelling and order."""
    kept: dict[str, str] = {}
    for tag in tags:
        if isinstance(tag, str) and tag.strip():
            kept.setdefault(tag.casefold(), tag)
    return tuple(kept.values())
