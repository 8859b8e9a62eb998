"""Property tests: parse, extract, clean_feed_html and canonical_url on random and mutated input.

Whatever the input, only our own errors (``AggregatorError`` subclasses) may escape, and what
comes out keeps its invariants: bounded fields, http(s) links, UTC dates, text that SQLite can
store, an idempotent URL key. The inputs are the golden feeds and pages of ``tests/data``
mutated (bytes flipped, cut, deleted, duplicated, markup-breaking pieces inserted) and documents
generated from feed-shaped pieces. Runs are derandomized and keep no example database, so every
run tries the same inputs, in a few seconds.
"""

from __future__ import annotations

import dataclasses
import encodings.aliases
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dedup import canonical_url
from aggregator.errors import ExtractError, ParseError
from aggregator.extract import clean_feed_html, extract
from aggregator.extract._document import parse as parse_html
from aggregator.extract._pruning import prune_boilerplate
from aggregator.extract._render import render
from aggregator.models import Entry, Extracted, Feed
from aggregator.parse import (
    MAX_AUTHOR,
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_ENCLOSURES,
    MAX_ID,
    MAX_LANGUAGE,
    MAX_SUMMARY,
    MAX_TAG,
    MAX_TAGS,
    MAX_TITLE,
    parse,
)

DATA = Path(__file__).parent / "data"
FEEDS = tuple(
    path.read_bytes()
    for path in sorted((DATA / "feeds").iterdir())
    if not path.name.endswith(".expected.json")
)
PAGES = tuple(path.read_bytes() for path in sorted((DATA / "pages").glob("*.html")))
URL = "https://example.org/blog/feed.xml"


