"""Tests for aggregator.schedule: every scheduling rule, with a fixed clock and seeded jitter."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aggregator.config import Settings
from aggregator.errors import (
    AddressNotAllowed,
    AggregatorError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NotAFeedError,
    ParseError,
    ResponseTooLarge,
    StoreError,
    TooManyRedirects,
)
from aggregator.schedule import (
    BACKOFF_CAP_FACTOR,
    JITTER,
    RETRY_AFTER_CAP,
    RHYTHM_WINDOW,
    Decision,
    after_failure,
    after_success,
    cache_lifetime,
    error_weight,
    parse_retry_after,
    rhythm_interval,
)

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SETTINGS = Settings()  # interval 30m, min_interval 5m, max_interval 1d
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
SEEDS = range(200)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def delay(decision: Decision) -> float:
    assert decision.next_poll_at is not None
    return (decision.next_poll_at - NOW).total_seconds()


def success(seed: int = 0, **overrides: Any) -> Decision:
    """``after_success`` at NOW with default settings and no hints, ``overrides`` applied."""
    arguments: dict[str, Any] = {
        "now": NOW,
        "settings": SETTINGS,
        "configured": None,
        "ttl_minutes": None,
        "update_interval": None,
        "cache_seconds": None,
        "entry_times": (),
        "rng": random.Random(seed),
    }
    return after_success(**{**arguments, **overrides})


def failure(
    error: AggregatorError,
    score: float = 0.0,
    seed: int = 0,
    configured: float | None = None,
    settings: Settings = SETTINGS,
) -> tuple[Decision, float]:
    return after_failure(
        now=NOW,
        settings=settings,
        configured=configured,
        error=error,
        error_score=score,
        rng=random.Random(seed),
    )


def status(code: int, **headers: str) -> HTTPStatusError:
    return HTTPStatusError(f"HTTP {code}", status=code, headers=headers)


def hourly(count: int, last: float = 30 * MINUTE) -> list[datetime]:
    """``count`` entries an hour apart, the newest ``last`` seconds ago."""
    return [ago(last + i * HOUR) for i in range(count)]


def assert_jittered(delays: Sequence[float], interval: float) -> None:
    """Every delay within +-JITTER of ``interval``, and the delays actually spread out."""
    assert all(interval * (1 - JITTER) <= d <= interval * (1 + JITTER) for d in delays)
    assert min(delays) < interval * (1 - JITTER / 2)
    assert max(delays) > interval * (1 + JITTER / 2)


# --- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        (" 30 ", NOW + timedelta(seconds=30)),
        ("0", NOW),
        ("Sat, 28 Nov 2026 11:00:00 GMT", NOW + timedelta(hours=1)),
        ("Saturday, 28-Nov-26 11:00:00 GMT", NOW + timedelta(hours=1)),
        ("Sat Nov 28 11:00:00 2026", NOW + timedelta(hours=1)),
        ("Sat, 28 Nov 2026 13:00:00 +0200", NOW + timedelta(hours=1)),
        ("Sat, 28 Nov 2026 10:00:00 GMT", NOW),
    ],
)
def test_retry_after_as_seconds_or_http_date(value: str, expected: datetime) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "soon", "-5", "1.5", "120 s", "Fri, 27 Nov 2026 10:00:00 GMT", "Sat, 99 Foo 2026"],
)
def test_retry_after_past_negative_or_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize(
    "value",
    ["999999999", "9" * 5000, "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 2052 00:00:00 GMT"],
)
def test_absurd_retry_after_is_capped(value: str) -> None:
    assert parse_retry_after(value, NOW) == NOW + timedelta(seconds=RETRY_AFTER_CAP)
    assert RETRY_AFTER_CAP == 7 * DAY


# --- HTTP cache lifetime -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache-Control": "max-age=3600"}, 3600),
        ({"cache-control": "public, max-age=600, must-revalidate"}, 600),
        ({"Cache-Control": "MAX-AGE=300"}, 300),
        ({"Cache-Control": 'max-age="120"'}, 120),
        ({"Cache-Control": "s-maxage=900"}, 900),
        ({"Cache-Control": "max-age=60, s-maxage=900"}, 900),
        ({"Cache-Control": "max-age=99999999999999999999"}, 2**31),
        ({"Cache-Control": 'no-cache="Set-Cookie", max-age=600'}, 600),
        ({"Cache-Control": "max-age=3600", "Age": "600"}, 3000),
        ({"Cache-Control": "no-store, max-age=600"}, None),
        ({"Cache-Control": "max-age=600, no-cache"}, None),
        ({"Cache-Control": "max-age=0"}, None),
        ({"Cache-Control": "max-age=600", "Age": "600"}, None),
        ({"Cache-Control": "max-age=soon"}, None),
        ({"Cache-Control": "private"}, None),
        ({}, None),
    ],
)
def test_cache_control(headers: dict[str, str], expected: float | None) -> None:
    assert cache_lifetime(headers, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # The server's own Date wins over our clock: its Expires is 90 minutes after it.
        (
            {"Expires": "Sat, 28 Nov 2026 11:00:00 GMT", "Date": "Sat, 28 Nov 2026 09:30:00 GMT"},
            5400,
        ),
        ({"Expires": "Sat, 28 Nov 2026 11:00:00 GMT"}, 3600),
        ({"Expires": "Sat, 28 Nov 2026 11:00:00 GMT", "Date": "yesterday"}, 3600),
        ({"Expires": "Sat, 28 Nov 2026 11:00:00 GMT", "Age": "600"}, 3000),
        ({"Expires": "Sat, 28 Nov 2026 09:00:00 GMT"}, None),
        ({"Expires": "0"}, None),
        ({"Expires": "-1", "Date": "Sat, 28 Nov 2026 09:30:00 GMT"}, None),
        # max-age, even 0, takes precedence over Expires.
        ({"Cache-Control": "max-age=0", "Expires": "Sat, 28 Nov 2026 11:00:00 GMT"}, None),
        ({"Cache-Control": "max-age=60", "Expires": "Sat, 28 Nov 2026 11:00:00 GMT"}, 60),
        ({"Cache-Control": "no-store", "Expires": "Sat, 28 Nov 2026 11:00:00 GMT"}, None),
    ],
)
def test_expires(headers: dict[str, str], expected: float | None) -> None:
    assert cache_lifetime(headers, NOW) == expected


# --- The feed's own rhythm ---------------------------------------------------------------------


def test_rhythm_of_a_steady_hourly_feed() -> None:
    interval, why = rhythm_interval(hourly(20), NOW) or (0.0, "")
    assert 29 * MINUTE < interval < 32 * MINUTE  # twice per new entry
    assert why == "new entries about every 1h2m"


def test_rhythm_of_a_daily_feed() -> None:
    times = [ago(2 * HOUR + day * DAY) for day in range(10)]
    interval, why = rhythm_interval(times, NOW) or (0.0, "")
    assert 11.5 * HOUR < interval < 12.5 * HOUR
    assert why == "new entries about every 1d"


def test_rhythm_ignores_the_order_of_entries() -> None:
    times = hourly(20)
    shuffled = times[:]
    random.Random(1).shuffle(shuffled)
    assert rhythm_interval(shuffled, NOW) == rhythm_interval(times, NOW)


def test_a_first_polls_backlog_is_one_arrival() -> None:
    # 50 entries first seen together (within a few seconds) ten days ago, then one a day.
    backlog = [ago(10 * DAY - i * 0.1) for i in range(50)]
    daily = [ago(day * DAY + HOUR) for day in range(10)]
    interval, _ = rhythm_interval(backlog + daily, NOW) or (0.0, "")
    assert 11 * HOUR < interval < 13 * HOUR  # counting the 50 as entries would give about 2h


def test_old_published_dates_do_not_count_but_show_the_whole_window_was_watched() -> None:
    backlog = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i) for i in range(50)]
    daily = [ago(day * DAY + HOUR) for day in range(30)]
    interval, why = rhythm_interval(backlog + daily, NOW) or (0.0, "")
    assert interval == pytest.approx(12 * HOUR)
    assert why == "new entries about every 1d"


def test_a_quiet_feed_has_a_long_rhythm() -> None:
    assert rhythm_interval([ago(40 * DAY)], NOW) == (RHYTHM_WINDOW, "no new entries in 30 days")
    assert rhythm_interval([ago(40 * DAY), ago(5 * DAY)], NOW) == (
        RHYTHM_WINDOW / 2,
        "new entries about every 4w2d",
    )


@pytest.mark.parametrize(
    "times",
    [
        [],
        [ago(HOUR)],
        [ago(2 * HOUR), ago(HOUR)],
        [ago(HOUR + i) for i in range(30)],  # one burst
        [NOW + timedelta(days=d) for d in range(1, 20)],  # all in the future
    ],
    ids=["none", "single", "two", "one-burst", "future"],
)
def test_too_little_data_has_no_rhythm(times: list[datetime]) -> None:
    assert rhythm_interval(times, NOW) is None


def test_future_dates_are_ignored() -> None:
    future = [NOW + timedelta(minutes=m) for m in (1, 5, 60, 600)]
    future.append(datetime(2099, 1, 1, tzinfo=UTC))
    assert rhythm_interval(hourly(20) + future, NOW) == rhythm_interval(hourly(20), NOW)


# --- Error weights -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "weight"),
    [
        (FetchTimeout("timed out after 30 s"), 0.5),
        (FetchError("connection refused"), 0.5),
        (FetchError("name not resolved: example.org"), 0.5),
        (status(500), 0.5),
        (status(502), 0.5),
        (status(503), 0.5),
        (status(429), 0.5),
        (StoreError("database is locked"), 0.5),
        (status(404), 1.0),
        (status(403), 1.0),
        (status(400), 1.0),
        (status(410), 1.0),
        (ParseError("unreadable document"), 1.0),
        (NotAFeedError("not a feed: got an HTML page"), 1.0),
        (AddressNotAllowed("private address"), 1.0),
        (TooManyRedirects("redirect loop"), 1.0),
        (ResponseTooLarge("over 20 MB"), 1.0),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_error_weight(error: AggregatorError, weight: float) -> None:
    assert error_weight(error) == weight


# --- After a success ---------------------------------------------------------------------------


def test_configured_interval_wins_over_the_rhythm() -> None:
    decision = success(configured=15 * MINUTE, entry_times=hourly(20))
    assert decision.interval == 15 * MINUTE
    assert decision.reason == "every 15m (feeds.yaml)"
    assert decision.not_before is None
    assert decision.retire is None


def test_rhythm_sets_the_interval_when_none_is_configured() -> None:
    decision = success(entry_times=hourly(20))
    assert 29 * MINUTE < decision.interval < 32 * MINUTE
    assert decision.reason == "every 31m (new entries about every 1h2m)"


def test_default_interval_without_configuration_or_rhythm() -> None:
    decision = success(entry_times=[ago(HOUR)])
    assert decision.interval == SETTINGS.interval
    assert decision.reason == "every 30m (default interval)"


@pytest.mark.parametrize(
    ("hints", "interval", "reason"),
    [
        ({"ttl_minutes": 60}, HOUR, "every 1h (ttl)"),
        ({"update_interval": 2 * HOUR}, 2 * HOUR, "every 2h (sy:updatePeriod)"),
        ({"cache_seconds": 5400.0}, 5400, "every 1h30m (HTTP cache lifetime)"),
        (
            {"ttl_minutes": 60, "update_interval": 2 * HOUR, "cache_seconds": 5400.0},
            2 * HOUR,
            "every 2h (sy:updatePeriod)",
        ),
        ({"ttl_minutes": 5, "cache_seconds": 60.0}, 15 * MINUTE, "every 15m (feeds.yaml)"),
        ({"ttl_minutes": 0, "cache_seconds": 0.0}, 15 * MINUTE, "every 15m (feeds.yaml)"),
    ],
)
def test_server_hints_are_floors(hints: dict[str, Any], interval: float, reason: str) -> None:
    decision = success(configured=15 * MINUTE, **hints)
    assert decision.interval == interval
    assert decision.reason == reason


def test_jitter_spreads_polls_within_bounds() -> None:
    delays = [delay(success(seed, configured=HOUR)) for seed in SEEDS]
    assert_jittered(delays, HOUR)
    assert delay(success(7, configured=HOUR)) == delay(success(7, configured=HOUR))


def test_jitter_never_polls_sooner_than_a_server_floor_or_min_interval() -> None:
    at_ttl = [delay(success(seed, ttl_minutes=60)) for seed in SEEDS]
    assert all(HOUR <= d <= HOUR * (1 + JITTER) for d in at_ttl)
    assert len(set(at_ttl)) > 1
    at_min = [delay(success(seed, configured=MINUTE)) for seed in SEEDS]
    assert all(5 * MINUTE <= d <= 5 * MINUTE * (1 + JITTER) for d in at_min)


def test_interval_is_clamped_to_min_and_max() -> None:
    low = success(configured=MINUTE)
    assert low.interval == SETTINGS.min_interval
    assert low.reason == "every 5m (feeds.yaml, raised to min_interval)"
    high = success(ttl_minutes=10 * 24 * 60)
    assert high.interval == SETTINGS.max_interval
    assert high.reason == "every 1d (ttl, capped at max_interval)"
    quiet = success(entry_times=[ago(60 * DAY)])
    assert quiet.reason == "every 1d (no new entries in 30 days, capped at max_interval)"


def test_jitter_stays_below_max_interval_even_under_a_longer_floor() -> None:
    delays = [delay(success(seed, ttl_minutes=10 * 24 * 60)) for seed in SEEDS]
    assert all(DAY * (1 - JITTER) <= d <= DAY for d in delays)
    assert len(set(delays)) > 1


# --- After a failure ---------------------------------------------------------------------------


def test_410_retires_the_feed() -> None:
    decision, score = failure(status(410), score=2.0)
    assert decision == Decision(
        next_poll_at=None, reason="retired: 410 Gone", interval=SETTINGS.interval, retire="410 Gone"
    )
    assert score == 3.0


@pytest.mark.parametrize("code", [429, 503])
@pytest.mark.parametrize(
    ("retry_after", "expected", "reason"),
    [
        ("120", NOW + timedelta(seconds=120), "Retry-After: until 2026-11-28 10:02 UTC"),
        ("45", NOW + timedelta(seconds=45), "Retry-After: until 2026-11-28 10:00:45 UTC"),
        (
            "Sat, 28 Nov 2026 12:30:00 GMT",
            NOW + timedelta(hours=2, minutes=30),
            "Retry-After: until 2026-11-28 12:30 UTC",
        ),
        ("31536000", NOW + timedelta(days=7), "Retry-After: until 2026-12-05 10:00 UTC"),
    ],
)
def test_retry_after_is_honoured_exactly(
    code: int, retry_after: str, expected: datetime, reason: str
) -> None:
    for seed in range(5):  # no jitter
        decision, score = failure(status(code, **{"Retry-After": retry_after}), seed=seed)
        assert decision.next_poll_at == decision.not_before == expected
        assert decision.reason == reason
        assert decision.retire is None
        assert score == 0.5


@pytest.mark.parametrize(
    "error",
    [
        status(429, **{"retry-after": "soon"}),
        status(503, **{"retry-after": "Fri, 27 Nov 2026 10:00:00 GMT"}),
        status(503),
        status(500, **{"retry-after": "120"}),
        status(404, **{"retry-after": "120"}),
    ],
    ids=["garbage", "past", "absent", "500", "404"],
)
def test_without_a_usable_retry_after_the_feed_backs_off(error: HTTPStatusError) -> None:
    decision, _ = failure(error)
    assert decision.not_before is None
    assert decision.reason.startswith("backoff ")


@pytest.mark.parametrize(
    ("error", "expected_delay", "reason"),
    [
        (
            FetchTimeout("timed out after 30 s"),
            30 * MINUTE * 2**0.5,
            "backoff 42m (error score 0.5)",
        ),
        (status(404), HOUR, "backoff 1h (error score 1)"),
    ],
)
def test_backoff_grows_with_the_weighted_score(
    error: AggregatorError, expected_delay: float, reason: str
) -> None:
    decision, score = failure(error)
    assert score == error_weight(error)
    assert decision.interval == SETTINGS.interval
    assert decision.reason == reason
    assert_jittered([delay(failure(error, seed=seed)[0]) for seed in SEEDS], expected_delay)


def test_backoff_starts_from_the_configured_interval() -> None:
    decision, _ = failure(status(404), configured=2 * HOUR)
    assert decision.interval == 2 * HOUR
    assert decision.reason == "backoff 4h (error score 1)"


def test_backoff_is_capped() -> None:
    cap = SETTINGS.max_interval * BACKOFF_CAP_FACTOR
    for score in (20.0, 1e6):  # 2.0 ** 1e6 would overflow
        decision, _ = failure(status(404), score=score)
        assert decision.reason == f"backoff 4d (error score {score + 1:g})"
        delays = [delay(failure(status(404), score=score, seed=seed)[0]) for seed in SEEDS]
        assert all(cap * (1 - JITTER) <= d <= cap for d in delays)


@pytest.mark.parametrize(
    "error",
    [
        status(404),
        status(500),
        status(403),
        ParseError("unreadable"),
        AddressNotAllowed("private address"),
        FetchTimeout("timed out"),
    ],
    ids=lambda error: str(error),
)
def test_errors_never_drop_a_feed(error: AggregatorError) -> None:
    decision, _ = failure(error, score=1e9)
    assert decision.retire is None
    assert decision.next_poll_at is not None


def test_backoff_grows_then_recovers_after_a_success() -> None:
    score, delays = 0.0, []
    for _ in range(4):
        decision, score = failure(FetchTimeout("timed out"), score=score)
        delays.append(delay(decision))
    assert score == 2.0
    assert delays[-1] == pytest.approx(delays[0] * 2**1.5)  # same seed, same jitter factor

    # The caller resets the score on success; after_success knows nothing of past errors.
    recovered = success(seed=3, configured=HOUR)
    assert recovered == success(seed=3, configured=HOUR)
    assert recovered.reason == "every 1h (feeds.yaml)"
    assert HOUR * (1 - JITTER) <= delay(recovered) <= HOUR * (1 + JITTER)
    again, score = failure(FetchTimeout("timed out"), score=0.0)
    assert score == 0.5
    assert again.reason == "backoff 42m (error score 0.5)"


def test_settings_bound_the_base_interval_of_a_backoff() -> None:
    settings = Settings(interval=HOUR, min_interval=10 * MINUTE, max_interval=2 * HOUR)
    decision, _ = failure(status(404), configured=MINUTE, settings=settings)
    assert decision.interval == 10 * MINUTE
    decision, _ = failure(status(404), score=10.0, settings=settings)
    assert decision.reason == "backoff 8h (error score 11)"
