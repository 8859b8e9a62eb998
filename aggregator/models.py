"""Frozen value types passed between the stages (fetch -> parse -> extract -> dedup -> store).

Stages never exchange library objects (feedparser dicts, httpx responses): only these.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def _pickled_as_tuple(cls: type[T]) -> type[T]:
    """Pickle the instances of a slots dataclass as the tuple of their fields' values.

    For the types that cross to and from the worker processes: the pickling support that
    ``dataclass(slots=True)`` generates looks the fields up again for every instance, which
    doubles what a feed's entries or a page's record cost to send.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]  # a dataclass
    if len(names) < 2:  # attrgetter of one name returns the value, not a tuple
        raise TypeError(f"{cls.__name__} has fewer than two fields: nothing to gain")
    values = operator.attrgetter(*names)

    def getstate(self: T) -> Any:
        return values(self)

    def setstate(self: T, state: tuple[Any, ...]) -> None:
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)

    setattr(cls, "__getstate__", getstate)  # noqa: B010  (replacing dataclass's own)
    setattr(cls, "__setstate__", setstate)  # noqa: B010
    return cls


@_pickled_as_tuple
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


@_pickled_as_tuple
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


@_pickled_as_tuple
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
    update_interval: float | None = None
    """Seconds between updates the feed announces with sy:updatePeriod / sy:updateFrequency."""
    entries: tuple[Entry, ...] = ()
    warning: str | None = None
    """Set when the document was malformed but something was recovered."""


@_pickled_as_tuple
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
    method: str = "trafilatura"
    """Which of the extractor's paths produced ``text`` (its main path, or a fallback)."""


# --- What the pipeline hands to the store, and what the store reports back -------------------


@_pickled_as_tuple
@dataclass(frozen=True, kw_only=True, slots=True)
class PageRecord:
    """A fetched article page, ready to archive (body already compressed)."""

    url: str
    final_url: str
    status: int
    content_type: str
    headers: Mapping[str, str]
    fetched_at: datetime
    sha256: str
    """Of the raw (uncompressed) body."""
    body: bytes
    """The raw body, compressed (``store.compress_page``)."""


@_pickled_as_tuple
@dataclass(frozen=True, kw_only=True, slots=True)
class ExtractionReport:
    """How an article's text was obtained, recorded on the article (``status`` shows it)."""

    extractor: str | None = None
    """The extractor and its version (``aggregator.extract.EXTRACTOR``) when a page was read."""
    method: str | None = None
    """Which of the extractor's paths produced the page text (``Extracted.method``)."""
    page_words: int | None = None
    """Words of the page's extracted text; None when no page text was had."""
    feed_words: int = 0
    """Words of the feed entry's own content (or summary)."""
    fallback: str | None = None
    """Why the text is not the page's, when it is not: 'feed-longer' (the feed's own content
    was longer), 'page-failed' (see ``error``), 'page-timeout', 'no-page'."""
    error: str | None = None
    """Why the page gave no text (fetch or extraction error)."""
    boilerplate_lines: int = 0
    """Lines removed because they repeat across the site's archived pages."""


@_pickled_as_tuple
@dataclass(frozen=True, kw_only=True, slots=True)
class ArticleRecord:
    """One new or changed feed entry, with the article text kept for it."""

    entry_id: str
    entry_hash: str
    guid: str | None
    url: str | None
    """The entry's link as the feed gave it."""
    url_key: str | None
    """``canonical_url`` of the entry's link."""
    canonical_url: str | None
    """The article's own canonical URL (rel=canonical, else final URL, else link), canonicalized."""
    title: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    summary: str | None
    """Plain text."""
    content: str | None
    """Plain text of the article, or None when we have no text for it yet."""
    content_source: str
    """Where ``content`` came from: 'page', 'feed' or 'none'."""
    lang: str | None
    word_count: int
    content_hash: str | None
    tags: tuple[str, ...] = ()
    page: PageRecord | None = None
    site: str | None = None
    """The host the text came from (``boilerplate.site_of`` of the page, else of the link)."""
    near_keys: tuple[int, ...] = ()
    """The text's near-duplicate band keys (``dedup.near_keys``); empty for short texts."""
    url_is_identity: bool = True
    """False when several entries of the feed share the link: it then names no one story."""
    extraction: ExtractionReport = field(default_factory=ExtractionReport)


