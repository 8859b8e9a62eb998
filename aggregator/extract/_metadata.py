"""Page metadata from the markup (language, canonical URL, title, author, site) and from
htmldate (the date)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import lxml.html
from htmldate import find_date
from lxml import etree
from trafilatura.metadata import examine_meta, extract_author, extract_meta_json, extract_title

_LANG_CODE = re.compile(r"\s*([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*\s*$", re.IGNORECASE)
_CANONICAL_XPATHS = (
    etree.XPath(
        "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONICAL', 'canonical')),"
        " ' '), ' canonical ')]/@href"
    ),
    etree.XPath("//meta[@property='og:url' or @name='og:url']/@content"),
)
_BASE_HREF = etree.XPath("string(//base/@href)")
_LANG_XPATH = etree.XPath(
    "//meta[translate(@http-equiv, 'CONTENTLAGU', 'contentlagu')='content-language']/@content"
    " | //meta[@property='og:locale']/@content"
)


def page_lang(tree: lxml.html.HtmlElement) -> str | None:
    """The short language code the page declares (<html lang>, Content-Language, og:locale)."""
    candidates = [tree.get("lang"), tree.get("xml:lang"), *_LANG_XPATH(tree)]
    for value in candidates:
        code = language_code(value)
        if code:
            return code
    return None


def language_code(value: str | None) -> str | None:
    match = _LANG_CODE.match(value) if value else None
    return match.group(1).lower() if match else None


def canonical_url(tree: lxml.html.HtmlElement, url: str | None) -> str | None:
    """rel=canonical, else og:url, made absolute against the page URL; http(s) only."""
    base = url or ""
    base_href = str(_BASE_HREF(tree)).strip()
    if base_href:
        base = urljoin(base, base_href)
    for xpath in _CANONICAL_XPATHS:
        for href in xpath(tree):
            absolute = urljoin(base, str(href).strip())
            parts = urlsplit(absolute)
            if parts.scheme in ("http", "https") and parts.hostname:
                return absolute
    return None


def parse_date(value: str | None) -> datetime | None:
    """htmldate's ISO date (with time and offset when the page gave them) as an aware UTC time."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PageMetadata:
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    sitename: str | None = None
    language: str | None = None


def page_metadata(
    tree: lxml.html.HtmlElement,
    url: str | None,
    *,
    title: bool = True,
    author: bool = True,
    published: bool = True,
) -> PageMetadata:
    """Title, author, publication date, site name and language from the page's markup.

    trafilatura's metadata steps, only those we keep: meta tags and JSON-LD first, then the
    title, the author (a search of bylines, ~2 ms) and the date (htmldate, ~3 ms) unless the
    caller already has them from the feed. Its categories, tags and licence are not looked for.
    """
    found = examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None  # a bare handle ("@jdoe", "admin") is not a name
    with contextlib.suppress(Exception):  # broken JSON-LD: the meta tags are enough
        found = extract_meta_json(tree, found)
    if title and not found.title:
        found.title = extract_title(tree)
    if author and not found.author:
        found.author = extract_author(tree)
    # htmldate: the original publication date, from the markup only, with its time.
    date = (
        find_date(
            tree,
            extensive_search=False,
            original_date=True,
            outputformat="%Y-%m-%dT%H:%M:%S%z",
            url=url,
            deferred_url_extractor=True,
        )
        if published
        else None
    )
    sitename = (found.sitename or "").lstrip("@") or None
    return PageMetadata(
        title=found.title or None if title else None,
        author=found.author or None if author else None,
        published=parse_date(date),
        sitename=sitename,
        language=found.language or None,
    )
