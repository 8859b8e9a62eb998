"""The command line: parse arguments, call the library, render with rich (or --json).

Exit status: 0 when the command did its job (a failing feed is reported, not fatal),
2 for usage and configuration errors, 1 for other failures.
"""

from __future__ import annotations

import asyncio
import difflib
import itertools
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aggregator import __version__
from aggregator._malloc import fewer_arenas
from aggregator.config import (
    DIGEST_FORMATS,
    SMTP_PASSWORD_ENV,
    Config,
    database_path,
    format_duration,
    load_config,
    parse_duration,
    rewrite_feed_url,
)
from aggregator.errors import AggregatorError, ConfigError, SearchError
from aggregator.fetch import Fetcher
from aggregator.models import ArticleVersion, FeedState
from aggregator.pipeline import (
    Pipeline,
    PollResult,
    PollSummary,
    is_due,
    may_poll,
    utcnow,
)
from aggregator.search import search as run_search
from aggregator.search import split_snippet
from aggregator.store import ArchiveLock, Store
from aggregator.workers import PRELOAD, PRELOAD_FEEDS_ONLY, WorkerPool

log = logging.getLogger("aggregator")


@dataclass
class Context:
    verbose: int
    log_format: str
    config_path: Path
    db_override: str | None
    stdout: Console
    stderr: Console
    _config: Config | None = None

    def config(self, *, required: bool = True) -> Config:
        """feeds.yaml, loaded once. When not ``required`` a missing file means the defaults."""
        if self._config is None:
            if not required and not self.config_path.exists():
                self._config = Config()
            else:
                self._config = load_config(self.config_path)
        return self._config

    def db_path(self, *, config_required: bool = False) -> Path:
        if self.db_override:
            return Path(self.db_override)
        return database_path(self.config(required=config_required))

    def open_store(self, *, config_required: bool = False, must_exist: bool = False) -> Store:
        path = self.db_path(config_required=config_required)
        if must_exist and not path.exists():
            fail(f"no archive at {path}: run `aggregator poll` first (or pass --db)", status=1)
        return Store(path)


def _echo_json(data: object) -> None:
    """JSON for scripts: plain, never wrapped or coloured."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def fail(message: str, *, status: int = 1) -> NoReturn:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(status)


@contextmanager
def _errors_to_exit() -> Iterator[None]:
    """Our errors become a one-line message and an exit status, never a traceback."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), status=2)
    except SearchError as exc:
        fail(str(exc), status=2)
    except AggregatorError as exc:
        fail(str(exc), status=1)


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"time={stamp} level={record.levelname.lower()} logger={record.name} "
        text += record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data)


def _configure_logging(verbose: int, log_format: str, *, baseline: int = logging.WARNING) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _KeyValueFormatter())
    level = max(logging.DEBUG, baseline - 10 * verbose)
    root = logging.getLogger("aggregator")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aggregator")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="feeds.yaml",
    show_default=True,
    envvar="AGGREGATOR_CONFIG",
    help="The feeds.yaml to read (env AGGREGATOR_CONFIG).",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="AGGREGATOR_DB",
    help="The SQLite archive (default: settings.database, else archive/archive.db; "
    "env AGGREGATOR_DB).",
)
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Logs on stderr as key=value text or JSON lines.",
)
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path, db_path: str | None, verbose: int, log_format: str
) -> None:
    """Archive every article of the feeds you follow as clean, searchable text.

    \b
    Example:
      aggregator run                  # the daemon: keep archive/archive.db up to date
      aggregator poll                 # or one pass over the feeds that are due
      aggregator search "climate"     # ranked results with snippets
      aggregator status               # one row per feed
    """
    _configure_logging(verbose, log_format)
    ctx.obj = Context(
        verbose=verbose,
        log_format=log_format,
        config_path=config_path,
        db_override=db_path,
        stdout=Console(),
        stderr=Console(stderr=True),
    )


