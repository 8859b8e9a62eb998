"""The module boundaries of DESIGN.md, checked on the source with ast."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "aggregator"

#: Each third-party library has one owning module.
OWNERS = {
    "httpx": {"fetch"},
    "httpcore": {"fetch"},
    "feedparser": {"parse"},
    "trafilatura": {"extract"},
    "lxml": {"extract", "parse"},
    "sqlite3": {"store"},
    "sqlite_utils": {"store"},
    "apscheduler": {"scheduler"},
    "click": {"cli"},
    "rich": {"cli"},
    "yaml": {"config"},
    "nh3": {"digest"},
    "warcio": {"export"},
    "zstandard": {"pages"},
    "smtplib": {"digest"},
}
STAGES = {"fetch", "parse", "extract", "dedup", "boilerplate"}
LEAVES = {"models", "errors"}


def imports_of(module: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def module_name(path: Path) -> str:
    """The top-level module a file belongs to (a package's private files count as the package)."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_respects_the_layers(path: Path) -> None:
    name = module_name(path)
    imported = imports_of(path)
    for library, owners in OWNERS.items():
        if any(i == library or i.startswith(library + ".") for i in imported):
            assert name in owners, f"{name} imports {library}, owned by {owners}"
    ours = {
        i.removeprefix("aggregator.").split(".")[0] for i in imported if i.startswith("aggregator.")
    } - {name}
    assert "cli" not in ours, f"{name} imports cli"
    if name in LEAVES:
        assert ours <= LEAVES, f"the leaf {name} imports {ours - LEAVES}"
    if name in STAGES:
        assert not ours & (STAGES | {"store", "pipeline"}), f"stage {name} imports {ours}"
