"""The CPU side of a poll, run in the worker pool: an entry (and its page) becomes the record
the store keeps.

Workers import this module (and, through it, the extractor), never the pipeline's network and
store modules: a worker holds only what it needs.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from aggregator import dedup
from aggregator.boilerplate import site_of, strip
from aggregator.errors import ExtractError
from aggregator.models import (
    ArticleRecord,
    Entry,
    ExtractionReport,
    Feed,
    FetchResult,
    PageRecord,
)
from aggregator.pages import compress_page
from aggregator.parse import parse

log = logging.getLogger(__name__)


class EntryKeys(NamedTuple):
    """What the pipeline tells an entry by: its fingerprint (``dedup.entry_fingerprint``),
    its canonical link and the site it links to."""

    fingerprint: str
    url_key: str | None
    site: str | None


def read_feed(
    body: bytes, url: str, headers: Mapping[str, str] | None = None
) -> tuple[Feed, tuple[EntryKeys, ...]]:
    """``parse``, and each entry's keys: the worker that parsed a feed computes them, not the
    poll's own process (canonical links cost more than any other work it does per entry)."""
    feed = parse(body, url, headers)
    return feed, tuple(keys_of(entry) for entry in feed.entries)


def keys_of(entry: Entry) -> EntryKeys:
    """The entry's ``EntryKeys``."""
    return EntryKeys(
        dedup.entry_fingerprint(entry),
        dedup.canonical_url(entry.url) if entry.url else None,
        site_of(entry.url),
    )


def prepare_article(
    entry: Entry,
    keys: EntryKeys,
    page: FetchResult | None,
    *,
    archive_page: bool,
    feed_language: str | None = None,
    extract_page: bool = True,
    clean_feed: bool = True,
    page_error: str | None = None,
    site_boilerplate: frozenset[str] = frozenset(),
) -> ArticleRecord:
    """Turn an entry (and its fetched page, if any) into the record the store keeps.

    Runs in a pool worker. The page's extracted text wins unless it is shorter than the
    feed's own content, which is then used instead (cleaned the same way); the lines learned
    as the site's boilerplate are removed from either. When a first try ran out of time, the
    pipeline asks again without extracting the page, then without cleaning the feed's HTML:
    the entry is kept whatever its content does to our parsers. ``page_error`` says why
    there is no page when fetching it failed; how the text was obtained is recorded on the
    record (``ArticleRecord.extraction``).
    """
    # Imported here, in the worker: a poll whose feeds all answer 304 never loads trafilatura.
    from aggregator.extract import EXTRACTOR, clean_feed_html, extract

    feed_html = (entry.content or entry.summary) if clean_feed else None
    feed_text = clean_feed_html(feed_html, entry.url) if feed_html else ""
    summary = None
    if entry.summary and clean_feed:  # often the feed's only text: cleaned once
        summary = (
            feed_text if feed_html is entry.summary else clean_feed_html(entry.summary, entry.url)
        )
    extracted = None
    if page is None or not extract_page:
        pass  # page_error says why, if there was a page to read
    elif not page.body:
        page_error = f"the page was empty (HTTP {page.status})"
    elif not is_html(page.content_type):
        page_error = f"the page is not HTML ({page.content_type})"
    else:
        try:
            # An entry dated only by its update (Atom's mandatory <updated>) is dated enough:
            # searching the page for a date costs more than the rest of its metadata.
            dated = entry.published or entry.updated
            known = {"title": entry.title, "author": entry.author, "published": dated}
            extracted = extract(
                page.body,
                page.final_url,
                encoding=charset_of(page.headers.get("content-type", "")),
                known={field for field, value in known.items() if value},
            )
        except ExtractError as exc:
            page_error = str(exc)
            log.info("event=extract_failed url=%s error=%r", page.final_url, page_error)

    site = site_of(page.final_url) if page is not None else keys.site
    page_text, page_removed = strip(extracted.text, site_boilerplate) if extracted else ("", 0)
    feed_text, feed_removed = strip(feed_text, site_boilerplate)
    page_tokens = dedup.words(page_text) if extracted else []
    feed_tokens = dedup.words(feed_text)
    page_words, feed_words = len(page_tokens), len(feed_tokens)
    content: str | None
    if extracted and page_words >= feed_words:
        content, source, tokens, removed = page_text, "page", page_tokens, page_removed
    elif feed_text:
        content, source, tokens, removed = feed_text, "feed", feed_tokens, feed_removed
    else:
        content, source, tokens, removed = None, "none", [], 0
    if source == "page":
        fallback = None
    elif extracted:
        fallback = "feed-longer"
    elif not extract_page:
        fallback = "page-timeout"
    elif page_error:
        fallback = "page-failed"
    else:
        fallback = "no-page"

    url_key = keys.url_key
    canonical = url_key
    if page is not None:
        canonical = dedup.canonical_url(page.final_url)
        declared = extracted.canonical_url if extracted else None
        if declared and _plausible_canonical(declared, page.final_url):
            canonical = dedup.canonical_url(declared)

    return ArticleRecord(
        entry_id=entry.id,
        entry_hash=keys.fingerprint,
        guid=entry.guid,
        url=entry.url,
        url_key=url_key,
        canonical_url=canonical,
        title=_plain(entry.title) or (extracted.title if extracted else None),
        author=_plain(entry.author) or (extracted.author if extracted else None),
        published=entry.published or (extracted.published if extracted else None) or entry.updated,
        updated=entry.updated,
        summary=summary or None,
        content=content,
        content_source=source,
        lang=(extracted.lang if extracted else None) or _short_lang(feed_language),
        word_count=len(tokens),
        content_hash=dedup.hash_of_words(tokens) if content else None,
        near_keys=dedup.near_keys(dedup.shingles_of_words(tokens)) if content else (),
        tags=entry.tags,
        page=_page_record(page) if archive_page and page is not None and page.body else None,
        site=site,
        extraction=ExtractionReport(
            extractor=EXTRACTOR if extracted else None,
            method=extracted.method if extracted else None,
            page_words=page_words if extracted else None,
            feed_words=feed_words,
            fallback=fallback,
            error=page_error,
            boilerplate_lines=removed,
        ),
    )


