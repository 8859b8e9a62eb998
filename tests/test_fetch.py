"""aggregator.fetch against a real HTTP server on 127.0.0.1 (tests/server.py).

Tests about addresses other than 127.0.0.1 run in a network namespace of their own
(tests/netns.py), where no packet can leave the machine even if the address policy failed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

import httpx
import pytest

from aggregator.config import Settings
from aggregator.errors import (
    AddressNotAllowed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
    TooManyRedirects,
)
from aggregator.fetch import USER_AGENT, Fetcher
from aggregator.models import FetchResult
from tests import netns
from tests.server import Request, Route, TestServer


def fetch(server: TestServer, path: str, **options: Any) -> FetchResult:
    """Fetch one path of the test server (allowed by the address policy) with a fresh Fetcher,
    without a per-host delay unless one is given."""
    validators = {k: options.pop(k) for k in ("etag", "last_modified", "accept") if k in options}

    async def go() -> FetchResult:
        options.setdefault("allowed_private_hosts", [server.host])
        options.setdefault("per_host_delay", 0)
        async with Fetcher(**options) as fetcher:
            return await fetcher.fetch(server.url(path), **validators)

    return asyncio.run(go())


def compress(data: bytes, wbits: int) -> bytes:
    """gzip (wbits 31), zlib-wrapped deflate (15) or raw deflate (-15)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


# --- Requests and answers ----------------------------------------------------------------------


def test_sends_our_headers_and_keeps_the_answer(server: TestServer) -> None:
    server.add("/page", body="<p>hi</p>", headers={"X-Custom": "yes"})
    result = fetch(server, "/page", accept="text/html")
    (sent,) = server.requests_to("/page")
    assert sent.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("aggregator/")
    assert sent.headers["accept-encoding"] == "gzip, deflate"
    assert sent.headers["accept"] == "text/html"
    assert "if-none-match" not in sent.headers
    assert result.status == 200
    assert result.body == b"<p>hi</p>"
    assert result.url == result.final_url == server.url("/page")
    assert result.headers["x-custom"] == "yes"
    assert all(key == key.lower() for key in result.headers)
    assert result.content_type == "text/html"
    assert result.fetched_at.tzinfo == UTC
    assert 0 < result.elapsed < 5
    assert result.redirects == ()
    assert result.permanent_redirect is None


def test_cookies_are_not_kept_between_requests(server: TestServer) -> None:
    server.add("/set", headers={"set-cookie": "session=1; Path=/"})
    server.add("/next", body="ok")

    async def go() -> None:
        async with Fetcher(allowed_private_hosts=[server.host], per_host_delay=0) as fetcher:
            await fetcher.fetch(server.url("/set"))
            await fetcher.fetch(server.url("/next"))

    asyncio.run(go())
    assert "cookie" not in server.requests_to("/next")[0].headers


def test_conditional_get_sends_validators_verbatim_and_gets_304(server: TestServer) -> None:
    etag, modified = 'W/"v1 with space"', "Tue, 03 Mar 2026 10:00:00 GMT"
    server.add("/feed", body="<rss/>", etag=etag, last_modified=modified)
    first = fetch(server, "/feed")
    assert (first.etag, first.last_modified) == (etag, modified)

    again = fetch(server, "/feed", etag=first.etag, last_modified=first.last_modified)
    sent = server.requests_to("/feed")[-1].headers
    assert (sent["if-none-match"], sent["if-modified-since"]) == (etag, modified)
    assert again.status == 304
    assert again.not_modified
    assert again.body == b""
    assert (again.etag, again.last_modified) == (etag, modified)


