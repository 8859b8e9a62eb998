"""Per-site boilerplate learned from the archive.

A share bar, a sign-off, a newsletter pitch or a "Topics:" line that the extractor keeps on
one page of a site, it keeps on every page of that site. Such a line is learned when it
appears on many of the site's archived articles, then removed from the site's new and
re-cleaned articles. Lines are compared blind to case, spacing and punctuation, never to
numbers: "Week 12 in review" and "Week 13 in review" are two lines, whatever the site.

Pure functions; the store keeps what is learned (``Store.learn_boilerplate``) and the
pipeline applies it (``strip``).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Articles of a site a line must appear on to be learned, at the least...
MIN_PAGES = 5
#: ...and the share of the sampled articles it must appear on.
MIN_SHARE = 0.1
#: A site's most recent articles that learning looks at.
SAMPLE = 200
#: Fewer sampled articles than this teach nothing (too little evidence).
MIN_SAMPLE = 8
#: A line is boilerplate, not a story: longer lines are never learned.
MAX_LINE_CHARS = 600
#: ``strip`` leaves a text alone rather than cut it to fewer words than this.
MIN_WORDS_LEFT = 5

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class LearnedLine:
    key: str
    line: str
    """The line as it appeared first in the sample."""
    pages: int
    """Sampled articles the line appears on."""


def site_of(url: str | None) -> str | None:
    """The site a URL belongs to: its host, lowercase, without a leading ``www.``."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def line_key(line: str) -> str | None:
    """A key for a line, blind to case, spacing and punctuation; None for a line without
    words or too long to be boilerplate."""
    if len(line) > MAX_LINE_CHARS:
        return None
    tokens = _WORD.findall(unicodedata.normalize("NFKC", line).casefold())
    if not tokens:
        return None
    return hashlib.blake2b(" ".join(tokens).encode(), digest_size=8).hexdigest()


def learn(texts: Iterable[str]) -> list[LearnedLine]:
    """The lines that repeat across a site's articles (each text is one article).

    A line is learned when it appears on at least ``MIN_PAGES`` articles and ``MIN_SHARE`` of
    them; nothing is learned from fewer than ``MIN_SAMPLE`` articles. A line repeated within
    one article counts once.
    """
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    sampled = 0
    for text in texts:
        sampled += 1
        keys = set()
        for line in _lines(text):
            key = line_key(line)
            if key is not None:
                keys.add(key)
                first.setdefault(key, line)
        counts.update(keys)
    if sampled < MIN_SAMPLE:
        return []
    threshold = max(MIN_PAGES, math.ceil(MIN_SHARE * sampled))
    return [
        LearnedLine(key, first[key], pages)
        for key, pages in counts.most_common()
        if pages >= threshold
    ]


def strip(text: str, keys: Set[str]) -> tuple[str, int]:
    """``text`` without its lines whose key is in ``keys``, and how many were removed.

    The text is left as it is when removing them would leave fewer than ``MIN_WORDS_LEFT``
    words (a page that is all template was extracted wrongly, not a story to empty).
    """
    if not keys or not text:
        return text, 0
    kept: list[str] = []
    removed = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and line_key(stripped) in keys:
            removed += 1
        else:
            kept.append(line)
    if not removed:
        return text, 0
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    if len(_WORD.findall(cleaned)) < MIN_WORDS_LEFT:
        return text, 0
    return cleaned, removed


def _lines(text: str) -> Iterable[str]:
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            yield stripped
