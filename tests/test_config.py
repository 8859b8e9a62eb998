from __future__ import annotations

import math
from pathlib import Path

import pytest

from aggregator.config import (
    DEFAULT_CONFIG_TEXT,
    MAX_CONFIG_BYTES,
    Config,
    DigestConfig,
    FeedConfig,
    Settings,
    SmtpSettings,
    database_path,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
    parse_size,
    rewrite_feed_url,
)
from aggregator.errors import AggregatorError, ConfigError

REPO = Path(__file__).resolve().parent.parent

# The example of DESIGN.md, verbatim.
DESIGN_EXAMPLE = """\
settings:                 # all optional
  database: archive/archive.db
  interval: 30m           # default per feed; adaptive within [min_interval, max_interval]
  concurrency: 32         # requests in flight; per_host: 2
  timeout: 30s
  max_bytes: 20MB         # per response, after decompression
  min_interval: 5m
  max_interval: 1d
  fetch_articles: true    # fetch and extract each entry's page
  archive_pages: true     # keep the raw page, compressed
  allow_private_networks: false   # refuse loopback, private, link-local targets
  allowed_private_hosts: []       # exceptions, as `host` or `host:port`
  smtp: {host: localhost, port: 25, starttls: false, username: null, from: aggregator@localhost}
                          # the password comes from AGGREGATOR_SMTP_PASSWORD, never from the file
feeds:
  - url: https://example.org/feed.xml
    name: Example         # optional; defaults to the feed's title
    tags: [news]
    interval: 15m
digests:
  - name: morning
    schedule: "0 7 * * *"
    since: 24h
    format: html
    to: me@example.org
"""

EVERY_KEY = """\
settings:
  database: /var/lib/aggregator/archive.db
  interval: 1h
  concurrency: 8
  per_host: 1
  per_host_delay: 1.5s
  timeout: 45s
  max_bytes: 5MiB
  min_interval: 10m
  max_interval: 2d
  fetch_articles: false
  archive_pages: no
  allow_private_networks: true
  allowed_private_hosts: [feeds.local, "10.0.0.5:8080"]
  smtp:
    host: mail.example.org
    port: 587
    starttls: true
    username: robot
    from: Aggregator <robot@example.org>
feeds:
  - url: https://example.org/feed.xml
    name: Example
    tags: [news, world]
    interval: 15m
  - url: http://blog.example.com/atom
    tags: tech
  - url: https://example.net/feed.json
    name: 2024
digests:
  - name: morning
    schedule: "0 7 * * mon-fri"
    since: 12h
    format: jsonfeed
    to: [me@example.org, you@example.org]
    feeds: [Example, https://example.net/feed.json]
    tags: [news]
  - name: weekly
    to: me@example.org
    tags: tech
"""


def test_every_key_is_accepted() -> None:
    config = parse_config(EVERY_KEY, "conf/feeds.yaml")
    assert config == Config(
        path=Path("conf/feeds.yaml"),
        settings=Settings(
            database="/var/lib/aggregator/archive.db",
            interval=3600,
            concurrency=8,
            per_host=1,
            per_host_delay=1.5,
            timeout=45,
            max_bytes=5 * 1024 * 1024,
            min_interval=600,
            max_interval=2 * 86400,
            fetch_articles=False,
            archive_pages=False,
            allow_private_networks=True,
            allowed_private_hosts=("feeds.local", "10.0.0.5:8080"),
            smtp=SmtpSettings(
                host="mail.example.org",
                port=587,
                starttls=True,
                username="robot",
                sender="Aggregator <robot@example.org>",
            ),
        ),
        feeds=(
            FeedConfig(
                url="https://example.org/feed.xml",
                name="Example",
                tags=("news", "world"),
                interval=900,
                line=22,
            ),
            FeedConfig(url="http://blog.example.com/atom", tags=("tech",), line=26),
            FeedConfig(url="https://example.net/feed.json", name="2024", line=28),
        ),
        digests=(
            DigestConfig(
                name="morning",
                schedule="0 7 * * mon-fri",
                since=12 * 3600,
                format="jsonfeed",
                to=("me@example.org", "you@example.org"),
                feeds=("Example", "https://example.net/feed.json"),
                tags=("news",),
            ),
            DigestConfig(name="weekly", to=("me@example.org",), tags=("tech",)),
        ),
    )


