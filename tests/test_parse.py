"""Tests for aggregator.parse: golden feeds of every format, identities, dates, errors."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import pyexpat
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.errors import NotAFeedError, ParseError
from aggregator.models import Entry, Feed
from aggregator.parse import MAX_AUTHOR, MAX_ID, MAX_TAGS, MAX_TITLE, MIN_EXPAT, parse
from tests.server import TestServer

FEEDS = Path(__file__).parent / "data" / "feeds"
GOLDEN = sorted(
    path
    for path in FEEDS.iterdir()
    if path.suffix in (".xml", ".json") and not path.name.endswith(".expected.json")
)
URL = "https://example.org/blog/feed.xml"


def rss(items: str, channel: str = "<title>T</title>") -> bytes:
    """An RSS 2.0 document with the given channel elements and items."""
    return f'<rss version="2.0"><channel>{channel}{items}</channel></rss>'.encode()


def json_feed(**fields: Any) -> bytes:
    """A JSON Feed 1.1 document titled "J" with the given top-level fields."""
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "J", **fields}
    ).encode()


def as_json(value: Any) -> Any:
    """A Feed or Entry in the shape of the ``*.expected.json`` files."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: as_json(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, tuple):
        return [as_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- golden files ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.name)
def test_golden(path: Path) -> None:
    content_type = "application/feed+json" if path.suffix == ".json" else "application/xml"
    feed = parse(
        path.read_bytes(), f"https://example.org/feeds/{path.name}", {"Content-Type": content_type}
    )
    expected = json.loads(path.with_name(f"{path.stem}.expected.json").read_text("utf-8"))
    actual = as_json(feed)

    expected_entries, actual_entries = expected.pop("entries"), actual.pop("entries")
    assert actual.keys() == expected.keys()
    for field, value in expected.items():
        assert actual[field] == value, f"feed.{field}"
    assert [entry["id"] for entry in actual_entries] == [entry["id"] for entry in expected_entries]
    for index, (got, want) in enumerate(zip(actual_entries, expected_entries, strict=True)):
        assert got.keys() == want.keys()
        for field, value in want.items():
            assert got[field] == value, f"entries[{index}].{field}"


def test_golden_files_cover_every_format() -> None:
    versions = {
        json.loads(path.with_name(f"{path.stem}.expected.json").read_text())["version"]
        for path in GOLDEN
    }
    assert versions == {
        "rss090",
        "rss091n",
        "rss091u",
        "rss092",
        "rss10",
        "rss20",
        "atom03",
        "atom10",
        "json10",
        "json11",
    }


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.name)
def test_dates_are_utc(path: Path) -> None:
    feed = parse(path.read_bytes(), URL)
    dates = [date for entry in feed.entries for date in (entry.published, entry.updated) if date]
    assert all(date.tzinfo is UTC for date in dates)


# --- links and identity ----------------------------------------------------------------------


def test_relative_links_resolve_against_the_given_url() -> None:
    body = rss(
        '<item><guid isPermaLink="false">1</guid><link>posts/1</link>'
        '<description>&lt;img src="img/a.png"&gt;</description>'
        '<enclosure url="../a.mp3" type="audio/mpeg" length="1"/></item>',
        channel="<title>T</title><link>/</link>",
    )
    first = parse(body, "https://one.example/x/feed")
    second = parse(body, "http://two.example/y/z/feed")

    assert first.site_url == "https://one.example/"
    assert first.entries[0].url == "https://one.example/x/posts/1"
    assert first.entries[0].enclosures == ("https://one.example/a.mp3",)
    assert first.entries[0].summary == '<img src="https://one.example/x/img/a.png" />'
    assert second.entries[0].url == "http://two.example/y/z/posts/1"
    assert second.entries[0].id == first.entries[0].id == "1"


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "mailto:me@example.org",
        "ftp://example.org/file",
        "http://",
        "https://[::1",
        "https://example.org/" + "a" * 5000,
        "https://example.org:99999/",
        "https://example.org:8o/",
        "https://tag>  <modified>2004-05-03T20:56:43Z</modified>",
        "https://exa mple.org/",
    ],
)
def test_links_that_are_not_http_urls_are_dropped(link: str) -> None:
    body = rss(f"<item><title>x</title><link>{link.replace('<', '&lt;')}</link></item>")
    entry = parse(body, URL).entries[0]
    assert entry.url is None
    assert entry.id.startswith("sha256:")