def test_304_validators_come_from_the_answer_else_from_what_was_sent(server: TestServer) -> None:
    server.add("/bare", status=304)
    server.add("/new-etag", status=304, headers={"etag": '"v2"'})
    bare = fetch(server, "/bare", etag='"v1"', last_modified="Mon, 02 Mar 2026 09:00:00 GMT")
    assert (bare.etag, bare.last_modified) == ('"v1"', "Mon, 02 Mar 2026 09:00:00 GMT")
    renewed = fetch(server, "/new-etag", etag='"v1"', last_modified="yesterday")
    assert (renewed.etag, renewed.last_modified) == ('"v2"', "yesterday")


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (404, {}, "HTTP 404 Not Found"),
        (410, {}, "HTTP 410 Gone"),
        (503, {"Retry-After": "120"}, "HTTP 503 Service Unavailable"),
    ],
)
def test_error_status_raises_with_its_headers(
    server: TestServer, status: int, headers: dict[str, str], message: str
) -> None:
    server.add("/broken", status=status, headers=headers, body="sorry")
    with pytest.raises(HTTPStatusError) as caught:
        fetch(server, "/broken")
    assert str(caught.value) == message
    assert caught.value.status == status
    assert caught.value.url == server.url("/broken")
    assert caught.value.headers.get("retry-after") == headers.get("Retry-After")


