"""JSON Feed 1.0/1.1, which feedparser does not know, read with :mod:`json`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris

from aggregator.errors import NotAFeedError, ParseError
from aggregator.models import Entry, Feed
from aggregator.parse._fields import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_TITLE,
    as_html,
    as_list,
    checked,
    clip,
    dicts,
    from_rfc3339,
    http_url,
    language_tag,
    make_entry,
    nonblank,
    one_line,
    unique_entries,
)

_JSONFEED_VERSION = re.compile(r"https?://jsonfeed\.org/version/(\d+)(?:\.(\d+))?/?")


def parse_json_feed(body: bytes, url: str) -> Feed:
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
    entries = unique_entries(_json_entry(item, url, feed_authors) for item in items)
    skipped = sum(not isinstance(item, dict) for item in items)
    if skipped:
        warning = f"skipped {skipped} JSON Feed item(s) that are not objects"
    feed = Feed(
        url=url,
        version=f"json{match[1]}{match[2] or 0}",
        title=one_line(document.get("title"), MAX_TITLE),
        site_url=http_url(document.get("home_page_url"), url),
        description=one_line(document.get("description"), MAX_DESCRIPTION),
        language=language_tag(document.get("language")),
        entries=entries,
        warning=warning,
    )
    return checked(feed)


def _json_entry(item: object, feed_url: str, feed_authors: str | None) -> Entry | None:
    if not isinstance(item, dict):
        return None
    guid = item.get("id")
    if isinstance(guid, int) and not isinstance(guid, bool):
        guid = str(guid)  # JSON Feed 1.0 feeds in the wild use numbers
    # Bounded (and lone surrogates replaced) first: the sanitizer chokes on surrogates.
    content_html = clip(nonblank(item.get("content_html")), MAX_CONTENT)
    if content_html:
        content: str | None = _sanitize(content_html, feed_url)
    else:
        content = as_html(item.get("content_text"), "text/plain")
    return make_entry(
        feed_url=feed_url,
        guid=nonblank(guid),
        url=http_url(item.get("url"), feed_url) or http_url(item.get("external_url"), feed_url),
        title=one_line(item.get("title"), MAX_TITLE),
        author=_json_authors(item) or feed_authors,
        published=from_rfc3339(item.get("date_published")),
        updated=from_rfc3339(item.get("date_modified")),
        summary=as_html(item.get("summary"), "text/plain"),
        content=content,
        tags=as_list(item.get("tags")),
        enclosures=(attachment.get("url") for attachment in dicts(item.get("attachments"))),
    )


def _json_authors(holder: Mapping[str, Any]) -> str | None:
    """Names from 1.1 ``authors`` (a list), else 1.0 ``author`` (an object), comma-joined."""
    authors = [*dicts(holder.get("authors"))] or [*dicts([holder.get("author")])]
    names = [name for author in authors if (name := nonblank(author.get("name")))]
    return ", ".join(names) or None


def _sanitize(fragment: str, base: str) -> str:
    """Resolve and sanitize HTML the way feedparser does for XML feeds' content."""
    resolved = resolve_relative_uris(fragment, base, "utf-8", "text/html")
    sanitized: str = _sanitize_html(resolved, "utf-8", "text/html")
    return sanitized
