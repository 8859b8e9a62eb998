"""The settings types read from feeds.yaml, and the constants they depend on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

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
    """Seconds between the starts of two requests to one host (0: no delay)."""
    max_entries: int = 1000
    """Entries taken from one feed document per poll (the rest are logged and left out)."""
    timeout: float = 30.0
    max_bytes: int = 20 * 1000 * 1000
    min_interval: float = 5 * 60
    max_interval: float = 24 * 60 * 60
    fetch_articles: bool = True
    archive_pages: bool = True
    learn_boilerplate: bool = True
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
    problems: bool = False
    """Whether the digest ends with the feed-health report (``aggregator status --problems``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Config:
    path: Path | None = None
    settings: Settings = field(default_factory=Settings)
    feeds: tuple[FeedConfig, ...] = ()
    digests: tuple[DigestConfig, ...] = ()
