"""`reextract`, `export`, `digest` and `serve`: working on the whole archive."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from aggregator.cli._app import (
    Context,
    cli,
    echo_json,
    errors_to_exit,
    fail,
    feed_option,
    parse_when,
)
from aggregator.config import DIGEST_FORMATS, SMTP_PASSWORD_ENV
from aggregator.pipeline import utcnow
from aggregator.store import ArchiveLock, Store
from aggregator.workers import WorkerPool


@cli.command()
@feed_option("Only the articles this feed delivered (repeatable).")
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

    with errors_to_exit():
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
        echo_json(asdict(summary))
        return
    obj.say(
        f"re-extracted {summary.articles} articles: {summary.changed} changed,"
        f" {summary.failed} pages gave no text (those articles keep theirs)"
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
@feed_option("Only what this feed delivered (repeatable).")
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

    with errors_to_exit(), obj.open_store(must_exist=True) as store:
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
@feed_option("Only this feed.", dest="feeds")
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help="Only feeds or articles with this tag."
)
@click.option("--query", metavar="QUERY", help="A saved search: only the articles it matches.")
@click.option("--group-by", type=click.Choice(["feed", "tag"]), help="Group the stories.")
@click.option(
    "--problems",
    is_flag=True,
    help="End it with the feed-health report (aggregator status --problems). Default: the"
    " digest's.",
)
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
    problems: bool,
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
      aggregator digest --since 7d --problems --format html -o week.html
    """
    from aggregator.digest import build_digest, parse_since, remember_run, render, send_digest

    with errors_to_exit():
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
                problems=problems or (configured.problems if configured else False),
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

    with errors_to_exit():
        db_path = obj.db_path()
        obj.stderr.print(f"datasette on http://{host}:{port}/ (Ctrl-C stops it)", highlight=False)
        run_datasette(db_path, host=host, port=port)


@cli.command()
@click.option(
    "--seconds",
    type=click.FloatRange(1, 3600),
    default=60,
    show_default=True,
    help="The most time to spend merging the search index (the next run goes on).",
)
@click.option(
    "--integrity", is_flag=True, help="Also check the database and the search index (slow)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_obj
def maintain(obj: Context, seconds: float, integrity: bool, as_json: bool) -> None:
    """Housekeeping for an archive fed by `aggregator poll` (the daemon does it every 6 h).

    Merges the search index's segments (searches probe each one), refreshes the query
    planner's statistics and folds the write-ahead log back into the database. Exit 1 when
    --integrity finds a problem.

    \b
    Example:
      aggregator maintain                       # e.g. daily from cron, after a poll
      aggregator maintain --seconds 300 --integrity
    """
    with errors_to_exit():
        db_path = obj.db_path()
        if not db_path.exists():
            fail(f"no archive at {db_path}: run `aggregator poll` first (or pass --db)")
        with ArchiveLock(db_path), Store(db_path) as store:
            started = time.monotonic()
            merged = store.maintain(seconds=seconds)
            took = time.monotonic() - started
            problems = store.integrity_problems() if integrity else []
    if as_json:
        echo_json(
            {
                "index_merged": merged,
                "seconds": round(took, 3),
                "integrity_checked": integrity,
                "problems": problems,
            }
        )
    else:
        state = "merged" if merged else "partly merged (run it again to go on)"
        obj.say(f"search index {state} in {took:.1f} s")
        if integrity and not problems:
            obj.say("integrity: ok")
        for problem in problems:
            obj.stdout.print(f"[red]integrity:[/] {escape(problem)}", highlight=False)
    if problems:
        sys.exit(1)
