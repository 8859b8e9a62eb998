"""Load and validate feeds.yaml into typed, frozen settings.

Every error names the file, the line and the key (``ConfigError``); the CLI exits 2 on it.
Durations are stored in seconds (float), sizes in bytes (int).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE = "archive/archive.db"


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
    interval: float = 30 * 60
    concurrency: int = 32
    per_host: int = 2
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
