"""What every feed format shares: the bounds of each field, how an entry's identity is settled,
which entry of a repeated id is kept, and the small readers that turn loose values into
bounded strings, absolute http(s) links and aware UTC datetimes."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from aggregator.errors import ParseError
from aggregator.models import Entry, Feed

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

_TEXT_TYPES = frozenset({"text/plain", "text"})
_NOT_IN_HOSTS = re.compile(r"[\s<>\"'`{}|\\^]")
"""Characters no host name can hold (a link cut out of broken markup does)."""


def make_entry(
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
    summary = clip(summary, MAX_SUMMARY)
    content = clip(content, MAX_CONTENT)
    media = _unique_strings((http_url(link, feed_url) for link in enclosures), MAX_ENCLOSURES)
    key = guid.strip() if guid else ""
    if len(key) > MAX_ID:
        key = "sha256:" + _digest(key)
    identity = clip(key, MAX_ID) or url
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
        guid=clip(guid, MAX_ID, strip=False),
        url=url,
        title=title,
        author=one_line(author, MAX_AUTHOR),
        published=published,
        updated=updated,
        summary=summary,
        content=content,
        tags=_unique_strings((one_line(tag, MAX_TAG) for tag in tags), MAX_TAGS),
        enclosures=media,
    )


def checked(feed: Feed) -> Feed:
    """``feed``, unless the document is broken and nothing at all came out of it."""
    if feed.warning and not feed.entries and not feed.title:
        raise ParseError(f"unreadable feed: {feed.warning}")
    return feed


def unique_entries(entries: Iterable[Entry | None]) -> tuple[Entry, ...]:
    """One entry per story, in the order ids first appear in the document.

    Entries sharing an id but linking to different pages are different stories under a reused
    guid: each gets an id of its own, made of the guid and its link (the store knows it again
    by its link and title if it later appears alone under the bare guid). Of entries sharing an
    id and a link, the choice depends on what they say, never on their order, so a server that
    shuffles its items does not make the archive flip between versions from poll to poll: the
    latest ``updated`` (else ``published``) wins, then the longest text, then the greatest hash
    of all the fields (an arbitrary but stable tie-break).
    """
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry is not None:
            groups.setdefault(entry.id, []).append(entry)
    kept: list[Entry] = []
    for identity, group in groups.items():
        if len({entry.url for entry in group if entry.url}) <= 1:
            kept.append(group[0] if len(group) == 1 else max(group, key=_preference))
            continue
        by_link: dict[str | None, list[Entry]] = {}
        for entry in group:
            by_link.setdefault(entry.url, []).append(entry)
        for link, same in by_link.items():
            chosen = max(same, key=_preference)
            kept.append(chosen if link is None else replace(chosen, id=_reused(identity, link)))
    return tuple(kept)


def _reused(identity: str, link: str) -> str:
    """The id of one of several stories that share a guid: the guid and the story's link."""
    return "sha256:" + _digest(identity, link)


def _preference(entry: Entry) -> tuple[datetime, int, str]:
    moment = entry.updated or entry.published or datetime.min.replace(tzinfo=UTC)
    length = len(entry.content or "") + len(entry.summary or "")
    return moment, length, _digest(repr(entry))


def http_url(value: object, base: str) -> str | None:
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
    return clip(link, MAX_URL) if len(link) <= MAX_URL else None


def as_html(value: object, kind: object) -> str | None:
    """Feed text as HTML: plain text is escaped, HTML (already sanitized) kept as is."""
    if not isinstance(value, str) or not value.strip():
        return None
    return html.escape(value) if kind in _TEXT_TYPES else value


def language_tag(value: object) -> str | None:
    language = nonblank(value)
    return clip(language, MAX_LANGUAGE) if language and len(language) <= MAX_LANGUAGE else None


def clip(value: str | None, limit: int, *, strip: bool = True) -> str | None:
    """``value`` stripped, cut to ``limit``, lone surrogates replaced; None if empty."""
    if value is None:
        return None
    if strip:
        value = value.strip()
    value = value[:limit]
    if not value.isascii():  # lone surrogates (from JSON escapes) cannot be stored as UTF-8
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value or None


def one_line(value: object, limit: int) -> str | None:
    """A string with its runs of whitespace collapsed, bounded; None for anything else."""
    return clip(" ".join(value.split()), limit) if isinstance(value, str) else None


def nonblank(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def dicts(value: object) -> Iterator[Mapping[str, Any]]:
    return (item for item in as_list(value) if isinstance(item, dict))


def _unique_strings(values: Iterable[str | None], limit: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))[:limit]


def _digest(*parts: str) -> str:
    material = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()


def from_rfc3339(value: object) -> datetime | None:
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