def test_design_example_is_accepted() -> None:
    config = parse_config(DESIGN_EXAMPLE)
    assert config.settings == Settings()
    assert config.feeds == (
        FeedConfig(
            url="https://example.org/feed.xml",
            name="Example",
            tags=("news",),
            interval=900,
            line=16,
        ),
    )
    assert config.digests == (
        DigestConfig(
            name="morning", schedule="0 7 * * *", since=86400, format="html", to=("me@example.org",)
        ),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "# only a comment\n",
        "---\n",
        "settings:\nfeeds:\ndigests:\n",
        "settings: {smtp: }\nfeeds: []\ndigests: []\n",
        "\ufeff# a byte order mark\n",
    ],
)
def test_empty_config_has_defaults_and_no_feeds(text: str) -> None:
    assert parse_config(text) == Config(path=Path("feeds.yaml"))


def test_defaults() -> None:
    settings = Settings()
    assert settings.database == "archive/archive.db"
    assert (settings.interval, settings.min_interval, settings.max_interval) == (1800, 300, 86400)
    assert (settings.concurrency, settings.per_host, settings.timeout) == (32, 2, 30)
    assert settings.per_host_delay == 0.5
    assert settings.max_bytes == 20_000_000
    assert (settings.fetch_articles, settings.archive_pages) == (True, True)
    assert (settings.allow_private_networks, settings.allowed_private_hosts) == (False, ())
    assert settings.smtp == SmtpSettings(
        host="localhost", port=25, starttls=False, username=None, sender="aggregator@localhost"
    )
    assert DigestConfig(name="d") == DigestConfig(name="d", since=86400, format="md")


def test_default_config_text_parses_to_the_defaults() -> None:
    assert parse_config(DEFAULT_CONFIG_TEXT) == Config(path=Path("feeds.yaml"))
    keys = ("database", "interval", "concurrency", "per_host", "per_host_delay", "timeout")
    for key in (*keys, "max_bytes"):
        assert f"\n  {key}: " in DEFAULT_CONFIG_TEXT  # written out, not left implicit
    assert "AGGREGATOR_SMTP_PASSWORD" in DEFAULT_CONFIG_TEXT


def test_default_config_text_examples_parse_when_uncommented() -> None:
    text = DEFAULT_CONFIG_TEXT.replace("  # - ", "  - ").replace("  #   ", "    ")
    config = parse_config(text)
    assert [feed.url for feed in config.feeds] == ["https://example.org/feed.xml"]
    assert [digest.name for digest in config.digests] == ["morning"]


def test_project_feeds_yaml_loads() -> None:
    config = load_config(REPO / "feeds.yaml")
    assert config.settings == Settings()
    assert len(config.feeds) >= 3
    assert all(feed.url.startswith("https://") and feed.tags for feed in config.feeds)
    assert all(feed.name for feed in config.feeds)
    assert database_path(config) == REPO / "archive" / "archive.db"


def test_feed_entries_remember_their_line() -> None:
    config = parse_config("feeds:\n  - url: https://a.example/\n\n  -   url: https://b.example/\n")
    assert [feed.line for feed in config.feeds] == [2, 4]


def test_names_are_kept_as_written() -> None:
    text = "feeds:\n  - {url: 'https://a.example/', name: yes, tags: [2024, on, 1.50]}\n"
    (feed,) = parse_config(text).feeds
    assert feed.name == "yes"
    assert feed.tags == ("2024", "on", "1.50")


@pytest.mark.parametrize(
    ("value", "seconds"), [("0", 0), ("0s", 0), ("0.0", 0), ("0.2", 0.2), ("250", 250), ("1m", 60)]
)
def test_per_host_delay_may_be_zero(value: str, seconds: float) -> None:
    settings = parse_config(f"settings:\n  per_host_delay: {value}\n").settings
    assert settings.per_host_delay == seconds


