"""The fast parse path (aggregator.parse._fast) against feedparser, the reference.

For every document, parsing with the fast path allowed must give exactly the Feed (or the
error) that feedparser alone gives; the fast path may decline, never differ. The documents:
the golden feeds, a list of feedparser's quirks one by one, and a few hundred generated feeds
full of odd but valid things (and a few broken ones).
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.models import Feed
from aggregator.parse import parse
from aggregator.parse._fast import _ENDS, _STARTS, Declined, read
from aggregator.parse._prolog import prepare
from aggregator.parse._xml import parse_xml

FEEDS = Path(__file__).parent / "data" / "feeds"
URL = "https://example.org/blog/feed.xml"


def outcome(body: bytes, headers: dict[str, str], *, fast: bool) -> Feed | str:
    """What parse() gives for an XML document: a Feed, or the error's message."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    try:
        return parse_xml(body, URL, headers, media_type, fast=fast)
    except ParseError as exc:
        return f"{type(exc).__name__}: {exc}"


def takes_fast_path(body: bytes, headers: dict[str, str] | None = None) -> bool:
    headers = headers or {}
    try:
        read(prepare(body, headers.get("content-type", "")).data, URL, headers)
    except Declined:
        return False
    return True


def differences(fast: Feed | str, reference: Feed | str) -> list[str]:
    """Where two outcomes differ, field by field ("entries[2].summary: ... != ...")."""
    if isinstance(fast, str) or isinstance(reference, str):
        return [] if fast == reference else [f"{fast!r} != {reference!r}"]
    found = []
    for field in dataclasses.fields(Feed):
        mine, theirs = getattr(fast, field.name), getattr(reference, field.name)
        if field.name == "entries" and len(mine) == len(theirs):
            for index, (entry, other) in enumerate(zip(mine, theirs, strict=True)):
                for part in dataclasses.fields(entry):
                    a, b = getattr(entry, part.name), getattr(other, part.name)
                    if a != b:
                        found.append(f"entries[{index}].{part.name}: {a!r} != {b!r}")
        elif mine != theirs:
            found.append(f"{field.name}: {mine!r} != {theirs!r}")
    return found


def assert_same_as_feedparser(body: bytes, headers: dict[str, str] | None = None) -> None:
    headers = headers or {}
    fast, reference = outcome(body, headers, fast=True), outcome(body, headers, fast=False)
    assert not differences(fast, reference), "\n".join(differences(fast, reference))


# --- the golden feeds ------------------------------------------------------------------------

GOLDEN = sorted(FEEDS.glob("*.xml"))
FAST_GOLDEN = {"rss10.xml", "rss20.xml", "rss20-empty.xml", "atom10.xml"}


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.name)
def test_golden_feeds_read_the_same(path: Path) -> None:
    body = path.read_bytes()
    assert_same_as_feedparser(body, {"content-type": "application/xml"})
    assert takes_fast_path(body) == (path.name in FAST_GOLDEN)


def test_parse_tries_the_fast_path_and_logs_why_it_declines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="aggregator.parse")
    parse((FEEDS / "rss20.xml").read_bytes(), URL)
    assert not caplog.records
    parse(rss("<item><title>Tom & Jerry</title></item>"), URL)
    [record] = caplog.records
    assert record.getMessage().startswith(
        f"event=fast_parse_declined url={URL} reason=not well-formed: xmlParseEntityRef: no name"
    )


# --- feedparser's rules, one by one ----------------------------------------------------------

NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:foo="https://example.org/unknown-namespace"'
)
MORE_NAMESPACES = (
    'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
    'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
    'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
    'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"'
)


def rss(items: str, channel: str = "<title>T</title>", namespaces: str = NAMESPACES) -> bytes:
    return f'<rss version="2.0" {namespaces}><channel>{channel}{items}</channel></rss>'.encode()


def atom(entries: str, head: str = "<title>T</title>", attributes: str = "") -> bytes:
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom" {NAMESPACES} {attributes}>{head}{entries}'
        "</feed>"
    ).encode()


