"""Subscriptions: editing feeds.yaml in place, feed discovery, OPML, and the commands on them."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator.cli import _feeds as feeds_cli
from aggregator.cli import cli
from aggregator.config import (
    DEFAULT_CONFIG_TEXT,
    FeedConfig,
    Settings,
    SmtpSettings,
    add_feed,
    add_feeds,
    init_config,
    load_config,
    parse_config,
    remove_feed,
    rewrite_feed_url,
)
from aggregator.config import _edit as config_edit
from aggregator.discover import COMMON_PATHS, MAX_CHECKED_LINKS, FeedCandidate, discover
from aggregator.errors import (
    AddressNotAllowed,
    ConfigError,
    HTTPStatusError,
    NotAFeedError,
    ParseError,
)
from aggregator.fetch import Fetcher
from aggregator.opml import Subscription, read_opml, write_opml
from tests.server import TestServer

ROOT = Path(__file__).resolve().parent.parent
FIRST_LINE = DEFAULT_CONFIG_TEXT.count("\n") + 1
"""The line of the first feed added to the starter file."""
NEW = FeedConfig(url="https://new.example/feed.xml", name="New", tags=("t",), interval=900)
NEW_BLOCK = (
    "  - url: https://new.example/feed.xml\n    name: New\n    tags: [t]\n    interval: 15m\n"
)


def rss(title: str, link: str = "https://site.example/") -> str:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>{link}</link><item><title>One</title><guid>one</guid></item></channel></rss>"
    )


def atom(title: str) -> str:
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title><id>urn:x</id>'
        "<updated>2026-01-01T00:00:00Z</updated></feed>"
    )


def json_feed(title: str) -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": []})


def page(*links: str, base: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>A page</title>{base}{''.join(links)}"
        "<script>document.write('<link rel=alternate type=application/rss+xml href=/no>')</script>"
        "</head><body><p>Hello</p></body></html>"
    )


# --- Editing feeds.yaml -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "edited"),
    [
        pytest.param("", "feeds:\n" + NEW_BLOCK, id="empty file"),
        pytest.param("# mine\n", "# mine\n\nfeeds:\n" + NEW_BLOCK, id="comments only"),
        pytest.param(
            "settings:\n  interval: 1h  # hourly\n",
            "settings:\n  interval: 1h  # hourly\n\nfeeds:\n" + NEW_BLOCK,
            id="no feeds key",
        ),
        pytest.param(
            "feeds:\n  # - url: https://x.example/\n\ndigests: []\n",
            "feeds:\n  # - url: https://x.example/\n" + NEW_BLOCK + "\ndigests: []\n",
            id="feeds: with commented examples",
        ),
        pytest.param("feeds: ~  \n# end\n", "feeds:\n" + NEW_BLOCK + "# end\n", id="feeds: ~"),
        pytest.param("feeds: []  # none yet\n", "feeds:  # none yet\n" + NEW_BLOCK, id="feeds: []"),
        pytest.param(
            "feeds:\n- url: https://a.example/\n  name: A\n# settings next\nsettings: {}\n",
            "feeds:\n- url: https://a.example/\n  name: A\n"
            + NEW_BLOCK.replace("    ", "  ").replace("  - ", "- ")
            + "# settings next\nsettings: {}\n",
            id="indent 0",
        ),
        pytest.param(
            "feeds:\n  - url: https://a.example/  # a\n    tags: [x]\n    # interval: 1h\n"
            "\n  # - url: https://gone.example/\nsettings: {}\n",
            "feeds:\n  - url: https://a.example/  # a\n    tags: [x]\n    # interval: 1h\n"
            + NEW_BLOCK
            + "\n  # - url: https://gone.example/\nsettings: {}\n",
            id="indent 2 with comments",
        ),
        pytest.param(
            "feeds:\n    -   url: https://a.example/\n        name: A\n",
            "feeds:\n    -   url: https://a.example/\n        name: A\n"
            "    -   url: https://new.example/feed.xml\n        name: New\n"
            "        tags: [t]\n        interval: 15m\n",
            id="wide indent",
        ),
        pytest.param(
            "feeds:\n  -\n    url: https://a.example/\n",
            "feeds:\n  -\n    url: https://a.example/\n" + NEW_BLOCK,
            id="dash on its own line",
        ),
        pytest.param(
            "feeds:\n  - {url: https://a.example/}\n",
            "feeds:\n  - {url: https://a.example/}\n"
            "  - {url: https://new.example/feed.xml, name: New, tags: [t], interval: 15m}\n",
            id="flow items",
        ),
        pytest.param(
            "feeds: [{url: https://a.example/}, {url: https://b.example/},]  # two\n",
            "feeds: [{url: https://a.example/}, {url: https://b.example/}, "
            "{url: https://new.example/feed.xml, name: New, tags: [t], interval: 15m},]  # two\n",
            id="flow list",
        ),
        pytest.param(
            "feeds:\r\n  - url: https://a.example/\r\n",
            "feeds:\r\n  - url: https://a.example/\r\n" + NEW_BLOCK.replace("\n", "\r\n"),
            id="CRLF",
        ),
        pytest.param(
            "feeds:\n  - url: https://a.example/",
            "feeds:\n  - url: https://a.example/\n" + NEW_BLOCK,
            id="no newline at the end",
        ),
        pytest.param(
            "settings:\n  interval: 1h\n...\n",
            "settings:\n  interval: 1h\n\nfeeds:\n" + NEW_BLOCK + "...\n",
            id="document end marker",
        ),
    ],
)
def test_add_then_remove_touches_only_the_entry(tmp_path: Path, original: str, edited: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(original.encode())
    added = add_feed(path, NEW)
    assert path.read_bytes() == edited.encode()
    assert load_config(path).feeds[-1] == added
    assert added.line == next(
        number for number, line in enumerate(edited.splitlines(), 1) if "new.example" in line
    )
    assert remove_feed(path, "NEW") == added
    if "feeds" in original and "~" not in original and "[]" not in original:
        assert path.read_bytes() == original.encode() + (b"" if original.endswith("\n") else b"\n")


def test_the_starter_file_gets_feeds_after_its_examples_and_keeps_every_byte(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feeds.yaml"
    init_config(path)
    add_feed(path, NEW)
    add_feed(path, FeedConfig(url="https://two.example/rss"))
    assert (
        path.read_text() == DEFAULT_CONFIG_TEXT + NEW_BLOCK + "  - url: https://two.example/rss\n"
    )
    remove_feed(path, "https://new.example/feed.xml")
    remove_feed(path, "https://two.example/rss")
    assert path.read_text() == DEFAULT_CONFIG_TEXT


def test_remove_takes_the_entry_and_its_inner_comments_only(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "\ufeff# top\nfeeds:\n"
        "  # Python, my favourite\n"
        "  - url: https://py.example/  # inline\n"
        "    name:\n"
        "    # tags: [x]\n"
        "  - url: https://b.example/\n"
        "    name: |\n      Bee\n\n"
        "  - url: https://c.example/\n"
    )
    remove_feed(path, "https://PY.example/")
    assert path.read_text() == (
        "\ufeff# top\nfeeds:\n  # Python, my favourite\n  - url: https://b.example/\n"
        "    name: |\n      Bee\n\n  - url: https://c.example/\n"
    )
    remove_feed(path, "bee")
    assert path.read_text() == (
        "\ufeff# top\nfeeds:\n  # Python, my favourite\n  - url: https://c.example/\n"
    )
    path.write_text("feeds: [{url: https://a.example/}, {url: https://b.example/}]\n")
    remove_feed(path, "https://b.example/")
    assert path.read_text() == "feeds: [{url: https://a.example/}]\n"
    remove_feed(path, "https://a.example/")
    assert path.read_text() == "feeds: []\n"


@pytest.mark.parametrize(
    "feed",
    [
        FeedConfig(url="https://x.example/?a=1,2&b=[3]#top", name="yes", tags=("a, b", "2024")),
        FeedConfig(url="https://x.example/f", name="News: the #1 source", tags=("- x", "*y")),
        FeedConfig(url="https://x.example/f", name="Ünïcødé ☕ 𝄞", tags=("null", "~", "@a")),
        FeedConfig(url="https://x.example/f", name=' "quoted" \\ tab\t', interval=1.5),
    ],
)
@pytest.mark.parametrize("layout", ["feeds:\n", "feeds:\n  - {url: https://a.example/}\n"])
def test_values_are_quoted_when_they_must_be(tmp_path: Path, feed: FeedConfig, layout: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(layout)
    added = add_feed(path, feed)
    assert (added.url, added.name, added.tags, added.interval) == (
        feed.url,
        feed.name,
        feed.tags,
        feed.interval,
    )


def test_a_feed_listed_already_is_refused_naming_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    original = "feeds:\n  - url: https://a.example/feed\n    name: Alpha\n"
    path.write_text(original)
    listed = r'"HTTPS://A.EXAMPLE/feed" is already listed at line 2 as "https://a.example/feed"'
    with pytest.raises(ConfigError, match=listed + r' \(named "Alpha"\)'):
        add_feed(path, FeedConfig(url="HTTPS://A.EXAMPLE/feed"))
    with pytest.raises(ConfigError, match=r'the name "ALPHA" is taken by .* at line 2'):
        add_feed(path, FeedConfig(url="https://b.example/", name="ALPHA"))
    with pytest.raises(ConfigError, match="not an http:// or https:// URL"):
        add_feed(path, FeedConfig(url="ftp://b.example/"))
    assert path.read_text() == original
    result = add_feeds(
        path,
        [
            FeedConfig(url="https://b.example/"),
            FeedConfig(url="https://a.example/feed"),
            FeedConfig(url="https://B.example/"),
        ],
    )
    assert [f.url for f in result.added] == ["https://b.example/"]
    assert [(s.feed.url, s.line, s.reason.split(" is ")[1]) for s in result.skipped] == [
        ("https://a.example/feed", 2, 'already listed at line 2 (named "Alpha")'),
        ("https://B.example/", None, "given twice"),
    ]


def test_remove_of_an_unknown_feed_names_the_close_ones(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://python.example/feed\n    name: Python\n")
    with pytest.raises(ConfigError, match=r'no feed named or at "pyhton"; close: .*line 2'):
        remove_feed(path, "pyhton")
    with pytest.raises(ConfigError, match=r"close: \"https://python.example/feed\""):
        remove_feed(path, "python.example")


def test_edits_refuse_a_missing_or_invalid_file_and_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    with pytest.raises(ConfigError, match="`aggregator init` writes one"):
        add_feed(path, NEW)
    assert not path.exists()
    path.write_text("{settings: {interval: 1h}}\n")
    with pytest.raises(ConfigError, match=r"one \{\.\.\.\} mapping; add a feeds list by hand"):
        add_feed(path, NEW)
    path.write_text("feeds:\n  - # the first\n    url: https://a.example/\n")
    with pytest.raises(ConfigError, match="line 3 is laid out in a way this edit cannot follow"):
        remove_feed(path, "https://a.example/")
    path.write_text("feeds:\n  - url: https://a.example/\n    colour: red\n")
    with pytest.raises(ConfigError, match="colour: unknown key"):
        add_feed(path, NEW)
    assert path.read_text().endswith("colour: red\n")


def test_edits_are_atomic_and_keep_mode_and_symbolic_links(tmp_path: Path) -> None:
    real = tmp_path / "conf" / "feeds.yaml"
    real.parent.mkdir()
    real.write_text("feeds:\n")
    real.chmod(0o640)
    link = tmp_path / "feeds.yaml"
    link.symlink_to(real)
    add_feed(link, NEW)
    assert link.is_symlink()
    assert real.stat().st_mode & 0o777 == 0o640
    assert "new.example" in real.read_text()
    assert sorted(p.name for p in real.parent.iterdir()) == ["feeds.yaml"]  # no temporary left


def test_init_writes_the_starter_file_once(tmp_path: Path) -> None:
    path = tmp_path / "new" / "feeds.yaml"
    init_config(path)
    assert path.read_text() == DEFAULT_CONFIG_TEXT
    path.write_text("feeds:\n")
    with pytest.raises(ConfigError, match="exists already"):
        init_config(path)
    init_config(path, overwrite=True)
    assert path.read_text() == DEFAULT_CONFIG_TEXT


def test_the_starter_file_shows_every_setting() -> None:
    settings = parse_config(DEFAULT_CONFIG_TEXT).settings
    assert settings == Settings()
    for field in fields(Settings):
        if field.name != "smtp":
            assert f"\n  {field.name}: " in DEFAULT_CONFIG_TEXT, field.name
    for field in fields(SmtpSettings):
        key = "from" if field.name == "sender" else field.name
        assert f"\n    {key}: " in DEFAULT_CONFIG_TEXT, key


# --- Discovery --------------------------------------------------------------------------------


def find(server: TestServer, path: str, *others: TestServer) -> list[FeedCandidate]:
    """Discovery at ``path`` of ``server``, the fetcher allowed to reach it and ``others``."""
    hosts = [server.host, *(other.host for other in others)]

    async def run() -> list[FeedCandidate]:
        async with Fetcher(allowed_private_hosts=hosts, per_host_delay=0) as fetcher:
            return await discover(server.url(path), fetcher)

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (rss("Feed"), "application/rss+xml", "rss"),
        (atom("Feed"), "application/atom+xml", "atom"),
        (json_feed("Feed"), "application/feed+json", "json"),
        (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/"><channel><title>Feed</title></channel></rdf:RDF>',
            "application/xml",
            "rdf",
        ),
    ],
)
def test_a_feed_url_is_its_own_candidate(
    server: TestServer, body: str, content_type: str, kind: str
) -> None:
    server.add("/f", body=body, content_type=content_type)
    assert find(server, "/f") == [
        FeedCandidate(url=server.url("/f"), title="Feed", kind=kind, source="given")
    ]


def test_a_moved_feed_is_found_at_its_new_address(server: TestServer) -> None:
    server.add("/old", status=301, headers={"location": "/new"})
    server.add("/new", body=rss("Moved"), content_type="application/rss+xml")
    assert [c.url for c in find(server, "/old")] == [server.url("/new")]


def test_a_page_offers_the_feeds_it_links_to_in_order(server: TestServer) -> None:
    server.add("/blog/wp-json", body='{"id": 1}', content_type="application/json")
    server.add("/blog/feed.json", body=json_feed("Jason"), content_type="application/json")
    server.add("/blog/untyped", body=atom("Untyped"), content_type="application/atom+xml")
    server.add(
        "/blog/post",
        body=page(
            '<link rel="stylesheet alternate" type="text/css" href="/style.css">',
            '<link rel="alternate" type="application/rss+xml" title=" Posts\n " href="posts.xml">',
            '<link rel="alternate" type="application/json" href="wp-json">',
            '<LINK REL="Alternate" TYPE="application/atom+xml; charset=utf-8" href="/c.atom#x">',
            '<link rel="alternate" type="application/rss+xml" href="posts.xml">',
            '<link rel="alternate" type="application/json" title="JSON" href="feed.json">',
            '<link rel="feed" href="untyped">',
            '<link rel="alternate" type="application/rdf+xml" href="ftp://x.example/rdf">',
            base='<base href="/blog/">',
        ),
    )
    found = find(server, "/blog/post")
    assert found == [
        FeedCandidate(
            url=server.url("/blog/posts.xml"), title="Posts", kind="rss", source="advertised"
        ),
        FeedCandidate(url=server.url("/c.atom"), title=None, kind="atom", source="advertised"),
        FeedCandidate(
            url=server.url("/blog/feed.json"), title="JSON", kind="json", source="advertised"
        ),
        FeedCandidate(
            url=server.url("/blog/untyped"), title="Untyped", kind="atom", source="advertised"
        ),
    ]
    assert not server.requests_to("/blog/posts.xml")  # a link of a feed type is taken as it is
    assert not server.requests_to("/no")  # nothing in a script counts


def test_a_page_in_a_legacy_charset_gives_its_titles_right(server: TestServer) -> None:
    body = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=windows-1252">'
        '<link rel="alternate" type="application/rss+xml" title="Caf\xe9" href="/f"></head></html>'
    ).encode("cp1252")
    server.add("/", body=body, content_type="text/html")
    assert [c.title for c in find(server, "/")] == ["Café"]


def test_a_page_without_links_is_asked_for_common_paths(server: TestServer) -> None:
    server.add("/", body=page())
    server.add("/rss.xml", body=rss("Same"), content_type="application/rss+xml")
    server.add("/feed", body=rss("Same"), content_type="application/rss+xml")  # one feed, twice
    server.add("/atom.xml", body=atom("Atom"), content_type="application/atom+xml")
    server.add("/index.xml", body=page(), content_type="text/html")  # a "soft 404"
    server.add("/feed.json", status=301, headers={"location": "/atom.xml"})
    found = find(server, "/")
    assert found == [
        FeedCandidate(url=server.url("/feed"), title="Same", kind="rss", source="guessed"),
        FeedCandidate(url=server.url("/atom.xml"), title="Atom", kind="atom", source="guessed"),
    ]
    asked = {r.path for r in server.requests} - {"/"}
    assert asked == set(COMMON_PATHS)


def test_no_feed_anywhere_says_where_it_looked(server: TestServer) -> None:
    server.add("/", body=page('<link rel="alternate" type="application/json" href="/api">'))
    server.add("/api", body="[]", content_type="application/json")
    with pytest.raises(NotAFeedError) as caught:
        find(server, "/")
    message = str(caught.value)
    assert message.startswith(f"no feed found at {server.url('/')}: the page links to 1 ")
    assert "/feed, /rss, /feed.xml" in message
    assert server.base in message


def linking(*anchors: str, head: str = "") -> str:
    """A page whose body holds ``anchors`` (and whose head holds ``head``)."""
    return (
        f"<!doctype html><html><head><title>A page</title>{head}</head>"
        f"<body><p>Hello</p>{' '.join(anchors)}</body></html>"
    )


def test_a_page_without_feed_links_offers_the_feeds_its_links_lead_to(
    server: TestServer,
) -> None:
    server.add("/", body=linking('<a href="/about">About</a>', '<a href="/feeds/all.xml">RSS</a>'))
    server.add("/feeds/all.xml", body=rss("All"), content_type="application/xml")
    assert find(server, "/") == [
        FeedCandidate(url=server.url("/feeds/all.xml"), title="All", kind="rss", source="linked")
    ]
    assert {r.path for r in server.requests} == {"/", "/feeds/all.xml"}  # no common path

    server.clear()
    server.add(
        "/advertising",
        body=linking(
            '<a href="/feeds/all.xml">RSS</a>',
            head='<link rel="alternate" type="application/atom+xml" href="/c.atom">',
        ),
    )
    assert [c.source for c in find(server, "/advertising")] == ["advertised"]
    assert not server.requests_to("/feeds/all.xml")  # links are looked at only without <link>s


@pytest.mark.parametrize(
    "anchor",
    [
        '<a href="/x">Subscribe via <b>RSS</b></a>',
        '<a href="/x"><img src="/icon.png" alt="RSS 2.0"></a>',
        '<a href="/x" title="Atom feed">Subscribe</a>',
        '<a href="/x" aria-label="Feeds"></a>',
        '<a href="/feed/">Subscribe</a>',
        '<a href="/blog/rss">Subscribe</a>',
        '<a href="atom.xml">Subscribe</a>',
        '<a href="/index.rss">Subscribe</a>',
        '<a href="/feed.json">Subscribe</a>',
        '<a href="/rss.php">Subscribe</a>',
        '<a href="/?feed=rss2">Subscribe</a>',
        '<a href="/index.php?format=feed&amp;type=rss">Subscribe</a>',
    ],
)
def test_a_link_looks_like_a_feed_by_its_words_or_its_url(server: TestServer, anchor: str) -> None:
    href = anchor.split('"')[1].replace("&amp;", "&")
    path = href if href.startswith("/") else "/" + href
    server.add(path, body=atom("Linked"), content_type="application/atom+xml")
    server.add("/letters", body=rss("Not linked"), content_type="application/rss+xml")
    server.add("/", body=linking('<a href="/letters" title="Atomic">Newsfeedback</a>', anchor))
    assert find(server, "/") == [
        FeedCandidate(url=server.url(path), title="Linked", kind="atom", source="linked")
    ]
    assert not server.requests_to("/letters")  # "feedback" and "atomic" are not feed words


def test_a_page_s_own_feeds_come_before_those_elsewhere(server: TestServer) -> None:
    with TestServer() as other:
        other.add("/feed.xml", body=rss("Theirs"), content_type="application/rss+xml")
        # Links to another site, listed first, and with the others one more than are fetched:
        # the page's own host comes first, then its domain (the same host, another port here).
        # The address policy refuses 127.0.0.2 before any connection.
        elsewhere = [
            f'<a href="http://127.0.0.2:{n}/feed.xml">RSS</a>' for n in range(1, MAX_CHECKED_LINKS)
        ]
        server.add(
            "/",
            body=linking(
                *elsewhere,
                f'<a href="{other.url("/feed.xml")}">Their RSS</a>',
                '<a href="/mine.rss">Our RSS</a>',
                '<a href="/mine.rss#latest">Our RSS, again</a>',
            ),
        )
        server.add("/mine.rss", body=rss("Ours"), content_type="application/rss+xml")
        found = find(server, "/", other)
    assert [(c.title, c.url) for c in found] == [
        ("Ours", server.url("/mine.rss")),
        ("Theirs", other.url("/feed.xml")),
    ]
    assert len(server.requests_to("/mine.rss")) == 1


def test_a_linked_document_that_is_not_a_feed_does_not_count(server: TestServer) -> None:
    sitemap = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://site.example/</loc></url></urlset>"
    )
    server.add("/", body=linking('<a href="/sitemap.xml">Sitemap</a>'))
    server.add("/sitemap.xml", body=sitemap, content_type="application/xml")
    server.add("/feed", body=rss("Guessed"), content_type="application/rss+xml")
    assert find(server, "/") == [
        FeedCandidate(url=server.url("/feed"), title="Guessed", kind="rss", source="guessed")
    ]
    assert len(server.requests_to("/sitemap.xml")) == 1


@pytest.mark.parametrize("path", ["/blog/", "/blog/a-post"])
def test_a_blog_in_a_folder_is_asked_for_common_paths_there_first(
    server: TestServer, path: str
) -> None:
    server.add(path, body=linking('<a href="/blog/about">About</a>'))
    server.add("/blog/feed", status=301, headers={"location": "/blog/feed/"})
    server.add("/blog/feed/", body=rss("Blog"), content_type="application/rss+xml")
    server.add("/rss.xml", body=rss("Site"), content_type="application/rss+xml")
    assert find(server, path) == [
        FeedCandidate(url=server.url("/blog/feed/"), title="Blog", kind="rss", source="guessed")
    ]
    asked = {r.path for r in server.requests} - {path, "/blog/feed/"}
    assert asked == {"/blog" + common for common in COMMON_PATHS}  # the root is not asked


def test_discovery_sends_a_bounded_number_of_requests(server: TestServer) -> None:
    links = [f'<a href="/blog/{n}.xml">Archive {n}</a>' for n in range(3 * MAX_CHECKED_LINKS)]
    links.insert(1, '<a href="/blog/0.xml#top">Archive 0, again</a>')
    server.add("/blog/post", body=linking(*links))
    with pytest.raises(NotAFeedError) as caught:
        find(server, "/blog/post")
    assert sorted(r.path for r in server.requests) == sorted(
        [
            "/blog/post",
            *(f"/blog/{n}.xml" for n in range(MAX_CHECKED_LINKS)),  # the first ones, each once
            *("/blog" + common for common in COMMON_PATHS),
            *COMMON_PATHS,
        ]
    )
    assert str(caught.value) == (
        f"no feed found at {server.url('/blog/post')}: the page advertises no feed, "
        f"{MAX_CHECKED_LINKS} links in it look like feeds but are not, and none answered at "
        f"common paths (/feed, /rss, /feed.xml...) under {server.url('/blog/')} or "
        f"{server.url('/')}"
    )


def test_discovery_errors_are_honest(server: TestServer) -> None:
    server.add("/text", body="hello", content_type="text/plain")
    server.add("/broken", body='{"version": "https://jsonfeed.org/version/1", "items": 3}')
    with pytest.raises(HTTPStatusError, match="404"):
        find(server, "/missing")
    with pytest.raises(NotAFeedError, match="neither a feed nor a web page"):
        find(server, "/text")
    with pytest.raises(ParseError, match="looks like a feed but cannot be read"):
        find(server, "/broken")

    async def without_permission() -> None:
        async with Fetcher(per_host_delay=0) as fetcher:
            await discover(server.url("/"), fetcher)

    with pytest.raises(AddressNotAllowed):
        asyncio.run(without_permission())


# --- OPML -------------------------------------------------------------------------------------

OPML_1 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="1.0"><head><title>Mine</title></head><body>
  <outline text="Tech">
    <outline text="Python" type="RSS" xmlUrl="https://py.example/rss" htmlUrl="https://py.example/"/>
    <outline title="Web">
      <outline text="CSS  caf\xe9" XMLURL=" https://css.example/atom "
               category="/Design/Type,weekly"/>
    </outline>
    <outline type="link" text="A page" url="https://page.example/" xmlUrl="https://no.example/"/>
  </outline>
  <outline xmlUrl="feed://old.example/rss" text="feed://old.example/rss"/>
  <outline text="Empty folder"/>
</body></opml>"""