def test_numbers_are_seconds_and_bytes() -> None:
    settings = parse_config("settings: {timeout: 12.5, interval: 600, max_bytes: 4096}").settings
    assert (settings.timeout, settings.interval, settings.max_bytes) == (12.5, 600, 4096)


# Each snippet marks the line the error must name with "# <-".
BROKEN = [
    # YAML itself
    ("settings:\n  interval: 30m\n   timeout: 30s  # <-\n", None, "invalid YAML"),
    ("settings:\n\tinterval: 30m  # <-\n", None, "tab"),
    ("feeds: []\n---  # <-\nfeeds: []\n", None, "single document"),
    (
        "digests:\n  - name: x\n    schedule: * * * * *  # <-\n",
        None,
        'quote values that start with "*"',
    ),
    ("settings:\n  database: a\x01b  # <-\n", None, "invalid YAML"),
    ("settings: &base {}\nfeeds: *base  # <-\n", None, "aliases"),
    ("settings:\n  interval: !duration 5m  # <-\n", None, "tags like !duration"),
    # the top level
    ("- url: https://example.org/  # <-\n", None, "expected a mapping with keys settings"),
    ("just some text  # <-\n", None, 'got "just some text"'),
    ("feed:  # <-\n  - url: https://example.org/\n", "feed", 'did you mean "feeds"'),
    ("settings: {}\nsettings: {}  # <-\n", "settings", "duplicate key (first given at line 1)"),
    # keys
    ("settings:\n  intervall: 5m  # <-\n", "settings.intervall", 'did you mean "interval"'),
    ("settings:\n  colour: blue  # <-\n", "settings.colour", "expected one of database,"),
    ("settings:\n  interval: 5m\n  interval: 9m  # <-\n", "settings.interval", "duplicate key"),
    ("settings:\n  [a, b]: 1  # <-\n", "settings", "expected a key name, got a list"),
    ("settings:\n  ~: 1  # <-\n", "settings", "expected a key name"),
    ("settings:\n  <<: {interval: 5m}  # <-\n", "settings.<<", "unknown key"),
    ("settings:\n  smtp:\n    sender: a@b.c  # <-\n", "settings.smtp.sender", "unknown key"),
    (
        "settings:\n  smtp:\n    password: hunter2  # <-\n",
        "settings.smtp.password",
        "AGGREGATOR_SMTP_PASSWORD",
    ),
    ("settings:\n  smtp: {smtp_password: x}  # <-\n", "settings.smtp.smtp_password", "environment"),
    (
        "feeds:\n  - url: https://a.example/\n    tag: [x]  # <-\n",
        "feeds[0].tag",
        'did you mean "tags"',
    ),
    (
        "digests:\n  - name: d\n    shedule: '0 7 * * *'  # <-\n",
        "digests[0].shedule",
        'did you mean "schedule"',
    ),
    # sections of the wrong shape
    ("settings:\n  - interval  # <-\n", "settings", "expected a mapping with keys database,"),
    ("settings:\n  smtp: localhost  # <-\n", "settings.smtp", "expected a mapping"),
    ("feeds:\n  url: https://a.example/  # <-\n", "feeds", "expected a list, got a mapping"),
    ("feeds:\n  - https://a.example/  # <-\n", "feeds[0]", "expected a mapping with keys url"),
    ("digests: morning  # <-\n", "digests", 'expected a list, got "morning"'),
    # settings values
    ("settings:\n  database: ''  # <-\n", "settings.database", "non-empty string"),
    ("settings:\n  database: [a]  # <-\n", "settings.database", "got a list"),
    ("settings:\n  concurrency: many  # <-\n", "settings.concurrency", "expected a whole number"),
    ("settings:\n  concurrency: 0  # <-\n", "settings.concurrency", "of 1 or more, got 0"),
    ("settings:\n  per_host: -2  # <-\n", "settings.per_host", "got -2"),
    ("settings:\n  per_host: 1.5  # <-\n", "settings.per_host", "whole number"),
    ("settings:\n  per_host: true  # <-\n", "settings.per_host", "whole number"),
    ("settings:\n  concurrency:  # <-\n", "settings.concurrency", "got an empty value"),
    ("settings:\n  interval: soon  # <-\n", "settings.interval", 'like "30m"'),
    ("settings:\n  interval: 0  # <-\n", "settings.interval", "longer than zero, got 0"),
    ("settings:\n  interval: -5  # <-\n", "settings.interval", "longer than zero"),
    ("settings:\n  interval: 0m  # <-\n", "settings.interval", "longer than zero"),
    ("settings:\n  interval: -5m  # <-\n", "settings.interval", 'got "-5m"'),
    ("settings:\n  timeout: .inf  # <-\n", "settings.timeout", "longer than zero"),
    ("settings:\n  per_host_delay: -1  # <-\n", "settings.per_host_delay", "zero or more, got -1"),
    ("settings:\n  per_host_delay: -0.5s  # <-\n", "settings.per_host_delay", 'got "-0.5s"'),
    ("settings:\n  per_host_delay: .inf  # <-\n", "settings.per_host_delay", "zero or more"),
    ("settings:\n  per_host_delay: soon  # <-\n", "settings.per_host_delay", 'like "30m"'),
    ("settings:\n  per_host_delay:  # <-\n", "settings.per_host_delay", "got an empty value"),
    (
        "settings:\n  per_host_dealy: 1s  # <-\n",
        "settings.per_host_dealy",
        'did you mean "per_host_delay"',
    ),
    ("settings:\n  timeout: {s: 5}  # <-\n", "settings.timeout", "got a mapping"),
    ("settings:\n  max_bytes: lots  # <-\n", "settings.max_bytes", 'like "20MB"'),
    ("settings:\n  max_bytes: 0  # <-\n", "settings.max_bytes", "one byte or more"),
    ("settings:\n  max_bytes: -1  # <-\n", "settings.max_bytes", "one byte or more"),
    (
        "settings:\n  min_interval: 2d  # <-\n  max_interval: 1d\n",
        "settings.min_interval",
        "(2d) is longer",
    ),
    (
        "settings:\n  max_interval: 1m  # <-\n",
        "settings.max_interval",
        "longer than max_interval (1m)",
    ),
    ("settings:\n  fetch_articles: sometimes  # <-\n", "settings.fetch_articles", "true or false"),
    ("settings:\n  archive_pages: 1  # <-\n", "settings.archive_pages", "true or false, got 1"),
    (
        "settings:\n  allow_private_networks:  # <-\n",
        "settings.allow_private_networks",
        "true or false",
    ),
    (
        "settings:\n  allowed_private_hosts: [a.local, 'http://b.local/']  # <-\n",
        "settings.allowed_private_hosts[1]",
        "expected a host",
    ),
    (
        "settings:\n  allowed_private_hosts:\n    - 'bad host'  # <-\n",
        "settings.allowed_private_hosts[0]",
        "expected a host",
    ),
    (
        "settings:\n  allowed_private_hosts: 'h.local:http'  # <-\n",
        "settings.allowed_private_hosts[0]",
        "host",
    ),
    (
        "settings:\n  allowed_private_hosts: [u@h.local]  # <-\n",
        "settings.allowed_private_hosts[0]",
        "host",
    ),
    ("settings:\n  smtp:\n    port: 70000  # <-\n", "settings.smtp.port", "from 1 to 65535"),
    ("settings:\n  smtp:\n    starttls: maybe  # <-\n", "settings.smtp.starttls", "true or false"),
    ("settings:\n  smtp:\n    from: nobody  # <-\n", "settings.smtp.from", "e-mail address"),
    ("settings:\n  smtp:\n    host: ''  # <-\n", "settings.smtp.host", "non-empty string"),
    # feeds
    ("feeds:\n  - name: No URL  # <-\n", "feeds[0].url", "every feed needs a url"),
    ("feeds:\n  - url:  # <-\n    name: Empty\n", "feeds[0].url", "every feed needs a url"),
    ("feeds:\n  - url: ftp://a.example/feed  # <-\n", "feeds[0].url", "http:// or https://"),
    ("feeds:\n  - url: example.org/feed.xml  # <-\n", "feeds[0].url", "http:// or https://"),
    ("feeds:\n  - url: https://  # <-\n", "feeds[0].url", "http:// or https://"),
    ("feeds:\n  - url: http://a.example:99999/  # <-\n", "feeds[0].url", "http:// or https://"),
    ("feeds:\n  - url: 'http://a.example/a b'  # <-\n", "feeds[0].url", "http:// or https://"),
    ("feeds:\n  - url: file:///etc/passwd  # <-\n", "feeds[0].url", "http:// or https://"),
    (
        "feeds:\n  - url: https://a.example/f\n  - url: https://a.example/f  # <-\n",
        "feeds[1].url",
        "already listed at line 2",
    ),
    (
        "feeds:\n  - url: https://a.example/f\n  - url: HTTPS://A.Example/f  # <-\n",
        "feeds[1].url",
        "already listed at line 2",
    ),
    (
        "feeds:\n  - {url: 'https://a.example/', name: News}\n"
        "  - {url: 'https://b.example/', name: news}  # <-\n",
        "feeds[1].name",
        "already the name of the feed at line 2",
    ),
    ("feeds:\n  - url: https://a.example/\n    name: ''  # <-\n", "feeds[0].name", "non-empty"),
    (
        "feeds:\n  - url: https://a.example/\n    tags: [a, '']  # <-\n",
        "feeds[0].tags[1]",
        "non-empty",
    ),
    ("feeds:\n  - url: https://a.example/\n    tags: {a: 1}  # <-\n", "feeds[0].tags", "or a list"),
    (
        "feeds:\n  - url: https://a.example/\n    interval: 0s  # <-\n",
        "feeds[0].interval",
        "longer than zero",
    ),
    # digests
    ("digests:\n  - format: md  # <-\n", "digests[0].name", "every digest needs a name"),
    (
        "digests:\n  - name: daily\n  - name: Daily  # <-\n",
        "digests[1].name",
        "already the name of the digest at line 2",
    ),
    (
        "digests:\n  - name: d\n    format: pdf  # <-\n",
        "digests[0].format",
        "md, html, json, atom, jsonfeed",
    ),
    (
        "digests:\n  - name: d\n    format: jsonfed  # <-\n",
        "digests[0].format",
        'did you mean "jsonfeed"',
    ),
    ("digests:\n  - name: d\n    since: yesterday  # <-\n", "digests[0].since", 'like "30m"'),
    ("digests:\n  - name: d\n    since: 0  # <-\n", "digests[0].since", "longer than zero"),
    ("digests:\n  - name: d\n    to: not-an-address  # <-\n", "digests[0].to", "e-mail address"),
    (
        "digests:\n  - name: d\n    to: [a@b.c, nobody]  # <-\n",
        "digests[0].to[1]",
        "e-mail address",
    ),
    ("digests:\n  - name: d\n    feeds: ['']  # <-\n", "digests[0].feeds[0]", "non-empty"),
    (
        "digests:\n  - name: d\n    schedule: '0 7 * *'  # <-\n",
        "digests[0].schedule",
        "4 fields instead of 5",
    ),
    (
        "digests:\n  - name: d\n    schedule: 7  # <-\n",
        "digests[0].schedule",
        "1 field instead of 5",
    ),
    (
        "digests:\n  - name: d\n    schedule: '60 * * * *'  # <-\n",
        "digests[0].schedule",
        'minute "60" is not within 0-59',
    ),
    ("digests:\n  - name: d\n    schedule: '0 24 * * *'  # <-\n", "digests[0].schedule", "hour"),
    (
        "digests:\n  - name: d\n    schedule: '0 7 0 * *'  # <-\n",
        "digests[0].schedule",
        'day "0" is not within 1-31',
    ),
    ("digests:\n  - name: d\n    schedule: '0 7 * 13 *'  # <-\n", "digests[0].schedule", "month"),
    (
        "digests:\n  - name: d\n    schedule: '0 7 * foo *'  # <-\n",
        "digests[0].schedule",
        "jan-dec",
    ),
    (
        "digests:\n  - name: d\n    schedule: '0 7 * * 8'  # <-\n",
        "digests[0].schedule",
        "0-7 or sun-sat",
    ),
    (
        "digests:\n  - name: d\n    schedule: '0 7 * * fri-mon'  # <-\n",
        "digests[0].schedule",
        "backwards",
    ),
    ("digests:\n  - name: d\n    schedule: '*/0 * * * *'  # <-\n", "digests[0].schedule", "zero"),
    ("digests:\n  - name: d\n    schedule: '0 7 * * mon/2'  # <-\n", "digests[0].schedule", "name"),
    (
        "digests:\n  - name: d\n    schedule: '0 7 ? * *'  # <-\n",
        "digests[0].schedule",
        '"?" is not',
    ),
    (
        "digests:\n  - name: d\n    schedule: '0,,5 7 * * *'  # <-\n",
        "digests[0].schedule",
        "minute",
    ),
]


