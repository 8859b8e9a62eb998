"""Turning the node tree of feeds.yaml into typed settings, checking every key and value."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Final, TypeVar
from urllib.parse import urlsplit

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from aggregator.config._cron import cron_problem
from aggregator.config._messages import did_you_mean, quote
from aggregator.config._types import (
    DIGEST_FORMATS,
    SMTP_PASSWORD_ENV,
    DigestConfig,
    FeedConfig,
    Settings,
    SmtpSettings,
)
from aggregator.config._units import format_duration, parse_duration, parse_size
from aggregator.config._yaml import BOOL, FLOAT, INT, NULL, STR, describe, is_null, line_of
from aggregator.errors import ConfigError

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
    "learn_boilerplate",
    "allow_private_networks",
    "allowed_private_hosts",
    "smtp",
)
_SMTP_KEYS: Final = ("host", "port", "starttls", "username", "from")
_FEED_KEYS: Final = ("url", "name", "tags", "interval")
_DIGEST_KEYS: Final = ("name", "schedule", "since", "format", "to", "feeds", "tags", "problems")

_WHITESPACE: Final = re.compile(r"\s")
_T = TypeVar("_T")


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


@dataclass(frozen=True, slots=True)
class _Fields:
    """A YAML mapping whose keys were checked: value nodes by key, and where the mapping is."""

    node: Node
    key: str
    values: dict[str, Node]

    def key_of(self, name: str) -> str:
        return _join(self.key, name)


class Reader:
    """Turns the node tree into typed settings, raising ConfigError with file, line and key."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.constructor = SafeConstructor()

    def error(self, node: Node, key: str | None, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, line=line_of(node), key=key or None)

    # Sections.

    def settings(self, node: Node | None) -> Settings:
        default = Settings()
        if node is None or is_null(node):
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
            learn_boilerplate=self.get(
                fields, "learn_boilerplate", self.boolean, default.learn_boilerplate
            ),
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
        if node is None or is_null(node):
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
                line=line_of(item),
            )
            identity = url_identity(feed.url)
            if identity in url_lines:
                message = f"{quote(feed.url)} is already listed at line {url_lines[identity]}"
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
                problems=self.get(fields, "problems", self.boolean, default.problems),
            )
            self.unique(fields, digest.name, name_lines, "digest")
            digests.append(digest)
        return tuple(digests)

    # Structure.

    def fields(self, node: Node, key: str, known: Collection[str]) -> _Fields:
        """Check that ``node`` is a mapping with string keys, each known and given once."""
        if not isinstance(node, MappingNode):
            expected = f"a mapping with keys {', '.join(known)}"
            raise self.error(node, key, f"expected {expected}, got {describe(node)}")
        values: dict[str, Node] = {}
        key_lines: dict[str, int | None] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or is_null(key_node):
                raise self.error(key_node, key, f"expected a key name, got {describe(key_node)}")
            name = key_node.value
            full_key = _join(key, name)
            if name in key_lines:
                message = f"duplicate key (first given at line {key_lines[name]})"
                raise self.error(key_node, full_key, message)
            if name not in known:
                raise self.error(key_node, full_key, _unknown_key(name, known))
            key_lines[name] = line_of(key_node)
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
        if node is None or is_null(node):
            where = fields.node if node is None else node
            raise self.error(where, fields.key_of(name), f"missing: {why}")
        return node

    def sequence(self, node: Node | None, key: str) -> Iterator[Node]:
        """The items of a list (none for an empty value)."""
        if node is None or is_null(node):
            return iter(())
        if not isinstance(node, SequenceNode):
            raise self.error(node, key, f"expected a list, got {describe(node)}")
        return iter(node.value)

    def unique(self, fields: _Fields, name: str, lines: dict[str, int | None], kind: str) -> None:
        """Record ``name`` (case-insensitively), refusing one already used by another ``kind``."""
        folded = name.casefold()
        if folded in lines:
            message = f"{quote(name)} is already the name of the {kind} at line {lines[folded]}"
            raise self.error(fields.values["name"], fields.key_of("name"), message)
        lines[folded] = line_of(fields.node)

    # Values.

    def text(self, node: Node, key: str) -> str:
        """A non-empty string; other scalars are taken as written (``name: 2024`` is "2024")."""
        if isinstance(node, ScalarNode) and node.tag != NULL and node.value.strip():
            return str(node.value)
        raise self.error(node, key, f"expected a non-empty string, got {describe(node)}")

    def optional_text(self, node: Node, key: str) -> str | None:
        return None if is_null(node) else self.text(node, key)

    def texts(self, node: Node, key: str) -> tuple[str, ...]:
        """One string or a list of strings."""
        if isinstance(node, SequenceNode):
            return tuple(self.text(item, f"{key}[{i}]") for i, item in enumerate(node.value))
        if isinstance(node, MappingNode):
            raise self.error(node, key, "expected a string or a list of strings, got a mapping")
        return () if is_null(node) else (self.text(node, key),)

    def boolean(self, node: Node, key: str) -> bool:
        if isinstance(node, ScalarNode) and node.tag == BOOL:
            return self.constructor.construct_yaml_bool(node)
        raise self.error(node, key, f"expected true or false, got {describe(node)}")

    def integer(self, node: Node, key: str, low: int, high: int | None = None) -> int:
        if isinstance(node, ScalarNode) and node.tag == INT:
            value = self.constructor.construct_yaml_int(node)
            if value >= low and (high is None or value <= high):
                return value
        if high is None:
            expected = f"a whole number of {low} or more"
        else:
            expected = f"a whole number from {low} to {high}"
        raise self.error(node, key, f"expected {expected}, got {describe(node)}")

    def count(self, node: Node, key: str) -> int:
        return self.integer(node, key, 1)

    def port(self, node: Node, key: str) -> int:
        return self.integer(node, key, 1, 65535)

    def duration(self, node: Node, key: str) -> float:
        """A duration longer than zero: a number of seconds or text like ``1h30m``."""
        seconds = self.seconds(node, key)
        if not (math.isfinite(seconds) and seconds > 0):
            raise self.error(
                node, key, f"expected a duration longer than zero, got {describe(node)}"
            )
        return seconds

    def pause(self, node: Node, key: str) -> float:
        """A duration of zero or more (zero meaning no pause), like ``0.5s`` or ``2``."""
        seconds = self.seconds(node, key)
        if not (math.isfinite(seconds) and seconds >= 0):
            raise self.error(
                node, key, f"expected a duration of zero or more, got {describe(node)}"
            )
        return seconds

    def seconds(self, node: Node, key: str) -> float:
        """The seconds in a number or a duration text (may be negative or infinite)."""
        if isinstance(node, ScalarNode) and node.tag == INT:
            return float(self.constructor.construct_yaml_int(node))
        if isinstance(node, ScalarNode) and node.tag == FLOAT:
            return self.constructor.construct_yaml_float(node)
        return self.parse(node, key, parse_duration, 'a duration like "30m"')

    def optional_duration(self, node: Node, key: str) -> float | None:
        return None if is_null(node) else self.duration(node, key)

    def size(self, node: Node, key: str) -> int:
        """A size of one byte or more: a number of bytes or text like ``20MB``."""
        if isinstance(node, ScalarNode) and node.tag == INT:
            size = self.constructor.construct_yaml_int(node)
        else:
            size = self.parse(node, key, parse_size, 'a size like "20MB"')
        if size <= 0:
            raise self.error(
                node, key, f"expected a size of one byte or more, got {describe(node)}"
            )
        return size

    def parse(self, node: Node, key: str, parse: Callable[[str], _T], expected: str) -> _T:
        """``parse`` applied to a scalar's text, its ConfigError placed at this node and key."""
        if not isinstance(node, ScalarNode) or node.tag not in (INT, FLOAT, STR):
            raise self.error(node, key, f"expected {expected}, got {describe(node)}")
        try:
            return parse(node.value)
        except ConfigError as exc:
            raise self.error(node, key, exc.message) from exc

    def url(self, node: Node, key: str) -> str:
        url = self.text(node, key)
        if not _is_http_url(url):
            raise self.error(node, key, f"expected an http:// or https:// URL, got {quote(url)}")
        return url

    def hosts(self, node: Node, key: str) -> tuple[str, ...]:
        """Hosts as written in URLs: ``host`` or ``host:port``, without a scheme or path."""
        hosts = self.texts(node, key)
        for index, host in enumerate(hosts):
            if not _is_host(host):
                item = node.value[index] if isinstance(node, SequenceNode) else node
                message = (
                    f'expected a host like "feeds.local" or "10.0.0.5:8080", got {quote(host)}'
                )
                raise self.error(item, f"{key}[{index}]", message)
        return hosts

    def address(self, node: Node, key: str) -> str:
        """An e-mail address, bare or as ``Name <user@host>``."""
        text = self.text(node, key)
        _, address = parseaddr(text)
        if "@" not in address.strip("@") or _WHITESPACE.search(address):
            raise self.error(node, key, f"expected an e-mail address, got {quote(text)}")
        return text

    def addresses(self, node: Node, key: str) -> tuple[str, ...]:
        """One e-mail address or a list of them."""
        if isinstance(node, SequenceNode):
            return tuple(self.address(item, f"{key}[{i}]") for i, item in enumerate(node.value))
        return () if is_null(node) else (self.address(node, key),)

    def digest_format(self, node: Node, key: str) -> str:
        value = self.text(node, key)
        if value not in DIGEST_FORMATS:
            message = f"expected one of {', '.join(DIGEST_FORMATS)}, got {quote(value)}"
            raise self.error(node, key, message + did_you_mean(value, DIGEST_FORMATS))
        return value

    def schedule(self, node: Node, key: str) -> str | None:
        if is_null(node):
            return None
        value = self.text(node, key)
        problem = cron_problem(value)
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
    return "unknown key" + (did_you_mean(name, known) or f"; expected one of {', '.join(known)}")


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


def url_identity(url: str) -> str:
    """The URL with scheme and host lowercased, to spot a feed listed twice."""
    parts = urlsplit(url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()
