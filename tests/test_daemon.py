"""`aggregator run` as a real subprocess against a real local server and a real archive."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aggregator.store import Store
from tests.server import Request, Route, TestServer
from tests.site import article_page, rss, story

pytestmark = pytest.mark.slow

FAST = "  interval: 1s\n  min_interval: 1s\n  max_interval: 1h\n  per_host_delay: 0s\n"


def feed_route(server: TestServer, path: str, count: int, *, etag: str = '"v1"') -> str:
    items = [
        {
            "title": f"{path} entry {n}",
            "link": server.url(f"{path}/item/{n}.html"),
            "guid": f"{path}-{n}",
            "description": f"Entry {n}",
        }
        for n in range(count)
    ]
    for n in range(count):
        server.add(f"{path}/item/{n}.html", body=page(path, n))
    return server.add(path, body=rss(path, items), content_type="application/rss+xml", etag=etag)


def page(path: str, n: int) -> str:
    """A page whose story is its own (distinct across feeds, so no two are duplicates)."""
    return article_page(f"{path} entry {n}", story(zlib.crc32(path.encode()) % 10_000 + n))


def write_config(folder: Path, server: TestServer, *urls: str) -> Path:
    feeds = "\n".join(f"  - url: {u}" for u in urls)
    path = folder / "feeds.yaml"
    path.write_text(
        f"settings:\n  allowed_private_hosts: ['{server.host}']\n{FAST}feeds:\n{feeds}\n"
    )
    return path


class Daemon:
    """`python -m aggregator run` in ``folder``, its stderr captured to a file."""

    def __init__(self, folder: Path, *options: str) -> None:
        self.folder = folder
        self.log = folder / "daemon.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aggregator", "run", "--tick", "0.2", *options],
                cwd=folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, float]:
        started = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(*options: str) -> Daemon:
        daemon = Daemon(tmp_path, *options)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}")


def articles(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def requests_to(server: TestServer, path: str) -> list[Request]:
    return server.requests_to(path)


def test_polls_repeatedly_with_conditional_get_and_stops_on_sigterm(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon]
) -> None:
    url = feed_route(server, "/a.xml", 3)
    write_config(tmp_path, server, url)
    daemon = daemons()
    db = tmp_path / "archive" / "archive.db"
    wait_for(lambda: articles(db) == 3, what="the first poll")
    wait_for(lambda: len(requests_to(server, "/a.xml")) >= 3, what="re-polls")
    again = requests_to(server, "/a.xml")[1:]
    assert all(r.headers.get("if-none-match") == '"v1"' for r in again)

    code, took = daemon.stop()
    assert code == 0, daemon.output()
    assert took < 10
    assert "event=stopped" in daemon.output()
    with Store(db) as store:
        assert store.integrity_problems() == []
        feed = store.feeds()[0]
        assert feed.last_status == 304
        assert store.daemon_state()["stopped_at"] is not None  # type: ignore[index]
    assert articles(db) == 3


def test_a_second_daemon_on_the_same_archive_refuses_to_start(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon]
) -> None:
    write_config(tmp_path, server, feed_route(server, "/a.xml", 1))
    first = daemons()
    db = tmp_path / "archive" / "archive.db"
    wait_for(lambda: articles(db) == 1, what="the first daemon")
    second = daemons()
    assert second.process.wait(timeout=30) == 1
    assert "in use by aggregator pid" in second.output()
    assert first.process.poll() is None
    assert first.stop()[0] == 0


def test_status_check_follows_the_daemon(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon]
) -> None:
    write_config(tmp_path, server, feed_route(server, "/a.xml", 1))
    daemon = daemons()
    db = tmp_path / "archive" / "archive.db"
    wait_for(lambda: articles(db) == 1, what="the first poll")

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aggregator", "--db", str(db), "status", "--check"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    healthy = check()
    assert healthy.returncode == 0, healthy.stderr
    assert "ok: the daemon" in healthy.stdout
    daemon.stop()
    stopped = check()
    assert stopped.returncode == 1
    assert "stopped" in stopped.stderr


def test_feeds_yaml_changes_are_picked_up_without_a_restart(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon]
) -> None:
    first = feed_route(server, "/a.xml", 1)
    second = feed_route(server, "/b.xml", 2)
    config = write_config(tmp_path, server, first)
    daemon = daemons()
    db = tmp_path / "archive" / "archive.db"
    wait_for(lambda: articles(db) == 1, what="the first feed")

    write_config(tmp_path, server, second)  # saved: picked up by the next tick
    wait_for(lambda: articles(db) == 3, what="the added feed")
    server.clear()
    time.sleep(2.5)  # longer than the interval: the removed feed would have been polled
    assert requests_to(server, "/a.xml") == []
    assert len(requests_to(server, "/b.xml")) >= 1

    config.write_text(config.read_text().replace("/b.xml", "/a.xml"))
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(lambda: len(requests_to(server, "/a.xml")) >= 1, what="SIGHUP reload")
    assert "event=reloaded" in daemon.output()
    assert daemon.stop()[0] == 0
    assert articles(db) == 3  # removed feeds keep their articles


def test_kill_9_mid_poll_loses_and_duplicates_nothing(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon]
) -> None:
    count = 12
    url = feed_route(server, "/slow.xml", count)
    for n in range(count):  # pages that take a while, so the kill lands inside the poll
        server.add(f"/slow.xml/item/{n}.html", Route(body=page("/slow.xml", n), delay=0.3))
    write_config(tmp_path, server, url, feed_route(server, "/fast.xml", 2))
    db = tmp_path / "archive" / "archive.db"
    daemon = daemons()
    wait_for(lambda: articles(db) >= 2, what="the fast feed")
    wait_for(lambda: len(server.requests_to("/slow.xml/item/3.html")) > 0, what="slow pages")
    daemon.process.send_signal(signal.SIGKILL)
    daemon.process.wait(timeout=10)

    with Store(db) as store:
        assert store.integrity_problems() == []
    restarted = daemons()
    wait_for(lambda: articles(db) == count + 2, timeout=60, what="the rest after restart")
    assert restarted.stop()[0] == 0
    with Store(db) as store:
        assert store.integrity_problems() == []
        dupes = store.query(
            "SELECT feed_id, entry_id, count(*) AS n FROM sightings GROUP BY 1, 2 HAVING n > 1"
        )
        assert dupes == []
        assert store.counts()["sightings"] == count + 2


def test_moves_retry_after_and_gone_as_the_daemon_meets_them(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon]
) -> None:
    new = feed_route(server, "/new.xml", 1)
    server.add("/moved.xml", status=308, headers={"location": new})
    server.add("/busy.xml", status=503, headers={"retry-after": "3600"})
    server.add("/gone.xml", status=410)
    ok = feed_route(server, "/ok.xml", 1)
    config = write_config(
        tmp_path,
        server,
        server.url("/moved.xml"),
        server.url("/busy.xml"),
        server.url("/gone.xml"),
        ok,
    )
    daemon = daemons()
    wait_for(lambda: len(requests_to(server, "/ok.xml")) >= 4, what="several polls")
    wait_for(lambda: len(requests_to(server, "/new.xml")) >= 3, what="polls of the new URL")
    # A second writer is refused while the daemon runs.
    refused = subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(config), "poll", "--all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert daemon.stop()[0] == 0
    assert refused.returncode == 1
    assert "in use" in refused.stderr

    assert len(requests_to(server, "/moved.xml")) == 1  # never asked again
    assert len(requests_to(server, "/busy.xml")) == 1  # Retry-After: an hour
    assert len(requests_to(server, "/gone.xml")) == 1  # retired
    with Store(tmp_path / "archive" / "archive.db") as store:
        feeds = {f.url.rsplit("/", 1)[1]: f for f in store.feeds()}
    assert feeds["moved.xml"].fetch_url == new
    assert feeds["busy.xml"].not_before is not None
    assert feeds["gone.xml"].disabled_reason == "410 Gone"
    assert config.read_text().count("/moved.xml") == 1  # feeds.yaml untouched without the flag


def test_update_config_rewrites_a_moved_feed_in_feeds_yaml(
    tmp_path: Path, server: TestServer
) -> None:
    new = feed_route(server, "/new.xml", 1)
    server.add("/moved.xml", status=301, headers={"location": new})
    config = write_config(tmp_path, server, server.url("/moved.xml"))
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "poll", "--update-config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "/moved.xml" not in config.read_text()
    assert new in config.read_text()
    with Store(tmp_path / "archive" / "archive.db") as store:
        (feed,) = store.feeds()
    assert (feed.url, feed.fetch_url, feed.active) == (new, None, True)


def moved_feed(tmp_path: Path, server: TestServer) -> tuple[Path, str]:
    """feeds.yaml with one feed that moved permanently, polled once without --update-config:
    the archive knows the new URL (and no longer asks the old one), feeds.yaml does not."""
    new = feed_route(server, "/new.xml", 1)
    server.add("/moved.xml", status=301, headers={"location": new})
    config = write_config(tmp_path, server, server.url("/moved.xml"))
    subprocess.run(
        [sys.executable, "-m", "aggregator", "poll"], cwd=tmp_path, timeout=60, check=True
    )
    assert "/moved.xml" in config.read_text()
    return config, new


def test_poll_update_config_writes_a_move_an_earlier_poll_recorded(
    tmp_path: Path, server: TestServer
) -> None:
    config, new = moved_feed(tmp_path, server)
    subprocess.run(
        [sys.executable, "-m", "aggregator", "poll", "--all", "--update-config"],
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    assert "/moved.xml" not in config.read_text()
    assert new in config.read_text()


def test_daemon_update_config_writes_a_move_an_earlier_poll_recorded(
    tmp_path: Path, server: TestServer, daemons: Callable[..., Daemon]
) -> None:
    config, new = moved_feed(tmp_path, server)
    daemon = daemons("--update-config")
    wait_for(lambda: "/moved.xml" not in config.read_text(), what="the daemon's rewrite")
    assert new in config.read_text()
    wait_for(lambda: "event=config_updated" in daemon.output(), what="the daemon's log")


def test_ctrl_c_stops_the_daemon_cleanly(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon]
) -> None:
    write_config(tmp_path, server, feed_route(server, "/a.xml", 2))
    daemon = daemons()
    wait_for(lambda: articles(tmp_path / "archive" / "archive.db") == 2, what="a poll")
    code, took = daemon.stop(signal.SIGINT)
    assert (code, took < 10) == (0, True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 3 MB filesystem (tmpfs) for the archive, so the disk can really fill up."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_reported_survived_and_retried(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon], small_disk: Path
) -> None:
    url = feed_route(server, "/a.xml", 1)
    config = write_config(tmp_path, server, url)
    config.write_text(
        config.read_text().replace("settings:\n", "settings:\n  database: disk/a.db\n")
    )
    db = small_disk / "a.db"
    daemon = daemons()
    wait_for(lambda: articles(db) == 1, what="the first poll")

    filler = small_disk / "filler"
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False
    )
    feed_route(server, "/a.xml", 3, etag='"v2"')  # two new entries, with pages
    wait_for(lambda: "event=archive_failed" in daemon.output(), what="the write to fail")
    assert "full" in daemon.output()
    time.sleep(1)
    assert daemon.process.poll() is None  # still running

    filler.unlink()
    wait_for(lambda: articles(db) == 3, timeout=60, what="the retry after space came back")
    assert daemon.stop()[0] == 0
    with Store(db) as store:
        assert store.integrity_problems() == []
        assert store.counts()["sightings"] == 3


def test_a_scheduled_digest_runs_as_a_cron_job(
    tmp_path: Path, server: TestServer, daemons: Callable[[], Daemon]
) -> None:
    """A digest with a schedule fires every minute and writes its file (no `to`). (A daemon
    started just before a minute turns may run the first one before its first poll is saved:
    that digest is empty, and the next has the entry.)"""
    url = feed_route(server, "/d.xml", 1)
    config = write_config(tmp_path, server, url)
    config.write_text(
        config.read_text()
        + "digests:\n  - name: minutely\n    schedule: '* * * * *'\n    format: md\n"
    )
    daemon = daemons()
    folder = tmp_path / "archive" / "digests"

    def with_the_entry() -> bool:
        return any("/d.xml entry 0" in f.read_text() for f in folder.glob("minutely-*.md"))

    wait_for(with_the_entry, timeout=135, what="the digest's cron job")
    wait_for(lambda: "event=digest name=minutely stories=1" in daemon.output(), what="its log")
    assert daemon.stop()[0] == 0
