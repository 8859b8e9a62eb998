"""A real HTTP server on 127.0.0.1 for tests: routes, conditional GET, and a log of requests.

Routes map a path (with its query string, if any) to a ``Route``: a status, headers and body,
or a handler that builds the answer from the request. ``Route(etag=..., last_modified=...)``
answers 304 by itself when the client sends matching validators. Every request is recorded
(method, path, headers) so tests can check what the client sent.

Misbehaving servers for client tests: ``Route(drip=0.3)`` sends the whole answer (status line
and headers too) one byte at a time; ``Route(chunks=factory)`` streams the pieces the factory
yields (possibly forever) without Content-Length; a body with a ``content-encoding`` header and
``gzip=False`` is sent as given (pre-compressed, or garbage).
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Route:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    handler: Callable[[Request], Route] | None = None
    drip: float = 0.0
    """Seconds to wait before each byte of the answer, status line and headers included."""
    delay: float = 0.0
    """Seconds to wait before answering at all (a slow but well-behaved server)."""
    chunks: Callable[[], Iterable[bytes]] | None = None
    """Makes the body pieces, sent as produced without Content-Length, then the connection is
    closed. ``lambda: itertools.repeat(b"x" * 65536)`` is an endless body."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        request = Request(
            method="GET",
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        with self.server.lock:
            self.server.requests.append(request)
            route = self.server.routes.get(self.path)
            if route is None:  # like most sites, ignore a query string the page does not use
                route = self.server.routes.get(self.path.partition("?")[0])
        if route is None:
            self._send(404, {"content-type": "text/plain"}, b"not found")
            return
        if route.handler is not None:
            route = route.handler(request)
        if route.delay:
            time.sleep(route.delay)
        headers = {"content-type": route.content_type, **route.headers}
        if route.etag:
            headers["etag"] = route.etag
        if route.last_modified:
            headers["last-modified"] = route.last_modified
        inm = request.headers.get("if-none-match")
        ims = request.headers.get("if-modified-since")
        if (route.etag and inm == route.etag) or (
            not route.etag and route.last_modified and ims == route.last_modified
        ):
            headers.pop("content-type", None)
            self._send(304, headers, b"")
            return
        body = route.body.encode() if isinstance(route.body, str) else route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["content-encoding"] = "gzip"
        if route.chunks is not None:
            self._stream(route.status, headers, route.chunks())
        elif route.drip:
            self._drip(route.status, headers, body, route.drip)
        else:
            self._send(route.status, headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _stream(self, status: int, headers: dict[str, str], chunks: Iterable[bytes]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in chunks:
            self.wfile.write(chunk)
            self.wfile.flush()

    def _drip(self, status: int, headers: dict[str, str], body: bytes, pause: float) -> None:
        lines = [f"{self.protocol_version} {status} {self.responses[status][0]}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        lines += [f"content-length: {len(body)}", "connection: close", "", ""]
        self.close_connection = True
        for byte in "\r\n".join(lines).encode("latin-1") + body:
            time.sleep(pause)
            self.wfile.write(bytes((byte,)))
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]
        # else: a client hung up mid-answer, as tests of size and time limits make it do


class TestServer:
    """Start with ``with TestServer() as server``; ``server.url('/feed.xml')`` is absolute."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the form ``allowed_private_hosts`` takes."""
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route | None = None, /, **kwargs: object) -> str:
        """Serve ``route`` (or ``Route(**kwargs)``) at ``path``; returns the absolute URL."""
        with self._server.lock:
            self._server.routes[path] = route if route is not None else Route(**kwargs)  # type: ignore[arg-type]
        return self.url(path)

    @property
    def requests(self) -> list[Request]:
        with self._server.lock:
            return list(self._server.requests)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def clear(self) -> None:
        with self._server.lock:
            self._server.requests.clear()

    def __enter__(self) -> TestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
