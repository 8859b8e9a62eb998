"""The feed-health report: sick feeds polled from a real local server into a real archive, then
`aggregator status --problems` (text and JSON); and the pure decisions behind it."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.errors import (
    AddressNotAllowed,
    AggregatorError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NotAFeedError,
    ParseError,
    ResponseTooLarge,
    StoreError,
    TooManyRedirects,
)
from aggregator.fetch import Fetcher
from aggregator.health import (
    SILENT_AFTER,
    FeedActivity,
    Mark,
    diagnose,
    failure_mark,
    poll_mark,
    usual_gap,
)
from aggregator.models import FeedState, FetchResult
from aggregator.pipeline import Pipeline, may_poll
from aggregator.store import Store
from tests.server import Request, Route, TestServer
from tests.site import rss

NOW = datetime.now(UTC).replace(microsecond=0)
"""`status --problems` reads the real clock: the polls happen in the hours before it."""
OLD_NEWS = datetime(2020, 1, 15, 8, 0, tzinfo=UTC)
ROUNDS = 4


def items(title: str, *dates: datetime, links: str | None = None) -> str:
    """An RSS feed with an entry per date (linking to ``links``-N.html when given)."""
    entries = []
    for n, date in enumerate(dates):
        entry = {"title": f"{title} {n}", "guid": f"urn:test:{title}-{n}"}
        entry["pubDate"] = format_datetime(date)
        if links:
            entry["link"] = f"{links}-{n}.html"
        entries.append(entry)
    return rss(title, entries)


def recent(title: str) -> str:
    return items(title, *(NOW - timedelta(days=d) for d in (1, 2, 3)))


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Sick:
    """An archive polled from feeds with every kind of problem, and its feeds.yaml."""

    server: TestServer
    config: Path
    db: Path

    def url(self, path: str) -> str:
        return self.server.url(path)

    def cli(self, *args: str) -> str:
        result = CliRunner().invoke(
            cli, ["--config", str(self.config), "--db", str(self.db), *args]
        )
        assert result.exit_code == 0, result.output
        return result.output


FEEDS = (
    "/fine.xml",
    "/missing.xml",
    "/page.html",
    "/old.xml",
    "/gone.xml",
    "/stubborn.xml",
    "/renewing.xml",
    "/old-news.xml",
    "/empty.xml",
    "/no-text.xml",
    "/dropped.xml",
)


def serve_sick_feeds(server: TestServer) -> None:
    rss_type = "application/rss+xml"
    server.add("/fine.xml", body=recent("Fine"), content_type=rss_type, etag='"fine"')
    # /missing.xml is not served: 404
    server.add("/page.html", body="<html><body><p>Just a page.</p></body></html>")
    server.add("/old.xml", status=301, headers={"location": "/new.xml"})
    server.add("/new.xml", body=recent("Moved"), content_type=rss_type, etag='"new"')
    server.add("/gone.xml", status=410, body="gone")
    stubborn = recent("Stubborn")  # the same ETag, but never a 304
    same_etag = Route(body=stubborn, headers={"etag": '"s"'}, content_type=rss_type)
    server.add("/stubborn.xml", Route(handler=lambda _: same_etag))
    renewing = recent("Renewing")
    versions = iter(range(1000))

    def new_etag(_: Request) -> Route:  # a new ETag with the same bytes, every time
        return Route(body=renewing, content_type=rss_type, etag=f'"r{next(versions)}"')

    server.add("/renewing.xml", Route(handler=new_etag))
    dates = (OLD_NEWS - timedelta(days=14), OLD_NEWS - timedelta(days=7), OLD_NEWS)
    server.add("/old-news.xml", body=items("Old", *dates), content_type=rss_type, etag='"o"')
    server.add("/empty.xml", body=rss("Empty", []), content_type=rss_type, etag='"e"')
    no_text = items("Paywalled", *(NOW - timedelta(days=d) for d in (1, 2, 3)), links="/x")
    server.add("/no-text.xml", body=no_text, content_type=rss_type, etag='"n"')  # pages 404
    server.add("/dropped.xml", body=recent("Dropped"), content_type=rss_type)


def config_text(server: TestServer, paths: tuple[str, ...]) -> str:
    feeds = "".join(f"  - url: {server.url(path)}\n" for path in paths)
    return (
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
        f"  timeout: 5s\nfeeds:\n{feeds}"
    )


def poll_rounds(config_path: Path, db: Path, start: datetime, rounds: int) -> None:
    """Poll every feed that may be polled, ``rounds`` times an hour apart (due or not)."""
    config = load_config(config_path)
    clock = Clock(start)

    async def go(store: Store) -> None:
        async with Fetcher.from_settings(config.settings) as fetcher:
            pipeline = Pipeline(
                config=config, store=store, fetcher=fetcher, clock=clock, rng=random.Random(1)
            )
            try:
                for _ in range(rounds):
                    feeds = store.feeds(active_only=True)
                    await pipeline.poll([f for f in feeds if may_poll(f, clock.now)])
                    clock.now += timedelta(hours=1)
            finally:
                pipeline.close()

    with Store(db) as store:
        store.sync_feeds(config.feeds, now=start)
        asyncio.run(go(store))


def make_sick_archive(server: TestServer, folder: Path) -> Sick:
    """Serve the sick feeds, poll them ``ROUNDS`` times into ``folder``/archive.db, then drop
    /dropped.xml from feeds.yaml (the archive still has it)."""
    serve_sick_feeds(server)
    config, db = folder / "feeds.yaml", folder / "archive.db"
    config.write_text(config_text(server, FEEDS))
    poll_rounds(config, db, NOW - timedelta(hours=ROUNDS + 1), ROUNDS)
    config.write_text(config_text(server, FEEDS[:-1]))
    return Sick(server, config, db)


@pytest.fixture(scope="module")
def sick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sick]:
    with TestServer() as server:
        yield make_sick_archive(server, tmp_path_factory.mktemp("sick"))


def by_url(sick: Sick) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for problem in json.loads(sick.cli("status", "--problems", "--json")):
        found.setdefault(problem["url"], []).append(problem)
    return found


def test_the_pipeline_keeps_how_each_recent_poll_went(sick: Sick) -> None:
    with Store(sick.db) as store:
        marks = {feed.url: feed.recent_polls for feed in store.feeds()}
    assert marks == {
        sick.url("/fine.xml"): "c333",
        sick.url("/missing.xml"): "hhhh",
        sick.url("/page.html"): "pppp",
        sick.url("/old.xml"): "c333",
        sick.url("/gone.xml"): "h",  # then retired: not polled again
        sick.url("/stubborn.xml"): "ciii",
        sick.url("/renewing.xml"): "crrr",
        sick.url("/old-news.xml"): "c333",
        sick.url("/empty.xml"): "c333",
        sick.url("/no-text.xml"): "c333",
        sick.url("/dropped.xml"): "cnnn",  # no validators at all (and not a problem: dropped)
    }


def test_status_problems_json_names_each_problem_with_what_to_do(sick: Sick) -> None:
    found = by_url(sick)
    kinds = {url.rsplit("/", 1)[1]: [p["kind"] for p in ps] for url, ps in found.items()}
    assert kinds == {
        "missing.xml": ["failing"],
        "page.html": ["failing"],
        "gone.xml": ["retired"],
        "old.xml": ["moved"],
        "old-news.xml": ["silent"],
        "empty.xml": ["silent"],
        "stubborn.xml": ["validators"],
        "renewing.xml": ["validators"],
        "no-text.xml": ["no-text"],
        "dropped.xml": ["unlisted"],
    }
    start = NOW - timedelta(hours=ROUNDS + 1)
    (missing,) = found[sick.url("/missing.xml")]
    assert missing["detail"].startswith("HTTP 404 Not Found (4 failed polls in a row, since ")
    assert missing["since"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "not at this address any more" in missing["advice"]
    assert missing["command"] == f"aggregator remove {sick.url('/missing.xml')}"
    (page,) = found[sick.url("/page.html")]
    assert "no longer gives a feed" in page["advice"]
    (gone,) = found[sick.url("/gone.xml")]
    assert gone["detail"].startswith("answered 410 Gone on ")
    assert gone["command"] == f"aggregator revive {sick.url('/gone.xml')}"
    (moved,) = found[sick.url("/old.xml")]
    assert moved["detail"].startswith(f"moved permanently to {sick.url('/new.xml')}")
    assert moved["command"] == "aggregator poll --update-config"
    (old,) = found[sick.url("/old-news.xml")]
    assert old["since"] == "2020-01-15T08:00:00Z"
    assert "it used to bring one about every 7 days" in old["detail"]
    (empty,) = found[sick.url("/empty.xml")]
    assert empty["detail"] == "polled fine, but it has never had an entry"
    (stubborn,) = found[sick.url("/stubborn.xml")]
    assert stubborn["detail"] == (
        "the server ignores our conditional requests (If-None-Match, If-Modified-Since):"
        " 3 of its last 4 polls downloaded the whole feed unchanged"
    )
    assert "recognised by its hash and not parsed again" in stubborn["advice"]
    (renewing,) = found[sick.url("/renewing.xml")]
    assert "a new ETag or Last-Modified with the same feed" in renewing["detail"]
    (no_text,) = found[sick.url("/no-text.xml")]
    assert no_text["detail"].startswith("3 of its last 3 articles got no text from their page")
    assert "404" in no_text["detail"]
    (dropped,) = found[sick.url("/dropped.xml")]
    assert (
        dropped["detail"]
        == "no longer in feeds.yaml: not polled; its 3 articles stay in the archive"
    )


def test_status_problems_prints_them_by_kind(sick: Sick) -> None:
    output = sick.cli("status", "--problems")
    text = " ".join(output.split())  # wrapped at the console's width
    headings = [
        "Failing (2)",
        "Retired (410 Gone) (1)",
        "Moved (1)",
        "Silent (2)",
        "Validators that do not help (2)",
        "Pages without text (1)",
        "Not in feeds.yaml (1)",
    ]
    assert [line for line in output.splitlines() if line and not line[0].isspace()][:-1] == headings
    assert "→ If the feed is back, poll it again: `aggregator revive" in text
    assert f"Paywalled {sick.url('/no-text.xml')}" in text
    assert text.endswith("10 feeds need attention (of 11).")
    assert "\x1b[" not in output  # no colour off a terminal

    plain = sick.cli("status")
    assert "10 feeds need attention (2 failing, 1 retired, 1 moved, 2 silent" in " ".join(
        plain.split()
    )
    rows = json.loads(sick.cli("status", "--json"))
    assert {row["url"]: row["problems"] for row in rows}[sick.url("/fine.xml")] == []


def test_a_retired_feed_revived_as_advised_is_healthy_again(
    server: TestServer, tmp_path: Path
) -> None:
    server.add("/gone.xml", status=410)
    config, db = tmp_path / "feeds.yaml", tmp_path / "archive.db"
    config.write_text(config_text(server, ("/gone.xml",)))
    poll_rounds(config, db, NOW - timedelta(hours=1), 1)
    archive = Sick(server, config, db)
    (retired,) = json.loads(archive.cli("status", "--problems", "--json"))
    assert retired["command"] == f"aggregator revive {server.url('/gone.xml')}"

    assert archive.cli("--quiet", "revive", server.url("/gone.xml")) == ""
    assert archive.cli("status", "--problems").strip() == "The feed is healthy."
    assert json.loads(archive.cli("status", "--problems", "--json")) == []
    server.add("/gone.xml", body=recent("Back"), content_type="application/rss+xml")
    server.add("/fine.xml", body=recent("Fine"), content_type="application/rss+xml")
    config.write_text(config_text(server, ("/gone.xml", "/fine.xml")))
    poll_rounds(config, db, NOW - timedelta(minutes=30), 1)
    assert archive.cli("status", "--problems").strip() == "All 2 feeds are healthy."


# --- the pure decisions -------------------------------------------------------------------------

T = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def state(**changes: Any) -> FeedState:
    base = FeedState(
        id=1,
        url="https://example.org/feed.xml",
        name="Example",
        title=None,
        site_url="https://example.org/",
        tags=(),
        etag=None,
        last_modified=None,
        last_polled_at=T,
        next_poll_at=None,
        last_status=200,
        last_error=None,
        error_count=0,
        disabled_reason=None,
        last_success_at=T,
    )
    return replace(base, **changes)


def fetched(
    status: int = 200, etag: str | None = None, last_modified: str | None = None
) -> FetchResult:
    return FetchResult(
        url="u", final_url="u", status=status, etag=etag, last_modified=last_modified, fetched_at=T
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "answer", "same_body", "mark"),
    [
        ({"etag": '"a"'}, fetched(304), True, Mark.NOT_MODIFIED),
        ({"etag": '"a"'}, fetched(etag='"b"'), False, Mark.CHANGED),
        ({}, fetched(), True, Mark.NO_VALIDATORS),
        ({"etag": '"a"'}, fetched(etag='"a"'), True, Mark.IGNORED),
        ({"last_modified": "Mon"}, fetched(last_modified="Mon"), True, Mark.IGNORED),
        ({"etag": '"a"'}, fetched(), True, Mark.IGNORED),  # it dropped its validators
        ({"etag": '"a"'}, fetched(etag='"a"', last_modified="Tue"), True, Mark.IGNORED),
        ({"etag": '"a"'}, fetched(etag='"b"'), True, Mark.RENEWED),
        ({"last_modified": "Mon"}, fetched(last_modified="Tue"), True, Mark.RENEWED),
    ],
)
def test_poll_marks(sent: dict[str, str], answer: FetchResult, same_body: bool, mark: Mark) -> None:
    assert poll_mark(state(**sent), answer, same_body=same_body) == mark


@pytest.mark.parametrize(
    ("error", "mark"),
    [
        (HTTPStatusError("HTTP 404", status=404), Mark.HTTP_ERROR),
        (FetchTimeout("timed out after 30 s"), Mark.TIMEOUT),
        (FetchError("name not resolved: x.invalid"), Mark.NETWORK),
        (AddressNotAllowed("a private address"), Mark.ADDRESS_REFUSED),
        (ResponseTooLarge("too large"), Mark.TOO_LARGE),
        (TooManyRedirects("a loop"), Mark.REDIRECTS),
        (NotAFeedError("not a feed"), Mark.NOT_A_FEED),
        (ParseError("unreadable"), Mark.NOT_A_FEED),
        (StoreError("disk full"), Mark.OTHER),
        (AggregatorError("internal error"), Mark.OTHER),
    ],
)
def test_failure_marks(error: AggregatorError, mark: Mark) -> None:
    assert failure_mark(error) == mark


def test_usual_gap_is_the_median_between_arrivals() -> None:
    assert usual_gap([]) is None
    assert usual_gap([T, T + timedelta(seconds=30)]) is None  # one arrival
    days = [T - timedelta(days=d) for d in (0, 1, 2, 10)]
    assert usual_gap([*days, T + timedelta(seconds=5)]) == 86400


def kinds(feed: FeedState, activity: FeedActivity | None = None, now: datetime = T) -> list[str]:
    return [p.kind for p in diagnose([feed], {feed.id: activity} if activity else {}, now=now)]


def test_silent_after_four_usual_gaps_and_at_least_thirty_days() -> None:
    weekly = FeedActivity(entry_times=tuple(T - timedelta(days=7 * n) for n in range(5)))
    assert kinds(state(), weekly, T + timedelta(days=28)) == []
    assert kinds(state(), weekly, T + timedelta(days=30, minutes=1)) == ["silent"]
    monthly = FeedActivity(entry_times=tuple(T - timedelta(days=30 * n) for n in range(5)))
    assert kinds(state(), monthly, T + timedelta(days=119)) == []
    assert kinds(state(), monthly, T + timedelta(days=121)) == ["silent"]
    one = FeedActivity(entry_times=(T,))
    assert kinds(state(), one, T + timedelta(seconds=SILENT_AFTER + 1)) == ["silent"]
    assert kinds(state()) == ["silent"]  # polled fine, never an entry
    assert kinds(state(last_success_at=None, last_polled_at=None)) == []  # not polled yet


@pytest.mark.parametrize(
    ("polls", "problem"),
    [
        ("cii", False),  # two are not enough
        ("ciii", True),
        ("c3i3i3i3", False),  # not most of the unchanged polls
        ("c33iiii", True),
        ("crrcrrcr", True),  # the changed polls do not count
        ("cnnhn", True),  # nor the failed ones
        ("cccccc", False),
    ],
)
def test_validators_that_do_not_help(polls: str, problem: bool) -> None:
    assert ("validators" in kinds(state(recent_polls=polls))) is problem


def test_a_feed_has_the_problems_its_state_allows() -> None:
    old = FeedActivity(entry_times=(T - timedelta(days=400),))
    failing = state(error_count=2, last_error="HTTP 500", last_status=500, recent_polls="ciiihh")
    assert kinds(failing, old) == ["failing"]  # neither silent nor judged on its validators
    retired = state(disabled_reason="410 Gone", error_count=1, fetch_url="https://x.example/")
    assert kinds(retired, old) == ["retired"]
    assert kinds(state(active=False, error_count=3), old) == ["unlisted"]
    assert kinds(state(active=False), old, T + timedelta(days=31)) == []  # long gone
    assert kinds(state(active=False, last_polled_at=None)) == []  # never polled
    moved = state(fetch_url="https://new.example/feed", recent_polls="ciii")
    assert kinds(moved, old) == ["moved", "silent", "validators"]
    listed = diagnose([state()], {}, now=T, listed={"https://elsewhere.example/"})
    assert [p.kind for p in listed] == ["unlisted"]  # feeds.yaml says, when given


@pytest.mark.parametrize(
    ("status", "polls", "advice", "command"),
    [
        (404, "hh", "not at this address any more", "aggregator remove"),
        (403, "h", "needs a login, or the site blocks our client", None),
        (429, "h", "come less often", None),
        (502, "h", "fails on its side", None),
        (None, "cttxt", "(3 of the last 5 polls timed out)", None),
        (None, "d", "its name no longer resolves", None),
        (
            None,
            "p",
            "`aggregator add https://example.org/` finds its feed again",
            "aggregator remove",
        ),
        (None, "a", "allowed_private_hosts", None),
        (None, "l", "max_bytes", None),
        (None, "o", "redirects loop", None),
        (None, "", "on our side", None),  # failures from before marks were kept
        (410 + 8, "", "Open the address in a browser", None),
    ],
)
def test_the_advice_follows_the_failure(
    status: int | None, polls: str, advice: str, command: str | None
) -> None:
    feed = state(error_count=1, last_error="x", last_status=status, recent_polls=polls)
    (problem,) = diagnose([feed], {}, now=T)
    assert advice in problem.advice
    assert (problem.command or "").startswith(command or "")
    assert (problem.command is None) is (command is None)


def test_pages_without_text_are_a_problem_when_most_recent_ones_are() -> None:
    def no_text(failed: int, of: int) -> list[str]:
        activity = FeedActivity(
            entry_times=(T,), articles=of, pages_without_text=failed, last_page_error="HTTP 403"
        )
        return kinds(state(), activity)

    assert no_text(2, 2) == []
    assert no_text(3, 6) == []
    assert no_text(4, 6) == ["no-text"]