def test_read_opml_takes_folders_and_categories_as_tags() -> None:
    assert read_opml(OPML_1) == [
        Subscription(
            url="https://py.example/rss",
            title="Python",
            site_url="https://py.example/",
            tags=("Tech",),
        ),
        Subscription(
            url="https://css.example/atom",
            title="CSS café",
            tags=("Tech", "Web", "Design", "Type", "weekly"),
        ),
        Subscription(url="http://old.example/rss"),
    ]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<opml><body><outline xmlUrl="https://x.example/&b;"/></body></opml>',
            "declares a DTD",
        ),
        (
            b'<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/opml.dtd"><opml><body/></opml>',
            "declares a DTD",
        ),
        (b"<rss><channel/></rss>", "its root element is <rss>"),
        (b"<opml><body><outline", "not well-formed XML"),
        (b"", "not well-formed XML"),
    ],
)
def test_read_opml_refuses_what_is_not_plain_opml(document: bytes, problem: str) -> None:
    with pytest.raises(ParseError, match=problem):
        read_opml(document)


def test_write_opml_is_valid_opml_2_and_reads_back_the_same() -> None:
    subscriptions = [
        Subscription(
            url="https://a.example/feed?x=1&y=2",
            title='A & "B" <c>',
            site_url="https://a.example/",
            tags=("news", "tech"),
        ),
        Subscription(url="https://b.example/rss"),
        Subscription(url="https://c.example/rss", title="C\x01\x0b", tags=("news",)),
    ]
    created = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    document = write_opml(subscriptions, created=created)
    root = ET.fromstring(document)
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == "aggregator subscriptions"
    assert parsedate_to_datetime(root.findtext("head/dateCreated") or "") == created
    outlines = [o for o in root.iter("outline") if o.get("xmlUrl")]
    assert all(o.get("type") == "rss" and o.get("text") for o in outlines)
    folder = root.find("body/outline[@text='news']")
    assert folder is not None
    assert folder.get("xmlUrl") is None
    first = folder.find("outline")
    assert first is not None
    assert first.get("category") == "/news,/tech"
    assert first.get("htmlUrl") == "https://a.example/"
    back = {s.url: s for s in read_opml(document)}
    assert back == {
        "https://a.example/feed?x=1&y=2": subscriptions[0],
        "https://b.example/rss": subscriptions[1],
        "https://c.example/rss": Subscription(
            url="https://c.example/rss", title="C", tags=("news",)
        ),
    }