QUIRKS = {
    "a guid that is a permalink is resolved and is the link": rss(
        "<item><guid>posts/1</guid><title>x</title></item>"
    ),
    "isPermaLink must be exactly 'true'": rss(
        '<item><guid isPermaLink="True">posts/1</guid><title>x</title></item>'
    ),
    "a link after a permalink guid wins": rss(
        "<item><guid>/a</guid><link>/b</link><title>x</title></item>"
    ),
    "the first title of an entry wins": rss("<item><title>one</title><title>two</title></item>"),
    "dc:title counts as a title": rss("<item><dc:title>one</dc:title><title>two</title></item>"),
    "a media:title inside media:content does not replace the title": rss(
        '<item><media:content url="https://e.org/v.mp4"><media:title>inner</media:title>'
        "</media:content><title>outer</title></item>"
    ),
    "a media:title is the title of an entry without one": rss(
        "<item><guid>g</guid><media:group><media:title>inner</media:title>"
        "<media:description>described</media:description></media:group></item>"
    ),
    "a second description is the content": rss(
        "<item><title>x</title><description>one</description><description>two</description></item>"
    ),
    "itunes:summary first makes the description the content": rss(
        "<item><title>x</title><itunes:summary>short</itunes:summary>"
        "<description>&lt;p&gt;long&lt;/p&gt;</description></item>"
    ),
    "content:encoded first, then the description": rss(
        "<item><title>x</title><content:encoded>&lt;b&gt;full&lt;/b&gt;</content:encoded>"
        "<description>teaser</description></item>"
    ),
    "content:encoded alone is the summary too": rss(
        "<item><title>x</title><content:encoded><![CDATA[<p>full</p>]]></content:encoded></item>"
    ),
    "html in a title is guessed, sanitized, then made text": rss(
        "<item><title>&lt;b&gt;bold&lt;/b&gt; &amp;amp; &lt;script&gt;x()&lt;/script&gt;</title>"
        "</item>"
    ),
    "an ampersand alone is not html": rss("<item><title>Tom &amp; Jerry</title></item>"),
    "C1 controls are windows-1252": rss("<item><title>\u0093quoted\u0094</title></item>"),
    "UTF-8 read as Latin-1 is repaired": rss("<item><title>caf\u00c3\u00a9</title></item>"),
    "an author with an e-mail address": rss(
        "<item><title>x</title><author>ann@example.org (Ann Example)</author></item>"
    ),
    "an e-mail address alone": rss("<item><title>x</title><author>ann@example.org</author></item>"),
    "two creators: the first name, the last text": rss(
        "<item><title>x</title><author>ann@example.org</author><dc:creator>Bob</dc:creator></item>"
    ),
    "an Atom author with name and e-mail": atom(
        "<entry><id>i</id><author><name>Ann</name><email>a@e.org</email>"
        "<uri>/ann</uri></author></entry>"
    ),
    "an Atom author with an e-mail only": atom(
        "<entry><id>i</id><author><email>a@e.org</email></author></entry>"
    ),
    "an Atom feed's author is the entries'": atom(
        "<entry><id>i</id><title>x</title></entry>", head="<author><name>Feed</name></author>"
    ),
    "&amp; in an RSS link": rss(
        "<item><title>x</title><link>https://e.org/?a=1&amp;amp;b=2&amp;c;d</link></item>"
    ),
    "xml:base on the feed and on an entry": atom(
        '<entry xml:base="https://other.example/x/"><id>i</id><link href="p"/>'
        '<content type="html">&lt;a href="q"&gt;q&lt;/a&gt;</content></entry>'
        '<entry><id>j</id><link href="p"/></entry>',
        attributes='xml:base="https://example.org/news/"',
    ),
    "javascript: in xml:base is ignored": atom(
        '<entry xml:base="javascript:alert(1)"><id>i</id><link href="p"/></entry>'
    ),
    "xml:lang on the root is the language": atom("", attributes='xml:lang="en_GB"'),
    "language from the header": rss("<item><title>x</title></item>"),
    "Atom links by rel and type": atom(
        '<entry><id>i</id><link rel="related" href="/r"/><link href="/a" type="text/plain"/>'
        '<link rel="alternate" href="/b"/><link rel="enclosure" href="/e.mp3"/></entry>'
    ),
    "an atom:link in RSS": rss(
        '<item><title>x</title><atom:link rel="alternate" href="/a"/><link>/b</link></item>'
        '<item><title>y</title><link>/b</link><atom:link rel="alternate" href="/a"/></item>',
        channel='<title>T</title><atom:link rel="self" href="https://e.org/feed"/>',
    ),
    "enclosures and media:content are attachments": rss(
        '<item><title>x</title><enclosure url="a.mp3" type="audio/mpeg" length="1"/>'
        '<media:content url="/b.jpg" medium="image"/><enclosure url=""/></item>'
    ),
    "categories, terms and keywords": rss(
        '<item><title>x</title><category domain="d"/><category>after</category>'
        "<category>a</category><category>a</category><dc:subject>s</dc:subject>"
        '<media:category>m</media:category><itunes:category text="Tech"/>'
        "<itunes:keywords>k1, k2,,k3</itunes:keywords></item>"
    ),
    "Atom categories": atom(
        '<entry><id>i</id><category term="t" scheme="s" label="L"/><category term="t"/>'
        '<category label="only a label"/></entry>'
    ),
    "unknown elements with and without attributes": rss(
        '<item><title>x</title><foo:bar a="1">text</foo:bar><foo:baz>t</foo:baz>'
        '<foo:wrap><foo:in a="b"/>tail</foo:wrap><comments>/c</comments></item>'
    ),
    "ttl and syndication hints": rss(
        "",
        channel="<title>T</title><ttl> 30 </ttl>",
        namespaces='xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"',
    ),
    "a channel image and a text input": rss(
        "<item><title>x</title></item>",
        channel="<image><url>/i.png</url><title>Image title</title><link>/</link>"
        "<width>10</width></image><title>Real title</title><link>/home</link>"
        "<textInput><title>Search</title><name>q</name><link>/s</link></textInput>",
    ),
    "itunes channel elements": rss(
        "<item><title>x</title><itunes:duration>1:00</itunes:duration></item>",
        channel="<title>T</title><itunes:subtitle>&lt;b&gt;sub&lt;/b&gt;</itunes:subtitle>"
        "<itunes:owner><itunes:name>Own</itunes:name><itunes:email>o@e.org</itunes:email>"
        '</itunes:owner><itunes:image href="/i.png"/><itunes:explicit>yes</itunes:explicit>'
        "<description>described</description>",
    ),
    "a source in an RSS item": rss(
        '<item><title>x</title><source url="https://e.org/f">Other feed</source></item>'
    ),
    "a known namespace under another prefix": rss(
        "<item><DC:creator>Ann</DC:creator><title>x</title></item>",
        namespaces='xmlns:DC="http://purl.org/dc/elements/1.1/"',
    ),
    "element names in any case": rss("<ITEM><Title>x</Title><PUBDATE>2025-01-01</PUBDATE></ITEM>"),
    "Atom text types": atom(
        '<entry><id>i</id><title type="html">a &amp;lt;b&amp;gt; &lt;i&gt;b&lt;/i&gt;</title>'
        '<summary type="text">1 &lt; 2</summary><content type="html">'
        "&lt;p onclick='x'&gt;c&lt;/p&gt;</content></entry>"
    ),
    "Atom out-of-line content": atom(
        '<entry><id>i</id><summary>s</summary><content src="/c.html" type="text/html"/></entry>'
    ),
    "dates in several forms": rss(
        "<item><title>a</title><pubDate>Tue, 7 Jan 25 08:00 EST</pubDate></item>"
        "<item><title>b</title><pubDate>2025-01-07T08:00:00.5+05:30</pubDate>"
        "<dc:date>20250107T080000Z</dc:date></item>"
        "<item><title>c</title><pubDate>Tue Jan  7 08:00:00 2025</pubDate></item>"
        "<item><title>d</title><pubDate>2025-13-45</pubDate><lastBuildDate>x</lastBuildDate>"
        "</item>"
    ),
    "namespaces declared on entries": rss(
        '<item xmlns:x="https://e.org/x"><title>x</title><x:y>1</x:y></item>'
        '<item xmlns:y="https://e.org/x"><title>y</title><y:y a="b">2</y:y></item>'
        '<item xmlns="https://e.org/default"><title>z</title></item>'
        '<item xmlns:foo="https://e.org/x"><title>x</title><foo:y>1</foo:y></item>'
    ),
    "xhtml content": atom(
        '<entry><id>i</id><content type="xhtml">\n <div xmlns="http://www.w3.org/1999/xhtml">'
        '<p xml:lang="en" class="c">x &amp; &lt;y&gt; "q"<br/><a href="../rel">r</a></p>'
        "<script>bad()</script></div>\n</content></entry>"
    ),
    "xhtml content that is not all in one div": atom(
        '<entry><id>i</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        "<p>a</p></div><div xmlns='http://www.w3.org/1999/xhtml'>b</div></content></entry>"
        '<entry><id>j</id><content type="xhtml">loose <b xmlns="http://www.w3.org/1999/xhtml">'
        "text</b></content></entry>"
    ),
    "xhtml titles and summaries": atom(
        '<entry><id>i</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        '<b>bold</b> title</div></title><summary type="xhtml"><xhtml:div '
        'xmlns:xhtml="http://www.w3.org/1999/xhtml" xml:base="https://b.example/">'
        '<xhtml:img src="i.png"/></xhtml:div></summary></entry>'
    ),
    "entries without identity are dropped, duplicates settled": rss(
        "<item></item><item><guid>a</guid><title>1</title></item>"
        "<item><guid>a</guid><title>2</title><description>longer</description></item>"
    ),
}