def runs(examples: int) -> settings:
    """Derandomized (the same inputs every run), no example database, no per-example deadline."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None)


# --- inputs ----------------------------------------------------------------------------------

NASTY = (
    b"<",
    b">",
    b"&",
    b"]]>",
    b"<![CDATA[",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"<!--",
    b"-->",
    b"<?",
    b"?>",
    b'<!DOCTYPE rss [<!ENTITY e "x">]>',
    b"&e;",
    b"&#0;",
    b"&#xD800;",
    b"&#x110000;",
    b"&#99999999999;",
    b"&nbsp;",
    b'"',
    b"'",
    b"</",
    b"<a href='javascript:alert(1)'>",
    b"<script>",
    b"</item>",
    b"<item>",
    b"<entry>",
    b"</entry>",
    b"<guid>",
    b"<pubDate>0000-00-00</pubDate>",
    b"<updated>10000-01-01T00:00:00Z</updated>",
    b"{",
    b"}",
    b"[",
    b'"items":',
    b'"id":',
    b"\\ud800",
    b"\r",
    b"\xc2\x85",  # NEL
    b"\xe2\x80\xa8",  # LINE SEPARATOR
    b'<a title="' + b"x" * 100_000 + b'">',
    b"<div>" * 2000,
)


@st.composite
def mutated(draw: st.DrawFn, corpus: tuple[bytes, ...]) -> bytes:
    """A document of ``corpus`` with a few bytes flipped, cut, deleted, duplicated or inserted."""
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["flip", "truncate", "delete", "duplicate", "insert"]))
        if operation == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "truncate":
            del data[at:]
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif operation == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 512))]
        else:
            data[at:at] = draw(st.sampled_from(NASTY) | st.binary(min_size=1, max_size=16))
    return bytes(data)


CHARSETS = sorted(
    {
        *encodings.aliases.aliases.values(),
        *["utf-7", "idna", "punycode", "unicode_escape", "x-no", "utf-8\x00", "UTF-8 ", ""],
    }
)
MEDIA_TYPES = [
    "application/rss+xml",
    "application/atom+xml",
    "text/xml",
    "text/html",
    "application/json",
    "application/feed+json",
    "text/plain",
]
charsets = st.sampled_from(CHARSETS) | st.text(max_size=12)
headers = st.just({}) | st.builds(
    lambda media_type, charset: {"Content-Type": f"{media_type}; charset={charset}"},
    st.sampled_from(MEDIA_TYPES),
    charsets,
)

XML_PIECES = [
    "<?xml version='1.0' encoding='utf-8'?>",
    "<?xml version='1.0' encoding='iso-8859-1'?>",
    "<?xml version='1.0' encoding='utf-16'?>",
    '<rss version="2.0">',
    '<rss version="0.91">',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns="http://purl.org/rss/1.0/">',
    "<channel>",
    "</channel>",
    "<item>",
    "</item>",
    "<entry>",
    "</entry>",
    "<title>",
    "</title>",
    '<title type="html">',
    "<guid>",
    '<guid isPermaLink="false">',
    "</guid>",
    "<id>",
    "</id>",
    "<link>",
    "</link>",
    '<link href="/a"/>',
    '<link rel="enclosure" href="x.mp3"/>',
    '<enclosure url="/e.mp3"/>',
    "<pubDate>",
    "</pubDate>",
    "<updated>",
    "</updated>",
    "<description>",
    "</description>",
    '<content type="html">',
    "</content>",
    "<category>",
    "</category>",
    "<ttl>",
    "</ttl>",
    "<author>",
    "</author>",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&lt;script&gt;",
    "&#xD800;",
    "&undefined;",
    '<!DOCTYPE rss [<!ENTITY a "b">]>',
    "&a;",
    "<!-- <a> -->",
    "https://example.org/p?utm_source=x#f",
    "javascript:alert(1)",
    "/relative",
    "Tue, 07 Jan 2025 08:00:00 GMT",
    "0000-00-00",
    "9999-12-31T23:59:59-12:00",
    "2099-02-30",
    "-1",
    " ",
    "\n",
]
xml_documents = st.lists(st.sampled_from(XML_PIECES) | st.text(max_size=8), max_size=40).map(
    lambda pieces: "".join(pieces)
)

JSON_KEYS = [
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "date_published",
    "date_modified",
    "author",
    "authors",
    "name",
    "tags",
    "attachments",
    "items",
    "home_page_url",
    "language",
    "description",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["\ud800", "<script>x</script>", "/rel", "2099-02-30T00:00:00Z", "0"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(JSON_KEYS) | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=20,
)
json_feeds = st.builds(
    lambda version, items, fields: json.dumps({"version": version, "items": items, **fields}),
    st.sampled_from(["https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1"]),
    st.lists(st.dictionaries(st.sampled_from(JSON_KEYS), json_values) | json_values, max_size=5),
    st.dictionaries(st.sampled_from(JSON_KEYS), json_values, max_size=4),
)

HTML_PIECES = [
    "<html>",
    '<html lang="fr-CA">',
    "<head>",
    "</head>",
    "<body>",
    "</body>",
    "<title>",
    "</title>",
    "<p>",
    "</p>",
    "<div>",
    "</div>",
    "<article>",
    "</article>",
    '<div class="comments">',
    "<table><tr><td>",
    "</td></tr></table>",
    "<ul><li>",
    "</li></ul>",
    "<pre>",
    "</pre>",
    "<br>",
    "<script>",
    "</script>",
    "<style>",
    '<link rel="canonical" href="/c">',
    '<link rel="canonical" href="javascript:x">',
    '<base href="http://[::1">',
    '<meta property="og:url" content="https://other.example/o">',
    '<meta http-equiv="Content-Language" content="de">',
    '<meta name="date" content="9999-99-99">',
    '<meta charset="windows-1252">',
    "<![CDATA[",
    "<!--",
    "-->",
    "&amp;",
    "&#0;",
    "\x00",
    "\ufffe",
    "A sentence of several ordinary words that reads like prose in an article. ",
    "Copyright 2025. All rights reserved.",
    "Read more",
    "\n\n",
]
html_documents = st.lists(st.sampled_from(HTML_PIECES) | st.text(max_size=8), max_size=40).map(
    lambda pieces: "".join(pieces)
)


# --- invariants ------------------------------------------------------------------------------


def strings(value: object) -> Iterator[str]:
    """Every string inside a value object, its nested ones included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from strings(getattr(value, field.name))


def assert_storable(value: object) -> None:
    """SQLite stores UTF-8: no lone surrogates anywhere."""
    for text in strings(value):
        text.encode("utf-8")


def fits(value: str | None, limit: int) -> bool:
    return value is None or 0 < len(value) <= limit


def is_web_url(value: str | None) -> bool:
    """Whether ``value`` is a valid absolute http(s) URL."""
    if value is None:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError when out of range)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_utc(moment: datetime | None) -> bool:
    return moment is None or moment.tzinfo is UTC