def test_a_transport_passed_in_is_used_as_is() -> None:
    """Unit edge case: a 3xx without Location is an answer, not a redirect."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(300, content=b"pick one")

    async def go() -> FetchResult:
        async with Fetcher(transport=httpx.MockTransport(handler)) as fetcher:
            return await fetcher.fetch("http://feeds.invalid/choices")

    result = asyncio.run(go())
    assert (result.status, result.body, result.redirects) == (300, b"pick one", ())
    assert seen[0].headers["user-agent"] == USER_AGENT


# --- Redirects ---------------------------------------------------------------------------------


def test_permanent_redirect_chain_is_reported(server: TestServer) -> None:
    server.add("/old", status=301, headers={"location": "/moved/step"})
    server.add("/moved/step", status=308, headers={"location": "../new?x=1"})
    final = server.add("/new?x=1", body="here")
    result = fetch(server, "/old")
    assert result.body == b"here"
    assert result.final_url == final
    assert result.url == server.url("/old")
    assert result.redirects == ((301, server.url("/moved/step")), (308, final))
    assert result.permanent_redirect == final


def test_a_temporary_hop_makes_the_chain_not_permanent(server: TestServer) -> None:
    server.add("/a", status=301, headers={"location": server.url("/b")})
    server.add("/b", status=302, headers={"location": "/c"})
    server.add("/c", body="c")
    result = fetch(server, "/a")
    assert [status for status, _ in result.redirects] == [301, 302]
    assert result.permanent_redirect is None


def test_redirect_loop_is_refused(server: TestServer) -> None:
    server.add("/x", status=302, headers={"location": "/y"})
    server.add("/y", status=302, headers={"location": "/x"})
    with pytest.raises(TooManyRedirects, match="loop"):
        fetch(server, "/x")
    assert len(server.requests) == 2


def test_redirect_hop_limit(server: TestServer) -> None:
    for hop in range(3):
        server.add(f"/hop{hop}", status=307, headers={"location": f"/hop{hop + 1}"})
    server.add("/hop3", body="end")
    assert fetch(server, "/hop1", max_redirects=2).body == b"end"
    with pytest.raises(TooManyRedirects, match="more than 2 redirects"):
        fetch(server, "/hop0", max_redirects=2)


def test_invalid_redirect_location(server: TestServer) -> None:
    server.add("/bad", status=302, headers={"location": "http://127.0.0.1:notaport/"})
    with pytest.raises(FetchError, match=r"^the server broke the HTTP protocol: Invalid URL"):
        fetch(server, "/bad")


# --- Deadline and size cap ---------------------------------------------------------------------


def test_total_deadline_stops_a_dripping_server(server: TestServer) -> None:
    """Each byte (headers included) comes within httpx's per-read timeout; the total stops it."""
    server.add("/drip", Route(body="x" * 20, drip=0.3))
    started = time.monotonic()
    with pytest.raises(FetchTimeout) as caught:
        fetch(server, "/drip", timeout=1.0)
    assert time.monotonic() - started < 2.5
    assert str(caught.value) == "timed out after 1 s"


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", lambda body: compress(body, 31)),
        ("x-gzip", lambda body: compress(body, 31)),
        ("deflate", lambda body: compress(body, 15)),
        ("deflate", lambda body: compress(body, -15)),
        ("gzip, deflate", lambda body: compress(compress(body, 31), 15)),
        ("identity", lambda body: body),
    ],
    ids=["gzip", "x-gzip", "zlib-deflate", "raw-deflate", "gzip-then-deflate", "identity"],
)
def test_bodies_are_decompressed(
    server: TestServer, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = b"".join(b"line %d of a long page\n" % n for n in range(40_000))  # ~1 MB, many pieces
    server.add("/whole", body=encode(body), headers={"content-encoding": coding})
    assert fetch(server, "/whole").body == body
    small = encode(b"tiny body")
    one_byte_chunks = Route(
        chunks=lambda: (bytes([byte]) for byte in small), headers={"content-encoding": coding}
    )
    server.add("/bytes", one_byte_chunks)
    assert fetch(server, "/bytes").body == b"tiny body"


@pytest.mark.parametrize(
    ("coding", "body", "message"),
    [
        ("br", b"\x0b\x02\x80hello\x03", "unsupported content encoding: br"),
        ("gzip", b"this is not gzip at all", "the gzip body cannot be decompressed"),
    ],
)
def test_undecodable_bodies_are_refused(
    server: TestServer, coding: str, body: bytes, message: str
) -> None:
    server.add("/odd", body=body, headers={"content-encoding": coding})
    with pytest.raises(FetchError, match=message) as caught:
        fetch(server, "/odd")
    assert caught.value.url == server.url("/odd")


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """200 MB of zeros, gzipped (about 200 KB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1_000_000)
    return b"".join(packer.compress(zeros) for _ in range(200)) + packer.flush()


def test_gzip_bomb_stops_at_the_cap_with_little_memory(
    server: TestServer, gzip_bomb: bytes
) -> None:
    server.add("/bomb", body=gzip_bomb, headers={"content-encoding": "gzip"})
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ResponseTooLarge, match="larger than 1,000,000 bytes"):
            fetch(server, "/bomb", max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 3
    assert peak < 4_000_000


def test_endless_body_without_length_is_cut(server: TestServer) -> None:
    server.add("/endless", Route(chunks=lambda: itertools.repeat(b"x" * 65536)))
    with pytest.raises(ResponseTooLarge):
        fetch(server, "/endless", max_bytes=1_000_000)


def test_declared_length_over_the_cap_is_refused_and_the_cap_itself_fits(
    server: TestServer,
) -> None:
    server.add("/big", body=b"x" * 1001)
    server.add("/exact", body=b"x" * 1000)
    with pytest.raises(ResponseTooLarge):
        fetch(server, "/big", max_bytes=1000)
    assert len(fetch(server, "/exact", max_bytes=1000).body) == 1000


def test_from_settings_applies_limits_delay_and_policy(server: TestServer) -> None:
    arrivals = Arrivals()
    small = server.add("/small", arrivals.answer(Route(body="ok")))
    big = server.add("/big", body=b"x" * 100)
    settings = Settings(max_bytes=50, per_host_delay=0.2, allowed_private_hosts=(server.host,))

    async def go() -> None:
        async with Fetcher.from_settings(settings) as fetcher:
            await fetcher.fetch(small)
            await fetcher.fetch(small)
            await fetcher.fetch(big)

    with pytest.raises(ResponseTooLarge):
        asyncio.run(go())
    assert min(arrivals.gaps("/small")) >= 0.2 - LATENCY


# --- Concurrency -------------------------------------------------------------------------------


class Gauge:
    """Counts the requests the server is handling at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def slow(self, request: Request) -> Route:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.15)
        with self._lock:
            self.now -= 1
        return Route(body="done")


def fetch_all(urls: list[str], **options: Any) -> Fetcher:
    """Fetch ``urls`` at once with one Fetcher (no per-host delay unless one is given)."""
    options.setdefault("per_host_delay", 0)

    async def go() -> Fetcher:
        async with Fetcher(**options) as fetcher:
            results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
            assert [r.body for r in results] == [b"done"] * len(urls)
            return fetcher

    return asyncio.run(go())


