"""The configuration reference in README.md, generated from the config model.

Every key of feeds.yaml is a field of ``Settings``, ``SmtpSettings``, ``FeedConfig`` or
``DigestConfig``; its default is the field's default, written as feeds.yaml would write it.
Only the explanations live here, and a key without one is an error::

    .venv/bin/python docs/reference.py --check   # exit 1 when README.md is out of date
    .venv/bin/python docs/reference.py --write   # rewrite its section

The section is the text between ``<!-- config-reference -->`` and ``<!-- /config-reference -->``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aggregator.config import (
    DIGEST_FORMATS,
    SMTP_PASSWORD_ENV,
    DigestConfig,
    FeedConfig,
    Settings,
    SmtpSettings,
    format_duration,
)

README: Final = Path(__file__).resolve().parent.parent / "README.md"
BEGIN: Final = "<!-- config-reference -->"
END: Final = "<!-- /config-reference -->"
REQUIRED: Final = "required"

SECTIONS: Final[tuple[tuple[str, type[Any]], ...]] = (
    ("settings", Settings),
    ("settings.smtp", SmtpSettings),
    ("feeds[]", FeedConfig),
    ("digests[]", DigestConfig),
)
"""Where each model's keys are written: ``feeds[]`` is a key of every entry of ``feeds``."""

YAML_NAMES: Final = {"sender": "from"}
"""Fields whose key in feeds.yaml is another word (``from`` is a Python keyword)."""
NOT_KEYS: Final = {"line"}
"""Fields filled in by the reader, not written in feeds.yaml."""
DURATIONS: Final = {
    "settings.interval",
    "settings.per_host_delay",
    "settings.timeout",
    "settings.min_interval",
    "settings.max_interval",
    "feeds[].interval",
    "digests[].since",
}
SIZES: Final = {"settings.max_bytes"}

DESCRIPTIONS: Final = {
    "settings.database": "The SQLite archive; a relative path starts from this file's folder"
    " (`--db` and `AGGREGATOR_DB` override it).",
    "settings.interval": "How often a feed without its own `interval` is polled until its rhythm"
    " is known (half the mean gap between its new entries over 30 days).",
    "settings.concurrency": "Requests in flight at once, in all.",
    "settings.per_host": "Requests in flight at once to one host, feeds and pages alike.",
    "settings.per_host_delay": "The least time between the starts of two requests to one host;"
    " `0` for none.",
    "settings.max_entries": "Entries taken from one feed per poll; the rest are left out, and"
    " the cut is recorded.",
    "settings.timeout": "The most one request may take, redirects and body included.",
    "settings.max_bytes": "The largest response body, after decompression.",
    "settings.min_interval": "The shortest interval between two polls of a feed (a server's"
    " `Retry-After` is honoured even when shorter).",
    "settings.max_interval": "The longest interval between two polls of a feed that answers;"
    " a failing one backs off up to 4 times this.",
    "settings.fetch_articles": "Fetch each new entry's page and extract the article; `false`"
    " keeps the feed's own content.",
    "settings.archive_pages": "Keep each raw page, compressed, once per sha256 (for `reextract`"
    " and `export --format warc`).",
    "settings.learn_boilerplate": "Learn the lines repeated across a site's articles (share"
    " bars, sign-offs) and remove them.",
    "settings.allow_private_networks": "Allow requests to loopback, private, link-local and"
    " other non-public addresses.",
    "settings.allowed_private_hosts": "Exceptions to that: `host` or `host:port`, exactly as"
    " written in feed URLs.",
    "settings.smtp.host": "The mail server digests are sent through.",
    "settings.smtp.port": "Its port.",
    "settings.smtp.starttls": "Upgrade the connection with STARTTLS (the certificate is checked).",
    "settings.smtp.username": f"Log in as this user, with the password in `{SMTP_PASSWORD_ENV}`"
    " (never in this file); `null`: no login.",
    "settings.smtp.from": "The sender: `user@host` or `Name <user@host>`.",
    "feeds[].url": "The feed (http or https). A web page is not a feed: `aggregator add` finds"
    " the feeds a page advertises.",
    "feeds[].name": "What commands and digests call the feed (unique, case aside); `null`:"
    " the feed's own title.",
    "feeds[].tags": "One tag or a list; `search --tag`, `digest --tag` and digests' `tags`"
    " select by them.",
    "feeds[].interval": "This feed's poll interval, instead of its rhythm; still within"
    " `[min_interval, max_interval]` and never more often than the server asks.",
    "digests[].name": "Its name, for `aggregator digest --name` and `--since last` (unique).",
    "digests[].schedule": "When `aggregator run` makes it: a crontab line (minute hour day month"
    " weekday), in the daemon's local time zone; `null`: only by hand.",
    "digests[].since": "How far back it looks.",
    "digests[].format": f"One of {', '.join(f'`{f}`' for f in DIGEST_FORMATS)}.",
    "digests[].to": "Addresses to mail it to (one or a list); `[]`: written to"
    " `archive/digests/NAME-YYYYMMDD-HHMM.EXT`.",
    "digests[].feeds": "Only these feeds, by name or URL.",
    "digests[].tags": "Only feeds or articles with these tags.",
    "digests[].problems": "End it with the feed-health report of `aggregator status --problems`.",
}