# --- The commands -----------------------------------------------------------------------------


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def said(text: str) -> str:
    """``text`` with its line breaks and runs of spaces made single spaces (rich wraps the
    messages it prints to a stream that is not a terminal at 80 columns)."""
    return " ".join(text.split())


@pytest.fixture
def blog(folder: Path, server: TestServer) -> TestServer:
    """A feeds.yaml from `aggregator init` that allows the test server, which serves a blog
    page advertising two feeds."""
    assert run("init").exit_code == 0
    text = (folder / "feeds.yaml").read_text()
    text = text.replace("allowed_private_hosts: []", f'allowed_private_hosts: ["{server.host}"]')
    text = text.replace("per_host_delay: 0.5s", "per_host_delay: 0s")
    text = text.replace("fetch_articles: true", "fetch_articles: false")
    (folder / "feeds.yaml").write_text(text)
    server.add(
        "/",
        body=page(
            '<link rel="alternate" type="application/rss+xml" title="Posts" href="/posts.xml">',
            '<link rel="alternate" type="application/atom+xml" title="Comments" href="/c.atom">',
        ),
    )
    server.add("/posts.xml", body=rss("Posts", server.url("/")), content_type="application/rss+xml")
    server.add("/c.atom", body=atom("Comments"), content_type="application/atom+xml")
    return server