@pytest.mark.parametrize(("per_host", "peak"), [(1, 1), (3, 3)])
def test_per_host_limit(server: TestServer, per_host: int, peak: int) -> None:
    gauge = Gauge()
    url = server.add("/slow", handler=gauge.slow)
    fetch_all([url] * 3, per_host=per_host, allowed_private_hosts=[server.host])
    assert gauge.peak == peak


def test_global_limit_spans_hosts_and_host_slots_are_forgotten(server: TestServer) -> None:
    gauge = Gauge()
    server.add("/slow", handler=gauge.slow)
    port = server.host.rsplit(":", 1)[1]
    urls = [f"http://127.0.0.1:{port}/slow", f"http://localhost:{port}/slow"] * 2
    fetcher = fetch_all(urls, concurrency=1, allowed_private_hosts=[server.host, "localhost"])
    assert gauge.peak == 1
    assert len(fetcher._hosts) == 0  # no entry left behind for hosts nobody is fetching


# --- Politeness --------------------------------------------------------------------------------

LATENCY = 0.03
"""How much later than the client sent it a request may reach the server (the tests measure
spacing where requests arrive)."""


class Arrivals:
    """When the server received each request, by path, on the event loop's clock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: list[tuple[str, float]] = []

    def answer(self, route: Route) -> Route:
        """A route that records each request, then answers with ``route``."""

        def handler(request: Request) -> Route:
            with self._lock:
                self._times.append((request.path, time.monotonic()))
            return route

        return Route(handler=handler)

    def times(self, path: str) -> list[float]:
        with self._lock:
            return [when for seen, when in self._times if seen == path]

    def gaps(self, path: str) -> list[float]:
        times = self.times(path)
        return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_requests_to_one_host_start_at_least_the_delay_apart(server: TestServer) -> None:
    arrivals = Arrivals()
    url = server.add("/page", arrivals.answer(Route(body="done")))
    fetch_all([url] * 4, per_host=2, per_host_delay=0.2, allowed_private_hosts=[server.host])
    gaps = arrivals.gaps("/page")
    assert len(gaps) == 3
    assert min(gaps) >= 0.2 - LATENCY


def test_zero_delay_means_no_spacing(server: TestServer) -> None:
    arrivals = Arrivals()
    url = server.add("/page", arrivals.answer(Route(body="done")))
    fetch_all([url] * 4, per_host=4, per_host_delay=0, allowed_private_hosts=[server.host])
    assert sum(arrivals.gaps("/page")) < 0.1


def test_other_hosts_do_not_wait_for_a_host_s_delay(server: TestServer) -> None:
    """With one global slot, the request waiting for its host's delay holds none of it."""
    arrivals = Arrivals()

    async def go(first: str, second: str, allowed: list[str]) -> None:
        async with Fetcher(concurrency=1, per_host_delay=0.3, allowed_private_hosts=allowed) as f:
            await f.fetch(first)
            waiting = asyncio.create_task(f.fetch(first))
            await asyncio.sleep(0.05)  # the second request to the first host waits for its turn
            await f.fetch(second)
            await waiting

    with TestServer() as other:
        first = server.add("/first", arrivals.answer(Route(body="ok")))
        second = other.add("/second", arrivals.answer(Route(body="ok")))
        asyncio.run(go(first, second, [server.host, other.host]))
    first_start, first_again = arrivals.times("/first")
    (second_start,) = arrivals.times("/second")
    assert second_start - first_start < 0.2
    assert first_again - first_start >= 0.3 - LATENCY


