"""One poll of many feeds: fetch -> parse -> extract -> dedup -> store.

The network is asyncio (one shared ``Fetcher``); parsing and extraction run in a process pool
(``aggregator.prepare`` is what runs there); the archive is written by one thread: a feed's
articles ``SAVE_EVERY`` at a time as its pages are read, its state (validators, schedule) last,
so an interrupted poll is done again and loses nothing. Concurrency is bounded at every stage:
``concurrency`` feeds in flight, ``ARTICLES_PER_FEED`` pages in flight per feed, at most
``BACKLOG_PER_WORKER`` fetched pages per worker waiting for extraction, and the fetcher's global
and per-host limits, so memory stays flat however many feeds there are. A failing feed is
recorded on its row and never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from aggregator import boilerplate, health, schedule
from aggregator.boilerplate import site_of
from aggregator.config import Config, FeedConfig
from aggregator.errors import (
    AggregatorError,
    FetchError,
    HTTPStatusError,
    ParseError,
    StoreError,
    WorkerError,
)
from aggregator.fetch import Fetcher
from aggregator.models import (
    ArticleRecord,
    Entry,
    FeedFailure,
    FeedPoll,
    FeedState,
    FetchResult,
    SaveCounts,
)
from aggregator.prepare import EntryKeys, prepare_article, prepare_feed_articles, read_feed
from aggregator.store import Store
from aggregator.workers import WorkerPool
from aggregator.writer import Writer

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
#: Seconds a feed may take to parse, and an entry's page and content to extract.
PARSE_TIMEOUT = 30.0
EXTRACT_TIMEOUT = 20.0
#: Article pages of one feed fetched and extracted at the same time.
ARTICLES_PER_FEED = 8
#: Fetched pages allowed to wait for a worker, per worker, before fetching more waits too.
BACKLOG_PER_WORKER = 4
#: Articles of a feed saved together while its pages are still being read (the rest are saved
#: with the feed's state at the end of its poll).
SAVE_EVERY = 10
#: Page URLs remembered as already fetched in this run (so two feeds polled at the same time
#: do not fetch one story twice); the oldest are forgotten beyond this many.
CLAIMED_PAGES = 50_000
#: Sites whose learned boilerplate is kept in memory (the least recently read are dropped).
CACHED_SITES = 2_000
#: New articles of a site after which its boilerplate is learned again (at first; see _learn).
LEARN_EVERY = 10
LEARN_EVERY_MOST = 160


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class PollResult:
    """What happened to one feed in one poll."""

    feed_id: int
    url: str
    label: str
    ok: bool
    status: int | None = None
    not_modified: bool = False
    counts: SaveCounts = field(default_factory=SaveCounts)
    error: str | None = None
    warning: str | None = None
    elapsed: float = 0.0
    next_poll_at: datetime | None = None
    next_poll_reason: str = ""
    moved_to: str | None = None
    """The feed's new URL, when it moved permanently in this poll."""
    retired: str | None = None
    """Why the feed is retired, when this poll retired it."""
    store_failed: bool = False
    """The archive itself could not be read or written (full disk, read-only file...)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PollSummary:
    results: tuple[PollResult, ...]
    elapsed: float

    @property
    def feeds_ok(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def feeds_failed(self) -> int:
        return sum(not r.ok for r in self.results)

    @property
    def new(self) -> int:
        return sum(r.counts.new for r in self.results)

    @property
    def updated(self) -> int:
        return sum(r.counts.updated for r in self.results)

    @property
    def duplicate(self) -> int:
        return sum(r.counts.duplicate for r in self.results)


def is_due(feed: FeedState, now: datetime) -> bool:
    """Whether our own schedule wants the feed polled (retired feeds never are)."""
    return may_poll(feed, now) and (feed.next_poll_at is None or feed.next_poll_at <= now)


def may_poll(feed: FeedState, now: datetime) -> bool:
    """Whether anything may poll the feed now: not retired, no server's Retry-After pending."""
    return feed.disabled_reason is None and (feed.not_before is None or feed.not_before <= now)