def prepare_feed_articles(
    entries: Sequence[tuple[Entry, EntryKeys]],
    *,
    archive_page: bool,
    feed_language: str | None,
    site_boilerplate: Mapping[str | None, frozenset[str]],
) -> list[ArticleRecord]:
    """``prepare_article`` for many entries without pages, in one worker task;
    ``site_boilerplate`` maps each entry's site to the lines learned for it."""
    return [
        prepare_article(
            entry,
            keys,
            None,
            archive_page=archive_page,
            feed_language=feed_language,
            site_boilerplate=site_boilerplate.get(keys.site, frozenset()),
        )
        for entry, keys in entries
    ]


_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _plain(text: str | None) -> str | None:
    from aggregator.extract import plain_text  # in the worker, like prepare_article's imports

    return plain_text(text) or None if text else None


def is_html(content_type: str | None) -> bool:
    """Whether a page of this media type is worth extracting (servers mislabel HTML often)."""
    kind = content_type
    return not kind or "html" in kind or kind in ("text/plain", "application/octet-stream")


def charset_of(content_type_header: str) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    match = _CHARSET.search(content_type_header)
    return match.group(1) if match else None


def _plausible_canonical(declared: str, final_url: str) -> bool:
    """Some sites point every page's canonical link at their home page: ignore that."""
    declared_path = urlsplit(declared).path.strip("/")
    return bool(declared_path) or not urlsplit(final_url).path.strip("/")


def _short_lang(language: str | None) -> str | None:
    if not language:
        return None
    return language.split("-")[0].split("_")[0].strip().lower() or None


def _page_record(page: FetchResult) -> PageRecord:
    return PageRecord(
        url=page.url,
        final_url=page.final_url,
        status=page.status,
        content_type=page.content_type,
        headers=page.headers,
        fetched_at=page.fetched_at,
        sha256=hashlib.sha256(page.body).hexdigest(),
        body=compress_page(page.body),
    )
