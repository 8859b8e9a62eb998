"""Hostile servers: what `aggregator poll` records, how long it takes and how much memory it uses.

Starts one hostile HTTP server on 127.0.0.1 (threads of this script: a port for the hostile
routes, another for a healthy control feed) and, for each case, runs the real command line
``python -m aggregator --config feeds.yaml poll --all --json`` as a subprocess in a fresh
temporary folder. feeds.yaml lists the case's feed and the control feed, with default settings
but for ``allowed_private_hosts`` (the two ports) and ``per_host_delay: 0s``, so the default caps
and deadlines are what is measured. Per case it prints wall time, peak memory (the whole process
tree sampled from /proc every 20 ms, pool workers included, and the CLI process's own maximum
from ``wait4``), the exit code, the error recorded on the feed (``feeds.last_error`` and
``last_status`` in the archive; errors of article pages come from the CLI's log), and whether
the control feed still succeeded; then the default caps and deadlines.

Everything runs inside a loopback-only network namespace (``unshare -rn``) when the system
allows it, so no packet can leave the machine even if the code under test were wrong; the
addresses 10.0.0.1 and 169.254.169.254 are put on the namespace's loopback with a canary
listener on port 80 that records any request reaching them. Without a namespace the SSRF case
is skipped. Each case is killed after ``--timeout`` seconds (the row then says "timeout").

    python benchmarks/hostile.py                   # every case, a few minutes
    python benchmarks/hostile.py --only bomb,ssrf  # the cases whose name contains a word
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import email.utils
import inspect
import json
import os
import re
import shutil
import signal
import socketserver
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from ingest import _sample_tree  # noqa: E402  (a sibling script, not a package)

T = TypeVar("T")

CANARY_ADDRESSES = ("10.0.0.1", "169.254.169.254")
"""Put on the namespace's loopback, with a listener on port 80 that records what reaches it."""
STREAM_CEILING = 150.0
"""Seconds after which the server ends an endless or dripping answer by itself."""

# --- documents -----------------------------------------------------------------------------

PROSE = (
    "The council met on Tuesday to discuss the new library, which has been delayed by two "
    "years. Residents asked why the budget doubled, and the architect explained that the "
    "foundations had to be rebuilt after the survey found water under the old market hall. "
)


def item(
    title: str,
    *,
    link: str | None = None,
    guid: str | None = None,
    date: str | None = None,
    extra: str = "",
    description: str | None = None,
) -> str:
    """An RSS item; its default description is short and its own (no duplicate detection)."""
    description = f"What {title} says." if description is None else description
    parts = [f"<title>{escape(title)}</title>"]
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{escape(date)}</pubDate>")
    parts.append(f"<description>{escape(description)}</description>{extra}")
    return f"<item>{''.join(parts)}</item>\n"


def rss(
    title: str,
    items: list[str],
    *,
    prolog: str = '<?xml version="1.0" encoding="utf-8"?>\n',
    doctype: str = "",
) -> bytes:
    return (
        f'{prolog}{doctype}<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{title}</title><link>http://example.org/</link>"
        f"<description>hostile case</description>\n{''.join(items)}</channel></rss>\n"
    ).encode()


def article_page(title: str) -> bytes:
    paragraphs = "".join(f"<p>{PROSE}</p>" for _ in range(4))
    return (
        f"<!doctype html><html lang=en><head><title>{escape(title)}</title></head><body>"
        f"<nav><a href=/>Home</a></nav><article><h1>{escape(title)}</h1>{paragraphs}</article>"
        "</body></html>"
    ).encode()


LAUGHS_DTD = (
    "<!DOCTYPE rss [\n"
    '<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
)


def laughs(padding: int) -> bytes:
    pad = f"<!-- {'x' * padding} -->\n" if padding else ""
    return rss(
        "&lol9;",
        [item("laughs", guid="laughs-1", description="&lol9;")],
        prolog=f'<?xml version="1.0" encoding="utf-8"?>\n{pad}',
        doctype=LAUGHS_DTD,
    ).replace(escape("&lol9;").encode(), b"&lol9;")


def xxe(target: str, parameter_target: str | None = None) -> bytes:
    parameter = (
        f'<!ENTITY % remote SYSTEM "{parameter_target}">\n%remote;\n' if parameter_target else ""
    )
    doctype = f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{target}">\n{parameter}]>\n'
    body = rss("XXE &xxe;", [item("xxe &xxe;", guid="xxe-1", description="&xxe;")], doctype=doctype)
    return body.replace(escape("&xxe;").encode(), b"&xxe;")


def bomb_blocks(wbits: int) -> tuple[bytes, bytes]:
    """The first block (with the gzip or zlib header) and a repeatable block: 1 MiB of zeros
    each, byte-aligned and independent of what came before thanks to Z_FULL_FLUSH."""
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first, block


