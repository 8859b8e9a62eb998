"""Feed health: which feeds need someone's attention, why, and what to do about each.

Pure decisions from the feeds' rows (``FeedState``), what the archive knows of their recent
entries and pages (``FeedActivity``, read by ``Store.feed_activity``) and ``now``. The pipeline
notes how each poll went as one letter (a ``Mark``: ``poll_mark``, ``failure_mark``); the store
keeps a feed's last ``RECENT_POLLS`` of them in ``feeds.recent_polls``. ``aggregator status
--problems`` and digests (``problems``) render the ``Problem``s ``diagnose`` finds.

The problems, in the order reports list them (a feed may have several):

- **failing**: its last poll failed (``error_count`` > 0). Since when, how many times in a row,
  the last error; the advice follows the kind of error (404, 401/403, 429, 5xx, timeouts,
  unresolved names and refused connections, a document that is no feed, refusals of ours).
- **retired**: it answered 410 Gone and is no longer polled (``aggregator revive`` or remove).
- **moved**: every redirect hop was permanent; it is polled at its new URL, which feeds.yaml
  does not know yet (``--update-config``).
- **silent**: polled fine, but no new entry for ``SILENT_FACTOR`` times its usual gap between
  entries, and at least ``SILENT_AFTER``; or never any entry. An entry's time is its
  publication date, never later than when the archive first saw it (a date in the future
  counts as the moment it appeared).
- **validators**: conditional requests do not work. Among its recent polls that found the feed
  unchanged, at least ``WASTED_POLLS`` and more than half downloaded the whole body: the
  server ignored If-None-Match / If-Modified-Since, or sent a new ETag or Last-Modified with
  the same body, or sends no validators at all. Nothing to fix on our side (an unchanged body
  is recognised by its hash and not parsed again) but to tell the publisher or poll less often.
- **no-text**: of its last ``RECENT_ARTICLES`` articles, at least ``NO_TEXT_PAGES`` and more
  than half got no text from their page (fetching or extracting it failed).
- **unlisted**: feeds.yaml no longer lists it: not polled, its articles stay. Reported for
  ``UNLISTED_FOR`` after its last poll (a removal by mistake shows; one on purpose, as the
  advice of other problems says, stops showing after a while).

A retired or unlisted feed has only that problem; a failing one is not judged silent, nor on
its validators, until it is polled fine again.
"""

from __future__ import annotations

import itertools
import shlex
import statistics
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, Literal

from aggregator.errors import (
    AddressNotAllowed,
    AggregatorError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
    ResponseTooLarge,
    TooManyRedirects,
)
from aggregator.models import FeedState, FetchResult

__all__ = [
    "KINDS",
    "RECENT_ARTICLES",
    "RECENT_ENTRIES",
    "RECENT_POLLS",
    "SILENT_AFTER",
    "SILENT_FACTOR",
    "UNLISTED_FOR",
    "FeedActivity",
    "Kind",
    "Mark",
    "Problem",
    "diagnose",
    "failure_mark",
    "grouped",
    "poll_mark",
    "problem_json",
    "usual_gap",
]

Kind = Literal["failing", "retired", "moved", "silent", "validators", "no-text", "unlisted"]

#: Every kind of problem with its heading, in the order reports list them.
KINDS: Final[dict[Kind, str]] = {
    "failing": "Failing",
    "retired": "Retired (410 Gone)",
    "moved": "Moved",
    "silent": "Silent",
    "validators": "Validators that do not help",
    "no-text": "Pages without text",
    "unlisted": "Not in feeds.yaml",
}