def feed_urls(folder: Path) -> list[str]:
    return [feed.url for feed in load_config(folder / "feeds.yaml").feeds]


def test_init_refuses_to_overwrite_without_force(folder: Path) -> None:
    first = run("init")
    assert first.exit_code == 0
    assert "wrote feeds.yaml" in first.stdout
    (folder / "feeds.yaml").write_text("feeds:\n")
    again = run("init")
    assert again.exit_code == 2
    assert "exists already; --force overwrites it" in said(again.stderr)
    assert (folder / "feeds.yaml").read_text() == "feeds:\n"
    assert run("init", "--force").exit_code == 0
    assert run("init", "other/feeds.yaml").exit_code == 0
    assert (folder / "other" / "feeds.yaml").read_text() == DEFAULT_CONFIG_TEXT


def test_add_asks_which_feed_or_wants_first_or_all(blog: TestServer, folder: Path) -> None:
    refused = run("add", blog.url("/"))
    assert refused.exit_code == 2
    assert "offers 2 feeds:\n  1. Posts  " in refused.stderr  # click.echo: never wrapped
    assert "\n  2. Comments  " + blog.url("/c.atom") in refused.stderr
    assert "pass --first or --all" in said(refused.stderr)
    assert feed_urls(folder) == []

    first = run("add", blog.url("/"), "--first", "--tag", "blogs", "--interval", "2h")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f'added "Posts" {blog.url("/posts.xml")} (rss) to feeds.yaml')
    assert load_config(folder / "feeds.yaml").feeds[-1] == FeedConfig(
        url=blog.url("/posts.xml"), tags=("blogs",), interval=7200, line=FIRST_LINE
    )
    again = run("add", blog.url("/posts.xml"))
    assert again.exit_code == 2
    assert f"is already listed at line {FIRST_LINE}" in said(again.stderr)
    assert not blog.requests_to("/posts.xml")  # refused before any request

    both = run("--quiet", "add", blog.url("/"), "--all", "--json")
    assert both.exit_code == 0
    assert [(f["url"], f["title"]) for f in json.loads(both.stdout)] == [
        (blog.url("/c.atom"), "Comments")
    ]
    assert "skipped: " not in both.stderr  # --quiet
    assert feed_urls(folder) == [blog.url("/posts.xml"), blog.url("/c.atom")]