def test_fallback_ids_are_stable_and_distinct() -> None:
    body = rss(
        "<item><title>One</title><description>first</description></item>"
        "<item><title>Two</title><pubDate>Tue, 07 Jan 2025 08:00:00 GMT</pubDate></item>"
        "<item><title>Two</title><pubDate>Wed, 08 Jan 2025 08:00:00 GMT</pubDate></item>"
    )
    first = [entry.id for entry in parse(body, URL).entries]
    again = [entry.id for entry in parse(body, URL).entries]
    elsewhere = [entry.id for entry in parse(body, "https://other.example/feed").entries]

    assert first == again
    assert len(set(first)) == 3
    assert all(entry_id.startswith("sha256:") for entry_id in first)
    assert not set(first) & set(elsewhere)


def test_link_is_the_identity_without_a_guid() -> None:
    entry = parse(rss("<item><title>x</title><link>/a</link></item>"), URL).entries[0]
    assert entry.guid is None
    assert entry.id == entry.url == "https://example.org/a"


def test_entries_with_nothing_in_them_are_skipped() -> None:
    feed = parse(rss("<item></item><item><title>kept</title></item>"), URL)
    assert [entry.title for entry in feed.entries] == ["kept"]


def item(guid: str, title: str, extra: str = "") -> str:
    return f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title>{extra}</item>'


def test_duplicate_ids_keep_one_entry_whatever_their_order() -> None:
    """Deterministic means: which entry is kept for an id depends on the set of items, not on
    their order, so a server that shuffles its items between polls gives the same entries
    (only their order follows the document)."""
    items = [
        item("same", "short", "<description>a</description>"),
        item("same", "longest", "<description>a longer text</description>"),
        item("other", "other"),
        item("same", "twin", "<description>same length</description>"),
        item("same", "twin", "<description>same length</description>"),
    ]
    kept = {
        frozenset(parse(rss("".join(order)), URL).entries)
        for order in itertools.permutations(items)
    }
    assert len(kept) == 1
    assert {(entry.id, entry.title) for entry in kept.pop()} == {
        ("same", "longest"),
        ("other", "other"),
    }


def test_a_guid_reused_for_different_links_keeps_every_story_whatever_the_order() -> None:
    items = [
        item("reused", "first story", "<link>https://example.org/a</link>"),
        item("reused", "second story", "<link>https://example.org/b</link>"),
        item(
            "reused",
            "first again",
            "<link>https://example.org/a</link><description>x</description>",
        ),
        item("reused", "no link"),
    ]
    kept = {
        frozenset((e.id, e.title) for e in parse(rss("".join(order)), URL).entries)
        for order in itertools.permutations(items)
    }
    assert len(kept) == 1
    entries = {title: entry_id for entry_id, title in kept.pop()}
    assert set(entries) == {"first again", "second story", "no link"}
    assert entries["no link"] == "reused"
    assert entries["first again"].startswith("sha256:")
    assert len(set(entries.values())) == 3


def test_duplicate_ids_keep_the_order_of_first_appearance() -> None:
    body = rss(item("a", "a1") + item("b", "b") + item("a", "a2", "<description>x</description>"))
    assert [(entry.id, entry.title) for entry in parse(body, URL).entries] == [
        ("a", "a2"),
        ("b", "b"),
    ]


def test_duplicate_ids_without_dates_or_text_still_pick_one_stably() -> None:
    items = [item("x", "one"), item("x", "two"), item("x", "three")]
    titles = {
        parse(rss("".join(order)), URL).entries[0].title for order in itertools.permutations(items)
    }
    assert len(titles) == 1


def test_duplicate_ids_prefer_the_latest_date_then_the_longest_text() -> None:
    items = [
        item("x", "new", "<pubDate>Wed, 08 Jan 2025 08:00:00 GMT</pubDate>"),
        item(
            "x",
            "old",
            "<pubDate>Tue, 07 Jan 2025 08:00:00 GMT</pubDate><description>more</description>",
        ),
        item("x", "undated", "<description>the longest text of all three</description>"),
    ]
    for order in itertools.permutations(items):
        assert [entry.title for entry in parse(rss("".join(order)), URL).entries] == ["new"]
    undated = [items[1].replace("<pubDate>Tue, 07 Jan 2025 08:00:00 GMT</pubDate>", ""), items[2]]
    for order in itertools.permutations(undated):
        assert [entry.title for entry in parse(rss("".join(order)), URL).entries] == ["undated"]