@pytest.mark.parametrize(("text", "key", "fragment"), BROKEN)
def test_errors_name_the_file_line_and_key(text: str, key: str | None, fragment: str) -> None:
    (line,) = [n for n, row in enumerate(text.splitlines(), start=1) if row.endswith("# <-")]
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "conf/feeds.yaml")
    error = caught.value
    assert (error.path, error.line, error.key) == ("conf/feeds.yaml", line, key)
    assert fragment in error.message
    where = f"conf/feeds.yaml:{line}: " + (f"{key}: " if key else "")
    assert str(error) == where + error.message


def test_error_message_reads_well() -> None:
    feeds = "".join(f"  - url: https://example.org/{n}\n" for n in range(3))
    text = f"feeds:\n{feeds}  - url: https://example.org/3\n    interval: soon\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert str(caught.value) == (
        'feeds.yaml:6: feeds[3].interval: expected a duration like "30m", "1h30m" or "1d", '
        'got "soon"'
    )
    assert isinstance(caught.value, AggregatorError)


@pytest.mark.timeout(10)
def test_yaml_bomb_is_refused_quickly() -> None:
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    text = "\n".join(["settings:", *(f"  {row}" for row in rows)]) + "\n"
    with pytest.raises(ConfigError, match="aliases") as caught:
        parse_config(text)
    assert caught.value.line == 3


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_config("settings: " + "[" * 5000 + "]" * 5000)