def test_add_explains_what_went_wrong(blog: TestServer, folder: Path) -> None:
    bad_interval = run("add", blog.url("/posts.xml"), "--interval", "soon")
    assert bad_interval.exit_code == 2
    assert "--interval" in said(bad_interval.stderr)
    missing = run("add", blog.url("/missing"))
    assert missing.exit_code == 1
    assert f"cannot fetch {blog.url('/missing')}: HTTP 404" in said(missing.stderr)
    named = run("add", blog.url("/"), "--all", "--name", "X")
    assert named.exit_code == 2
    assert "--name names one feed" in said(named.stderr)
    (folder / "feeds.yaml").unlink()
    no_file = run("add", blog.url("/posts.xml"))
    assert no_file.exit_code == 2
    assert "`aggregator init` writes one" in said(no_file.stderr)


def test_add_asks_on_a_terminal(blog: TestServer, folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "add", blog.url("/")],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        cwd=folder,
        env=env | {"PYTHONPATH": str(ROOT)},
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"Add which (a number, or all)" not in seen and time.monotonic() < deadline:
            if select.select([main], [], [], 0.5)[0]:
                seen += os.read(main, 4096)
        os.write(main, b"7\n2\n")
        assert process.wait(timeout=30) == 0
        while select.select([main], [], [], 0.2)[0]:
            try:
                seen += os.read(main, 4096)
            except OSError:  # the other end is closed
                break
    finally:
        process.kill()
        os.close(main)
    text = seen.decode()
    assert "1. Posts" in text
    assert "enter a number from 1 to 2, or all" in text
    assert 'added "Comments"' in text
    assert feed_urls(folder) == [blog.url("/c.atom")]


