"""`poll` (one pass over the due feeds) and `run` (the daemon)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aggregator.cli._app import (
    Context,
    cli,
    configure_logging,
    echo_json,
    errors_to_exit,
    feed_option,
)
from aggregator.config import Config, rewrite_feed_url
from aggregator.fetch import Fetcher
from aggregator.models import FeedState
from aggregator.pipeline import Pipeline, PollResult, PollSummary, is_due, may_poll, utcnow
from aggregator.store import ArchiveLock, Store
from aggregator.workers import PRELOAD, PRELOAD_FEEDS_ONLY, WorkerPool


def _select_feeds(
    feeds: Sequence[FeedState], wanted: Sequence[str], poll_all: bool, now: datetime
) -> list[FeedState]:
    """Named feeds, or all, or the due ones; never a retired feed or one under Retry-After."""
    if wanted:
        chosen: list[FeedState] = []
        for name in wanted:
            matches = [f for f in feeds if name in (f.url, f.name, f.title)]
            if not matches:
                raise click.BadParameter(
                    f"no feed named or at {name!r} in the config", param_hint="--feed"
                )
            chosen.extend(m for m in matches if m not in chosen)
        return [f for f in chosen if may_poll(f, now)]
    if poll_all:
        return [f for f in feeds if may_poll(f, now)]
    return [f for f in feeds if is_due(f, now)]


@cli.command()
@feed_option("Poll only this feed (repeatable), due or not.")
@click.option("--all", "poll_all", is_flag=True, help="Poll every feed, due or not.")
@click.option(
    "--no-articles", is_flag=True, help="Store the feeds' own content; fetch no article pages."
)
@click.option(
    "--update-config",
    is_flag=True,
    help="Write the new URL of feeds that moved permanently (301/308) into feeds.yaml.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def poll(
    obj: Context,
    wanted: tuple[str, ...],
    poll_all: bool,
    no_articles: bool,
    update_config: bool,
    as_json: bool,
) -> None:
    """Fetch due feeds once and archive their new articles.

    Feeds never polled are due; after a poll a feed is due again when its schedule says
    (see `aggregator status`). Neither --all nor --feed overrides a server's Retry-After or
    polls a retired feed.

    \b
    Example:
      aggregator poll --all
      aggregator poll --feed "Example" --no-articles
    """
    with errors_to_exit():
        config = obj.config()
        db_path = obj.db_path()
        with ArchiveLock(db_path), Store(db_path) as store:
            now = utcnow()
            store.sync_feeds(config.feeds, now=now)
            configured = store.feeds(active_only=True)
            feeds = _select_feeds(configured, wanted, poll_all, now)
            summary = _run_poll(obj, config, store, feeds, fetch_articles=not no_articles)
            if update_config:
                _write_moves(obj, store)
    if as_json:
        echo_json(_summary_json(summary))
    else:
        _print_summary(obj.stdout, summary, skipped=len(configured) - len(feeds), quiet=obj.quiet)


def _write_moves(obj: Context, store: Store) -> None:
    """--update-config: write the new URL of every feed that moved permanently (in this poll
    or an earlier one) into feeds.yaml, and make it the feed's own."""
    for feed in store.feeds(active_only=True):
        if feed.fetch_url:
            rewrite_feed_url(obj.config_path, feed.url, feed.fetch_url)
            store.adopt_moved_url(feed.id)
            obj.stderr.print(
                f"feeds.yaml: {escape(feed.url)} -> {escape(feed.fetch_url)}", highlight=False
            )


def _run_poll(
    obj: Context, config: Config, store: Store, feeds: Sequence[FeedState], *, fetch_articles: bool
) -> PollSummary:
    if not feeds:
        return PollSummary(results=(), elapsed=0.0)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[tally]}"),
        console=obj.stderr,
        disable=not obj.stderr.is_terminal or obj.quiet,
        transient=True,
    )
    tally = _Tally()

    pages = fetch_articles and config.settings.fetch_articles

    async def run(on_result: Callable[[PollResult], None]) -> PollSummary:
        with WorkerPool(preload=PRELOAD if pages else PRELOAD_FEEDS_ONLY) as pool:
            async with Fetcher.from_settings(config.settings) as fetcher:
                pipeline = Pipeline(
                    config=config, store=store, fetcher=fetcher, executor=pool, fetch_articles=pages
                )
                try:
                    return await pipeline.poll(feeds, on_result)
                finally:
                    pipeline.close()

    with progress:
        task = progress.add_task("polling", total=len(feeds), tally="")

        def advance(result: PollResult) -> None:
            tally.add(result)
            if not result.ok or obj.verbose:
                progress.console.print(_feed_line(result), highlight=False, soft_wrap=True)
            progress.update(task, advance=1, tally=tally.line())

        return asyncio.run(run(advance))