@_pickled_as_tuple
@dataclass(frozen=True, kw_only=True, slots=True)
class ReextractJob:
    """An archived article and the page it was extracted from, to extract again."""

    article_id: int
    site: str | None
    content: str | None
    content_source: str
    feed_words: int
    page_body: bytes
    """The raw page, compressed as archived (``store.decompress_page``)."""
    final_url: str
    content_type: str | None
    charset: str | None
    """The charset of the page's Content-Type header, if any."""


@_pickled_as_tuple
@dataclass(frozen=True, kw_only=True, slots=True)
class ReextractUpdate:
    """What a new extraction of an archived page gives an article."""

    article_id: int
    content: str | None
    content_source: str
    word_count: int
    content_hash: str | None
    lang: str | None
    extraction: ExtractionReport
    near_keys: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedPoll:
    """The outcome of one successful fetch of a feed, saved in one transaction (with the
    articles not already saved during the poll: ``Store.save_articles``)."""

    feed_id: int
    polled_at: datetime
    status: int
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    next_poll_reason: str = ""
    interval: float | None = None
    """The base interval (seconds) the schedule chose."""
    body_sha256: str | None = None
    """Hash of the feed body (None for 304: the stored one stays)."""
    parsed: bool = False
    """Whether the body was parsed this time (else the feed's hints stay as they were)."""
    hint_interval: float | None = None
    """The feed's own request not to be polled more often (RSS ttl, sy:update*), seconds."""
    moved_to: str | None = None
    """Set when every redirect hop was permanent: the feed's new URL."""
    title: str | None = None
    site_url: str | None = None
    warning: str | None = None
    articles: tuple[ArticleRecord, ...] = ()
    seen_entry_ids: tuple[str, ...] = ()
    """Entries the feed still carries unchanged (their sightings' ``last_seen`` moves)."""
    saved_at: datetime | None = None
    """When the articles are saved (``first_seen``); None: the time of saving."""
    outcome: str = ""
    """How the poll went, for the health report: a ``health.Mark`` (kept in ``recent_polls``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedFailure:
    """A failed poll of a feed: what went wrong and when to try again."""

    feed_id: int
    polled_at: datetime
    error: str
    status: int | None
    next_poll_at: datetime | None
    next_poll_reason: str
    error_score: float
    not_before: datetime | None = None
    """A server's Retry-After: no poll before then, not even ``poll --all``."""
    retire: str | None = None
    """Set when the feed is gone for good (410): why."""
    outcome: str = ""
    """The kind of failure, for the health report: a ``health.Mark`` (kept in ``recent_polls``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SaveCounts:
    new: int = 0
    updated: int = 0
    duplicate: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedState:
    """A row of the ``feeds`` table."""

    id: int
    url: str
    """The URL as feeds.yaml lists it (the feed's identity)."""
    name: str | None
    title: str | None
    site_url: str | None
    tags: tuple[str, ...]
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    last_status: int | None
    last_error: str | None
    error_count: int
    disabled_reason: str | None
    articles: int = 0
    fetch_url: str | None = None
    """Where the feed lives now, after a permanent redirect (None: at ``url``)."""
    moved_at: datetime | None = None
    active: bool = True
    """Whether feeds.yaml still lists the feed."""
    interval: float | None = None
    hint_interval: float | None = None
    next_poll_reason: str | None = None
    not_before: datetime | None = None
    error_score: float = 0.0
    body_sha256: str | None = None
    retired_at: datetime | None = None
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    """When the current run of failed polls began (None: the last poll succeeded)."""
    recent_polls: str = ""
    """How its last polls went, oldest first: a ``health.Mark`` letter each."""

    @property
    def label(self) -> str:
        return self.name or self.title or self.url

    @property
    def current_url(self) -> str:
        """The URL to request."""
        return self.fetch_url or self.url


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchHit:
    article_id: int
    title: str | None
    url: str | None
    feed: str | None
    published: datetime | None
    snippet: str
    """Matched terms wrapped in ``HIGHLIGHT`` markers."""
    rank: float
    """bm25 score (lower is better)."""
    copies: int = 0
    """Near-copies of this article (other rows whose ``duplicate_of`` is it)."""
    duplicate_of: int | None = None
    """The original, when this hit is a near-copy (only shown with ``duplicates``)."""
    feeds: int = 1
    """Feeds that carried the story (its sightings' feeds)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ArticleVersion:
    """One version of an article's text (``revisions`` keep the earlier ones)."""

    title: str | None
    content: str | None
    since: datetime | None
    """When this version replaced the one before (None for the first)."""
    until: datetime | None
    """When it was replaced (None for the current version)."""


HIGHLIGHT = ("\x02", "\x03")
"""Start and end markers around matched terms in ``SearchHit.snippet``."""