@pytest.mark.parametrize("body", QUIRKS.values(), ids=QUIRKS.keys())
def test_feedparser_rules_are_replayed(body: bytes) -> None:
    headers = {"content-language": "de_AT"}
    assert_same_as_feedparser(body, headers)
    assert takes_fast_path(body, headers)


DECLINED = {
    "not well-formed": rss("<item><title>Tom & Jerry</title></item>"),
    "an undefined entity": rss("<item><title>&nbsp;</title></item>"),
    "RSS 0.91": b'<rss version="0.91"><channel><title>T</title></channel></rss>',
    "Atom 0.3": b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title></feed>',
    "not a feed": b"<html><body>hello</body></html>",
    "the body of an xhtml page as content": atom(
        '<entry><id>i</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        "<body><p>x</p></body></div></content></entry>"
    ),
    "a title inside xhtml content": atom(
        '<entry><id>i</id><content type="xhtml"><div><title>t</title></div></content></entry>'
    ),
    "inline SVG": atom(
        '<entry><id>i</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        '<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg></div></content></entry>'
    ),
    "markup inside a description": rss("<item><description>a <b>b</b></description></item>"),
    "base64 content": atom('<entry><id>i</id><content type="image/png">AAAA</content></entry>'),
    "GeoRSS": rss(
        "<item><title>x</title><georss:point>1 2</georss:point></item>",
        namespaces='xmlns:georss="http://www.georss.org/georss"',
    ),
    "a name outside ASCII": rss("<item><title>x</title><foo:n\u00e4me>1</foo:n\u00e4me></item>"),
    "a text input inside an item, which feedparser stumbles on": rss(
        "<item><title>x</title><textInput><title>q</title><link>/</link></textInput></item>"
    ),
}


