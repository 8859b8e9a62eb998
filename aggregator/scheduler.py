"""The daemon: `aggregator run` polls every feed on its own schedule, for months.

APScheduler 3 drives time with two jobs: a *tick* every few seconds that starts polls of the
feeds that are due (chosen by the database's ``next_poll_at``, so 100k feeds cost the scheduler
no more than ten), and *maintenance* every few hours; and one cron job per digest of feeds.yaml
that has a ``schedule`` (in the daemon's local time zone), which mails the digest to its ``to``
or writes it under ``<archive folder>/digests/``. Each feed poll is an asyncio task; a feed
already being polled is never started twice, and an exception in a poll or a tick is logged,
never fatal. feeds.yaml is reloaded on SIGHUP and when the file changes; SIGTERM and SIGINT
stop the daemon within seconds: no new polls, polls in flight cancelled, the transaction in
flight committed or rolled back, exit 0. When the archive itself fails (a full disk), the
daemon keeps running, pauses new polls for ``STORE_RETRY_SECONDS``, then tries again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.config import (
    SMTP_PASSWORD_ENV,
    Config,
    DigestConfig,
    cron_weekdays,
    load_config,
    rewrite_feed_url,
)
from aggregator.digest import (
    Digest,
    build_digest,
    file_name,
    remember_run,
    render,
    send_digest,
)
from aggregator.errors import AggregatorError
from aggregator.fetch import Fetcher
from aggregator.models import FeedState
from aggregator.pipeline import Pipeline, utcnow
from aggregator.store import ArchiveLock, Store
from aggregator.workers import WorkerPool

log = logging.getLogger(__name__)

#: Seconds between ticks (each starts the polls that are due).
TICK_SECONDS = 10.0
#: Seconds between maintenance runs (FTS merge, planner statistics, WAL checkpoint).
MAINTENANCE_SECONDS = 6 * 3600.0
#: Seconds without new polls after the archive failed (a full disk, a read-only file);
#: at most ten ticks.
STORE_RETRY_SECONDS = 30.0
#: How long a stop waits for polls in flight to unwind after cancelling them.
STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _ConfigStamp:
    mtime_ns: int
    size: int


def _stamp(path: Path) -> _ConfigStamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return _ConfigStamp(st.st_mtime_ns, st.st_size)


class Daemon:
    """Runs until stopped. ``db_path`` is the archive; ``config_path`` is reread on changes."""

    def __init__(
        self,
        *,
        config_path: Path,
        db_path: Path,
        config: Config,
        tick_seconds: float = TICK_SECONDS,
        update_config: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config_path = config_path
        self.db_path = db_path
        self.config = config
        self.tick_seconds = tick_seconds
        self.update_config = update_config
        self.clock = clock
        self._stamp = _stamp(config_path)
        self._reload_requested = False
        self._stop = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._pipeline: Pipeline | None = None
        self._store: Store | None = None
        self._store_down_until: datetime | None = None
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def _live(self) -> tuple[Pipeline, Store]:
        if self._pipeline is None or self._store is None:
            raise RuntimeError("the daemon is not running")
        return self._pipeline, self._store

    def stop(self) -> None:
        """Ask the daemon to stop (safe from a signal handler)."""
        self._stop.set()

    def request_reload(self) -> None:
        self._reload_requested = True

    async def run(self) -> None:
        """Poll until ``stop()``; raises AggregatorError when the archive is already in use."""
        with ArchiveLock(self.db_path), Store(self.db_path) as store:
            self._store = store
            now = self.clock()
            store.sync_feeds(self.config.feeds, now=now)
            store.daemon_started(pid=os.getpid(), host=socket.gethostname(), now=now)
            log.info(
                "event=started pid=%d db=%s feeds=%d",
                os.getpid(),
                self.db_path,
                len(self.config.feeds),
            )
            try:
                with WorkerPool() as pool:
                    async with Fetcher.from_settings(self.config.settings) as fetcher:
                        self._pipeline = Pipeline(
                            config=self.config,
                            store=store,
                            fetcher=fetcher,
                            executor=pool,
                            clock=self.clock,
                        )
                        try:
                            await self._serve()
                        finally:
                            self._pipeline.close()
            finally:
                store.daemon_stopped(self.clock())
                log.info("event=stopped pid=%d", os.getpid())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.tick_seconds),
            id="tick",
            next_run_time=datetime.now().astimezone(),
        )
        scheduler.add_job(
            self._maintenance, IntervalTrigger(seconds=MAINTENANCE_SECONDS), id="maintenance"
        )
        self._scheduler = scheduler
        self._schedule_digests()
        scheduler.start()
        try:
            await self._stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(signum)
            await self._cancel_polls()

    async def _cancel_polls(self) -> None:
        tasks = list(self._inflight.values())
        if not tasks:
            return
        log.info("event=stopping polls_in_flight=%d", len(tasks))
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)

    async def _tick(self) -> None:
        """Start polls of the due feeds, as many as concurrency allows. Never raises."""
        if self._stop.is_set():
            return
        try:
            pipeline, store = self._live
            await self._reload_if_changed()
            now = self.clock()
            if self._store_down_until is not None:
                if now < self._store_down_until:
                    return
                self._store_down_until = None
                log.info("event=archive_retry")
            free = self.config.settings.concurrency - len(self._inflight)
            if free > 0:
                due = await pipeline.store_call(
                    store.due_feeds, now, limit=free, exclude=list(self._inflight)
                )
                for feed in due:
                    self._inflight[feed.id] = asyncio.create_task(self._poll(feed))
            await pipeline.store_call(store.daemon_tick, now)
        except Exception:
            log.exception("event=tick_failed")

    async def _poll(self, feed: FeedState) -> None:
        pipeline, _ = self._live
        try:
            result = await pipeline.poll_feed(feed)
            if result.store_failed and self._store_down_until is None:
                pause = min(STORE_RETRY_SECONDS, 10 * self.tick_seconds)
                self._store_down_until = self.clock() + timedelta(seconds=pause)
                log.error("event=archive_failed error=%r retry_in=%gs", result.error, pause)
            moved_to = result.moved_to or feed.fetch_url  # this poll's move, or an earlier one
            if moved_to and self.update_config:
                await self._adopt_move(feed, moved_to)
        except Exception:
            log.exception("event=poll_task_failed feed=%s", feed.url)
        finally:
            self._inflight.pop(feed.id, None)

    async def _adopt_move(self, feed: FeedState, moved_to: str) -> None:
        """--update-config: write a permanently moved feed's new URL into feeds.yaml (a move
        seen by this poll, or by one before the daemon was started with the option)."""
        pipeline, store = self._live
        try:
            rewrite_feed_url(self.config_path, feed.url, moved_to)
            await pipeline.store_call(store.adopt_moved_url, feed.id)
        except (AggregatorError, OSError) as exc:
            log.error("event=update_config_failed feed=%s error=%r", feed.url, str(exc))
            return
        log.info("event=config_updated feed=%s new_url=%s", feed.url, moved_to)

    async def _reload_if_changed(self) -> None:
        stamp = _stamp(self.config_path)
        if not self._reload_requested and stamp == self._stamp:
            return
        self._reload_requested = False
        self._stamp = stamp
        try:
            config = load_config(self.config_path)
        except AggregatorError as exc:
            log.error("event=reload_failed error=%r (keeping the previous configuration)", str(exc))
            return
        if config.settings != self.config.settings:
            log.warning("event=reload settings_changed=true note=%r", "restart to apply settings")
        pipeline, store = self._live
        await pipeline.store_call(store.sync_feeds, config.feeds, now=self.clock())
        pipeline.update_config(config)
        before = {f.url for f in self.config.feeds}
        after = {f.url for f in config.feeds}
        self.config = config
        self._schedule_digests()
        log.info(
            "event=reloaded feeds=%d added=%d removed=%d",
            len(after),
            len(after - before),
            len(before - after),
        )

    def _schedule_digests(self) -> None:
        """One cron job per digest with a schedule (again after each reload)."""
        if self._scheduler is None:
            return
        for job in self._scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        for digest in self.config.digests:
            if digest.schedule:
                self._scheduler.add_job(
                    self._digest,
                    cron_trigger(digest.schedule),
                    args=[digest.name],
                    id=f"digest:{digest.name}",
                )

    async def _digest(self, name: str) -> None:
        """Deliver a scheduled digest. Never raises: a failure is logged."""
        try:
            pipeline, store = self._live
            digest = next((d for d in self.config.digests if d.name == name), None)
            if digest is None:
                return
            built = await pipeline.store_call(scheduled_digest, store, digest, now=self.clock())
            folder = self.db_path.parent / "digests"
            done = await asyncio.to_thread(
                deliver_digest, built, self.config, digest, folder=folder
            )
            await pipeline.store_call(remember_run, store, built)
            log.info("event=digest name=%s %s", name, done)
        except Exception:
            log.exception("event=digest_failed name=%s", name)

    async def _maintenance(self) -> None:
        try:
            pipeline, store = self._live
            merged = await pipeline.writer.alone(store.maintain)
            log.info("event=maintenance index_merged=%s", merged)
        except Exception:
            log.exception("event=maintenance_failed")


def cron_trigger(expression: str) -> CronTrigger:
    """A crontab line (already validated by the config) as an APScheduler trigger in the local
    time zone. Like APScheduler, and unlike cron, a day of month and a weekday both restricted
    must both match."""
    minute, hour, day, month, weekday = expression.split()
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=cron_weekdays(weekday)
    )


def scheduled_digest(store: Store, digest: DigestConfig, *, now: datetime) -> Digest:
    """A configured digest's stories since its last run (the first time: its ``since``)."""
    last = store.last_digest_run(digest.name)
    since = last if last is not None else now - timedelta(seconds=digest.since)
    return build_digest(
        store,
        name=digest.name,
        since=since,
        until=now,
        feeds=digest.feeds,
        tags=digest.tags,
        problems=digest.problems,
    )


