"""Make docs/datasette.png, README's picture of an archive in datasette.

Four made-up news feeds and their article pages (full of boilerplate, as real ones are) are
served on 127.0.0.1; ``aggregator poll`` archives them into a temporary folder, ``aggregator
serve`` runs datasette on it on a free loopback port, and Debian's chromium, driven by
playwright as in tests/test_serve.py, opens the articles table searched for a word and saves a
1280x800 screenshot. Nothing leaves 127.0.0.1: the browser resolves no other name, and a
request it makes for any other host is refused and fails the run.

    .venv/bin/python docs/screenshot.py [-o docs/datasette.png] [--query harbour]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, NamedTuple
from urllib.parse import urlsplit

from playwright.sync_api import Route, ViewportSize, sync_playwright

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.served import free_port, running_datasette  # noqa: E402
from tests.server import TestServer  # noqa: E402 (the repository's root is needed first)
from tests.site import article_page, rfc822, rss  # noqa: E402

LOOPBACK: Final = "127.0.0.1"
SIZE: Final[ViewportSize] = {"width": 1280, "height": 800}
COLUMNS: Final = ("title", "feed_id", "published", "lang", "tags", "summary")
"""The columns shown: the table's others (the text, links, extraction details) are wide."""


class Story(NamedTuple):
    slug: str
    title: str
    tag: str
    days_ago: int
    paragraphs: tuple[str, ...]


FEEDS: Final[dict[str, tuple[str, str, tuple[Story, ...]]]] = {
    "gazette": (
        "Harbour Gazette",
        "en",
        (
            Story(
                "bridge",
                "Harbour bridge reopens after winter repairs",
                "harbour",
                0,
                (
                    "The swing bridge over the inner harbour reopened to traffic on Thursday"
                    " morning, three weeks ahead of the schedule the council set in January.",
                    "Engineers replaced the bearings under the central span and repainted the"
                    " steelwork, which had not been touched since the bridge was widened in 1987.",
                    "Boats taller than four metres still need to book an opening with the"
                    " harbour master at least two hours in advance, the council said.",
                ),
            ),
            Story(
                "library",
                "Council approves budget for a new library wing",
                "council",
                1,
                (
                    "Councillors voted eleven to four on Tuesday evening to spend 2.4 million"
                    " on a new wing for the central library, facing the harbour.",
                    "The wing will hold a children's reading room, a local history archive and"
                    " six study rooms that residents can book without charge.",
                    "Building work is expected to start in the spring and take about a year,"
                    " during which the library stays open with shorter hours.",
                ),
            ),
            Story(
                "fleet",
                "Fishing fleet reports its best season in a decade",
                "harbour",
                3,
                (
                    "Boats landing at the harbour brought in more mackerel and crab this"
                    " autumn than in any season since 2015, the fishermen's cooperative said.",
                    "Skippers credit calmer weather in September and October, and the new"
                    " cold store on the quay, which lets them sell later in the week.",
                    "The cooperative plans to take on four apprentices next year, the first"
                    " new crew it has trained since the fish market moved in 2019.",
                ),
            ),
        ),
    ),
    "science": (
        "Valley Science Notes",
        "en",
        (
            Story(
                "birds",
                "Volunteers count 212 bird species at the estuary",
                "wildlife",
                2,
                (
                    "Forty volunteers spent the weekend on the salt marsh between the harbour"
                    " wall and the river mouth, and counted 212 species of birds.",
                    "The count is the highest since the survey began in 1998; spoonbills and"
                    " a pair of ospreys were recorded for the first time.",
                    "The results will be sent to the national atlas, and the survey team is"
                    " looking for volunteers for its winter count in January.",
                ),
            ),
            Story(
                "river",
                "Why the river ran brown after the storm",
                "rivers",
                4,
                (
                    "Readers asked why the river turned the colour of tea after last week's"
                    " storm. The answer is peat, washed down from the moors upstream.",
                    "Heavy rain on dry ground carries fine particles into the streams, which"
                    " reach the harbour within a day and settle over the following week.",
                    "The water company says drinking water is not affected: its intake is"
                    " above the town and it filters out the particles anyway.",
                ),
            ),
        ),
    ),
    "rail": (
        "Rail Weekly",
        "en",
        (
            Story(
                "night-train",
                "Night trains return to the coast line",
                "rail",
                1,
                (
                    "A sleeper service between the capital and the harbour town will run"
                    " three nights a week from March, the operator announced on Monday.",
                    "The train leaves at ten in the evening and arrives just after seven,"
                    " in time for the first ferries to the islands.",
                    "Tickets go on sale next month; a berth in a shared cabin will cost about"
                    " as much as a night in one of the town's guest houses.",
                ),
            ),
            Story(
                "platform",
                "Station platform extension finished early",
                "rail",
                5,
                (
                    "The longer platform at the harbour station is finished, a month early,"
                    " so eight-carriage trains can stop there from the December timetable.",
                    "Until now the last two carriages of longer trains stayed beyond the end"
                    " of the platform, and passengers had to walk through the train.",
                    "The work also added a second lift and a covered walkway to the bus"
                    " stops on the quay.",
                ),
            ),
        ),
    ),
    "port": (
        "Le Petit Port",
        "fr",
        (
            Story(
                "marche",
                "Le marché du port ouvre aussi le dimanche",
                "commerce",
                2,
                (
                    "Le marché couvert du port ouvrira désormais le dimanche matin, de huit"
                    " heures à midi, a annoncé la mairie mardi soir.",
                    "Les pêcheurs y vendront leur poisson directement, à côté des maraîchers"
                    " et des producteurs de fromage de la vallée.",
                    "L'essai durera six mois; la mairie demandera ensuite leur avis aux"
                    " habitants et aux commerçants du quartier.",
                ),
            ),
        ),
    ),
}


