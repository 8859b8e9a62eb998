"""A local farm of feeds and article pages for benchmarks, served on 127.0.0.1.

Deterministic: feed ``i`` of a farm with a given seed always has the same entries and pages.
Each feed is RSS 2.0 (every fifth one Atom) with ``--entries`` items; each item links to an
article page of about 50-60 KB of realistic markup (navigation, share bar, article, comment
thread and form, footer). Some entries are the same story seen again: every 20th entry links to
another feed's article with tracking parameters added, and every 25th links to a copy of another
feed's story under a new URL (same text, its own canonical link). Feeds answer conditional
GETs with 304; with ``--churn`` they gain new entries as time passes. ``/stats`` counts the
feed answers (200 and 304) and the pages served.

Run it on its own (``python benchmarks/farm.py --feeds 200 --entries 50``): it prints its base
URL and stops by itself after ``--duration`` seconds or when its parent process dies.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import random
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

SYLLABLES = [
    "ka",
    "ri",
    "to",
    "mo",
    "ne",
    "sa",
    "lu",
    "vi",
    "de",
    "pa",
    "ro",
    "mi",
    "fe",
    "tu",
    "la",
    "zo",
    "be",
    "ni",
    "ga",
    "su",
    "ke",
    "do",
    "ra",
    "ti",
    "ma",
    "co",
    "pe",
    "lo",
    "ve",
    "di",
    "na",
    "bo",
    "si",
    "ru",
    "te",
    "ha",
    "go",
    "me",
    "fi",
    "no",
    "pu",
    "le",
    "da",
    "so",
    "ja",
    "ki",
]


def _rng(*key: object) -> random.Random:
    digest = hashlib.sha256(repr(key).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))


def _sentence(rng: random.Random) -> str:
    words = [_word(rng) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + rng.choice(".....?!")


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 7)))


class Farm:
    """The farm's content, computed on demand."""

    def __init__(self, feeds: int, entries: int, seed: int = 1, churn: float = 0.0) -> None:
        self.feeds = feeds
        self.entries = entries
        self.seed = seed
        self.churn = churn
        self.started = time.monotonic()
        self.started_wall = int(time.time())

    def generation(self, feed: int) -> int:
        """How many new entries feed ``feed`` has gained since the farm started.

        With ``churn`` seconds, feed i gains an entry every churn x (1 + i % 10) seconds, so
        some feeds are busy and some quiet; without, feeds never change.
        """
        if not self.churn:
            return 0
        return int((time.monotonic() - self.started) / self.period(feed))

    def period(self, feed: int) -> float:
        """Seconds between two new entries of ``feed``."""
        return self.churn * (1 + feed % 10) if self.churn else 600.0

    def story_of(self, feed: int, item: int) -> tuple[int, int, str]:
        """(feed, item) of the story this entry carries, and how the link is written."""
        if self.feeds > 1 and item % 20 == 7:
            return (feed + 1) % self.feeds, item - 1, "tracking"
        if self.feeds > 1 and item % 25 == 11:
            return (feed + 3) % self.feeds, item - 1, "copy"
        return feed, item, "own"

    def article_path(self, feed: int, item: int) -> str:
        story_feed, story_item, how = self.story_of(feed, item)
        if how == "tracking":
            return f"/a/{story_feed}/{story_item}?utm_source=feed{feed}&utm_medium=rss"
        if how == "copy":
            return f"/copy/{feed}/{item}/{story_feed}/{story_item}"
        return f"/a/{feed}/{item}"

    def title(self, feed: int, item: int) -> str:
        rng = _rng(self.seed, "title", feed, item)
        return " ".join(_word(rng) for _ in range(rng.randint(4, 9))).capitalize()

    def body(self, feed: int, item: int) -> list[str]:
        rng = _rng(self.seed, "body", feed, item)
        return [_paragraph(rng) for _ in range(rng.randint(8, 14))]

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def feed_xml(self, base: str, feed: int, generation: int = 0) -> bytes:
        """The feed's newest ``entries`` items after ``generation`` new ones arrived."""
        items = []
        atom = feed % 5 == 4
        for item in range(generation + self.entries - 1, generation - 1, -1):
            story_feed, story_item, _ = self.story_of(feed, item)
            title = escape(self.title(story_feed, story_item))
            link = escape(base + self.article_path(feed, item))
            summary = escape(self.body(story_feed, story_item)[0][:300])
            # Entries are dated by when they "arrived": the feed's rhythm is real.
            stamp = self.started_wall + (item - self.entries) * self.period(feed)
            if atom:
                when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
                items.append(
                    f"<entry><id>urn:farm:{feed}:{item}</id><title>{title}</title>"
                    f'<link href="{link}"/><updated>{when}</updated>'
                    f"<summary>{summary}</summary></entry>"
                )
            else:
                items.append(
                    f"<item><guid isPermaLink='false'>farm-{feed}-{item}</guid>"
                    f"<title>{title}</title><link>{link}</link>"
                    f"<pubDate>{formatdate(stamp, usegmt=True)}</pubDate>"
                    f"<description>{summary}</description></item>"
                )
        if atom:
            doc = (
                '<?xml version="1.0" encoding="utf-8"?>'
                '<feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>Farm feed {feed}</title><id>urn:farm:{feed}</id>"
                f'<link href="{base}/"/><updated>2025-11-24T00:00:00Z</updated>'
                + "".join(items)
                + "</feed>"
            )
        else:
            doc = (
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Farm feed {feed}</title><link>{base}/</link>"
                f"<description>Feed {feed} of the benchmark farm</description>"
                + "".join(items)
                + "</channel></rss>"
            )
        return doc.encode()

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (the farm lives as long as the process)
    def chrome(self, feed: int) -> tuple[str, str]:
        """The navigation and the script/style blob every page of one site shares."""
        rng = _rng(self.seed, "chrome", feed)
        nav = "".join(f'<li><a href="/section/{i}">{_word(rng)}</a></li>' for i in range(40))
        filler = " ".join(_word(rng) for _ in range(5500))  # scripts and styles weigh a lot
        return nav, filler

    def page(self, feed: int, item: int, path: str) -> bytes:
        rng = _rng(self.seed, "chrome", feed, item)
        title = escape(self.title(feed, item))
        paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in self.body(feed, item))
        nav, filler = self.chrome(feed)
        related = "".join(
            f'<li><a href="/a/{feed}/{(item + i) % max(self.entries, 1)}">'
            f"{escape(self.title(feed, (item + i) % max(self.entries, 1)))}</a></li>"
            for i in range(1, 9)
        )
        comments = "".join(
            f'<li class="comment"><div class="comment-author">{_word(rng)}</div>'
            f"<div class='comment-content'><p>{escape(_sentence(rng))}</p></div></li>"
            for _ in range(rng.randint(3, 12))
        )
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Farm {feed}</title>
<link rel="canonical" href="{path}">
<meta property="og:title" content="{title}">
<style>.nav{{display:flex}} /* {filler[:9000]} */</style>
<script>var tracking = "{filler}";</script>
</head><body>
<header><nav class="nav"><ul>{nav}</ul></nav>
<div class="cookie-notice">We use cookies to improve your experience. Accept all cookies</div>
</header>
<main><article class="post">
<h1 class="entry-title">{title}</h1>
<div class="byline">By <span class="author">{_word(rng).capitalize()}</span></div>
<div class="share-bar">Share this: <a href="#">Facebook</a> <a href="#">Twitter</a></div>
<div class="entry-content">
{paragraphs}
<p class="copyright">© Copyright 2018. All rights reserved.</p>
</div>
<aside class="newsletter"><h3>Subscribe to our newsletter</h3><form><input name="email">
</form></aside>
<div id="comments" class="comments-area"><h2>{len(comments)} Comments</h2>
<ol class="commentlist">{comments}</ol>
<div id="respond" class="comment-respond"><h3>Leave a Reply</h3>
<form id="commentform"><p>Your email address will not be published. Required fields are marked *</p>
<textarea name="comment"></textarea><input name="author"><input name="email">
<input type="submit" value="Post Comment"></form></div></div>
</article>
<aside class="related"><h3>Related posts</h3><ul>{related}</ul></aside></main>
<footer><p>© Copyright 2018 Farm {feed}. All rights reserved.</p><ul>{nav}</ul></footer>
</body></html>""".encode()


class _Handler(BaseHTTPRequestHandler):
    server: _FarmServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        farm = self.server.farm
        base = f"http://{self.headers.get('host', '127.0.0.1')}"
        path, _, _ = self.path.partition("?")
        parts = path.strip("/").split("/")
        try:
            if parts[0] == "feed" and len(parts) == 2:
                feed = int(parts[1].removesuffix(".xml"))
                body = farm.feed_xml(base, feed, farm.generation(feed))
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("if-none-match") == etag:
                    self.server.count("feed_304")
                    self._send(304, b"", {"etag": etag})
                    return
                self.server.count("feed_200")
                self._send(200, body, {"etag": etag, "content-type": "application/xml"})
            elif parts[0] == "stats":
                self._send(200, json.dumps(self.server.stats).encode(), {})
            elif parts[0] == "a" and len(parts) == 3:
                self.server.count("pages")
                feed, item = int(parts[1]), int(parts[2])
                self._send(200, farm.page(feed, item, f"{base}/a/{feed}/{item}"))
            elif parts[0] == "copy" and len(parts) == 5:
                self.server.count("pages")
                feed, item, story_feed, story_item = map(int, parts[1:])
                own = f"{base}/copy/{feed}/{item}/{story_feed}/{story_item}"
                self._send(200, farm.page(story_feed, story_item, own))
            else:
                self._send(404, b"not found")
        except (ValueError, IndexError):
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.server.requests += 1
        self.send_response(status)
        headers = {"content-type": "text/html; charset=utf-8", **(headers or {})}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _FarmServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, farm: Farm, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.farm = farm
        self.requests = 0
        self.stats: dict[str, int] = {"feed_200": 0, "feed_304": 0, "pages": 0}
        self._lock = threading.Lock()

    def count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--duration", type=float, default=3600, help="stop after N seconds")
    parser.add_argument(
        "--churn", type=float, default=0.0, help="feed i gains an entry every N x (1 + i %% 10) s"
    )
    args = parser.parse_args()
    server = _FarmServer(Farm(args.feeds, args.entries, args.seed, args.churn), args.port)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for feed in range(args.feeds):  # build the feeds before anyone times them
        server.farm.feed_xml(base, feed)
    print(base, flush=True)
    parent = os.getppid()
    deadline = time.monotonic() + args.duration

    def watchdog() -> None:
        while time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(0.5)
        server.shutdown()

    threading.Thread(target=watchdog, daemon=True).start()
    server.serve_forever()
    print(json.dumps({"requests": server.requests, **server.stats}), file=sys.stderr)


if __name__ == "__main__":
    main()
