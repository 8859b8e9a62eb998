"""A small news site for tests: feeds in several formats, article pages full of boilerplate.

Everything is served by the real test server (``tests/server.py``) on 127.0.0.1.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from tests.server import TestServer

BOILERPLATE = (
    "Leave a Reply",
    "Your email address will not be published",
    "Required fields are marked",
    "Write a response",
    "All rights reserved",
    "Share on Facebook",
    "Subscribe to our newsletter",
    "We use cookies",
    "Advertisement",
    "Read more:",
    "Great article, thanks",
)

_WORDS = [
    "harbour",
    "council",
    "river",
    "bridge",
    "engineers",
    "survey",
    "winter",
    "budget",
    "school",
    "library",
    "museum",
    "railway",
    "station",
    "market",
    "farmers",
    "weather",
    "storm",
    "coast",
    "village",
    "mayor",
    "election",
    "report",
    "hospital",
    "nurses",
    "teachers",
    "students",
    "research",
    "climate",
    "energy",
    "solar",
    "wind",
    "water",
    "forest",
]


def story(seed: int, paragraphs: int = 5) -> list[str]:
    """Deterministic article paragraphs, different for each seed."""
    out = []
    for p in range(paragraphs):
        words = random.Random(seed * 1000 + p).choices(_WORDS, k=40)
        out.append(f"Story {seed} paragraph {p}: " + " ".join(words).capitalize() + ".")
    return out


def article_page(
    title: str, paragraphs: list[str], *, canonical: str | None = None, lang: str = "en"
) -> str:
    """A WordPress-like page: the article amid every kind of boilerplate."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)} - The Daily Test</title>
{link}</head>
<body>
<div class="cookie-banner">We use cookies to give you the best experience.
<button>Accept</button></div>
<header><nav><a href="/">Home</a> <a href="/world">World</a>
<a href="/sport">Sport</a></nav></header>
<main>
<article class="post">
<h1 class="entry-title">{escape(title)}</h1>
<p class="byline">By <span class="author">Jane Reporter</span></p>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Share on Twitter</a></div>
<div class="entry-content">
{body}
<p>Advertisement</p>
<p>Read more: <a href="/other">Another story you might like</a></p>
<p class="copyright">© Copyright 2018. All rights reserved.</p>
</div>
<div class="newsletter-box"><h3>Subscribe to our newsletter</h3>
<form><input type="email" name="email"><button>Sign up</button></form></div>
<div id="comments" class="comments-area">
<h2 class="comments-title">2 thoughts on “{escape(title)}”</h2>
<ol class="comment-list">
<li class="comment"><div class="comment-body">
<p>Great article, thanks for writing it!</p></div></li>
<li class="comment"><div class="comment-body"><p>I disagree with most of this.</p></div></li>
</ol>
<div id="respond" class="comment-respond">
<h3 id="reply-title" class="comment-reply-title">Leave a Reply</h3>
<form id="commentform" class="comment-form">
<p class="comment-notes">Your email address will not be published. Required fields are marked *</p>
<textarea name="comment"></textarea><input name="author"><input name="email">
<input type="submit" value="Post Comment"></form></div>
</div>
<p>Write a response</p>
</article>
</main>
<footer><p>© Copyright 2018 The Daily Test. All rights reserved.</p></footer>
</body></html>"""


def rss(title: str, items: list[dict[str, str]]) -> str:
    parts = []
    for item in items:
        parts.append(
            "<item>"
            + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items() if k != "content")
            + (
                f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>"
                if "content" in item
                else ""
            )
            + "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>http://example.invalid/</link>"
        f"<description>{escape(title)}</description>" + "".join(parts) + "</channel></rss>"
    )


def atom(title: str, entries: list[dict[str, str]]) -> str:
    parts = [
        f"<entry><id>{escape(e['id'])}</id><title>{escape(e['title'])}</title>"
        f'<link href="{escape(e["link"])}"/><updated>{e["updated"]}</updated>'
        f"<summary>{escape(e.get('summary', ''))}</summary></entry>"
        for e in entries
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:{escape(title)}</id>"
        "<updated>2026-11-01T00:00:00Z</updated>" + "".join(parts) + "</feed>"
    )


def json_feed(title: str, items: list[dict[str, str]]) -> str:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
    )


def rfc822(days_ago: int) -> str:
    return format_datetime(datetime(2026, 11, 20, 8, 0, tzinfo=UTC) - timedelta(days=days_ago))


class NewsSite:
    """Three feeds (RSS 2.0, Atom 1.0, JSON Feed 1.1) over one set of article pages.

    - /rss.xml: stories 1, 2, 3 (story 3's page is missing: the feed's own content is used).
    - /atom.xml: story 4, story 1 again with tracking parameters, story 2 again (same URL).
    - /feed.json: story 5, and story 4's text copied under another URL.
    The RSS feed answers conditional requests by ETag, the Atom feed by Last-Modified.
    """

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.titles = {n: f"Story number {n} about the {_WORDS[n * 3]}" for n in range(1, 7)}
        for n in (1, 2, 4, 5):
            server.add(
                f"/news/{n}.html",
                body=article_page(
                    self.titles[n], story(n), canonical=server.url(f"/news/{n}.html")
                ),
            )
        server.add("/copies/4-again.html", body=article_page(self.titles[4], story(4)))
        url = server.url
        server.add(
            "/rss.xml",
            content_type="application/rss+xml",
            etag='"rss-v1"',
            body=rss(
                "Daily Test RSS",
                [
                    {
                        "title": self.titles[n],
                        "link": url(f"/news/{n}.html"),
                        "guid": f"rss-{n}",
                        "pubDate": rfc822(n),
                        "description": story(n)[0][:80],
                        **(
                            {"content": "".join(f"<p>{p}</p>" for p in story(n, 3))}
                            if n == 3
                            else {}
                        ),
                    }
                    for n in (1, 2, 3)
                ],
            ),
        )
        server.add(
            "/atom.xml",
            content_type="application/atom+xml",
            last_modified="Fri, 20 Nov 2026 08:00:00 GMT",
            body=atom(
                "Daily Test Atom",
                [
                    {
                        "id": "urn:atom:4",
                        "title": self.titles[4],
                        "link": url("/news/4.html"),
                        "updated": "2026-11-16T08:00:00Z",
                    },
                    {
                        "id": "urn:atom:1",
                        "title": self.titles[1],
                        "link": url("/news/1.html?utm_source=atom&utm_medium=feed&fbclid=x"),
                        "updated": "2026-11-19T08:00:00Z",
                    },
                    {
                        "id": "urn:atom:2",
                        "title": self.titles[2],
                        "link": url("/news/2.html"),
                        "updated": "2026-11-18T08:00:00Z",
                    },
                ],
            ),
        )
        server.add(
            "/feed.json",
            content_type="application/feed+json",
            body=json_feed(
                "Daily Test JSON",
                [
                    {
                        "id": "json-5",
                        "url": url("/news/5.html"),
                        "title": self.titles[5],
                        "content_text": story(5)[0],
                        "date_published": "2026-11-15T08:00:00Z",
                    },
                    {
                        "id": "json-4-copy",
                        "url": url("/copies/4-again.html"),
                        "title": "Reprinted",
                        "content_text": "A copy.",
                        "date_published": "2026-11-16T09:00:00Z",
                    },
                ],
            ),
        )

    @property
    def feed_urls(self) -> list[str]:
        return [self.server.url(p) for p in ("/rss.xml", "/atom.xml", "/feed.json")]

    def config_text(self, *extra_feeds: str, fetch_articles: bool = True) -> str:
        feeds = "\n".join(f"  - url: {u}" for u in [*self.feed_urls, *extra_feeds])
        return (
            "settings:\n"
            f"  allowed_private_hosts: ['{self.server.host}']\n"
            f"  fetch_articles: {'true' if fetch_articles else 'false'}\n"
            "  timeout: 10s\n"
            "  per_host_delay: 0s\n"
            f"feeds:\n{feeds}\n"
        )
