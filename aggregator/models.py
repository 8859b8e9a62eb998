"""Frozen value types passed between the stages (fetch -> parse -> extract -> dedup -> store).

Stages never exchange library objects (feedparser dicts, httpx responses): only these.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchResult:
    """One completed HTTP exchange (status < 400), after redirects."""

    url: str
    """The URL that was asked for."""
    final_url: str
    """The URL of the last hop (equal to ``url`` without redirects)."""
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    """Response headers of the last hop, keys lowercase."""
    body: bytes = b""
    """The decompressed body (empty for 304)."""
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None
    """The new URL when every redirect hop was permanent (301/308), else None."""
    redirects: tuple[tuple[int, str], ...] = ()
    """Each hop followed: (status, location)."""
    fetched_at: datetime
    elapsed: float = 0.0
    """Seconds from the first byte sent to the last byte read."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        """The media type without parameters, lowercase ('' when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    """One item of a feed, normalized across RSS, Atom, RDF and JSON Feed."""

    id: str
    """Stable identity within the feed: the guid/id, else the link, else a content hash."""
    guid: str | None = None
    """The guid/id exactly as the feed gave it (None when absent)."""
    url: str | None = None
    """Absolute http(s) link to the article page, when the feed gives one."""
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    summary: str | None = None
    """Short description (HTML as the feed gave it, sanitized)."""
    content: str | None = None
    """The fullest content the feed carries (HTML, sanitized), if any."""
    tags: tuple[str, ...] = ()
    enclosures: tuple[str, ...] = ()
    """URLs of attached media."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Feed:
    """A parsed feed document."""

    url: str
    """The URL the document was fetched from."""
    version: str
    """Format as reported: 'rss20', 'rss10', 'rss091u', 'atom10', 'atom03', 'json11', ..."""
    title: str | None = None
    site_url: str | None = None
    description: str | None = None
    language: str | None = None
    ttl: int | None = None
    """RSS <ttl> in minutes, when given."""
    entries: tuple[Entry, ...] = ()
    warning: str | None = None
    """Set when the document was malformed but something was recovered."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Extracted:
    """The article kept from one HTML page (or from a feed's own content)."""

    text: str
    """Clean article text: paragraphs separated by blank lines, boilerplate removed."""
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    lang: str | None = None
    canonical_url: str | None = None
    """The page's rel=canonical / og:url, absolute, when it declares one."""
    sitename: str | None = None