#: Polls remembered per feed (``feeds.recent_polls``).
RECENT_POLLS: Final = 20
#: Entries per feed whose times set its rhythm.
RECENT_ENTRIES: Final = 20
#: Articles per feed whose pages are looked at.
RECENT_ARTICLES: Final = 20
#: A feed is silent after this long without a new entry at least (seconds: 30 days)...
SILENT_AFTER: Final = 30 * 86400.0
#: ...and after this many times its usual gap between entries.
SILENT_FACTOR: Final = 4
#: Useless downloads of an unchanged feed, among its recent polls, that make it a problem.
WASTED_POLLS: Final = 3
#: Pages without text, among a feed's recent articles, that make it a problem.
NO_TEXT_PAGES: Final = 3
#: A feed feeds.yaml no longer lists is reported this long after its last poll (seconds).
UNLISTED_FOR: Final = 30 * 86400.0
#: Entries that appeared within this many seconds of each other are one arrival.
SAME_ARRIVAL: Final = 60.0


class Mark(StrEnum):
    """How one poll went, a letter in ``FeedState.recent_polls``."""

    CHANGED = "c"
    """200 with a body unlike the last one."""
    NOT_MODIFIED = "3"
    """304 Not Modified: the validators work."""
    IGNORED = "i"
    """200 with the same body, although we sent validators the server had given us."""
    RENEWED = "r"
    """200 with the same body under a new ETag or Last-Modified."""
    NO_VALIDATORS = "n"
    """200 with the same body; the server never gave validators to send."""
    HTTP_ERROR = "h"
    TIMEOUT = "t"
    NETWORK = "d"
    """The name did not resolve, the connection was refused or broke, TLS failed."""
    NOT_A_FEED = "p"
    ADDRESS_REFUSED = "a"
    """Our address policy refused the target (a private address, not http(s))."""
    TOO_LARGE = "l"
    REDIRECTS = "o"
    """A redirect loop or too long a chain."""
    OTHER = "x"
    """Our own side failed (the archive, a bug)."""


_FAILURES: Final = frozenset(
    {
        Mark.HTTP_ERROR,
        Mark.TIMEOUT,
        Mark.NETWORK,
        Mark.NOT_A_FEED,
        Mark.ADDRESS_REFUSED,
        Mark.TOO_LARGE,
        Mark.REDIRECTS,
        Mark.OTHER,
    }
)
_WASTED: Final = (Mark.IGNORED, Mark.RENEWED, Mark.NO_VALIDATORS)


def poll_mark(feed: FeedState, result: FetchResult, *, same_body: bool) -> Mark:
    """The mark of a successful fetch of ``feed`` (whose validators were sent with it):
    ``same_body`` says whether the body hashes as the last one did."""
    if result.not_modified:
        return Mark.NOT_MODIFIED
    if not same_body:
        return Mark.CHANGED
    if feed.etag is None and feed.last_modified is None:
        return Mark.NO_VALIDATORS
    recognised = (feed.etag is not None and result.etag == feed.etag) or (
        feed.last_modified is not None and result.last_modified == feed.last_modified
    )
    if not recognised and (result.etag or result.last_modified):
        return Mark.RENEWED
    return Mark.IGNORED  # it had what we sent, or dropped its validators: it should say 304


def failure_mark(error: AggregatorError) -> Mark:
    """The mark of a failed poll."""
    kinds: tuple[tuple[type[AggregatorError], Mark], ...] = (
        (HTTPStatusError, Mark.HTTP_ERROR),
        (FetchTimeout, Mark.TIMEOUT),
        (AddressNotAllowed, Mark.ADDRESS_REFUSED),
        (ResponseTooLarge, Mark.TOO_LARGE),
        (TooManyRedirects, Mark.REDIRECTS),
        (FetchError, Mark.NETWORK),
        (ParseError, Mark.NOT_A_FEED),
    )
    return next((mark for kind, mark in kinds if isinstance(error, kind)), Mark.OTHER)


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedActivity:
    """What the archive knows of a feed's recent entries and pages."""

    entry_times: tuple[datetime, ...] = ()
    """When its last ``RECENT_ENTRIES`` entries (the last sighted) appeared: published, but
    never later than first seen."""
    articles: int = 0
    """Its last articles looked at (up to ``RECENT_ARTICLES``)."""
    pages_without_text: int = 0
    """Of those, the ones whose page gave no text (fetching or extracting it failed)."""
    last_page_error: str | None = None
    """Why the latest of those pages gave no text."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    """Something wrong with one feed, and what to do about it."""

    kind: Kind
    feed_id: int
    feed: str
    """The feed's label (name, else title, else URL)."""
    url: str
    """The feed's URL in feeds.yaml."""
    detail: str
    """What is wrong, in a sentence."""
    advice: str
    """What to do about it."""
    since: datetime | None = None
    """Since when (first failure, retirement, move, last entry), when known."""
    command: str | None = None
    """The command that deals with it, when there is one."""