def test_duplicate_ids_in_json_feed_keep_one_entry_whatever_their_order() -> None:
    items = [{"id": "a", "title": "first"}, {"id": "a", "title": "second", "summary": "more"}]
    for order in (items, items[::-1]):
        assert [entry.title for entry in parse(json_feed(items=order), URL).entries] == ["second"]


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "date",
    [
        "0000-00-00",
        "0000-00-00T00:00:00Z",
        "garbage",
        "Fri, 31 Dec 9999 23:59:59 -1200",
        "2024-13-45T99:99:99Z",
        "Mon, 99 Jan 2024 99:99:99 GMT",
        "-0001-01-01T00:00:00Z",
        "",
        "10000-01-01T00:00:00Z",
        "2099-02-30T00:00:00Z",
        "2024-01-01T25:00:00Z",
        "2024-01-01T23:60:00Z",
        "99-12-31T00:00:00Z",
        "2024-W60-1",
    ],
)
def test_bad_dates_become_none(date: str) -> None:
    body = rss(f"<item><title>x</title><pubDate>{date}</pubDate></item>")
    entry = parse(body, URL).entries[0]
    assert entry.published is None
    assert entry.updated is None


def test_far_future_date_is_kept() -> None:
    body = rss("<item><title>x</title><pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate></item>")
    assert parse(body, URL).entries[0].published == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thu, 01 Jan 2099 00:00:00 GMT", datetime(2099, 1, 1, tzinfo=UTC)),
        ("2099-01-01T00:00:00Z", datetime(2099, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2024-01-01T10:00:00.9+01:00", datetime(2024, 1, 1, 9, tzinfo=UTC)),
        ("2024-01-01T24:00:00Z", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-W01-2", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T10:00:00GMT", datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("10000-01-01T00:00:00Z", None),
        ("2099-02-30T00:00:00Z", None),
        ("0000-00-00", None),
        ("0000-01-01T00:00:00Z", None),
        ("garbage", None),
    ],
)
def test_atom_and_dublin_core_dates(text: str, expected: datetime | None) -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><id>x</id>'
        f"<published>{text}</published><updated>{text}</updated></entry></feed>"
    ).encode()
    dublin_core = (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>'
        f"<item><title>x</title><dc:date>{text}</dc:date></item></channel></rss>"
    ).encode()
    entry = parse(atom, URL).entries[0]
    assert (entry.published, entry.updated) == (expected, expected)
    assert parse(dublin_core, URL).entries[0].updated == expected


def test_updated_does_not_fall_back_to_published() -> None:
    body = rss("<item><title>x</title><pubDate>Tue, 07 Jan 2025 08:00:00 +0100</pubDate></item>")
    entry = parse(body, URL).entries[0]  # feedparser's fallback would warn, and warnings fail
    assert entry.published == datetime(2025, 1, 7, 7, 0, tzinfo=UTC)
    assert entry.updated is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-11-06T08:00:00+01:00", datetime(2024, 11, 6, 7, 0, tzinfo=UTC)),
        ("2024-11-06t08:00:00z", datetime(2024, 11, 6, 8, 0, tzinfo=UTC)),
        ("2024-11-06T08:00:00", datetime(2024, 11, 6, 8, 0, tzinfo=UTC)),
        ("9999-12-31T23:59:59-01:00", None),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2099-01-01T00:00:00Z", datetime(2099, 1, 1, tzinfo=UTC)),
        ("10000-01-01T00:00:00Z", None),
        ("2099-02-30T00:00:00Z", None),
        ("0000-00-00T00:00:00Z", None),
        ("yesterday", None),
        (1730880000, None),
    ],
)
def test_json_feed_dates(value: object, expected: datetime | None) -> None:
    entry = parse(json_feed(items=[{"id": "1", "date_published": value}]), URL).entries[0]
    assert entry.published == expected


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [("60", 60), (" 15 ", 15), ("soon", None), ("-5", None), ("0", None), ("99999999", None)],
)
def test_ttl(ttl: str, expected: int | None) -> None:
    assert parse(rss("", channel=f"<title>T</title><ttl>{ttl}</ttl>"), URL).ttl == expected


SYNDICATION = "http://purl.org/rss/1.0/modules/syndication/"