def _shared_links(keys: Sequence[EntryKeys]) -> set[str]:
    """The canonical links that more than one entry of a feed document points to."""
    seen: set[str] = set()
    shared: set[str] = set()
    for key in keys:
        if key.url_key:
            (shared if key.url_key in seen else seen).add(key.url_key)
    return shared


class _Backlog:
    """Pages fetched and not yet extracted. While ``limit`` of them wait, a page about to be
    fetched waits too, and each page extracted lets as many fetches go as there is room: a
    poll bound by the CPU (fast servers, slow pages) holds a few pages in memory rather than
    every page its feeds could fetch. A poll bound by the network never fills it: nothing
    waits, and a wait for a server (its per-host delay) never holds a place."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._count = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def room(self) -> None:
        """Wait until a page may be fetched."""
        if self._count < self._limit and not self._waiting:
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # woken, then cancelled: pass it on
                self._wake(1)
            raise

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Count a fetched page until it is extracted."""
        self._count += 1
        try:
            yield
        finally:
            self._count -= 1
            self._wake(self._limit - self._count)

    def _wake(self, count: int) -> None:
        while count > 0 and self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                count -= 1


class _Prepared:
    """A feed's prepared articles, handed out for saving in the feed's order, ``SAVE_EVERY``
    at a time, as soon as that many are ready one after the other."""

    def __init__(self, size: int) -> None:
        self._records: list[ArticleRecord | None] = [None] * size
        self._saved = 0  # records before this index are saved (and released)
        self._taken = 0  # records before this index are being saved
        self._keep = False

    def add(self, index: int, record: ArticleRecord) -> list[ArticleRecord]:
        """Take ``record``; the batch to save now, if one is ready (else empty)."""
        self._records[index] = record
        if self._keep or self._taken > self._saved:
            return []
        end = self._saved
        while end < len(self._records) and self._records[end] is not None:
            end += 1
        if end - self._saved < SAVE_EVERY:
            return []
        self._taken = end
        return [r for r in self._records[self._saved : end] if r is not None]

    def saved(self, count: int) -> None:
        """The batch last handed out (``count`` records) is in the archive."""
        self._records[self._saved : self._saved + count] = [None] * count
        self._saved += count

    def keep_all(self) -> None:
        """Saving failed: hand out nothing more; ``rest`` has everything not saved."""
        self._keep = True

    def rest(self) -> list[ArticleRecord]:
        """The records not saved yet, in order (once every entry is prepared)."""
        return [r for r in self._records[self._saved :] if r is not None]


def _sites_with_text(records: Sequence[ArticleRecord]) -> list[str]:
    """The site of each record that has text (what boilerplate is learned from)."""
    return [record.site for record in records if record.site and record.content]


def _added(one: SaveCounts, other: SaveCounts) -> SaveCounts:
    return SaveCounts(
        new=one.new + other.new,
        updated=one.updated + other.updated,
        duplicate=one.duplicate + other.duplicate,
    )


def _join_warnings(*warnings: str | None) -> str | None:
    return "; ".join(w for w in warnings if w) or None


def _feed_poll(
    feed: FeedState,
    now: datetime,
    result: FetchResult,
    decision: schedule.Decision,
    *,
    same_body: bool,
) -> FeedPoll:
    """What every successful fetch saves: validators, the schedule, a move, how it went."""
    assert decision.next_poll_at is not None, "only failures retire a feed"
    return FeedPoll(
        feed_id=feed.id,
        polled_at=now,
        status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        next_poll_at=decision.next_poll_at,
        next_poll_reason=decision.reason,
        interval=decision.interval,
        moved_to=result.permanent_redirect,
        outcome=health.poll_mark(feed, result, same_body=same_body),
    )


def _hint_interval(ttl_minutes: int | None, update_interval: float | None) -> float | None:
    """The feed's own request not to be polled more often than this (seconds)."""
    hints = [h for h in (ttl_minutes * 60 if ttl_minutes else None, update_interval) if h]
    return max(hints) if hints else None