SSRF_LINKS = (
    ("allowed 127.0.0.1:PORT", "{base}/ssrf/allowed"),
    ("localhost", "http://localhost:{port}/ssrf/localhost"),
    ("127.1", "http://127.1:{port}/ssrf/127.1"),
    ("2130706433", "http://2130706433:{port}/ssrf/decimal"),
    ("[::ffff:127.0.0.1]", "http://[::ffff:127.0.0.1]:{port}/ssrf/mapped"),
    ("169.254.169.254", "http://169.254.169.254/ssrf/metadata"),
    ("10.0.0.1", "http://10.0.0.1/ssrf/private"),
    ("redirect to localhost", "{base}/ssrf/redirect?to=http://localhost:{port}/ssrf/via-redirect"),
    ("redirect to 169.254", "{base}/ssrf/redirect?to=http://169.254.169.254/ssrf/via-redirect"),
    ("file:", "file:///etc/passwd"),
    ("javascript:", "javascript:alert(1)"),
    ("data:", "data:text/html,<p>hello</p>"),
)


# --- the server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    port: int
    host: str
    path: str


class Exchange:
    """One request to the hostile server, and ways to answer it (raw bytes, any timing)."""

    def __init__(self, server: Hostile, wfile: Any, port: int, path: str) -> None:
        self.server, self.wfile, self.port, self.path = server, wfile, port, path
        self.started = time.monotonic()

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def head(self, status: int, headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} {STATUS_REASONS.get(status, 'Whatever')}"]
        lines += [f"{name}: {value}" for name, value in {**headers, "Connection": "close"}.items()]
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send(
        self,
        body: bytes,
        *,
        status: int = 200,
        kind: str = "application/rss+xml",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.head(
            status, {"Content-Type": kind, "Content-Length": str(len(body)), **(headers or {})}
        )
        self.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(b"", status=status, kind="text/plain", headers={"Location": location})

    def alive(self) -> bool:
        """False once the server stops or this answer has gone on for STREAM_CEILING seconds."""
        return not self.server.stopping.is_set() and (
            time.monotonic() - self.started < STREAM_CEILING
        )


STATUS_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _Handler(socketserver.StreamRequestHandler):
    server: _Listener

    def handle(self) -> None:
        self.connection.settimeout(STREAM_CEILING)
        try:
            line = self.rfile.readline(8192).decode("latin-1")
            host = ""
            for _ in range(100):
                header = self.rfile.readline(8192).decode("latin-1")
                if header in ("\r\n", "\n", ""):
                    break
                name, _, value = header.partition(":")
                if name.strip().lower() == "host":
                    host = value.strip()
            parts = line.split()
            if len(parts) < 2:
                return
            hostile = self.server.hostile
            hostile.record(Request(self.server.port, host, parts[1]))
            exchange = Exchange(hostile, self.wfile, self.server.port, parts[1])
            hostile.route(exchange)
        except OSError:  # the client went away (that is the point of most cases)
            pass


class _Listener(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, hostile: Hostile, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.hostile = hostile
        self.port = self.server_address[1]


class Hostile:
    """The hostile server: a port for the cases, a port for the control feed, optionally a
    canary on port 80 of every address (only inside the network namespace)."""

    def __init__(self, *, canary: bool) -> None:
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self._listeners = [_Listener(self, ("127.0.0.1", 0)), _Listener(self, ("127.0.0.1", 0))]
        if canary:
            self._listeners.append(_Listener(self, ("0.0.0.0", 80)))
        self.port = self._listeners[0].port
        self.control_port = self._listeners[1].port
        self.base = f"http://127.0.0.1:{self.port}"
        self.control_base = f"http://127.0.0.1:{self.control_port}"
        self._cache: dict[str, Any] = {}
        self._routes: list[tuple[str, Callable[[Exchange], None]]] = sorted(
            ROUTES.items(), key=lambda route: -len(route[0])
        )

    def __enter__(self) -> Hostile:
        for listener in self._listeners:
            threading.Thread(target=listener.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for listener in self._listeners:
            listener.shutdown()
            listener.server_close()

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def since(self, index: int) -> list[Request]:
        with self._lock:
            return self.requests[index:]

    def cached(self, key: str, make: Callable[[], T]) -> T:
        """``make()``, made once per server."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            made: T = self._cache[key]
            return made

    def route(self, exchange: Exchange) -> None:
        path = urlsplit(exchange.path).path
        if exchange.port not in (self.port, self.control_port):
            exchange.send(b"canary", kind="text/plain")  # someone reached a non-loopback address
            return
        for prefix, handler in self._routes:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                handler(exchange)
                return
        exchange.send(b"not found", status=404, kind="text/plain")


# --- routes --------------------------------------------------------------------------------

ROUTES: dict[str, Callable[[Exchange], None]] = {}


def route(path: str) -> Callable[[Callable[[Exchange], None]], Callable[[Exchange], None]]:
    def register(handler: Callable[[Exchange], None]) -> Callable[[Exchange], None]:
        ROUTES[path] = handler
        return handler

    return register


@route("/control/feed.xml")
def _control(ex: Exchange) -> None:
    base = ex.server.control_base
    items = [item(f"Control {i}", link=f"{base}/pages/normal/{i}", guid=f"c{i}") for i in (1, 2)]
    ex.send(rss("Control", items))


@route("/pages/normal/")
def _normal_page(ex: Exchange) -> None:
    ex.send(article_page(f"Story {ex.path.rsplit('/', 1)[-1]}"), kind="text/html; charset=utf-8")


@route("/laughs.xml")
def _laughs(ex: Exchange) -> None:
    ex.send(laughs(0))


@route("/laughs-padded.xml")
def _laughs_padded(ex: Exchange) -> None:
    ex.send(laughs(64 * 1024))


@route("/xxe-file.xml")
def _xxe_file(ex: Exchange) -> None:
    ex.send(xxe("file:///etc/passwd"))


@route("/xxe-url.xml")
def _xxe_url(ex: Exchange) -> None:
    ex.send(xxe(f"{ex.server.base}/xxe/entity", f"{ex.server.base}/xxe/parameter"))


@route("/xxe/")
def _xxe_target(ex: Exchange) -> None:
    ex.send(b"root:x:0:0:fetched-by-xxe", kind="text/plain")


def _bomb(ex: Exchange, coding: str, wbits: int) -> None:
    first, block = ex.server.cached(coding, lambda: bomb_blocks(wbits))
    ex.head(200, {"Content-Type": "application/rss+xml", "Content-Encoding": coding})
    ex.write(first)
    for _ in range(10 * 1024 - 1):  # 10 GiB inflated from about 10 MB
        if not ex.alive():
            return
        ex.write(block)


@route("/bomb/gzip.xml")
def _gzip_bomb(ex: Exchange) -> None:
    _bomb(ex, "gzip", 31)


@route("/bomb/deflate.xml")
def _deflate_bomb(ex: Exchange) -> None:
    _bomb(ex, "deflate", 15)


@route("/endless.xml")
def _endless(ex: Exchange) -> None:
    ex.head(200, {"Content-Type": "application/rss+xml"})
    ex.write(rss("Endless", [])[: -len(b"</channel></rss>\n")])
    chunk = "".join(item(f"endless {i}", guid=f"e{i}") for i in range(100)).encode()
    while ex.alive():
        ex.write(chunk)


def _drip(ex: Exchange, data: bytes) -> None:
    for byte in data:
        if not ex.alive():
            return
        ex.write(bytes([byte]))
        time.sleep(2)


@route("/drip/headers.xml")
def _drip_headers(ex: Exchange) -> None:
    ex.write(b"HTTP/1.1 200 OK\r\n")
    _drip(ex, b"X-Drip: " + b"a" * 1000 + b"\r\n\r\n")


@route("/drip/body.xml")
def _drip_body(ex: Exchange) -> None:
    ex.head(200, {"Content-Type": "application/rss+xml"})
    _drip(ex, rss("Drip", [item("drip", guid="d1")]))


@route("/loop/a")
def _loop_a(ex: Exchange) -> None:
    ex.redirect("/loop/b")


@route("/loop/b")
def _loop_b(ex: Exchange) -> None:
    ex.redirect("/loop/a")


@route("/r/")
def _chain(ex: Exchange) -> None:
    ex.redirect(f"/r/{int(ex.path.rsplit('/', 1)[-1]) + 1}")


@route("/moved/302.xml")
def _moved_302(ex: Exchange) -> None:
    ex.redirect("/moved/target-302.xml", 302)


@route("/moved/301.xml")
def _moved_301(ex: Exchange) -> None:
    ex.redirect("/moved/target-301.xml", 301)


@route("/moved/")
def _moved_target(ex: Exchange) -> None:
    ex.send(rss("Moved", [item("moved", guid="m1")]))


@route("/status/")
def _status(ex: Exchange) -> None:
    status = int(urlsplit(ex.path).path.rsplit("/", 1)[-1])
    headers = {}
    if status == 429:
        headers["Retry-After"] = "120"
    if status == 503:
        later = datetime.now(UTC) + timedelta(hours=1)
        headers["Retry-After"] = email.utils.format_datetime(later, usegmt=True)
    ex.send(b"go away", status=status, kind="text/plain", headers=headers)


@route("/html-page")
def _html_page(ex: Exchange) -> None:
    page = (
        "<!doctype html><html><head><title>A blog</title>"
        '<link rel="alternate" type="application/rss+xml" title="RSS" href="/blog/rss.xml">'
        '<link rel="alternate" type="application/atom+xml" title="Atom" href="/blog/atom.xml">'
        f"</head><body><p>{PROSE}</p></body></html>"
    )
    ex.send(page.encode(), kind="text/html; charset=utf-8")


@route("/empty.xml")
def _empty(ex: Exchange) -> None:
    ex.send(b"")


@route("/latin1-lie.xml")
def _latin1_lie(ex: Exchange) -> None:
    ex.send(
        rss(
            "Café naïve \u2013 \u2603",
            [item("Crème brûlée \u2013 \u2603", guid="enc-1")],
            prolog='<?xml version="1.0" encoding="ISO-8859-1"?>\n',
        ),
        kind="application/rss+xml",
    )


@route("/malformed.xml")
def _malformed(ex: Exchange) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Broken'
        "</title><link>http://example.org/</link>\n"
        '<item><title>First &nbsp; entity</title><guid isPermaLink="false">b1</guid>'
        "<description>an <b>unclosed tag</description></item>\n"
        '<item><title>Second</title><guid isPermaLink="false">b2</guid>'
        "<description>fine</description></item>\n"
        '<item><title>Third, cut off<guid isPermaLink="false">b3</guid>'
    )
    ex.send(body.encode())


@route("/guid-shared.xml")
def _guid_shared(ex: Exchange) -> None:
    base = ex.server.base
    ex.send(
        rss(
            "Shared GUID",
            [item(f"Same guid {n}", guid="same", link=f"{base}/pages/normal/g{n}") for n in "ABC"],
        )
    )


@route("/no-guid-link.xml")
def _no_guid_link(ex: Exchange) -> None:
    ex.send(
        rss(
            "No ids",
            [item(f"No guid or link {n}") for n in (1, 2)],
        )
    )


DATES = (
    ("2099", "Thu, 01 Jan 2099 00:00:00 GMT"),
    ("9999", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ("0000-00-00", "0000-00-00"),
    ("garbage", "yesterday-ish, maybe"),
)


@route("/dates.xml")
def _dates(ex: Exchange) -> None:
    items = [item(f"date {name}", guid=f"date-{name}", date=value) for name, value in DATES]
    items.append(
        item("date dc 0000", guid="date-dc", extra="<dc:date>0000-00-00T00:00:00Z</dc:date>")
    )
    ex.send(rss("Dates", items))


MANY = 50_000


@route("/many.xml")
def _many(ex: Exchange) -> None:
    base = ex.server.base

    def make() -> bytes:
        return rss(
            "Many",
            [
                item(f"Entry {i}", guid=f"n{i}", link=f"{base}/pages/normal/n{i}", description="x")
                for i in range(MANY)
            ],
        )

    ex.send(ex.server.cached("many", make))


@route("/article/huge.xml")
def _huge_feed(ex: Exchange) -> None:
    ex.send(rss("Huge page", [item("huge page", guid="h1", link=f"{ex.server.base}/pages/huge")]))


@route("/pages/huge")
def _huge_page(ex: Exchange) -> None:
    ex.head(200, {"Content-Type": "text/html; charset=utf-8"})
    ex.write(b"<!doctype html><html><head><title>Huge</title></head><body>")
    chunk = b"<div><p>nested words here</p>" * 2048
    sent = 0
    while sent < 200_000_000 and ex.alive():  # 200 MB, no Content-Length
        ex.write(chunk)
        sent += len(chunk)


def deep_page() -> bytes:
    unit = "<div>" * 200 + f"<p>{PROSE[:60]}</p>" + "</div>" * 200
    units = 15_000_000 // len(unit)
    head = "<!doctype html><html><head><title>Deep</title></head><body>"
    return f"{head}{unit * units}</body></html>".encode()


@route("/article/deep.xml")
def _deep_feed(ex: Exchange) -> None:
    ex.send(rss("Deep page", [item("deep page", guid="p1", link=f"{ex.server.base}/pages/deep")]))


@route("/pages/deep")
def _deep_page(ex: Exchange) -> None:
    ex.send(ex.server.cached("deep", deep_page), kind="text/html; charset=utf-8")


@route("/ssrf.xml")
def _ssrf_feed(ex: Exchange) -> None:
    links = [
        (name, link.format(base=ex.server.base, port=ex.server.port)) for name, link in SSRF_LINKS
    ]
    ex.send(
        rss(
            "SSRF",
            [item(f"ssrf {name}", guid=f"s{i}", link=link) for i, (name, link) in enumerate(links)],
        )
    )


@route("/ssrf/redirect")
def _ssrf_redirect(ex: Exchange) -> None:
    ex.redirect(ex.query["to"])


@route("/ssrf/")
def _ssrf_target(ex: Exchange) -> None:
    ex.send(article_page("SSRF target reached"), kind="text/html; charset=utf-8")


# --- running one case ----------------------------------------------------------------------


@dataclass
class Outcome:
    """What one run of the CLI did, read back from its archive, its log and the server."""

    exit_code: int | None
    """None when the run was killed at the hard timeout."""
    wall: float
    tree_peak: int
    """Bytes: the largest sum of resident memory over the CLI's process tree (sampled)."""
    own_peak: int
    """Bytes: the CLI process's own maximum resident set (``wait4``)."""
    stdout: str
    stderr: str
    requests: list[Request]
    db: sqlite3.Connection | None
    feed_url: str
    control_url: str
    page_errors: list[tuple[str, str]] = field(default_factory=list)
    feed_row: dict[str, Any] | None = None
    control_row: dict[str, Any] | None = None
    control_articles: int = 0
    notes: str = ""
    details: list[str] = field(default_factory=list)
    """Lines printed under the table."""

    def feed(self, url: str | None = None) -> dict[str, Any] | None:
        return self.one("SELECT * FROM feeds WHERE url = ?", url or self.feed_url)

    def one(self, sql: str, *args: object) -> dict[str, Any] | None:
        rows = self.all(sql, *args)
        return rows[0] if rows else None

    def all(self, sql: str, *args: object) -> list[dict[str, Any]]:
        if self.db is None:
            return []
        cursor = self.db.execute(sql, args)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def articles(self, url: str | None = None) -> list[dict[str, Any]]:
        return self.all(
            "SELECT a.title, a.url, a.published, a.content_source, a.page_id FROM articles a"
            " JOIN feeds f ON f.id = a.feed_id WHERE f.url = ? ORDER BY a.id",
            url or self.feed_url,
        )

    def reached(self, prefix: str) -> list[Request]:
        return [r for r in self.requests if urlsplit(r.path).path.startswith(prefix)]


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    notes: Callable[[Outcome], str] | None = None
    settings: str = ""
    """Lines added under ``settings:`` in feeds.yaml."""
    netns: bool = False
    """Run only inside the loopback-only network namespace."""


_PAGE_EVENT = re.compile(r"event=(\w+) url=(\S+) (?:\w+=\S+ )*error=(.*)")


def _log_errors(stderr: str, control_url: str) -> list[tuple[str, str]]:
    """(url, error) of every article page that failed, from the CLI's JSON log lines."""
    control = urlsplit(control_url).netloc
    found = []
    for line in stderr.splitlines():
        try:
            message = json.loads(line).get("message", "")
        except (json.JSONDecodeError, AttributeError):
            continue
        match = _PAGE_EVENT.search(message)
        if match and urlsplit(match.group(2)).netloc != control:
            event, url, error = match.groups()
            found.append((url, f"{event.replace('_', ' ')}: {error.strip(chr(39) + chr(34))}"))
    return found


def _measure(command: list[str], cwd: Path, timeout: float) -> tuple[int | None, float, int, int]:
    """Run ``command``: (exit code or None on timeout, wall seconds, tree peak, own peak)."""
    with (cwd / "stdout").open("wb") as out, (cwd / "stderr").open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, start_new_session=True)
        peak, cpu, timed_out = 0, dict[int, float](), False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                timed_out = True
                break
            peak = max(peak, _sample_tree(process.pid, cpu, pss=False)[0])
            time.sleep(0.02)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(ProcessLookupError):  # workers left behind (there should be none)
            os.killpg(process.pid, signal.SIGKILL)
    code = None if timed_out else process.returncode
    return code, wall, peak, usage.ru_maxrss * 1024


def run_case(case: Case | None, server: Hostile, timeout: float) -> Outcome:
    """Poll the case's feed and the control feed with the real CLI in a fresh folder."""
    control_url = f"{server.control_base}/control/feed.xml"
    feed_url = f"{server.base}{case.path}" if case else control_url
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        work = Path(tmp)
        feeds = [f"  - url: {control_url}\n    name: control\n"]
        if case:
            feeds.insert(0, f"  - url: {feed_url}\n    name: case\n")
        (work / "feeds.yaml").write_text(
            "settings:\n"
            f"  allowed_private_hosts: ['127.0.0.1:{server.port}',"
            f" '127.0.0.1:{server.control_port}']\n"
            f"  per_host_delay: 0s\n{case.settings if case else ''}"
            f"feeds:\n{''.join(feeds)}"
        )
        first = len(server.since(0))
        command = [sys.executable, "-m", "aggregator", "--config", "feeds.yaml", "-v"]
        command += ["--log-format", "json", "poll", "--all", "--json"]
        code, wall, tree_peak, own_peak = _measure(command, work, timeout)
        time.sleep(0.05)  # let the server log a request that raced the end
        archive = work / "archive" / "archive.db"
        db = sqlite3.connect(f"file:{archive}?mode=ro", uri=True) if archive.exists() else None
        stderr = (work / "stderr").read_text(errors="replace")
        outcome = Outcome(
            exit_code=code,
            wall=wall,
            tree_peak=tree_peak,
            own_peak=own_peak,
            stdout=(work / "stdout").read_text(errors="replace"),
            stderr=stderr,
            requests=server.since(first),
            db=db,
            feed_url=feed_url,
            control_url=control_url,
            page_errors=_log_errors(stderr, control_url),
        )
        outcome.feed_row = outcome.feed()
        outcome.control_row = outcome.feed(control_url)
        outcome.control_articles = len(outcome.articles(control_url))
        outcome.notes = _notes(case, outcome)
        if db is not None:
            db.close()
            outcome.db = None
    return outcome


def _notes(case: Case | None, outcome: Outcome) -> str:
    """The notes cell, computed while the archive is still there."""
    if case is None or outcome.db is None:
        return ""
    entries = outcome.one(
        "SELECT count(*) AS n FROM sightings s JOIN feeds f ON f.id = s.feed_id WHERE f.url = ?",
        outcome.feed_url,
    )
    notes = f"entries {(entries or {}).get('n')}, articles {len(outcome.articles())}"
    if case.notes is not None:
        extra = case.notes(outcome)
        notes += f"; {extra}" if extra else ""
    return notes


# --- the cases -----------------------------------------------------------------------------


def _title_size(o: Outcome) -> str:
    title = (o.feed() or {}).get("title") or ""
    return f"feed title {title[:30]!r} ({len(title)} chars)"


def _passwd(o: Outcome) -> str:
    leaks = o.all(
        "SELECT 1 FROM articles WHERE coalesce(title, '') || coalesce(summary, '')"
        " || coalesce(content, '') LIKE '%root:%'"
        " UNION SELECT 1 FROM feeds WHERE title LIKE '%root:%'"
    )
    return f"/etc/passwd in archive: {'YES' if leaks else 'no'}"


def _xxe_requests(o: Outcome) -> str:
    entity, parameter = o.reached("/xxe/entity"), o.reached("/xxe/parameter")
    leaked = o.all(
        "SELECT 1 FROM articles WHERE coalesce(title, '') || coalesce(summary, '') "
        "LIKE '%fetched-by-xxe%'"
    )
    return (
        f"entity URL requested: {'YES' if entity else 'no'}, parameter-entity URL requested:"
        f" {'YES' if parameter else 'no'}, its text stored: {'YES' if leaked else 'no'}"
    )


def _hops(prefix: str) -> Callable[[Outcome], str]:
    return lambda o: f"{len(o.reached(prefix))} requests made"


def _pages_fetched(o: Outcome) -> str:
    return f"pages requested: {len(o.reached('/pages/'))}"


def _moved(o: Outcome) -> str:
    feed = o.feed() or {}
    return (
        f"fetch_url {feed.get('fetch_url')}, moved_at {'set' if feed.get('moved_at') else 'unset'}"
    )


def _schedule(o: Outcome) -> str:
    feed = o.feed() or {}
    parts = [f"next poll: {feed.get('next_poll_reason')}"]
    if feed.get("not_before"):
        parts.append(f"not_before {feed['not_before']}")
    if feed.get("disabled_reason") and "retired" not in parts[0]:
        parts.append(f"retired: {feed['disabled_reason']}")
    return "; ".join(parts)


def _titles(o: Outcome) -> str:
    feed = o.feed() or {}
    titles = ", ".join(repr(a["title"]) for a in o.articles())
    return f"feed title {feed.get('title')!r}; entries {titles}"


def _published(o: Outcome) -> str:
    return ", ".join(f"{a['title'].removeprefix('date ')}: {a['published']}" for a in o.articles())


def _page(o: Outcome) -> str:
    sources = ", ".join(f"{a['content_source']}" for a in o.articles())
    base = o.feed_url.rsplit("/", 2)[0]
    pages = o.one("SELECT count(*) AS n FROM pages WHERE final_url LIKE ?", f"{base}/pages/%")
    return f"content from: {sources}; its page kept: {(pages or {}).get('n')}"


def _ssrf(o: Outcome) -> str:
    port = str(o.feed_url.split(":")[2].split("/")[0])
    reached = [
        r
        for r in o.reached("/ssrf/")
        if r.path not in ("/ssrf/allowed",) and not r.path.startswith("/ssrf/redirect")
    ]
    errors = dict(o.page_errors)
    stored = {a["title"].removeprefix("ssrf "): a["url"] for a in o.articles()}
    for name, link in SSRF_LINKS:
        url = link.format(base=f"http://127.0.0.1:{port}", port=port)
        hit = [r for r in o.requests if urlsplit(url).path and r.path == urlsplit(url).path]
        if name.startswith("redirect"):
            target = parse_qs(urlsplit(url).query)["to"][0]
            hit = [r for r in o.requests if r.path == urlsplit(target).path]
        o.details.append(
            f"- {name} `{url}`: link stored as {stored.get(name)!r}; "
            f"{errors.get(url, 'no page error logged')}; "
            f"{'REACHED the server' if hit else 'never reached the server'}"
        )
    canary = [f"{r.host}{r.path}" for r in o.requests if r.port == 80]
    allowed = "reached" if o.reached("/ssrf/allowed") else "NOT reached"
    return (
        f"reached beyond the allowed host: {[r.path for r in reached] or 'none'};"
        f" canary on port 80: {canary or 'no request'}; the allowed 127.0.0.1:PORT link {allowed}"
    )


CASES = (
    Case("billion laughs", "/laughs.xml", _title_size),
    Case("billion laughs, DTD after 64 KiB", "/laughs-padded.xml", _title_size),
    Case("XXE file:///etc/passwd", "/xxe-file.xml", _passwd),
    Case("XXE URL on this server", "/xxe-url.xml", _xxe_requests),
    Case("gzip bomb (10 GiB from 10 MB)", "/bomb/gzip.xml"),
    Case("deflate bomb (10 GiB from 10 MB)", "/bomb/deflate.xml"),
    Case("endless body, no Content-Length", "/endless.xml"),
    Case("drip: 1 byte / 2 s in the headers", "/drip/headers.xml"),
    Case("drip: 1 byte / 2 s in the body", "/drip/body.xml"),
    Case("redirect loop A -> B -> A", "/loop/a", _hops("/loop/")),
    Case("endless redirect chain", "/r/1", _hops("/r/")),
    Case("302 to a feed", "/moved/302.xml", _moved),
    Case("301 to a feed", "/moved/301.xml", _moved),
    Case("404", "/status/404", _schedule),
    Case("410", "/status/410", _schedule),
    Case("429, Retry-After: 120", "/status/429", _schedule),
    Case("503, Retry-After: HTTP date +1 h", "/status/503", _schedule),
    Case("500", "/status/500", _schedule),
    Case("HTML page advertising 2 feeds", "/html-page"),
    Case("empty body", "/empty.xml"),
    Case("ISO-8859-1 declared over UTF-8", "/latin1-lie.xml", _titles),
    Case("malformed XML, partly recoverable", "/malformed.xml", _titles),
    Case("3 entries share one GUID", "/guid-shared.xml", _titles),
    Case("entries without guid or link", "/no-guid-link.xml"),
    Case("dates 2099, 9999, 0000-00-00, garbage", "/dates.xml", _published),
    Case(
        "50,000 entries, fetch_articles: false",
        "/many.xml",
        _pages_fetched,
        "  fetch_articles: false\n",
    ),
    Case("50,000 entries, each linking a page", "/many.xml", _pages_fetched),
    Case("article page: 200 MB streamed, no length", "/article/huge.xml", _page),
    Case("article page: 15 MB nested markup", "/article/deep.xml", _page),
    Case("SSRF: entry links and redirects", "/ssrf.xml", _ssrf, netns=True),
)


# --- reporting -----------------------------------------------------------------------------


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _error_cell(outcome: Outcome) -> str:
    """The error recorded on the feed, then the article pages' errors from the log."""
    feed = outcome.feed_row
    parts = []
    if outcome.exit_code is None:
        parts.append("TIMEOUT (killed)")
    if feed is None:
        tail = outcome.stderr.strip().splitlines()[-1:] or ["no archive"]
        parts.append(f"no feed row; stderr: {tail[0][:200]}")
    elif feed.get("last_error"):
        parts.append(str(feed["last_error"]))
    for error in dict.fromkeys(error for _, error in outcome.page_errors):
        parts.append(f"[{error}]")
    if len(parts) > 4:
        parts[3:] = [f"... {len(parts) - 3} more below"]
    return "; ".join(parts) or "—"


def _control_cell(outcome: Outcome) -> str:
    control = outcome.control_row
    if control is None:
        return "NO (not polled)"
    if control.get("last_error") or control.get("last_status") != 200:
        return f"NO: {control.get('last_status')} {control.get('last_error')}"
    if outcome.control_articles != 2:
        return f"NO: {outcome.control_articles} articles"
    return "yes"


def print_table(rows: list[tuple[str, Outcome | str]]) -> None:
    print(
        "| case | error recorded | status | exit | time s | peak MB (tree) | peak MB (CLI) "
        "| control ok | notes |"
    )
    print("| --- | --- | --- | --- | ---: | ---: | ---: | --- | --- |")
    for name, outcome in rows:
        if isinstance(outcome, str):
            print(f"| {_cell(name)} | skipped: {_cell(outcome)} | | | | | | | |")
            continue
        feed = outcome.feed_row or {}
        status = feed.get("last_status") if feed.get("last_status") is not None else "—"
        cells = (
            name,
            _error_cell(outcome),
            status,
            "timeout" if outcome.exit_code is None else outcome.exit_code,
            f"{outcome.wall:.1f}",
            f"{outcome.tree_peak / 1e6:.0f}",
            f"{outcome.own_peak / 1e6:.0f}",
            _control_cell(outcome),
            outcome.notes,
        )
        print("| " + " | ".join(_cell(c) for c in cells) + " |")
    for name, outcome in rows:
        if isinstance(outcome, str) or not (outcome.details or len(outcome.page_errors) > 3):
            continue
        print(f"\n{name}:")
        for line in outcome.details:
            print(line)
        if not outcome.details:
            for url, error in outcome.page_errors:
                print(f"- {url}: {error}")


_LIMIT_NAME = re.compile(
    r"_?[A-Z0-9_]*(MAX|LIMIT|TIMEOUT|CAP|DEADLINE|SECONDS|BYTES|PIECE|RETRY|PER_|BATCH"
    r"|ENTRIES|PAGES|DEPTH|GRACE)[A-Z0-9_]*"
)


def _constants(module: Any) -> Iterator[tuple[str, object]]:
    """Module-level numeric constants that look like limits."""
    for name, value in vars(module).items():
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and _LIMIT_NAME.fullmatch(name):
            yield name, value


def print_defaults() -> None:
    """The default caps and deadlines, read from the code itself."""
    import importlib

    from aggregator.config import Settings, format_duration
    from aggregator.fetch import Fetcher

    print("\nDefault caps and deadlines (aggregator.config.Settings and module constants):")
    settings = Settings()
    for item_ in dataclasses.fields(Settings):
        value = getattr(settings, item_.name)
        if item_.name in ("database", "smtp", "allowed_private_hosts"):
            continue
        if item_.name in ("interval", "min_interval", "max_interval", "timeout", "per_host_delay"):
            value = f"{value:g} s ({format_duration(value)})"
        elif item_.name == "max_bytes":
            value = f"{value:,} bytes"
        print(f"- settings.{item_.name}: {value}")
    signature = inspect.signature(Fetcher.__init__).parameters
    if "max_redirects" in signature:
        print(f"- fetch.Fetcher max_redirects: {signature['max_redirects'].default}")
    for name in ("fetch", "parse", "extract", "pipeline", "schedule", "scheduler", "store"):
        try:
            module = importlib.import_module(f"aggregator.{name}")
        except ImportError as exc:
            print(f"- aggregator.{name}: not importable ({exc})")
            continue
        for constant, value in _constants(module):
            shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
            print(f"- {name}.{constant}: {shown}")


# --- main ----------------------------------------------------------------------------------


def _namespace_problem() -> str | None:
    """Why a loopback-only network namespace cannot be made here, or None when it can."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return "unshare or ip is not installed"
    try:
        done = subprocess.run(
            ["unshare", "-rn", "sh", "-c", "ip link set lo up"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if done.returncode == 0 else done.stderr.strip() or "unshare failed"


def _enter_namespace() -> None:
    """Run this script again inside a new user and network namespace with only loopback."""
    setup = ["ip link set lo up"] + [f"ip addr add {a}/32 dev lo" for a in CANARY_ADDRESSES]
    script = " && ".join(setup) + ' && exec "$@"'
    command = [sys.executable, str(Path(__file__).resolve()), "--in-netns", *sys.argv[1:]]
    os.execvp("unshare", ["unshare", "-rn", "sh", "-c", script, "sh", *command])


def main() -> None:
    parser = argparse.ArgumentParser(description="aggregator poll against hostile servers")
    parser.add_argument("--only", help="comma-separated words: run the cases whose name has one")
    parser.add_argument("--timeout", type=float, default=120.0, help="hard limit per case (s)")
    parser.add_argument(
        "--no-netns", action="store_true", help="run on the host's loopback (SSRF case skipped)"
    )
    parser.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if not args.in_netns and not args.no_netns:
        problem = _namespace_problem()
        if problem is None:
            _enter_namespace()
        print(f"no network namespace ({problem}): SSRF case skipped", file=sys.stderr)
    words = [w.strip().lower() for w in (args.only or "").split(",") if w.strip()]
    cases = [c for c in CASES if not words or any(w in c.name.lower() for w in words)]

    with Hostile(canary=args.in_netns) as server:
        print(
            f"hostile server {server.base}, control feed {server.control_base}; "
            f"{'inside a loopback-only network namespace' if args.in_netns else 'host loopback'};"
            f" {os.cpu_count()} cores, Python {sys.version.split()[0]};"
            f" hard timeout {args.timeout:g} s per case\n"
        )
        rows: list[tuple[str, Outcome | str]] = []
        started = time.monotonic()
        for index, case in enumerate([None, *cases]):
            name = case.name if case else "baseline: the control feed alone"
            if case and case.netns and not args.in_netns:
                rows.append((name, "needs a loopback-only network namespace (unshare -rn)"))
                continue
            outcome = run_case(case, server, args.timeout)
            rows.append((name, outcome))
            print(
                f"[{index}/{len(cases)}] {name}: {outcome.wall:.1f} s, exit {outcome.exit_code}",
                file=sys.stderr,
                flush=True,
            )
        print_table(rows)
        print(f"\nall cases: {time.monotonic() - started:.0f} s")
    print_defaults()


if __name__ == "__main__":
    main()