def test_too_large_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="too large"):
        parse_config("#" * (MAX_CONFIG_BYTES + 1))


# Files.


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(EVERY_KEY, encoding="utf-8")
    config = load_config(path)
    assert config.path == path
    assert config == parse_config(EVERY_KEY, str(path))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "feeds.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == str(path)
    assert str(caught.value) == f"{path}: no such file (`aggregator init` writes one)"


def test_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read") as caught:
        load_config(tmp_path)
    assert caught.value.path == str(tmp_path)


def test_file_too_large_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match="too large"):
        load_config(path)


def test_file_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"feeds:\n  - url: https://a.example/\n    name: Caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8") as caught:
        load_config(path)
    assert caught.value.line == 3


def test_file_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes("\ufefffeeds:\n  - url: https://a.example/\n".encode())
    assert load_config(path).feeds[0].url == "https://a.example/"


# The database path.


def test_relative_database_is_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "feeds.yaml").write_text("settings:\n  database: data/news.db\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("conf/feeds.yaml"))
    assert config.settings.database == "data/news.db"  # kept as written
    assert database_path(config) == Path("conf/data/news.db")
    assert database_path(load_config(folder / "feeds.yaml")) == folder / "data" / "news.db"


def test_default_database_is_beside_the_config(tmp_path: Path) -> None:
    config = parse_config("", str(tmp_path / "feeds.yaml"))
    assert database_path(config) == tmp_path / "archive" / "archive.db"


def test_absolute_and_home_databases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = tmp_path / "elsewhere.db"
    config = parse_config(f"settings: {{database: '{absolute}'}}", "conf/feeds.yaml")
    assert database_path(config) == absolute
    monkeypatch.setenv("HOME", str(tmp_path))
    config = parse_config("settings: {database: ~/news.db}", "conf/feeds.yaml")
    assert database_path(config) == tmp_path / "news.db"


def test_database_without_config_path_is_as_written() -> None:
    assert database_path(Config()) == Path("archive/archive.db")


# Durations and sizes.


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("1h", 3600),
        ("1d", 86400),
        ("2w", 14 * 86400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1d2h3m4s", 93784),
        ("1.5h", 5400),
        (" 5m ", 300),
        ("45", 45),
        ("0", 0),
        ("0.25", 0.25),
        (45, 45),
        (2.5, 2.5),
        (0, 0),
    ],
)
def test_parse_duration(value: str | int | float, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value",
    ["soon", "", "m", "5 minutes", "5M", "1.h", "-5m", "1e3", "5ms", -1, True, math.inf, math.nan],
)
def test_parse_duration_refuses(value: str | int | float) -> None:
    with pytest.raises(ConfigError, match="duration") as caught:
        parse_duration(value)
    assert caught.value.path is None
    assert caught.value.line is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (90, "1m30s"), (5400, "1h30m"), (86400, "1d"), (8 * 86400, "1w1d")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("seconds", [0.5, 90.25, 3600.0, 1234567.0, 1234567.5])
