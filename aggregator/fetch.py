"""HTTP for aggregator: the only module that speaks to the network (and imports httpx).

One ``Fetcher`` owns one httpx transport (a pool of keep-alive connections) shared by every feed
and article fetch, and hands it each request itself: an ``httpx.AsyncClient`` would add nothing
we use (cookies, auth, proxies from the environment, redirects) but its cost. Each ``fetch`` is
a conditional GET that follows redirects itself, so that every hop is checked, and
is bounded three ways: a total deadline, a cap on the *decompressed* body, and a global plus a
per-host limit on requests in flight. It is also polite: requests to one host (``host:port``;
each redirect hop counts for its own host) start at least ``per_host_delay`` seconds apart,
whoever makes them, feed polls and article fetches alike.

Connections are kept by a pool of our own, which hands each one to httpcore's HTTP/1.1
connection class. The address policy is enforced where connections are made: the pool
resolves the host, refuses it when any of its addresses is loopback, private, link-local or
otherwise non-public (unless allowed), and connects to the address it checked. A name that
resolves differently later (DNS rebinding) is checked again on its next connection. A pooled
connection serves only its own ``scheme://host:port``, so every other spelling of a host, or
another host on the same address, connects (and is checked) anew.

No cookie is kept or sent: there is no jar, which, shared by every feed, would grow without
bound.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import logging
import math
import select
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpcore
import httpx

from aggregator import __version__
from aggregator.config import Settings
from aggregator.errors import (
    AddressNotAllowed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ResponseTooLarge,
    TooManyRedirects,
)
from aggregator.models import FetchResult

__all__ = ["USER_AGENT", "Fetcher"]

USER_AGENT = f"aggregator/{__version__} (feed archiver)"
#: The encodings we accept (httpx decodes them; pages are archived decoded).
ACCEPT_ENCODING = "gzip, deflate"

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_PIECE = 64 * 1024
"""Most bytes one inflate step may produce: bounds memory whatever the compression ratio."""
_DRAIN_BYTES = 64 * 1024
_DRAIN_SECONDS = 0.25
"""Most bytes, and seconds, spent reading to its end a body that is not kept."""
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Foreign exceptions a request may raise; each becomes a FetchError (TimeoutError is an OSError).
_NETWORK_ERRORS = (
    httpx.HTTPError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    OSError,
)


class Fetcher:
    """Fetches URLs under one set of limits and one address policy.

    ``allowed_private_hosts`` lists exceptions to the policy written as in URLs, ``host`` (any
    port) or ``host:port``; they match that spelling only (``localhost`` does not allow
    ``127.0.0.1``). A ``transport`` passed in is used as it is: the address policy is then the
    transport's business, and only the URL scheme is checked here.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_bytes: int = 20_000_000,
        concurrency: int = 32,
        per_host: int = 2,
        per_host_delay: float = 0.5,
        allow_private_networks: bool = False,
        allowed_private_hosts: Iterable[str] = (),
        max_redirects: int = 10,
        user_agent: str = USER_AGENT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if timeout <= 0 or max_bytes <= 0 or concurrency < 1 or per_host < 1 or max_redirects < 0:
            raise ValueError("fetch limits must be positive")
        if not 0 <= per_host_delay < math.inf:
            raise ValueError("per_host_delay must be a number of seconds, zero or more")
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._in_flight = asyncio.Semaphore(concurrency)
        self._hosts = _Hosts(per_host, per_host_delay)
        if transport is None:
            policy = _AddressPolicy(
                allow_private=allow_private_networks,
                exceptions=frozenset(_parse_exception(host) for host in allowed_private_hosts),
            )
            transport = _Pool(policy, max_idle=concurrency)
        self._transport = transport
        self._headers = {
            "accept": "*/*",
            "accept-encoding": ACCEPT_ENCODING,
            "connection": "keep-alive",
            "user-agent": user_agent,
        }
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}

    @classmethod
    def from_settings(cls, settings: Settings) -> Fetcher:
        """A fetcher with the limits and address policy of ``feeds.yaml``."""
        return cls(
            timeout=settings.timeout,
            max_bytes=settings.max_bytes,
            concurrency=settings.concurrency,
            per_host=settings.per_host,
            per_host_delay=settings.per_host_delay,
            allow_private_networks=settings.allow_private_networks,
            allowed_private_hosts=settings.allowed_private_hosts,
        )

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """GET ``url``, conditionally when validators are given, following redirects.

        Returns the final answer when its status is below 400 (304 included, with an empty body).
        Raises ``HTTPStatusError`` for 4xx/5xx and another ``FetchError`` when the request fails.
        """
        headers: dict[str, str] = {}
        if etag is not None:
            headers["if-none-match"] = etag
        if last_modified is not None:
            headers["if-modified-since"] = last_modified
        if accept is not None:
            headers["accept"] = accept
        try:
            result = await self._follow(url, headers)
        except FetchError as exc:
            exc.url = exc.url or url
            raise
        except _NETWORK_ERRORS as exc:
            raise _translate(exc, self._timeout, url) from exc
        if result.status == 304:
            result = _replace_validators(result, etag=etag, last_modified=last_modified)
        log.debug(
            "fetched url=%s status=%d bytes=%d redirects=%d elapsed=%.3f",
            url,
            result.status,
            len(result.body),
            len(result.redirects),
            result.elapsed,
        )
        return result

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._transport.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _follow(self, url: str, headers: dict[str, str]) -> FetchResult:
        """The redirect loop: each hop is a separate request, checked and limited on its own.

        The deadline counts time on the network only: waiting for a slot or for a host's turn,
        before any hop, is not counted.
        """
        loop = asyncio.get_running_loop()
        target = _parse_url(url)
        seen = {str(target)}
        redirects: list[tuple[int, str]] = []
        spent = 0.0
        while True:
            async with self._hosts.admit(_host_of(target), self._in_flight):
                began = loop.time()
                deadline = began + self._timeout - spent
                async with asyncio.timeout_at(deadline):
                    answer = await self._exchange(target, headers, deadline)
                spent += loop.time() - began
            location = answer.headers.get("location")
            if answer.status not in _REDIRECTS or location is None:
                break
            target = _parse_url(location, base=target)
            if len(redirects) == self._max_redirects:
                raise TooManyRedirects(f"more than {self._max_redirects} redirects")
            if str(target) in seen:
                raise TooManyRedirects(f"redirect loop back to {target}")
            seen.add(str(target))
            redirects.append((answer.status, str(target)))
        if answer.status >= 400:
            raise HTTPStatusError(
                f"HTTP {answer.status} {answer.reason}".strip(),
                status=answer.status,
                headers=answer.headers,
            )
        permanent = bool(redirects) and all(status in _PERMANENT for status, _ in redirects)
        return FetchResult(
            url=url,
            final_url=str(target),
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            etag=answer.headers.get("etag"),
            last_modified=answer.headers.get("last-modified"),
            permanent_redirect=str(target) if permanent else None,
            redirects=tuple(redirects),
            fetched_at=datetime.now(UTC),
            elapsed=spent,
        )

    async def _exchange(self, url: httpx.URL, headers: dict[str, str], deadline: float) -> _Answer:
        """One request and, when it will be kept, its body (the hop ends by ``deadline``, in
        loop time)."""
        request = httpx.Request(
            "GET", url, headers=self._headers | headers, extensions=self._extensions
        )
        response = await self._transport.handle_async_request(request)
        try:
            answer = _Answer(
                status=response.status_code,
                reason=response.reason_phrase,
                headers=dict(response.headers.items()),
            )
            if _has_body(answer):
                answer.body = await self._read_body(response)
            else:
                await _drain(response, deadline)
        finally:
            await response.aclose()
        return answer

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The decompressed body, refused as soon as it grows past ``max_bytes``."""
        body = bytearray()
        async for piece in self._pieces(response):
            if len(body) + len(piece) > self._max_bytes:
                raise ResponseTooLarge(self._too_large())
            body += piece
        return bytes(body)

    async def _pieces(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The body in bounded pieces, inflated here rather than by httpx, whose decoder may turn
        one network read into tens of megabytes before anyone can count them."""
        if response.is_stream_consumed:
            # A transport passed in (httpx.MockTransport) may hand over a body httpx has decoded.
            yield response.content
            return
        layers = _layers(response.headers.get("content-encoding", ""))
        declared = response.headers.get("content-length", "")
        if not layers and declared.isdigit() and int(declared) > self._max_bytes:
            raise ResponseTooLarge(self._too_large())
        async for chunk in response.aiter_raw():
            for piece in _inflate(layers, chunk):
                yield piece

    def _too_large(self) -> str:
        return f"the response is larger than {self._max_bytes:,} bytes"


