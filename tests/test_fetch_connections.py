"""aggregator.fetch's connections, against a hand-written server on 127.0.0.1 that sees them:
keep-alive reuse, connections the server closes or resets, the address policy with pooled
connections, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from aggregator import fetch
from aggregator.errors import AddressNotAllowed, FetchError, FetchTimeout
from aggregator.fetch import Fetcher
from aggregator.models import FetchResult

Then = Literal["keep", "close", "reset", "stall"]
"""What the server does after an answer: keep the connection for the next request, close it,
reset it (RST), or keep it open and silent."""

Answer = Callable[[str], tuple[bytes, Then]]
"""The request's path -> the bytes to send and what to do next."""


def http(status: str, body: bytes = b"", **headers: str) -> bytes:
    """An HTTP/1.1 answer (``content_length="1000"`` overrides the real length)."""
    fields = {"content-length": str(len(body))}
    fields.update((name.replace("_", "-"), value) for name, value in headers.items())
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


class RawServer:
    """HTTP/1.1 written by hand on 127.0.0.1, a thread per connection, counting connections and
    noticing when the client closes one."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self._answer = answer
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self.accepted = 0
        self.closed_by_client = threading.Event()
        self.closed = threading.Event()
        """A connection ended, by either side."""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://{self.host}{path}"

    def __enter__(self) -> RawServer:
        self._threads[0].start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                self.accepted += 1
                thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
            with self._lock:
                self._sockets.append(sock)
            self._converse(sock)
        except OSError:
            pass  # the client went away
        finally:
            sock.close()
            self.closed.set()

    def _converse(self, sock: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = sock.recv(65536)
                if not data:
                    self.closed_by_client.set()
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            answer, then = self._answer(head.split(b" ")[1].decode())
            sock.sendall(answer)
            if then == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if then == "stall":
                sock.recv(1)  # until the client gives up
            if then != "keep":
                return


def fetch_all(server: RawServer, paths: list[str], **options: Any) -> list[FetchResult | str]:
    """Fetch paths one after the other with one Fetcher allowed to reach ``server``; each
    result, or the message of the ``FetchError`` it raised."""
    options.setdefault("allowed_private_hosts", [server.host])
    options.setdefault("per_host_delay", 0)

    async def go() -> list[FetchResult | str]:
        results: list[FetchResult | str] = []
        async with Fetcher(**options) as fetcher:
            for path in paths:
                url = path if "://" in path else server.url(path)
                try:
                    results.append(await fetcher.fetch(url))
                except FetchError as exc:
                    results.append(f"{type(exc).__name__}: {exc}")
        return results

    return asyncio.run(go())


def bodies(results: list[FetchResult | str]) -> list[bytes | str]:
    return [r if isinstance(r, str) else r.body for r in results]


# --- Keep-alive --------------------------------------------------------------------------------


def test_one_connection_serves_request_after_request_and_closes_with_the_fetcher() -> None:
    with RawServer(lambda path: (http("200 OK", path.encode()), "keep")) as server:
        results = fetch_all(server, [f"/{n}" for n in range(5)])
        assert bodies(results) == [f"/{n}".encode() for n in range(5)]
        assert server.accepted == 1
        assert server.closed_by_client.wait(timeout=2)


def test_concurrent_requests_open_no_more_connections_than_the_host_may_use() -> None:
    with RawServer(lambda path: (http("200 OK", b"x" * 300_000), "keep")) as server:

        async def go() -> list[FetchResult]:
            async with Fetcher(
                per_host=3, per_host_delay=0, allowed_private_hosts=[server.host]
            ) as fetcher:
                return await asyncio.gather(
                    *(fetcher.fetch(server.url(f"/{n}")) for n in range(12))
                )

        assert all(result.body == b"x" * 300_000 for result in asyncio.run(go()))
        assert server.accepted == 3


@pytest.mark.parametrize("loop", ["idle", "busy"])
@pytest.mark.parametrize("then", ["close", "reset"])
def test_a_connection_the_server_ended_is_not_reused(then: Then, loop: str) -> None:
    """Whether or not the event loop has run since the server closed (or reset) the idle
    connection, the next request takes a new one."""
    with RawServer(lambda path: (http("200 OK", b"fine"), then)) as server:

        async def go() -> None:
            async with Fetcher(per_host_delay=0, allowed_private_hosts=[server.host]) as fetcher:
                for _ in range(3):
                    assert (await fetcher.fetch(server.url("/"))).body == b"fine"
                    if loop == "busy":  # blocks the loop: what arrived stays unread
                        assert server.closed.wait(timeout=2)
                        time.sleep(0.01)
                    else:
                        assert await asyncio.to_thread(server.closed.wait, 2)
                    server.closed.clear()

        asyncio.run(go())
        assert server.accepted == 3


UNKEPT = {
    "/304": http("304 Not Modified", content_length="11400"),  # no body, whatever it declares
    "/404": http("404 Not Found", b"<p>not here</p>"),
    "/301": http("301 Moved Permanently", b"<a href=/ok>moved</a>", location="/ok"),
    "/ok": http("200 OK", b"ok"),
    "/huge-error": http("500 Internal Server Error", b"x" * 200_000),
    "/slow-error": http("404 Not Found", content_length="100"),  # and then nothing
}


def test_answers_whose_body_is_not_kept_leave_their_connection_reusable() -> None:
    """A 304's, an error page's or a redirect's body is read to its end, so that the
    connection serves the next request; one too long to wait for costs its connection."""
    with RawServer(lambda path: (UNKEPT[path], "keep")) as server:
        results = fetch_all(server, ["/304", "/404", "/301", "/ok"])
        assert bodies(results) == [b"", "HTTPStatusError: HTTP 404 Not Found", b"ok", b"ok"]
        assert server.accepted == 1
        results = fetch_all(server, ["/huge-error", "/ok"])
        assert bodies(results)[0] == "HTTPStatusError: HTTP 500 Internal Server Error"
        assert server.accepted == 3


def test_an_error_whose_body_never_comes_is_still_reported() -> None:
    with RawServer(lambda path: (UNKEPT[path], "stall")) as server:
        started = time.monotonic()
        assert fetch_all(server, ["/slow-error"], timeout=5) == [
            "HTTPStatusError: HTTP 404 Not Found"
        ]
        assert time.monotonic() - started < 2


def test_a_connection_the_server_means_to_close_is_not_reused() -> None:
    answer = http("200 OK", b"bye", connection="close")
    with RawServer(lambda path: (answer, "keep")) as server:
        assert bodies(fetch_all(server, ["/", "/"])) == [b"bye", b"bye"]
        assert server.accepted == 2
        assert server.closed_by_client.wait(timeout=2)


def test_a_connection_given_up_in_the_middle_of_an_answer_is_not_reused() -> None:
    def answer(path: str) -> tuple[bytes, Then]:
        if path == "/slow":
            return http("200 OK", b"half", content_length="8"), "stall"
        return http("200 OK", b"ok"), "keep"

    with RawServer(answer) as server:
        results = fetch_all(server, ["/slow", "/ok", "/ok"], timeout=0.3)
        assert bodies(results) == ["FetchTimeout: timed out after 0.3 s", b"ok", b"ok"]
        assert server.accepted == 2


def test_a_connection_idle_too_long_is_closed_instead_of_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unit edge case: connections are kept idle for 0.3 s instead of 5 s."""
    monkeypatch.setattr(fetch, "_KEEP_ALIVE", 0.3)
    with RawServer(lambda path: (http("200 OK", b"ok"), "keep")) as server:

        async def go() -> list[int]:
            accepted = []
            async with Fetcher(per_host_delay=0, allowed_private_hosts=[server.host]) as fetcher:
                for pause in (0, 0, 0.5):
                    await asyncio.sleep(pause)
                    assert (await fetcher.fetch(server.url("/"))).body == b"ok"
                    accepted.append(server.accepted)
            return accepted

        assert asyncio.run(go()) == [1, 1, 2]


