"""Load and validate feeds.yaml into typed, frozen settings.

Every error is a ``ConfigError`` naming the file, the line and the key; the CLI exits 2 on it.
Durations are stored in seconds (float), sizes in bytes (int).

PyYAML only composes the document into a node tree (nothing is constructed from tags); the tree
is then read by hand, which is how every value keeps its line number. YAML aliases are refused
(they are the way to a "billion laughs" document) and so are files over ``MAX_CONFIG_BYTES``.

The private submodules: ``_types`` (the settings dataclasses), ``_yaml`` (composing and
screening the node tree), ``_reader`` (checking keys and values), ``_units`` (durations and
sizes), ``_cron`` (digest schedules), ``_template`` (the starter file), ``_edit`` (adding,
removing and rewriting feeds in the file, keeping its layout), ``_messages``.
"""

from __future__ import annotations

import os
from pathlib import Path

from aggregator.config._cron import cron_weekdays
from aggregator.config._edit import (
    AddedFeeds,
    SkippedFeed,
    add_feed,
    add_feeds,
    find_feed,
    init_config,
    read_file,
    remove_feed,
    rewrite_feed_url,
)
from aggregator.config._reader import Reader, url_identity
from aggregator.config._template import DEFAULT_CONFIG_TEXT
from aggregator.config._types import (
    DEFAULT_DATABASE,
    DIGEST_FORMATS,
    MAX_CONFIG_BYTES,
    SMTP_PASSWORD_ENV,
    Config,
    DigestConfig,
    FeedConfig,
    Settings,
    SmtpSettings,
)
from aggregator.config._units import format_duration, parse_duration, parse_size
from aggregator.config._yaml import check_plain_yaml, compose, is_null
from aggregator.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_TEXT",
    "DEFAULT_DATABASE",
    "DIGEST_FORMATS",
    "MAX_CONFIG_BYTES",
    "SMTP_PASSWORD_ENV",
    "AddedFeeds",
    "Config",
    "DigestConfig",
    "FeedConfig",
    "Settings",
    "SkippedFeed",
    "SmtpSettings",
    "add_feed",
    "add_feeds",
    "cron_weekdays",
    "database_path",
    "find_feed",
    "format_duration",
    "init_config",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
    "remove_feed",
    "rewrite_feed_url",
    "url_identity",
]


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the feeds.yaml at ``path`` (UTF-8)."""
    _, text = read_file(path)
    return parse_config(text, os.fspath(path))


def parse_config(text: str, path: str = "feeds.yaml") -> Config:
    """Validate feeds.yaml given as text; ``path`` names it in errors and anchors ``database``."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(_too_large(), path=path)
    root = compose(text, path)
    if root is None or is_null(root):
        return Config(path=Path(path))
    check_plain_yaml(root, text, path)
    reader = Reader(path)
    top = reader.fields(root, "", ("settings", "feeds", "digests"))
    return Config(
        path=Path(path),
        settings=reader.settings(top.values.get("settings")),
        feeds=reader.feeds(top.values.get("feeds")),
        digests=reader.digests(top.values.get("digests")),
    )


def _too_large() -> str:
    return f"the file is larger than {MAX_CONFIG_BYTES // 2**20} MiB, too large for a feeds.yaml"


def database_path(config: Config) -> Path:
    """``settings.database`` as a path: a relative one is taken from the config file's folder."""
    database = Path(config.settings.database).expanduser()
    if database.is_absolute() or config.path is None:
        return database
    return config.path.parent / database