def test_remove_keeps_the_archive_and_suggests_close_names(blog: TestServer, folder: Path) -> None:
    assert run("add", blog.url("/posts.xml"), "--name", "My posts").exit_code == 0
    assert run("add", blog.url("/c.atom")).exit_code == 0
    assert run("poll").exit_code == 0
    unknown = run("remove", "my psots")
    assert unknown.exit_code == 2
    close = f'close: "{blog.url("/posts.xml")}" ("My posts") at line {FIRST_LINE}'
    assert close in said(unknown.stderr)
    by_name = run("remove", "MY POSTS")
    assert by_name.exit_code == 0
    assert by_name.stdout.startswith(f'removed "My posts" {blog.url("/posts.xml")} from')
    assert "the archive keeps its 1 article" in by_name.stdout
    by_title = run("remove", "Comments")  # the feed's own title, as the archive knows it
    assert by_title.exit_code == 0
    assert "nothing was archived from it" in by_title.stdout
    assert feed_urls(folder) == []
    assert (folder / "feeds.yaml").read_text() == DEFAULT_CONFIG_TEXT.replace(
        "allowed_private_hosts: []", f'allowed_private_hosts: ["{blog.host}"]'
    ).replace("per_host_delay: 0.5s", "per_host_delay: 0s").replace(
        "fetch_articles: true", "fetch_articles: false"
    )


