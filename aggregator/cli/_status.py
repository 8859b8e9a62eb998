"""`status`, `revive` and `boilerplate`: how the feeds are doing."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aggregator.cli._app import (
    Context,
    ago,
    cli,
    complete_feed,
    echo_json,
    errors_to_exit,
    fail,
)
from aggregator.config import parse_duration
from aggregator.errors import ConfigError
from aggregator.health import KINDS, Kind, Problem, diagnose, grouped, problem_json
from aggregator.models import FeedState
from aggregator.pipeline import utcnow
from aggregator.store import Store

#: The colour of each kind of problem's heading.
_COLOURS: dict[Kind, str] = {
    "failing": "red",
    "retired": "red",
    "moved": "yellow",
    "silent": "yellow",
    "validators": "cyan",
    "no-text": "cyan",
    "unlisted": "cyan",
}


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
        fail(f"the daemon (pid {state['pid']}) stopped {ago(state['stopped_at'], now)}", status=1)
    last = state["last_tick_at"] or state["started_at"]
    age = (now - last).total_seconds()
    if age > max_age:
        fail(f"the daemon (pid {state['pid']}) last polled {ago(last, now)}", status=1)
    obj.stdout.print(f"ok: the daemon (pid {state['pid']}) polled {ago(last, now)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option(
    "--problems",
    is_flag=True,
    help="Only the feeds that need attention, by problem, each with what to do.",
)
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
def status(obj: Context, as_json: bool, problems: bool, check: bool, max_age: str) -> None:
    """One row per feed: state, last and next poll (and why), HTTP status, articles, errors.

    "text from page" counts the articles whose text came from their page (not the feed), and
    how many times longer that text is than the feed's own, on average; feeds whose pages
    gave no text are listed below the table, with the last reason.

    --problems is the feed-health report: the feeds that fail (since when, how often, the
    last error), moved permanently, are retired (410 Gone), went silent (no new entry for
    four times their usual gap, and at least 30 days), whose servers make conditional
    requests useless (a 200 with the same feed although we sent its ETag or Last-Modified),
    whose pages give no text, or that feeds.yaml no longer lists; each with what to do.
    It is a report: the exit status is 0 whatever it finds.

    \b
    Example:
      aggregator status
      aggregator status --problems
      aggregator status --json | jq '.[] | select(.error_count > 0)'
      aggregator status --check        # the Docker HEALTHCHECK
    """
    with errors_to_exit(), obj.open_store(must_exist=True) as store:
        if check:
            _check_daemon(obj, store, parse_duration(max_age))
            return
        feeds = store.feeds()
        activity = store.feed_activity()
        if not problems:
            extraction = store.extraction_stats()
            learned = store.learned_boilerplate()
    now = utcnow()
    found = diagnose(feeds, activity, now=now, listed=_listed(obj))
    if problems:
        if as_json:
            echo_json([problem_json(p) for p in found])
        else:
            _print_problems(obj.stdout, found, feeds)
        return
    kinds: dict[int, list[str]] = {}
    for problem in found:
        kinds.setdefault(problem.feed_id, []).append(problem.kind)
    if as_json:
        echo_json(
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
                    "problems": kinds.get(f.id, []),
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
            # The reason's first words ("every 1d"); its why is in --json and the docs.
            reason = (f.next_poll_reason or "interval").split(" (", 1)[0]
            next_poll = f"{ago(f.next_poll_at, now)} ({reason})"
        table.add_row(
            escape(f.label),
            f"[{colour}]{escape(state)}[/]",
            ago(f.last_polled_at, now),
            escape(next_poll),
            str(f.last_status or "-"),
            str(f.articles),
            _text_from_page(extraction.get(f.id)),
            str(f.error_count),
            escape(f.last_error or ""),
        )
    obj.stdout.print(table)
    _print_extraction_problems(obj.stdout, feeds, extraction)
    if learned:
        sites = len({row["site"] for row in learned})
        obj.stdout.print(
            f"learned boilerplate: {len(learned)} lines on {sites} sites"
            " (see them with: aggregator boilerplate)",
            highlight=False,
        )
    if found:
        counts = ", ".join(f"{len(members)} {kind}" for kind, members in grouped(found))
        obj.stdout.print(
            f"[yellow]{_need_attention(len(kinds))}[/] ({counts}):"
            " see aggregator status --problems",
            highlight=False,
        )


def _need_attention(count: int) -> str:
    return "1 feed needs attention" if count == 1 else f"{count} feeds need attention"


def _listed(obj: Context) -> set[str] | None:
    """The URLs feeds.yaml lists; None when it is missing or unreadable (the archive's own
    record of the last poll's feeds.yaml then says which feeds it lists)."""
    if not obj.config_path.exists():
        return None
    try:
        return {feed.url for feed in obj.config().feeds}
    except ConfigError:
        return None


def _print_problems(console: Console, found: Sequence[Problem], feeds: Sequence[FeedState]) -> None:
    """The health report: a heading per kind of problem, then each feed with what is wrong,
    what to do and the command that does it (when there is one), wrapped under it."""
    if not feeds:
        console.print("No feeds in the archive yet: run aggregator poll.", highlight=False)
        return
    if not found:
        every = "The feed is" if len(feeds) == 1 else f"All {len(feeds)} feeds are"
        console.print(f"[green]{every} healthy.[/]", highlight=False)
        return
    wrap = textwrap.TextWrapper(
        max(40, console.width),
        subsequent_indent="    ",
        break_long_words=False,  # URLs and commands stay whole
        break_on_hyphens=False,
    )
    for kind, members in grouped(found):
        colour = _COLOURS[kind]
        console.print(f"[bold {colour}]{KINDS[kind]}[/] ({len(members)})", highlight=False)
        for problem in members:
            where = f"  [dim]{escape(problem.url)}[/]" if problem.url != problem.feed else ""
            console.print(
                f"  [bold]{escape(problem.feed)}[/]{where}", highlight=False, soft_wrap=True
            )
            detail = wrap.wrap("    " + problem.detail)
            first, *rest = wrap.wrap("  → " + problem.advice)
            lines = [*map(escape, detail), f"  [{colour}]→[/] {escape(first[4:])}"]
            if problem.command and problem.command not in problem.advice:
                rest.append(f"    {problem.command}")
            for line in [*lines, *map(escape, rest)]:
                console.print(line, highlight=False, soft_wrap=True)
        console.print()
    affected = len({p.feed_id for p in found})
    console.print(f"{_need_attention(affected)} (of {len(feeds)}).", highlight=False)


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
            f"[yellow]extraction:[/] {escape(f.label)}: {failed}"
            f" page{'s' if failed != 1 else ''} gave no text"
            f" (last: {escape(stats['last_error'] or 'unknown')})",
            highlight=False,
        )


@cli.command()
@click.argument("feed", metavar="NAME_OR_URL", shell_complete=complete_feed)
@click.pass_obj
def revive(obj: Context, feed: str) -> None:
    """Poll a retired feed (one that answered 410 Gone) again, from the next poll on.

    \b
    Example:
      aggregator revive https://example.org/feed.xml
    """
    with errors_to_exit(), obj.open_store(must_exist=True) as store:
        matches = [f for f in store.feeds() if feed in (f.url, f.name, f.title)]
        if not matches:
            fail(f"no feed named or at {feed!r} in the archive", status=2)
        for match in matches:
            store.revive(match.id)
            obj.say(f"revived: {escape(match.label)} is polled at the next poll")


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
    with errors_to_exit(), obj.open_store(must_exist=True) as store:
        if forget:
            assert site is not None
            forgotten = store.forget_boilerplate(site)
            obj.stdout.print(f"forgot {forgotten} learned lines of {escape(site)}")
            return
        rows = store.learned_boilerplate(site)
    if as_json:
        echo_json(rows)
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
