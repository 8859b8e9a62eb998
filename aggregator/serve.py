"""Browse the archive with datasette, set up by the metadata shipped in ``aggregator.datasette``.

We build on datasette 0.65, the stable line, not the 1.0 alphas: we do not build on a
pre-release major (an alpha may change its configuration from one release to the next, and 1.0a
brings more dependencies, pydantic 2 among them). On 0.65 one metadata document holds everything
we configure. Moving to 1.0 means splitting it: table options and canned queries go to a
``datasette.yaml`` passed with ``-c`` (a canned query left in metadata answers 404 there), and
the JSON API changes shape (``{"ok": true, "rows": [...]}``); pyproject.toml's upper bound keeps
us on 0.x until then.

The document is assembled from ``metadata.json`` and the canned queries' ``queries/NAME.sql``.
Datasette keys a database by its file's stem (``archive/archive.db`` is ``archive``), so the
database section is named for the file served. It is handed to datasette through an anonymous
temporary file (``/dev/fd/N``, inherited across ``exec``): nothing is written beside the archive
and nothing is left behind.

The archive is served mutable, never ``--immutable``: datasette reads it in read-only mode
and, the archive being in WAL mode, sees every transaction the daemon commits while it runs
(immutable mode would not read the WAL and miss recent rows).

Nothing is rendered as HTML: every stored text is plain, datasette escapes every cell, and no
rendering plugin is configured, so there is nothing for nh3 to sanitize.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any, NoReturn

from aggregator.errors import StoreError
from aggregator.store import Store

__all__ = ["metadata", "serve", "serve_command"]

#: The database name ``metadata.json`` is written for (datasette's name for archive/archive.db).
SHIPPED_NAME = "archive"


def metadata(db_path: Path) -> dict[str, Any]:
    """The shipped datasette metadata with the canned queries' SQL, its database section
    named for ``db_path``."""
    shipped = files("aggregator.datasette")
    document: dict[str, Any] = json.loads((shipped / "metadata.json").read_text(encoding="utf-8"))
    database = document["databases"].pop(SHIPPED_NAME)
    for name, query in database["queries"].items():
        query["sql"] = (shipped / "queries" / f"{name}.sql").read_text(encoding="utf-8")
    document["databases"][db_path.stem] = database
    return document


def serve_command(
    db_path: Path, *, metadata_file: str | Path, host: str = "127.0.0.1", port: int = 8001
) -> list[str]:
    """The command that runs datasette on the archive with the metadata in ``metadata_file``."""
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        str(db_path),
        "--metadata",
        str(metadata_file),
        "--host",
        host,
        "--port",
        str(port),
        # Our facets are configured; suggesting others costs seconds per page on a big archive.
        "--setting",
        "suggest_facets",
        "off",
    ]


def serve(db_path: Path, host: str = "127.0.0.1", port: int = 8001) -> NoReturn:
    """Replace this process with datasette serving the archive at ``db_path``.

    The archive is opened once first, so that a missing or unreadable file is a StoreError
    and an archive of an older schema is migrated to the one the metadata describes.
    """
    db_path = Path(db_path)
    if not db_path.is_file():
        raise StoreError(
            f"there is no archive at {db_path}: `aggregator poll` creates it, "
            "or name another with --db"
        )
    with Store(db_path):
        pass
    with tempfile.TemporaryFile("w+", encoding="utf-8", suffix=".json") as spec:
        json.dump(metadata(db_path), spec)
        spec.flush()
        spec.seek(0)
        os.set_inheritable(spec.fileno(), True)
        argv = serve_command(
            db_path, metadata_file=f"/dev/fd/{spec.fileno()}", host=host, port=port
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)