class Pipeline:
    """Polls feeds into a store. Owns a thread for the store; borrows the fetcher and pool."""

    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        executor: WorkerPool | None = None,
        fetch_articles: bool | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = config.settings
        self.feed_configs: dict[str, FeedConfig] = {f.url: f for f in config.feeds}
        self.store = store
        self.fetcher = fetcher
        self.executor = executor
        self.fetch_articles = (
            self.settings.fetch_articles if fetch_articles is None else fetch_articles
        )
        self.clock = clock
        self.rng = rng or random.Random()
        self.writer = Writer(store)
        self._claimed: OrderedDict[str, None] = OrderedDict()
        self._boilerplate: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._unlearned: dict[str, int] = {}
        self._learn_every: dict[str, int] = {}
        self._backlog = _Backlog(BACKLOG_PER_WORKER * (executor.workers if executor else 1))

    def close(self) -> None:
        """Wait for the store's thread: a transaction in flight commits or rolls back."""
        self.writer.close()

    def update_config(self, config: Config) -> None:
        """Take a reloaded feeds.yaml's per-feed settings (intervals) into account."""
        self.feed_configs = {f.url: f for f in config.feeds}

    async def poll(
        self,
        feeds: Sequence[FeedState],
        on_result: Callable[[PollResult], None] | None = None,
    ) -> PollSummary:
        """Poll ``feeds`` once, ``concurrency`` at a time; report each result as it lands."""
        started = time.monotonic()
        queue: asyncio.Queue[FeedState] = asyncio.Queue()
        for feed in feeds:
            queue.put_nowait(feed)
        results: list[PollResult] = []

        async def worker() -> None:
            while True:
                try:
                    feed = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                result = await self.poll_feed(feed)
                results.append(result)
                if on_result is not None:
                    on_result(result)

        workers = max(1, min(len(feeds), self.settings.concurrency))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return PollSummary(results=tuple(results), elapsed=time.monotonic() - started)

    async def poll_feed(self, feed: FeedState) -> PollResult:
        """Fetch, parse and store one feed. Never raises for a bad feed: the error is recorded."""
        started = time.monotonic()
        now = self.clock()
        try:
            return await self._poll_feed(feed, now, started)
        except AggregatorError as exc:
            return await self._failed(feed, now, started, exc)
        except Exception as exc:  # a bug must not stop the other feeds
            log.exception("event=poll_crashed feed=%s", feed.url)
            error = AggregatorError(f"internal error: {type(exc).__name__}: {exc}")
            return await self._failed(feed, now, started, error)

    async def _poll_feed(self, feed: FeedState, now: datetime, started: float) -> PollResult:
        result = await self.fetcher.fetch(
            feed.current_url, etag=feed.etag, last_modified=feed.last_modified, accept=FEED_ACCEPT
        )
        if result.permanent_redirect:
            log.info("event=moved feed=%s to=%s", feed.url, result.permanent_redirect)
        cache_seconds = schedule.cache_lifetime(result.headers, now)
        body_sha256 = None if result.not_modified else hashlib.sha256(result.body).hexdigest()
        if result.not_modified or body_sha256 == feed.body_sha256:
            # Nothing changed (a 304, or the same bytes under validators that lie): no parsing.
            times = await self.store_call(self.store.entry_times, feed.id)
            decision = self._decide(feed, now, cache_seconds, times, stored_hint=feed.hint_interval)
            poll = _feed_poll(feed, now, result, decision, same_body=True)
            await self.store_call(self.store.save_poll, poll)
            log.info("event=unchanged feed=%s status=%d", feed.url, result.status)
            return self._ok(feed, poll, started, not_modified=True)

        try:
            parsed, keys = await self._cpu(
                read_feed, PARSE_TIMEOUT, result.body, result.final_url, result.headers
            )
        except WorkerError as exc:
            raise ParseError(f"the feed could not be parsed: {exc}") from exc
        entries = parsed.entries
        capped = len(entries) > self.settings.max_entries
        if capped:
            log.warning(
                "event=entries_capped feed=%s entries=%d kept=%d",
                feed.url,
                len(entries),
                self.settings.max_entries,
            )
            entries = entries[: self.settings.max_entries]
        known = await self.store_call(self.store.entry_hashes, feed.id)
        todo: list[tuple[Entry, EntryKeys]] = []
        seen: list[str] = []
        for entry, entry_keys in zip(entries, keys, strict=False):
            if known.get(entry.id) == entry_keys.fingerprint:
                seen.append(entry.id)
            else:
                todo.append((entry, entry_keys))

        # A new entry whose link is already archived (another feed, tracking parameters)
        # is a sighting of that article: no need to fetch its page again.
        new_keys = {k.url_key for e, k in todo if k.url_key and e.id not in known}
        shared_links = _shared_links(keys[: len(entries)])
        archived = await self.store_call(self.store.known_url_keys, new_keys) if new_keys else set()
        # Read before any of this poll's articles are saved: they are added below.
        times = await self.store_call(self.store.entry_times, feed.id)
        limit = asyncio.Semaphore(ARTICLES_PER_FEED)
        prepared = _Prepared(len(todo))
        early = SaveCounts()
        learn_from: list[str] = []  # the sites of articles saved early, learned from at the end

        async def article(index: int, entry: Entry, entry_keys: EntryKeys) -> None:
            nonlocal early
            key = entry_keys.url_key
            async with limit:
                page = error = None
                if key in shared_links:
                    # Several entries link to this one page: it is none of them in particular.
                    record = await self._article(entry, entry_keys, None, parsed.language)
                    record = replace(record, url_is_identity=False)
                else:
                    wanted = key is not None and (
                        entry.id in known or (key not in archived and self._claim(key))
                    )
                    if entry.url is not None and wanted:
                        await self._backlog.room()
                        page, error = await self._fetch_page(entry.url)
                        with self._backlog.holding():
                            record = await self._article(
                                entry, entry_keys, page, parsed.language, error
                            )
                    else:
                        record = await self._article(entry, entry_keys, None, parsed.language)
            # Saved as they come, in the feed's order: memory holds a few pages per feed,
            # however long the feed.
            batch = prepared.add(index, record)
            if batch:
                try:
                    saved = await self.store_call(self.store.save_articles, feed.id, batch)
                except StoreError as exc:  # kept for the poll's own save, which records it
                    log.warning("event=early_save_failed feed=%s error=%r", feed.url, str(exc))
                    prepared.keep_all()
                    return
                prepared.saved(len(batch))
                early = _added(early, saved)
                learn_from.extend(_sites_with_text(batch))

        if self.fetch_articles:
            await asyncio.gather(*(article(i, e, k) for i, (e, k) in enumerate(todo)))
            records = prepared.rest()
        else:
            records = await self._feed_articles(todo, shared_links, parsed.language)
        hint = _hint_interval(parsed.ttl, parsed.update_interval)
        times += [e.published or e.updated or now for e, _ in todo if e.id not in known]
        decision = self._decide(
            feed, now, cache_seconds, times, ttl=parsed.ttl, update_interval=parsed.update_interval
        )
        poll = replace(
            _feed_poll(feed, now, result, decision, same_body=False),
            body_sha256=body_sha256,
            parsed=True,
            hint_interval=hint,
            title=parsed.title,
            site_url=parsed.site_url,
            warning=_join_warnings(
                parsed.warning,
                f"kept the first {len(entries)} of {len(parsed.entries)} entries (max_entries)"
                if capped
                else None,
            ),
            articles=tuple(records),
            seen_entry_ids=tuple(seen),
        )
        counts = _added(early, await self.store_call(self.store.save_poll, poll))
        await self._learn([*learn_from, *_sites_with_text(records)])
        log.info(
            "event=polled feed=%s status=%d entries=%d new=%d updated=%d duplicate=%d next=%r",
            feed.url,
            result.status,
            len(entries),
            counts.new,
            counts.updated,
            counts.duplicate,
            decision.reason,
        )
        return self._ok(feed, poll, started, counts=counts, warning=poll.warning)

    def _decide(
        self,
        feed: FeedState,
        now: datetime,
        cache_seconds: float | None,
        entry_times: Sequence[datetime],
        *,
        ttl: int | None = None,
        update_interval: float | None = None,
        stored_hint: float | None = None,
    ) -> schedule.Decision:
        return schedule.after_success(
            now=now,
            settings=self.settings,
            configured=self._configured_interval(feed),
            ttl_minutes=ttl,
            update_interval=update_interval,
            stored_hint=stored_hint,
            cache_seconds=cache_seconds,
            entry_times=entry_times,
            rng=self.rng,
        )

    def _configured_interval(self, feed: FeedState) -> float | None:
        configured = self.feed_configs.get(feed.url)
        return configured.interval if configured is not None else None

    async def _feed_articles(
        self, todo: Sequence[tuple[Entry, EntryKeys]], shared_links: set[str], language: str | None
    ) -> list[ArticleRecord]:
        """Entries kept from the feed alone (no pages): prepared in one worker task rather than
        one each, whose round trips would cost more than the work. When the batch runs out of
        time, each entry is prepared alone (``_article``), so one bad entry costs only itself.
        """
        learned = {site: await self._site_boilerplate(site) for site in {k.site for _, k in todo}}
        prepare = functools.partial(
            prepare_feed_articles,
            archive_page=self.settings.archive_pages,
            feed_language=language,
            site_boilerplate=learned,
        )
        try:
            records = await self._cpu(prepare, EXTRACT_TIMEOUT, list(todo))
        except WorkerError as exc:
            log.warning("event=batch_gave_up entries=%d error=%r", len(todo), str(exc))
            records = [await self._article(entry, k, None, language) for entry, k in todo]
        return [
            replace(record, url_is_identity=False) if k.url_key in shared_links else record
            for (_, k), record in zip(todo, records, strict=True)
        ]

    async def _article(
        self,
        entry: Entry,
        keys: EntryKeys,
        page: FetchResult | None,
        language: str | None,
        page_error: str | None = None,
    ) -> ArticleRecord:
        """prepare_article in a worker, within EXTRACT_TIMEOUT; a page or feed content that
        runs out the clock is left out, the entry is kept."""
        site = site_of(page.final_url) if page is not None else keys.site
        learned = await self._site_boilerplate(site)
        attempts = ((True, True), (False, True), (False, False))  # (extract page, clean feed)
        for number, (extract_page, clean_feed) in enumerate(attempts, 1):
            if number == 2 and page is not None:
                page_error = f"extracting the page took over {EXTRACT_TIMEOUT:g} s"
            prepare = functools.partial(
                prepare_article,
                archive_page=self.settings.archive_pages,
                feed_language=language,
                extract_page=extract_page,
                clean_feed=clean_feed,
                page_error=page_error,
                site_boilerplate=learned,
            )
            try:
                if number == len(attempts):  # cheap and pure Python: no worker needed
                    return prepare(entry, keys, page)
                return await self._cpu(prepare, EXTRACT_TIMEOUT, entry, keys, page)
            except WorkerError as exc:
                log.warning(
                    "event=extract_gave_up url=%s attempt=%d error=%r", entry.url, number, str(exc)
                )
        raise AssertionError("unreachable: the last attempt runs inline")

    def _claim(self, url_key: str) -> bool:
        """True for the first feed of this run to ask for a page; later askers reuse its text."""
        if url_key in self._claimed:
            return False
        self._claimed[url_key] = None
        if len(self._claimed) > CLAIMED_PAGES:
            self._claimed.popitem(last=False)
        return True

    async def _fetch_page(self, url: str) -> tuple[FetchResult | None, str | None]:
        """The page, or why there is none."""
        try:
            return await self.fetcher.fetch(url, accept=PAGE_ACCEPT), None
        except FetchError as exc:
            log.info("event=page_failed url=%s error=%r", url, str(exc))
            return None, str(exc)

    async def _site_boilerplate(self, site: str | None) -> frozenset[str]:
        """The lines learned as the site's boilerplate (read once, then after each learning)."""
        if site is None or not self.settings.learn_boilerplate:
            return frozenset()
        learned = self._boilerplate.get(site)
        if learned is None:
            learned = await self.store_call(self.store.site_boilerplate, site)
            self._boilerplate[site] = learned
            if len(self._boilerplate) > CACHED_SITES:
                self._boilerplate.popitem(last=False)
        return learned

    async def _learn(self, sites: Sequence[str]) -> None:
        """Learn the boilerplate of the sites that gained articles: each site once in this
        process's life, then after ``LEARN_EVERY`` new articles of it, a number that doubles
        after each learning that finds nothing new (up to ``LEARN_EVERY_MOST``): a site's
        boilerplate is learned early, and a big site is not re-read for every few articles."""
        if not self.settings.learn_boilerplate:
            return
        for site in sites:
            self._unlearned[site] = self._unlearned.get(site, 0) + 1
        for site in list(self._unlearned):
            # Read again at each step: other feeds' polls learn too while this one awaits.
            pending = self._unlearned.get(site, 0)
            every = self._learn_every.get(site)
            if not pending or (every is not None and pending < every):
                continue
            del self._unlearned[site]
            texts = await self.store_call(self.store.boilerplate_sample, site)
            try:
                found = await self._cpu(boilerplate.learn, PARSE_TIMEOUT, texts)
            except WorkerError as exc:  # learned at its next turn
                log.warning("event=boilerplate_gave_up site=%s error=%r", site, str(exc))
                continue
            fresh = await self.store_call(
                self.store.keep_boilerplate, site, found, sampled=len(texts), now=self.clock()
            )
            if fresh:
                log.info("event=boilerplate_learned site=%s lines=%d", site, fresh)
                self._boilerplate.pop(site, None)
                self._learn_every[site] = LEARN_EVERY
            else:
                self._learn_every[site] = min(2 * (every or LEARN_EVERY // 2), LEARN_EVERY_MOST)

    def _ok(
        self,
        feed: FeedState,
        poll: FeedPoll,
        started: float,
        *,
        not_modified: bool = False,
        counts: SaveCounts | None = None,
        warning: str | None = None,
    ) -> PollResult:
        return PollResult(
            feed_id=feed.id,
            url=feed.url,
            label=feed.label,
            ok=True,
            status=poll.status,
            not_modified=not_modified,
            counts=counts or SaveCounts(),
            warning=warning,
            elapsed=time.monotonic() - started,
            next_poll_at=poll.next_poll_at,
            next_poll_reason=poll.next_poll_reason,
            moved_to=poll.moved_to,
        )

    async def _failed(
        self, feed: FeedState, now: datetime, started: float, exc: AggregatorError
    ) -> PollResult:
        status = exc.status if isinstance(exc, HTTPStatusError) else None
        error = str(exc)
        decision, score = schedule.after_failure(
            now=now,
            settings=self.settings,
            configured=self._configured_interval(feed),
            error=exc,
            error_score=feed.error_score,
            rng=self.rng,
        )
        log.info(
            "event=poll_failed feed=%s status=%s error=%r next=%r",
            feed.url,
            status,
            error,
            decision.reason,
        )
        failure = FeedFailure(
            feed_id=feed.id,
            polled_at=now,
            error=error,
            status=status,
            next_poll_at=decision.next_poll_at,
            next_poll_reason=decision.reason,
            error_score=score,
            not_before=decision.not_before,
            retire=decision.retire,
            outcome=health.failure_mark(exc),
        )
        store_failed = isinstance(exc, StoreError)
        try:
            await self.store_call(self.store.record_failure, failure)
        except StoreError as store_error:  # the archive itself is failing: report, keep going
            log.error("event=record_failed feed=%s error=%r", feed.url, str(store_error))
            error = f"{error} (and recording it failed: {store_error})"
            store_failed = True
        return PollResult(
            feed_id=feed.id,
            url=feed.url,
            label=feed.label,
            ok=False,
            status=status,
            error=error,
            elapsed=time.monotonic() - started,
            next_poll_at=decision.next_poll_at,
            next_poll_reason=decision.reason,
            retired=decision.retire,
            store_failed=store_failed,
        )

    async def store_call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store call on the store's own thread (the single writer; see ``Writer``)."""
        return await self.writer.call(fn, *args, **kwargs)

    async def _cpu(
        self, fn: Callable[P, T], timeout: float, /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run parsing or extraction in the worker pool (inline, without a limit, if none)."""
        if self.executor is None:
            return fn(*args, **kwargs)
        return await self.executor.run(fn, timeout, *args, **kwargs)