# --- poll ------------------------------------------------------------------------------------


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
@click.option(
    "--feed",
    "wanted",
    multiple=True,
    metavar="NAME_OR_URL",
    help="Poll only this feed (repeatable), due or not.",
)
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
    with _errors_to_exit():
        config = obj.config()
        db_path = obj.db_path()
        with ArchiveLock(db_path), Store(db_path) as store:
            now = utcnow()
            store.sync_feeds(config.feeds, now=now)
            configured = store.feeds(active_only=True)
            feeds = _select_feeds(configured, wanted, poll_all, now)
            summary = _run_poll(obj, config, store, feeds, fetch_articles=not no_articles)
            if update_config:
                _write_moves(obj, store, summary)
    if as_json:
        _echo_json(_summary_json(summary))
    else:
        _print_summary(obj.stdout, summary, skipped=len(configured) - len(feeds))


def _write_moves(obj: Context, store: Store, summary: PollSummary) -> None:
    for result in summary.results:
        if result.moved_to:
            rewrite_feed_url(obj.config_path, result.url, result.moved_to)
            store.adopt_moved_url(result.feed_id)
            obj.stderr.print(
                f"feeds.yaml: {escape(result.url)} -> {escape(result.moved_to)}", highlight=False
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
        TextColumn("{task.fields[last]}"),
        console=obj.stderr,
        disable=not obj.stderr.is_terminal,
        transient=True,
    )

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
        task = progress.add_task("polling", total=len(feeds), last="")

        def advance(result: PollResult) -> None:
            progress.update(task, advance=1, last=escape(result.label[:40]))

        return asyncio.run(run(advance))


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


def _print_summary(console: Console, summary: PollSummary, *, skipped: int) -> None:
    failed = [r for r in summary.results if not r.ok]
    if failed:
        table = Table(title="Failed feeds", title_justify="left", show_edge=False)
        table.add_column("feed", overflow="fold")
        table.add_column("status", justify="right")
        table.add_column("error", overflow="fold")
        for r in failed:
            table.add_row(escape(r.label), str(r.status or "-"), escape(r.error or ""))
        console.print(table)
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
    )


# --- search ----------------------------------------------------------------------------------


