"""When to poll a feed next: pure decisions from data and an injected ``now``.

After a success the base interval is the one ``feeds.yaml`` sets for the feed, else the feed's
own rhythm (how often new entries appeared lately), else ``settings.interval``. What the server
says about itself (RSS ``<ttl>``, ``sy:updatePeriod``/``sy:updateFrequency``, the HTTP cache
lifetime) are floors: we never poll more often than it asks. The result is clamped to
``[min_interval, max_interval]`` and jittered by up to ``JITTER`` either way, so polls spread out.

After a failure the delay doubles with the feed's error score, in which transient trouble
(timeouts, lost connections, 5xx, 429) weighs less than a 404 or a document that is no feed;
it is capped at ``max_interval * BACKOFF_CAP_FACTOR``, so a broken feed is still tried now and
then and is never dropped for good. 410 Gone retires the feed; 429 and 503 with a usable
``Retry-After`` are honoured to the second.

Nothing here sleeps, reads a clock or does I/O: the caller passes ``now`` and a
``random.Random``, and performs the :class:`Decision`.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final

from aggregator.config import Settings, format_duration
from aggregator.errors import (
    AggregatorError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    StoreError,
)

__all__ = [
    "BACKOFF_CAP_FACTOR",
    "JITTER",
    "RETRY_AFTER_CAP",
    "RHYTHM_WINDOW",
    "Decision",
    "after_failure",
    "after_success",
    "cache_lifetime",
    "error_weight",
    "parse_retry_after",
    "rhythm_interval",
]

BACKOFF_CAP_FACTOR: Final = 4.0
"""A backoff never exceeds ``max_interval`` times this."""
RETRY_AFTER_CAP: Final = 7 * 24 * 60 * 60.0
"""Longer Retry-After values are taken as this many seconds."""
JITTER: Final = 0.1
#: A Retry-After shorter than this (seconds) is read as this long.
MIN_RETRY_AFTER: Final = 30.0
"""Delays are spread uniformly over +-10 % of the interval."""
RHYTHM_WINDOW: Final = 30 * 24 * 60 * 60.0
"""How far back the entries that set a feed's rhythm are looked at."""
SAME_ARRIVAL: Final = 60.0
"""Entries appearing within this many seconds of each other count as one arrival."""
TRANSIENT_WEIGHT: Final = 0.5
"""The error score added by a timeout, a lost connection, a 5xx or a 429 (others add 1)."""