@dataclass(frozen=True, slots=True)
class Key:
    """One key of feeds.yaml, as the model has it."""

    section: str
    name: str
    """Its name in feeds.yaml."""
    field: str
    """Its field in the model."""
    default: object
    """The model's default, or ``REQUIRED``."""

    @property
    def path(self) -> str:
        return f"{self.section}.{self.name}"


def keys() -> list[Key]:
    """Every key of feeds.yaml, section by section, in the model's order."""
    found = []
    for section, model in SECTIONS:
        for field in dataclasses.fields(model):
            if field.name in NOT_KEYS:
                continue
            if field.default is not dataclasses.MISSING:
                default: object = field.default
            elif field.default_factory is not dataclasses.MISSING:
                default = field.default_factory()
            else:
                default = REQUIRED
            if dataclasses.is_dataclass(default):
                continue  # a section of its own (settings.smtp)
            name = YAML_NAMES.get(field.name, field.name)
            found.append(Key(section=section, name=name, field=field.name, default=default))
    return found


def yaml_default(key: Key) -> str:
    """The default as written in feeds.yaml (``30m``, ``20MB``, ``[]``), or ``required``."""
    value = key.default
    if value is REQUIRED:
        return REQUIRED
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if key.path in DURATIONS:
        assert isinstance(value, int | float)
        return format_duration(value)
    if key.path in SIZES:
        assert isinstance(value, int)
        return format_size(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def format_size(size: int) -> str:
    """The shortest exact form of a size: 20000000 is ``20MB``, 1048576 ``1MiB``."""
    for unit, scale in (
        ("TB", 1000**4),
        ("TiB", 1024**4),
        ("GB", 1000**3),
        ("GiB", 1024**3),
        ("MB", 1000**2),
        ("MiB", 1024**2),
        ("KB", 1000),
        ("KiB", 1024),
    ):
        if size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def table() -> str:
    """The reference as a Markdown table; raises ``KeyError`` naming a key not described."""
    described = [(key, DESCRIPTIONS.get(key.path)) for key in keys()]
    missing = [key.path for key, text in described if text is None]
    if missing:
        raise KeyError(f"no description in docs/reference.py for {', '.join(missing)}")
    rows = [f"| `{key.path}` | {_code(yaml_default(key))} | {text} |" for key, text in described]
    return "\n".join(["| key | default | what it does |", "| --- | --- | --- |", *rows])


def _code(default: str) -> str:
    return default if default == REQUIRED else f"`{default}`"


def with_reference(readme: str) -> str:
    """``readme`` with its section between the markers replaced by the current table."""
    start = readme.index(BEGIN) + len(BEGIN)
    end = readme.index(END, start)
    return f"{readme[:start]}\n{table()}\n{readme[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="fail when README.md is outdated")
    action.add_argument("--write", action="store_true", help="rewrite README.md's section")
    args = parser.parse_args(argv)
    current = README.read_text("utf-8")
    try:
        wanted = with_reference(current)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    if args.write:
        if wanted != current:
            README.write_text(wanted, "utf-8")
            print(f"{README.name}: configuration reference rewritten")
        return 0
    if wanted != current:
        print(
            f"{README.name}: the configuration reference is out of date;"
            " run: .venv/bin/python docs/reference.py --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
