"""Turn a fetched document into normalized :class:`~aggregator.models.Feed` values.

RSS 0.90-2.0, RSS 1.0 (RDF) and Atom 0.3/1.0 are read by feedparser (this is the only module
that imports it); JSON Feed 1.0/1.1, which feedparser does not know, is read here with
:mod:`json`. Whatever the format, the result has the same shape:

- every entry has a stable ``id``: its guid/id, else its absolute link, else a hash of what it
  says; of entries sharing an id, one is kept, chosen by what they say and not by their order
  (see :func:`_unique`), so a server that shuffles its items gives the same result every poll;
- links are absolute http(s) URLs or None; dates are aware UTC datetimes or None;
- ``summary`` and ``content`` are sanitized HTML; titles, authors and tags are plain text;
- every string is bounded, so a hostile feed cannot bloat the archive through one field.

A document feedparser had to recover from gives a Feed with ``warning`` set; one with nothing
usable in it raises :class:`~aggregator.errors.ParseError`.

Hostile XML. Before feedparser sees a document, it is decoded here (:func:`_decode`: a wrong
declared encoding gives way, with a warning) and cut to start at its root element
(:func:`_prolog`): the XML declaration, comments, processing instructions and the DOCTYPE with
its internal subset are dropped. Entity declarations live only there, so no entity is ever
expanded (billion laughs, quadratic blowup) and none names a file or URL to read (XXE).
feedparser's own DOCTYPE stripping is not enough: it only removes declarations at the start of
a line before the first ``<a``-like text, which a comment can hide, with regular expressions
that take quadratic time on blank lines; and its fallback parser expands the big entities it
keeps. Behind that, expat 2.4 or later is required at import: it refuses entity amplification
on its own, should a DTD ever reach it.
"""

from __future__ import annotations

import calendar
import codecs
import contextlib
import hashlib
import html
import io
import json
import pyexpat
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris

from aggregator.errors import NotAFeedError, ParseError
from aggregator.models import Entry, Feed

__all__ = ["MIN_EXPAT", "parse"]

MIN_EXPAT = (2, 4, 0)
"""The oldest expat with protection against entity amplification (billion laughs)."""
if pyexpat.version_info < MIN_EXPAT:
    raise ImportError(
        f"aggregator needs expat {'.'.join(map(str, MIN_EXPAT))} or later to parse feeds "
        f"safely; this Python has {pyexpat.EXPAT_VERSION}"
    )

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
_NOT_IN_HOSTS = re.compile(r"[\s<>\"'`{}|\\^]")
"""Characters no host name can hold (a link cut out of broken markup does)."""
_NON_SPACE = re.compile(rb"\S")
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
_JSONFEED_VERSION = re.compile(r"https?://jsonfeed\.org/version/(\d+)(?:\.(\d+))?/?")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose mark begins the same
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_STARTS = (
    (b"<\0\0\0", "utf-32-le"),
    (b"\0\0\0<", "utf-32-be"),
    (b"<\0", "utf-16-le"),
    (b"\0<", "utf-16-be"),
)
"""A '<' with the NULs of a wide encoding, without a byte order mark (XML 1.0 appendix F)."""
_ENCODING_NAME = r"[A-Za-z][A-Za-z0-9._:-]{0,39}"
_XML_ENCODING = re.compile(
    rb"\s*<\?xml\s[^>]{0,200}?\bencoding\s*=\s*[\"'](" + _ENCODING_NAME.encode() + rb")[\"']"
)
_CHARSET = re.compile(_ENCODING_NAME)
_MARKUP_SAMPLE = b"<?xml version='1.0'?><a:B c=\"d\">&amp; e-f_g.h/</a:B>"
"""ASCII markup: an encoding that reads it otherwise cannot be a feed's declared encoding."""
_PSEUDO_ENCODINGS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "utf-7"})
"""Python codecs no feed is written in, and UTF-7, which browsers refuse (an XSS vector)."""
_SUPERSETS = {"ascii": "cp1252", "iso8859-1": "cp1252", "gb2312": "gb18030"}
"""Labels that documents use for a wider encoding (as browsers read them)."""
_LATIN_CODECS = frozenset({"cp1252", "iso8859-15"})
"""Declared encodings that are often a mislabel of UTF-8 (after ``_SUPERSETS``)."""
_FALLBACK_ENCODING = "windows-1252"
_PROLOG_MARKUP = re.compile(r"<(?:!--|\?|!|[A-Za-z_])")
"""What can start in a prolog: a comment, a processing instruction, a declaration, or the root
element (an ASCII name: feedparser looks for the head of a document up to ``<\\w``)."""
_DOCTYPE_HEAD = 1000
"""How much of a DOCTYPE is searched for the name of Netscape's RSS 0.91 DTD."""
_DECLARATION_STOP = re.compile(r"[\"'\[>]")
_SUBSET_STOP = re.compile(r"[\"'\]]|<!--|<\?")


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
    document = _prepare(body, headers.get("content-type", ""))
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

    problem = None
    failure = result.get("bozo_exception")
    if result.get("bozo") and failure is not None:
        problem = _describe(failure)
    raw_entries: list[Any] = result.get("entries") or []
    version: str = result.get("version") or ""
    if not version and not raw_entries:
        raise _not_a_feed(body, url, media_type, problem)
    if version == "rss091u" and document.netscape:
        version = "rss091n"

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
        warning="; ".join(filter(None, (*document.problems, problem))) or None,
    )
    return _checked(feed)