def assert_entry(entry: Entry) -> None:
    assert entry.id
    assert len(entry.id) <= MAX_ID
    assert fits(entry.guid, MAX_ID)
    assert fits(entry.title, MAX_TITLE)
    assert fits(entry.author, MAX_AUTHOR)
    assert fits(entry.summary, MAX_SUMMARY)
    assert fits(entry.content, MAX_CONTENT)
    assert entry.url is None or is_web_url(entry.url)
    assert len(entry.enclosures) <= MAX_ENCLOSURES
    assert all(is_web_url(link) for link in entry.enclosures)
    assert len(entry.tags) <= MAX_TAGS
    assert all(fits(tag, MAX_TAG) for tag in entry.tags)
    assert is_utc(entry.published)
    assert is_utc(entry.updated)


def assert_feed(feed: Feed) -> None:
    assert feed.url == URL
    assert feed.version
    assert fits(feed.title, MAX_TITLE)
    assert fits(feed.description, MAX_DESCRIPTION)
    assert fits(feed.language, MAX_LANGUAGE)
    assert feed.site_url is None or is_web_url(feed.site_url)
    assert feed.ttl is None or feed.ttl > 0
    assert feed.update_interval is None or feed.update_interval >= 1
    ids = [entry.id for entry in feed.entries]
    assert len(ids) == len(set(ids))
    for entry in feed.entries:
        assert_entry(entry)
    assert_storable(feed)


def assert_phrase(error: Exception) -> None:
    """An error message is what a feed records and the CLI prints: one line, not empty."""
    message = str(error)
    assert message.strip()
    assert "\n" not in message


def parsed(body: bytes, response_headers: dict[str, str]) -> None:
    """``parse`` gives a ParseError, or a Feed that keeps the invariants, the same every time."""
    try:
        feed = parse(body, URL, response_headers)
    except ParseError as exc:
        assert_phrase(exc)
        return
    assert_feed(feed)
    assert parse(body, URL, response_headers) == feed


def assert_extracted(result: Extracted) -> None:
    assert result.text.strip()
    assert result.canonical_url is None or is_web_url(result.canonical_url)
    assert is_utc(result.published)
    assert_storable(result)


# --- parse -----------------------------------------------------------------------------------


@runs(150)
@given(body=mutated(FEEDS), response_headers=headers)
def test_parse_mutated_golden_feeds(body: bytes, response_headers: dict[str, str]) -> None:
    parsed(body, response_headers)


