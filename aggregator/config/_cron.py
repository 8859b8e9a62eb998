"""Checking a digest's schedule: a standard 5-field crontab line."""

from __future__ import annotations

import re
from typing import Final

from aggregator.config._messages import quote

_MONTHS: Final = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_WEEKDAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_FIELDS: Final = (
    # (field, lowest, highest, names of lowest, lowest + 1, ...)
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("weekday", 0, 7, _WEEKDAYS),
)
_CRON_ITEM: Final = re.compile(r"(?:\*|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:/(\d+))?")


def cron_problem(expression: str) -> str | None:
    """What is wrong with a 5-field crontab expression, or None when it is valid.

    Each field is a comma-separated list of ``*``, ``N``, ``N-M``, each optionally ``/STEP``;
    months and weekdays may be names (``jan``, ``mon-fri``). Weekday 0 and 7 are Sunday.
    """
    values = expression.split()
    if len(values) != len(_CRON_FIELDS):
        return f"{len(values)} field{'' if len(values) == 1 else 's'} instead of 5"
    for value, (name, low, high, names) in zip(values, _CRON_FIELDS, strict=True):
        for item in value.lower().split(","):
            problem = _cron_item_problem(item, name, low, high, names)
            if problem:
                return problem
    return None


def _cron_item_problem(
    item: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> str | None:
    match = _CRON_ITEM.fullmatch(item)
    if match is None:
        return f"{name} {quote(item)} is not *, a value, a range or a step"
    first, last, step = match.groups()
    bounds = []
    for word in filter(None, (first, last)):
        number = low + names.index(word) if word in names else int(word) if word.isdigit() else None
        if number is None or not low <= number <= high:
            named = f" or {names[0]}-{names[-1]}" if names else ""
            return f"{name} {quote(word)} is not within {low}-{high}{named}"
        bounds.append(number)
    if bounds != sorted(bounds):
        return f"{name} range {quote(item)} runs backwards"
    if step is not None and first is not None and not first.isdigit():
        return f"{name} step in {quote(item)} follows a name; steps follow * or numbers"
    if step is not None and int(step) == 0:
        return f"{name} step in {quote(item)} is zero"
    return None


def cron_weekdays(field: str) -> str:
    """A valid crontab weekday field as a list of day names (``*`` stays ``*``).

    Crontab counts weekdays from Sunday (0 or 7), APScheduler from Monday: names mean the
    same to both. ``1-5`` becomes ``mon,tue,wed,thu,fri``, ``*/2`` ``sun,tue,thu,sat``.
    """
    if field == "*":
        return "*"
    days: set[int] = set()
    for item in field.lower().split(","):
        match = _CRON_ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"not a crontab weekday field: {field!r}")
        first, last, step = match.groups()
        low = 0 if first is None else _weekday(first)
        open_ended = first is None or (step and not last)  # "*" or "N/STEP": up to 7 (Sunday)
        high = 7 if open_ended else _weekday(last) if last else low
        days.update(day % 7 for day in range(low, high + 1, int(step or 1)))
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def _weekday(word: str) -> int:
    return _WEEKDAYS.index(word) if word in _WEEKDAYS else int(word)