def parse_when(value: str, now: datetime, *, option: str = "--since") -> datetime:
    """A point in time: a duration back from now ("24h", "7d") or a date ("2026-11-01")."""
    try:
        return now - timedelta(seconds=parse_duration(value))
    except ConfigError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f'{value!r} is neither a duration like "24h" nor a date like "2026-11-01"',
            param_hint=option,
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@cli.command()
@click.argument("query")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--feed", metavar="NAME_OR_URL", help="Only articles delivered by this feed.")
@click.option("--since", metavar="WHEN", help='Only articles since then: "24h", "7d", a date.')
@click.option("--until", metavar="WHEN", help='Only articles before then: "24h", a date.')
@click.option("--tag", metavar="TAG", help="Only articles with this tag (theirs or their feed's).")
@click.option("--lang", metavar="CODE", help='Only articles in this language ("en", "de").')
@click.option(
    "--sort",
    type=click.Choice(["relevance", "date"]),
    default="relevance",
    show_default=True,
    help="Best matches first, or newest first.",
)
@click.option(
    "--duplicates", is_flag=True, help="Show near-copies too (by default they are collapsed)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@click.pass_obj
def search(
    obj: Context,
    query: str,
    limit: int,
    feed: str | None,
    since: str | None,
    until: str | None,
    tag: str | None,
    lang: str | None,
    sort: str,
    duplicates: bool,
    as_json: bool,
) -> None:
    """Search the archive; best matches first, with highlighted snippets.

    QUERY takes words, "exact phrases", OR, NOT and prefix*; a query that cannot be read that
    way is searched as plain words.

    \b
    Example:
      aggregator search '"climate change" NOT opinion' --since 7d
      aggregator search 'elect*' --tag politics --lang en --sort date
    """
    now = utcnow()
    since_at = parse_when(since, now) if since else None
    until_at = parse_when(until, now, option="--until") if until else None
    with _errors_to_exit(), obj.open_store(must_exist=True) as store:
        hits = run_search(
            store,
            query,
            limit=limit,
            feed=feed,
            since=since_at,
            until=until_at,
            tag=tag,
            lang=lang,
            duplicates=duplicates,
            newest_first=sort == "date",
        )
    if as_json:
        _echo_json(
            [
                {
                    "id": h.article_id,
                    "title": h.title,
                    "url": h.url,
                    "feed": h.feed,
                    "published": h.published.isoformat() if h.published else None,
                    "snippet": "".join(text for text, _ in split_snippet(h.snippet)),
                    "matches": [text for text, hit in split_snippet(h.snippet) if hit],
                    "rank": h.rank,
                    "feeds": h.feeds,
                    "copies": h.copies,
                    "duplicate_of": h.duplicate_of,
                }
                for h in hits
            ]
        )
        return
    if not hits:
        obj.stderr.print("no matches")
        return
    for number, hit in enumerate(hits, 1):
        date = hit.published.strftime("%Y-%m-%d") if hit.published else "undated"
        about = [escape(hit.feed or ""), date, f"#{hit.article_id}"]
        if hit.feeds > 1:
            about.append(f"in {hit.feeds} feeds")
        if hit.copies:
            about.append(f"{hit.copies} near-cop{'y' if hit.copies == 1 else 'ies'}")
        if hit.duplicate_of:
            about.append(f"near-copy of #{hit.duplicate_of}")
        obj.stdout.print(
            f"[bold]{number}. {escape(hit.title or '(untitled)')}[/]  [dim]{' · '.join(about)}[/]",
            highlight=False,
        )
        if hit.url:
            obj.stdout.print(f"   [blue]{escape(hit.url)}[/]", highlight=False, soft_wrap=True)
        snippet = "".join(
            f"[bold yellow]{escape(text)}[/]" if match else escape(text)
            for text, match in split_snippet(hit.snippet.replace("\n", " "))
        )
        obj.stdout.print(f"   {snippet}", highlight=False)


@cli.command()
@click.argument("article_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
@click.pass_obj
def history(obj: Context, article_id: int, as_json: bool) -> None:
    """Every version of an article's text, as unified diffs from one to the next.

    The article's id is in `aggregator search`'s output (#123). A version is kept each time
    the publisher changes the text of an entry already archived.

    \b
    Example:
      aggregator history 123
      aggregator history 123 --json
    """
    with _errors_to_exit(), obj.open_store(must_exist=True) as store:
        versions = store.history(article_id)
    if as_json:
        _echo_json(
            [
                {
                    "title": v.title,
                    "content": v.content,
                    "since": v.since.isoformat() if v.since else None,
                    "until": v.until.isoformat() if v.until else None,
                }
                for v in versions
            ]
        )
        return
    obj.stdout.print(
        f"#{article_id} {escape(versions[-1].title or '(untitled)')}: {len(versions)} version"
        + ("s" if len(versions) > 1 else "")
        + ("" if len(versions) > 1 else " (never changed)"),
        highlight=False,
    )
    for before, after in itertools.pairwise(versions):
        when = after.since.strftime("%Y-%m-%d %H:%M UTC") if after.since else "?"
        diff = difflib.unified_diff(
            _version_lines(before),
            _version_lines(after),
            fromfile=f"#{article_id} before {when}",
            tofile=f"#{article_id} from {when}",
            lineterm="",
        )
        for line in diff:
            style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
            if line.startswith(("+++", "---")):
                style = "bold"
            text = escape(line)
            obj.stdout.print(
                f"[{style}]{text}[/]" if style else text, highlight=False, soft_wrap=True
            )


def _version_lines(version: ArticleVersion) -> list[str]:
    """A version as the lines a diff compares: its title, then one line per paragraph."""
    paragraphs = [p.strip() for p in (version.content or "").split("\n") if p.strip()]
    return [f"# {version.title or ''}", *paragraphs]


# --- run ----------------------------------------------------------------------------------


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

    _configure_logging(obj.verbose, obj.log_format, baseline=logging.INFO)
    with _errors_to_exit():
        config = obj.config()
        run_daemon(
            config=config,
            config_path=obj.config_path,
            db_path=obj.db_path(),
            tick_seconds=tick or TICK_SECONDS,
            update_config=update_config,
        )


# --- status ----------------------------------------------------------------------------------


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    size = abs(seconds)
    unit = 3600 if size >= 86400 else 60 if size >= 3600 else 1  # two units are enough
    text = format_duration(max(1, round(size / unit)) * unit)
    return f"in {text}" if seconds < 0 else f"{text} ago"


def _state(feed: FeedState, now: datetime) -> str:
    if feed.disabled_reason:
        return "retired"
    if not feed.active:
        return "not in feeds.yaml"
    if feed.fetch_url:
        return "moved"
    if feed.not_before and feed.not_before > now:
        return "waiting (Retry-After)"
    if feed.error_count:
        return "failing"
    return "ok" if feed.last_polled_at else "new"


def _check_daemon(obj: Context, store: Store, max_age: float) -> None:
    """Exit 0 when the daemon has ticked within ``max_age`` seconds, else 1 with the reason."""
    state = store.daemon_state()
    now = utcnow()
    if state is None:
        fail("no daemon has run on this archive", status=1)
    if state["stopped_at"] is not None:
        fail(f"the daemon (pid {state['pid']}) stopped {_ago(state['stopped_at'], now)}", status=1)
    last = state["last_tick_at"] or state["started_at"]
    age = (now - last).total_seconds()
    if age > max_age:
        fail(f"the daemon (pid {state['pid']}) last polled {_ago(last, now)}", status=1)
    obj.stdout.print(f"ok: the daemon (pid {state['pid']}) polled {_ago(last, now)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 0 if the daemon has polled recently, else 1 (for health checks).",
)
@click.option(
    "--max-age",
    default="3m",
    show_default=True,
    metavar="DURATION",
    help="With --check: how recent the daemon's last poll must be.",
)
@click.pass_obj
def status(obj: Context, as_json: bool, check: bool, max_age: str) -> None:
    """One row per feed: state, last and next poll (and why), HTTP status, articles, errors.

    "text from page" counts the articles whose text came from their page (not the feed), and
    how many times longer that text is than the feed's own, on average; feeds whose pages
    gave no text are listed below the table, with the last reason.

    \b
    Example:
      aggregator status
      aggregator status --json | jq '.[] | select(.error_count > 0)'
      aggregator status --check        # the Docker HEALTHCHECK
    """
    with _errors_to_exit(), obj.open_store(must_exist=True) as store:
        if check:
            _check_daemon(obj, store, parse_duration(max_age))
            return
        feeds = store.feeds()
        extraction = store.extraction_stats()
        learned = store.learned_boilerplate()
    now = utcnow()
    if as_json:
        _echo_json(
            [
                {
                    "id": f.id,
                    "url": f.url,
                    "name": f.label,
                    "tags": list(f.tags),
                    "state": _state(f, now),
                    "active": f.active,
                    "fetch_url": f.fetch_url,
                    "last_polled_at": f.last_polled_at.isoformat() if f.last_polled_at else None,
                    "next_poll_at": f.next_poll_at.isoformat() if f.next_poll_at else None,
                    "next_poll_reason": f.next_poll_reason,
                    "not_before": f.not_before.isoformat() if f.not_before else None,
                    "last_status": f.last_status,
                    "articles": f.articles,
                    "error_count": f.error_count,
                    "last_error": f.last_error,
                    "disabled_reason": f.disabled_reason,
                    "extraction": extraction.get(f.id, {}),
                }
                for f in feeds
            ]
        )
        return
    table = Table(show_edge=False)
    for column, justify in (
        ("feed", "left"),
        ("state", "left"),
        ("last poll", "right"),
        ("next poll", "left"),
        ("HTTP", "right"),
        ("articles", "right"),
        ("text from page", "right"),
        ("errors", "right"),
        ("last error", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for f in feeds:
        state = _state(f, now)
        colour = {"ok": "green", "retired": "red", "failing": "red"}.get(state, "yellow")
        if f.disabled_reason:
            next_poll = "never"
        elif f.next_poll_at is None:
            next_poll = "now"
        else:
            next_poll = f"{_ago(f.next_poll_at, now)} ({f.next_poll_reason or 'interval'})"
        table.add_row(
            escape(f.label),
            f"[{colour}]{escape(state)}[/]",
            _ago(f.last_polled_at, now),
            escape(next_poll),
            str(f.last_status or "-"),
            str(f.articles),
            _text_from_page(extraction.get(f.id)),
            str(f.error_count),
            escape(f.last_error or ""),
        )
    obj.stdout.print(table)
    for f in feeds:
        if f.disabled_reason:
            obj.stdout.print(
                f"[red]retired:[/] {escape(f.label)} ({escape(f.disabled_reason)}); "
                f"poll it again with: aggregator revive {escape(shlex.quote(f.url))}",
                highlight=False,
            )
        elif f.fetch_url:
            obj.stdout.print(
                f"[yellow]moved:[/] {escape(f.label)} is now at {escape(f.fetch_url)}; "
                "`aggregator poll --update-config` writes it into feeds.yaml",
                highlight=False,
            )
    _print_extraction_problems(obj.stdout, feeds, extraction)
    if learned:
        sites = len({row["site"] for row in learned})
        obj.stdout.print(
            f"learned boilerplate: {len(learned)} lines on {sites} sites"
            " (see them with: aggregator boilerplate)",
            highlight=False,
        )


def _text_from_page(stats: dict[str, Any] | None) -> str:
    """ "40/50 (82%)": articles whose text is the page's, and how long it is against the
    feed's own text (the mean of page words / feed words, when the feed has text)."""
    if not stats:
        return "-"
    total = stats["from_page"] + stats["from_feed"] + stats["without_text"]
    shown = f"{stats['from_page']}/{total}"
    if stats["page_to_feed"] is not None:
        shown += f" (x{stats['page_to_feed']:.1f})"
    return shown


def _print_extraction_problems(
    console: Console, feeds: Sequence[FeedState], extraction: dict[int, dict[str, Any]]
) -> None:
    for f in feeds:
        stats = extraction.get(f.id)
        if not stats or not (stats["page_failed"] or stats["page_timeout"]):
            continue
        failed = stats["page_failed"] + stats["page_timeout"]
        console.print(
            f"[yellow]extraction:[/] {escape(f.label)}: {failed} pages gave no text"
            f" (last: {escape(stats['last_error'] or 'unknown')})",
            highlight=False,
        )


@cli.command()
@click.argument("feed", metavar="NAME_OR_URL")
@click.pass_obj
def revive(obj: Context, feed: str) -> None:
    """Poll a retired feed (one that answered 410 Gone) again, from the next poll on.

    \b
    Example:
      aggregator revive https://example.org/feed.xml
    """
    with _errors_to_exit(), obj.open_store(must_exist=True) as store:
        matches = [f for f in store.feeds() if feed in (f.url, f.name, f.title)]
        if not matches:
            fail(f"no feed named or at {feed!r} in the archive", status=2)
        for match in matches:
            store.revive(match.id)
            obj.stdout.print(f"revived: {escape(match.label)} is polled at the next poll")


@cli.command()
@click.argument("site", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the lines as JSON.")
@click.option(
    "--forget",
    is_flag=True,
    help="Forget what was learned for SITE (its archived articles keep their text).",
)
@click.pass_obj
def boilerplate(obj: Context, site: str | None, as_json: bool, forget: bool) -> None:
    """The lines learned as each site's boilerplate, removed from its articles.

    A line that appears on many archived pages of one site (a share bar, a sign-off, a
    newsletter pitch) is learned after each poll that brings new articles of the site
    (settings.learn_boilerplate turns this off).

    \b
    Example:
      aggregator boilerplate
      aggregator boilerplate example.com --json
      aggregator boilerplate example.com --forget
    """
    if forget and not site:
        fail("--forget needs the SITE whose lines to forget", status=2)
    with _errors_to_exit(), obj.open_store(must_exist=True) as store:
        if forget:
            assert site is not None
            forgotten = store.forget_boilerplate(site)
            obj.stdout.print(f"forgot {forgotten} learned lines of {escape(site)}")
            return
        rows = store.learned_boilerplate(site)
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        obj.stdout.print("no boilerplate learned" + (f" for {escape(site)}" if site else ""))
        return
    table = Table(show_edge=False)
    table.add_column("site")
    table.add_column("pages", justify="right")
    table.add_column("line", overflow="fold")
    for row in rows:
        table.add_row(escape(row["site"]), f"{row['pages']}/{row['sample']}", escape(row["line"]))
    obj.stdout.print(table)


@cli.command()
@click.option(
    "--feed",
    "wanted",
    multiple=True,
    metavar="NAME_OR_URL",
    help="Only the articles this feed delivered (repeatable).",
)
@click.option(
    "--outdated", is_flag=True, help="Only articles an older version of the extractor produced."
)
@click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON.")
@click.pass_obj
def reextract(obj: Context, wanted: tuple[str, ...], outdated: bool, as_json: bool) -> None:
    """Extract the archived pages again and update their articles and the search index.

    Articles gain what the extractor learned since they were archived and lose the lines
    learned as their site's boilerplate. Running it twice changes nothing the second time.

    \b
    Example:
      aggregator reextract
      aggregator reextract --feed Example --outdated
    """
    from aggregator.reextract import ReextractSummary
    from aggregator.reextract import reextract as reextract_archive

    with _errors_to_exit():
        db_path = obj.db_path()
        if not db_path.exists():
            fail(f"no archive at {db_path}: run `aggregator poll` first (or pass --db)")
        with ArchiveLock(db_path), Store(db_path) as store:
            feed_ids = store.feed_ids(wanted) if wanted else None
            progress = Progress(
                TextColumn("re-extracting"),
                TextColumn("{task.completed} articles, {task.fields[changed]} changed"),
                TimeElapsedColumn(),
                console=obj.stderr,
                disable=not obj.stderr.is_terminal,
                transient=True,
            )

            async def run() -> ReextractSummary:
                with WorkerPool() as pool:
                    return await reextract_archive(
                        store,
                        pool,
                        feed_ids=feed_ids,
                        outdated_only=outdated,
                        on_batch=lambda t: progress.update(
                            task, completed=t.articles, changed=t.changed
                        ),
                    )

            with progress:
                task = progress.add_task("reextract", total=None, changed=0)
                summary = asyncio.run(run())
    if as_json:
        _echo_json(asdict(summary))
        return
    obj.stdout.print(
        f"re-extracted {summary.articles} articles: {summary.changed} changed,"
        f" {summary.failed} pages gave no text (those articles keep theirs)",
        highlight=False,
    )


@cli.command()
@click.option(
    "--format",
    "kind",
    type=click.Choice(["warc", "jsonl"]),
    required=True,
    help="warc: the archived pages (WARC 1.1); jsonl: the articles, one JSON object a line.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    default=Path("-"),
    show_default="standard output",
    help="The file to write.",
)
@click.option(
    "--feed",
    "wanted",
    multiple=True,
    metavar="NAME_OR_URL",
    help="Only what this feed delivered (repeatable).",
)
@click.option("--since", metavar="WHEN", help='Pages fetched since then: "7d", a date (warc).')
@click.pass_obj
def export(
    obj: Context, kind: str, output: Path, wanted: tuple[str, ...], since: str | None
) -> None:
    """Export the archived pages as WARC 1.1, or the articles as JSON lines.

    The WARC file holds a request and a response record per page (readable by `warcio
    index`, pywb, or any web-archive tool); the body is the page as archived, decoded.

    \b
    Example:
      aggregator export --format warc -o archive.warc.gz
      aggregator export --format jsonl --feed Example | jq .title
    """
    from aggregator.export import export_jsonl, export_warc

    with _errors_to_exit(), obj.open_store(must_exist=True) as store:
        feed_ids = store.feed_ids(wanted) if wanted else None
        after = parse_when(since, utcnow()) if since else None
        try:
            if kind == "warc":
                with click.open_file(str(output), "wb") as binary:
                    count = export_warc(store.export_pages(feed_ids=feed_ids, since=after), binary)
            else:
                with click.open_file(str(output), "w", encoding="utf-8") as text:
                    count = export_jsonl(store.export_articles(feed_ids=feed_ids), text)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
    what = "pages" if kind == "warc" else "articles"
    where = "standard output" if str(output) == "-" else str(output)
    obj.stderr.print(f"exported {count} {what} to {escape(where)}", highlight=False, soft_wrap=True)


@cli.command()
@click.option(
    "--name",
    help="A digest of feeds.yaml (its settings are the defaults), or a name to remember"
    " for --since last.",
)
@click.option(
    "--since",
    metavar="WHEN",
    help='"24h", "2026-11-01", or "last" (since this digest\'s previous run; needs --name).'
    " Default: the digest's, else 24h.",
)
@click.option("--until", metavar="WHEN", help="The end of the period (default: now).")
@click.option("--feed", "feeds", multiple=True, metavar="NAME_OR_URL", help="Only this feed.")
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help="Only feeds or articles with this tag."
)
@click.option("--query", metavar="QUERY", help="A saved search: only the articles it matches.")
@click.option("--group-by", type=click.Choice(["feed", "tag"]), help="Group the stories.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(DIGEST_FORMATS)),
    help="Default: the digest's, else md.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    help="Write it to this file (default: standard output, unless it is mailed).",
)
@click.option(
    "--mail-to",
    "mail_to",
    multiple=True,
    metavar="ADDR",
    help="Mail it (multipart: text and HTML) through feeds.yaml's smtp settings.",
)
@click.pass_obj
def digest(
    obj: Context,
    name: str | None,
    since: str | None,
    until: str | None,
    feeds: tuple[str, ...],
    tags: tuple[str, ...],
    query: str | None,
    group_by: str | None,
    fmt: str | None,
    limit: int,
    output: Path | None,
    mail_to: tuple[str, ...],
) -> None:
    """What is new in the archive: Markdown, HTML, JSON, Atom or JSON Feed, or by mail.

    Near-copies are folded into their original ("also in: ..."). A named digest remembers
    when it last ran, so `--since last` picks up where it ended.

    \b
    Example:
      aggregator digest --since 24h --group-by feed
      aggregator digest --name morning --since last --mail-to me@example.org
      aggregator digest --query '"heat pump"' --format atom -o heat-pumps.atom.xml
    """
    from aggregator.digest import build_digest, parse_since, remember_run, render, send_digest

    with _errors_to_exit():
        config = obj.config(required=False)
        configured = next((d for d in config.digests if d.name == name), None)
        now = utcnow()
        with obj.open_store(must_exist=True) as store:
            if since is None:
                start = now - timedelta(seconds=configured.since if configured else 86400)
            else:
                if since.strip().lower() == "last" and not name:
                    fail(
                        "--since last needs --name (the digest whose last run to start from)",
                        status=2,
                    )
                last = store.last_digest_run(name) if name else None
                start = parse_since(since, now=now, last_run=last)
            end = parse_since(until, now=now, last_run=None) if until else now
            built = build_digest(
                store,
                name=name,
                since=start,
                until=end,
                feeds=feeds or (configured.feeds if configured else ()),
                tags=tags or (configured.tags if configured else ()),
                query=query,
                group_by=group_by,  # type: ignore[arg-type]  # click checked the choice
                limit=limit,
            )
            chosen = fmt or (configured.format if configured else "md")
            recipients = mail_to or (configured.to if configured and not output else ())
            document = render(built, chosen)  # type: ignore[arg-type]  # a DIGEST_FORMATS value
            if output is not None or not recipients:
                with click.open_file(str(output or "-"), "w", encoding="utf-8") as out:
                    out.write(document)
            if recipients:
                password = os.environ.get(SMTP_PASSWORD_ENV)
                send_digest(built, smtp=config.settings.smtp, to=recipients, password=password)
                obj.stderr.print(
                    f"mailed {built.count} stories to {', '.join(recipients)}",
                    highlight=False,
                    soft_wrap=True,
                )
            if name:
                remember_run(store, built)


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on (0.0.0.0 in a container, to publish the port).",
)
@click.pass_obj
def serve(obj: Context, port: int, host: str) -> None:
    """Browse and search the archive in datasette, with our descriptions, facets and queries.

    Canned queries: ranked search with snippets, latest articles, articles per feed per day,
    duplicate clusters, feed health, an article's history. Safe while the daemon writes.

    \b
    Example:
      aggregator serve
      aggregator serve --port 8080 --host 0.0.0.0
    """
    from aggregator.serve import serve as run_datasette

    with _errors_to_exit():
        db_path = obj.db_path()
        obj.stderr.print(f"datasette on http://{host}:{port}/ (Ctrl-C stops it)", highlight=False)
        run_datasette(db_path, host=host, port=port)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``aggregator`` command."""
    fewer_arenas()
    cli.main(args=list(argv) if argv is not None else None, prog_name="aggregator")
