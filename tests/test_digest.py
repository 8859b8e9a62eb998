"""Digests over a real archive, in every format, and mailed through a real SMTP server on
loopback (aiosmtpd)."""

from __future__ import annotations

import email
import json
import random
import re
import shutil
import socket
import ssl
import subprocess
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
import nh3
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from markdown_it import MarkdownIt

from aggregator import dedup
from aggregator.config import FeedConfig, SmtpSettings, parse_config
from aggregator.digest import (
    FIRST_LAST,
    UNTAGGED,
    Digest,
    build_digest,
    parse_since,
    remember_run,
    render,
    send_digest,
)
from aggregator.errors import ConfigError, MailError, SearchError
from aggregator.models import ArticleRecord, FeedPoll
from aggregator.store import Store
from tests.server import TestServer
from tests.site import NewsSite
from tests.test_boilerplate import poll as poll_site

T = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
"""The time of the morning digest."""
DAY = timedelta(days=1)
FORMATS = ("md", "html", "json", "atom", "jsonfeed")

# --- a small archive --------------------------------------------------------------------------


def prose(seed: int, words: int = 80) -> str:
    rng = random.Random(seed)
    vocabulary = [f"{a}{b}{c}" for a in "bdgkmp" for b in "aeiou" for c in "nrst"]
    return " ".join(rng.choice(vocabulary) for _ in range(words))


def article(
    key: str,
    *,
    title: str,
    text: str,
    url: str | None = None,
    published: datetime | None = None,
    summary: str | None = None,
    tags: tuple[str, ...] = (),
    author: str | None = "Ann",
) -> ArticleRecord:
    link = url or f"https://{key}.example/story"
    return ArticleRecord(
        entry_id=key,
        entry_hash=f"h-{key}",
        guid=key,
        url=link,
        url_key=dedup.canonical_url(link) if link.startswith("http") else None,
        canonical_url=dedup.canonical_url(link) if link.startswith("http") else None,
        title=title,
        author=author,
        published=published,
        updated=None,
        summary=summary,
        content=text,
        content_source="feed",
        lang="en",
        word_count=len(text.split()),
        content_hash=dedup.content_hash(text),
        tags=tags,
        near_keys=dedup.near_keys(dedup.shingles(text)),
    )


def save(store: Store, feed: str, at: datetime, *records: ArticleRecord) -> None:
    """One poll of ``feed`` (by name) at ``at``: its articles are first seen then."""
    (state,) = [f for f in store.feeds() if f.name == feed]
    store.save_poll(
        FeedPoll(
            feed_id=state.id,
            polled_at=at,
            status=200,
            etag=None,
            last_modified=None,
            next_poll_at=at + timedelta(minutes=30),
            articles=records,
            saved_at=at,
        )
    )


