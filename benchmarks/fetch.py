"""Fetch benchmark: CPU per request of our ``Fetcher`` against bare httpx and bare httpcore.

A small asyncio HTTP/1.1 server in a child process (so that its CPU is not counted) serves on
127.0.0.1 a fixed ~56 KB HTML page, the same page gzipped, and a 50-entry RSS feed with an ETag
that answers 304 to a matching ``If-None-Match``. This process then makes ``--requests`` GETs
per case, as the pipeline does (one host, ``per_host`` 16, ``concurrency`` 32, no per-host
delay), and prints the CPU time of this process (``time.process_time``) per request, the median and
the least of ``--repeat`` runs (other load on the machine inflates CPU time too), for each case
and client:

- ``Fetcher``: ``aggregator.fetch.Fetcher``, everything it checks included;
- ``httpx``: a bare ``httpx.AsyncClient`` (``client.get``, ``response.content``): the floor of
  httpx itself;
- ``httpcore``: a bare ``httpcore.AsyncConnectionPool`` (gzip undone with ``zlib``): the floor
  under httpx.

Both bare clients run on httpcore's connection pool and default network backend (anyio);
``Fetcher`` brings its own of both (a pool whose cost does not grow with its connections, and
asyncio's transports), which is why it can cost less than they do.

    python benchmarks/fetch.py [--requests 2000] [--repeat 5] [--only Fetcher] [--case page]

Profile one client and case with py-spy, for instance:

    py-spy record --format raw -o fetch.txt -- python benchmarks/fetch.py --only Fetcher --case page
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

PER_HOST = 16
CONCURRENCY = 32
ETAG = '"feed-v1"'
LAST_MODIFIED = "Tue, 03 Mar 2026 10:00:00 GMT"
CASES = {
    "page": ("/page/{n}", None),
    "feed": ("/feed/{n}.xml", None),
    "feed 304": ("/feed/{n}.xml", ETAG),
    "gzip page": ("/gz/{n}", None),
}
"""Case -> (path, ETag sent)."""


# --- The server (child process) ----------------------------------------------------------------


def page_html() -> bytes:
    """A fixed article page of about 56 KB."""
    sentence = "The quick brown fox jumps over a lazy dog while archivers read feeds. "
    paragraphs = "".join(
        f'<p class="para-{n % 5}">{sentence * 5}Paragraph {n}.</p>\n' for n in range(147)
    )
    head = "<!doctype html><html><head><title>An article</title></head><body><article>\n"
    return (head + paragraphs + "</article></body></html>\n").encode()


def feed_xml() -> bytes:
    """An RSS 2.0 feed of 50 entries."""
    items = "".join(
        f"<item><title>Entry {n}</title><link>http://127.0.0.1/page/{n}</link>"
        f"<guid>urn:entry:{n}</guid><pubDate>Tue, 03 Mar 2026 10:{n:02d}:00 GMT</pubDate>"
        f"<description>Summary of entry {n}: a few words about what it says.</description>"
        "</item>\n"
        for n in range(50)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Bench feed</title><link>http://127.0.0.1/</link>\n{items}</channel></rss>\n"
    ).encode()


def answer(status: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
    lines += [f"content-length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class _Http(asyncio.Protocol):
    """Keep-alive HTTP/1.1 GETs, answered from bytes built once."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        self._answers = answers
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._buffer += data
        while b"\r\n\r\n" in self._buffer:
            head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
            self._transport.write(self._answers[self._route(path, headers)])

    @staticmethod
    def _route(path: str, headers: dict[str, str]) -> str:
        if path.startswith("/page/"):
            return "page"
        if path.startswith("/gz/"):
            return "gzip" if "gzip" in headers.get("accept-encoding", "") else "page"
        if path.startswith("/feed/"):
            return "304" if headers.get("if-none-match") == ETAG else "feed"
        return "404"


def serve() -> None:
    """Serve until stdin closes; print the port first."""
    page, feed = page_html(), feed_xml()
    html = {"content-type": "text/html; charset=utf-8"}
    validators = {"etag": ETAG, "last-modified": LAST_MODIFIED}
    answers = {
        "page": answer("200 OK", html, page),
        "gzip": answer("200 OK", {**html, "content-encoding": "gzip"}, gzip.compress(page, 6)),
        "feed": answer("200 OK", {"content-type": "application/rss+xml", **validators}, feed),
        "304": answer("304 Not Modified", validators, b""),
        "404": answer("404 Not Found", {"content-type": "text/plain"}, b"not found"),
    }

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Http(answers), "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # the parent closes it to stop us
        server.close()

    asyncio.run(main())


