"""RSS 0.90-2.0, RSS 1.0 (RDF) and Atom 0.3/1.0: read by ``_fast`` when it can, else by feedparser.

Either way the document is read as ``_prolog`` prepared it, into feedparser's dictionaries
(:class:`~aggregator.parse._fast.RawFeed`); those become Feed and Entry values here, with their
dates checked and a page that is no feed named as such.
"""

from __future__ import annotations

import calendar
import io
import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser

from aggregator.errors import NotAFeedError, ParseError
from aggregator.models import Entry, Feed
from aggregator.parse._fast import Declined, RawFeed, read
from aggregator.parse._fields import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    MAX_WARNING,
    as_html,
    checked,
    dicts,
    from_rfc3339,
    http_url,
    language_tag,
    make_entry,
    nonblank,
    one_line,
    unique_entries,
)
from aggregator.parse._html import advertised_feeds, html_to_text
from aggregator.parse._prolog import Document, prepare

log = logging.getLogger(__name__)

_HTML_SCAN_BYTES = 512 * 1024
"""How much of an HTML page is searched for advertised feeds."""
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ISO_DATE = re.compile(
    r"\s*(?P<sign>[-+]?)(?P<year>\d+)-(?P<month>W?\d\d?)(?:-(?P<day>\d\d?)"
    r"(?:[T ](?P<hour>\d\d)(?::(?P<minute>\d\d))?)?)?",
    re.IGNORECASE,
)
_UPDATE_PERIODS = {
    "hourly": 60 * 60,
    "daily": 24 * 60 * 60,
    "weekly": 7 * 24 * 60 * 60,
    "monthly": 30 * 24 * 60 * 60,
    "yearly": 365 * 24 * 60 * 60,
}
"""Seconds in each ``sy:updatePeriod`` (a month is taken as 30 days)."""
_UPDATE_FREQUENCY = re.compile(r"\s*\d{1,9}\s*")


def parse_xml(
    body: bytes, url: str, headers: dict[str, str], media_type: str, *, fast: bool = True
) -> Feed:
    """``body`` as a Feed; ``fast=False`` goes straight to feedparser (for comparisons)."""
    document = prepare(body, headers.get("content-type", ""))
    raw = None
    if fast:
        try:
            raw = read(document.data, url, headers)
        except Declined as exc:
            log.debug("event=fast_parse_declined url=%s reason=%s", url, exc)
    if raw is None:
        raw = _read_with_feedparser(document, url, headers)
    if not raw.version and not raw.entries:
        raise _not_a_feed(body, url, media_type, raw.problem)
    version = raw.version
    if version == "rss091u" and document.netscape:
        version = "rss091n"

    info = raw.feed
    # Atom entries without an author inherit the feed's (RFC 4287 section 4.2.1).
    feed_author = _author(info) if version.startswith("atom") else None
    feed = Feed(
        url=url,
        version=version or "unknown",
        title=_plain(info, "title", MAX_TITLE),
        site_url=http_url(dict.get(info, "link"), url),
        description=_plain(info, "subtitle", MAX_DESCRIPTION),
        language=language_tag(dict.get(info, "language")),
        ttl=_ttl(dict.get(info, "ttl")),
        update_interval=_update_interval(
            dict.get(info, "sy_updateperiod"), dict.get(info, "sy_updatefrequency")
        ),
        entries=unique_entries(_xml_entry(entry, url, feed_author) for entry in raw.entries),
        warning="; ".join(filter(None, (*document.problems, raw.problem))) or None,
    )
    return checked(feed)


def _read_with_feedparser(document: Document, url: str, headers: dict[str, str]) -> RawFeed:
    # A stream, never bytes or str: feedparser opens a str/bytes naming a file or URL.
    # content-location is the base for relative links (there is no href with a stream).
    try:
        result = feedparser.parse(
            io.BytesIO(document.data),
            response_headers={
                **headers,
                "content-type": "application/xml; charset=utf-8",
                "content-location": url,
            },
            resolve_relative_uris=True,
            sanitize_html=True,
        )
    except Exception as exc:  # feedparser's loose parser can crash on hostile input
        raise ParseError(f"unreadable document: {_describe(exc)}") from exc
    failure = result.get("bozo_exception")
    return RawFeed(
        version=result.get("version") or "",
        feed=result.get("feed") or {},
        entries=result.get("entries") or [],
        problem=_describe(failure) if result.get("bozo") and failure is not None else None,
    )