SOLAR = prose(1)
SOLAR_COPY = SOLAR.replace(SOLAR.split()[5], "changed", 1) + " " + prose(99, 20)
OLD = prose(3)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Three feeds; in the day before T: the solar story (in Alpha, in Beta under the same link,
    and nearly copied by Gamma), the bridge story (Beta), the river story (Gamma); before
    that day, an old Alpha story, which Gamma nearly copies within the day."""
    with Store(tmp_path / "archive.db") as s:
        s.sync_feeds(
            [
                FeedConfig(
                    url="https://alpha.example/feed", name="Alpha", tags=("news", "science")
                ),
                FeedConfig(url="https://beta.example/feed", name="Beta", tags=("News",)),
                FeedConfig(url="https://gamma.example/feed", name="Gamma"),
            ],
            now=T - 5 * DAY,
        )
        save(s, "Alpha", T - 2 * DAY, article("old", title="Old story", text=OLD))
        save(
            s,
            "Alpha",
            T - timedelta(hours=5),
            article(
                "solar",
                title="Solar farm opens",
                text=SOLAR,
                summary="A solar farm opened on the coast.",
                published=T - timedelta(hours=5, minutes=10),
            ),
        )
        save(
            s,
            "Beta",
            T - timedelta(hours=4),
            article(
                "beta-solar",
                title="Solar farm opens",
                text=SOLAR,
                url="https://solar.example/story?utm_source=beta",
            ),
        )
        save(
            s,
            "Gamma",
            T - timedelta(hours=3),
            article("solar-copy", title="Solar farm opens (reprint)", text=SOLAR_COPY),
            article("old-copy", title="Old story again", text=OLD + " reprinted"),
        )
        save(
            s,
            "Beta",
            T - timedelta(hours=2),
            article(
                "bridge",
                title="Bridge closed",
                text=prose(4),
                published=T - timedelta(hours=2),
                tags=("Transport",),
                author=None,
            ),
        )
        save(
            s,
            "Gamma",
            T - timedelta(hours=6),
            article("river", title="River floods", text=prose(5), published=T - 3 * DAY),
        )
        yield s


def titles(digest: Digest) -> list[str]:
    return [item.title for item in digest.items]


def test_the_stories_of_a_day_newest_first_with_copies_folded_in(store: Store) -> None:
    digest = build_digest(store, name="morning", since=T - DAY, until=T)
    # The river story was first seen in the day but published days before: it sorts last.
    # The old story's copy is left out: its story is not new.
    assert titles(digest) == ["Bridge closed", "Solar farm opens", "River floods"]
    solar = digest.items[1]
    assert (solar.feed, solar.url, solar.author) == ("Alpha", "https://solar.example/story", "Ann")
    assert solar.excerpt == "A solar farm opened on the coast."
    assert [(c.feed, c.url) for c in solar.also_in] == [
        ("Beta", "https://solar.example/story?utm_source=beta"),
        ("Gamma", "https://solar-copy.example/story"),
    ]
    assert solar.tags == ("news", "science")  # Beta's "News" is the same tag
    bridge = digest.items[0]
    assert (bridge.also_in, bridge.tags, bridge.author) == ((), ("News", "Transport"), None)
    assert digest.items[2].excerpt.startswith(prose(5)[:50])
    assert len(digest.items[2].excerpt) <= 280
    assert digest.items[2].excerpt.endswith("…")
    assert (digest.title, digest.count, digest.period) == (
        "Digest: morning",
        3,
        "27 Nov 2026 07:00 to 28 Nov 2026 07:00 UTC",
    )


def test_the_period_includes_its_start_and_excludes_its_end(store: Store) -> None:
    assert titles(build_digest(store, since=T - timedelta(hours=5), until=T)) == [
        "Bridge closed",
        "Solar farm opens",
    ]
    assert titles(
        build_digest(store, since=T - timedelta(hours=6), until=T - timedelta(hours=5))
    ) == ["River floods"]
    # Only the copy was seen in this window, and its original is older: nothing new.
    assert (
        titles(build_digest(store, since=T - timedelta(hours=3), until=T - timedelta(hours=2)))
        == []
    )
    assert titles(build_digest(store, since=T, until=T)) == []  # "last" run twice in a second
    with pytest.raises(ConfigError, match="ends before it starts"):
        build_digest(store, since=T, until=T - timedelta(seconds=1))


def test_by_publication_date_instead_of_first_seen(store: Store) -> None:
    digest = build_digest(store, since=T - DAY, until=T, clock="published")
    assert titles(digest) == ["Bridge closed", "Solar farm opens"]  # the river story is older


def test_only_some_feeds_a_copy_stands_for_a_story_whose_original_is_elsewhere(
    store: Store,
) -> None:
    digest = build_digest(store, since=T - DAY, until=T, feeds=["Gamma"])
    assert titles(digest) == ["Old story again", "Solar farm opens (reprint)", "River floods"]
    assert [c.feed for c in digest.items[0].also_in] == ["Alpha"]
    assert [c.feed for c in digest.items[1].also_in] == ["Alpha", "Beta"]
    by_url = build_digest(store, since=T - DAY, until=T, feeds=["https://beta.example/feed"])
    assert titles(by_url) == ["Bridge closed", "Solar farm opens"]
    with pytest.raises(ConfigError, match="no feed named or at 'Delta'"):
        build_digest(store, since=T - DAY, until=T, feeds=["Delta"])


def test_only_some_tags_of_the_feeds_or_the_articles(store: Store) -> None:
    def tagged(*tags: str) -> list[str]:
        return titles(build_digest(store, since=T - DAY, until=T, tags=tags))

    assert tagged("transport") == ["Bridge closed"]  # the article's own tag, any case
    assert tagged("SCIENCE") == ["Solar farm opens"]  # Alpha's tag
    assert tagged("news") == ["Bridge closed", "Solar farm opens"]
    assert tagged("sport") == []
    both = build_digest(store, since=T - DAY, until=T, feeds=["Beta"], tags=["science"])
    assert titles(both) == ["Solar farm opens"]  # Beta carried it, Alpha's tag matches


def test_grouped_by_feed_and_by_tag(store: Store) -> None:
    by_feed = build_digest(store, since=T - DAY, until=T, group_by="feed")
    assert [(g.name, [i.title for i in g.items]) for g in by_feed.groups] == [
        ("Alpha", ["Solar farm opens"]),
        ("Beta", ["Bridge closed"]),
        ("Gamma", ["River floods"]),
    ]
    by_tag = build_digest(store, since=T - DAY, until=T, group_by="tag")
    assert [(g.name, [i.title for i in g.items]) for g in by_tag.groups] == [
        ("News", ["Bridge closed", "Solar farm opens"]),  # tags are compared without case
        (UNTAGGED, ["River floods"]),
    ]
    wanted = build_digest(
        store, since=T - DAY, until=T, group_by="tag", tags=["transport", "science"]
    )
    assert [(g.name, [i.title for i in g.items]) for g in wanted.groups] == [
        ("science", ["Solar farm opens"]),
        ("transport", ["Bridge closed"]),
    ]
    assert build_digest(store, since=T - DAY, until=T, group_by=None).groups[0].name is None


def test_the_limit_keeps_the_newest_stories(store: Store) -> None:
    assert titles(build_digest(store, since=T - DAY, until=T, limit=2)) == [
        "Bridge closed",
        "Solar farm opens",
    ]
    with pytest.raises(ConfigError):
        build_digest(store, since=T - DAY, until=T, limit=0)


def test_a_saved_search(store: Store) -> None:
    digest = build_digest(store, since=T - DAY, until=T, query="solar OR bridge")
    assert titles(digest) == ["Bridge closed", "Solar farm opens"]  # the reprint folded in
    assert digest.title == "Digest: search for “solar OR bridge”"
    # A query FTS5 rejects is searched as plain words.
    assert titles(build_digest(store, since=T - DAY, until=T, query='"bridge')) == ["Bridge closed"]
    assert titles(build_digest(store, since=T - DAY, until=T, query="old")) == []
    with pytest.raises(SearchError, match="nothing to search for"):
        build_digest(store, since=T - DAY, until=T, query="***")


def test_since_last_is_remembered_per_digest_across_runs(store: Store, tmp_path: Path) -> None:
    first = parse_since("last", now=T, last_run=store.last_digest_run("morning"))
    assert first == T - FIRST_LAST
    digest = build_digest(store, name="morning", since=first, until=T)
    assert digest.count == 3
    remember_run(store, digest)
    save(store, "Gamma", T + timedelta(minutes=30), article("late", title="Late", text=prose(6)))
    store.close()

    with Store(tmp_path / "archive.db") as again:
        assert again.last_digest_run("morning") == T
        assert again.last_digest_run("evening") is None
        since = parse_since("last", now=T + timedelta(hours=1), last_run=T)
        second = build_digest(again, name="morning", since=since, until=T + timedelta(hours=1))
        assert titles(second) == ["Late"]
        remember_run(again, second)
        assert again.last_digest_run("morning") == T + timedelta(hours=1)
        assert again.query("SELECT articles FROM digest_runs")[0]["articles"] == 1
    with pytest.raises(ConfigError, match="named digest"):
        remember_run(store, replace(digest, name=None))


def test_parse_since() -> None:
    now = T
    assert parse_since("24h", now=now, last_run=None) == T - DAY
    assert parse_since("7d", now=now, last_run=None) == T - 7 * DAY
    assert parse_since("1h30m", now=now, last_run=None) == T - timedelta(minutes=90)
    assert parse_since("2026-11-01", now=now, last_run=None) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T08:00:00+01:00", now=now, last_run=None) == datetime(
        2026, 11, 1, 7, tzinfo=UTC
    )
    assert parse_since("last", now=now, last_run=T - timedelta(hours=3)) == T - timedelta(hours=3)
    assert parse_since("LAST", now=now, last_run=None) == T - FIRST_LAST
    with pytest.raises(ConfigError, match="expected a duration"):
        parse_since("yesterday", now=now, last_run=None)
    with pytest.raises(ConfigError, match="before the year 1"):
        parse_since("99999999d", now=now, last_run=None)


# --- every format -----------------------------------------------------------------------------


@pytest.fixture
def digest(store: Store) -> Digest:
    return build_digest(store, name="morning", since=T - DAY, until=T, group_by="feed")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_shows_every_story_and_where_else_it_ran(digest: Digest, fmt: str) -> None:
    text = render(digest, fmt)  # type: ignore[arg-type]
    for item in digest.items:
        assert item.title in text
        assert item.url is not None
        assert item.url in text
    assert "Gamma" in text
    assert "https://solar-copy.example/story" in text


def test_markdown_layout(digest: Digest) -> None:
    text = render(digest, "md")
    assert text.startswith(
        "# Digest: morning\n\n27 Nov 2026 07:00 to 28 Nov 2026 07:00 UTC · 3 stories\n\n"
        "## Alpha\n\n### [Solar farm opens](<https://solar.example/story>)\n\n"
        "Alpha · 28 Nov 2026 01:50 UTC · by Ann\n\nA solar farm opened on the coast.\n\n"
        "Also in: [Beta](<https://solar.example/story?utm_source=beta>), "
        "[Gamma](<https://solar-copy.example/story>)\n\n## Beta\n"
    )


class Tags(HTMLParser):
    """Every start tag of a document with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