def test_idle_connections_past_the_cap_close_the_longest_idle_first() -> None:
    """At most ``concurrency`` connections wait idle, whatever their hosts."""
    answer: Answer = lambda path: (http("200 OK", path.encode()), "keep")  # noqa: E731
    with RawServer(answer) as a, RawServer(answer) as b, RawServer(answer) as c:
        hosts = [a.host, b.host, c.host]
        urls = [a.url("/1"), b.url("/1"), c.url("/1"), c.url("/2"), a.url("/2"), b.url("/2")]
        results = fetch_all(a, urls, concurrency=2, allowed_private_hosts=hosts)
        assert bodies(results) == [b"/1", b"/1", b"/1", b"/2", b"/2", b"/2"]
        assert (a.accepted, b.accepted, c.accepted) == (2, 2, 1)
        assert a.closed_by_client.wait(timeout=2)
        assert b.closed_by_client.wait(timeout=2)


# --- Failures on an open connection -------------------------------------------------------------


def test_reset_while_waiting_for_the_answer() -> None:
    with RawServer(lambda path: (b"", "reset")) as server:
        assert fetch_all(server, ["/"]) == ["FetchError: connection reset by the server"]


def test_body_cut_short() -> None:
    answer = http("200 OK", b"only ten b", content_length="1000")
    with RawServer(lambda path: (answer, "close")) as server:
        (message,) = fetch_all(server, ["/"])
        assert isinstance(message, str)
        assert message.startswith("FetchError: the server broke the HTTP protocol: ")
        assert "received 10 bytes, expected 1000" in message


