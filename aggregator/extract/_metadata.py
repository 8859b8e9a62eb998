"""Page metadata from the markup (language, canonical URL) and from htmldate (the date)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

_LANG_CODE = re.compile(r"\s*([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*\s*$", re.IGNORECASE)
_CANONICAL_XPATHS = (
    etree.XPath(
        "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONICAL', 'canonical')),"
        " ' '), ' canonical ')]/@href"
    ),
    etree.XPath("//meta[@property='og:url' or @name='og:url']/@content"),
)
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
    base_href = str(tree.xpath("string(//base/@href)")).strip()
    if base_href:
        base = urljoin(base, base_href)
    for xpath in _CANONICAL_XPATHS:
        for href in xpath(tree):
            absolute = urljoin(base, str(href).strip())
            parts = urlsplit(absolute)
            if parts.scheme in ("http", "https") and parts.hostname:
                return absolute
    return None


def date_params() -> dict[str, object]:
    """htmldate settings: the original publication date, from markup only, with its time."""
    return {
        "original_date": True,
        "extensive_search": False,
        "deferred_url_extractor": True,
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    }


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
