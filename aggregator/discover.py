"""Finding the feeds behind a URL, for ``aggregator add``: the URL itself, or what a page offers.

The URL is fetched with our own ``Fetcher`` (so the address policy and the size and time limits
apply) and handed to ``parse``, the parser every poll uses: a document it reads is a feed, and
no other sniffing could be more exact. A web page is read for its feeds, looking further only
while nothing is found:

1. the feeds it advertises, in page order: ``<link rel="alternate">`` (or ``rel="feed"``) with
   an RSS, Atom, RDF or JSON Feed type, resolved against ``<base href>``. Links typed plain
   ``application/json`` (which WordPress also uses for its REST API) and ``rel="feed"`` links
   of no feed type are fetched and kept only when they are feeds;
2. the links in it (``<a href>``) that look like feeds, by their URL (``/feed/``, ``/blog/rss``,
   ``atom.xml``, ``?feed=rss2``...) or their words (text, title, an image's alt: RSS, Atom,
   Feed): those of the page's host first, then of its domain, then the others, in page order;
   the first ``MAX_CHECKED_LINKS`` are fetched and kept when they are feeds;
3. the common feed paths (``/feed``, ``/rss``, ``/atom.xml``...) under the page's first path
   segment (``/blog/feed`` for ``/blog/a-post``), then under the site's root.

Common paths that answer the same document are kept once, and so are links that do. The
fetches are bounded: the page, its unsure ``<link>``s (50 at most), ``MAX_CHECKED_LINKS`` links
and the ``COMMON_PATHS`` under two bases, so 31 past the ``<link>``s, each following at most the
fetcher's redirects. Nothing in a page is ever run: its markup is only scanned with the
standard library's HTML tokenizer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

from aggregator.errors import FetchError, NotAFeedError, ParseError
from aggregator.fetch import Fetcher
from aggregator.models import Feed, FetchResult
from aggregator.parse import parse

__all__ = ["ACCEPT", "COMMON_PATHS", "MAX_CHECKED_LINKS", "FeedCandidate", "discover"]

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
SEARCH_SECONDS: Final = 60.0
"""The longest discovery looks past the page itself (its links, common paths): a site whose
every guessed address stalls until the fetcher's timeout would otherwise keep ``add`` waiting
for minutes."""
MAX_CHECKED_LINKS: Final = 10
"""How many of a page's ``<a>`` links that look like feeds are fetched, at most."""

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
_MAX_ANCHORS: Final = 50
"""How many ``<a>`` links that look like feeds are kept from a page."""
_MAX_ANCHOR_WORDS: Final = 200
"""How many characters of a link's words are kept to look for feed words in."""
_FEED_WORDS: Final = re.compile(r"(?<![a-z])(?:rss|atom|feeds?)(?![a-z])", re.I)
_FEED_NAMES: Final = frozenset({"feed", "feeds", "rss", "atom"})
"""Path segments (or their stems: ``rss.php``) and query values that name a feed."""
_FEED_SUFFIXES: Final = (".rss", ".rdf", ".atom", ".xml")
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
    """"given" (the URL is a feed), "advertised" (the page's ``<link>``s name it), "linked"
    (an ``<a>`` link of the page leads to it) or "guessed" (found at a common path)."""


async def discover(
    url: str, fetcher: Fetcher, *, search_seconds: float = SEARCH_SECONDS
) -> list[FeedCandidate]:
    """The feeds at or behind ``url``: the URL itself when it is a feed, else the feeds the page
    advertises, else those its links lead to, else those found at common paths of its site.

    Raises ``FetchError`` when the URL cannot be fetched, ``ParseError`` when it is a feed that
    cannot be read, and ``NotAFeedError`` when no feed was found (saying where it looked), or
    none within ``search_seconds`` of looking past the page.
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
    links, anchors = _read_page(result)
    try:
        async with asyncio.timeout(search_seconds):
            return await _search(url, result, links, anchors, fetcher)
    except TimeoutError:
        raise NotAFeedError(
            f"no feed found at {url} within {search_seconds:g} s: the site answers too slowly"
            " to look further; add the feed by its own URL"
        ) from None


async def _search(
    url: str, result: FetchResult, links: list[_Link], anchors: list[str], fetcher: Fetcher
) -> list[FeedCandidate]:
    """The feeds of the page ``result``: advertised, else linked, else at common paths."""
    candidates = await _confirmed(links, fetcher)
    if candidates:
        return candidates
    tried = {url, result.final_url, *(link.url for link in links)}
    checked = _nearest_first([a for a in anchors if a not in tried], result.final_url)
    checked = checked[:MAX_CHECKED_LINKS]
    candidates = await _feeds_at(checked, fetcher, "linked")
    if candidates:
        return candidates
    bases = _bases(result.final_url)
    for base in bases:
        candidates = await _feeds_at([base + path for path in COMMON_PATHS], fetcher, "guessed")
        if candidates:
            return candidates
    raise NotAFeedError(_nothing_found(url, len(links), len(checked), bases))


# --- The page's links -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Link:
    url: str
    media_type: str
    title: str | None


class _LinkCollector(HTMLParser):
    """The feed links of a page, its ``<a>`` links that look like feeds, and its first
    ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[_Link] = []
        self.anchors: list[str] = []
        self._href: str | None = None
        """The href of the ``<a>`` being read."""
        self._words = ""
        """What the ``<a>`` being read says: its title, its text, its images' alt texts."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "").strip() for name, value in attrs}
        if tag == "a":
            self.end_anchor()
            if values.get("href"):
                self._href = values["href"]
                self._add_words(values.get("title", ""), values.get("aria-label", ""))
        elif tag == "img" and self._href is not None:
            self._add_words(values.get("alt", ""))
        elif tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "link" and values.get("href") and len(self.links) < _MAX_LINKS:
            rels = values.get("rel", "").lower().split()
            media_type = values.get("type", "").split(";", 1)[0].strip().lower()
            known = media_type in _LINK_KINDS
            if ("alternate" in rels and known) or ("feed" in rels and (known or not media_type)):
                title = " ".join(values.get("title", "").split()) or None
                self.links.append(_Link(values["href"], media_type, title))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.end_anchor()

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._add_words(data)

    def end_anchor(self) -> None:
        """Keep the ``<a>`` being read if it looks like a feed's."""
        href, words = self._href, self._words
        self._href, self._words = None, ""
        if href is None or len(self.anchors) >= _MAX_ANCHORS:
            return
        if _FEED_WORDS.search(words) or _looks_like_feed(href):
            self.anchors.append(href)

    def _add_words(self, *texts: str) -> None:
        for text in texts:
            self._words = (self._words + " " + text)[:_MAX_ANCHOR_WORDS]