def test_each_redirect_hop_waits_its_turn_outside_the_deadline(server: TestServer) -> None:
    arrivals = Arrivals()
    for hop in range(3):
        server.add(
            f"/hop{hop}", arrivals.answer(Route(status=302, headers={"location": f"/hop{hop + 1}"}))
        )
    server.add("/hop3", arrivals.answer(Route(body="end")))
    started = time.monotonic()
    result = fetch(server, "/hop0", per_host_delay=0.2, timeout=0.3)
    assert time.monotonic() - started >= 0.6 - LATENCY  # longer than the timeout: waits are free
    assert result.body == b"end"
    assert result.elapsed < 0.2
    times = [arrivals.times(f"/hop{hop}")[0] for hop in range(4)]
    assert min(later - earlier for earlier, later in itertools.pairwise(times)) >= 0.2 - LATENCY


def test_a_host_is_remembered_only_until_its_delay_has_passed(server: TestServer) -> None:
    url = server.add("/page", body="ok")

    async def go() -> None:
        async with Fetcher(per_host_delay=0.2, allowed_private_hosts=[server.host]) as fetcher:
            await fetcher.fetch(url)
            waiting = asyncio.create_task(fetcher.fetch(url))
            await asyncio.sleep(0.05)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert len(fetcher._hosts) == 1  # the next request to it must still wait
            await asyncio.sleep(0.2)
            assert len(fetcher._hosts) == 0

    asyncio.run(go())
    assert len(server.requests) == 1


@pytest.mark.parametrize("delay", [-0.1, math.nan, math.inf])
def test_bad_delays_are_refused(delay: float) -> None:
    with pytest.raises(ValueError, match="per_host_delay"):
        Fetcher(per_host_delay=delay)


# --- Address policy on 127.0.0.1 ---------------------------------------------------------------


def test_the_local_server_is_refused_without_an_exception(server: TestServer) -> None:
    server.add("/feed", body="ok")
    with pytest.raises(AddressNotAllowed, match=r"^127\.0\.0\.1 is a loopback address"):
        fetch(server, "/feed", allowed_private_hosts=[])
    assert server.requests == []
    assert fetch(server, "/feed").body == b"ok"
    assert fetch(server, "/feed", allowed_private_hosts=["127.0.0.1"]).body == b"ok"
    assert fetch(server, "/feed", allow_private_networks=True, allowed_private_hosts=[]).body


@pytest.mark.parametrize("host", ["localhost", "127.1", "2130706433", "[::1]", "0x7f.1"])
def test_other_spellings_of_loopback_are_refused(server: TestServer, host: str) -> None:
    """The exception names 127.0.0.1:PORT; other spellings of it are not excepted."""
    port = server.host.rsplit(":", 1)[1]

    async def go() -> None:
        async with Fetcher(allowed_private_hosts=[server.host]) as fetcher:
            await fetcher.fetch(f"http://{host}:{port}/")

    with pytest.raises(AddressNotAllowed, match="loopback"):
        asyncio.run(go())
    assert server.requests == []


def test_exception_by_name_and_port(server: TestServer) -> None:
    server.add("/feed", body="ok")
    port = int(server.host.rsplit(":", 1)[1])

    async def go(url: str, allowed: list[str]) -> bytes:
        async with Fetcher(allowed_private_hosts=allowed) as fetcher:
            return (await fetcher.fetch(url)).body

    assert asyncio.run(go(f"http://LocalHost:{port}/feed", ["localhost"])) == b"ok"
    with pytest.raises(AddressNotAllowed):
        asyncio.run(go(server.url("/feed"), [f"127.0.0.1:{port + 1}"]))


def test_every_redirect_hop_is_checked(server: TestServer) -> None:
    port = server.host.rsplit(":", 1)[1]
    server.add("/jump", status=301, headers={"location": f"http://localhost:{port}/inside"})
    server.add("/inside", body="secret")
    with pytest.raises(AddressNotAllowed, match="localhost"):
        fetch(server, "/jump")
    assert [r.path for r in server.requests] == ["/jump"]


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/feed", "gopher://127.0.0.1:70/", "feed.xml"]
)
def test_only_http_and_https(url: str) -> None:
    async def go() -> None:
        async with Fetcher(allow_private_networks=True) as fetcher:
            await fetcher.fetch(url)

    with pytest.raises(AddressNotAllowed, match="only http and https"):
        asyncio.run(go())


