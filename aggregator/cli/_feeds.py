"""`init`, `add`, `remove`, `import-opml` and `export-opml`: the feeds you follow."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import click
from rich.markup import escape

from aggregator.cli._app import Context, cli, complete_feed, echo_json, errors_to_exit, fail
from aggregator.config import (
    Config,
    FeedConfig,
    Settings,
    SkippedFeed,
    add_feed,
    add_feeds,
    find_feed,
    format_duration,
    init_config,
    parse_duration,
    remove_feed,
    url_identity,
)
from aggregator.discover import FeedCandidate, discover
from aggregator.errors import ConfigError, FetchError, ParseError
from aggregator.fetch import Fetcher
from aggregator.models import FeedState
from aggregator.opml import Subscription, read_opml, write_opml
from aggregator.pipeline import utcnow
from aggregator.store import Store

_MAX_OPML_BYTES = 64 * 2**20
_SKIPS_SHOWN = 20


@cli.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@click.pass_obj
def init(obj: Context, path: Path | None, force: bool) -> None:
    """Write a commented feeds.yaml at PATH (default: --config, feeds.yaml): every setting
    with its default value and a line on what it does.

    \b
    Example:
      aggregator init
      aggregator init ~/news/feeds.yaml && cd ~/news
    """
    target = path or obj.config_path
    if target.exists() and not force:
        fail(f"{target} exists already; --force overwrites it", status=2)
    with errors_to_exit():
        init_config(target, overwrite=force)
    obj.say(f"wrote {escape(str(target))}: every setting, with its default")
    _note(obj, "next: aggregator add URL (a feed or a web page), then aggregator poll")


@cli.command()
@click.argument("url")
@click.option("--name", help="The feed's name (default: its own title).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="A tag (repeatable).")
@click.option(
    "--interval", metavar="DURATION", help='Poll it this often, like "15m" (default: settings).'
)
@click.option("--all", "add_all", is_flag=True, help="Add every feed the page offers.")
@click.option("--first", is_flag=True, help="Add the first feed the page offers.")
@click.option("--json", "as_json", is_flag=True, help="Print the added feeds as JSON.")
@click.pass_obj
def add(
    obj: Context,
    url: str,
    name: str | None,
    tags: tuple[str, ...],
    interval: str | None,
    add_all: bool,
    first: bool,
    as_json: bool,
) -> None:
    """Subscribe to URL: a feed, or a web page whose feeds are found for you.

    A page's feeds are those it links to (<link rel="alternate">), else those at common
    paths (/feed, /rss, /atom.xml...). When it offers several, you are asked which on a
    terminal; otherwise pass --first or --all. A feed already in feeds.yaml (same URL or
    name) is refused. Comments and layout of feeds.yaml are kept.

    \b
    Example:
      aggregator add https://example.org/feed.xml --tag news
      aggregator add https://example.org/ --first --name Example --interval 1h
    """
    if add_all and first:
        raise click.UsageError("--all and --first exclude each other")
    seconds = _interval(interval)
    if "://" not in url:
        url = "https://" + url
        _note(obj, f"taking it as {escape(url)}")
    with errors_to_exit():
        config = obj.config()
        wanted = FeedConfig(url=url, name=name, tags=tags, interval=seconds)
        _refuse_listed(obj, add_feeds(obj.config_path, [wanted], dry_run=True).skipped)
        _note(obj, f"looking for feeds at {escape(url)}")
        candidates = _discover(url, config.settings)
        chosen = _choose(url, candidates, add_all=add_all, first=first)
        if name is not None and len(chosen) > 1:
            raise click.UsageError("--name names one feed; leave it out with --all")
        feeds = [FeedConfig(url=c.url, name=name, tags=tags, interval=seconds) for c in chosen]
        if len(feeds) == 1:
            added = [add_feed(obj.config_path, feeds[0])]
        else:
            result = add_feeds(obj.config_path, feeds)
            _print_skipped(obj, result.skipped)
            if not result.added:
                fail("every one of those feeds is in feeds.yaml already", status=2)
            added = list(result.added)
    titles = {candidate.url: candidate for candidate in chosen}
    if as_json:
        echo_json([_feed_json(feed, titles[feed.url]) for feed in added])
        return
    for feed in added:
        candidate = titles[feed.url]
        title = f'"{escape(candidate.title)}" ' if candidate.title else ""
        obj.say(
            f"added {title}{escape(feed.url)} ({candidate.kind}) "
            f"to {escape(str(obj.config_path))}, line {feed.line}"
        )
    _note(obj, "next: aggregator poll (or a running `aggregator run` picks it up)")


@cli.command()
@click.argument("name_or_url", metavar="NAME_OR_URL", shell_complete=complete_feed)
@click.pass_obj
def remove(obj: Context, name_or_url: str) -> None:
    """Unsubscribe from a feed, by its name, URL or title. Its articles stay in the archive
    (search and digests still find them); it is no longer polled.

    \b
    Example:
      aggregator remove Example
      aggregator remove https://example.org/feed.xml
    """
    with errors_to_exit():
        config = obj.config()
        archived = _archived(obj, config)
        wanted = name_or_url
        if find_feed(config.feeds, wanted) is None:  # the feed's own title, as status shows it
            titled = [f.url for f in archived.values() if f.title == wanted.strip()]
            wanted = titled[0] if len(titled) == 1 else wanted
        feed = remove_feed(obj.config_path, wanted)
    state = archived.get(feed.url)
    label = feed.name or (state.title if state else None)
    title = f'"{escape(label)}" ' if label else ""
    kept = "nothing was archived from it"
    if state is not None and state.articles:
        kept = f"the archive keeps its {_count(state.articles, 'article')}"
    obj.say(f"removed {title}{escape(feed.url)} from {escape(str(obj.config_path))}; {kept}")


@cli.command("import-opml")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Say what would be added; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the added and skipped feeds as JSON.")
@click.pass_obj
def import_opml(obj: Context, file: IO[bytes], dry_run: bool, as_json: bool) -> None:
    """Add the feeds of an OPML subscription list (from Miniflux, FreshRSS, newsboat, Feedly...).

    Folders become tags. Feeds already in feeds.yaml are skipped, so importing the same file
    twice adds nothing. FILE may be - for standard input.

    \b
    Example:
      aggregator import-opml subscriptions.opml --dry-run
      aggregator import-opml subscriptions.opml
    """
    with errors_to_exit():
        data = file.read(_MAX_OPML_BYTES + 1)
        if len(data) > _MAX_OPML_BYTES:
            fail(f"{file.name} is larger than {_MAX_OPML_BYTES // 2**20} MiB", status=2)
        config = obj.config()
        try:
            subscriptions = read_opml(data)
        except ParseError as exc:
            fail(f"{file.name}: {exc}")
        feeds = _named(subscriptions, config)
        result = add_feeds(obj.config_path, feeds, dry_run=dry_run)
    if as_json:
        echo_json(
            {
                "dry_run": dry_run,
                "added": [_feed_json(feed) for feed in result.added],
                "skipped": [
                    {"url": s.feed.url, "reason": s.reason, "line": s.line} for s in result.skipped
                ],
            }
        )
        return
    _print_skipped(obj, result.skipped)
    verb = "would add" if dry_run else "added"
    where = f"to {escape(str(obj.config_path))}"
    skipped = f", skipped {len(result.skipped)}" if result.skipped else ""
    obj.say(f"{verb} {_count(len(result.added), 'feed')} {where}{skipped}")


@cli.command("export-opml")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
@click.pass_obj
def export_opml(obj: Context, output: Path | None) -> None:
    """Print the feeds of feeds.yaml as OPML 2.0, for another feed reader: names, tags as
    categories (and a folder for the first tag), and the site and title of each feed the
    archive knows.

    \b
    Example:
      aggregator export-opml -o subscriptions.opml
    """
    with errors_to_exit():
        config = obj.config()
        archived = _archived(obj, config)
    subscriptions = []
    for feed in config.feeds:
        state = archived.get(feed.url)
        subscriptions.append(
            Subscription(
                url=feed.url,
                title=feed.name or (state.title if state else None),
                site_url=state.site_url if state else None,
                tags=feed.tags,
            )
        )
    document = write_opml(subscriptions, created=utcnow())
    if output is None:
        click.echo(document, nl=False)
        return
    try:
        output.write_bytes(document)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    obj.say(f"wrote {_count(len(subscriptions), 'feed')} to {escape(str(output))}")


# --- Helpers ---------------------------------------------------------------------------------


def _interval(text: str | None) -> float | None:
    """The seconds of ``--interval`` (None when not given)."""
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ConfigError:
        seconds = 0.0
    if seconds <= 0:
        raise click.BadParameter(
            f'expected a duration longer than zero, like "15m" or "1h", got {text!r}',
            param_hint="--interval",
        )
    return seconds


def _discover(url: str, settings: Settings) -> list[FeedCandidate]:
    async def run() -> list[FeedCandidate]:
        async with Fetcher.from_settings(settings) as fetcher:
            return await discover(url, fetcher)

    try:
        return asyncio.run(run())
    except FetchError as exc:
        fail(f"cannot fetch {exc.url or url}: {exc}")


def _choose(
    url: str, candidates: list[FeedCandidate], *, add_all: bool, first: bool
) -> list[FeedCandidate]:
    """The candidates to add: the only one, all, the first, or those picked on a terminal."""
    if len(candidates) == 1 or first:
        return candidates[:1]
    if add_all:
        return candidates
    listing = "\n".join(
        f"  {number}. {_describe(candidate)}" for number, candidate in enumerate(candidates, 1)
    )
    click.echo(f"{url} offers {len(candidates)} feeds:\n{listing}", err=True)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail("which one? Add it by its URL, or pass --first or --all", status=2)
    picked: list[int] = click.prompt(
        "Add which (a number, or all)", type=_Pick(len(candidates)), default="1", err=True
    )
    return [candidates[index] for index in picked]


class _Pick(click.ParamType[list[int]]):
    """A number from 1 to ``count``, or "all": the indexes of the chosen candidates."""

    name = "pick"

    def __init__(self, count: int) -> None:
        self.count = count

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> list[int]:
        text = str(value).strip().lower()
        if text == "all":
            return list(range(self.count))
        if not (text.isdigit() and 1 <= int(text) <= self.count):
            self.fail(f"enter a number from 1 to {self.count}, or all", param, ctx)
        return [int(text) - 1]


def _describe(candidate: FeedCandidate) -> str:
    how = {
        "advertised": "advertised by the page",
        "linked": "found among the page's links",
        "guessed": "found at a common path",
    }
    title = candidate.title or "(no title)"
    return f"{title}  {candidate.url}  ({candidate.kind}, {how.get(candidate.source, 'a feed')})"


def _refuse_listed(obj: Context, skipped: tuple[SkippedFeed, ...]) -> None:
    """Stop, exit status 2, when the feed asked for is in feeds.yaml already."""
    if skipped:
        fail(f"{obj.config_path}: {skipped[0].reason}", status=2)


def _print_skipped(obj: Context, skipped: tuple[SkippedFeed, ...]) -> None:
    for skip in skipped[:_SKIPS_SHOWN]:
        _note(obj, f"skipped: {escape(skip.reason)}")
    if len(skipped) > _SKIPS_SHOWN:
        _note(obj, f"skipped {len(skipped) - _SKIPS_SHOWN:,} more")


def _named(subscriptions: list[Subscription], config: Config) -> list[FeedConfig]:
    """Feeds for the subscriptions, named after their titles; a title that names another
    feed already gets the feed's host added, and is left out if that is taken too (a feed
    listed already keeps its title: it is skipped anyway)."""
    taken = {feed.name.casefold() for feed in config.feeds if feed.name}
    listed = {url_identity(feed.url) for feed in config.feeds}
    feeds: list[FeedConfig] = []
    for subscription in subscriptions:
        name = subscription.title
        if name and name.casefold() in taken and url_identity(subscription.url) not in listed:
            name = f"{name} ({urlsplit(subscription.url).hostname or subscription.url})"
            name = None if name.casefold() in taken else name
        if name:
            taken.add(name.casefold())
        feeds.append(FeedConfig(url=subscription.url, name=name, tags=subscription.tags))
    return feeds


def _archived(obj: Context, config: Config) -> dict[str, FeedState]:
    """The archive's rows of the feeds, by URL (none when there is no archive yet)."""
    path = obj.db_path()
    if not path.exists():
        return {}
    with Store(path) as store:
        return {feed.url: feed for feed in store.feeds()}


def _feed_json(feed: FeedConfig, candidate: FeedCandidate | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": feed.url,
        "name": feed.name,
        "tags": list(feed.tags),
        "interval": format_duration(feed.interval) if feed.interval is not None else None,
        "line": feed.line,
    }
    if candidate is not None:
        data |= {"title": candidate.title, "kind": candidate.kind, "found": candidate.source}
    return data


def _note(obj: Context, text: str) -> None:
    """A line on standard error (rich markup) that is not a result: --quiet silences it."""
    obj.stderr.print(text, highlight=False, soft_wrap=True)


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
