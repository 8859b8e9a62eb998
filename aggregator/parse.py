"""Turn a fetched document into normalized :class:`~aggregator.models.Feed` values.

RSS 0.90-2.0, RSS 1.0 (RDF) and Atom 0.3/1.0 are read by feedparser (this is the only module
that imports it); JSON Feed 1.0/1.1, which feedparser does not know, is read here with
:mod:`json`. Whatever the format, the result has the same shape:

- every entry has a stable ``id``: its guid/id, else its absolute link, else a hash of what it
  says; entries repeating an id already seen in the document are dropped (the first one wins);
- links are absolute http(s) URLs or None; dates are aware UTC datetimes or None;
- ``summary`` and ``content`` are sanitized HTML; titles, authors and tags are plain text;
- every string is bounded, so a hostile feed cannot bloat the archive through one field.

A document feedparser had to recover from gives a Feed with ``warning`` set; one with nothing
usable in it raises :class:`~aggregator.errors.ParseError`.
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import html
import io
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris

from aggregator.errors import NotAFeedError, ParseError
from aggregator.models import Entry, Feed

__all__ = ["parse"]

MAX_TITLE = 1000
MAX_ID = 2048
MAX_URL = 2048
MAX_AUTHOR = 500
MAX_TAG = 200
MAX_TAGS = 50
MAX_ENCLOSURES = 20
MAX_LANGUAGE = 35
MAX_DESCRIPTION = 4000
MAX_SUMMARY = 100_000
MAX_CONTENT = 2_000_000
MAX_WARNING = 300
_HASHED_SUMMARY_PREFIX = 500
"""How much of an entry's text goes into its fallback identity hash."""
_HTML_SCAN_BYTES = 512 * 1024
"""How much of an HTML page is searched for advertised feeds."""

_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_FEED_LINK_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json"}
)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset({"text/plain", "text"})
_INVISIBLE_TAGS = frozenset({"script", "style"})
_UTF8_BOM = b"\xef\xbb\xbf"
_NON_SPACE = re.compile(rb"\S")
_ISO_DATE = re.compile(r"\s*(?P<sign>[-+]?)\d+-(?P<month>\d\d)-(?P<day>\d\d)")
_UPDATE_PERIODS = {
    "hourly": 60 * 60,
    "daily": 24 * 60 * 60,
    "weekly": 7 * 24 * 60 * 60,
    "monthly": 30 * 24 * 60 * 60,
    "yearly": 365 * 24 * 60 * 60,
}
"""Seconds in each ``sy:updatePeriod`` (a month is taken as 30 days)."""
_UPDATE_FREQUENCY = re.compile(r"\s*\d{1,9}\s*")
_JSONFEED_VERSION = re.compile(r"https?://jsonfeed\.org/version/(\d+)(?:\.(\d+))?/?")
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
"""feedparser flags these although the XML itself parsed cleanly: not worth a warning."""


def parse(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> Feed:
    """Parse a feed document fetched from ``url`` (the final URL, after redirects).

    ``headers`` are the response headers, in any letter case; ``content-type`` matters (its
    charset, and whether the body is JSON). Relative links resolve against ``url``.
    Raises ParseError for an empty body, an HTML page (naming the feeds it advertises),
    invalid JSON, or a document with nothing usable in it.
    """
    lowered = {key.lower(): value for key, value in (headers or {}).items()}
    visible = _NON_SPACE.search(body, len(_UTF8_BOM) if body.startswith(_UTF8_BOM) else 0)
    if visible is None:
        raise ParseError("empty document")
    first = visible[0]
    media_type = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    if first == b"{" or (media_type in _JSON_TYPES and first != b"<"):
        return _parse_json_feed(body, url)
    return _parse_xml(body, url, lowered, media_type)


# --- RSS, RDF and Atom, through feedparser ------------------------------------------------


def _parse_xml(body: bytes, url: str, headers: dict[str, str], media_type: str) -> Feed:
    # A stream, never bytes or str: feedparser opens a str/bytes naming a file or URL.
    # content-location is the base for relative links (there is no href with a stream).
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers={**headers, "content-location": url},
            resolve_relative_uris=True,
            sanitize_html=True,
        )
    except Exception as exc:  # feedparser's loose parser can crash on hostile input
        raise ParseError(f"unreadable document: {_describe(exc)}") from exc

    problem = None
    failure = result.get("bozo_exception")
    if result.get("bozo") and failure is not None and not isinstance(failure, _BENIGN_BOZO):
        problem = _describe(failure)
    raw_entries: list[Any] = result.get("entries") or []
    version: str = result.get("version") or ""
    if not version and not raw_entries:
        raise _not_a_feed(body, url, media_type, problem)

    info: dict[str, Any] = result.get("feed") or {}
    # Atom entries without an author inherit the feed's (RFC 4287 section 4.2.1).
    feed_author = _author(info) if version.startswith("atom") else None
    feed = Feed(
        url=url,
        version=version or "unknown",
        title=_plain(info, "title", MAX_TITLE),
        site_url=_http_url(dict.get(info, "link"), url),
        description=_plain(info, "subtitle", MAX_DESCRIPTION),
        language=_language(dict.get(info, "language")),
        ttl=_ttl(dict.get(info, "ttl")),
        update_interval=_update_interval(
            dict.get(info, "sy_updateperiod"), dict.get(info, "sy_updatefrequency")
        ),
        entries=_unique(_xml_entry(raw, url, feed_author) for raw in raw_entries),
        warning=problem,
    )
    return _checked(feed)