BODY_TAGS = {"div", "h1", "h2", "h3", "p", "a"}


def check_html(document: str) -> list[tuple[str, dict[str, str | None]]]:
    """The document's tags, after checking it is self-contained and clean: only our tags, every
    one styled inline, links only to http(s), nothing that loads or runs anything, and a body
    that nh3 leaves as it is."""
    parser = Tags()
    parser.feed(document)
    head = {"html", "head", "meta", "title", "body"}
    for tag, attrs in parser.tags:
        assert tag in BODY_TAGS | head, tag
        assert not any(name.startswith("on") or name == "src" for name in attrs), attrs
        if tag in BODY_TAGS:
            assert attrs.get("style"), tag
        if tag == "a":
            assert str(attrs["href"]).startswith(("https://", "http://"))
    found = re.fullmatch(r"(?s).*<body[^>]*>\n(.*)\n</body>\n</html>\n", document)
    assert found is not None
    body = found[1]
    kept = nh3.clean(
        body, tags=BODY_TAGS, attributes={"*": {"style"}, "a": {"href"}}, url_schemes={"https"}
    )
    assert kept == body
    return parser.tags


def test_html_is_self_contained_styled_inline_and_sanitized(digest: Digest) -> None:
    document = render(digest, "html")
    assert document.startswith('<!DOCTYPE html>\n<html lang="en">')
    tags = check_html(document)
    links = [attrs["href"] for tag, attrs in tags if tag == "a"]
    assert links[:3] == [
        "https://solar.example/story",
        "https://solar.example/story?utm_source=beta",
        "https://solar-copy.example/story",
    ]
    assert "<style" not in document
    assert "<img" not in document
    assert "<script" not in document
    assert "Also in: <a" in document