def build_site(server: TestServer) -> list[tuple[str, str, str]]:
    """Serve the feeds and their pages; their URLs, names and tags."""
    feeds = []
    for path, (name, lang, stories) in FEEDS.items():
        items = []
        for story in stories:
            html = article_page(story.title, list(story.paragraphs), lang=lang)
            url = server.add(f"/{path}/{story.slug}.html", body=html)
            items.append(
                {
                    "title": story.title,
                    "link": url,
                    "guid": url,
                    "category": story.tag,
                    "pubDate": rfc822(story.days_ago),
                    "description": story.paragraphs[0],
                }
            )
        feed = server.add(f"/{path}.xml", body=rss(name, items), content_type="application/rss+xml")
        feeds.append((feed, name, path))
    return feeds


def feeds_yaml(server: TestServer, feeds: list[tuple[str, str, str]]) -> str:
    entries = "".join(f"  - url: {url}\n    name: {name}\n" for url, name, _ in feeds)
    return (
        "settings:\n"
        f"  allowed_private_hosts: ['{server.host}']\n"
        "  per_host_delay: 0s\n"
        f"feeds:\n{entries}"
    )


def aggregator(*args: str) -> list[str]:
    """The command line of ``aggregator ARGS``, run by this Python."""
    return [sys.executable, "-m", "aggregator", *args]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """``aggregator serve`` on the folder's archive, until the block ends; its base URL."""
    port = free_port(LOOPBACK)
    argv = aggregator("serve", "--host", LOOPBACK, "--port", str(port))
    log = folder / "datasette.log"
    try:
        with running_datasette(
            argv, port, log, host=LOOPBACK, cwd=folder, env=clean_env(), wait=30, timeout=5
        ) as client:
            yield str(client.base_url).rstrip("/")
    except RuntimeError as exc:
        sys.exit(str(exc))


def screenshot(url: str, output: Path) -> None:
    """Open ``url`` in chromium and save the viewport; refuses every non-loopback request."""
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Debian's chromium is needed: apt-get install chromium")
    refused: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == LOOPBACK:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOOPBACK}"],
        )
        try:
            page = browser.new_page(viewport=SIZE, device_scale_factor=1)
            page.set_default_timeout(15_000)
            page.route("**/*", only_loopback)
            page.goto(url, wait_until="networkidle")
            # Past the notes on each column, to the search box, the facets and the rows.
            page.locator("h3").first.evaluate(
                "h3 => window.scrollTo(0, h3.getBoundingClientRect().top + window.scrollY - 16)"
            )
            page.screenshot(path=str(output))
        finally:
            browser.close()
    if refused:
        sys.exit("the page asked for hosts beyond 127.0.0.1: " + ", ".join(refused))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "datasette.png")
    parser.add_argument("--query", default="harbour", help="the search shown (default: harbour)")
    args = parser.parse_args(argv)
    with TestServer() as server, tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "feeds.yaml").write_text(feeds_yaml(server, build_site(server)), "utf-8")
        done = subprocess.run(
            aggregator("poll"),
            cwd=folder,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        print(done.stdout, end="")
        if done.returncode != 0:
            sys.exit(f"aggregator poll failed:\n{done.stderr}")
        with serving(folder) as base:
            columns = "".join(f"&_col={column}" for column in COLUMNS)
            screenshot(f"{base}/archive/articles?_search={args.query}{columns}", args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
