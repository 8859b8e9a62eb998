"""HTML met while parsing feeds: the feeds a web page advertises, and the text of a fragment."""

from __future__ import annotations

import contextlib
from html.parser import HTMLParser

from aggregator.parse._fields import http_url

_FEED_LINK_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json"}
)
_INVISIBLE_TAGS = frozenset({"script", "style"})


class _FeedLinkFinder(HTMLParser):
    """Collects ``<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">``."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "base" and values.get("href"):
            self.base = http_url(values["href"], self.base) or self.base
        elif tag == "link" and "alternate" in values.get("rel", "").lower().split():
            kind = values.get("type", "").split(";", 1)[0].strip().lower()
            link = http_url(values.get("href"), self.base)
            if kind in _FEED_LINK_TYPES and link and link not in self.links:
                self.links.append(link)


def advertised_feeds(page: bytes, url: str) -> list[str]:
    """The first ten feeds an HTML page links to as alternates, as absolute URLs."""
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


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment."""
    collector = _TextCollector()
    _run(collector, fragment)
    return "".join(collector.parts)


def _run(parser: HTMLParser, markup: str) -> None:
    """Feed ``markup`` to ``parser``, keeping what it collected if it gives up half-way
    (Python 3.11's HTMLParser raises AssertionError on a malformed ``<![`` section)."""
    with contextlib.suppress(AssertionError):
        parser.feed(markup)
        parser.close()
