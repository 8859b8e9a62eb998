"""The exception tree of aggregator.

Every error we raise on purpose derives from one root, so callers can catch
``AggregatorError`` and know that anything else is a bug::

    AggregatorError
    ├── ConfigError          feeds.yaml is unreadable or invalid (names file, line, key)
    ├── FetchError           the network part of a request failed
    │   ├── AddressNotAllowed   the target (or a redirect hop) is a private address or bad scheme
    │   ├── HTTPStatusError     the server answered 4xx or 5xx
    │   ├── ResponseTooLarge    the decompressed body went over ``max_bytes``
    │   ├── TooManyRedirects    the redirect chain is a loop or too long
    │   └── FetchTimeout        the total deadline of the request passed
    ├── ParseError           the body is not a feed we can read
    │   └── NotAFeedError       it is something else (an HTML page names the feeds it advertises)
    ├── ExtractError         no article text could be extracted from a page
    ├── StoreError           the SQLite archive failed
    ├── WorkerError          a task in the process pool failed
    │   ├── TaskTimeout         it ran past its time limit and its worker was killed
    │   └── WorkerDied          its worker process died (out of memory, a crash in native code)
    └── SearchError          a search query is malformed

Foreign exceptions are translated where they enter (``raise FetchError(...) from exc``), so
the cause stays attached. ``str(error)`` is always a phrase a person understands; it is what
gets recorded on a feed and printed by the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping


class AggregatorError(Exception):
    """Root of every error aggregator raises on purpose."""


class ConfigError(AggregatorError):
    """feeds.yaml cannot be read or does not validate."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class FetchError(AggregatorError):
    """A request could not be completed."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)


class AddressNotAllowed(FetchError):
    """The URL's scheme, or the address its host resolves to, is refused by the address policy."""


class HTTPStatusError(FetchError):
    """The server answered with an error status (4xx or 5xx)."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.headers: Mapping[str, str] = dict(headers or {})


class ResponseTooLarge(FetchError):
    """The body went over the size cap after decompression."""


class TooManyRedirects(FetchError):
    """A redirect loop, or a chain longer than the hop limit."""


class FetchTimeout(FetchError):
    """The request did not finish within its total deadline."""


class ParseError(AggregatorError):
    """The document is not a feed we can read (and nothing usable could be recovered)."""


class NotAFeedError(ParseError):
    """The document is not a feed at all; ``alternates`` are the feed URLs a page advertises."""

    def __init__(self, message: str, *, alternates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.alternates = alternates


class ExtractError(AggregatorError):
    """No article text could be extracted from a page."""


class StoreError(AggregatorError):
    """The SQLite archive could not be read or written."""


class WorkerError(AggregatorError):
    """A task in the process pool failed."""


class TaskTimeout(WorkerError):
    """A task ran past its time limit; its worker was killed."""


class WorkerDied(WorkerError):
    """A worker process died during a task (out of memory, a crash in native code)."""


class SearchError(AggregatorError):
    """A search query is malformed."""


class MailError(AggregatorError):
    """A digest could not be mailed (the server refused, could not be reached...)."""
