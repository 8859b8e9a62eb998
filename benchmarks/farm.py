"""A local farm of feeds and article pages for benchmarks, served on 127.0.0.1.

Deterministic: feed ``i`` of a farm with a given seed always has the same entries and pages.
Each feed is RSS 2.0 (every fifth one Atom) with ``--entries`` items; each item links to an
article page of about 50-60 KB of realistic markup (navigation, share bar, article, comment
thread and form, footer). Some entries are the same story seen again: every 20th entry links to
another feed's article with tracking parameters added, and every 25th links to a copy of another
feed's story under a new URL (same text, its own canonical link). Feeds answer conditional
GETs with 304; with ``--churn`` they gain new entries as time passes. ``/stats`` counts the
feed answers (200 and 304) and the pages served.

The farm shares the benchmark's cores, so serving must cost little: feeds and (when they fit
``--page-budget``) article pages are made before the base URL is printed, by one process per
core, and a small asyncio HTTP/1.1 server (keep-alive, pipelining) answers from memory. Pages
beyond the budget, and those of entries that arrive with ``--churn``, are made when asked.

Run it on its own (``python benchmarks/farm.py --feeds 200 --entries 50``): it prints its base
URL once it is ready and stops by itself after ``--duration`` seconds, when its parent process
dies, or on SIGTERM (then it prints its counts on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import multiprocessing
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Callable
from email.utils import formatdate
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
#: Mersenne Twister words drawn at a time by ``_Draws``.
BLOCK = 512
#: What one article page weighs as served, for ``--page-budget``.
PAGE_BYTES = 56_000


class _Draws:
    """The draws of ``random.Random`` seeded from a key, for ``choice`` and ``randint``, faster.

    Both ask ``getrandbits(k)`` for ``k = n.bit_length()`` bits until the answer is below ``n``
    (the ``n`` choices); for ``k <= 32`` that is the top ``k`` bits of the generator's next
    32-bit word. Words are drawn ``BLOCK`` at a time and only their top byte kept, so ``n`` may
    be at most 255, and the farm's text is byte for byte what ``random.Random`` made of it.
    """

    def __init__(self, seed: int) -> None:
        getrandbits = random.Random(seed).getrandbits
        blocks = (
            getrandbits(32 * BLOCK).to_bytes(4 * BLOCK, "little")[3::4]  # first word lowest
            for _ in itertools.count()
        )
        self.top: Callable[[], int] = itertools.chain.from_iterable(blocks).__next__
        """The top byte of the next word."""

    def below(self, n: int) -> int:
        shift = 8 - n.bit_length()
        top = self.top
        drawn = top() >> shift
        while drawn >= n:
            drawn = top() >> shift
        return drawn

    def randint(self, low: int, high: int) -> int:
        return low + self.below(high - low + 1)

    def choice(self, options: str) -> str:
        return options[self.below(len(options))]


#: The syllable each top byte picks (its top 6 bits), or "" when ``choice`` draws again.
_SYLLABLE_OF = [SYLLABLES[b >> 2] if b >> 2 < len(SYLLABLES) else "" for b in range(256)]


def _rng(*key: object) -> _Draws:
    digest = hashlib.sha256(repr(key).encode()).digest()
    return _Draws(int.from_bytes(digest[:8], "big"))


def _word(rng: _Draws) -> str:
    """1 to 4 syllables (``_Draws.randint`` and ``choice``, unrolled: the farm's hot loop)."""
    top = rng.top
    drawn = top()
    while drawn >= 128:  # randint(1, 4): 3 bits, below 4
        drawn = top()
    wanted = (drawn >> 5) + 1
    word = ""
    while wanted:
        syllable = _SYLLABLE_OF[top()]
        if syllable:
            word += syllable
            wanted -= 1
    return word


def _sentence(rng: _Draws) -> str:
    words = [_word(rng) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + rng.choice(".....?!")


def _paragraph(rng: _Draws) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 7)))