@runs(100)
@given(document=xml_documents, encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_parse_generated_xml(document: str, encoding: str) -> None:
    parsed(document.encode(encoding, "replace"), {})


@runs(60)
@given(document=json_feeds, response_headers=headers)
def test_parse_generated_json_feeds(document: str, response_headers: dict[str, str]) -> None:
    parsed(document.encode(), response_headers)


@runs(50)
@given(body=st.binary(max_size=200), response_headers=headers)
def test_parse_random_bytes(body: bytes, response_headers: dict[str, str]) -> None:
    parsed(body, response_headers)


@pytest.mark.parametrize("charset", CHARSETS)
def test_parse_any_declared_charset(charset: str) -> None:
    """Every encoding Python knows (and some it does not), declared by the Content-Type and by
    the XML declaration, on bytes that are not UTF-8."""
    document = '<rss version="2.0"><channel><title>caf\xe9</title></channel></rss>'
    body = document.encode("latin-1")
    parsed(body, {"Content-Type": f"application/rss+xml; charset={charset}"})
    parsed(f'<?xml version="1.0" encoding="{charset}"?>'.encode() + body, {})


# --- extract and clean_feed_html -------------------------------------------------------------


def extracted(page: str | bytes, encoding: str | None = None) -> None:
    """``extract`` gives an ExtractError, or an article that keeps the invariants."""
    try:
        result = extract(page, "https://example.org/posts/1", encoding=encoding)
    except ExtractError as exc:
        assert_phrase(exc)
        return
    assert_extracted(result)


@runs(60)
@given(page=mutated(PAGES))
def test_extract_mutated_golden_pages(page: bytes) -> None:
    extracted(page)


@runs(40)
@given(page=html_documents, encoding=st.sampled_from([None, "utf-8", "latin-1"]))
def test_extract_generated_pages(page: str, encoding: str | None) -> None:
    extracted(page if encoding is None else page.encode(encoding, "replace"))


PAGE = b"<html><body><p>Un caf\xe9 cr\xe8me, des mots, encore des mots, et des mots.</p>"


@pytest.mark.parametrize("charset", CHARSETS)
def test_extract_any_http_charset(charset: str) -> None:
    extracted(PAGE, charset)


@pytest.mark.parametrize("charset", CHARSETS)
def test_extract_any_meta_charset(charset: str) -> None:
    """(A NUL cannot get into a <meta> charset: extract reads a name of word characters.)"""
    extracted(f'<meta charset="{charset}">'.encode() + PAGE)


@runs(60)
@given(
    page=mutated(PAGES),
    encoding=charsets,
)
def test_extract_mutated_golden_pages_with_any_charset(page: bytes, encoding: str) -> None:
    """The page is made invalid UTF-8, so that the declared charset is used."""
    extracted(page + b"<p>caf\xe9</p>", encoding)


plain_lines = st.lists(
    st.sampled_from(
        ["Le café ouvre à neuf heures.", "© Copyright 2018. All rights reserved.", "Share this:",
         "Advertisement", "  ", "\t", "Read more: the rest", "Straße 5 — ja", "x"]
    )
    | st.text(max_size=30),
    max_size=6,
)  # fmt: skip


@runs(300)
@given(lines=plain_lines, separator=st.sampled_from(["\n", " ", "\n\n", "\t\n "]))
def test_plain_feed_text_is_cleaned_as_if_parsed(lines: list[str], separator: str) -> None:
    """Feed text with no markup skips the parser: the result is the parser's, to the byte."""
    text = separator.join(lines)
    try:
        tree = parse_html(f"<html><body>{text}</body></html>")
        prune_boilerplate(tree)
        parsed = render(tree.find("body"))
    except ExtractError:
        parsed = ""
    assert clean_feed_html(text) == parsed


@runs(60)
@given(fragment=html_documents | st.text(max_size=60))
def test_clean_feed_html(fragment: str) -> None:
    try:
        text = clean_feed_html(fragment, "https://example.org/posts/1")
    except ExtractError as exc:
        assert_phrase(exc)
        return
    assert isinstance(text, str)
    text.encode("utf-8")


# --- canonical_url ---------------------------------------------------------------------------

hosts = st.sampled_from(
    [
        "example.org",
        "EXAMPLE.org.",
        "b\xfccher.example",
        "xn--bcher-kva.example",
        "127.0.0.1",
        "[::1]",
        "[FE80::1%25eth0]",
        "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org",  # fullwidth
        "a\u3002b",  # ideographic full stop
        "example.org\u3002",
        "a..b",
        "",
        "user:pw@example.org",
    ]
) | st.text(max_size=12)
ports = st.sampled_from(["", ":80", ":443", ":8080", ":0", ":65536", ":x", ":"])
segments = st.sampled_from(
    ["", "a", "A", ".", "..", "%41", "%7e", "%2F", "%zz", "%", "b c", "\xfc"]
)
paths = st.lists(segments | st.text(max_size=4), max_size=6).map("/".join)
keys = st.sampled_from(["utm_source", "q", "a", "FBCLID", "", "a b", "%26", "=", "+"])
queries = st.lists(
    st.tuples(keys | st.text(max_size=4), st.text(max_size=4)).map("=".join), max_size=4
).map("&".join)
urls = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}/{path}{'?' if query else ''}{query}{fragment}"
    ),
    st.sampled_from(["http", "HTTPS", "ftp", "javascript", ""]),
    hosts,
    ports,
    paths,
    queries,
    st.sampled_from(["", "#", "#frag"]),
)


@runs(400)
@given(url=urls | st.text(max_size=40))
def test_canonical_url_is_idempotent(url: str) -> None:
    key = canonical_url(url)
    assert canonical_url(key) == key
    assert key == key.strip()
    if is_web_url(key):
        parts = urlsplit(key)
        assert parts.scheme in ("http", "https")
        assert not parts.fragment
        assert parts.username is None


@pytest.mark.parametrize("stop", ["\u3002", "\uff0e", "\uff61"])
def test_canonical_url_of_a_host_ending_in_a_wide_full_stop_is_idempotent(stop: str) -> None:
    """IDNA turns the ideographic, fullwidth and halfwidth full stops into '.', after the
    trailing dots were stripped: 'http://example.org./', then 'http://example.org/'."""
    key = canonical_url(f"http://example.org{stop}/")
    assert canonical_url(key) == key