@pytest.mark.parametrize(
    ("period", "frequency", "expected"),
    [
        ("hourly", "2", 1800.0),
        ("daily", None, 86400.0),
        (None, "4", 21600.0),
        (" Weekly ", "1", 7 * 86400.0),
        ("monthly", None, 30 * 86400.0),
        ("yearly", "12", 365 * 86400.0 / 12),
        ("hourly", "3600", 1.0),
        (None, None, None),
        ("", "", None),
        ("fortnightly", "1", None),
        ("hourly", "0", None),
        ("hourly", "-2", None),
        ("hourly", "1.5", None),
        ("hourly", "often", None),
        ("hourly", "3601", None),
        ("daily", "99999999999999999999", None),
    ],
)
def test_update_interval_from_the_syndication_module(
    period: str | None, frequency: str | None, expected: float | None
) -> None:
    elements = "".join(
        f"<sy:{name}>{value}</sy:{name}>"
        for name, value in (("updatePeriod", period), ("updateFrequency", frequency))
        if value is not None
    )
    body = (
        f'<rss version="2.0" xmlns:sy="{SYNDICATION}"><channel><title>T</title>{elements}'
        "</channel></rss>"
    ).encode()
    feed = parse(body, URL)
    assert feed.warning is None
    assert feed.update_interval == expected


def test_update_interval_is_found_by_namespace_not_prefix() -> None:
    body = (
        f'<rss version="2.0" xmlns:syn="{SYNDICATION}"><channel><title>T</title>'
        "<syn:updatePeriod>hourly</syn:updatePeriod></channel></rss>"
    ).encode()
    assert parse(body, URL).update_interval == 3600.0


def test_update_interval_of_a_feed_without_the_module_is_none() -> None:
    assert parse(rss("<item><title>x</title></item>"), URL).update_interval is None
    assert parse(json_feed(items=[]), URL).update_interval is None


# --- JSON Feed -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'  \n{"version": "https://jsonfeed.org/version/1", "items": []}', {}),
        (b'\xef\xbb\xbf{"version": "https://jsonfeed.org/version/1", "items": []}', {}),
        (
            b'{"version": "https://jsonfeed.org/version/1", "items": []}',
            {"Content-Type": "text/plain"},
        ),
        (
            b'\xef\xbb\xbf {"version": "https://jsonfeed.org/version/1", "items": []}',
            {"CONTENT-TYPE": "application/feed+json"},
        ),
    ],
)
def test_json_feed_is_detected(body: bytes, headers: dict[str, str]) -> None:
    assert parse(body, URL, headers).version == "json10"


def test_xml_served_as_json_is_still_read_as_xml() -> None:
    feed = parse(rss("<item><title>x</title></item>"), URL, {"Content-Type": "application/json"})
    assert feed.version == "rss20"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "invalid JSON"),
        (b'{"version": "https://jsonfeed.org/version/1", "title": "\xff"}', "invalid JSON"),
        (b"{" + b'"a":[' * 100_000, "invalid JSON"),
        (b"[1, 2]", "not a feed: the JSON document is not an object"),
        (
            b'{"title": "no version", "items": []}',
            "not a feed: JSON without a jsonfeed.org version",
        ),
        (b'{"version": "https://example.org/v1", "items": []}', "not a feed: JSON without"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": "x"}',
            "unreadable feed: JSON Feed has no items list",
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [1, "x"]}',
            "unreadable feed: skipped 2",
        ),
    ],
)
def test_malformed_json_feed_is_a_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(body, URL, {"content-type": "application/json"})
    assert str(caught.value).startswith(message)


def test_json_feed_without_items_but_with_a_title_warns() -> None:
    feed = parse(json_feed(items={"not": "a list"}), URL)
    assert feed.entries == ()
    assert feed.warning == "JSON Feed has no items list"


WRONG_TYPES = {"id": ["x"], "url": 5, "title": {"a": 1}, "summary": 3, "content_html": None}


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (WRONG_TYPES, None),
        ({"id": True, "authors": "Ann", "author": ["Ann"], "attachments": {"url": "x"}}, None),
        (
            {"id": "x", "tags": [[], " a  b ", 7], "date_modified": [], "content_text": 5},
            Entry(id="x", guid="x", tags=("a b",)),
        ),
        (
            {"id": 7, "attachments": [{"url": 5}, {"url": "/a.mp3"}], "authors": [{"name": 5}]},
            Entry(id="7", guid="7", enclosures=("https://example.org/a.mp3",)),
        ),
    ],
)
def test_json_feed_fields_of_the_wrong_type_are_ignored(
    item: dict[str, Any], expected: Entry | None
) -> None:
    entries = parse(json_feed(items=[item, {"id": "ok"}]), URL).entries
    assert entries == (*([expected] if expected else []), Entry(id="ok", guid="ok"))


def test_json_feed_lone_surrogates_are_replaced() -> None:
    body = json_feed(items=[{"id": "\udfff"}]).replace(b'"J"', b'"a\\ud800b"')
    feed = parse(body, URL)
    assert feed.title == "a?b"
    assert feed.entries[0].id == "?"