# --- The clients (this process) ----------------------------------------------------------------

Get = Callable[[str, str | None], Awaitable[int]]
"""GET a URL (with an ETag to send, or None); returns the body's length."""
Run = tuple[int, list[int]]
"""CPU nanoseconds spent, and the body length of each answer."""


async def run_fetcher(urls: list[str], etag: str | None, host: str) -> Run:
    from aggregator.fetch import Fetcher

    async with Fetcher(
        per_host=PER_HOST,
        concurrency=CONCURRENCY,
        per_host_delay=0,
        allowed_private_hosts=[host],
    ) as fetcher:

        async def get(url: str, etag: str | None) -> int:
            return len((await fetcher.fetch(url, etag=etag)).body)

        return await timed(get, urls, etag)


async def run_httpx(urls: list[str], etag: str | None, host: str) -> Run:
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        slots = asyncio.Semaphore(PER_HOST)

        async def get(url: str, etag: str | None) -> int:
            async with slots:
                headers = {"if-none-match": etag} if etag else None
                return len((await client.get(url, headers=headers)).content)

        return await timed(get, urls, etag)


async def run_httpcore(urls: list[str], etag: str | None, host: str) -> Run:
    import zlib

    import httpcore

    async with httpcore.AsyncConnectionPool(max_connections=CONCURRENCY) as pool:
        slots = asyncio.Semaphore(PER_HOST)
        base = [(b"accept-encoding", b"gzip, deflate")]

        async def get(url: str, etag: str | None) -> int:
            headers = [*base, (b"if-none-match", etag.encode())] if etag else base
            async with slots:
                response = await pool.request("GET", url, headers=headers)
            body = response.content
            if (b"content-encoding", b"gzip") in response.headers:
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            return len(body)

        return await timed(get, urls, etag)


async def timed(get: Get, urls: list[str], etag: str | None) -> Run:
    """Warm the connections up, then GET every URL, ``CONCURRENCY`` tasks at a time."""
    await asyncio.gather(*(get(url, etag) for url in urls[:PER_HOST]))
    pending = iter(urls)
    sizes: list[int] = []

    async def worker() -> None:
        for url in pending:
            sizes.append(await get(url, etag))

    started = time.process_time_ns()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.process_time_ns() - started, sizes


CLIENTS = {"Fetcher": run_fetcher, "httpx": run_httpx, "httpcore": run_httpcore}


def measure(client: str, case: str, port: int, requests: int) -> tuple[float, int]:
    """(CPU ms per request, bytes of each body) of one run."""
    path, etag = CASES[case]
    host = f"127.0.0.1:{port}"
    urls = [f"http://{host}{path.format(n=n)}" for n in range(requests)]
    spent, sizes = asyncio.run(CLIENTS[client](urls, etag, host))
    if len(sizes) != requests or len(set(sizes)) != 1:
        raise SystemExit(f"{client} {case}: unexpected answers {sorted(set(sizes))}")
    return spent / 1e6 / requests, sizes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per case and run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case and client")
    parser.add_argument("--only", choices=CLIENTS, action="append", help="client(s) to run")
    parser.add_argument("--case", choices=CASES, action="append", help="case(s) to run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    clients = args.only or list(CLIENTS)
    cases = args.case or list(CASES)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        print(
            f"{args.requests} requests per run, {args.repeat} runs; one host, per_host "
            f"{PER_HOST}, concurrency {CONCURRENCY}; CPU ms per request of this process only, "
            "median (least)"
        )
        print(f"{'case':<10} {'bytes':>7}" + "".join(f" {name:>18}" for name in clients))
        for case in cases:
            runs: dict[str, list[float]] = {name: [] for name in clients}
            size = 0
            for _ in range(args.repeat):  # interleaved, so that drifts hit every client alike
                for name in clients:
                    cpu, size = measure(name, case, port, args.requests)
                    runs[name].append(cpu)
            cells = "".join(
                f" {statistics.median(runs[name]):>10.3f} ({min(runs[name]):.3f})"
                for name in clients
            )
            print(f"{case:<10} {size:>7}{cells}", flush=True)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