def deliver_digest(built: Digest, config: Config, digest: DigestConfig, *, folder: Path) -> str:
    """Mail a built digest to its ``to`` (not when it has neither stories nor feed-health
    problems to report), or write it into ``folder``.

    Returns what was done, for the log. Raises AggregatorError.
    """
    fmt = digest.format
    if digest.to and (built.count or built.health):
        password = os.environ.get(SMTP_PASSWORD_ENV)
        send_digest(built, smtp=config.settings.smtp, to=digest.to, password=password)
        return f"stories={built.count} mailed_to={','.join(digest.to)}"
    if digest.to:
        return "stories=0 mailed=no (nothing new)"
    path = folder / file_name(built, fmt)  # type: ignore[arg-type]  # the config checked it
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(render(built, fmt), encoding="utf-8")  # type: ignore[arg-type]
    except OSError as exc:
        raise AggregatorError(f"cannot write the digest {path}: {exc}") from exc
    return f"stories={built.count} written_to={path}"


def run_daemon(
    *,
    config: Config,
    config_path: Path,
    db_path: Path,
    tick_seconds: float = TICK_SECONDS,
    update_config: bool = False,
) -> None:
    """Run the daemon until SIGTERM / SIGINT."""
    daemon = Daemon(
        config_path=config_path,
        db_path=db_path,
        config=config,
        tick_seconds=tick_seconds,
        update_config=update_config,
    )
    asyncio.run(daemon.run())