def test_format_duration_reads_back(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("20MB", 20_000_000),
        ("20 mb", 20_000_000),
        ("512KiB", 524_288),
        ("1GB", 1_000_000_000),
        ("2TiB", 2 * 1024**4),
        ("1.5KiB", 1536),
        ("10B", 10),
        ("1000", 1000),
        ("0", 0),
        (1000, 1000),
        (0, 0),
    ],
)
def test_parse_size(value: str | int, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["big", "", "MB", "20XB", "-1MB", "1.5.5MB", "20 M B", -1, True])
def test_parse_size_refuses(value: str | int) -> None:
    with pytest.raises(ConfigError, match="size"):
        parse_size(value)


@pytest.mark.parametrize(
    "schedule",
    [
        "0 7 * * *",
        "*/15 * * * *",
        "0 9-17/2 * * mon-fri",
        "30 6 1,15 jan-jun,dec 0",
        "0 0 31 12 7",
        "0 0 * * SUN",
        "5/10 * * * *",
    ],
)
def test_cron_schedules_accepted(schedule: str) -> None:
    config = parse_config(f"digests:\n  - name: d\n    schedule: '{schedule}'\n")
    assert config.digests[0].schedule == schedule


def test_rewrite_feed_url_changes_only_that_url(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    original = (
        "# my feeds\n"
        "settings:\n"
        "  interval: 30m  # default\n"
        "feeds:\n"
        "  - url: https://old.example/feed.xml  # moved?\n"
        "    name: Old\n"
        '  - url: "https://other.example/rss"\n'
    )
    path.write_text(original)
    rewrite_feed_url(path, "https://old.example/feed.xml", "https://new.example/feed")
    assert path.read_text() == original.replace(
        "https://old.example/feed.xml", "https://new.example/feed"
    )
    rewrite_feed_url(path, "https://other.example/rss", "https://other.example/rss?a=1&b=#x")
    assert '  - url: "https://other.example/rss?a=1&b=#x"\n' in path.read_text()
    assert load_config(path).feeds[1].url == "https://other.example/rss?a=1&b=#x"
    with pytest.raises(ConfigError, match="no feed with url"):
        rewrite_feed_url(path, "https://absent.example/", "https://x.example/")


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("5/2", "sun,fri"),
        ("sat,sun", "sun,sat"),
        ("0,7", "sun"),
    ],
)
def test_crontab_weekdays_become_names_every_scheduler_reads_alike(field: str, names: str) -> None:
    from aggregator.config import cron_weekdays

    assert cron_weekdays(field) == names
