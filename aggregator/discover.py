"""Finding the feeds behind a URL, for ``aggregator add``: the URL itself, or what a page offers.

The URL is fetched with our own ``Fetcher`` (so the address policy and the size and time limits
apply) and handed to ``parse``, the parser every poll uses: a document it reads is a feed, and
no other sniffing could be more exact. A web page is read for the feeds it advertises, in page
order: ``<link rel="alternate">`` (or ``rel="feed"``) with an RSS, Atom, RDF or JSON Feed type,
resolved against ``<base href>``. Links typed plain ``application/json`` (which WordPress also
uses for its REST API) and ``rel="feed"`` links of no feed type are fetched and kept only when
they are feeds. A page that advertises none is asked for common feed paths on its origin
(``/feed``, ``/rss``, ``/atom.xml``...); the answers that are feeds are kept, the same
document at several paths once. Nothing in a page is ever run: its markup is only scanned
with the standard library's HTML tokenizer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urldefrag, urljoin, urlsplit

from aggregator.errors import FetchError, NotAFeedError, ParseError
from aggregator.fetch import Fetcher
from aggregator.models import Feed, FetchResult
from aggregator.parse import parse

__all__ = ["ACCEPT", "COMMON_PATHS", "FeedCandidate", "discover"]

ACCEPT: Final = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.7, */*;q=0.5"
)
COMMON_PATHS: Final = (
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/index.rss",
    "/?feed=rss2",
    "/feeds/posts/default",
)
"""Where sites without feed links usually keep their feed (WordPress, Hugo, Jekyll, Blogger)."""

_LINK_KINDS: Final = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    "application/feed+json": "json",
    "application/json": "json",
}
_UNSURE_TYPES: Final = frozenset({"application/json", ""})
"""Link types whose target is fetched before it counts as a feed."""
_HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
_MAX_LINKS: Final = 50
_META_CHARSET: Final = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedCandidate:
    """A feed found for a URL."""

    url: str
    title: str | None = None
    """The link's title attribute, or the feed's own title."""
    kind: str
    """"rss", "rdf", "atom" or "json"."""
    source: str
    """"given" (the URL is a feed), "advertised" (the page links to it) or "guessed" (found at
    a common path)."""


async def discover(url: str, fetcher: Fetcher) -> list[FeedCandidate]:
    """The feeds at or behind ``url``: the URL itself when it is a feed, else the feeds the page
    advertises, else those found at common paths of its site.

    Raises ``FetchError`` when the URL cannot be fetched, ``ParseError`` when it is a feed that
    cannot be read, and ``NotAFeedError`` when no feed was found (saying where it looked).
    """
    result = await fetcher.fetch(url, accept=ACCEPT)
    try:
        feed = parse(result.body, result.final_url, result.headers)
    except NotAFeedError as exc:
        if not _is_html(result):
            raise NotAFeedError(f"{url} is neither a feed nor a web page ({exc})") from exc
    except ParseError as exc:
        raise ParseError(f"{url} looks like a feed but cannot be read: {exc}") from exc
    else:
        return [_candidate(result.permanent_redirect or url, feed, None, "given")]
    links = _advertised(result)
    candidates = await _confirmed(links, fetcher)
    if candidates:
        return candidates
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(result.final_url))
    candidates = await _guessed(origin, fetcher)
    if candidates:
        return candidates
    advertised = f"links to {len(links)} that are not feeds" if links else "links to no feed"
    raise NotAFeedError(
        f"no feed found at {url}: the page {advertised}, and none answered at "
        f"{', '.join(COMMON_PATHS)} on {origin}"
    )


# --- The page's links -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Link:
    url: str
    media_type: str
    title: str | None


class _LinkCollector(HTMLParser):
    """The feed links of a page, and its first ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[_Link] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "").strip() for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "link" and values.get("href") and len(self.links) < _MAX_LINKS:
            rels = values.get("rel", "").lower().split()
            media_type = values.get("type", "").split(";", 1)[0].strip().lower()
            known = media_type in _LINK_KINDS
            if ("alternate" in rels and known) or ("feed" in rels and (known or not media_type)):
                title = " ".join(values.get("title", "").split()) or None
                self.links.append(_Link(values["href"], media_type, title))


