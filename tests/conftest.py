from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server import TestServer


@pytest.fixture
def server() -> Iterator[TestServer]:
    """A real HTTP server on 127.0.0.1 with routes the test adds, recording every request."""
    with TestServer() as srv:
        yield srv