def test_json_follows_its_documented_schema(digest: Digest) -> None:
    data = json.loads(render(digest, "json"))
    assert data["version"] == 1
    assert {k: data[k] for k in ("title", "name", "query", "since", "until", "group_by")} == {
        "title": "Digest: morning",
        "name": "morning",
        "query": None,
        "since": "2026-11-27T07:00:00Z",
        "until": "2026-11-28T07:00:00Z",
        "group_by": "feed",
    }
    assert data["count"] == 3
    assert [g["name"] for g in data["groups"]] == ["Alpha", "Beta", "Gamma"]
    solar = data["groups"][0]["items"][0]
    assert solar == {
        "id": digest.items[0].id,
        "title": "Solar farm opens",
        "url": "https://solar.example/story",
        "feed": "Alpha",
        "author": "Ann",
        "published": "2026-11-28T01:50:00Z",
        "first_seen": "2026-11-28T02:00:00Z",
        "excerpt": "A solar farm opened on the coast.",
        "tags": ["news", "science"],
        "also_in": [
            {"feed": "Beta", "url": "https://solar.example/story?utm_source=beta"},
            {"feed": "Gamma", "url": "https://solar-copy.example/story"},
        ],
    }


def test_atom_reads_back_with_feedparser(digest: Digest) -> None:
    parsed = feedparser.parse(render(digest, "atom").encode())
    assert parsed.bozo is False, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Digest: morning"
    assert parsed.feed.id == "urn:aggregator:digest/morning"
    assert parsed.feed.updated == "2026-11-28T07:00:00Z"
    entries = parsed.entries
    assert [(e.id, e.title, e.link) for e in entries] == [
        (f"urn:aggregator:article:{i.id}", i.title, i.url) for i in digest.items
    ]
    solar = entries[0]
    assert solar.published == "2026-11-28T01:50:00Z"
    assert solar.author == "Ann"
    assert [t.term for t in solar.tags] == ["news", "science"]
    assert solar.content[0].value == (
        "A solar farm opened on the coast.\n\nAlso in: "
        "Beta (https://solar.example/story?utm_source=beta); "
        "Gamma (https://solar-copy.example/story)"
    )


def test_json_feed_has_the_required_fields_of_version_1_1(digest: Digest) -> None:
    data = json.loads(render(digest, "jsonfeed"))
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["title"] == "Digest: morning"
    assert "author" not in data  # 1.1 has "authors"
    ids = [item["id"] for item in data["items"]]
    assert all(isinstance(i, str) for i in ids)
    assert len(set(ids)) == 3
    for item, source in zip(data["items"], digest.items, strict=True):
        assert item["content_text"]
        assert item["url"] == source.url
        datetime.fromisoformat(item["date_published"])
        assert set(item) <= {
            "id",
            "url",
            "title",
            "content_text",
            "date_published",
            "authors",
            "tags",
            "_aggregator",
        }
    assert data["items"][0]["_aggregator"]["also_in"][0]["feed"] == "Beta"
    assert data["items"][0]["authors"] == [{"name": "Ann"}]


def test_an_empty_digest_says_so_in_every_format(store: Store) -> None:
    empty = build_digest(store, since=T - 30 * DAY, until=T - 20 * DAY)
    assert empty.count == 0
    assert "Nothing new." in render(empty, "md")
    check_html(render(empty, "html"))
    assert feedparser.parse(render(empty, "atom").encode()).bozo is False
    assert json.loads(render(empty, "jsonfeed"))["items"] == []
    assert json.loads(render(empty, "json"))["groups"] == [{"name": None, "items": []}]