def _xml_entry(raw: dict[str, Any], feed_url: str, feed_author: str | None) -> Entry | None:
    """One feedparser entry as an Entry; None when it carries nothing to identify it by.

    Keys are read with ``dict.get``: FeedParserDict's own lookups alias keys (``updated``
    falls back to ``published`` with a DeprecationWarning) and we want exactly what is there.
    """
    raw_contents = [*_dicts(dict.get(raw, "content"))]
    # Without a summary of its own, feedparser copies the first content into it.
    summary_detail = dict.get(raw, "summary_detail") or next(iter(raw_contents), {})
    summary = _as_html(dict.get(raw, "summary"), summary_detail.get("type"))
    contents = [_as_html(item.get("value"), item.get("type")) for item in raw_contents]
    content = max((text for text in contents if text), key=len, default=None)
    enclosures = [
        link.get("href")
        for link in _dicts(dict.get(raw, "links"))
        if link.get("rel") == "enclosure"
    ]
    enclosures += [media.get("url") for media in _dicts(dict.get(raw, "media_content"))]
    return _entry(
        feed_url=feed_url,
        guid=_string(dict.get(raw, "id")),
        url=_http_url(dict.get(raw, "link"), feed_url),
        title=_plain(raw, "title", MAX_TITLE),
        author=_author(raw) or feed_author,
        published=_xml_date(raw, "published"),
        updated=_xml_date(raw, "updated"),
        summary=summary,
        content=content,
        tags=(tag.get("term") for tag in _dicts(dict.get(raw, "tags"))),
        enclosures=enclosures,
    )


def _author(item: dict[str, Any]) -> str | None:
    detail: Mapping[str, Any] = dict.get(item, "author_detail") or {}
    return _string(detail.get("name")) or _string(dict.get(item, "author"))


def _plain(item: dict[str, Any], key: str, limit: int) -> str | None:
    """``item[key]`` as one line of plain text (feedparser keeps type="html" text as HTML)."""
    text = dict.get(item, key)
    detail: Mapping[str, Any] = dict.get(item, f"{key}_detail") or {}
    if isinstance(text, str) and detail.get("type") in _HTML_TYPES and ("<" in text or "&" in text):
        text = _html_to_text(text)
    return _one_line(text, limit)


def _xml_date(raw: dict[str, Any], key: str) -> datetime | None:
    """``raw[key + "_parsed"]`` as an aware UTC datetime; None for junk (year -1, 10000...).

    feedparser rolls impossible ISO dates over ('2024-13-45' becomes a day in 2025,
    '0000-00-00' one in year -1): those are refused from the text they were read from.
    """
    text, value = dict.get(raw, key), dict.get(raw, f"{key}_parsed")
    if not isinstance(value, time.struct_time):
        return None
    iso = _ISO_DATE.match(text) if isinstance(text, str) else None
    if iso and (iso["sign"] or not 1 <= int(iso["month"]) <= 12 or not 1 <= int(iso["day"]) <= 31):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _ttl(value: object) -> int | None:
    """RSS <ttl> in minutes, when it is a sensible number (at most a year)."""
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return minutes if 0 < minutes <= 366 * 24 * 60 else None


def _update_interval(period: object, frequency: object) -> float | None:
    """Seconds between updates announced by the RSS syndication module: ``sy:updatePeriod``
    (default daily) divided by ``sy:updateFrequency`` (default 1).

    None when neither is given, or when either is nonsense: an unknown period, a frequency
    that is not a positive whole number, or more than one update a second.
    """
    period_text, frequency_text = _string(period), _string(frequency)
    if period_text is None and frequency_text is None:
        return None
    seconds = _UPDATE_PERIODS.get((period_text or "daily").strip().lower())
    times = 1
    if frequency_text is not None:
        times = int(frequency_text) if _UPDATE_FREQUENCY.fullmatch(frequency_text) else 0
    if seconds is None or not 0 < times <= seconds:
        return None
    return seconds / times


