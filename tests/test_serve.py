"""`aggregator serve`: datasette on a real archive, asked over HTTP (JSON and HTML) and in Chromium.

The archive is made by polling a small site on 127.0.0.1: a gazette of four stories (one of
them corrected later), a wire that carries one of them and nearly copies another, a French
feed, and feeds that fail, are gone, moved or say nothing. Datasette runs as a subprocess on
127.0.0.1, started the way the CLI starts it (``serve``, which execs it).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from aggregator.config import parse_config
from aggregator.errors import StoreError
from aggregator.serve import metadata, serve, serve_command
from aggregator.store import Store
from tests.served import free_port, running_datasette
from tests.server import TestServer
from tests.site import article_page, rfc822, rss, story
from tests.test_boilerplate import config_for, gazette, poll

CHROMIUM = shutil.which("chromium")
RSS = "application/rss+xml"
COPY = "Wire: harbour story"
FRENCH = "Le pont du port rouvre"
VISIBLE = {"articles", "feeds", "sightings", "revisions"}
HIDDEN = {"pages", "near_keys", "site_boilerplate", "daemon", "digest_runs"}


@dataclass(frozen=True)
class Archive:
    path: Path
    ids: dict[str, int]
    """Article ids by title."""
    urls: dict[str, str]
    """Feed URLs by path."""


@dataclass(frozen=True)
class Site:
    """A running datasette: a client for its JSON and HTML, and its address."""

    client: httpx.Client
    base: str
    db: str

    def rows(self, path: str, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(f"/{self.db}/{path}.json", params={**params, "_shape": "array"})
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        return rows


def build(server: TestServer, path: Path) -> Archive:
    """The archive of the module docstring, polled from ``server`` into ``path``."""
    url = server.url
    for n in range(1, 5):
        server.add(f"/news/{n}.html", body=article_page(f"Gazette story {n}", story(n)))
    server.add(
        "/wire/copy.html",
        body=article_page(COPY, [*story(1)[:4], "The wire adds a closing line of its own."]),
    )
    french = "Le pont du port a rouvert ce matin après des mois de travaux dans le quartier."
    server.add("/fr/1.html", body=article_page(FRENCH, [french] * 3, lang="fr"))
    tags = ["harbour", "council", "railway", "harbour"]
    stories = [
        {"title": f"Gazette story {n}", "link": url(f"/news/{n}.html"), "guid": f"g{n}",
         "category": tags[n - 1], "pubDate": rfc822(n)}
        for n in range(1, 5)
    ]  # fmt: skip
    wire = [
        {"title": "Gazette story 2", "link": url("/news/2.html"), "guid": "w2",
         "pubDate": rfc822(2)},
        {"title": COPY, "link": url("/wire/copy.html"), "guid": "w1", "pubDate": rfc822(0)},
    ]  # fmt: skip
    french_item = {"title": FRENCH, "link": url("/fr/1.html"), "guid": "f1", "pubDate": rfc822(1)}
    server.add("/gazette.xml", body=rss("Harbour Gazette", stories), content_type=RSS)
    server.add("/wire.xml", body=rss("Wire", wire), content_type=RSS)
    server.add("/fr.xml", body=rss("Le Port", [french_item]), content_type=RSS)
    server.add("/broken.xml", status=500, body="oops")
    server.add("/gone.xml", status=410, body="gone")
    server.add("/old.xml", status=301, headers={"location": "/moved.xml"})
    server.add("/moved.xml", body=rss("Moved", []), content_type=RSS)
    server.add("/quiet.xml", body=rss("Quiet", []), content_type=RSS)

    head = f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\nfeeds:\n"
    first = f"  - url: {url('/gazette.xml')}\n    name: Harbour Gazette\n"
    paths = ("/wire.xml", "/fr.xml", "/broken.xml", "/gone.xml", "/old.xml", "/quiet.xml")
    everything = parse_config(head + first + "".join(f"  - url: {url(p)}\n" for p in paths))
    with Store(path) as store:
        poll(parse_config(head + first), store)  # the gazette first: it owns story 2
        poll(everything, store)
        stories[2]["title"] = "Gazette story 3, corrected"
        server.add("/news/3.html", body=article_page(stories[2]["title"], story(33)))
        server.add("/gazette.xml", body=rss("Harbour Gazette", stories), content_type=RSS)
        poll(everything, store)
        ids = {r["title"]: r["id"] for r in store.query("SELECT id, title FROM articles")}
    return Archive(path=path, ids=ids, urls={p: url(p) for p in ("/gazette.xml", *paths)})


def serve_argv(db: Path, port: int) -> list[str]:
    """``aggregator serve`` in a process of its own (it execs datasette)."""
    return [sys.executable, "-m", "aggregator", "--db", str(db), "serve", "--port", str(port)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    with TestServer() as server:
        return build(server, tmp_path_factory.mktemp("serve") / "news.db")


@pytest.fixture(scope="module")
def site(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    port = free_port()
    log = tmp_path_factory.mktemp("datasette") / "datasette.log"
    with running_datasette(serve_argv(archive.path, port), port, log) as client:
        yield Site(client=client, base=f"http://127.0.0.1:{port}", db="news")


# --- the command and the metadata ---------------------------------------------------------------


def test_the_metadata_is_named_for_the_archive_and_describes_what_matters() -> None:
    meta = metadata(Path("somewhere/news.db"))
    assert meta["title"]
    assert meta["description"]
    (name,) = meta["databases"]
    assert name == "news"
    database = meta["databases"]["news"]
    tables = database["tables"]
    assert {t for t, spec in tables.items() if spec.get("hidden")} == HIDDEN
    for table in VISIBLE:
        assert tables[table]["description"]
    articles = tables["articles"]
    assert articles["fts_table"] == "articles_fts"
    assert "fts_pk" not in articles  # articles_fts keys on the rowid, which is articles.id
    assert articles["facets"] == ["feed_id", {"array": "tags"}, "lang"]
    assert articles["sort_desc"] == "published"
    described = set(articles["columns"])
    assert {"title", "content", "duplicate_of", "feed_id", "lang", "tags"} <= described
    assert set(database["queries"]) == {
        "search", "latest", "per_feed_per_day", "duplicates", "feed_health", "history"
    }  # fmt: skip
    for query in database["queries"].values():
        assert query["title"]
        assert query["description"]
        assert query["sql"].startswith(("select", "with"))


def test_the_command_serves_the_archive_mutable_with_our_metadata() -> None:
    argv = serve_command(Path("a/news.db"), metadata_file="/tmp/m.json", host="0.0.0.0", port=9)
    assert argv[:4] == [sys.executable, "-m", "datasette", "serve"]
    assert argv[4] == "a/news.db"
    assert argv[argv.index("--metadata") + 1] == "/tmp/m.json"
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--port") + 1] == "9"
    assert not {"-i", "--immutable", "--reload"} & set(argv)


def test_a_missing_archive_is_a_store_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "archive" / "archive.db"
    with pytest.raises(StoreError, match=f"there is no archive at {missing}"):
        serve(missing)
    assert not missing.parent.exists()


def test_a_file_that_is_not_an_archive_is_a_store_error(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("not a database, " * 100)
    with pytest.raises(StoreError, match="cannot open the archive"):
        serve(junk)


# --- tables -------------------------------------------------------------------------------------


def test_only_the_tables_people_read_are_listed(site: Site) -> None:
    tables = {t["name"]: t for t in site.client.get("/news.json").json()["tables"]}
    assert {name for name, t in tables.items() if not t["hidden"]} == VISIBLE
    assert HIDDEN | {"articles_fts", "articles_fts_data"} <= set(tables)
    html = site.client.get("/news").text
    for name in VISIBLE:
        assert f'href="/news/{name}"' in html
    for name in HIDDEN | {"articles_fts"}:
        assert f'href="/news/{name}"' not in html


def test_articles_come_newest_first_with_their_descriptions(site: Site, archive: Archive) -> None:
    rows = site.rows("articles")
    assert {r["title"] for r in rows} == set(archive.ids)
    published = [r["published"] for r in rows]
    assert published == sorted(published, reverse=True)
    assert rows[0]["title"] == COPY  # published last
    html = site.client.get("/news/articles").text
    assert "One row per story." in html
    assert 'data-column-description="The original this article nearly copies' in html


def test_the_articles_page_has_a_search_box_and_searches(site: Site, archive: Archive) -> None:
    html = site.client.get("/news/articles").text
    assert '<input id="_search" type="search" name="_search"' in html
    (hit,) = site.rows("articles", _search="pont")
    assert hit["title"] == FRENCH
    (hit,) = site.rows("articles", _search="corrected")
    assert hit["id"] == archive.ids["Gazette story 3, corrected"]
    assert site.rows("articles", _search='"unbalanced') == []  # typed text is escaped


def test_articles_are_faceted_by_feed_tag_and_language(site: Site) -> None:
    facets = site.client.get("/news/articles.json").json()["facet_results"]
    counts = {
        name: {item["label"]: item["count"] for item in facet["results"]}
        for name, facet in facets.items()
    }
    assert counts == {
        "feed_id": {"Harbour Gazette": 4, "Wire": 1, "Le Port": 1},
        "tags": {"harbour": 2, "council": 1, "railway": 1},
        "lang": {"en": 5, "fr": 1},
    }


# --- canned queries -----------------------------------------------------------------------------


def test_search_ranks_and_folds_near_copies_into_their_original(
    site: Site, archive: Archive
) -> None:
    (hit,) = site.rows("search", q="closing")  # only the wire's copy says it
    assert hit["id"] == archive.ids["Gazette story 1"]
    assert hit["near_copies"] == 1
    assert "**closing**" in hit["snippet"]
    assert hit["feed"] == "Harbour Gazette"

    hits = site.rows("search", q="harbour")
    assert archive.ids[COPY] not in [h["id"] for h in hits]
    assert hits[0]["id"] == archive.ids["Gazette story 1"]  # its copy has the word in its title
    assert [h["score"] for h in hits] == sorted(h["score"] for h in hits)
    assert [h["title"] for h in site.rows("search", q="pon*")] == [FRENCH]
    assert [h["title"] for h in site.rows("search", q='"pont du port" NOT harbour')] == [FRENCH]
    either = {h["title"] for h in site.rows("search", q="corrected OR pont")}
    assert either == {FRENCH, "Gazette story 3, corrected"}


def test_a_malformed_search_is_a_one_line_error_and_an_empty_one_finds_nothing(
    site: Site,
) -> None:
    assert site.rows("search", q=" ") == []
    response = site.client.get("/news/search.json", params={"q": '"unbalanced'})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error
    assert "\n" not in error
    assert "Traceback" not in error


def test_latest_articles_are_the_originals_newest_first(site: Site, archive: Archive) -> None:
    rows = site.rows("latest")
    assert {r["title"] for r in rows} == set(archive.ids) - {COPY}
    assert [r["published"] for r in rows] == sorted((r["published"] for r in rows), reverse=True)
    by_title = {r["title"]: r for r in rows}
    assert by_title["Gazette story 1"]["near_copies"] == 1
    assert by_title["Gazette story 1"]["tags"] == '["harbour"]'


def test_articles_per_feed_per_day(site: Site) -> None:
    rows = [(r["day"], r["feed"], r["articles"]) for r in site.rows("per_feed_per_day")]
    assert rows == [
        ("2026-11-20", "Wire", 1),
        ("2026-11-19", "Harbour Gazette", 1),
        ("2026-11-19", "Le Port", 1),
        ("2026-11-18", "Harbour Gazette", 1),
        ("2026-11-18", "Wire", 1),
        ("2026-11-17", "Harbour Gazette", 1),
        ("2026-11-16", "Harbour Gazette", 1),
    ]


def test_duplicate_clusters_show_the_original_its_copies_and_carriers(
    site: Site, archive: Archive
) -> None:
    carried, copied = site.rows("duplicates")
    assert carried["id"] == archive.ids["Gazette story 2"]  # one story, two feeds
    assert (carried["near_copies"], carried["sightings"]) == (None, 2)
    assert carried["feeds"] == "Harbour Gazette, Wire"
    assert copied["id"] == archive.ids["Gazette story 1"]
    assert copied["near_copies"].startswith(f"#{archive.ids[COPY]} (0.")
    assert (copied["sightings"], copied["feeds"]) == (2, "Harbour Gazette, Wire")


def test_feed_health_lists_the_feeds_that_need_attention(site: Site, archive: Archive) -> None:
    rows = site.rows("feed_health")
    assert [(r["health"], r["url"]) for r in rows] == [
        ("retired", archive.urls["/gone.xml"]),
        ("failing", archive.urls["/broken.xml"]),
        ("moved", archive.urls["/old.xml"]),
        ("silent", archive.urls["/quiet.xml"]),
    ]
    retired, failing, moved, silent = rows
    assert "410" in retired["last_error"]
    assert "500" in failing["last_error"]
    assert failing["error_count"] == 2
    assert failing["failing_since"] is not None
    assert silent["failing_since"] is None
    assert moved["moved_to"] == archive.urls["/old.xml"].replace("old", "moved")
    assert (silent["feed"], silent["last_article_at"]) == ("Quiet", None)


def test_an_articles_history_lists_every_version(site: Site, archive: Archive) -> None:
    first, current = site.rows("history", id=archive.ids["Gazette story 3, corrected"])
    assert (first["version"], first["title"], first["since"]) == (1, "Gazette story 3", None)
    assert first["content"].startswith("Story 3 paragraph 0")
    assert (current["version"], current["title"]) == (2, "Gazette story 3, corrected")
    assert (current["since"], current["until"]) == (first["until"], None)
    assert current["content"].startswith("Story 33 paragraph 0")
    assert site.rows("history", id=archive.ids["Gazette story 1"])[0]["version"] == 1
    assert site.rows("history", id=999) == []


# --- while the daemon writes; without our metadata ----------------------------------------------


def test_a_write_while_datasette_runs_shows_in_the_next_request(
    tmp_path: Path, server: TestServer
) -> None:
    db = tmp_path / "archive.db"
    config = config_for(server)
    gazette(server, range(1, 3))
    port = free_port()
    with Store(db) as store:
        poll(config, store)
        with running_datasette(serve_argv(db, port), port, tmp_path / "datasette.log") as client:
            (info,) = client.get("/-/databases.json").json()
            assert (info["name"], info["is_mutable"]) == ("archive", True)
            assert len(client.get("/archive/articles.json?_shape=array").json()) == 2
            gazette(server, range(1, 4))
            assert poll(config, store).new == 1
            assert store.query("PRAGMA journal_mode") == [{"journal_mode": "wal"}]
            assert db.with_name("archive.db-wal").stat().st_size > 0
            rows = client.get("/archive/articles.json?_shape=array").json()
            assert len(rows) == 3
            hits = client.get("/archive/search.json", params={"q": "story", "_shape": "array"})
            assert len(hits.json()) == 3


def test_plain_datasette_finds_the_search_index_by_itself(archive: Archive, tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "datasette", "serve", str(archive.path), "--port", str(port)]
    with running_datasette(argv, port, tmp_path / "datasette.log") as client:
        html = client.get("/news/articles").text
        assert '<input id="_search" type="search" name="_search"' in html
        hits = client.get("/news/articles.json", params={"_search": "pont", "_shape": "array"})
        assert [h["title"] for h in hits.json()] == [FRENCH]


# --- a person in a browser ----------------------------------------------------------------------


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)",
)
def test_a_person_searches_the_articles_in_chromium(site: Site, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            page.goto(f"{site.base}/news/articles")
            page.fill("#_search", "corrected")  # only story 3's new title says it
            page.press("#_search", "Enter")
            page.wait_for_url("**_search=corrected**")
            assert '1 row where search matches "corrected"' in page.inner_text("h3")
            rows = page.locator("table.rows-and-columns tbody tr")
            assert rows.count() == 1
            assert "Gazette story 3, corrected" in rows.first.inner_text()
            page.locator("h3").first.evaluate("e => e.scrollIntoView()")  # past the column notes
            screenshot = tmp_path / "articles-search.png"
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