def test_bad_exception_entries_are_rejected() -> None:
    with pytest.raises(ValueError, match="not a host"):
        Fetcher(allowed_private_hosts=["http://host/path"])


# --- Network failures --------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]  # bound but not listening: connections are refused


def test_connection_refused(closed_port: int) -> None:
    async def go() -> None:
        async with Fetcher(allow_private_networks=True) as fetcher:
            await fetcher.fetch(f"http://127.0.0.1:{closed_port}/")

    with pytest.raises(FetchError) as caught:
        asyncio.run(go())
    assert str(caught.value) == "connection refused"
    assert isinstance(caught.value.__cause__, Exception)


def test_tls_error_is_named(server: TestServer) -> None:
    async def go() -> None:
        async with Fetcher(allowed_private_hosts=[server.host]) as fetcher:
            await fetcher.fetch(f"https://{server.host}/")

    with pytest.raises(FetchError, match=r"^TLS error: ") as caught:
        asyncio.run(go())
    assert caught.value.__cause__ is not None


# --- Address policy beyond loopback, in an isolated namespace ----------------------------------

_PROBE = """
import asyncio, json, sys
from aggregator.errors import FetchError
from aggregator.fetch import Fetcher

async def main(allow, urls):
    out = {}
    async with Fetcher(timeout=5, allow_private_networks=allow == "allow") as fetcher:
        for url in urls:
            try:
                out[url] = ["ok", (await fetcher.fetch(url)).status]
            except FetchError as exc:
                out[url] = [type(exc).__name__, str(exc)]
    print(json.dumps(out))

asyncio.run(main(sys.argv[1], sys.argv[2:]))
"""

_HOSTS = {
    "internal.test": "10.1.2.3",
    "metadata.test": "169.254.169.254",
    "public.test": "8.8.8.8",
}

REFUSED = {
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://metadata.test/latest/meta-data/": "link-local",
    "http://internal.test/": "private",
    "http://10.0.0.1/": "private",
    "http://172.16.5.4:8080/": "private",
    "http://192.168.1.1/": "private",
    "http://100.64.0.1/": "CGNAT",
    "http://0.0.0.0/": "unspecified",
    "http://224.0.0.1/": "multicast",
    "http://240.0.0.1/": "reserved",
    "http://[fe80::1]/": "link-local",
    "http://[fc00::1]/": "private",
    "http://[ff02::1]/": "multicast",
    "http://[::]/": "unspecified",
    "http://[::ffff:169.254.169.254]/": "link-local",
    "http://[::ffff:a00:1]/": "private",
    "http://[64:ff9b::a00:1]/": "private",
    "http://[2002:a00:1::1]/": "private",
}


@pytest.fixture(scope="module")
def isolated_refusals() -> dict[str, list[str]]:
    output = netns.run_python(_PROBE, "deny", *REFUSED, hosts=_HOSTS)
    return dict(json.loads(output))


@pytest.mark.parametrize(("url", "kind"), REFUSED.items(), ids=list(REFUSED))
def test_non_public_addresses_are_refused(
    isolated_refusals: dict[str, list[str]], url: str, kind: str
) -> None:
    error, message = isolated_refusals[url]
    assert error == "AddressNotAllowed"
    assert kind in message


def test_policy_lets_public_and_allowed_addresses_through_to_the_network() -> None:
    """In the namespace there is no route anywhere: what the policy lets by fails to connect."""
    urls = ["http://10.0.0.1/", "http://internal.test/"]
    allowed = json.loads(netns.run_python(_PROBE, "allow", *urls, hosts=_HOSTS))
    public = ["http://public.test/", "http://nowhere.test/"]
    denied = json.loads(netns.run_python(_PROBE, "deny", *public, hosts=_HOSTS))
    for error, message in [*allowed.values(), denied["http://public.test/"]]:
        assert (error, message) == ("FetchError", "network error: network is unreachable")
    assert denied["http://nowhere.test/"] == ["FetchError", "name not resolved: nowhere.test"]
