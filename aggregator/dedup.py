"""URL canonicalization and content fingerprints: how we tell that two entries are one story.

Pure functions of their input; the store applies them (see ``store.Store.save_poll``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import unicodedata
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from aggregator.models import Entry

#: Query parameters that only track the reader, never select content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "icid",
        "ncid",
        "sr_share",
        "wt.mc_id",
        "s_cid",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "__s",
        "rss",
        "smid",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "ga_", "hmb_", "itm_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Characters never percent-encoded in a path or query (RFC 3986 unreserved + sub-delims).
_SAFE_PATH = "/:@!$&'()*+,;=-._~"

#: Below this many words, equal text does not make two entries one story ("Read more", "Photo").
MIN_WORDS_FOR_TEXT_MATCH = 25


@functools.lru_cache(maxsize=4096)  # a poll asks for an entry's key several times
def canonical_url(url: str) -> str:
    """The key under which two URLs of one page compare equal.

    Lowercase scheme and host (IDNA), no default port, no fragment, no userinfo, dot-segments
    resolved, percent-encoding normalized, tracking parameters (``utm_*``, ``fbclid``, ``gclid``,
    ``mc_cid``, ...) removed and the remaining query sorted. Path case and a trailing slash are
    kept (``/a`` and ``/a/`` may be different pages); an empty path becomes ``/``. Anything that
    is not an absolute http(s) URL is returned stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = _normalize_host(parts.hostname)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalize_path(parts.path)
    query = _normalize_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalize_host(host: str) -> str:
    host = host.lower()
    if ":" in host:  # IPv6 literal
        return f"[{host}]"
    with contextlib.suppress(UnicodeError):  # not IDNA-encodable: keep it as written
        host = host.encode("idna").decode("ascii")
    # After IDNA: it maps the ideographic and fullwidth full stops to "." too.
    return host.rstrip(".")


