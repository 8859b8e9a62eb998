"""The command line: parse arguments, call the library, render with rich (or --json).

One module a group of commands; importing them registers them on the ``cli`` group.
"""

from __future__ import annotations

from collections.abc import Sequence

from aggregator._malloc import fewer_arenas
from aggregator.cli import (  # noqa: F401 (importing a module registers its commands)
    _archive,
    _feeds,
    _poll,
    _search,
    _shell,
    _status,
)
from aggregator.cli._app import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``aggregator`` command."""
    fewer_arenas()
    cli.main(args=list(argv) if argv is not None else None, prog_name="aggregator")