# --- hostile input ----------------------------------------------------------------------------

HOSTILE_TITLE = (
    '<script>alert("x")</script> ]]> --> <!-- \x00\x07 [click](javascript:alert(1)) \x1b[31m'
)
HOSTILE_SUMMARY = (
    "<img src=x onerror=alert(1)> &amp; ]]>\x0b\ufffe ![pixel](https://t.example/p.png)"
)


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Digest]:
    with Store(tmp_path / "hostile.db") as s:
        s.sync_feeds(
            [FeedConfig(url="https://evil.example/feed", name='<b>Evil</b> & "Co" \x1b]0;x\x07')],
            now=T - DAY,
        )
        (feed,) = s.feeds()
        save(
            s,
            feed.name or "",
            T - timedelta(hours=1),
            article(
                "a",
                title=HOSTILE_TITLE,
                text=prose(7),
                summary=HOSTILE_SUMMARY,
                url="javascript:alert(1)",
                tags=("<i>x</i>", "]]>", "\x01"),
                author="Eve\r\nBcc: victim@example.org",
            ),
            article(
                "b",
                title="- 1. # not a heading",
                text=prose(8),
                url="https://evil.example/a b\"<c>'?q=1&r=<s>",
            ),
        )
        yield build_digest(s, since=T - DAY, until=T, group_by="tag")


def test_hostile_text_is_cleaned_when_the_digest_is_built(hostile: Digest) -> None:
    evil, other = sorted(hostile.items, key=lambda item: item.id)
    assert (
        evil.title == '<script>alert("x")</script> ]]> --> <!-- [click](javascript:alert(1)) [31m'
    )
    assert evil.url is None  # not http(s)
    assert evil.author == "Eve Bcc: victim@example.org"
    assert evil.feed == '<b>Evil</b> & "Co" ]0;x'
    assert evil.tags == ("<i>x</i>", "]]>")
    assert "\ufffe" not in evil.excerpt
    assert "\x0b" not in evil.excerpt
    assert other.url == "https://evil.example/a%20b%22%3Cc%3E'?q=1&r=%3Cs%3E"


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_input_is_escaped_in_every_format(hostile: Digest, fmt: str) -> None:
    text = render(hostile, fmt)  # type: ignore[arg-type]
    assert not any(
        (unicodedata.category(c) in ("Cc", "Cs") and c not in "\n") or c == "\ufffe" for c in text
    )
    assert "javascript:" not in text.replace("javascript:alert(1))", "")  # only as text
    if fmt == "html":
        tags = check_html(text)
        assert [t for t, _ in tags].count("a") == 1  # the https link only
        assert "&lt;script&gt;" in text
        assert "&lt;img src=x" in text
    elif fmt == "md":
        rendered = MarkdownIt("commonmark").render(text)
        assert "<script" not in rendered
        assert "<img" not in rendered
        assert "<b>" not in rendered
        hrefs = [a for t, a in tags_of(rendered) if t == "a"]
        assert [a["href"] for a in hrefs] == ["https://evil.example/a%20b%22%3Cc%3E'?q=1&r=%3Cs%3E"]
        assert "<ul>" not in rendered
        assert "<ol>" not in rendered
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in rendered
    elif fmt == "atom":
        parsed = feedparser.parse(text.encode())
        assert parsed.bozo is False, parsed.get("bozo_exception")
        assert [e.title for e in parsed.entries] == [i.title for i in hostile.items]
        links = [[link.href for link in e.get("links", [])] for e in parsed.entries]
        assert links == [[i.url] if i.url else [] for i in hostile.items]
    else:
        data = json.loads(text)
        items = data["items"] if fmt == "jsonfeed" else data["groups"][0]["items"]
        assert [i["title"] for i in items] == [i.title for i in hostile.items]


