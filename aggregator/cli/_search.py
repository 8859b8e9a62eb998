"""`search` and `history`: reading the archive."""

from __future__ import annotations

import difflib
import itertools

import click
from rich.markup import escape
from rich.table import Table

from aggregator.cli._app import Context, cli, echo_json, errors_to_exit, feed_option, parse_when
from aggregator.models import ArticleVersion
from aggregator.pipeline import utcnow
from aggregator.search import search as run_search
from aggregator.search import split_snippet


@cli.command()
@click.argument("query")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(1, 10_000))
@feed_option("Only articles delivered by this feed.", dest="feed", multiple=False)
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
    with errors_to_exit(), obj.open_store(must_exist=True) as store:
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
        echo_json(
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
    table = Table(show_edge=False, show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("article", ratio=1, overflow="fold")
    table.add_column("feed", max_width=24, overflow="fold")
    table.add_column("date", no_wrap=True)
    for hit in hits:
        notes = []
        if hit.feeds > 1:
            notes.append(f"in {hit.feeds} feeds")
        if hit.copies:
            notes.append(f"{hit.copies} near-cop{'y' if hit.copies == 1 else 'ies'}")
        if hit.duplicate_of:
            notes.append(f"near-copy of #{hit.duplicate_of}")
        snippet = "".join(
            f"[bold yellow]{escape(text)}[/]" if match else escape(text)
            for text, match in split_snippet(hit.snippet.replace("\n", " "))
        )
        cell = [f"[bold]{escape(hit.title or '(untitled)')}[/]"]
        if hit.url:
            cell.append(f"[blue]{escape(hit.url)}[/]")
        cell.append(snippet)
        if notes:
            cell.append(f"[dim]{' · '.join(notes)}[/]")
        table.add_row(
            str(hit.article_id),
            "\n".join(cell),
            escape(hit.feed or ""),
            hit.published.strftime("%Y-%m-%d") if hit.published else "undated",
        )
    obj.stdout.print(table)


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
    with errors_to_exit(), obj.open_store(must_exist=True) as store:
        versions = store.history(article_id)
    if as_json:
        echo_json(
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