Page = tuple[bytes, ...]
"""An article page in parts, without its canonical URL, which goes between the first two."""

_SCRIPT = b' */</style>\n<script>var tracking = "'


class Farm:
    """The farm's content, computed on demand (titles and summaries are kept)."""

    def __init__(
        self,
        feeds: int,
        entries: int,
        seed: int = 1,
        churn: float = 0.0,
        started_wall: int | None = None,
    ) -> None:
        self.feeds = feeds
        self.entries = entries
        self.seed = seed
        self.churn = churn
        self.started = time.monotonic()
        self.started_wall = int(time.time()) if started_wall is None else started_wall

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

    @functools.lru_cache(maxsize=1 << 17)  # noqa: B019 (the farm lives as long as the process)
    def title(self, feed: int, item: int) -> str:
        rng = _rng(self.seed, "title", feed, item)
        return " ".join(_word(rng) for _ in range(rng.randint(4, 9))).capitalize()

    def body(self, feed: int, item: int) -> list[str]:
        rng = _rng(self.seed, "body", feed, item)
        return [_paragraph(rng) for _ in range(rng.randint(8, 14))]

    @functools.lru_cache(maxsize=1 << 17)  # noqa: B019
    def summary(self, feed: int, item: int) -> str:
        """The feed's text for the story: the start of its first paragraph (``body``'s)."""
        rng = _rng(self.seed, "body", feed, item)
        rng.randint(8, 14)
        return _paragraph(rng)[:300]

    def feed_xml(self, base: str, feed: int, generation: int = 0) -> bytes:
        """The feed's newest ``entries`` items after ``generation`` new ones arrived."""
        items = []
        atom = feed % 5 == 4
        for item in range(generation + self.entries - 1, generation - 1, -1):
            story_feed, story_item, _ = self.story_of(feed, item)
            title = escape(self.title(story_feed, story_item))
            link = escape(base + self.article_path(feed, item))
            summary = escape(self.summary(story_feed, story_item))
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

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def chrome(self, feed: int) -> tuple[str, bytes, bytes]:
        """One site's navigation, and its styles and scripts (most of a page's bytes)."""
        rng = _rng(self.seed, "chrome", feed)
        nav = "".join(f'<li><a href="/section/{i}">{_word(rng)}</a></li>' for i in range(40))
        filler = " ".join(_word(rng) for _ in range(5500))
        return nav, filler[:9000].encode(), filler.encode()

    def page(self, feed: int, item: int, url: str) -> bytes:
        """The article page, its canonical link ``url``."""
        head, *rest = self.page_parts(feed, item)
        return b"".join((head, url.encode(), *rest))

    def page_parts(self, feed: int, item: int) -> Page:
        """The article page in parts; all pages of a site share its styles and scripts."""
        rng = _rng(self.seed, "chrome", feed, item)
        title = escape(self.title(feed, item))
        paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in self.body(feed, item))
        nav, style, script = self.chrome(feed)
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
        head = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Farm {feed}</title>
<link rel="canonical" href=\""""
        after_link = f"""">