def _not_a_feed(body: bytes, url: str, media_type: str, problem: str | None) -> NotAFeedError:
    head = body[:2048].lower()
    if media_type in _HTML_TYPES or b"<html" in head or b"<!doctype html" in head:
        advertised = tuple(_advertised_feeds(body[:_HTML_SCAN_BYTES], url))
        if advertised:
            return NotAFeedError(
                f"not a feed: got an HTML page, which advertises {', '.join(advertised)}",
                alternates=advertised,
            )
        return NotAFeedError("not a feed: got an HTML page that advertises no feed")
    return NotAFeedError(f"not a feed: {problem or 'no RSS, Atom or JSON Feed document found'}")


class _FeedLinkFinder(HTMLParser):
    """Collects ``<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">``."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "base" and values.get("href"):
            self.base = _http_url(values["href"], self.base) or self.base
        elif tag == "link" and "alternate" in values.get("rel", "").lower().split():
            kind = values.get("type", "").split(";", 1)[0].strip().lower()
            link = _http_url(values.get("href"), self.base)
            if kind in _FEED_LINK_TYPES and link and link not in self.links:
                self.links.append(link)


def _advertised_feeds(page: bytes, url: str) -> list[str]:
    finder = _FeedLinkFinder(url)
    _run(finder, page.decode("utf-8", "replace"))
    return finder.links[:10]


class _TextCollector(HTMLParser):
    """The text of an HTML fragment, without the contents of <script> and <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html_to_text(fragment: str) -> str:
    collector = _TextCollector()
    _run(collector, fragment)
    return "".join(collector.parts)


def _run(parser: HTMLParser, markup: str) -> None:
    """Feed ``markup`` to ``parser``, keeping what it collected if it gives up half-way
    (Python 3.11's HTMLParser raises AssertionError on a malformed ``<![`` section)."""
    with contextlib.suppress(AssertionError):
        parser.feed(markup)
        parser.close()


# --- JSON Feed ----------------------------------------------------------------------------