def _advertised(page: FetchResult) -> list[_Link]:
    """The feed links of an HTML page, as absolute http(s) URLs, in page order, each once."""
    collector = _LinkCollector()
    # Python 3.11's tokenizer raises AssertionError on some malformed ``<![`` sections:
    # what was collected before stands.
    try:
        text = page.body.decode(_charset(page), "replace")
    except (LookupError, UnicodeError):  # no such encoding, or not one of text
        text = page.body.decode("utf-8", "replace")
    with contextlib.suppress(AssertionError):
        collector.feed(text)
        collector.close()
    base = urljoin(page.final_url, collector.base or "")
    links: dict[str, _Link] = {}
    for link in collector.links:
        url = urldefrag(urljoin(base, link.url)).url
        if urlsplit(url).scheme in ("http", "https") and url not in links:
            links[url] = _Link(url, link.media_type, link.title)
    return list(links.values())


async def _confirmed(links: list[_Link], fetcher: Fetcher) -> list[FeedCandidate]:
    """Candidates for the links, those of an unsure type only when they turn out to be feeds."""

    async def confirm(link: _Link) -> FeedCandidate | None:
        if link.media_type not in _UNSURE_TYPES:
            return FeedCandidate(
                url=link.url,
                title=link.title,
                kind=_LINK_KINDS[link.media_type],
                source="advertised",
            )
        found = await _feed_at(link.url, fetcher)
        return None if found is None else _candidate(link.url, found[0], link.title, "advertised")

    confirmed = await asyncio.gather(*(confirm(link) for link in links))
    return [candidate for candidate in confirmed if candidate is not None]


async def _guessed(origin: str, fetcher: Fetcher) -> list[FeedCandidate]:
    """The feeds at the common paths of ``origin``, each document once."""
    answers = await asyncio.gather(*(_feed_at(origin + path, fetcher) for path in COMMON_PATHS))
    candidates: list[FeedCandidate] = []
    seen: set[str] = set()
    for path, answer in zip(COMMON_PATHS, answers, strict=True):
        if answer is None:
            continue
        feed, result = answer
        keys = {result.final_url, hashlib.sha256(result.body).hexdigest()}
        if not keys & seen:
            url = result.permanent_redirect or origin + path
            candidates.append(_candidate(url, feed, None, "guessed"))
        seen |= keys
    return candidates


async def _feed_at(url: str, fetcher: Fetcher) -> tuple[Feed, FetchResult] | None:
    """The feed at ``url``, or None when it cannot be fetched or is not a feed."""
    try:
        result = await fetcher.fetch(url, accept=ACCEPT)
        return parse(result.body, result.final_url, result.headers), result
    except (FetchError, ParseError):
        return None


# --- Small helpers --------------------------------------------------------------------------


def _candidate(url: str, feed: Feed, title: str | None, source: str) -> FeedCandidate:
    return FeedCandidate(
        url=url, title=title or feed.title, kind=_kind(feed.version), source=source
    )


def _kind(version: str) -> str:
    """The format family of a ``Feed.version``."""
    if version.startswith("atom"):
        return "atom"
    if version.startswith("json"):
        return "json"
    return "rdf" if version in ("rss090", "rss10") else "rss"


def _is_html(result: FetchResult) -> bool:
    head = result.body[:2048].lower()
    return result.content_type in _HTML_TYPES or b"<html" in head or b"<!doctype html" in head


def _charset(page: FetchResult) -> str:
    """The page's encoding: the Content-Type header's, else a ``<meta>``'s, else UTF-8."""
    declared = ""
    for parameter in page.headers.get("content-type", "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            declared = value.strip().strip("\"'")
    if not declared and (meta := _META_CHARSET.search(page.body[:4096])):
        declared = meta[1].decode("ascii")
    return declared or "utf-8"