def test_import_opml_twice_adds_nothing_the_second_time(blog: TestServer, folder: Path) -> None:
    (folder / "list.opml").write_bytes(OPML_1)
    dry = run("import-opml", "list.opml", "--dry-run")
    assert dry.exit_code == 0
    assert "would add 3 feeds to feeds.yaml" in dry.stdout
    assert feed_urls(folder) == []
    first = run("import-opml", "list.opml", "--json")
    report = json.loads(first.stdout)
    assert [(f["url"], f["name"], f["tags"]) for f in report["added"]] == [
        ("https://py.example/rss", "Python", ["Tech"]),
        ("https://css.example/atom", "CSS café", ["Tech", "Web", "Design", "Type", "weekly"]),
        ("http://old.example/rss", None, []),
    ]
    second = run("import-opml", "list.opml")
    assert second.exit_code == 0
    assert "added 0 feeds to feeds.yaml, skipped 3" in second.stdout
    listed = f'skipped: "https://py.example/rss" is already listed at line {FIRST_LINE}\n'
    assert listed in second.stderr
    (folder / "other.opml").write_bytes(
        b'<opml><body><outline text="Python" xmlUrl="https://other.example/py"/></body></opml>'
    )
    assert run("import-opml", "other.opml").exit_code == 0
    assert load_config(folder / "feeds.yaml").feeds[-1].name == "Python (other.example)"
    (folder / "bad.opml").write_bytes(b"<opml><body>")
    bad = run("import-opml", "bad.opml")
    assert bad.exit_code == 1
    assert "bad.opml: not well-formed XML" in said(bad.stderr)