<meta property="og:title" content="{title}">
<style>.nav{{display:flex}} /* """
        tail = f"""";</script>
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
</body></html>"""
        return head.encode(), after_link.encode(), style, _SCRIPT, script, tail.encode()


# -- making the farm before serving it ---------------------------------------------------------

_farm: Farm  # in each process that makes sites


def _start_maker(farm: Farm) -> None:
    global _farm
    _farm = farm


def _make_site(job: tuple[str, int, bool]) -> tuple[int, bytes, dict[int, Page]]:
    """Feed ``feed``'s XML and, when asked, the pages of the stories it carries as its own."""
    base, feed, with_pages = job
    # Every story some feed links to is one its own feed carries: pages nobody links to (the
    # entries that carry another feed's story) are left out.
    pages = {
        item: _farm.page_parts(feed, item)
        for item in range(_farm.entries)
        if with_pages and _farm.story_of(feed, item)[2] == "own"
    }
    # One answer is pickled at once, and pickle writes an object it has seen as a reference:
    # the site's styles and scripts cross once and stay shared by its pages.
    return feed, _farm.feed_xml(base, feed), pages


def make_sites(
    farm: Farm, base: str, with_pages: bool
) -> tuple[dict[int, bytes], dict[tuple[int, int], Page]]:
    """Every feed's XML at ``base`` and, when ``with_pages``, the pages the feeds link to.

    One process per core makes them.
    """
    cores = len(os.sched_getaffinity(0))
    context = multiprocessing.get_context("fork")  # the farm and its caches go as they are
    feeds: dict[int, bytes] = {}
    pages: dict[tuple[int, int], Page] = {}
    jobs = [(base, feed, with_pages) for feed in range(farm.feeds)]
    with context.Pool(cores, initializer=_start_maker, initargs=(farm,)) as pool:
        chunk = max(1, len(jobs) // (cores * 16))
        for feed, xml, site in pool.imap_unordered(_make_site, jobs, chunksize=chunk):
            feeds[feed] = xml
            pages.update(((feed, item), parts) for item, parts in site.items())
    return feeds, pages


# -- serving it --------------------------------------------------------------------------------

#: The longest request head read; a longer one is answered 431.
MAX_HEAD = 16_384
REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
}
HTML = "text/html; charset=utf-8"

Answer = tuple[int, dict[str, str], tuple[bytes, ...]]
"""Status, headers and body parts."""


class Answers:
    """What the farm answers, from what was made before it started, or made when asked."""

    def __init__(
        self,
        farm: Farm,
        base: str,
        feeds: dict[int, bytes],
        pages: dict[tuple[int, int], Page],
    ) -> None:
        self.farm = farm
        self.pages = pages
        self.feeds: dict[tuple[str, int], tuple[int, bytes, str]] = {
            (base, feed): (0, xml, _etag(xml)) for feed, xml in feeds.items()
        }
        """(base URL, feed) -> the generation last made, its XML and ETag."""
        self.requests = 0
        self.stats: dict[str, int] = {"feed_200": 0, "feed_304": 0, "pages": 0}

    def answer(self, target: str, host: str, etag: str | None) -> Answer:
        """The answer to a GET of ``target`` (a path and maybe a query)."""
        self.requests += 1
        base = f"http://{host}"
        path, _, _ = target.partition("?")
        parts = path.strip("/").split("/")
        try:
            if parts[0] == "feed" and len(parts) == 2:
                return self._feed(base, int(parts[1].removesuffix(".xml")), etag)
            if parts[0] == "stats":
                return 200, {"content-type": "application/json"}, (json.dumps(self.stats).encode(),)
            if parts[0] == "a" and len(parts) == 3:
                feed, item = int(parts[1]), int(parts[2])
                return self._page(feed, item, f"{base}/a/{feed}/{item}")
            if parts[0] == "copy" and len(parts) == 5:
                feed, item, story_feed, story_item = map(int, parts[1:])
                own = f"{base}/copy/{feed}/{item}/{story_feed}/{story_item}"
                return self._page(story_feed, story_item, own)
        except ValueError:
            pass
        return 404, {"content-type": HTML}, (b"not found",)

    def _feed(self, base: str, feed: int, etag: str | None) -> Answer:
        generation = self.farm.generation(feed)
        known = self.feeds.get((base, feed))
        if known is None or known[0] != generation:
            xml = self.farm.feed_xml(base, feed, generation)
            known = self.feeds[base, feed] = (generation, xml, _etag(xml))
        _, xml, current = known
        if etag == current:
            self.stats["feed_304"] += 1
            return 304, {"etag": current, "content-type": HTML}, ()
        self.stats["feed_200"] += 1
        return 200, {"etag": current, "content-type": "application/xml"}, (xml,)

    def _page(self, feed: int, item: int, url: str) -> Answer:
        self.stats["pages"] += 1
        parts = self.pages.get((feed, item)) or self.farm.page_parts(feed, item)
        return 200, {"content-type": HTML}, (parts[0], url.encode(), *parts[1:])


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


class Connection(asyncio.Protocol):
    """HTTP/1.1 on one connection: requests answered in order, as many as the client sends.

    GET and HEAD only; a request with a body is refused and the connection closed. While the
    client reads slower than it asks, the farm stops reading from it.
    """

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.transport: asyncio.Transport | None = None
        self.unread = bytearray()
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.unread += data
        self._answer_all()

    def pause_writing(self) -> None:
        self.paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.paused = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
            # Not from here: closing the transport inside its own write callback would end
            # the connection twice (asyncio 3.11).
            asyncio.get_running_loop().call_soon(self._answer_all)

    def _answer_all(self) -> None:
        """Answer every whole request read, until the client must catch up."""
        while not self.paused and self.transport is not None and not self.transport.is_closing():
            while self.unread.startswith(b"\r\n"):  # stray line ends before a request
                del self.unread[:2]
            end = self.unread.find(b"\r\n\r\n")
            if end < 0:
                if len(self.unread) > MAX_HEAD:
                    self._send(431, {}, (), head_only=False, close=True)
                return
            head = self.unread[:end].decode("latin-1")
            del self.unread[: end + 4]
            self._answer(head)

    def _answer(self, head: str) -> None:
        request_line, *lines = head.split("\r\n")
        try:
            method, target, version = request_line.split(" ")
        except ValueError:
            self._send(400, {}, (), head_only=False, close=True)
            return
        fields = {}
        for line in lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        tokens = {token.strip() for token in fields.get("connection", "").lower().split(",")}
        close = "close" in tokens if version == "HTTP/1.1" else "keep-alive" not in tokens
        if method not in ("GET", "HEAD"):
            self._send(501, {}, (), head_only=False, close=True)
        elif fields.get("content-length", "0") != "0" or "transfer-encoding" in fields:
            self._send(400, {}, (), head_only=False, close=True)
        else:
            status, headers, body = self.answers.answer(
                target, fields.get("host", "127.0.0.1"), fields.get("if-none-match")
            )
            self._send(status, headers, body, head_only=method == "HEAD", close=close)

    def _send(
        self,
        status: int,
        headers: dict[str, str],
        body: tuple[bytes, ...],
        *,
        head_only: bool,
        close: bool,
    ) -> None:
        assert self.transport is not None
        lines = [f"HTTP/1.1 {status} {REASONS[status]}"]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        lines.append(f"content-length: {sum(map(len, body))}")
        if close:
            lines.append("connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.transport.write(head if head_only else b"".join((head, *body)))
        if close:
            self.transport.close()


async def serve(
    listener: socket.socket, answers: Answers, until: float, parent: int, base: str
) -> None:
    """Serve on ``listener`` until ``until`` (monotonic), the parent's death, or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await loop.create_server(lambda: Connection(answers), sock=listener, backlog=1024)
    async with server:
        print(base, flush=True)
        while not stop.is_set() and time.monotonic() < until and os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


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
    parser.add_argument(
        "--page-budget",
        type=float,
        default=1500,
        metavar="MB",
        help="make the article pages before serving when, at ~56 KB each, they weigh at most"
        " this (held, a quarter of it: a site's pages share its scripts); else when asked",
    )
    args = parser.parse_args()
    parent = os.getppid()
    until = time.monotonic() + args.duration
    listener = socket.socket()
    listener.bind(("127.0.0.1", args.port))
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    farm = Farm(args.feeds, args.entries, args.seed, args.churn)
    with_pages = args.feeds * args.entries * PAGE_BYTES <= args.page_budget * 1e6
    feeds, pages = make_sites(farm, base, with_pages)
    answers = Answers(farm, base, feeds, pages)
    asyncio.run(serve(listener, answers, until, parent, base))
    print(json.dumps({"requests": answers.requests, **answers.stats}), file=sys.stderr)


if __name__ == "__main__":
    main()