def diagnose(
    feeds: Iterable[FeedState],
    activity: Mapping[int, FeedActivity],
    *,
    now: datetime,
    listed: Collection[str] | None = None,
) -> list[Problem]:
    """The problems of ``feeds``, by kind (``KINDS`` order), then by feed label.

    ``activity`` is per feed id (a feed missing there has none); ``listed`` the URLs
    feeds.yaml lists, when known (else each feed's ``active`` says whether it is listed).
    """
    found: list[Problem] = []
    for feed in feeds:
        found += _problems_of(feed, activity.get(feed.id, FeedActivity()), now, listed)
    order = list(KINDS)
    return sorted(found, key=lambda p: (order.index(p.kind), p.feed.casefold(), p.feed_id))


def grouped(problems: Iterable[Problem]) -> list[tuple[Kind, list[Problem]]]:
    """The problems by kind, in ``KINDS`` order, leaving out kinds without any."""
    groups: dict[Kind, list[Problem]] = {kind: [] for kind in KINDS}
    for problem in problems:
        groups[problem.kind].append(problem)
    return [(kind, members) for kind, members in groups.items() if members]


def problem_json(problem: Problem) -> dict[str, object]:
    """A problem as plain JSON (the ``status --problems --json`` rows, a digest's ``health``)."""
    return {
        "kind": problem.kind,
        "feed_id": problem.feed_id,
        "feed": problem.feed,
        "url": problem.url,
        "detail": problem.detail,
        "advice": problem.advice,
        "since": _rfc3339(problem.since) if problem.since else None,
        "command": problem.command,
    }


def usual_gap(times: Iterable[datetime]) -> float | None:
    """The median number of seconds between a feed's arrivals of entries (entries within
    ``SAME_ARRIVAL`` of each other are one arrival); None with fewer than two arrivals."""
    arrivals: list[datetime] = []
    for moment in sorted(times):
        if not arrivals or (moment - arrivals[-1]).total_seconds() > SAME_ARRIVAL:
            arrivals.append(moment)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(arrivals)]
    return statistics.median(gaps) if gaps else None


# --- each kind ------------------------------------------------------------------------------


def _problems_of(
    feed: FeedState, activity: FeedActivity, now: datetime, listed: Collection[str] | None
) -> list[Problem]:
    if not (feed.url in listed if listed is not None else feed.active):
        last = feed.last_polled_at
        recent = last is not None and (now - last).total_seconds() <= UNLISTED_FOR
        return [_unlisted(feed)] if recent else []
    if feed.disabled_reason:
        return [_retired(feed)]
    found = [_failing(feed)] if feed.error_count else []
    if feed.fetch_url:
        found.append(_moved(feed))
    if not feed.error_count and feed.last_success_at is not None:
        found += [p for p in (_silent(feed, activity, now), _validators(feed)) if p]
    if no_text := _no_text(feed, activity):
        found.append(no_text)
    return found


def _problem(
    feed: FeedState,
    kind: Kind,
    detail: str,
    advice: str,
    *,
    since: datetime | None = None,
    command: str | None = None,
) -> Problem:
    return Problem(
        kind=kind,
        feed_id=feed.id,
        feed=feed.label,
        url=feed.url,
        detail=detail,
        advice=advice,
        since=since,
        command=command,
    )


def _remove(feed: FeedState) -> str:
    return f"aggregator remove {shlex.quote(feed.url)}"


