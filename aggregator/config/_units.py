"""Durations (``1h30m``) and sizes (``20MB``) as written in feeds.yaml."""

from __future__ import annotations

import math
import re
from typing import Final

from aggregator.config._messages import quote
from aggregator.errors import ConfigError

_DURATION_UNITS: Final = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_NUMBER: Final = r"\d+(?:\.\d+)?"
_DURATION: Final = re.compile(rf"(?:{_NUMBER}\s*[wdhms]\s*)+")
_DURATION_PART: Final = re.compile(rf"({_NUMBER})\s*([wdhms])")


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value``: a number of seconds, or text like ``90s``, ``30m``, ``1h30m``, ``1d``.

    Units are s, m, h, d and w (weeks), in any combination.

    Raises ``ConfigError`` (without file or line) when ``value`` is not a duration of zero or more.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f'expected a duration like "30m", got {value!r}')
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(_NUMBER, text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            parts = _DURATION_PART.findall(text)
            seconds = sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)
        else:
            raise ConfigError(
                f'expected a duration like "30m", "1h30m" or "1d", got {quote(value)}'
            )
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"expected a duration of zero seconds or more, got {value}")
    return seconds


def format_duration(seconds: float) -> str:
    """The short form of a duration (5400 -> ``1h30m``), which ``parse_duration`` reads back."""
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    parts = []
    for unit, size in _DURATION_UNITS.items():
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


_SIZE_UNITS: Final = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE: Final = re.compile(rf"({_NUMBER})\s*([a-z]*)", re.IGNORECASE)


def parse_size(value: str | int) -> int:
    """Bytes in ``value``: a number of bytes, or text like ``20MB``, ``512KiB``, ``1GB``.

    KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB powers of 1024.
    Raises ``ConfigError`` (without file or line) when ``value`` is not a size of zero or more.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f'expected a size like "20MB", got {value!r}')
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"expected a size of zero bytes or more, got {value}")
        return value
    match = _SIZE.fullmatch(value.strip())
    unit = _SIZE_UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise ConfigError(f'expected a size like "20MB" or "512KiB", got {quote(value)}')
    return round(float(match.group(1)) * unit)
