"""Exports of the archive: its pages as WARC 1.1, its articles as JSON lines.

The WARC file holds a ``warcinfo`` record, then for each page a ``response`` record and the
``request`` that fetched it (``WARC-Concurrent-To`` names the response), each gzipped on its
own, as web archives expect. Two things differ from a capture made on the wire, and the
``warcinfo`` record says so:

- the body is stored decoded, so the response's Content-Encoding and Transfer-Encoding are
  dropped and its Content-Length is the decoded length (the received values are kept as
  ``X-Archive-Orig-*`` headers); readers then see the body exactly as archived;
- the request is rebuilt from what the fetcher always sends (we do not store requests).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from http.client import responses
from importlib.metadata import version
from io import BytesIO
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from aggregator import __version__
from aggregator.fetch import ACCEPT_ENCODING, USER_AGENT
from aggregator.pipeline import PAGE_ACCEPT
from aggregator.store import ArchivedPage, ExportedArticle, to_db_time

__all__ = ["export_jsonl", "export_warc"]

#: Response headers that describe the body on the wire, not the decoded body we archive.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})

_DESCRIPTION = (
    "Article pages archived by aggregator. Response bodies are stored decoded: Content-Encoding "
    "and Transfer-Encoding are removed and Content-Length gives the decoded length (the "
    "received values are kept as X-Archive-Orig-* headers). Requests are reconstructed from "
    "the headers the fetcher sends."
)


def export_warc(pages: Iterable[ArchivedPage], out: IO[bytes]) -> int:
    """Write the pages to ``out`` as a WARC 1.1 file; returns how many pages were written."""
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    writer.write_record(
        writer.create_warcinfo_record(
            "",
            {
                "software": f"aggregator/{__version__} warcio/{version('warcio')}",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/"
                "specifications/warc-format/warc-1.1/",
                "http-header-user-agent": USER_AGENT,
                "description": _DESCRIPTION,
            },
        )
    )
    count = 0
    for page in pages:
        # Writes the response, then the request with WARC-Concurrent-To, Target-URI and
        # Date taken from the response.
        writer.write_request_response_pair(_request(writer, page), _response(writer, page))
        count += 1
    return count


def _response(writer: Any, page: ArchivedPage) -> Any:
    status = f"{page.status} {responses.get(page.status, '')}".strip()
    http = StatusAndHeaders(status, _response_headers(page), protocol="HTTP/1.1")
    return writer.create_warc_record(
        page.final_url,
        "response",
        payload=BytesIO(page.body),
        length=len(page.body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": to_db_time(page.fetched_at)},
    )


def _response_headers(page: ArchivedPage) -> list[tuple[str, str]]:
    """The received headers, made to describe the decoded body."""
    headers = [(name, value) for name, value in page.headers if name not in _WIRE_HEADERS]
    headers += [(f"x-archive-orig-{name}", v) for name, v in page.headers if name in _WIRE_HEADERS]
    if page.content_type and not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", page.content_type))
    headers.append(("content-length", str(len(page.body))))
    return headers


def _request(writer: Any, page: ArchivedPage) -> Any:
    """The GET the fetcher sent for the page's final URL (headers in the order httpx sends)."""
    target = urlsplit(page.final_url)
    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    headers = [
        ("host", target.netloc.rpartition("@")[2]),
        ("connection", "keep-alive"),
        ("user-agent", USER_AGENT),
        ("accept-encoding", ACCEPT_ENCODING),
        ("accept", PAGE_ACCEPT),
    ]
    http = StatusAndHeaders(f"GET {path} HTTP/1.1", headers, is_http_request=True)
    return writer.create_warc_record(page.final_url, "request", http_headers=http)


def export_jsonl(articles: Iterable[ExportedArticle], out: IO[str]) -> int:
    """Write one JSON object per article and line (keys in a fixed order, text as UTF-8,
    times as ``YYYY-MM-DDTHH:MM:SSZ``); returns how many articles were written."""
    count = 0
    for article in articles:
        record = {field.name: getattr(article, field.name) for field in fields(article)}
        out.write(json.dumps(record, ensure_ascii=False, default=_json_time) + "\n")
        count += 1
    return count


def _json_time(value: object) -> str | None:
    if isinstance(value, datetime):
        return to_db_time(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
