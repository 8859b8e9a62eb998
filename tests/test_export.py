"""Exporting the archive: pages as WARC 1.1 read back by warcio, articles as JSON lines."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from aggregator.cli import cli
from aggregator.config import parse_config
from aggregator.errors import StoreError
from aggregator.export import export_jsonl, export_warc
from aggregator.store import Store, decompress_page
from aggregator.store._export import ExportedArticle, articles, pages
from tests.server import Route, TestServer
from tests.site import article_page, rss, story
from tests.test_boilerplate import config_for, gazette, poll

WARCIO = Path(sys.executable).with_name("warcio")
CAFE = "Le café de l'été à Tōkyō — 東京の朝"


@dataclass(frozen=True)
class Archive:
    store: Store
    server: TestServer
    gazette: str
    wire: str


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """Two feeds polled from a real site: a plain page, a gzipped one, one reached through a
    redirect, one with non-ASCII text, a PDF, and a story both feeds carry."""
    with TestServer() as server, Store(tmp_path_factory.mktemp("export") / "a.db") as store:
        server.add("/news/1.html", body=article_page("Harbour bridge reopens", story(1)))
        server.add("/news/2.html", body=article_page("Council budget", story(2)), gzip=True)
        server.add("/news/3.html", body=article_page(CAFE, [f"{CAFE}. {p}" for p in story(3)]))
        server.add("/old/4", status=301, headers={"location": server.url("/news/4.html")})
        server.add("/news/4.html", body=article_page("Railway station", story(4)))
        server.add("/report.pdf", Route(body=b"%PDF-1.4 report", content_type="application/pdf"))
        items = [
            {"title": "Harbour bridge reopens", "link": server.url("/news/1.html"),
             "guid": "urn:g1", "category": "Harbour"},
            {"title": "Council budget", "link": server.url("/news/2.html"), "guid": "urn:g2"},
            {"title": CAFE, "link": server.url("/news/3.html"), "guid": "urn:g3",
             "category": "Café"},
            {"title": "Railway station", "link": server.url("/old/4"), "guid": "urn:g4"},
            {"title": "The annual report", "link": server.url("/report.pdf"), "guid": "urn:g5",
             "description": "The report, as a PDF."},
        ]  # fmt: skip
        server.add("/gazette.xml", body=rss("Gazette", items), content_type="application/rss+xml")
        server.add("/wire.xml", body=rss("Wire", items[:1]), content_type="application/rss+xml")
        gazette, wire = server.url("/gazette.xml"), server.url("/wire.xml")
        config = parse_config(
            f"settings:\n  allowed_private_hosts: ['{server.host}']\n  per_host_delay: 0s\n"
            f"feeds:\n  - url: {gazette}\n    name: Café Gazette\n  - url: {wire}\n"
        )
        summary = poll(config, store)
        assert summary.new == 5
        yield Archive(store=store, server=server, gazette=gazette, wire=wire)


def archived_pages(store: Store) -> list[dict[str, Any]]:
    rows = store.query("SELECT * FROM pages ORDER BY id")
    for row in rows:
        row["body"] = decompress_page(row["body"])
        row["headers"] = json.loads(row["headers"])
    return rows


def write_warc(store: Store, path: Path) -> int:
    with path.open("wb") as out:
        return export_warc(pages(store.db.conn), out)


def read_warc(path: Path) -> list[tuple[Any, bytes]]:
    """Every record with its payload (read through warcio's decoding content stream)."""
    with path.open("rb") as stream:
        return [(record, record.content_stream().read()) for record in ArchiveIterator(stream)]


def warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WARCIO), *args], capture_output=True, text=True, timeout=30, check=False
    )


# --- WARC ---------------------------------------------------------------------------------------


