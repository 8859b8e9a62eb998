"""Extract archived pages again: articles gain what the extractor has learned since they were
archived, and what their site has taught us about its boilerplate.

Pages are read from the archive in batches, extracted in the worker pool and written back by
the caller's thread, so memory stays flat whatever the size of the archive. Extraction is
deterministic: a second run over the same pages finds nothing to change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aggregator import dedup
from aggregator.boilerplate import strip
from aggregator.errors import ExtractError, StoreError, WorkerError
from aggregator.extract import EXTRACTOR, extract
from aggregator.models import ExtractionReport, ReextractJob, ReextractUpdate
from aggregator.pipeline import EXTRACT_TIMEOUT
from aggregator.prepare import is_html
from aggregator.store import Store, decompress_page
from aggregator.workers import WorkerPool

log = logging.getLogger(__name__)

#: Articles read, extracted and written per round.
BATCH = 64


@dataclass(frozen=True, slots=True)
class ReextractSummary:
    articles: int = 0
    """Archived articles with a page, looked at."""
    changed: int = 0
    """Articles whose text or extraction record changed."""
    failed: int = 0
    """Pages that gave no text (the article keeps the text it had)."""


def reextract_article(job: ReextractJob, learned: frozenset[str]) -> ReextractUpdate | str:
    """The article as a new extraction of its archived page gives it, or why the page gave
    no text. Runs in a pool worker.

    The page's text wins unless the feed's own text was longer (``feed_words``); then the
    article keeps its text, cleaned of the site's learned boilerplate.
    """
    if not is_html(job.content_type):
        return f"the page is not HTML ({job.content_type})"
    try:
        extracted = extract(decompress_page(job.page_body), job.final_url, encoding=job.charset)
    except StoreError as exc:
        return f"the archived page is damaged: {exc}"
    except ExtractError as exc:
        return str(exc)
    content, removed = strip(extracted.text, learned)
    page_words = len(dedup.words(content))
    source, word_count, fallback = "page", page_words, None
    if page_words < job.feed_words and job.content is not None:
        content, removed = strip(job.content, learned)
        source, word_count, fallback = job.content_source, len(dedup.words(content)), "feed-longer"
    report = ExtractionReport(
        extractor=EXTRACTOR,
        method=extracted.method,
        page_words=page_words,
        feed_words=job.feed_words,
        fallback=fallback,
        boilerplate_lines=removed,
    )
    return ReextractUpdate(
        article_id=job.article_id,
        content=content,
        content_source=source,
        word_count=word_count,
        content_hash=dedup.content_hash(content),
        lang=extracted.lang,
        extraction=report,
        near_keys=dedup.near_keys(dedup.shingles(content)),
    )


async def reextract(
    store: Store,
    pool: WorkerPool | None,
    *,
    feed_ids: Sequence[int] | None = None,
    outdated_only: bool = False,
    on_batch: Callable[[ReextractSummary], None] | None = None,
) -> ReextractSummary:
    """Extract again the archived pages of every article (of ``feed_ids``, or only of those
    an older extractor produced) and save what changed. ``on_batch`` sees the running totals.
    """
    totals = ReextractSummary()
    after = 0
    learned: dict[str | None, frozenset[str]] = {None: frozenset()}
    while True:
        jobs = store.reextract_jobs(
            after_id=after,
            limit=BATCH,
            feed_ids=feed_ids,
            outdated_than=EXTRACTOR if outdated_only else None,
        )
        if not jobs:
            return totals
        after = jobs[-1].article_id
        for job in jobs:
            if job.site not in learned:
                learned[job.site] = store.site_boilerplate(job.site) if job.site else frozenset()
        outcomes = await asyncio.gather(*(_run(pool, job, learned[job.site]) for job in jobs))
        updates = [o for o in outcomes if isinstance(o, ReextractUpdate)]
        changed = store.save_reextracted(updates)
        totals = ReextractSummary(
            articles=totals.articles + len(jobs),
            changed=totals.changed + changed,
            failed=totals.failed + len(jobs) - len(updates),
        )
        if on_batch is not None:
            on_batch(totals)


async def _run(
    pool: WorkerPool | None, job: ReextractJob, learned: frozenset[str]
) -> ReextractUpdate | str:
    try:
        if pool is None:
            outcome = reextract_article(job, learned)
        else:
            outcome = await pool.run(reextract_article, EXTRACT_TIMEOUT, job, learned)
    except WorkerError as exc:
        outcome = f"extracting the page failed: {exc}"
    if isinstance(outcome, str):
        log.info("event=reextract_failed article=%d error=%r", job.article_id, outcome)
    return outcome