def _failing(feed: FeedState) -> Problem:
    count = feed.error_count
    times = "1 failed poll" if count == 1 else f"{count} failed polls in a row"
    if feed.failing_since is not None:
        when = f"since {_moment(feed.failing_since)}"
    elif feed.last_success_at is not None:
        when = f"last fine {_moment(feed.last_success_at)}"
    else:
        when = "never polled fine"
    mark = feed.recent_polls[-1:]
    if mark not in _FAILURES:  # polls from before marks were kept
        mark = Mark.HTTP_ERROR if (feed.last_status or 0) >= 400 else Mark.OTHER
    advice, command = _failure_advice(Mark(mark), feed)
    return _problem(
        feed,
        "failing",
        f"{feed.last_error or 'unknown error'} ({times}, {when})",
        advice,
        since=feed.failing_since,
        command=command,
    )


_ADVICE: Final[dict[Mark, str]] = {
    Mark.NETWORK: "The site is down, or its name no longer resolves (gone or moved): open the"
    " address in a browser; if the site moved, add its new address and remove this one.",
    Mark.ADDRESS_REFUSED: "We refuse to fetch it (a private address, or not http/https):"
    " list its host in settings.allowed_private_hosts if you trust it.",
    Mark.TOO_LARGE: "The feed is larger than settings.max_bytes: raise it if it is that large.",
    Mark.REDIRECTS: "Its redirects loop or go on too long: open the address in a browser.",
    Mark.OTHER: "Something failed on our side: if it lasts, run `aggregator -v poll` and"
    " report it.",
}


def _failure_advice(mark: Mark, feed: FeedState) -> tuple[str, str | None]:
    """What to do about a failing feed, and the command that does it (if one does)."""
    if feed.site_url:
        find_again = f"`aggregator add {shlex.quote(feed.site_url)}` finds its feed again"
    else:
        find_again = "`aggregator add` with the site's address finds its feed again"
    if mark == Mark.HTTP_ERROR:
        return _http_advice(feed.last_status or 0, find_again), (
            _remove(feed) if feed.last_status in (400, 404) else None
        )
    if mark == Mark.TIMEOUT:
        timeouts = feed.recent_polls.count(Mark.TIMEOUT)
        return (
            f"The server did not answer in time ({timeouts} of the last"
            f" {len(feed.recent_polls)} polls timed out): it is down or overloaded, and we"
            " retry less and less often. If the site is only slow, raise settings.timeout."
        ), None
    if mark == Mark.NOT_A_FEED:
        return (
            "The address no longer gives a feed (a web page, or a broken document):"
            f" {find_again}; then remove this one."
        ), _remove(feed)
    return _ADVICE[mark], None


def _http_advice(status: int, find_again: str) -> str:
    if status in (400, 404):
        return (
            "The feed is not at this address any more: open it in a browser; if the site"
            f" moved its feed, {find_again}; else remove it."
        )
    if status in (401, 403, 407):
        return (
            "The server refuses us: the feed needs a login, or the site blocks our client."
            " Open it in a browser; remove it if it is private."
        )
    if status == 429:
        return "The server asks us to come less often: give the feed a longer interval."
    if status >= 500:
        return (
            "The server fails on its side; that usually passes (we retry less and less often)."
            " Remove the feed if it lasts."
        )
    return "Open the address in a browser to see what the server says."


def _retired(feed: FeedState) -> Problem:
    when = f" on {_moment(feed.retired_at)}" if feed.retired_at else ""
    return _problem(
        feed,
        "retired",
        f"answered {feed.disabled_reason}{when}: no longer polled",
        f"If the feed is back, poll it again: `aggregator revive {shlex.quote(feed.url)}`;"
        f" else remove it: `{_remove(feed)}`.",
        since=feed.retired_at,
        command=f"aggregator revive {shlex.quote(feed.url)}",
    )


