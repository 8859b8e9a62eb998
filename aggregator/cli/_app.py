"""The command group, its context and what every command shares: errors, JSON, times.

Exit status: 0 when the command did its job (a failing feed is reported, not fatal),
2 for usage and configuration errors, 1 for other failures.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from aggregator import __version__
from aggregator.config import Config, database_path, format_duration, load_config, parse_duration
from aggregator.errors import AggregatorError, ConfigError, SearchError
from aggregator.store import Store


@dataclass
class Context:
    verbose: int
    log_format: str
    config_path: Path
    db_override: str | None
    stdout: Console
    stderr: Console
    quiet: bool = False
    _config: Config | None = None

    def say(self, text: str) -> None:
        """A confirmation on standard output (rich markup), unless --quiet."""
        if not self.quiet:
            self.stdout.print(text, highlight=False, soft_wrap=True)

    def config(self, *, required: bool = True) -> Config:
        """feeds.yaml, loaded once. When not ``required`` a missing file means the defaults."""
        if self._config is None:
            if not required and not self.config_path.exists():
                self._config = Config()
            else:
                self._config = load_config(self.config_path)
        return self._config

    def db_path(self, *, config_required: bool = False) -> Path:
        if self.db_override:
            return Path(self.db_override)
        return database_path(self.config(required=config_required))

    def open_store(self, *, config_required: bool = False, must_exist: bool = False) -> Store:
        path = self.db_path(config_required=config_required)
        if must_exist and not path.exists():
            fail(f"no archive at {path}: run `aggregator poll` first (or pass --db)", status=1)
        return Store(path)


def echo_json(data: object) -> None:
    """JSON for scripts: plain, never wrapped or coloured."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def fail(message: str, *, status: int = 1) -> NoReturn:
    Console(stderr=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True
    )
    sys.exit(status)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Our errors become a one-line message and an exit status, never a traceback."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), status=2)
    except SearchError as exc:
        fail(str(exc), status=2)
    except AggregatorError as exc:
        fail(str(exc), status=1)


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"time={stamp} level={record.levelname.lower()} logger={record.name} "
        text += record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure_logging(verbose: int, log_format: str, *, baseline: int = logging.WARNING) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _KeyValueFormatter())
    level = max(logging.DEBUG, baseline - 10 * verbose)
    root = logging.getLogger("aggregator")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aggregator")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="feeds.yaml",
    show_default=True,
    envvar="AGGREGATOR_CONFIG",
    help="The feeds.yaml to read (env AGGREGATOR_CONFIG).",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="AGGREGATOR_DB",
    help="The SQLite archive (default: settings.database, else archive/archive.db; "
    "env AGGREGATOR_DB).",
)
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print only results and errors: no progress, no notes on stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Logs on stderr as key=value text or JSON lines.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: Path,
    db_path: str | None,
    verbose: int,
    quiet: bool,
    log_format: str,
) -> None:
    """Archive every article of the feeds you follow as clean, searchable text.

    \b
    Example:
      aggregator run                  # the daemon: keep archive/archive.db up to date
      aggregator poll                 # or one pass over the feeds that are due
      aggregator search "climate"     # ranked results with snippets
      aggregator status               # one row per feed

    Colour and progress bars appear only on a terminal (NO_COLOR turns colour off there too).
    """
    configure_logging(verbose, log_format)
    ctx.obj = Context(
        verbose=verbose,
        log_format=log_format,
        config_path=config_path,
        db_override=db_path,
        stdout=Console(),
        stderr=Console(stderr=True, quiet=quiet),
        quiet=quiet,
    )


def parse_when(value: str, now: datetime, *, option: str = "--since") -> datetime:
    """A point in time: a duration back from now ("24h", "7d") or a date ("2026-11-01")."""
    try:
        return now - timedelta(seconds=parse_duration(value))
    except ConfigError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f'{value!r} is neither a duration like "24h" nor a date like "2026-11-01"',
            param_hint=option,
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    size = abs(seconds)
    unit = 3600 if size >= 86400 else 60 if size >= 3600 else 1  # two units are enough
    text = format_duration(max(1, round(size / unit)) * unit)
    return f"in {text}" if seconds < 0 else f"{text} ago"


def complete_feed(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of NAME_OR_URL: the names and URLs in feeds.yaml, and the feeds'
    own titles from the archive, that start with what was typed."""
    root = ctx.find_root().params
    try:
        config = load_config(root.get("config_path") or Path("feeds.yaml"))
        found = [name for f in config.feeds for name in (f.name, f.url) if name]
        db_path = Path(root["db_path"]) if root.get("db_path") else database_path(config)
        if db_path.exists():
            with Store(db_path) as store:
                found += [f.title for f in store.feeds() if f.title]
    except (AggregatorError, OSError):
        return []
    return sorted({name for name in found if name.startswith(incomplete)})


_Command = TypeVar("_Command", bound=Callable[..., Any])


def feed_option(
    help: str, *, dest: str = "wanted", multiple: bool = True
) -> Callable[[_Command], _Command]:
    """``--feed NAME_OR_URL``, the same on every command that takes it (names complete)."""
    return click.option(
        "--feed",
        dest,
        multiple=multiple,
        metavar="NAME_OR_URL",
        shell_complete=complete_feed,
        help=help,
    )