def test_export_opml_carries_titles_sites_and_tags(blog: TestServer, folder: Path) -> None:
    assert run("add", blog.url("/posts.xml"), "--tag", "blogs", "--tag", "mine").exit_code == 0
    assert run("poll").exit_code == 0
    assert run("add", blog.url("/c.atom"), "--name", "Talk").exit_code == 0
    printed = run("export-opml")
    assert printed.exit_code == 0
    assert read_opml(printed.stdout_bytes) == [
        Subscription(
            url=blog.url("/posts.xml"),
            title="Posts",
            site_url=blog.url("/"),
            tags=("blogs", "mine"),
        ),
        Subscription(url=blog.url("/c.atom"), title="Talk"),
    ]
    written = run("export-opml", "-o", "out.opml")
    assert written.exit_code == 0
    assert "wrote 2 feeds to out.opml" in written.stdout
    assert read_opml((folder / "out.opml").read_bytes()) == read_opml(printed.stdout_bytes)


def test_every_subscription_command_has_an_example() -> None:
    for name in ("init", "add", "remove", "import-opml", "export-opml"):
        help_text = run(name, "--help").output
        assert "Example:" in help_text, name
        assert f"aggregator {name}" in help_text, name


def test_edits_at_the_same_time_lose_nothing(tmp_path: Path) -> None:
    """Each edit replaces the file: without the lock, two that read the same text would each
    write back only their own feed."""
    path = tmp_path / "feeds.yaml"
    init_config(path)
    add_feed(path, FeedConfig(url="https://w0.example/0.xml"))

    def add_some(worker: int) -> None:
        for number in range(1, 6):
            add_feed(path, FeedConfig(url=f"https://w{worker}.example/{number}.xml"))

    threads = [threading.Thread(target=add_some, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    rewrite_feed_url(path, "https://w0.example/0.xml", "https://w0.example/moved.xml")
    for thread in threads:
        thread.join()
    urls = {feed.url for feed in load_config(path).feeds}
    assert len(urls) == 31
    assert "https://w0.example/moved.xml" in urls


def test_discovery_gives_up_on_a_site_that_stalls(server: TestServer) -> None:
    """Every guessed address answers, with a feed, only after 5 s: discovery stops at its own
    bound, saying so (waiting would have found the feed)."""
    server.add("/", body="<html><body>nothing to see</body></html>")
    for path in COMMON_PATHS:
        server.add(path, body=rss("Late"), content_type="application/rss+xml", delay=5)

    async def run() -> list[FeedCandidate]:
        async with Fetcher(allowed_private_hosts=[server.host], per_host_delay=0) as fetcher:
            return await discover(server.url("/"), fetcher, search_seconds=0.5)

    with pytest.raises(NotAFeedError, match=r"within 0\.5 s: the site answers too slowly"):
        asyncio.run(run())


def test_importing_a_large_list_again_looks_each_feed_up_once(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Feedly or Inoreader export has thousands of feeds: the second import compared each
    with every listed feed (25 million URL comparisons for 5,000 feeds, a minute)."""
    outlines = "".join(
        f'<outline type="rss" text="Feed {n}" xmlUrl="https://site{n}.example/feed.xml"/>'
        for n in range(2000)
    )
    (folder / "big.opml").write_text(f'<opml version="2.0"><body>{outlines}</body></opml>')
    assert run("init").exit_code == 0
    assert run("import-opml", "big.opml").exit_code == 0
    calls = 0
    identity = feeds_cli.url_identity

    def counted(url: str) -> str:
        nonlocal calls
        calls += 1
        return identity(url)

    monkeypatch.setattr(feeds_cli, "url_identity", counted, raising=False)
    monkeypatch.setattr(config_edit, "url_identity", counted)
    again = run("import-opml", "big.opml")
    assert "added 0 feeds to feeds.yaml, skipped 2000" in said(again.output)
    assert calls <= 5 * 2000  # a few per feed, not one per pair
