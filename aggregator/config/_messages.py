"""Pieces of error messages shared by the readers of feeds.yaml."""

from __future__ import annotations

import difflib
from collections.abc import Collection


def quote(text: str, limit: int = 60) -> str:
    """``text`` in double quotes, escaped, and cut to ``limit`` characters."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """A `` (did you mean "x"?)`` hint naming the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(word, choices, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""