def test_json_feed_content_html_is_sanitized_and_resolved() -> None:
    item = {
        "id": "1",
        "content_html": '<p onclick="x()">Hi <a href="/p">p</a></p><script>bad()</script>',
    }
    entry = parse(json_feed(items=[item]), "https://example.org/feed.json").entries[0]
    assert entry.content == '<p>Hi <a href="https://example.org/p">p</a></p>'


# --- not feeds and broken feeds --------------------------------------------------------------

HTML_PAGE = b"""<!DOCTYPE html>
<html><head>
  <title>A blog</title>
  <link rel="stylesheet" href="/style.css">
  <link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">
  <link rel="Alternate" type="application/atom+xml; charset=utf-8" href="https://cdn.example.org/a">
  <link rel="alternate" type="application/feed+json" href="feed.json">
  <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
  <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body><p>Welcome</p></body></html>"""


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/octet-stream"])
def test_html_page_is_not_a_feed_and_names_its_alternates(content_type: str) -> None:
    with pytest.raises(NotAFeedError) as caught:
        parse(HTML_PAGE, "https://example.org/blog/", {"Content-Type": content_type})
    assert str(caught.value) == (
        "not a feed: got an HTML page, which advertises https://example.org/feed.xml, "
        "https://cdn.example.org/a, https://example.org/blog/feed.json"
    )
    assert caught.value.alternates == (
        "https://example.org/feed.xml",
        "https://cdn.example.org/a",
        "https://example.org/blog/feed.json",
    )


def test_html_page_alternates_honour_the_base_element() -> None:
    page = (
        b'<html><head><base href="https://static.example.org/site/">'
        b'<link rel="alternate" type="application/rss+xml" href="rss"></head></html>'
    )
    with pytest.raises(ParseError, match=r"advertises https://static\.example\.org/site/rss$"):
        parse(page, URL, {"content-type": "text/html"})


def test_html_page_that_trips_the_html_parser_still_names_its_alternates() -> None:
    page = b'<html><link rel="alternate" type="application/rss+xml" href="/f"><![CDAx oops'
    with pytest.raises(ParseError, match=r"advertises https://example\.org/f$"):
        parse(page, URL)


def test_html_page_without_alternates() -> None:
    with pytest.raises(ParseError, match=r"^not a feed: got an HTML page that advertises no feed$"):
        parse(b"<html><body><p>Hello</p></body></html>", URL, {"content-type": "text/html"})


@pytest.mark.parametrize("body", [b"", b"   \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf  \n"])
def test_empty_document(body: bytes) -> None:
    with pytest.raises(ParseError, match=r"^empty document$"):
        parse(body, URL)


@pytest.mark.parametrize(
    "body",
    [
        b"<?xml version='1.0'?><catalog><book>x</book></catalog>",
        b"\x00\x01\x02 binary junk",
        b"plain text, not markup",
    ],
)
def test_other_documents_are_not_feeds(body: bytes) -> None:
    with pytest.raises(ParseError, match=r"^not a feed: "):
        parse(body, URL)


def test_recovered_malformed_xml_gives_entries_and_a_warning() -> None:
    body = rss("<item><title>Fish & Chips</title></item><item><title>Salt</title></item>")
    feed = parse(body, URL)
    assert [entry.title for entry in feed.entries] == ["Fish & Chips", "Salt"]
    assert feed.warning is not None
    assert feed.warning.startswith("SAXParseException: line ")


def test_truncated_feed_with_a_title_is_a_feed_with_a_warning() -> None:
    feed = parse(b'<rss version="2.0"><channel><title>Cut short</title>', URL)
    assert feed.title == "Cut short"
    assert feed.entries == ()
    assert feed.warning is not None


def test_broken_feed_with_nothing_usable_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"^unreadable feed: SAXParseException: line "):
        parse(b'<rss version="2.0"><channel><item><bogus a=1></item>', URL)


def test_valid_feed_without_title_or_entries_is_fine() -> None:
    feed = parse(rss("", channel=""), URL)
    assert (feed.version, feed.title, feed.entries, feed.warning) == ("rss20", None, (), None)


def test_document_that_crashes_feedparser_is_a_parse_error() -> None:
    body = b'<rss version="2.0"><channel><title>&#xD800;</title><item>&</item></channel></rss>'
    with pytest.raises(ParseError, match=r"^unreadable document: UnicodeEncodeError"):
        parse(body, URL)


