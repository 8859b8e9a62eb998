"""The value types: what crosses to and from the worker processes survives the trip."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime

from aggregator.models import (
    ArticleRecord,
    Entry,
    ExtractionReport,
    Feed,
    FetchResult,
    PageRecord,
)

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_values_sent_to_workers_and_back_are_equal_after_pickling() -> None:
    entry = Entry(id="e1", url="https://example.org/a", title="A", published=NOW, tags=("x",))
    page = FetchResult(
        url="https://example.org/a",
        final_url="https://example.org/a",
        status=200,
        headers={"content-type": "text/html"},
        body=b"<html>...</html>",
        fetched_at=NOW,
    )
    record = ArticleRecord(
        entry_id="e1",
        entry_hash="h",
        guid=None,
        url=entry.url,
        url_key="example.org/a",
        canonical_url="example.org/a",
        title="A",
        author=None,
        published=NOW,
        updated=None,
        summary=None,
        content="Some words.",
        content_source="page",
        lang="en",
        word_count=2,
        content_hash="c",
        near_keys=(1, -2, 3),
        page=PageRecord(
            url=page.url,
            final_url=page.final_url,
            status=200,
            content_type="text/html",
            headers=page.headers,
            fetched_at=NOW,
            sha256="s",
            body=b"zstd",
        ),
        extraction=ExtractionReport(extractor="x", method="trafilatura", page_words=2),
    )
    feed = Feed(url="https://example.org/feed", version="rss20", entries=(entry, entry))
    for value in (entry, page, record, feed):
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            assert pickle.loads(pickle.dumps(value, protocol)) == value
        assert copy.deepcopy(value) == value