@pytest.mark.parametrize("body", DECLINED.values(), ids=DECLINED.keys())
def test_what_the_fast_path_declines_feedparser_reads(body: bytes) -> None:
    assert not takes_fast_path(body)
    assert_same_as_feedparser(body)


LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(8))
    + ']><rss version="2.0"><channel><title>T</title><item><title>&i;</title></item>'
    "</channel></rss>"
)
HOSTILE = {
    "billion laughs": LAUGHS.encode(),
    "an external entity": (
        b'<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel>'
        b"<title>T</title><item><title>a&x;b</title></item></channel></rss>"
    ),
    "many namespaces": rss(
        "".join(
            f'<item><x{n}:y xmlns:x{n}="https://e.org/{n}">v</x{n}:y></item>' for n in range(120)
        )
    ),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_documents_are_left_to_feedparser(body: bytes) -> None:
    assert not takes_fast_path(body)
    assert_same_as_feedparser(body)


def test_a_dtd_that_nothing_uses_is_dropped_with_the_same_warning() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">]>' + rss(
        "<item><title>x</title></item>"
    )
    assert takes_fast_path(body)
    assert_same_as_feedparser(body)
    assert isinstance(fast := outcome(body, {}, fast=True), Feed)
    assert (fast.warning or "").startswith("ignored the DTD")


# --- generated feeds -------------------------------------------------------------------------