_TRANSIENT_ERRORS: Final = (FetchError, FetchTimeout)
"""Exactly these classes: FetchError's other subclasses are refusals and limits."""
_MAX_DELTA_SECONDS: Final = 2.0**31
"""RFC 9111 section 1.2.2: larger delta-seconds values are taken as this."""
_DELTA_SECONDS: Final = re.compile(r"\s*([0-9]+)\s*")
_CACHE_DIRECTIVE: Final = re.compile(
    r"""([!#$%&'*+.^_`|~0-9a-z-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?""", re.IGNORECASE
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    """When to poll a feed next, and why (the phrase ``aggregator status`` shows)."""

    next_poll_at: datetime | None
    """None only when the feed is retired."""
    reason: str
    """E.g. "every 30m (feeds.yaml)", "backoff 4h (error score 3)", "retired: 410 Gone"."""
    interval: float
    """The base interval chosen, in seconds (before jitter and backoff)."""
    not_before: datetime | None = None
    """A server's Retry-After: honoured even by ``poll --all``."""
    retire: str | None = None
    """Why the feed is retired (410 Gone); None for a feed still polled."""


def after_success(
    *,
    now: datetime,
    settings: Settings,
    configured: float | None,
    ttl_minutes: int | None,
    update_interval: float | None,
    cache_seconds: float | None,
    entry_times: Sequence[datetime],
    rng: random.Random,
    stored_hint: float | None = None,
) -> Decision:
    """The next poll after a successful fetch (a 304 included); past errors play no part.

    ``configured`` is the feed's interval in feeds.yaml, ``ttl_minutes`` its RSS ``<ttl>``,
    ``update_interval`` its ``sy:update*`` hint, ``stored_hint`` the larger of those two as
    remembered from the last time the body was parsed (for a 304), ``cache_seconds`` the response's
    :func:`cache_lifetime`, ``entry_times`` when its entries appeared (see
    :func:`rhythm_interval`).
    """
    if configured is not None:
        interval, why = configured, "feeds.yaml"
    elif (rhythm := rhythm_interval(entry_times, now)) is not None:
        interval, why = rhythm
    else:
        interval, why = settings.interval, "default interval"

    hints = [
        (seconds, name)
        for seconds, name in (
            (ttl_minutes * 60.0 if ttl_minutes is not None else None, "ttl"),
            (update_interval, "sy:updatePeriod"),
            (stored_hint, "the feed's ttl or sy:updatePeriod"),
            (cache_seconds, "HTTP cache lifetime"),
        )
        if seconds is not None and seconds > 0
    ]
    floor, floor_name = max(hints, default=(0.0, ""))
    if floor > interval:
        interval, why = floor, floor_name

    low, high = settings.min_interval, settings.max_interval
    if interval < low:
        interval, why = low, f"{why}, raised to min_interval"
    elif interval > high:
        interval, why = high, f"{why}, capped at max_interval"
    # Jitter stays above the server's floor, unless max_interval already went below it.
    delay = _jittered(interval, max(low, floor) if floor <= high else low, high, rng)
    return Decision(
        next_poll_at=now + timedelta(seconds=delay),
        reason=f"every {_short(interval)} ({why})",
        interval=interval,
    )


def after_failure(
    *,
    now: datetime,
    settings: Settings,
    configured: float | None,
    error: AggregatorError,
    error_score: float,
    rng: random.Random,
) -> tuple[Decision, float]:
    """The next poll after a failed one, and the feed's new error score.

    ``error_score`` is the feed's score before this error (0 after a success); the new one adds
    :func:`error_weight`. 410 Gone retires the feed. 429 or 503 with a usable Retry-After
    waits exactly that long (capped at ``RETRY_AFTER_CAP``), without jitter. Otherwise the
    delay is the base interval times ``2 ** score``, capped at
    ``max_interval * BACKOFF_CAP_FACTOR``, then jittered.
    """
    score = error_score + error_weight(error)
    wanted = configured if configured is not None else settings.interval
    base = min(max(wanted, settings.min_interval), settings.max_interval)
    if isinstance(error, HTTPStatusError):
        if error.status == 410:
            retired = Decision(
                next_poll_at=None, reason="retired: 410 Gone", interval=base, retire="410 Gone"
            )
            return retired, score
        if error.status in (429, 503):
            until = parse_retry_after(_header(error.headers, "retry-after"), now)
            if until is not None:
                # "Retry-After: 0" on every answer must not turn into a poll on every tick.
                until = max(until, now + timedelta(seconds=MIN_RETRY_AFTER))
                waiting = Decision(
                    next_poll_at=until,
                    reason=f"Retry-After: until {_moment(until)}",
                    interval=base,
                    not_before=until,
                )
                return waiting, score

    cap = settings.max_interval * BACKOFF_CAP_FACTOR
    # The exponent is bounded first: 2.0 ** score overflows for a feed failing for years.
    delay = base * 2 ** min(score, math.log2(cap / base))
    backoff = Decision(
        next_poll_at=now + timedelta(seconds=_jittered(delay, settings.min_interval, cap, rng)),
        reason=f"backoff {_short(delay)} (error score {score:g})",
        interval=base,
    )
    return backoff, score


def error_weight(error: AggregatorError) -> float:
    """How much one error adds to a feed's score: ``TRANSIENT_WEIGHT`` for trouble that
    usually passes by itself (timeouts, lost connections, unresolved names, 5xx, 429, our own
    archive failing), 1 for what needs someone to act (404 and other 4xx, a refused address,
    a redirect loop, an oversized response, a document that is not a feed)."""
    if isinstance(error, HTTPStatusError):
        transient = error.status == 429 or error.status >= 500
    else:
        # A plain FetchError is a failed connection or an unresolved name.
        transient = type(error) in _TRANSIENT_ERRORS or isinstance(error, StoreError)
    return TRANSIENT_WEIGHT if transient else 1.0


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """The moment a ``Retry-After`` header allows the next request, or None when there is
    no usable one (absent, garbage, negative, a date already past).

    The value is a number of seconds or an HTTP date (a date without a zone is taken as UTC);
    a moment more than ``RETRY_AFTER_CAP`` ahead is brought back to that.
    """
    seconds = _delta_seconds(value)
    if seconds is not None:
        return now + timedelta(seconds=min(seconds, RETRY_AFTER_CAP))
    moment = _http_date(value)
    if moment is None or moment < now:
        return None
    return min(moment, now + timedelta(seconds=RETRY_AFTER_CAP))


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds for which a response stays fresh, by its HTTP caching headers (any letter case).

    The longer of ``Cache-Control`` max-age and s-maxage, else ``Expires`` minus ``Date``
    (``now`` when there is no usable Date), minus the response's ``Age``. None when the
    response may not be reused as is (no-store, no-cache), has no such headers, or is stale.
    """
    fields = {name.lower(): value for name, value in headers.items()}
    directives: dict[str, str | None] = {}
    for name, argument in _CACHE_DIRECTIVE.findall(fields.get("cache-control", "")):
        directives.setdefault(name.lower(), argument.strip('"') if argument else None)
    # A no-cache naming header fields concerns only those fields, not the body.
    if "no-store" in directives or ("no-cache" in directives and directives["no-cache"] is None):
        return None
    ages = [_delta_seconds(directives.get(name)) for name in ("max-age", "s-maxage")]
    lifetime = max((age for age in ages if age is not None), default=None)
    if lifetime is None:
        expires = _http_date(fields.get("expires"))
        if expires is None:
            return None
        lifetime = (expires - (_http_date(fields.get("date")) or now)).total_seconds()
    remaining = lifetime - (_delta_seconds(fields.get("age")) or 0.0)
    return remaining if remaining > 0 else None


def rhythm_interval(entry_times: Sequence[datetime], now: datetime) -> tuple[float, str] | None:
    """Half the feed's usual gap between new entries, so it is polled about twice per new
    entry, with a phrase describing the rhythm; None when there is too little to go on.

    ``entry_times`` are when the feed's entries appeared (first seen, or published), in any
    order. Only the last ``RHYTHM_WINDOW`` counts; future times are ignored, and entries
    within ``SAME_ARRIVAL`` of each other are one arrival, so a first poll's backlog is a
    single event. Any time older than the window shows the feed was watched across all of
    it, so a quiet month counts too. Otherwise the rhythm runs from the first arrival to
    ``now`` and needs at least two arrivals after the first.
    """
    start = now - timedelta(seconds=RHYTHM_WINDOW)
    watched_all_window = any(moment < start for moment in entry_times)
    arrivals: list[datetime] = []
    for moment in sorted(moment for moment in entry_times if start <= moment <= now):
        if not arrivals or (moment - arrivals[-1]).total_seconds() > SAME_ARRIVAL:
            arrivals.append(moment)
    if watched_all_window:
        span, new = RHYTHM_WINDOW, len(arrivals)
    elif len(arrivals) >= 3:
        span, new = (now - arrivals[0]).total_seconds(), len(arrivals) - 1
    else:
        return None
    if not new:
        return RHYTHM_WINDOW, f"no new entries in {RHYTHM_WINDOW / 86400:g} days"
    gap = span / new
    return gap / 2, f"new entries about every {_short(gap)}"


# --- helpers -------------------------------------------------------------------------------


def _jittered(interval: float, low: float, high: float, rng: random.Random) -> float:
    """``interval`` moved by up to ``JITTER`` of itself either way, kept within [low, high]."""
    return rng.uniform(max(interval * (1 - JITTER), low), min(interval * (1 + JITTER), high))


def _delta_seconds(value: str | None) -> float | None:
    """A whole number of seconds (RFC 9110 delay-seconds / RFC 9111 delta-seconds)."""
    match = _DELTA_SECONDS.fullmatch(value) if value is not None else None
    # float(), not int(): a thousand-digit number becomes inf instead of raising.
    return min(float(match[1]), _MAX_DELTA_SECONDS) if match else None


def _http_date(value: str | None) -> datetime | None:
    """An HTTP date (IMF-fixdate, RFC 850 or asctime) as an aware datetime; None for junk."""
    if value is None:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _short(seconds: float) -> str:
    """A duration rounded to what a person cares about: ``1d4h``, ``2h15m``, ``4m30s``."""
    unit = 3600 if seconds >= 86400 else 60 if seconds >= 10 * 60 else 1
    return format_duration(round(seconds / unit) * unit)


def _moment(when: datetime) -> str:
    """``2026-11-28 10:00 UTC`` (with seconds when there are any)."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC" if when.second else "%Y-%m-%d %H:%M UTC")