@pytest.mark.parametrize("content_type", [None, "text/xml", "text/html", "text/plain"])
def test_sloppy_content_types_are_not_warnings(content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    feed = parse(rss("<item><title>caf\u00e9</title></item>"), URL, headers)
    assert feed.warning is None
    assert feed.entries[0].title == "caf\u00e9"


# --- headers and inputs that must not be opened ----------------------------------------------


def test_header_names_in_any_case_are_honoured() -> None:
    body = '<rss version="2.0"><channel><title>Caf\u00e9</title><link>/</link></channel></rss>'
    headers = {
        "Content-Type": "application/rss+xml; charset=ISO-8859-1",
        "Content-Location": "https://misleading.example/",
    }
    feed = parse(body.encode("iso-8859-1"), URL, headers)
    assert feed.title == "Caf\u00e9"
    assert feed.site_url == "https://example.org/"


def test_a_file_path_as_body_is_not_opened(tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss("<item><title>secret</title></item>"))
    for body in (str(feed_file).encode(), b"/etc/passwd"):
        with pytest.raises(ParseError, match=r"^not a feed: "):
            parse(body, URL)


def test_a_url_as_body_is_not_fetched(server: TestServer) -> None:
    feed_url = server.add(
        "/feed.xml", body=rss("<item><title>x</title></item>"), content_type="application/rss+xml"
    )
    for body in (feed_url.encode(), f"  {feed_url}\n".encode()):
        with pytest.raises(ParseError, match=r"^not a feed: "):
            parse(body, URL)
    assert server.requests == []


# --- bounded fields --------------------------------------------------------------------------


def test_string_fields_are_bounded() -> None:
    huge_guid = "g" * 10_000
    tags = "".join(f"<category>t{n}</category>" for n in range(200))
    body = rss(
        f'<item><title>{"T" * 100_000}</title><guid isPermaLink="false">{huge_guid}</guid>{tags}'
        f"<link>https://example.org/{'p' * 5000}</link><author>{'a' * 10_000}</author></item>",
        channel=f"<title>{'F' * 100_000}</title><language>{'x' * 500}</language>",
    )
    feed = parse(body, URL)
    entry = feed.entries[0]
    assert len(feed.title or "") == MAX_TITLE
    assert feed.language is None
    assert len(entry.title or "") == MAX_TITLE
    assert len(entry.guid or "") == MAX_ID
    assert entry.id == "sha256:" + hashlib.sha256(huge_guid.encode()).hexdigest()
    assert entry.url is None
    assert len(entry.author or "") == MAX_AUTHOR
    assert len(entry.tags) == MAX_TAGS


# --- hostile XML: entity expansion and external entities ------------------------------------


def parse_within_bounds(body: bytes, headers: dict[str, str] | None = None) -> Feed:
    """``parse(body)``, checking that it took under 2 s and 50 MB of memory at its peak."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        feed = parse(body, URL, headers)
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 2.0  # tracemalloc makes parsing several times slower than it is
    assert peak < 50 * 2**20
    return feed


def laughs(separator: str = "\n") -> str:
    """A DOCTYPE whose entity lol9 expands to a billion "lol"s (3 GB)."""
    declarations = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    return f"<!DOCTYPE rss [{separator}{separator.join(declarations)}{separator}]>"


def with_entity(prolog: str, reference: str = "&lol9;") -> str:
    return (
        f'{prolog}<rss version="2.0"><channel><title>T</title><item><guid>1</guid>'
        f"<title>{reference}</title><description>{reference}</description></item>"
        "</channel></rss>"
    )


PADDING = 64 * 1024
LAUGHS = {
    "one line": with_entity(laughs(separator="")),
    "one declaration per line": with_entity('<?xml version="1.0"?>\n' + laughs()),
    "after 64 KiB of comment hiding a tag": with_entity(
        f"<!-- <a> {'x' * PADDING} -->\n{laughs()}"
    ),
    "after 64 KiB of blank lines": with_entity("\n" * PADDING + laughs()),
    "after a 64 KiB processing instruction": with_entity(f"<?pad {'x' * PADDING}?>{laughs()}"),
    "after junk text": with_entity(f"junk <!-- <b> -->\n{laughs()}"),
}


@pytest.mark.parametrize("document", LAUGHS.values(), ids=LAUGHS.keys())
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_billion_laughs_are_not_expanded(document: str, encoding: str) -> None:
    assert_not_expanded(parse_within_bounds(document.encode(encoding)))


def test_billion_laughs_in_utf16_without_a_byte_order_mark_are_not_expanded() -> None:
    assert_not_expanded(parse_within_bounds(LAUGHS["one line"].encode("utf-16-be")))


def assert_not_expanded(feed: Feed) -> None:
    assert feed.entries[0].title == "&lol9;"  # the undefined reference, left as text
    assert len(repr(feed)) < 2000
    assert feed.warning is not None
    assert feed.warning.startswith("ignored the DTD inside the document")


@pytest.mark.parametrize("separator", ["", "\n"], ids=["one line", "one declaration per line"])
def test_quadratic_blowup_is_not_expanded(separator: str) -> None:
    """One 1 MB entity referenced 1,000 times: 1 GB. feedparser keeps such an entity as
    "safe" when declared on a line of its own, and its fallback parser expanded it (minutes)."""
    prolog = f'<!DOCTYPE rss [{separator}<!ENTITY a "{"a" * 1_000_000}">{separator}]>'
    feed = parse_within_bounds(with_entity(prolog, reference="&a;" * 1_000).encode())
    assert "aa" not in repr(feed)
    assert feed.warning is not None


def test_a_doctype_after_the_root_element_is_not_read() -> None:
    body = (
        b'<rss version="2.0"><!DOCTYPE rss [<!ENTITY a "boom">]><channel><title>T</title>'
        b"<item><title>&a;</title></item></channel></rss>"
    )
    feed = parse_within_bounds(body)
    assert "boom" not in repr(feed)
    assert feed.warning is not None


EXTERNAL = [
    '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{file}">]>',
    '<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>',
    '<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{url}">\n]>',
    '<!DOCTYPE rss [<!ENTITY xxe PUBLIC "-//Evil//Entity//EN" "{url}">]>',
    '<!DOCTYPE rss [<!ENTITY % dtd SYSTEM "{url}"> %dtd;]>',
    '<!DOCTYPE rss SYSTEM "{url}">',
    '<!-- <a> -->\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{file}">\n]>',
]


@pytest.mark.parametrize("declaration", EXTERNAL)
@pytest.mark.parametrize("recovered", [False, True], ids=["strict", "recovered"])
def test_external_entities_are_never_read(
    declaration: str, recovered: bool, tmp_path: Path, server: TestServer
) -> None:
    """XXE: no local file is read and no URL fetched, by expat or by feedparser's fallback
    parser (which reads the document when a bare '&' makes expat give up)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    dtd_url = server.add(
        "/evil.dtd", body='<!ENTITY xxe "FROM-SERVER">', content_type="application/xml-dtd"
    )
    prolog = declaration.format(file=secret.as_uri(), url=dtd_url)
    document = with_entity(prolog, reference="a&xxe;b")
    if recovered:
        document = document.replace("<title>T</title>", "<title>T & T</title>")
    feed = parse_within_bounds(document.encode())
    text = repr(feed)
    assert "TOP-SECRET" not in text
    assert "FROM-SERVER" not in text
    assert "root:" not in text
    assert feed.entries[0].title == "a&xxe;b"
    assert server.requests == []


def test_entities_a_feed_declares_for_html_names_still_read() -> None:
    """A harmless DTD is dropped too; the HTML names it declared still read as characters."""
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>\n'
        b'<rss version="2.0"><channel><title>A&nbsp;B</title>'
        b"<item><title>x &copy; &bogus;</title></item></channel></rss>"
    )
    feed = parse(body, URL)
    assert feed.title == "A B"  # a no-break space, made a plain one in a one-line field
    assert feed.entries[0].title == "x \xa9 &bogus;"
    assert feed.warning is not None