TEXTS = [
    "Plain words",
    "  spaced\n   out  ",
    "Tom &amp; Jerry",
    "caf&#233; cr&#xE8;me",
    "<![CDATA[CDATA & <b>bold</b> ]]>",
    "&lt;b&gt;escaped&lt;/b&gt; markup",
    "1 &lt; 2 &amp;&amp; 3 &gt; 2",
    "&lt;/p&gt; a closing tag",
    "&amp;eacute; an escaped entity",
    "caf\u00c3\u00a9 mojibake",
    "\u0093smart\u0094 quotes",
    "emoji \U0001f600 and \u65e5\u672c\u8a9e",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "",
    "   ",
    "Stra\u00dfe &#x2014; dash",
    "x" * 300,
]
HTML = [
    "&lt;p&gt;Para with &lt;a href=&quot;/rel/link&quot;&gt;a link&lt;/a&gt;&lt;/p&gt;",
    '<![CDATA[<p onclick="x()">Hi <img src="img/a.png"> <script>bad()</script></p>]]>',
    "<![CDATA[<p>plain paragraph</p>]]>",
    "Only text, no markup at all.",
    "Text &amp;amp; an escaped ampersand",
    '<![CDATA[<iframe src="x"></iframe><style>p{}</style><b>b</b>]]>',
    '<![CDATA[<a href="javascript:alert(1)">js</a> <a href="../up">up</a>]]>',
    "<![CDATA[<div><p>unclosed]]>",
    '<![CDATA[<img src="/a.png"/><br/><table><tr><td>1</td></tr></table>]]>',
    "<![CDATA[a\r\nb &#39;q&#39; &#150; <!-- c --> <![CDATA-ish]]>",
    "&lt;p&gt;caf&amp;eacute; &amp;copy; &amp;#8217;&lt;/p&gt;",
    "   ",
]
DATES = [
    "Tue, 07 Jan 2025 08:00:00 GMT",
    "Tue, 7 Jan 2025 08:00:00 +0100",
    "07 Jan 2025 08:00 EST",
    "Tue, 07 Jan 25 08:00:00 GMT",
    "2025-01-07T08:00:00Z",
    "2025-01-07T08:00:00.5+05:30",
    "2025-01-07",
    "2025-01",
    "20250107T080000Z",
    "Tue Jan  7 08:00:00 2025",
    "garbage",
    "",
    "0000-00-00",
    "2025-13-45T00:00:00Z",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "2024-W01-2",
    " 2025-01-07T08:00:00-08:00 ",
]
LINKS = [
    "https://example.org/a?x=1&amp;y=2",
    "/relative/path",
    "relative",
    "../up",
    "//cdn.example.org/p",
    "javascript:alert(1)",
    "  https://example.org/spaced  ",
    "mailto:a@example.org",
    "https://example.org/a#frag",
    "https://example.org/%E2%9C%93/\u00e9",
    "?query=1",
    "",
    "http:///three/slashes",
]
GUIDS = ["post-1", "https://example.org/p/1", "/p/2", "urn:uuid:1234", "tag:e.org,2025:1", " g "]
AUTHORS = [
    "ann@example.org (Ann Example)",
    "Bob",
    "bob@example.org",
    "Ann &lt;ann@example.org&gt;",
    "(Only Name)",
    "",
]
TYPES = ["", ' type="text"', ' type="html"', ' type="text/html"', ' type="TEXT"']
XHTML = [
    '<div xmlns="http://www.w3.org/1999/xhtml"><p>para &amp; <a href="rel">link</a></p></div>',
    '\n  <div xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr"><b>gras</b><br/>x</div>\n',
    '<div xmlns="http://www.w3.org/1999/xhtml"><div>a</div><div>b</div></div>',
    '<div xmlns="http://www.w3.org/1999/xhtml"><p>a</p></div><p xmlns="http://www.w3.org/1999/xhtml"/>',
    '<x:div xmlns:x="http://www.w3.org/1999/xhtml"><x:img src="/i.png" alt="&lt;"/></x:div>',
    "just text &lt;escaped&gt;",
    '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script><p onclick="y">z</p></div>',
]
UNKNOWN = [
    '<foo:thing a="1">x</foo:thing><foo:other>y</foo:other>',
    '<foo:wrap><foo:in foo:attr="v" xml:lang="en"/>tail</foo:wrap>',
    "<slash:comments>3</slash:comments>",
    "<wfw:commentRss>/comments/feed</wfw:commentRss>",
    "<feedburner:origLink>https://e.org/orig</feedburner:origLink>",
    '<bar:x xmlns:bar="https://e.org/bar" bar:y="1">t</bar:x>',
    '<source url="https://e.org/f">Source feed</source>',
    '<media:thumbnail url="/t.jpg"/><media:credit role="author">Cred</media:credit>',
    "<comments/><docs>x</docs><ITEMTYPE>y</ITEMTYPE>",
]
PODCAST = [
    '<itunes:image href="/cover.jpg"/><itunes:duration>12:00</itunes:duration>',
    "<itunes:author>Pod Author</itunes:author><itunes:explicit>no</itunes:explicit>",
    "<itunes:subtitle>&lt;b&gt;sub&lt;/b&gt;</itunes:subtitle><itunes:block>Yes</itunes:block>",
]
DECLARATIONS = [
    'xmlns:x="https://e.org/x"',
    'xmlns:dc="http://purl.org/dc/elements/1.1/"',
    'xmlns="https://e.org/default"',
    'xmlns:atom="http://www.w3.org/2005/Atom"',
    'xmlns:foo="https://e.org/other"',
]