def tags_of(document: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(document)
    return parser.tags


# --- a digest of what a real poll archived ----------------------------------------------------


def test_a_digest_of_a_polled_site_names_the_feeds_that_carried_each_story(
    server: TestServer, tmp_path: Path
) -> None:
    site = NewsSite(server)
    config = parse_config(site.config_text(fetch_articles=False))
    with Store(tmp_path / "polled.db") as polled:
        before = datetime.now(UTC) - timedelta(minutes=1)
        poll_site(config, polled)
        after = datetime.now(UTC) + timedelta(minutes=1)
        digest = build_digest(polled, since=before, until=after, group_by="feed")
        assert len(digest.items) == 6
        first = next(i for i in digest.items if i.title == site.titles[1])
        assert {first.feed, *(c.feed for c in first.also_in)} == {
            "Daily Test RSS",
            "Daily Test Atom",
        }
        assert {g.name for g in digest.groups} == {
            "Daily Test RSS",
            "Daily Test Atom",
            "Daily Test JSON",
        }
        assert feedparser.parse(render(digest, "atom").encode()).bozo is False


# --- mail through a real SMTP server on loopback ----------------------------------------------

USER, PASSWORD = "digest", "s3cret"


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message it is given, and how it came."""

    received: list[tuple[Envelope, Session]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.received.append((envelope, session))
        return "250 OK"

    def message(self) -> EmailMessage:
        ((envelope, _),) = self.received
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


def check_login(
    server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=data)


def free_port() -> int:
    """A port nothing listens on (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """Start SMTP servers on 127.0.0.1 with the given aiosmtpd options: (mailbox, port)."""
    controllers: list[Controller] = []

    def start(**options: Any) -> tuple[Mailbox, int]:
        mailbox, port = Mailbox(), free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return mailbox, port

    yield start
    for controller in controllers:
        controller.stop()


def test_the_mail_is_multipart_alternative_with_text_and_html(
    digest: Digest, smtp_server: Any
) -> None:
    mailbox, port = smtp_server()
    smtp = SmtpSettings(host="127.0.0.1", port=port, sender="Digests <digest@example.org>")
    send_digest(digest, smtp=smtp, to=["me@example.org", "you@example.org"], password=None)

    ((envelope, session),) = mailbox.received
    assert envelope.mail_from == "digest@example.org"
    assert envelope.rcpt_tos == ["me@example.org", "you@example.org"]
    assert not session.authenticated
    message = mailbox.message()
    assert message.get_content_type() == "multipart/alternative"
    assert (
        message["Subject"]
        == "Digest: morning · 27 Nov 2026 07:00 to 28 Nov 2026 07:00 UTC · 3 stories"
    )
    assert message["To"] == "me@example.org, you@example.org"
    assert message["Message-ID"].endswith("@example.org>")
    plain, rich = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert rich.get_content_type() == "text/html"
    text = plain.get_content().replace("\r\n", "\n")
    assert "* Solar farm opens\n  https://solar.example/story\n  Alpha · 28 Nov" in text
    assert "Also in: Beta <https://solar.example/story?utm_source=beta>" in text
    document = rich.get_content().replace("\r\n", "\n")
    assert document == render(digest, "html")


def test_login_without_tls(digest: Digest, smtp_server: Any) -> None:
    mailbox, port = smtp_server(authenticator=check_login, auth_require_tls=False)
    smtp = SmtpSettings(host="127.0.0.1", port=port, username=USER)
    send_digest(digest, smtp=smtp, to=["me@example.org"], password=PASSWORD)
    ((_, session),) = mailbox.received
    assert session.authenticated
    assert session.auth_data.login == USER.encode()

    with pytest.raises(MailError, match=r"refused the login of digest: 535"):
        send_digest(digest, smtp=smtp, to=["me@example.org"], password="wrong")
    with pytest.raises(MailError, match="set AGGREGATOR_SMTP_PASSWORD"):
        send_digest(digest, smtp=smtp, to=["me@example.org"], password=None)
    assert len(mailbox.received) == 1


def test_a_server_that_wants_tls_before_login_is_explained(
    digest: Digest, smtp_server: Any
) -> None:
    _, port = smtp_server(authenticator=check_login)  # AUTH only after STARTTLS (the default)
    smtp = SmtpSettings(host="127.0.0.1", port=port, username=USER)
    with pytest.raises(MailError, match=r"does it need starttls: true\?"):
        send_digest(digest, smtp=smtp, to=["me@example.org"], password=PASSWORD)
    with pytest.raises(MailError, match="STARTTLS extension not supported"):
        send_digest(
            digest,
            smtp=replace(smtp, starttls=True),
            to=["me@example.org"],
            password=PASSWORD,
        )


def test_errors_name_the_server(digest: Digest, smtp_server: Any) -> None:
    port = free_port()
    smtp = SmtpSettings(host="127.0.0.1", port=port)
    with pytest.raises(MailError, match=f"cannot send the digest through 127.0.0.1:{port}"):
        send_digest(digest, smtp=smtp, to=["me@example.org"], password=None)
    with pytest.raises(MailError, match="no recipient"):
        send_digest(digest, smtp=smtp, to=[], password=None)
    with pytest.raises(MailError, match="cannot address"):
        send_digest(digest, smtp=smtp, to=["me@example.org\r\nBcc: x@example.org"], password=None)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_starttls_then_login_with_the_certificate_checked(
    digest: Digest, smtp_server: Any, certificate: tuple[Path, Path], monkeypatch: Any
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox, port = smtp_server(
        tls_context=context, require_starttls=True, authenticator=check_login
    )
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=True, username=USER)

    # Not signed by a trusted authority: refused, nothing sent, the password never sent.
    with pytest.raises(MailError, match="certificate verify failed"):
        send_digest(digest, smtp=smtp, to=["me@example.org"], password=PASSWORD)
    assert mailbox.received == []

    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client now trusts it
    send_digest(digest, smtp=smtp, to=["me@example.org"], password=PASSWORD)
    ((_, session),) = mailbox.received
    assert session.ssl is not None
    assert session.authenticated
    assert mailbox.message().get_content_type() == "multipart/alternative"


# --- the command ------------------------------------------------------------------------------


def test_the_digest_command_writes_mails_and_remembers(
    folder: Path, server: TestServer, smtp_server: Any
) -> None:
    from click.testing import CliRunner

    from aggregator.cli import cli
    from tests.site import NewsSite

    site = NewsSite(server)
    mailbox, port = smtp_server()
    (folder / "feeds.yaml").write_text(
        site.config_text() + "digests:\n  - name: morning\n    since: 30d\n    format: html\n"
        "    to: [me@example.org]\n"
    )
    text = (
        (folder / "feeds.yaml")
        .read_text()
        .replace("settings:\n", f"settings:\n  smtp: {{host: 127.0.0.1, port: {port}}}\n", 1)
    )
    (folder / "feeds.yaml").write_text(text)
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], catch_exceptions=False).exit_code == 0
    time.sleep(1.1)  # a period ends before the current second: what lands in it comes next

    shown = runner.invoke(cli, ["digest", "--since", "1h", "--group-by", "feed"])
    assert shown.exit_code == 0, shown.output
    assert site.titles[4] in shown.output
    assert "Also in: [Daily Test " in shown.output

    out = folder / "new.atom.xml"
    written = runner.invoke(cli, ["digest", "--format", "atom", "-o", str(out)])
    assert written.exit_code == 0, written.output
    parsed = feedparser.parse(out.read_bytes())
    assert not parsed.bozo
    assert len(parsed.entries) == 5

    mailed = runner.invoke(cli, ["digest", "--name", "morning", "--since", "last"])
    assert mailed.exit_code == 0, mailed.output
    assert "mailed 5 stories to me@example.org" in mailed.output
    assert mailbox.message().get_content_type() == "multipart/alternative"
    again = runner.invoke(cli, ["digest", "--name", "morning", "--since", "last", "-o", "-"])
    assert again.exit_code == 0, again.output
    assert site.titles[4] not in again.output  # nothing new since the last run

    nameless = runner.invoke(cli, ["digest", "--since", "last"])
    assert nameless.exit_code == 2
    assert "--since last needs --name" in nameless.output
    unknown = runner.invoke(cli, ["digest", "--feed", "nope"])
    assert unknown.exit_code == 2