def test_netscape_doctype_is_recognized_wherever_the_prolog_puts_it() -> None:
    body = (
        b"<?xml version='1.0'?>\n<!-- <a> a comment -->\n\n"
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>T</title></channel></rss>'
    )
    feed = parse(body, URL)
    assert (feed.version, feed.title, feed.warning) == ("rss091n", "T", None)


@pytest.mark.parametrize(
    "prolog",
    [
        "\n\n  <?xml version='1.0'?>\n",
        "<?xml version='1.0'?>" + "\n" * PADDING,
        "<?xml version='1.0'?><!-- hello --><?xml-stylesheet href='a.xsl'?>",
        "Warning: a PHP notice before the feed\n<?xml version='1.0'?>",
    ],
    ids=["blank lines first", "64 KiB of blank lines", "comment and stylesheet", "junk first"],
)
def test_whatever_comes_before_the_root_element_is_ignored(prolog: str) -> None:
    """feedparser's DOCTYPE regexes took 10 s on 40 kB of blank lines: they never see them."""
    body = f'{prolog}<rss version="2.0"><channel><title>T</title></channel></rss>'.encode()
    feed = parse_within_bounds(body)
    assert (feed.title, feed.warning) == ("T", None)


def test_expat_is_recent_enough_to_refuse_entity_amplification() -> None:
    assert pyexpat.version_info >= MIN_EXPAT