def _normalize_path(path: str) -> str:
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/")[1:] if path.startswith("/") else path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    if path.rsplit("/", 1)[-1] in (".", ".."):
        segments.append("")  # "/a/b/.." means the folder "/a/"
    return "/" + "/".join(_normalize_percent(s) for s in segments)


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalize_percent(text: str) -> str:
    """Decode escapes of unreserved characters, uppercase the others, escape what must be."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return quote(_PERCENT.sub(fix, text), safe=_SAFE_PATH + "%")


def _normalize_query(query: str) -> str:
    if not query:
        return ""
    pairs = [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if not _is_tracking(key)
    ]
    pairs.sort()
    return urlencode(pairs, quote_via=quote, safe=_SAFE_PATH.replace("&", "").replace("=", ""))


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Casefolded word tokens of ``text`` (NFKC-normalized, punctuation dropped)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def content_hash(text: str) -> str | None:
    """A hash of the text's words, blind to case, spacing and punctuation.

    ``None`` for texts too short to identify a story (see ``MIN_WORDS_FOR_TEXT_MATCH``).
    """
    return hash_of_words(words(text))


def hash_of_words(tokens: Sequence[str]) -> str | None:
    """``content_hash`` of a text already cut into ``words``."""
    if len(tokens) < MIN_WORDS_FOR_TEXT_MATCH:
        return None
    return hashlib.sha256(" ".join(tokens).encode()).hexdigest()


def entry_fingerprint(entry: Entry) -> str:
    """A hash of what the feed says about an entry: when it changes, the entry was updated."""
    h = hashlib.sha256()
    for value in (
        entry.title,
        entry.url,
        entry.summary,
        entry.content,
        entry.updated.isoformat() if entry.updated else None,
    ):
        h.update((value or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


# --- near-duplicates --------------------------------------------------------------------------
#
# Two texts are near-duplicates when most of the shorter one's word 3-shingles are in the other
# (the overlap coefficient: an edited copy, or an excerpt, of a story). To find candidates
# without comparing a text with every stored one, each text gets a MinHash sketch by
# one-permutation hashing (each shingle's hash falls into one of NEAR_BUCKETS bins; a bin keeps
# its smallest hash; empty bins borrow from the next full one), cut into NEAR_BANDS bands of
# NEAR_ROWS bins. Each band is one integer key in the store's index: two texts of Jaccard
# resemblance s share a given band with probability about s**NEAR_ROWS. The stored texts
# sharing the most bands are then compared exactly. Keys are filed by the week their text came
# out (``near_week``), and a text's candidates are looked for in its own week and the
# NEAR_WINDOW_WEEKS on either side: copies of a story come out within days of each other, and
# new keys then land in a small, recent part of the index however large the archive grows.

SHINGLE_WORDS = 3
NEAR_ROWS = 3
NEAR_BANDS = 20
NEAR_BUCKETS = NEAR_ROWS * NEAR_BANDS
#: Candidates must share this many bands.
NEAR_MIN_BANDS = 1
#: Texts shorter than this are too short to call near-copies of each other.
NEAR_MIN_WORDS = 50
#: Overlap from which a text is a near-copy of another.
NEAR_THRESHOLD = 0.6
#: Weeks on either side of a text's own in which its near-copies are looked for.
NEAR_WINDOW_WEEKS = 1
_EPOCH_DAY = datetime(1970, 1, 1).toordinal()

_MASK32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B1  # odd: multiplying by it permutes 32-bit values and mixes their bits


def shingles(text: str) -> frozenset[int]:
    """32-bit hashes of the text's word 3-shingles (case, spacing and punctuation ignored);
    empty for texts under ``NEAR_MIN_WORDS`` words."""
    return shingles_of_words(words(text))


def shingles_of_words(tokens: Sequence[str]) -> frozenset[int]:
    """``shingles`` of a text already cut into ``words``."""
    if len(tokens) < NEAR_MIN_WORDS:
        return frozenset()
    return frozenset(
        (zlib.crc32(" ".join(tokens[i : i + SHINGLE_WORDS]).encode()) * _GOLDEN) & _MASK32
        for i in range(len(tokens) - SHINGLE_WORDS + 1)
    )


def near_keys(shingle_set: frozenset[int]) -> tuple[int, ...]:
    """The text's band keys (signed 64-bit, as SQLite stores them); empty for no shingles."""
    if not shingle_set:
        return ()
    bins: list[int | None] = [None] * NEAR_BUCKETS
    for value in shingle_set:
        index, rest = value % NEAR_BUCKETS, value // NEAR_BUCKETS
        current = bins[index]
        if current is None or rest < current:
            bins[index] = rest
    sketch = _densified(bins)
    keys = []
    for band in range(NEAR_BANDS):
        rows = sketch[band * NEAR_ROWS : (band + 1) * NEAR_ROWS]
        digest = hashlib.blake2b(repr((band, rows)).encode(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return tuple(keys)


def near_week(when: datetime) -> int:
    """The week (counted in UTC days from 1970-01-01) under which a text's keys are filed."""
    return (when.astimezone(UTC).toordinal() - _EPOCH_DAY) // 7


def near_weeks(week: int) -> range:
    """The weeks whose texts a text of ``week`` is compared with."""
    return range(week - NEAR_WINDOW_WEEKS, week + NEAR_WINDOW_WEEKS + 1)


def _densified(bins: list[int | None]) -> list[int]:
    """Fill each empty bin from the nearest full bin to its right (circularly), marked with
    the distance, so two similar texts fill their empty bins alike."""
    size = len(bins)
    filled = []
    for index in range(size):
        for distance in range(size):
            value = bins[(index + distance) % size]
            if value is not None:
                filled.append(value + (distance << 32))
                break
    return filled


def overlap(a: frozenset[int], b: frozenset[int]) -> float:
    """The share of the smaller shingle set found in the other (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