def test_the_warc_holds_a_warcinfo_then_each_page_as_response_and_request(
    archive: Archive, tmp_path: Path
) -> None:
    stored = archived_pages(archive.store)
    assert len(stored) == 5
    path = tmp_path / "pages.warc.gz"
    assert write_warc(archive.store, path) == 5
    records = read_warc(path)

    assert [r.rec_type for r, _ in records] == ["warcinfo"] + ["response", "request"] * 5
    assert {r.rec_headers.protocol for r, _ in records} == {"WARC/1.1"}
    info = dict(line.split(": ", 1) for line in records[0][1].decode().splitlines() if ": " in line)
    assert info["software"].startswith("aggregator/0.1.0 warcio/")
    assert info["format"] == "WARC File Format 1.1"

    for page, (response, body), (request, empty) in zip(
        stored, records[1::2], records[2::2], strict=True
    ):
        warc = response.rec_headers
        assert warc["WARC-Target-URI"] == page["final_url"]
        assert warc["WARC-Date"] == page["fetched_at"]
        assert body == page["body"]
        assert hashlib.sha256(body).hexdigest() == page["sha256"]
        sha1 = base64.b32encode(hashlib.sha1(body).digest()).decode()
        assert warc["WARC-Payload-Digest"] == f"sha1:{sha1}"
        assert warc["Content-Type"] == "application/http; msgtype=response"

        http = response.http_headers
        assert http.protocol == "HTTP/1.1"
        assert http.statusline == f"{page['status']} OK"
        assert http["content-type"] == page["headers"]["content-type"]
        assert http["content-length"] == str(len(body))
        assert http["content-encoding"] is None
        assert http["transfer-encoding"] is None

        assert request.rec_headers["WARC-Concurrent-To"] == warc["WARC-Record-ID"]
        assert request.rec_headers["WARC-Target-URI"] == page["final_url"]
        assert request.rec_headers["WARC-Date"] == page["fetched_at"]
        path_sent = page["final_url"].removeprefix(archive.server.base)
        assert (request.http_headers.protocol, request.http_headers.statusline) == (
            "GET",
            f"{path_sent} HTTP/1.1",
        )
        assert empty == b""
        # The rebuilt request is what the fetcher really sent, header for header.
        sent = archive.server.requests_to(path_sent)[-1].headers
        assert len(request.http_headers.headers) == len(sent)
        assert dict(request.http_headers.headers) == sent


def test_response_headers_describe_the_decoded_body_and_keep_what_was_received(
    archive: Archive, tmp_path: Path
) -> None:
    path = tmp_path / "pages.warc.gz"
    write_warc(archive.store, path)
    responses = {r.rec_headers["WARC-Target-URI"]: r for r, _ in read_warc(path)[1::2]}
    gzipped = responses[archive.server.url("/news/2.html")].http_headers
    assert gzipped["x-archive-orig-content-encoding"] == "gzip"
    received = int(gzipped["x-archive-orig-content-length"])
    assert 0 < received < int(gzipped["content-length"])  # the wire carried it compressed

    redirected = {p["url"]: p for p in archived_pages(archive.store)}[archive.server.url("/old/4")]
    assert redirected["final_url"] in responses  # archived under where the page came from
    pdf = responses[archive.server.url("/report.pdf")].http_headers
    assert pdf["content-type"] == "application/pdf"


def test_warcio_index_lists_every_record(archive: Archive, tmp_path: Path) -> None:
    path = tmp_path / "pages.warc.gz"
    write_warc(archive.store, path)
    done = warcio(
        "index", "-f", "warc-type,warc-target-uri,http:status,http:content-type", str(path)
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["warc-type"] for line in lines] == ["warcinfo"] + ["response", "request"] * 5
    final_urls = [p["final_url"] for p in archived_pages(archive.store)]
    assert [line["warc-target-uri"] for line in lines[1::2]] == final_urls
    assert [line["warc-target-uri"] for line in lines[2::2]] == final_urls
    assert {line["http:status"] for line in lines[1::2]} == {"200"}
    assert lines[1]["http:content-type"] == "text/html; charset=utf-8"