class Generator:
    """Random but valid pieces of feeds (and, rarely, a broken one)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, choices: list[str]) -> str:
        return self.rng.choice(choices)

    def maybe(self, probability: float) -> bool:
        return self.rng.random() < probability

    def element(self, name: str, choices: list[str], attributes: str = "") -> str:
        return f"<{name}{attributes}>{self.pick(choices)}</{name}>"

    def document(self) -> bytes:
        kind = self.rng.choices(["rss", "atom", "rdf"], weights=[6, 3, 1])[0]
        text = {"rss": self.rss, "atom": self.atom, "rdf": self.rdf}[kind]()
        if self.maybe(0.03):
            text = text.replace("</title>", " & </title>", 1)  # not well-formed
        if self.maybe(0.05):
            text = text.replace("<item>", f"<item {self.pick(DECLARATIONS)}>", 1)
        return text.encode()

    def shuffled(self, parts: list[str]) -> str:
        self.rng.shuffle(parts)
        return "".join(parts)

    def some(self, make: Callable[[], str], most: int) -> list[str]:
        return [make() for _ in range(self.rng.randint(0, most))]

    def chosen(self, optional: list[tuple[float, Callable[[], str]]]) -> list[str]:
        """Each optional part, made with its probability."""
        return [make() for probability, make in optional if self.maybe(probability)]

    def rss(self) -> str:
        channel = [self.element("title", TEXTS), self.element("link", LINKS)]
        if self.maybe(0.7):
            channel.append(self.element("description", TEXTS + HTML))
        if self.maybe(0.3):
            channel.append(self.element("language", ["en", "de-AT", " fr ", "", "x" * 40]))
        if self.maybe(0.3):
            channel.append(self.element("ttl", ["60", "soon", " 5 "]))
        if self.maybe(0.3):
            channel.append(self.element("sy:updatePeriod", ["hourly", "weekly", "often"]))
            channel.append(self.element("sy:updateFrequency", ["2", "0", "x"]))
        if self.maybe(0.3):
            channel.append('<atom:link rel="self" type="application/rss+xml" href="/feed"/>')
        if self.maybe(0.2):
            channel.append("<image><url>/i.png</url><title>Img</title><link>/</link></image>")
        if self.maybe(0.2):
            channel.append(self.element("itunes:subtitle", TEXTS))
        if self.maybe(0.2):
            channel.append(self.element("managingEditor", AUTHORS))
        if self.maybe(0.2):
            channel.append(self.element("lastBuildDate", DATES))
        items = self.shuffled(channel) + "".join(self.some(self.item, 8))
        return f'<rss version="2.0" {NAMESPACES} {MORE_NAMESPACES}><channel>{items}</channel></rss>'

    def item(self) -> str:
        optional: list[tuple[float, Callable[[], str]]] = [
            (0.8, lambda: self.element("title", TEXTS)),
            (0.7, lambda: self.element("link", LINKS)),
            (0.6, self.guid),
            (0.7, lambda: self.element(self.pick(["pubDate", "dc:date"]), DATES)),
            (0.7, lambda: self.element("description", HTML + TEXTS)),
            (0.3, lambda: self.element("content:encoded", HTML)),
            (0.3, lambda: self.element(self.pick(["dc:creator", "author"]), AUTHORS)),
            (0.4, self.category),
            (0.2, self.category),
            (0.3, self.enclosure),
            (0.2, lambda: f'<media:content url="{self.pick(LINKS)}" medium="image"/>'),
            (0.1, self.media_group),
            (0.1, lambda: self.element("itunes:summary", TEXTS)),
            (0.1, lambda: self.element("itunes:keywords", ["a, b", "c,,d", ""])),
            (0.1, lambda: self.element("comments", LINKS)),
            (0.1, lambda: self.pick(UNKNOWN)),
            (0.05, lambda: self.pick(PODCAST)),
            (0.05, lambda: self.element("title", TEXTS)),
            (0.05, lambda: self.element("description", HTML)),
            (0.05, lambda: self.element("link", LINKS)),
        ]
        parts = self.chosen(optional)
        base = f" xml:base={quoteattr(self.pick(LINKS))}" if self.maybe(0.1) else ""
        return f"<item{base}>{self.shuffled(parts)}</item>"

    def guid(self) -> str:
        permalink = self.pick(["", ' isPermaLink="false"', ' isPermaLink="true"'])
        return self.element("guid", GUIDS, permalink)

    def category(self) -> str:
        domain = self.pick(["", ' domain="https://e.org/tags"'])
        return self.element("category", ["news", " long\n tag ", "", "Caf\u00e9"], domain)

    def enclosure(self) -> str:
        return f'<enclosure url={quoteattr(self.pick(LINKS))} type="audio/mpeg" length="1"/>'

    def media_group(self) -> str:
        return (
            "<media:group>"
            + self.element("media:title", TEXTS)
            + f'<media:content url="{self.pick(LINKS)}"/>'
            + self.element("media:description", TEXTS)
            + '<media:thumbnail url="/t.jpg"/>'
            + "</media:group>"
        )

    def atom(self) -> str:
        head = [self.element("title", TEXTS, self.pick(TYPES)), self.atom_link()]
        if self.maybe(0.5):
            head.append(self.element("subtitle", TEXTS + HTML, self.pick(TYPES)))
        if self.maybe(0.4):
            head.append(self.person("author"))
        if self.maybe(0.5):
            head.append(self.element("updated", DATES))
        entries = "".join(self.some(self.entry, 8))
        attributes = ""
        if self.maybe(0.3):
            attributes += f" xml:base={quoteattr(self.pick(LINKS))}"
        if self.maybe(0.3):
            attributes += f' xml:lang="{self.pick(["en", "de_DE", ""])}"'
        return (
            f'<feed xmlns="http://www.w3.org/2005/Atom" {NAMESPACES} {MORE_NAMESPACES}{attributes}>'
            f"{self.shuffled(head)}{entries}</feed>"
        )

    def atom_link(self) -> str:
        rel = self.pick(
            ["", ' rel="alternate"', ' rel="enclosure"', ' rel="self"', ' rel="related"']
        )
        kind = self.pick(["", ' type="text/html"', ' type="audio/mpeg"'])
        return f"<link{rel}{kind} href={quoteattr(self.pick(LINKS))}/>"

    def person(self, role: str) -> str:
        parts = []
        if self.maybe(0.8):
            parts.append(self.element("name", ["Ann", " Bob  Smith ", "", "\u00c9lise"]))
        if self.maybe(0.4):
            parts.append(self.element("email", ["ann@example.org", ""]))
        if self.maybe(0.2):
            parts.append(self.element("uri", LINKS))
        return f"<{role}>{''.join(parts)}</{role}>"

    def entry(self) -> str:
        optional: list[tuple[float, Callable[[], str]]] = [
            (0.9, lambda: self.element("title", TEXTS, self.pick(TYPES))),
            (0.8, lambda: self.element("id", GUIDS + LINKS)),
            (0.8, self.atom_link),
            (0.3, self.atom_link),
            (0.6, lambda: self.element("updated", DATES)),
            (0.5, lambda: self.element("published", DATES)),
            (0.4, lambda: self.person("author")),
            (0.1, lambda: self.person("contributor")),
            (0.5, lambda: self.element("summary", TEXTS + HTML, self.pick(TYPES))),
            (0.5, lambda: self.element("content", TEXTS + HTML, self.pick(TYPES))),
            (0.3, self.atom_category),
            (0.1, self.media_group),
            (0.1, lambda: self.element("content", XHTML, ' type="xhtml"')),
            (0.05, lambda: self.element("title", XHTML, ' type="xhtml"')),
            (0.05, lambda: self.pick(UNKNOWN)),
        ]
        parts = self.chosen(optional)
        attributes = f" xml:base={quoteattr(self.pick(LINKS))}" if self.maybe(0.15) else ""
        return f"<entry{attributes}>{self.shuffled(parts)}</entry>"

    def atom_category(self) -> str:
        term = self.pick(['term="t"', 'term=""', 'term=" spaced "', ""])
        label = self.pick(["", ' label="Label"', ' scheme="https://e.org/s"'])
        return f"<category {term}{label}/>"

    def rdf(self) -> str:
        items = "".join(
            f'<item rdf:about="{self.pick(LINKS)}">'
            + self.element("title", TEXTS)
            + self.element("link", LINKS)
            + self.element("description", TEXTS + HTML)
            + self.element("dc:date", DATES)
            + "</item>"
            for _ in range(self.rng.randint(0, 5))
        )
        return (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f'<channel rdf:about="https://e.org/">{self.element("title", TEXTS)}'
            f"{self.element('link', LINKS)}{self.element('description', TEXTS)}</channel>"
            f"{items}</rdf:RDF>"
        )


# Chaotic documents: any known element anywhere, so that feedparser's state (which entry,
# image, author, source or text element is open; which title came first) is put to the test.
KNOWN_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "media": "http://search.yahoo.com/mrss/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "atom": "http://www.w3.org/2005/Atom",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "sy": "http://purl.org/rss/1.0/modules/syndication/",
    "cc": "http://web.resource.org/cc/",
    "creativeCommons": "http://backend.userland.com/creativeCommonsRssModule",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "feedburner": "http://rssnamespace.org/feedburner/ext/1.0",
    "foo": "https://e.org/foo",
}
ELEMENTS = {
    "": "title link description item entry guid id pubDate updated published author name email "
    "uri url category enclosure summary content source image textInput width height language "
    "ttl comments managingEditor webMaster lastBuildDate subtitle tagline rights copyright info "
    "generator contributor cloud keywords tags abstract issued modified created expirationDate "
    "newLocation homepage fullitem div p b channel",
    "dc": "creator date title subject description language publisher rights contributor author",
    "dcterms": "issued modified created valid",
    "content": "encoded",
    "media": "content title description group thumbnail credit rating category keywords player "
    "license restriction",
    "itunes": "author summary subtitle category keywords image owner name email explicit block",
    "atom": "link title id author name content summary updated",
    "foo": "x title link wrap",
    "sy": "updatePeriod updateFrequency",
    "cc": "license",
    "creativeCommons": "license",
    "xhtml": "div p a span",
    "feedburner": "origLink browserFriendly",
    "rdf": "li Seq",
}
CONTAINERS = frozenset(
    [
        "item",
        "entry",
        "channel",
        "image",
        "textInput",
        "author",
        "contributor",
        "source",
        "group",
        "owner",
        "wrap",
        "div",
        "p",
    ]
)
ATTRIBUTES = {
    "type": ["text", "html", "xhtml", "text/html", "TEXT", "text/plain", "image/png"],
    "rel": ["alternate", "enclosure", "self", "ALTERNATE", "related"],
    "href": ["/a", "b", "https://x.org/c", "javascript:x", ""],
    "url": ["/u", "https://x.org/u", ""],
    "uri": ["/uri"],
    "xml:base": ["https://b.org/d/", "sub/", "javascript:alert(1)", ""],
    "xml:lang": ["en", "de_DE", ""],
    "term": ["t", ""],
    "scheme": ["s"],
    "domain": ["d"],
    "label": ["L"],
    "isPermaLink": ["false", "true", "True"],
    "mode": ["escaped", "base64", "xml"],
    "src": ["/s"],
    "version": ["2.0", "0.91", "1.0"],
    "text": ["Tech"],
    "rdf:about": ["/about"],
    "rdf:resource": ["/res"],
    "lastmod": ["2025-01-01"],
    "lang": ["fr"],
    "base": ["https://c.org/"],
    "foo:a": ["1"],
}
CHAOTIC_TEXTS = [
    "",
    " ",
    "text",
    "Tom &amp; Jerry",
    "&lt;b&gt;b&lt;/b&gt;",
    "<![CDATA[<p>x</p><script>y</script>]]>",
    "2025-01-07T08:00:00Z",
    "Tue, 07 Jan 2025 08:00:00 GMT",
    "a@b.org (Ann)",
    "/rel",
    "https://e.org/abs?a=1&amp;b=2",
    "caf\u00c3\u00a9",
    "\u0093q\u0094",
    "yes",
    "clean",
    "12",
    "a, b,c",
    "hourly",
    "a<!-- comment -->b<?pi x?>c",
]


class Chaos(Generator):
    def document(self) -> bytes:
        declarations = " ".join(f'xmlns:{p}="{uri}"' for p, uri in KNOWN_NAMESPACES.items())
        body = "".join(self.chaotic(1) for _ in range(self.rng.randint(1, 6)))
        entry = "".join(self.chaotic(2) for _ in range(4))
        root = self.pick(["rss", "feed", "rdf"])
        if root == "rss":
            text = (
                f'<rss version="2.0" {declarations}><channel>{body}<item>{entry}</item>'
                "</channel></rss>"
            )
        elif root == "feed":
            text = (
                f'<feed xmlns="http://www.w3.org/2005/Atom" {declarations}>{body}'
                f"<entry>{entry}</entry></feed>"
            )
        else:
            declarations = declarations.replace("2005/Atom", "2005/not-Atom")
            text = (
                f'<rdf:RDF xmlns="http://purl.org/rss/1.0/" {declarations}><channel>{body}'
                f"</channel><item>{entry}</item></rdf:RDF>"
            )
        return text.encode()

    def chaotic(self, depth: int) -> str:
        prefix = self.pick(["", "", *ELEMENTS])
        local = self.pick(ELEMENTS[prefix].split())
        if self.maybe(0.05):
            local = local.upper()
        tag = f"{prefix}:{local}" if prefix else local
        chosen = self.rng.sample(list(ATTRIBUTES), self.rng.choice([0, 0, 1, 2, 3]))
        attributes = {key: self.pick(ATTRIBUTES[key]) for key in chosen}
        written = "".join(f" {key}={quoteattr(value)}" for key, value in attributes.items())
        if attributes.get("type") == "xhtml":
            inner = "".join(self.chaotic(depth + 1) for _ in range(self.rng.randint(0, 2)))
            return f'<{tag}{written}><div xmlns="{KNOWN_NAMESPACES["xhtml"]}">{inner}</div></{tag}>'
        if depth > 3 or local not in CONTAINERS or self.maybe(0.3):
            return f"<{tag}{written}>{self.pick(CHAOTIC_TEXTS)}</{tag}>"
        children = "".join(
            self.chaotic(depth + 1) + self.pick(["", "", " ", "tail"])
            for _ in range(self.rng.randint(0, 5))
        )
        return f"<{tag}{written}>{self.pick(['', ' ', 'x'])}{children}</{tag}>"


def generated_feed(seed: int) -> tuple[bytes, dict[str, str]]:
    """Feed number ``seed`` of the generated ones, with the headers it is served with."""
    generator = Generator(seed)
    headers = {"content-type": generator.pick(["application/rss+xml", "text/xml", ""])}
    if generator.maybe(0.2):
        headers["content-language"] = generator.pick(["en", "pt_BR", ""])
    return generator.document(), headers


GENERATED = 400


@pytest.mark.parametrize("seed", range(GENERATED))
def test_generated_feeds_read_the_same(seed: int) -> None:
    assert_same_as_feedparser(*generated_feed(seed))


def test_most_generated_feeds_take_the_fast_path() -> None:
    fast = sum(takes_fast_path(*generated_feed(seed)) for seed in range(GENERATED))
    assert fast >= 0.9 * GENERATED


CHAOTIC = 300


@pytest.mark.parametrize("seed", range(CHAOTIC))
def test_chaotic_documents_read_the_same(seed: int) -> None:
    assert_same_as_feedparser(Chaos(seed).document(), {"content-language": "en_US"})


def test_most_chaotic_documents_take_the_fast_path() -> None:
    fast = sum(takes_fast_path(Chaos(seed).document()) for seed in range(CHAOTIC))
    assert fast >= 0.8 * CHAOTIC


# --- the parts the fast path relies on -------------------------------------------------------


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="<&")))
def test_markup_free_text_comes_out_of_feedparser_s_html_cleaning_stripped(text: str) -> None:
    """The shortcut ``_Reader._clean_html`` takes for text without ``<`` or ``&``."""
    for kind in ("text/html", "application/xhtml+xml"):
        resolved = resolve_relative_uris(text, URL, "utf-8", kind)
        assert _sanitize_html(resolved, "utf-8", kind) == text.strip().replace("\r\n", "\n")


def test_every_replayed_handler_is_one_of_feedparser_s() -> None:
    handlers = {name for name in dir(_FeedParserMixin) if name.startswith(("_start_", "_end_"))}
    assert {f"_start_{key}" for key in _STARTS} <= handlers
    assert {f"_end_{key}" for key in _ENDS} <= handlers