def test_an_older_expat_is_refused_at_import() -> None:
    """In a child process: importing aggregator.parse anew here would replace its functions
    under the feet of the other tests (the process pool pickles them by name)."""
    script = (
        "import pyexpat; pyexpat.version_info = (2, 3, 0); "
        "pyexpat.EXPAT_VERSION = 'expat_2.3.0'; import aggregator.parse"
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 1
    assert child.stderr.rstrip().endswith(
        "ImportError: aggregator needs expat 2.4.0 or later to parse feeds safely; "
        "this Python has expat_2.3.0"
    )


# --- declared encodings that lie --------------------------------------------------------------


def titled(title: str, declared: str | None = None) -> str:
    declaration = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    return f'{declaration}<rss version="2.0"><channel><title>{title}</title></channel></rss>'


CAFE = "Caf\xe9 cr\xe8me"


@pytest.mark.parametrize(
    ("body", "content_type", "warning"),
    [
        (titled(CAFE, "ISO-8859-1").encode("latin-1"), None, None),
        (titled(CAFE).encode("latin-1"), "text/xml; charset=latin1", None),
        (titled(CAFE, "UTF-8").encode("latin-1"), "text/xml; charset=ISO-8859-1", None),
        (titled(CAFE).encode("utf-16"), "text/xml; charset=utf-8", None),
        (titled(CAFE).encode("utf-16-le"), None, None),
        (titled(CAFE).encode(), 'application/rss+xml; charset="UTF-8"', None),
        (
            titled(CAFE, "ISO-8859-1").encode(),
            None,
            "the document is not in its declared encoding ISO-8859-1; read it as UTF-8",
        ),
        (
            titled(CAFE, "UTF-8").encode(),
            "application/xml; charset=windows-1252",
            "the document is not in its declared encoding windows-1252; read it as UTF-8",
        ),
        (
            titled(CAFE, "UTF-8").encode("latin-1"),
            None,
            "the document is not in its declared encoding UTF-8; read it as windows-1252",
        ),
        (
            titled(CAFE).encode(),
            "text/xml; charset=utf-16",
            "the document is not in its declared encoding utf-16; read it as UTF-8",
        ),
        (
            titled(CAFE).encode(),
            "text/xml; charset=x-no-such-thing",
            "the document is not in its declared encoding x-no-such-thing; read it as UTF-8",
        ),
        (
            titled(CAFE, "unicode_escape").encode(),
            None,
            "the document is not in its declared encoding unicode_escape; read it as UTF-8",
        ),
        (
            titled(CAFE).encode("latin-1"),
            None,
            "the document is not UTF-8 and declares no encoding; read it as windows-1252",
        ),
    ],
)
def test_wrong_declared_encodings_give_way(
    body: bytes, content_type: str | None, warning: str | None
) -> None:
    """BOM, then Content-Type charset, then XML declaration, then UTF-8 (RFC 7303); a
    declaration that cannot be true gives way to UTF-8, then windows-1252, with a warning."""
    feed = parse(body, URL, {"Content-Type": content_type} if content_type else {})
    assert (feed.title, feed.warning) == (CAFE, warning)


def test_latin1_labels_read_as_windows_1252() -> None:
    body = titled("\u201cquoted\u201d \u2013 caf\xe9").encode("windows-1252")
    feed = parse(body, URL, {"Content-Type": "text/xml; charset=ISO-8859-1"})
    assert (feed.title, feed.warning) == ("\u201cquoted\u201d \u2013 caf\xe9", None)


def test_bytes_invalid_in_a_declared_encoding_are_replaced() -> None:
    body = titled("\u041f\u0440\u0438\u0432\u0435\u0442", "windows-1251").encode("cp1251")
    feed = parse(body.replace(b"</title>", b"\x98</title>"), URL)
    assert feed.title == "\u041f\u0440\u0438\u0432\u0435\u0442\ufffd"
    assert feed.warning == "the document has bytes that are not windows-1251"


def test_utf7_cannot_smuggle_markup() -> None:
    body = titled("+ADw-b+AD4-x", "utf-7").encode()
    feed = parse(body, URL)
    assert feed.title == "+ADw-b+AD4-x"
    assert feed.warning == "the document is not in its declared encoding utf-7; read it as UTF-8"