def _read_page(page: FetchResult) -> tuple[list[_Link], list[str]]:
    """The feed links of an HTML page and the URLs of its ``<a>`` links that look like feeds,
    as absolute http(s) URLs, in page order, each once."""
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
    collector.end_anchor()
    base = urljoin(page.final_url, collector.base or "")
    links: dict[str, _Link] = {}
    for link in collector.links:
        if (url := _absolute(base, link.url)) and url not in links:
            links[url] = _Link(url, link.media_type, link.title)
    anchors = (_absolute(base, href) for href in collector.anchors)
    return list(links.values()), list(dict.fromkeys(url for url in anchors if url))


def _absolute(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``, without its fragment; None if it is not http(s)."""
    url = urldefrag(urljoin(base, href)).url
    return url if urlsplit(url).scheme in ("http", "https") else None


def _looks_like_feed(href: str) -> bool:
    """Whether a URL reads like a feed's: ``/feed/``, ``/blog/rss``, ``atom.xml``, ``rss.php``,
    ``feed.json``, ``?feed=rss2``, ``?format=feed``..."""
    parts = urlsplit(href.lower())
    segments = parts.path.split("/")
    name = segments[-1] or (segments[-2] if len(segments) > 1 else "")
    if name.endswith(_FEED_SUFFIXES) or (name.endswith(".json") and "feed" in name):
        return True
    if any(segment.partition(".")[0] in _FEED_NAMES for segment in segments):
        return True
    query = parse_qsl(parts.query, keep_blank_values=True)
    return any(key == "feed" or value.rstrip("0123456789") in _FEED_NAMES for key, value in query)


def _nearest_first(urls: list[str], page_url: str) -> list[str]:
    """``urls`` on the page's host first, then on other hosts of its domain, then the others,
    each group in its order."""
    page = urlsplit(page_url)
    here = _without_www(page.hostname or "")

    def distance(url: str) -> int:
        parts = urlsplit(url)
        if parts.netloc.lower() == page.netloc.lower():
            return 0
        there = _without_www(parts.hostname or "")
        related = there == here or there.endswith("." + here) or here.endswith("." + there)
        return 1 if there and related else 2

    return sorted(urls, key=distance)


def _without_www(host: str) -> str:
    return host.removeprefix("www.")


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


# --- Looking elsewhere ------------------------------------------------------------------------


def _bases(page_url: str) -> list[str]:
    """Where to try the common paths, nearest first: under the page's first path segment when
    it has one (``https://example.org/blog`` for ``/blog/`` or ``/blog/a-post``), then the
    site's root (``https://example.org``)."""
    parts = urlsplit(page_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    segment, slash, _ = parts.path.lstrip("/").partition("/")
    return [f"{origin}/{segment}", origin] if segment and slash else [origin]


async def _feeds_at(urls: list[str], fetcher: Fetcher, source: str) -> list[FeedCandidate]:
    """The feeds at ``urls``, fetched together, in their order, the same document (by final URL
    or content) once."""
    answers = await asyncio.gather(*(_feed_at(url, fetcher) for url in urls))
    candidates: list[FeedCandidate] = []
    seen: set[str] = set()
    for url, answer in zip(urls, answers, strict=True):
        if answer is None:
            continue
        feed, result = answer
        keys = {result.final_url, hashlib.sha256(result.body).hexdigest()}
        if not keys & seen:
            candidates.append(_candidate(result.permanent_redirect or url, feed, None, source))
        seen |= keys
    return candidates


async def _feed_at(url: str, fetcher: Fetcher) -> tuple[Feed, FetchResult] | None:
    """The feed at ``url``, or None when it cannot be fetched or is not a feed."""
    try:
        result = await fetcher.fetch(url, accept=ACCEPT)
        return parse(result.body, result.final_url, result.headers), result
    except (FetchError, ParseError):
        return None


def _nothing_found(url: str, links: int, checked: int, bases: list[str]) -> str:
    """Why no feed was found at ``url``, saying where discovery looked."""
    if not links:
        looked = ["the page advertises no feed"]
    else:
        looked = [
            f"the page links to {links} that {'is not a feed' if links == 1 else 'are not feeds'}"
        ]
    if checked == 1:
        looked.append("1 link in it looks like a feed but is not")
    elif checked:
        looked.append(f"{checked} links in it look like feeds but are not")
    paths = ", ".join(COMMON_PATHS[:3])
    under = " or ".join(f"{base}/" for base in bases)
    looked.append(f"none answered at common paths ({paths}...) under {under}")
    return f"no feed found at {url}: {', '.join(looked[:-1])}, and {looked[-1]}"


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