def test_a_crontab_schedule_fires_on_the_days_cron_means() -> None:
    from zoneinfo import ZoneInfo

    from aggregator.scheduler import cron_trigger

    trigger = cron_trigger("0 7 * * 1-5")  # weekdays at 07:00 (cron: 1 = Monday)
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=ZoneInfo("UTC"))
    fire = trigger.get_next_fire_time(None, saturday.astimezone(trigger.timezone))
    assert fire is not None
    assert (fire.strftime("%a"), fire.hour, fire.minute) == ("Mon", 7, 0)
    sunday = cron_trigger("30 8 * * 0").get_next_fire_time(None, saturday)
    assert sunday is not None
    assert sunday.strftime("%a %H:%M") == "Sun 08:30"


# --- the feed-health section ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sick_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Feeds with every kind of problem, polled from a real local server (tests/test_health)."""
    from tests.test_health import make_sick_archive

    with TestServer() as server:
        sick = make_sick_archive(server, tmp_path_factory.mktemp("sick"))
        with Store(sick.db) as s:
            yield s


def health_digest(store: Store, **options: Any) -> Digest:
    from tests.test_health import NOW

    return build_digest(store, since=NOW - DAY, until=NOW, problems=True, **options)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_digest_ends_with_the_feed_health_report(sick_archive: Store, fmt: str) -> None:
    digest = health_digest(sick_archive)
    assert digest.health is not None
    assert len(digest.health) == 10
    text = render(digest, fmt)  # type: ignore[arg-type]
    if fmt == "md":
        assert "## Feed health\n\n### Failing (2)\n\n- **" in text
        rendered = MarkdownIt("commonmark").render(text)
        # The archive still lists the feed dropped from feeds.yaml (no poll since): the
        # digest goes by the archive, where its validators are the problem.
        assert "<h3>Validators that do not help (3)</h3>" in rendered
        assert "recognised by its hash and not parsed again" in rendered
    elif fmt == "html":
        for tag, attrs in tags_of(text):  # check_html's, but its links are http here
            assert tag in BODY_TAGS | {"html", "head", "meta", "title", "body"}
            assert tag not in BODY_TAGS or attrs.get("style")
        assert ">Feed health</h2>" in text
        assert ">Retired (410 Gone) (1)</h3>" in text
        assert "What to do: If the feed is back, poll it again" in text
    elif fmt == "json":
        health = json.loads(text)["health"]
        assert [p["kind"] for p in health][:3] == ["failing", "failing", "retired"]
        assert health[2]["command"].startswith("aggregator revive http://127.0.0.1:")
    else:
        entries = (
            feedparser.parse(text.encode()).entries if fmt == "atom" else json.loads(text)["items"]
        )
        *stories, report = entries
        assert report["title"] == "Feed health: 10 feeds need attention"
        assert report["id"].endswith(f"/health/{digest.until:%Y-%m-%dT%H:%M:%SZ}")
        content = report["content"][0]["value"] if fmt == "atom" else report["content_text"]
        assert content.startswith("Failing (2)\n\n* http://127.0.0.1:")
        assert "What to do: Write the new address into feeds.yaml" in content
        assert len(stories) == digest.count


