"""Load and validate feeds.yaml into typed, frozen settings.

Every error is a ``ConfigError`` naming the file, the line and the key; the CLI exits 2 on it.
Durations are stored in seconds (float), sizes in bytes (int).

PyYAML only composes the document into a node tree (nothing is constructed from tags); the tree
is then read by hand, which is how every value keeps its line number. YAML aliases are refused
(they are the way to a "billion laughs" document) and so are files over ``MAX_CONFIG_BYTES``.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlsplit

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from aggregator.errors import ConfigError

DEFAULT_DATABASE = "archive/archive.db"
MAX_CONFIG_BYTES: Final = 16 * 1024 * 1024
"""Larger files are refused (100,000 feeds with names and tags take about 10 MB)."""
DIGEST_FORMATS: Final = ("md", "html", "json", "atom", "jsonfeed")
SMTP_PASSWORD_ENV: Final = "AGGREGATOR_SMTP_PASSWORD"


@dataclass(frozen=True, kw_only=True, slots=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    username: str | None = None
    sender: str = "aggregator@localhost"
    """The ``from`` key in feeds.yaml (a Python keyword, hence the name)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    database: str = DEFAULT_DATABASE
    """As written in the file; ``database_path()`` resolves it against the file's folder."""
    interval: float = 30 * 60
    concurrency: int = 32
    per_host: int = 2
    per_host_delay: float = 0.5
    max_entries: int = 1000
    """Entries taken from one feed document per poll (the rest are logged and left out)."""
    """Seconds between the starts of two requests to one host (0: no delay)."""
    timeout: float = 30.0
    max_bytes: int = 20 * 1000 * 1000
    min_interval: float = 5 * 60
    max_interval: float = 24 * 60 * 60
    fetch_articles: bool = True
    archive_pages: bool = True
    allow_private_networks: bool = False
    allowed_private_hosts: tuple[str, ...] = ()
    smtp: SmtpSettings = field(default_factory=SmtpSettings)


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedConfig:
    url: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    interval: float | None = None
    line: int | None = None
    """Line of the entry in feeds.yaml (for messages)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DigestConfig:
    name: str
    schedule: str | None = None
    """A standard 5-field crontab line (weekday 0 or 7 is Sunday), as written."""
    since: float = 24 * 60 * 60
    format: str = "md"
    to: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Config:
    path: Path | None = None
    settings: Settings = field(default_factory=Settings)
    feeds: tuple[FeedConfig, ...] = ()
    digests: tuple[DigestConfig, ...] = ()


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the feeds.yaml at ``path`` (UTF-8)."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError("no such file (`aggregator init` writes one)", path=name) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", path=name) from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(_too_large(), path=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError("the file is not UTF-8 text", path=name, line=line) from exc
    return parse_config(text, name)


def parse_config(text: str, path: str = "feeds.yaml") -> Config:
    """Validate feeds.yaml given as text; ``path`` names it in errors and anchors ``database``."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(_too_large(), path=path)
    root = _compose(text, path)
    if root is None or _is_null(root):
        return Config(path=Path(path))
    _check_plain_yaml(root, text, path)
    reader = _Reader(path)
    top = reader.fields(root, "", ("settings", "feeds", "digests"))
    return Config(
        path=Path(path),
        settings=reader.settings(top.values.get("settings")),
        feeds=reader.feeds(top.values.get("feeds")),
        digests=reader.digests(top.values.get("digests")),
    )