def test_silent_server_times_out() -> None:
    with RawServer(lambda path: (http("200 OK", content_length="5"), "stall")) as server:
        assert fetch_all(server, ["/"], timeout=0.3) == [
            f"{FetchTimeout.__name__}: timed out after 0.3 s"
        ]


# --- The address policy with pooled connections ------------------------------------------------


def test_a_pooled_connection_to_an_address_does_not_excuse_another_name_for_it() -> None:
    """The exception names 127.0.0.1:PORT; a redirect to localhost:PORT, the same address with
    a connection to it in the pool, is checked (and refused) on its own."""

    def answer(path: str) -> tuple[bytes, Then]:
        if path == "/jump":
            return http("301 Moved", location=f"http://localhost:{port}/inside"), "keep"
        return http("200 OK", path.encode()), "keep"

    with RawServer(answer) as server:
        port = server.host.rsplit(":", 1)[1]
        results = fetch_all(server, ["/a", "/jump", "/b", f"http://localhost:{port}/c"])
        assert bodies(results)[0::2] == [b"/a", b"/b"]
        for refused in bodies(results)[1::2]:
            assert isinstance(refused, str)
            assert refused.startswith(
                f"{AddressNotAllowed.__name__}: localhost ("
            )  # ::1 or 127.0.0.1
        assert server.accepted == 1


def test_each_port_of_an_allowed_name_is_checked_on_its_own() -> None:
    with (
        RawServer(lambda path: (http("200 OK", b"one"), "keep")) as one,
        RawServer(lambda path: (http("200 OK", b"two"), "keep")) as two,
    ):
        results = fetch_all(one, ["/", two.url("/"), "/"], allowed_private_hosts=[one.host])
        assert bodies(results)[0::2] == [b"one", b"one"]
        assert bodies(results)[1] == "AddressNotAllowed: 127.0.0.1 is a loopback address, " + (
            "refused unless listed in allowed_private_hosts"
        )
        assert (one.accepted, two.accepted) == (1, 0)


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    names = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run([*command.split(), *names, *files], check=True, capture_output=True)
    return cert, key


def test_https_over_one_pooled_connection(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unit edge case: the client trusts our certificate (httpx's context, patched)."""
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(httpx, "create_ssl_context", lambda: trusting)
    page = b"".join(b"line %d of a long page\n" % n for n in range(50_000))  # ~1 MB
    with RawServer(lambda path: (http("200 OK", page), "keep"), tls=served) as server:
        results = fetch_all(server, [server.url(f"/{n}", "https") for n in range(3)])
        assert bodies(results) == [page] * 3
        assert server.accepted == 1
        assert server.closed_by_client.wait(timeout=2)


def test_https_to_a_server_whose_certificate_is_not_trusted(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    with RawServer(lambda path: (http("200 OK"), "keep"), tls=served) as server:
        (message,) = fetch_all(server, [server.url("/", "https")])
        assert message == "FetchError: TLS error: self-signed certificate"