@dataclass(slots=True)
class _Answer:
    """What one hop answered."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes = b""


def _has_body(answer: _Answer) -> bool:
    """Whether the body of this answer is kept (not for 304, errors or redirects we follow)."""
    if answer.status == 304 or answer.status >= 400:
        return False
    return not (answer.status in _REDIRECTS and "location" in answer.headers)


async def _drain(response: httpx.Response, deadline: float) -> None:
    """Read the body of an answer we do not keep (a 304's, a redirect's, an error page's) to its
    end when it is small and comes at once, so that its connection serves again: httpcore
    closes a connection whose answer was not read to the end, and a warm poll, all 304s, would
    open a connection (and make a TLS handshake) per feed.

    The wait ends before ``deadline``, so that an answer is never lost to a slow body."""
    loop = asyncio.get_running_loop()
    if response.is_stream_consumed or deadline - loop.time() <= _DRAIN_SECONDS:
        return
    left = _DRAIN_BYTES
    with contextlib.suppress(TimeoutError, *_NETWORK_ERRORS):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for chunk in response.aiter_raw():
                left -= len(chunk)
                if left < 0:
                    return  # too long to wait for: the connection is closed instead


def _replace_validators(
    result: FetchResult, *, etag: str | None, last_modified: str | None
) -> FetchResult:
    """A 304 that omits a validator keeps the one that was sent."""
    return FetchResult(
        url=result.url,
        final_url=result.final_url,
        status=result.status,
        headers=result.headers,
        body=result.body,
        etag=result.etag or etag,
        last_modified=result.last_modified or last_modified,
        permanent_redirect=result.permanent_redirect,
        redirects=result.redirects,
        fetched_at=result.fetched_at,
        elapsed=result.elapsed,
    )


def _parse_url(url: str, base: httpx.URL | None = None) -> httpx.URL:
    """``url`` (a redirect's location relative to ``base``, if given) when it is an http(s) URL
    with a host."""
    try:
        parsed = base.join(url) if base else httpx.URL(url)
    except httpx.InvalidURL as exc:
        if base is None:
            raise FetchError(f"invalid URL: {exc}") from exc
        raise FetchError(
            f"the server broke the HTTP protocol: Invalid URL in its Location header: {exc}"
        ) from exc
    if not parsed.scheme:
        raise AddressNotAllowed("only http and https URLs are fetched; this one has no scheme")
    if parsed.scheme not in ("http", "https"):
        raise AddressNotAllowed(f"only http and https URLs are fetched, not {parsed.scheme}:")
    if not parsed.raw_host:
        raise FetchError("invalid URL: no host")
    return parsed


def _host_of(url: httpx.URL) -> tuple[str, int]:
    """The host and port ``url`` connects to: the unit of per-host limits."""
    return url.raw_host.decode("ascii"), url.port or (443 if url.scheme == "https" else 80)


# --- Decompression -----------------------------------------------------------------------------


def _layers(content_encoding: str) -> list[_Inflater]:
    """The inflaters undoing ``Content-Encoding``, in the order to apply them."""
    codings = [coding.strip().lower() for coding in content_encoding.split(",")]
    return [_Inflater(coding) for coding in reversed(codings) if coding not in ("", "identity")]


def _inflate(layers: Sequence[_Inflater], data: bytes) -> Iterator[bytes]:
    """``data`` passed through every layer in turn, in bounded pieces."""
    if not layers:
        yield data
        return
    for piece in layers[0].feed(data):
        yield from _inflate(layers[1:], piece)


class _Inflater:
    """Undoes one gzip or deflate layer, never producing more than ``_PIECE`` bytes at once.

    ``deflate`` is meant to be zlib-wrapped, but some servers send raw deflate: the first two
    bytes tell which.
    """

    def __init__(self, coding: str) -> None:
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported content encoding: {coding}")
        self._coding = coding
        self._head = b""
        self._zlib = None if coding == "deflate" else zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        inflater = self._zlib
        try:
            # Bytes after the end of the compressed stream are ignored, as httpx does.
            while not inflater.eof:
                piece = inflater.decompress(data, _PIECE)
                data = inflater.unconsumed_tail
                if piece:
                    yield piece
                if not data and len(piece) < _PIECE:
                    return
        except zlib.error as exc:
            raise FetchError(f"the {self._coding} body cannot be decompressed: {exc}") from exc


# --- Concurrency and politeness ---------------------------------------------------------------


@dataclass(slots=True)
class _Host:
    """What is known of one host: its request slots, its turn to start one, and when it may."""

    slots: asyncio.Semaphore
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = -math.inf
    """Loop time before which no request to this host may start."""
    users: int = 0
    """Tasks holding or awaiting a slot."""
    expiry: asyncio.TimerHandle | None = None
    """Forgets the host once it is unused and its delay has passed."""


class _Hosts:
    """At most ``limit`` requests in flight per host, starting at least ``delay`` seconds apart.

    A host is remembered while requests use it and, after the last one, until its delay has
    passed, so the table holds only the hosts in use or asked in the last ``delay`` seconds.
    """

    def __init__(self, limit: int, delay: float) -> None:
        self._limit = limit
        self._delay = delay
        self._hosts: dict[tuple[str, int], _Host] = {}

    def __len__(self) -> int:
        return len(self._hosts)

    @contextlib.asynccontextmanager
    async def admit(
        self, key: tuple[str, int], in_flight: asyncio.Semaphore
    ) -> AsyncIterator[None]:
        """Hold one of the host's slots, wait for its turn, then take one of ``in_flight``.

        The global slot is taken last, after the host's delay: a request waiting for a busy or
        recently asked host keeps no other host waiting.
        """
        loop = asyncio.get_running_loop()
        host = self._enter(key)
        try:
            async with host.slots:
                # The start is recorded under the turn, once the global slot is held, so that
                # no other request to this host can start in between.
                async with host.turn:
                    if host.next_start > loop.time():
                        await asyncio.sleep(host.next_start - loop.time())
                    await in_flight.acquire()
                    host.next_start = loop.time() + self._delay
                try:
                    yield
                finally:
                    in_flight.release()
        finally:
            self._leave(key, host, loop)

    def _enter(self, key: tuple[str, int]) -> _Host:
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(asyncio.Semaphore(self._limit))
        elif host.expiry is not None:
            host.expiry.cancel()
            host.expiry = None
        host.users += 1
        return host

    def _leave(self, key: tuple[str, int], host: _Host, loop: asyncio.AbstractEventLoop) -> None:
        host.users -= 1
        if host.users:
            return
        wait = host.next_start - loop.time()
        if wait > 0:
            host.expiry = loop.call_later(wait, self._hosts.pop, key)
        else:
            del self._hosts[key]


# --- Address policy ----------------------------------------------------------------------------


def _parse_exception(entry: str) -> tuple[str, int | None]:
    """``host`` or ``host:port`` (as written in URLs) -> (host as httpcore sees it, port)."""
    try:
        url = httpx.URL(f"http://{entry.strip()}")
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a host or host:port: {entry!r}") from exc
    if not url.raw_host or url.raw_path != b"/" or url.userinfo or url.fragment:
        raise ValueError(f"not a host or host:port: {entry!r}")
    return url.raw_host.decode("ascii"), url.port


def _non_public(ip: _IPAddress) -> str | None:
    """What kind of non-public address ``ip`` is, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return _non_public(embedded)
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "shared (CGNAT)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "non-public"),
    )
    return next((kind for matches, kind in checks if matches), None)


@dataclass(frozen=True, slots=True)
class _AddressPolicy:
    allow_private: bool
    exceptions: frozenset[tuple[str, int | None]]
    """(host, port) pairs from ``allowed_private_hosts``; port None means any port."""

    def check(self, host: str, port: int, address: str) -> None:
        """Raise ``AddressNotAllowed`` when ``host:port``, resolved to ``address``, is refused."""
        if self.allow_private or {(host, port), (host, None)} & self.exceptions:
            return
        kind = _non_public(ipaddress.ip_address(address))
        if kind is not None:
            shown = address if address == host else f"{host} ({address})"
            raise AddressNotAllowed(
                f"{shown} is a {kind} address, refused unless listed in allowed_private_hosts"
            )


# --- Connections -------------------------------------------------------------------------------

_KEEP_ALIVE = 5.0
"""Seconds an idle connection is kept for."""

_Origin = tuple[bytes, bytes, int]
"""What a connection serves: (scheme, host, port), as the URL spells them."""


class _Pool(httpx.AsyncBaseTransport):
    """httpx's transport interface over HTTP/1.1 connections of our own, kept by origin.

    A request takes the connection its origin used last, unless the server has closed it or it
    has been idle for ``_KEEP_ALIVE`` seconds, else opens one: it resolves the host, checks
    every address it resolves to against the policy, connects to a checked one and, for https,
    makes the TLS handshake. A connection goes back to its origin's idle list once its answer
    has been read to the end, if the server keeps it open. At most ``max_idle`` connections wait
    there, the longest idle making way for the others.

    Connections in use are not limited here: the fetcher limits requests in flight, in all and
    per host. As a connection is opened only when none of its origin is idle, an origin never
    has more connections, idle or not, than requests in flight to its host at one time.

    Every step costs the same whatever the number of connections, where httpcore's pool looks
    at each connection for each request waiting whenever a request starts or ends
    (encode/httpcore#1035).
    """

    def __init__(self, policy: _AddressPolicy, *, max_idle: int) -> None:
        self._policy = policy
        self._tls: ssl.SSLContext | None = None
        """Made at the first https connection (loading the CA certificates takes ~20 ms)."""
        self._max_idle = max_idle
        self._idle: dict[_Origin, collections.deque[httpcore.AsyncHTTP11Connection]] = {}
        """Each origin's idle connections, the longest idle first."""
        self._by_age: collections.OrderedDict[httpcore.AsyncHTTP11Connection, _Origin] = (
            collections.OrderedDict()
        )
        """Every idle connection, the longest idle first, and its origin."""
        self._busy: set[httpcore.AsyncHTTP11Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.raw_scheme == b"https" else 80)
        origin = (url.raw_scheme, url.raw_host, port)
        connection = await self._take(origin) or await self._open(
            origin, request.extensions["timeout"]["connect"]
        )
        self._busy.add(connection)
        try:
            response = await connection.handle_async_request(
                httpcore.Request(
                    method=request.method,
                    url=httpcore.URL(
                        scheme=url.raw_scheme, host=url.raw_host, port=port, target=url.raw_path
                    ),
                    headers=request.headers.raw,
                    content=request.stream,
                    extensions=request.extensions,
                )
            )
        except BaseException:
            self._busy.discard(connection)  # which has closed itself
            raise
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=_ResponseStream(response, self, connection, origin),
            extensions=response.extensions,
        )

    async def give_back(self, connection: httpcore.AsyncHTTP11Connection, origin: _Origin) -> None:
        """Keep ``connection``, whose answer is closed, for its origin's next request, if it can
        serve one."""
        if connection not in self._busy:
            return  # given back already, or closed with the pool
        self._busy.remove(connection)
        if not connection.is_idle():  # its answer was not read to the end, or the server ends it
            await connection.aclose()  # closed already, unless closing its answer failed
            return
        idle = self._idle.setdefault(origin, collections.deque())
        idle.append(connection)
        self._by_age[connection] = origin
        if len(self._by_age) > self._max_idle:
            oldest, its_origin = self._by_age.popitem(last=False)
            idle = self._idle[its_origin]
            idle.popleft()  # the longest idle of all is the longest idle of its origin
            if not idle:
                del self._idle[its_origin]
            await oldest.aclose()

    async def aclose(self) -> None:
        """Close every connection, idle or in use."""
        connections = [*self._by_age, *self._busy]
        self._idle.clear()
        self._by_age.clear()
        self._busy.clear()
        for connection in connections:
            await connection.aclose()

    async def _take(self, origin: _Origin) -> httpcore.AsyncHTTP11Connection | None:
        """The origin's most recently used idle connection that can still serve, if any."""
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            del self._by_age[connection]
            if not idle:
                del self._idle[origin]
            if not connection.has_expired():  # idle too long, or closed by the server
                return connection
            await connection.aclose()
        return None

    async def _open(self, origin: _Origin, timeout: float | None) -> httpcore.AsyncHTTP11Connection:
        """A new connection to ``origin``, through the address policy."""
        scheme, host, port = origin
        stream = await self._dial(host.decode("ascii"), port, timeout)
        if scheme == b"https":
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
                self._tls.set_alpn_protocols(["http/1.1"])
            await stream.start_tls(self._tls, host.decode("ascii"), timeout)
        return httpcore.AsyncHTTP11Connection(
            httpcore.Origin(scheme, host, port), stream, keepalive_expiry=_KEEP_ALIVE
        )

    async def _dial(self, host: str, port: int, timeout: float | None) -> _Stream:
        """A TCP connection to an address of ``host``, once every one of them has passed."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError(f"name not resolved: {host}") from exc
        for *_, address in infos:
            self._policy.check(host, port, str(address[0]))
        failure: Exception = FetchError(f"name not resolved: {host}")
        for info in dict.fromkeys(infos):
            try:
                return await _connect(loop, info, timeout)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure


class _ResponseStream(httpx.AsyncByteStream):
    """An answer's body, whose end gives its connection back to the pool."""

    def __init__(
        self,
        response: httpcore.Response,
        pool: _Pool,
        connection: httpcore.AsyncHTTP11Connection,
        origin: _Origin,
    ) -> None:
        self._response = response
        self._pool = pool
        self._connection = connection
        self._origin = origin

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.aiter_stream():
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._response.aclose()
        finally:
            await self._pool.give_back(self._connection, self._origin)


_AddressInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]


async def _connect(
    loop: asyncio.AbstractEventLoop, info: _AddressInfo, timeout: float | None
) -> _Stream:
    """A TCP connection to the very address ``info`` names (as ``getaddrinfo`` gave it)."""
    family, kind, proto, _, address = info
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, address)
        _, stream = await loop.create_connection(lambda: _Stream(loop), sock=sock)
    except TimeoutError as exc:
        sock.close()
        raise httpcore.ConnectTimeout(f"connecting to {address[0]} timed out") from exc
    except OSError as exc:
        sock.close()
        raise httpcore.ConnectError(str(exc)) from exc
    except BaseException:
        sock.close()
        raise
    return stream


_READ_AHEAD = 256 * 1024
"""Received bytes a connection keeps unread before it stops reading the socket."""

_EXTRA_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}
"""httpcore's names for a stream's details -> asyncio's names for the transport's."""


class _Stream(asyncio.Protocol, httpcore.AsyncNetworkStream):
    """One connection, as httpcore's network stream over asyncio's transport and callbacks.

    It does what httpcore's anyio streams do for a fraction of their CPU: a read or write that
    need not wait costs no cancel scope, and telling whether an idle connection was closed by
    the server costs one ``poll`` of its socket, where anyio builds a table of the socket's
    details, addresses included, and then polls it. httpcore reads and writes one at a time on
    an HTTP/1.1 connection, so one waiter serves both.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._socket = select.poll()
        """Polls the connection's socket alone."""
        self._transport: asyncio.Transport | None = None
        self._received: collections.deque[bytes] = collections.deque()
        self._unread = 0
        self._ended = False
        """The server sent its last byte (those in ``_received`` are still to be read)."""
        self._lost: Exception | None = None
        self._writable = True
        self._waiter: asyncio.Future[None] | None = None

    # asyncio's callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._socket.register(transport.get_extra_info("socket").fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        self._received.append(data)
        self._unread += len(data)
        if self._unread > _READ_AHEAD and self._transport is not None:
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        self._ended = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended = True
        self._lost = exc
        self._writable = True
        self._wake()

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self, timeout: float | None, timed_out: type[Exception]) -> None:
        waiter = self._waiter = self._loop.create_future()
        timer = (
            None if timeout is None else self._loop.call_later(timeout, _expire, waiter, timed_out)
        )
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    # httpcore's stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if not self._received and not self._ended:
            await self._wait(timeout, httpcore.ReadTimeout)
        if self._received:
            data = self._received.popleft()
            if len(data) > max_bytes:
                self._received.appendleft(data[max_bytes:])
                data = data[:max_bytes]
            self._unread -= len(data)
            if self._unread <= _READ_AHEAD and self._transport is not None:
                self._transport.resume_reading()
            return data
        if self._lost is not None:
            raise _failure(httpcore.ReadError, self._lost)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        transport = self._transport
        if transport is None or transport.is_closing():
            raise _failure(httpcore.WriteError, self._lost)
        transport.write(buffer)
        while not self._writable:
            await self._wait(timeout, httpcore.WriteTimeout)
        if self._lost is not None:
            raise _failure(httpcore.WriteError, self._lost)

    async def aclose(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        assert self._transport is not None
        try:  # when the handshake fails, asyncio closes the connection
            async with asyncio.timeout(timeout):
                transport = await self._loop.start_tls(
                    self._transport, self, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout("the TLS handshake timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        assert transport is not None
        self._transport = transport
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of an idle connection before it is reused: has the server closed it (or
            # sent what it should not)? What arrived may not have been read by the loop yet.
            return self._ended or bool(self._received) or bool(self._socket.poll(0))
        name = _EXTRA_INFO.get(info)
        if name is None or self._transport is None:
            return None
        return self._transport.get_extra_info(name)


def _failure(kind: type[Exception], lost: Exception | None) -> Exception:
    """``kind`` of error for a connection ``lost`` (to ``None``: closed in order), caused by
    what went wrong, where ``_describe`` looks."""
    error = kind(str(lost) if lost else "the connection is closed")
    error.__cause__ = lost
    return error


def _expire(waiter: asyncio.Future[None], timed_out: type[Exception]) -> None:
    if not waiter.done():
        waiter.set_exception(timed_out())


# --- Errors ------------------------------------------------------------------------------------


def _translate(exc: Exception, timeout: float, url: str) -> FetchError:
    """Our error, with a phrase a person understands, for a foreign network exception."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException | httpcore.TimeoutException):
        return FetchTimeout(f"timed out after {timeout:g} s", url=url)
    return FetchError(_describe(exc), url=url)


def _describe(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS error: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            reason = cause.reason or cause.strerror or str(cause)
            return f"TLS error: {reason.replace('_', ' ').lower()}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(cause, OSError) and cause.strerror:
            return f"network error: {cause.strerror[:1].lower()}{cause.strerror[1:]}"
    if isinstance(exc, httpx.RemoteProtocolError | httpcore.RemoteProtocolError):
        return f"the server broke the HTTP protocol: {exc}"
    return f"network error: {exc or type(exc).__name__}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what caused it, depth first, looking inside exception groups."""
    pending = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(reversed(current.exceptions))
        cause = current.__cause__ or current.__context__
        if cause is not None:
            pending.append(cause)