def rewrite_feed_url(path: str | os.PathLike[str], old: str, new: str) -> None:
    """Replace a feed's ``url`` in feeds.yaml, touching nothing else (comments, order, layout).

    The file is validated before and after, and replaced atomically. Raises ``ConfigError``
    when the file does not list ``old`` or the result would not load.
    """
    name = os.fspath(path)
    text = Path(path).read_text("utf-8")
    root = _compose(text, name)
    node = _feed_url_node(root, old)
    if node is None:
        raise ConfigError(f"no feed with url {_quote(old)} to rewrite", path=name)
    plain = node.style in (None, "") and re.fullmatch(r"[\w:/?#\[\]@!$&'()*+,;=.~%-]+", new)
    replacement = new if plain else json.dumps(new)
    updated = text[: node.start_mark.index] + replacement + text[node.end_mark.index :]
    parse_config(updated, name)
    temporary = Path(f"{name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(updated, "utf-8")
        os.chmod(temporary, Path(path).stat().st_mode & 0o7777)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _feed_url_node(root: Node | None, url: str) -> ScalarNode | None:
    if not isinstance(root, MappingNode):
        return None
    for key, value in root.value:
        if key.value != "feeds" or not isinstance(value, SequenceNode):
            continue
        for item in value.value:
            if not isinstance(item, MappingNode):
                continue
            for field_key, field_value in item.value:
                if (
                    field_key.value == "url"
                    and isinstance(field_value, ScalarNode)
                    and field_value.value.strip() == url
                ):
                    return field_value
    return None


def database_path(config: Config) -> Path:
    """``settings.database`` as a path: a relative one is taken from the config file's folder."""
    database = Path(config.settings.database).expanduser()
    if database.is_absolute() or config.path is None:
        return database
    return config.path.parent / database


_DURATION_UNITS: Final = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_NUMBER: Final = r"\d+(?:\.\d+)?"
_DURATION: Final = re.compile(rf"(?:{_NUMBER}\s*[wdhms]\s*)+")
_DURATION_PART: Final = re.compile(rf"({_NUMBER})\s*([wdhms])")


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value``: a number of seconds, or text like ``90s``, ``30m``, ``1h30m``, ``1d``.

    Units are s, m, h, d and w (weeks), in any combination.

    Raises ``ConfigError`` (without file or line) when ``value`` is not a duration of zero or more.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f'expected a duration like "30m", got {value!r}')
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(_NUMBER, text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            parts = _DURATION_PART.findall(text)
            seconds = sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)
        else:
            raise ConfigError(
                f'expected a duration like "30m", "1h30m" or "1d", got {_quote(value)}'
            )
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"expected a duration of zero seconds or more, got {value}")
    return seconds


def format_duration(seconds: float) -> str:
    """The short form of a duration (5400 -> ``1h30m``), which ``parse_duration`` reads back."""
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    parts = []
    for unit, size in _DURATION_UNITS.items():
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


_SIZE_UNITS: Final = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE: Final = re.compile(rf"({_NUMBER})\s*([a-z]*)", re.IGNORECASE)


def parse_size(value: str | int) -> int:
    """Bytes in ``value``: a number of bytes, or text like ``20MB``, ``512KiB``, ``1GB``.

    KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB powers of 1024.
    Raises ``ConfigError`` (without file or line) when ``value`` is not a size of zero or more.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f'expected a size like "20MB", got {value!r}')
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"expected a size of zero bytes or more, got {value}")
        return value
    match = _SIZE.fullmatch(value.strip())
    unit = _SIZE_UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise ConfigError(f'expected a size like "20MB" or "512KiB", got {_quote(value)}')
    return round(float(match.group(1)) * unit)


DEFAULT_CONFIG_TEXT: Final = """\
# feeds.yaml: the feeds aggregator follows, and how.
# Durations: 90s, 30m, 1h30m, 1d. Sizes: 512KiB, 20MB, 1GB. Unknown keys are errors.
# Every setting below is shown with its default value.

settings:
  # The SQLite archive; a relative path starts from this file's folder.
  database: archive/archive.db
  # How often a feed is polled unless it sets its own interval; adapted to
  # each feed's pace within [min_interval, max_interval].
  interval: 30m
  min_interval: 5m
  max_interval: 1d
  # Requests in flight at once, in all and per host.
  concurrency: 32
  per_host: 2
  # The minimum time between the starts of two requests to one host; 0 for none.
  per_host_delay: 0.5s
  # The longest one request may take, from connecting to the last byte.
  timeout: 30s
  # The largest response accepted, after decompression.
  max_bytes: 20MB
  # The most entries taken from one feed per poll (a feed of 50,000 is cut, and says so).
  max_entries: 1000
  # Fetch the web page of each entry and extract its full text.
  fetch_articles: true
  # Keep the raw HTML of each page, compressed (for reextract and WARC export).
  archive_pages: true
  # Refuse loopback, private and link-local addresses (checked on every hop).
  allow_private_networks: false
  # Exceptions to that rule: `host` or `host:port` exactly as written in feed URLs.
  allowed_private_hosts: []
  # The mail server for digests. The password comes from the
  # AGGREGATOR_SMTP_PASSWORD environment variable, never from this file.
  smtp:
    host: localhost
    port: 25
    starttls: false
    username: null
    from: aggregator@localhost