class _Document(NamedTuple):
    """A document made ready for feedparser."""

    data: bytes
    """UTF-8, from the root element on."""
    netscape: bool
    """Whether its DOCTYPE named Netscape's RSS 0.91 DTD (feedparser calls that 'rss091n')."""
    problems: tuple[str, ...]
    """What was wrong with its encoding or prolog, as warnings."""


def _prepare(body: bytes, content_type: str) -> _Document:
    text, encoding_problem = _decode(body, content_type)
    root, netscape, internal_subset = _prolog(text)
    problems = (
        encoding_problem,
        "ignored the DTD inside the document (its entities are not expanded)"
        if internal_subset
        else None,
    )
    return _Document(
        data=text[root:].encode("utf-8"),
        netscape=netscape,
        problems=tuple(problem for problem in problems if problem),
    )


def _decode(body: bytes, content_type: str) -> tuple[str, str | None]:
    """The document as text, and a warning when its declared encoding was wrong.

    A byte order mark (or the NULs around a UTF-16/32 '<') decides; else the charset of the
    Content-Type, else the XML declaration's encoding, else UTF-8 (RFC 7303). A declared
    encoding that is unknown, cannot read ASCII markup, or fails on the bytes gives way to
    UTF-8, then windows-1252; so does a Latin-1 label on bytes that are valid UTF-8 beyond
    ASCII (they would come out as mojibake like "cafÃ©").
    """
    for mark, encoding in _BOMS:
        if body.startswith(mark):
            return body[len(mark) :].decode(encoding, "replace"), None
    for start, encoding in _WIDE_STARTS:
        if body.startswith(start):
            return body.decode(encoding, "replace"), None
    declared = _charset(content_type) or _xml_encoding(body)
    codec = _document_codec(declared)
    if codec is not None and not (codec in _LATIN_CODECS and _is_utf8(body)):
        with contextlib.suppress(UnicodeDecodeError):
            return body.decode(codec), None
    with contextlib.suppress(UnicodeDecodeError):
        return body.decode("utf-8"), _overruled(declared, "UTF-8")
    if codec is not None and codec != "utf-8":  # a few bad bytes in, say, a Cyrillic feed
        return body.decode(codec, "replace"), f"the document has bytes that are not {declared}"
    text = body.decode(_FALLBACK_ENCODING, "replace")
    return text, _overruled(declared, _FALLBACK_ENCODING) or (
        f"the document is not UTF-8 and declares no encoding; read it as {_FALLBACK_ENCODING}"
    )


def _charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type, if it looks like an encoding name."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip().strip("\"'")
            return value if _CHARSET.fullmatch(value) else None
    return None


def _xml_encoding(body: bytes) -> str | None:
    declaration = _XML_ENCODING.match(body)
    return declaration[1].decode("ascii") if declaration else None


def _document_codec(declared: str | None) -> str | None:
    """The Python codec for a declared encoding, None if it cannot be a document's."""
    if declared is None:
        return None
    try:
        codec = codecs.lookup(declared).name
        reads_ascii = _MARKUP_SAMPLE.decode(codec) == _MARKUP_SAMPLE.decode("ascii")
    except (LookupError, ValueError):  # unknown, not a text encoding, or not ASCII-based
        return None
    if not reads_ascii or codec in _PSEUDO_ENCODINGS:
        return None
    return _SUPERSETS.get(codec, codec)


