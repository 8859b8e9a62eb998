"""Full-text search over the archive: what people type, turned into an FTS5 query that works.

People type words, "phrases", OR, NOT, prefix*. Those go to FTS5 as written; when FTS5 rejects
the query (an unbalanced quote, a bare AND, a lone ``*``), it is searched again as plain words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from aggregator.errors import SearchError
from aggregator.models import HIGHLIGHT, SearchHit
from aggregator.store import Store

_WORD = re.compile(r"\w+", re.UNICODE)
T = TypeVar("T")


def plain_query(text: str) -> str:
    """``text`` as an FTS5 query of plain words, every one quoted (all must match)."""
    return " ".join(f'"{word}"' for word in _WORD.findall(text))


def search(
    store: Store,
    query: str,
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
    """Hits for ``query``, best first (bm25, title above summary above content) or newest
    first; near-copies are collapsed into their original unless ``duplicates``. Filters: see
    ``Store.search``."""
    if not query.strip():
        raise SearchError("the search query is empty")
    if limit < 1:
        raise SearchError("the limit must be at least 1")
    if since and until and since >= until:
        raise SearchError("the start of the period (since) must be before its end (until)")
    options: dict[str, Any] = {
        "limit": limit,
        "feed": feed,
        "since": since,
        "until": until,
        "tag": tag,
        "lang": lang,
        "duplicates": duplicates,
        "newest_first": newest_first,
    }
    return with_plain_words(query, lambda fts_query: store.search(fts_query, **options))


def with_plain_words(query: str, run: Callable[[str], T]) -> T:
    """``run(query)``; when FTS5 rejects the query (SearchError), ``run`` it again as plain
    words. SearchError when it has no words at all."""
    try:
        return run(query)
    except SearchError:
        fallback = plain_query(query)
        if not fallback:
            raise SearchError(f"nothing to search for in {query!r}") from None
        return run(fallback)


def split_snippet(snippet: str) -> list[tuple[str, bool]]:
    """The snippet as (text, is_match) pieces, for renderers."""
    start, end = HIGHLIGHT
    pieces: list[tuple[str, bool]] = []
    for part in snippet.split(start):
        if end in part:
            match, rest = part.split(end, 1)
            pieces.append((match, True))
            if rest:
                pieces.append((rest, False))
        elif part:
            pieces.append((part, False))
    return pieces