def _xml_entry(raw: dict[str, Any], feed_url: str, feed_author: str | None) -> Entry | None:
    """One feedparser entry as an Entry; None when it carries nothing to identify it by.

    Keys are read with ``dict.get``: FeedParserDict's own lookups alias keys (``updated``
    falls back to ``published`` with a DeprecationWarning) and we want exactly what is there.
    """
    raw_contents = [*dicts(dict.get(raw, "content"))]
    # Without a summary of its own, feedparser copies the first content into it.
    summary_detail = dict.get(raw, "summary_detail") or next(iter(raw_contents), {})
    summary = as_html(dict.get(raw, "summary"), summary_detail.get("type"))
    contents = [as_html(item.get("value"), item.get("type")) for item in raw_contents]
    content = max((text for text in contents if text), key=len, default=None)
    enclosures = [
        link.get("href") for link in dicts(dict.get(raw, "links")) if link.get("rel") == "enclosure"
    ]
    enclosures += [media.get("url") for media in dicts(dict.get(raw, "media_content"))]
    return make_entry(
        feed_url=feed_url,
        guid=nonblank(dict.get(raw, "id")),
        url=http_url(dict.get(raw, "link"), feed_url),
        title=_plain(raw, "title", MAX_TITLE),
        author=_author(raw) or feed_author,
        published=_xml_date(raw, "published"),
        updated=_xml_date(raw, "updated"),
        summary=summary,
        content=content,
        tags=(tag.get("term") for tag in dicts(dict.get(raw, "tags"))),
        enclosures=enclosures,
    )


def _author(item: dict[str, Any]) -> str | None:
    detail: Mapping[str, Any] = dict.get(item, "author_detail") or {}
    return nonblank(detail.get("name")) or nonblank(dict.get(item, "author"))


def _plain(item: dict[str, Any], key: str, limit: int) -> str | None:
    """``item[key]`` as one line of plain text (feedparser keeps type="html" text as HTML)."""
    text = dict.get(item, key)
    detail: Mapping[str, Any] = dict.get(item, f"{key}_detail") or {}
    if isinstance(text, str) and detail.get("type") in _HTML_TYPES and ("<" in text or "&" in text):
        text = html_to_text(text)
    return one_line(text, limit)


def _xml_date(raw: dict[str, Any], key: str) -> datetime | None:
    """``raw[key + "_parsed"]`` as an aware UTC datetime; None for junk.

    feedparser rolls impossible ISO dates over ('2024-13-45' becomes a day in 2025,
    '2099-02-30' one in March, '0000-00-00' one in year -1) and misreads others
    ('10000-01-01' becomes 2010-11-01, '2024-W01-1' 2024-11-01). So a date in ISO form is
    read strictly from its text, or kept from feedparser only when its year has four digits
    and its fields exist.
    """
    text, value = dict.get(raw, key), dict.get(raw, f"{key}_parsed")
    if not isinstance(value, time.struct_time):
        return None
    iso = _ISO_DATE.match(text) if isinstance(text, str) else None
    if iso:
        if iso["sign"] or len(iso["year"]) != 4:
            return None
        moment = from_rfc3339(text)
        if moment is not None:
            return moment.replace(microsecond=0)  # to the second, like feedparser's dates
        if not _is_real_moment(iso):
            return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _is_real_moment(iso: re.Match[str]) -> bool:
    """Whether the fields an ISO date gives exist (hour 24 is the end of a day); week
    dates that ``fromisoformat`` refused do not."""
    if iso["month"].upper().startswith("W"):
        return False
    try:
        date(int(iso["year"]), int(iso["month"]), int(iso["day"] or 1))
    except ValueError:
        return False
    return int(iso["hour"] or 0) <= 24 and int(iso["minute"] or 0) <= 59


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
    period_text, frequency_text = nonblank(period), nonblank(frequency)
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
        advertised = tuple(advertised_feeds(body[:_HTML_SCAN_BYTES], url))
        if advertised:
            return NotAFeedError(
                f"not a feed: got an HTML page, which advertises {', '.join(advertised)}",
                alternates=advertised,
            )
        return NotAFeedError("not a feed: got an HTML page that advertises no feed")
    return NotAFeedError(f"not a feed: {problem or 'no RSS, Atom or JSON Feed document found'}")


def _describe(exc: BaseException) -> str:
    """An exception as 'Type: message', short enough to record on a feed."""
    if isinstance(exc, SAXParseException):  # its str() starts with a meaningless "<unknown>:"
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}: "
        message = where + exc.getMessage()
    else:
        message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:MAX_WARNING]