@dataclass
class _Tally:
    """The poll so far, for the progress bar: feeds by outcome and new articles."""

    ok: int = 0
    unchanged: int = 0
    failed: int = 0
    new: int = 0

    def add(self, result: PollResult) -> None:
        if not result.ok:
            self.failed += 1
        elif result.not_modified:
            self.unchanged += 1
        else:
            self.ok += 1
        self.new += result.counts.new

    def line(self) -> str:
        failed = f"[red]{self.failed} failed[/]" if self.failed else "0 failed"
        return (
            f"[green]{self.ok} ok[/] · {self.unchanged} not modified · {failed}"
            f" · [bold]{self.new} new articles[/]"
        )


def _feed_line(result: PollResult) -> str:
    """One feed's outcome, printed above the progress bar (failures, or all with -v)."""
    label = escape(result.label)
    if not result.ok:
        status = f"{result.status}: " if result.status else ""
        return f"[red]✗ {label}[/]  {escape(status + (result.error or 'failed'))}"
    if result.not_modified:
        return f"[dim]= {label}  not modified[/]"
    counts = result.counts
    return (
        f"[green]✓[/] {label}  {counts.new} new, {counts.updated} updated,"
        f" {counts.duplicate} duplicate"
    )


def _summary_json(summary: PollSummary) -> dict[str, Any]:
    return {
        "feeds_ok": summary.feeds_ok,
        "feeds_failed": summary.feeds_failed,
        "new": summary.new,
        "updated": summary.updated,
        "duplicate": summary.duplicate,
        "seconds": round(summary.elapsed, 3),
        "feeds": [
            {
                "url": r.url,
                "name": r.label,
                "ok": r.ok,
                "status": r.status,
                "not_modified": r.not_modified,
                "new": r.counts.new,
                "updated": r.counts.updated,
                "duplicate": r.counts.duplicate,
                "error": r.error,
                "warning": r.warning,
                "seconds": round(r.elapsed, 3),
            }
            for r in summary.results
        ],
    }


def _print_summary(
    console: Console, summary: PollSummary, *, skipped: int, quiet: bool = False
) -> None:
    """Failed feeds as a table, then moves, retirements and the totals (unless quiet)."""
    failed = [r for r in summary.results if not r.ok]
    if failed:
        table = Table(title="Failed feeds", title_justify="left", show_edge=False)
        table.add_column("feed", overflow="fold")
        table.add_column("status", justify="right")
        table.add_column("error", overflow="fold")
        for r in failed:
            table.add_row(escape(r.label), str(r.status or "-"), escape(r.error or ""))
        console.print(table)
    if quiet:
        return
    for r in summary.results:
        if r.ok and r.warning:
            console.print(f"[yellow]warning:[/] {escape(r.label)}: {escape(r.warning)}")
        if r.moved_to:
            console.print(
                f"[yellow]moved:[/] {escape(r.label)} is now at {escape(r.moved_to)}"
                " (--update-config writes it into feeds.yaml)",
                highlight=False,
            )
        if r.retired:
            console.print(f"[red]retired:[/] {escape(r.label)}: {escape(r.retired)}")
    unchanged = sum(r.not_modified for r in summary.results)
    console.print(
        f"feeds: [green]{summary.feeds_ok} ok[/] ({unchanged} not modified), "
        f"[red]{summary.feeds_failed} failed[/]"
        + (f", {skipped} not due" if skipped else "")
        + f" · articles: [bold]{summary.new} new[/], {summary.updated} updated, "
        f"{summary.duplicate} duplicate · {summary.elapsed:.1f} s",
        highlight=False,
        soft_wrap=True,
    )


@cli.command()
@click.option(
    "--update-config",
    is_flag=True,
    help="Write the new URL of feeds that moved permanently (301/308) into feeds.yaml.",
)
@click.option(
    "--tick",
    type=float,
    hidden=True,
    help="Seconds between checks for due feeds (default: aggregator.scheduler.TICK_SECONDS).",
)
@click.pass_obj
def run(obj: Context, update_config: bool, tick: float | None) -> None:
    """Run the daemon: poll every feed on its own schedule until stopped.

    Logs go to stderr (key=value, or --log-format json). SIGTERM or Ctrl-C stops it within
    seconds; SIGHUP (or saving feeds.yaml) reloads the feed list. One daemon per archive.

    \b
    Example:
      aggregator run
      aggregator --log-format json run --update-config
    """
    from aggregator.scheduler import TICK_SECONDS, run_daemon

    configure_logging(obj.verbose, obj.log_format, baseline=logging.INFO)
    with errors_to_exit():
        config = obj.config()
        run_daemon(
            config=config,
            config_path=obj.config_path,
            db_path=obj.db_path(),
            tick_seconds=tick or TICK_SECONDS,
            update_config=update_config,
        )