def test_warcio_check_verifies_every_digest(archive: Archive, tmp_path: Path) -> None:
    path = tmp_path / "pages.warc.gz"
    write_warc(archive.store, path)
    if "check" not in warcio("--help").stdout:
        pytest.skip("this warcio has no `check` command")
    done = warcio("check", "-v", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    # Every response and request (and, from warcio 1.7.4 on, the warcinfo) carries digests.
    assert done.stdout.count("digest pass") >= 10


def test_an_empty_archive_exports_a_warc_with_only_its_warcinfo(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.db") as store:
        path = tmp_path / "empty.warc.gz"
        assert write_warc(store, path) == 0
        out = io.StringIO()
        assert export_jsonl(articles(store.db.conn), out) == 0
    assert [r.rec_type for r, _ in read_warc(path)] == ["warcinfo"]
    done = warcio("index", str(path))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["warc-type"] for line in done.stdout.splitlines()] == ["warcinfo"]
    assert out.getvalue() == ""


# --- choosing and reading pages -----------------------------------------------------------------


def test_pages_are_chosen_by_feed_and_fetch_time_and_read_in_batches(archive: Archive) -> None:
    conn = archive.store.db.conn
    everything = list(pages(conn))
    assert [p.id for p in everything] == [p["id"] for p in archived_pages(archive.store)]
    assert list(pages(conn, batch=2)) == everything

    (wire,) = archive.store.feeds(urls=[archive.wire])
    assert [p.final_url for p in pages(conn, feed_ids=[wire.id])] == [
        archive.server.url("/news/1.html")
    ]
    assert list(pages(conn, feed_ids=[])) == []
    first = min(p.fetched_at for p in everything)
    last = max(p.fetched_at for p in everything)
    assert list(pages(conn, since=first)) == everything
    assert list(pages(conn, since=last.replace(year=last.year + 1))) == []


def test_a_damaged_page_is_an_error_not_a_silent_gap(tmp_path: Path, server: TestServer) -> None:
    with Store(tmp_path / "a.db") as store:
        gazette(server, range(1, 3))
        poll(config_for(server, learn=False), store)
        conn = store.db.conn
        conn.execute("UPDATE pages SET body = ? WHERE id = 2", (zlib.compress(b"tampered"),))
        with pytest.raises(StoreError, match=r"archived page 2 .* checksum does not match"):
            list(pages(conn))
        conn.execute("UPDATE pages SET body = x'00' WHERE id = 2")
        with pytest.raises(StoreError, match=r"archived page 2 .* is damaged"):
            list(pages(conn))


# --- JSON lines ---------------------------------------------------------------------------------


def test_jsonl_holds_every_article_once_with_its_feeds_and_text(
    archive: Archive, tmp_path: Path
) -> None:
    path = tmp_path / "articles.jsonl"
    with path.open("w", encoding="utf-8") as out:
        assert export_jsonl(articles(archive.store.db.conn), out) == 5
    raw = path.read_bytes()
    assert CAFE.encode() in raw  # UTF-8 text, not \u escapes
    lines = [json.loads(line) for line in raw.decode().splitlines()]

    stored = archive.store.query("SELECT * FROM articles ORDER BY id")
    assert [line["id"] for line in lines] == [row["id"] for row in stored]
    names = [field.name for field in fields(ExportedArticle)]
    assert all(list(line) == names for line in lines)  # one stable key order
    for line, row in zip(lines, stored, strict=True):
        for key in ("url", "canonical_url", "title", "content", "content_hash", "first_seen",
                    "published", "word_count", "duplicate_of", "extractor", "site"):  # fmt: skip
            assert line[key] == row[key], key
        assert line["tags"] == json.loads(row["tags"])

    by_guid = {line["guid"]: line for line in lines}
    shared = by_guid["urn:g1"]
    assert sorted(shared["feeds"]) == sorted([archive.gazette, archive.wire])
    assert shared["feed_url"] in shared["feeds"]
    assert shared["tags"] == ["Harbour"]
    cafe = by_guid["urn:g3"]
    assert (cafe["feed_url"], cafe["feed_name"], cafe["feeds"]) == (
        archive.gazette,
        "Café Gazette",
        [archive.gazette],
    )
    assert (cafe["title"], cafe["tags"]) == (CAFE, ["Café"])
    assert CAFE in cafe["content"]
    assert by_guid["urn:g4"]["url"] == archive.server.url("/old/4")
    assert by_guid["urn:g4"]["page_url"] == archive.server.url("/news/4.html")
    pdf = by_guid["urn:g5"]
    assert (pdf["content_source"], pdf["extract_fallback"]) == ("feed", "page-failed")
    assert pdf["first_seen"].endswith("Z")


def test_articles_are_chosen_by_feed_and_read_in_batches(archive: Archive) -> None:
    conn = archive.store.db.conn
    everything = list(articles(conn))
    assert list(articles(conn, batch=2)) == everything
    (wire,) = archive.store.feeds(urls=[archive.wire])
    assert [a.guid for a in articles(conn, feed_ids=[wire.id])] == ["urn:g1"]


# --- the command --------------------------------------------------------------------------------


def test_the_export_command_writes_both_formats(archive: Archive, tmp_path: Path) -> None:
    db = str(archive.store.path)
    runner = CliRunner()
    warc = tmp_path / "out.warc.gz"
    result = runner.invoke(cli, ["--db", db, "export", "--format", "warc", "-o", str(warc)])
    assert result.exit_code == 0, result.output
    assert f"exported 5 pages to {warc}" in result.output
    assert sum(r.rec_type == "response" for r, _ in read_warc(warc)) == 5

    lines = runner.invoke(cli, ["--db", db, "export", "--format", "jsonl", "--feed", archive.wire])
    assert lines.exit_code == 0
    rows = [json.loads(line) for line in lines.stdout.splitlines() if line.startswith("{")]
    assert [row["title"] for row in rows] == ["Harbour bridge reopens"]

    recent = runner.invoke(
        cli, ["--db", db, "export", "--format", "warc", "--since", "1h", "-o", str(warc)]
    )
    assert "exported 5 pages" in recent.output
    future = runner.invoke(
        cli, ["--db", db, "export", "--format", "warc", "--since", "2999-01-01", "-o", str(warc)]
    )
    assert "exported 0 pages" in future.output

    unknown = runner.invoke(cli, ["--db", db, "export", "--format", "jsonl", "--feed", "Nope"])
    assert unknown.exit_code == 2
    assert "no feed named or at 'Nope'" in unknown.output
    missing = tmp_path / "no" / "such" / "folder" / "x.warc.gz"
    unwritable = runner.invoke(cli, ["--db", db, "export", "--format", "warc", "-o", str(missing)])
    assert unwritable.exit_code in (1, 2)
    assert "Traceback" not in unwritable.output