def _moved(feed: FeedState) -> Problem:
    when = f" on {_moment(feed.moved_at)}" if feed.moved_at else ""
    return _problem(
        feed,
        "moved",
        f"moved permanently to {feed.fetch_url}{when}; polled there already",
        "Write the new address into feeds.yaml: `aggregator poll --update-config`"
        " (or run the daemon with `--update-config`).",
        since=feed.moved_at,
        command="aggregator poll --update-config",
    )


def _silent(feed: FeedState, activity: FeedActivity, now: datetime) -> Problem | None:
    where = feed.site_url or "its site"
    advice = (
        f"It may be abandoned, or publish elsewhere now: look at {where}, and remove the feed"
        " if it is dead."
    )
    if not activity.entry_times:
        return _problem(feed, "silent", "polled fine, but it has never had an entry", advice)
    newest = max(activity.entry_times)
    quiet = (now - newest).total_seconds()
    gap = usual_gap(activity.entry_times)
    if quiet <= max(SILENT_AFTER, SILENT_FACTOR * (gap or 0)):
        return None
    detail = f"no new entry since {_moment(newest)} ({_span(quiet)})"
    if gap is not None:
        detail += f"; it used to bring one about every {_span(gap)}"
    return _problem(feed, "silent", detail, advice, since=newest)


def _validators(feed: FeedState) -> Problem | None:
    polls = [mark for mark in feed.recent_polls if mark not in _FAILURES]
    unchanged = [mark for mark in polls if mark != Mark.CHANGED]
    wasted = [mark for mark in unchanged if mark in _WASTED]
    if len(wasted) < WASTED_POLLS or 2 * len(wasted) <= len(unchanged):
        return None
    worst = max(_WASTED, key=wasted.count)
    why = {
        Mark.IGNORED: "ignores our conditional requests (If-None-Match, If-Modified-Since)",
        Mark.RENEWED: "sends a new ETag or Last-Modified with the same feed every time",
        Mark.NO_VALIDATORS: "sends no ETag or Last-Modified, so it cannot answer 304",
    }[worst]
    return _problem(
        feed,
        "validators",
        f"the server {why}: {len(wasted)} of its last {len(polls)} polls downloaded the whole"
        " feed unchanged",
        "Nothing to fix on our side: an unchanged feed is recognised by its hash and not parsed"
        " again, but it is downloaded every time. Tell its publisher, or give it a longer"
        " interval in feeds.yaml.",
    )


def _no_text(feed: FeedState, activity: FeedActivity) -> Problem | None:
    failed, looked_at = activity.pages_without_text, activity.articles
    if failed < NO_TEXT_PAGES or 2 * failed <= looked_at:
        return None
    last = f" (last: {activity.last_page_error})" if activity.last_page_error else ""
    return _problem(
        feed,
        "no-text",
        f"{failed} of its last {looked_at} articles got no text from their page{last}",
        "Their text is the feed's own instead. Open one in a browser: pages behind a login,"
        " a paywall or JavaScript cannot be read, and nothing on our side changes that.",
    )


def _unlisted(feed: FeedState) -> Problem:
    stay = f"its {feed.articles} articles stay" if feed.articles != 1 else "its article stays"
    return _problem(
        feed,
        "unlisted",
        f"no longer in feeds.yaml: not polled; {stay} in the archive",
        f"Nothing to do if it was removed on purpose; `aggregator add {shlex.quote(feed.url)}`"
        " follows it again.",
    )


# --- wording --------------------------------------------------------------------------------


def _moment(moment: datetime) -> str:
    """``2026-11-28 07:00 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(seconds: float) -> str:
    """A duration in its largest sensible unit: ``3 years``, ``45 days``, ``20 minutes``."""
    unit, name = next(
        (unit, name)
        for unit, name in ((365 * 86400, "year"), (86400, "day"), (3600, "hour"), (60, "minute"))
        if seconds >= 2 * unit or unit == 60
    )
    count = max(1, round(seconds / unit))
    return f"{count} {name}{'s' if count != 1 else ''}"