# Digests: what is new, exported on a schedule (cron: minute hour day month weekday).
digests:
  # - name: morning
  #   schedule: "0 7 * * *"
  #   since: 24h            # how far back to look (default 24h)
  #   format: html          # md (default), html, json, atom or jsonfeed
  #   to: me@example.org    # one address or a list
  #   feeds: [Example]      # only these feeds, by name or URL
  #   tags: [news]          # only feeds with these tags

# Feeds, one entry each (kept last: `aggregator add` appends here).
feeds:
  # - url: https://example.org/feed.xml
  #   name: Example         # optional; defaults to the feed's title
  #   tags: [news]
  #   interval: 15m         # optional; overrides settings.interval
"""

# Reading the node tree.

_LOADER: Final = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
_TAG: Final = "tag:yaml.org,2002:"
_NULL: Final = _TAG + "null"
_BOOL: Final = _TAG + "bool"
_INT: Final = _TAG + "int"
_FLOAT: Final = _TAG + "float"
_STR: Final = _TAG + "str"
_PLAIN_TAGS: Final = frozenset(
    _TAG + name
    for name in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map", "merge")
)
_SETTINGS_KEYS: Final = (
    "database",
    "interval",
    "concurrency",
    "per_host",
    "per_host_delay",
    "max_entries",
    "timeout",
    "max_bytes",
    "min_interval",
    "max_interval",
    "fetch_articles",
    "archive_pages",
    "allow_private_networks",
    "allowed_private_hosts",
    "smtp",
)
_SMTP_KEYS: Final = ("host", "port", "starttls", "username", "from")
_FEED_KEYS: Final = ("url", "name", "tags", "interval")
_DIGEST_KEYS: Final = ("name", "schedule", "since", "format", "to", "feeds", "tags")

_WHITESPACE: Final = re.compile(r"\s")
_T = TypeVar("_T")


def _too_large() -> str:
    return f"the file is larger than {MAX_CONFIG_BYTES // 2**20} MiB, too large for a feeds.yaml"


def _compose(text: str, path: str) -> Node | None:
    """The YAML node tree of ``text`` (None when empty); YAML errors become ConfigError."""
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, path) from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(f"invalid YAML: {exc.reason}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from exc
    except RecursionError as exc:
        raise ConfigError("invalid YAML: nested too deeply", path=path) from exc


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, path: str) -> ConfigError:
    """A YAML syntax error as one line, with a hint for the two usual mistakes."""
    context, problem = exc.context, exc.problem
    if context and problem and context.startswith("while "):  # where the parser was
        message = f"invalid YAML: {problem} ({context})"
    elif context and problem:  # "expected a single document in the stream, but found another"
        message = f"invalid YAML: {context}, {problem}"
    else:
        message = f"invalid YAML: {problem or context}"
    if context == "while scanning an alias":
        message += '; quote values that start with "*", like "* * * * *"'
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return ConfigError(message, path=path)
    lines = text.split("\n", mark.line + 1)
    if mark.line < len(lines) and "\t" in lines[mark.line]:
        message += "; indent with spaces, not tabs"
    return ConfigError(message, path=path, line=mark.line + 1)


def _check_plain_yaml(root: Node, text: str, path: str) -> None:
    """Refuse aliases (a node reached twice) and tags other than YAML's standard ones."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            message = "YAML aliases (*name) are not allowed; write the value out"
            raise ConfigError(message, path=path, line=_first_alias_line(text))
        seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            line = _line(node)
            raise ConfigError(f"YAML tags like {node.tag} are not supported", path=path, line=line)
        if isinstance(node, MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _first_alias_line(text: str) -> int | None:
    """The line of the first ``*alias`` in ``text`` (only called once one was found)."""
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent) and event.start_mark is not None:
            return event.start_mark.line + 1
    return None