def test_the_mail_has_the_report_in_its_text_part(sick_archive: Store, smtp_server: Any) -> None:
    mailbox, port = smtp_server()
    digest = health_digest(sick_archive)
    send_digest(
        digest, smtp=SmtpSettings(host="127.0.0.1", port=port), to=["me@x.org"], password=None
    )
    plain, rich = mailbox.message().iter_parts()
    text = plain.get_content().replace("\r\n", "\n")
    assert "\n== Feed health ==\n\nFailing (2)\n\n* http://127.0.0.1:" in text
    assert "Silent (2)" in text
    assert "Feed health" in rich.get_content()


def test_the_report_covers_the_digests_feeds_and_says_when_all_is_well(
    sick_archive: Store, store: Store
) -> None:
    one = health_digest(sick_archive, feeds=["Stubborn"])
    assert [(p.feed, p.kind) for p in one.health or ()] == [("Stubborn", "validators")]
    assert health_digest(sick_archive, tags=["nowhere"]).health == ()
    assert "health" not in json.loads(render(build_digest(sick_archive, since=T - DAY), "json"))

    fine = build_digest(store, since=T - DAY, until=T, problems=True, tags=["news"])
    assert fine.health == ()  # Alpha and Beta: polled, listed, with recent articles
    assert render(fine, "md").endswith("## Feed health\n\nEvery feed is fine.\n")
    assert "Every feed is fine." in render(fine, "html")
    assert json.loads(render(fine, "json"))["health"] == []
    # No entry in a feed when all is well: it would come up as news at every run.
    assert len(feedparser.parse(render(fine, "atom").encode()).entries) == fine.count
    assert len(json.loads(render(fine, "jsonfeed"))["items"]) == fine.count


def test_a_configured_digest_may_ask_for_the_report() -> None:
    config = parse_config("digests:\n  - name: d\n    problems: true\n  - name: e\n")
    assert [d.problems for d in config.digests] == [True, False]
    with pytest.raises(ConfigError, match=r"digests\[0\]\.problems"):
        parse_config("digests:\n  - name: d\n    problems: often\n")


def test_digest_problems_option_and_config_key(sick_archive: Store, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from aggregator.cli import cli

    config = tmp_path / "feeds.yaml"
    config.write_text("digests:\n  - name: weekly\n    problems: true\n  - name: plain\n")
    where = ["--config", str(config), "--db", str(sick_archive.path)]

    def health(*args: str) -> object:
        done = CliRunner().invoke(
            cli, [*where, "digest", "--format", "json", *args], catch_exceptions=False
        )
        assert done.exit_code == 0, done.output
        return json.loads(done.output).get("health")

    assert health() is None
    assert len(health("--problems")) == 10  # type: ignore[arg-type]
    assert len(health("--name", "weekly")) == 10  # type: ignore[arg-type]
    assert health("--name", "plain") is None


def test_a_scheduled_digest_mails_the_report_even_with_no_stories(
    sick_archive: Store, smtp_server: Any, tmp_path: Path
) -> None:
    from aggregator.config import Config, DigestConfig, Settings
    from aggregator.scheduler import deliver_digest, scheduled_digest
    from tests.test_health import NOW

    mailbox, port = smtp_server()
    quiet_week = NOW + timedelta(days=400)  # long after the last story
    digest = DigestConfig(name="health", to=("me@x.org",), problems=True)
    built = scheduled_digest(sick_archive, digest, now=quiet_week)
    assert built.count == 0
    assert built.health
    config = Config(settings=Settings(smtp=SmtpSettings(host="127.0.0.1", port=port)))
    done = deliver_digest(built, config, digest, folder=tmp_path)
    assert "mailed_to=me@x.org" in done
    assert "Feed health" in mailbox.message().get_body(("plain",)).get_content()