def _parse_json_feed(body: bytes, url: str) -> Feed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1). Fields of the wrong type are
    ignored, items that are not objects are skipped (and counted in the warning)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ParseError(f"invalid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise NotAFeedError("not a feed: the JSON document is not an object")
    version = document.get("version")
    match = _JSONFEED_VERSION.fullmatch(version) if isinstance(version, str) else None
    if match is None:
        raise NotAFeedError("not a feed: JSON without a jsonfeed.org version")

    items = document.get("items")
    warning = None
    if not isinstance(items, list):
        items, warning = [], "JSON Feed has no items list"
    feed_authors = _json_authors(document)
    entries = _unique(_json_entry(item, url, feed_authors) for item in items)
    skipped = sum(not isinstance(item, dict) for item in items)
    if skipped:
        warning = f"skipped {skipped} JSON Feed item(s) that are not objects"
    feed = Feed(
        url=url,
        version=f"json{match[1]}{match[2] or 0}",
        title=_one_line(document.get("title"), MAX_TITLE),
        site_url=_http_url(document.get("home_page_url"), url),
        description=_one_line(document.get("description"), MAX_DESCRIPTION),
        language=_language(document.get("language")),
        entries=entries,
        warning=warning,
    )
    return _checked(feed)


def _json_entry(item: object, feed_url: str, feed_authors: str | None) -> Entry | None:
    if not isinstance(item, dict):
        return None
    guid = item.get("id")
    if isinstance(guid, int) and not isinstance(guid, bool):
        guid = str(guid)  # JSON Feed 1.0 feeds in the wild use numbers
    # Bounded (and lone surrogates replaced) first: the sanitizer chokes on surrogates.
    content_html = _clip(_string(item.get("content_html")), MAX_CONTENT)
    if content_html:
        content: str | None = _sanitize(content_html, feed_url)
    else:
        content = _as_html(item.get("content_text"), "text/plain")
    return _entry(
        feed_url=feed_url,
        guid=_string(guid),
        url=_http_url(item.get("url"), feed_url) or _http_url(item.get("external_url"), feed_url),
        title=_one_line(item.get("title"), MAX_TITLE),
        author=_json_authors(item) or feed_authors,
        published=_from_rfc3339(item.get("date_published")),
        updated=_from_rfc3339(item.get("date_modified")),
        summary=_as_html(item.get("summary"), "text/plain"),
        content=content,
        tags=_list(item.get("tags")),
        enclosures=(attachment.get("url") for attachment in _dicts(item.get("attachments"))),
    )


def _json_authors(holder: Mapping[str, Any]) -> str | None:
    """Names from 1.1 ``authors`` (a list), else 1.0 ``author`` (an object), comma-joined."""
    authors = [*_dicts(holder.get("authors"))] or [*_dicts([holder.get("author")])]
    names = [name for author in authors if (name := _string(author.get("name")))]
    return ", ".join(names) or None


def _from_rfc3339(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().upper())
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _sanitize(fragment: str, base: str) -> str:
    """Resolve and sanitize HTML the way feedparser does for XML feeds' content."""
    resolved = resolve_relative_uris(fragment, base, "utf-8", "text/html")
    sanitized: str = _sanitize_html(resolved, "utf-8", "text/html")
    return sanitized


# --- shared -------------------------------------------------------------------------------


def _entry(
    *,
    feed_url: str,
    guid: str | None,
    url: str | None,
    title: str | None,
    author: str | None,
    published: datetime | None,
    updated: datetime | None,
    summary: str | None,
    content: str | None,
    tags: Iterable[object],
    enclosures: Iterable[object],
) -> Entry | None:
    """Bound the fields and settle the entry's identity (guid, else link, else a hash)."""
    summary = _clip(summary, MAX_SUMMARY)
    content = _clip(content, MAX_CONTENT)
    media = _unique_strings((_http_url(link, feed_url) for link in enclosures), MAX_ENCLOSURES)
    key = guid.strip() if guid else ""
    if len(key) > MAX_ID:
        key = "sha256:" + _digest(key)
    identity = _clip(key, MAX_ID) or url
    if not identity:
        if not (title or summary or content or media):
            return None
        date = published or updated
        identity = "sha256:" + _digest(
            feed_url,
            title or "",
            date.isoformat() if date else "",
            (summary or content or "")[:_HASHED_SUMMARY_PREFIX],
            *media,
        )
    return Entry(
        id=identity,
        guid=_clip(guid, MAX_ID, strip=False),
        url=url,
        title=title,
        author=_one_line(author, MAX_AUTHOR),
        published=published,
        updated=updated,
        summary=summary,
        content=content,
        tags=_unique_strings((_one_line(tag, MAX_TAG) for tag in tags), MAX_TAGS),
        enclosures=media,
    )


def _checked(feed: Feed) -> Feed:
    """``feed``, unless the document is broken and nothing at all came out of it."""
    if feed.warning and not feed.entries and not feed.title:
        raise ParseError(f"unreadable feed: {feed.warning}")
    return feed


def _unique(entries: Iterable[Entry | None]) -> tuple[Entry, ...]:
    """Entries in document order, the first of each id only."""
    kept: dict[str, Entry] = {}
    for entry in entries:
        if entry is not None and entry.id not in kept:
            kept[entry.id] = entry
    return tuple(kept.values())


def _http_url(value: object, base: str) -> str | None:
    """``value`` resolved against ``base`` if it is then an http(s) URL with a host, else None."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_URL:
        return None
    try:
        link = urljoin(base, value.strip())
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or len(link) > MAX_URL:
        return None
    return _clip(link, MAX_URL)


def _as_html(value: object, kind: object) -> str | None:
    """Feed text as HTML: plain text is escaped, HTML (already sanitized) kept as is."""
    if not isinstance(value, str) or not value.strip():
        return None
    return html.escape(value) if kind in _TEXT_TYPES else value


def _language(value: object) -> str | None:
    language = _string(value)
    return _clip(language, MAX_LANGUAGE) if language and len(language) <= MAX_LANGUAGE else None


def _clip(value: str | None, limit: int, *, strip: bool = True) -> str | None:
    """``value`` stripped, cut to ``limit``, lone surrogates replaced; None if empty."""
    if value is None:
        return None
    if strip:
        value = value.strip()
    value = value[:limit]
    if not value.isascii():  # lone surrogates (from JSON escapes) cannot be stored as UTF-8
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value or None


def _one_line(value: object, limit: int) -> str | None:
    """A string with its runs of whitespace collapsed, bounded; None for anything else."""
    return _clip(" ".join(value.split()), limit) if isinstance(value, str) else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _dicts(value: object) -> Iterator[Mapping[str, Any]]:
    return (item for item in _list(value) if isinstance(item, dict))


def _unique_strings(values: Iterable[str | None], limit: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))[:limit]


def _digest(*parts: str) -> str:
    material = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()


def _describe(exc: BaseException) -> str:
    """An exception as 'Type: message', short enough to record on a feed."""
    if isinstance(exc, SAXParseException):  # its str() starts with a meaningless "<unknown>:"
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}: "
        message = where + exc.getMessage()
    else:
        message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:MAX_WARNING]