def _line(node: Node) -> int | None:
    return node.start_mark.line + 1 if node.start_mark is not None else None


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _quote(text: str, limit: int = 60) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _describe(node: Node) -> str:
    """What a value is, for ``expected X, got Y`` messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "an empty value"
    if node.tag == _STR:
        return _quote(node.value)
    return str(node.value)


def _did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _is_http_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host (and a valid port, if any)."""
    if _WHITESPACE.search(url):
        return False
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and port_ok


def _is_host(text: str) -> bool:
    """Whether ``text`` is a bare ``host`` or ``host:port``."""
    if "/" in text or "@" in text or _WHITESPACE.search(text):
        return False
    try:
        parts = urlsplit(f"//{text}")
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return bool(parts.hostname) and port_ok


def _url_identity(url: str) -> str:
    """The URL with scheme and host lowercased, to spot a feed listed twice."""
    parts = urlsplit(url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


@dataclass(frozen=True, slots=True)
class _Fields:
    """A YAML mapping whose keys were checked: value nodes by key, and where the mapping is."""

    node: Node
    key: str
    values: dict[str, Node]

    def key_of(self, name: str) -> str:
        return _join(self.key, name)


class _Reader:
    """Turns the node tree into typed settings, raising ConfigError with file, line and key."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.constructor = SafeConstructor()

    def error(self, node: Node, key: str | None, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, line=_line(node), key=key or None)

    # Sections.

    def settings(self, node: Node | None) -> Settings:
        default = Settings()
        if node is None or _is_null(node):
            return default
        fields = self.fields(node, "settings", _SETTINGS_KEYS)
        settings = Settings(
            database=self.get(fields, "database", self.text, default.database),
            interval=self.get(fields, "interval", self.duration, default.interval),
            concurrency=self.get(fields, "concurrency", self.count, default.concurrency),
            per_host=self.get(fields, "per_host", self.count, default.per_host),
            per_host_delay=self.get(fields, "per_host_delay", self.pause, default.per_host_delay),
            max_entries=self.get(fields, "max_entries", self.count, default.max_entries),
            timeout=self.get(fields, "timeout", self.duration, default.timeout),
            max_bytes=self.get(fields, "max_bytes", self.size, default.max_bytes),
            min_interval=self.get(fields, "min_interval", self.duration, default.min_interval),
            max_interval=self.get(fields, "max_interval", self.duration, default.max_interval),
            fetch_articles=self.get(fields, "fetch_articles", self.boolean, default.fetch_articles),
            archive_pages=self.get(fields, "archive_pages", self.boolean, default.archive_pages),
            allow_private_networks=self.get(
                fields, "allow_private_networks", self.boolean, default.allow_private_networks
            ),
            allowed_private_hosts=self.get(fields, "allowed_private_hosts", self.hosts, ()),
            smtp=self.smtp(fields.values.get("smtp")),
        )
        if settings.min_interval > settings.max_interval:
            name = "min_interval" if "min_interval" in fields.values else "max_interval"
            message = (
                f"min_interval ({format_duration(settings.min_interval)}) is longer than "
                f"max_interval ({format_duration(settings.max_interval)})"
            )
            raise self.error(fields.values[name], fields.key_of(name), message)
        return settings

    def smtp(self, node: Node | None) -> SmtpSettings:
        default = SmtpSettings()
        if node is None or _is_null(node):
            return default
        fields = self.fields(node, "settings.smtp", _SMTP_KEYS)
        return SmtpSettings(
            host=self.get(fields, "host", self.text, default.host),
            port=self.get(fields, "port", self.port, default.port),
            starttls=self.get(fields, "starttls", self.boolean, default.starttls),
            username=self.get(fields, "username", self.optional_text, default.username),
            sender=self.get(fields, "from", self.address, default.sender),
        )

    def feeds(self, node: Node | None) -> tuple[FeedConfig, ...]:
        feeds: list[FeedConfig] = []
        url_lines: dict[str, int | None] = {}
        name_lines: dict[str, int | None] = {}
        for index, item in enumerate(self.sequence(node, "feeds")):
            fields = self.fields(item, f"feeds[{index}]", _FEED_KEYS)
            url_node = self.required(fields, "url", "every feed needs a url")
            feed = FeedConfig(
                url=self.url(url_node, fields.key_of("url")),
                name=self.get(fields, "name", self.optional_text, None),
                tags=self.get(fields, "tags", self.texts, ()),
                interval=self.get(fields, "interval", self.optional_duration, None),
                line=_line(item),
            )
            identity = _url_identity(feed.url)
            if identity in url_lines:
                message = f"{_quote(feed.url)} is already listed at line {url_lines[identity]}"
                raise self.error(url_node, fields.key_of("url"), message)
            url_lines[identity] = feed.line
            if feed.name is not None:
                self.unique(fields, feed.name, name_lines, "feed")
            feeds.append(feed)
        return tuple(feeds)

    def digests(self, node: Node | None) -> tuple[DigestConfig, ...]:
        digests: list[DigestConfig] = []
        name_lines: dict[str, int | None] = {}
        default = DigestConfig(name="")
        for index, item in enumerate(self.sequence(node, "digests")):
            fields = self.fields(item, f"digests[{index}]", _DIGEST_KEYS)
            name_node = self.required(fields, "name", "every digest needs a name")
            digest = DigestConfig(
                name=self.text(name_node, fields.key_of("name")),
                schedule=self.get(fields, "schedule", self.schedule, None),
                since=self.get(fields, "since", self.duration, default.since),
                format=self.get(fields, "format", self.digest_format, default.format),
                to=self.get(fields, "to", self.addresses, ()),
                feeds=self.get(fields, "feeds", self.texts, ()),
                tags=self.get(fields, "tags", self.texts, ()),
            )
            self.unique(fields, digest.name, name_lines, "digest")
            digests.append(digest)
        return tuple(digests)

    # Structure.

    def fields(self, node: Node, key: str, known: Collection[str]) -> _Fields:
        """Check that ``node`` is a mapping with string keys, each known and given once."""
        if not isinstance(node, MappingNode):
            expected = f"a mapping with keys {', '.join(known)}"
            raise self.error(node, key, f"expected {expected}, got {_describe(node)}")
        values: dict[str, Node] = {}
        key_lines: dict[str, int | None] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or _is_null(key_node):
                raise self.error(key_node, key, f"expected a key name, got {_describe(key_node)}")
            name = key_node.value
            full_key = _join(key, name)
            if name in key_lines:
                message = f"duplicate key (first given at line {key_lines[name]})"
                raise self.error(key_node, full_key, message)
            if name not in known:
                raise self.error(key_node, full_key, _unknown_key(name, known))
            key_lines[name] = _line(key_node)
            values[name] = value_node
        return _Fields(node, key, values)

    def get(
        self, fields: _Fields, name: str, convert: Callable[[Node, str], _T], default: _T
    ) -> _T:
        """The converted value of key ``name``, or ``default`` when the key is absent."""
        node = fields.values.get(name)
        return default if node is None else convert(node, fields.key_of(name))

    def required(self, fields: _Fields, name: str, why: str) -> Node:
        node = fields.values.get(name)
        if node is None or _is_null(node):
            where = fields.node if node is None else node
            raise self.error(where, fields.key_of(name), f"missing: {why}")
        return node

    def sequence(self, node: Node | None, key: str) -> Iterator[Node]:
        """The items of a list (none for an empty value)."""
        if node is None or _is_null(node):
            return iter(())
        if not isinstance(node, SequenceNode):
            raise self.error(node, key, f"expected a list, got {_describe(node)}")
        return iter(node.value)

    def unique(self, fields: _Fields, name: str, lines: dict[str, int | None], kind: str) -> None:
        """Record ``name`` (case-insensitively), refusing one already used by another ``kind``."""
        folded = name.casefold()
        if folded in lines:
            message = f"{_quote(name)} is already the name of the {kind} at line {lines[folded]}"
            raise self.error(fields.values["name"], fields.key_of("name"), message)
        lines[folded] = _line(fields.node)

    # Values.

    def text(self, node: Node, key: str) -> str:
        """A non-empty string; other scalars are taken as written (``name: 2024`` is "2024")."""
        if isinstance(node, ScalarNode) and node.tag != _NULL and node.value.strip():
            return str(node.value)
        raise self.error(node, key, f"expected a non-empty string, got {_describe(node)}")

    def optional_text(self, node: Node, key: str) -> str | None:
        return None if _is_null(node) else self.text(node, key)

    def texts(self, node: Node, key: str) -> tuple[str, ...]:
        """One string or a list of strings."""
        if isinstance(node, SequenceNode):
            return tuple(self.text(item, f"{key}[{i}]") for i, item in enumerate(node.value))
        if isinstance(node, MappingNode):
            raise self.error(node, key, "expected a string or a list of strings, got a mapping")
        return () if _is_null(node) else (self.text(node, key),)

    def boolean(self, node: Node, key: str) -> bool:
        if isinstance(node, ScalarNode) and node.tag == _BOOL:
            return self.constructor.construct_yaml_bool(node)
        raise self.error(node, key, f"expected true or false, got {_describe(node)}")

    def integer(self, node: Node, key: str, low: int, high: int | None = None) -> int:
        if isinstance(node, ScalarNode) and node.tag == _INT:
            value = self.constructor.construct_yaml_int(node)
            if value >= low and (high is None or value <= high):
                return value
        if high is None:
            expected = f"a whole number of {low} or more"
        else:
            expected = f"a whole number from {low} to {high}"
        raise self.error(node, key, f"expected {expected}, got {_describe(node)}")

    def count(self, node: Node, key: str) -> int:
        return self.integer(node, key, 1)

    def port(self, node: Node, key: str) -> int:
        return self.integer(node, key, 1, 65535)

    def duration(self, node: Node, key: str) -> float:
        """A duration longer than zero: a number of seconds or text like ``1h30m``."""
        seconds = self.seconds(node, key)
        if not (math.isfinite(seconds) and seconds > 0):
            raise self.error(
                node, key, f"expected a duration longer than zero, got {_describe(node)}"
            )
        return seconds

    def pause(self, node: Node, key: str) -> float:
        """A duration of zero or more (zero meaning no pause), like ``0.5s`` or ``2``."""
        seconds = self.seconds(node, key)
        if not (math.isfinite(seconds) and seconds >= 0):
            raise self.error(
                node, key, f"expected a duration of zero or more, got {_describe(node)}"
            )
        return seconds

    def seconds(self, node: Node, key: str) -> float:
        """The seconds in a number or a duration text (may be negative or infinite)."""
        if isinstance(node, ScalarNode) and node.tag == _INT:
            return float(self.constructor.construct_yaml_int(node))
        if isinstance(node, ScalarNode) and node.tag == _FLOAT:
            return self.constructor.construct_yaml_float(node)
        return self.parse(node, key, parse_duration, 'a duration like "30m"')

    def optional_duration(self, node: Node, key: str) -> float | None:
        return None if _is_null(node) else self.duration(node, key)

    def size(self, node: Node, key: str) -> int:
        """A size of one byte or more: a number of bytes or text like ``20MB``."""
        if isinstance(node, ScalarNode) and node.tag == _INT:
            size = self.constructor.construct_yaml_int(node)
        else:
            size = self.parse(node, key, parse_size, 'a size like "20MB"')
        if size <= 0:
            raise self.error(
                node, key, f"expected a size of one byte or more, got {_describe(node)}"
            )
        return size

    def parse(self, node: Node, key: str, parse: Callable[[str], _T], expected: str) -> _T:
        """``parse`` applied to a scalar's text, its ConfigError placed at this node and key."""
        if not isinstance(node, ScalarNode) or node.tag not in (_INT, _FLOAT, _STR):
            raise self.error(node, key, f"expected {expected}, got {_describe(node)}")
        try:
            return parse(node.value)
        except ConfigError as exc:
            raise self.error(node, key, exc.message) from exc

    def url(self, node: Node, key: str) -> str:
        url = self.text(node, key)
        if not _is_http_url(url):
            raise self.error(node, key, f"expected an http:// or https:// URL, got {_quote(url)}")
        return url

    def hosts(self, node: Node, key: str) -> tuple[str, ...]:
        """Hosts as written in URLs: ``host`` or ``host:port``, without a scheme or path."""
        hosts = self.texts(node, key)
        for index, host in enumerate(hosts):
            if not _is_host(host):
                item = node.value[index] if isinstance(node, SequenceNode) else node
                message = (
                    f'expected a host like "feeds.local" or "10.0.0.5:8080", got {_quote(host)}'
                )
                raise self.error(item, f"{key}[{index}]", message)
        return hosts

    def address(self, node: Node, key: str) -> str:
        """An e-mail address, bare or as ``Name <user@host>``."""
        text = self.text(node, key)
        _, address = parseaddr(text)
        if "@" not in address.strip("@") or _WHITESPACE.search(address):
            raise self.error(node, key, f"expected an e-mail address, got {_quote(text)}")
        return text

    def addresses(self, node: Node, key: str) -> tuple[str, ...]:
        """One e-mail address or a list of them."""
        if isinstance(node, SequenceNode):
            return tuple(self.address(item, f"{key}[{i}]") for i, item in enumerate(node.value))
        return () if _is_null(node) else (self.address(node, key),)

    def digest_format(self, node: Node, key: str) -> str:
        value = self.text(node, key)
        if value not in DIGEST_FORMATS:
            message = f"expected one of {', '.join(DIGEST_FORMATS)}, got {_quote(value)}"
            raise self.error(node, key, message + _did_you_mean(value, DIGEST_FORMATS))
        return value

    def schedule(self, node: Node, key: str) -> str | None:
        if _is_null(node):
            return None
        value = self.text(node, key)
        problem = _cron_problem(value)
        if problem:
            expected = 'expected a cron schedule like "0 7 * * *" (minute hour day month weekday)'
            raise self.error(node, key, f"{expected}: {problem}")
        return value


def _unknown_key(name: str, known: Collection[str]) -> str:
    if "password" in name.lower():
        return (
            f"no password in this file: the SMTP password comes from the {SMTP_PASSWORD_ENV} "
            "environment variable"
        )
    return "unknown key" + (_did_you_mean(name, known) or f"; expected one of {', '.join(known)}")


_MONTHS: Final = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_WEEKDAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_FIELDS: Final = (
    # (field, lowest, highest, names of lowest, lowest + 1, ...)
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("weekday", 0, 7, _WEEKDAYS),
)
_CRON_ITEM: Final = re.compile(r"(?:\*|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:/(\d+))?")


def _cron_problem(expression: str) -> str | None:
    """What is wrong with a 5-field crontab expression, or None when it is valid.

    Each field is a comma-separated list of ``*``, ``N``, ``N-M``, each optionally ``/STEP``;
    months and weekdays may be names (``jan``, ``mon-fri``). Weekday 0 and 7 are Sunday.
    """
    values = expression.split()
    if len(values) != len(_CRON_FIELDS):
        return f"{len(values)} field{'' if len(values) == 1 else 's'} instead of 5"
    for value, (name, low, high, names) in zip(values, _CRON_FIELDS, strict=True):
        for item in value.lower().split(","):
            problem = _cron_item_problem(item, name, low, high, names)
            if problem:
                return problem
    return None


def _cron_item_problem(
    item: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> str | None:
    match = _CRON_ITEM.fullmatch(item)
    if match is None:
        return f"{name} {_quote(item)} is not *, a value, a range or a step"
    first, last, step = match.groups()
    bounds = []
    for word in filter(None, (first, last)):
        number = low + names.index(word) if word in names else int(word) if word.isdigit() else None
        if number is None or not low <= number <= high:
            named = f" or {names[0]}-{names[-1]}" if names else ""
            return f"{name} {_quote(word)} is not within {low}-{high}{named}"
        bounds.append(number)
    if bounds != sorted(bounds):
        return f"{name} range {_quote(item)} runs backwards"
    if step is not None and first is not None and not first.isdigit():
        return f"{name} step in {_quote(item)} follows a name; steps follow * or numbers"
    if step is not None and int(step) == 0:
        return f"{name} step in {_quote(item)} is zero"
    return None