def _is_utf8(body: bytes) -> bool:
    """Whether ``body`` is UTF-8 with something beyond ASCII in it."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _overruled(declared: str | None, used: str) -> str | None:
    if declared is None:
        return None
    return f"the document is not in its declared encoding {declared}; read it as {used}"


def _prolog(text: str) -> tuple[int, bool, bool]:
    """Where the root element of ``text`` starts (its length if it has none), whether a
    DOCTYPE before it names Netscape's RSS 0.91 DTD, and whether one has an internal subset.

    The scan follows the XML grammar closely enough for real documents (literals, comments and
    processing instructions are skipped whole) and is linear: every search moves forward.
    Whatever it makes of broken markup, the text from the position it returns is empty or
    starts with ``<`` and an ASCII letter: without the prolog, expat cannot meet a DTD (one
    after the root element is an error) and feedparser's search for the head of the document
    stops at once.
    """
    netscape = internal_subset = False
    position = 0
    while markup := _PROLOG_MARKUP.search(text, position):
        start, kind = markup.span()[0], markup[0]
        if kind == "<!--":
            position = _after(text, "-->", markup.end())
        elif kind == "<?":
            position = _after(text, "?>", markup.end())
        elif kind == "<!":
            subset, position = _declaration(text, markup.end())
            if text.startswith("<!DOCTYPE", start):
                head_end = min(position if subset is None else subset, start + _DOCTYPE_HEAD)
                netscape = netscape or "netscape" in text[start:head_end].lower()
            internal_subset = internal_subset or subset is not None
        else:
            return start, netscape, internal_subset
    return len(text), netscape, internal_subset


def _declaration(text: str, position: int) -> tuple[int | None, int]:
    """Where the internal subset of the ``<!`` declaration going on at ``position`` starts
    (None if it has none), and where the declaration ends."""
    subset = None
    while stop := _DECLARATION_STOP.search(text, position):
        char = stop[0]
        if char == ">":
            return subset, stop.end()
        if char == "[":
            subset = stop.start() if subset is None else subset
            position = _subset_end(text, stop.end())
        else:
            position = _after(text, char, stop.end())
    return subset, len(text)


def _subset_end(text: str, position: int) -> int:
    """Just after the ``]`` that closes the internal subset going on at ``position``."""
    closing = {'"': '"', "'": "'", "<!--": "-->", "<?": "?>"}
    while stop := _SUBSET_STOP.search(text, position):
        if stop[0] == "]":
            return stop.end()
        position = _after(text, closing[stop[0]], stop.end())
    return len(text)


def _after(text: str, marker: str, position: int) -> int:
    """Just after the next ``marker`` from ``position`` on (the end of ``text`` if none)."""
    found = text.find(marker, position)
    return len(text) if found < 0 else found + len(marker)


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
        moment = _from_rfc3339(text)
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
    """One entry per id, in the order ids first appear in the document.

    Of entries sharing an id, the choice depends on what they say, never on their order, so a
    server that shuffles its items does not make the archive flip between versions from poll to
    poll: the latest ``updated`` (else ``published``) wins, then the longest text, then the
    greatest hash of all the fields (an arbitrary but stable tie-break).
    """
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry is not None:
            groups.setdefault(entry.id, []).append(entry)
    return tuple(
        group[0] if len(group) == 1 else max(group, key=_preference) for group in groups.values()
    )


def _preference(entry: Entry) -> tuple[datetime, int, str]:
    moment = entry.updated or entry.published or datetime.min.replace(tzinfo=UTC)
    length = len(entry.content or "") + len(entry.summary or "")
    return moment, length, _digest(repr(entry))


def _http_url(value: object, base: str) -> str | None:
    """``value`` resolved against ``base`` if it is then an http(s) URL with a plausible host
    and a valid port, else None."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_URL:
        return None
    try:
        link = urljoin(base, value.strip())
        parts = urlsplit(link)
        host, _ = parts.hostname, parts.port  # .port raises ValueError when invalid
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or _NOT_IN_HOSTS.search(host):
        return None
    return _clip(link, MAX_URL) if len(link) <= MAX_URL else None


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
