from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import TestServer


@pytest.fixture
def server() -> Iterator[TestServer]:
    """A real HTTP server on 127.0.0.1 with routes the test adds, recording every request."""
    with TestServer() as srv:
        yield srv


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as the working folder of `aggregator` commands (feeds.yaml and archive/
    go there), with no AGGREGATOR_* variable pointing elsewhere."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGGREGATOR_CONFIG", raising=False)
    monkeypatch.delenv("AGGREGATOR_DB", raising=False)
    return tmp_path
