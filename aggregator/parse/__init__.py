"""Turn a fetched document into normalized :class:`~aggregator.models.Feed` values.

RSS 0.90-2.0, RSS 1.0 (RDF) and Atom 0.3/1.0 are read as feedparser reads them (``_xml``;
this package is the only code that imports it): well-formed RSS 2.0, RSS 1.0 and Atom 1.0 by
``_fast``, which replays feedparser's rules on lxml's parser events, three times faster and to
the same result; everything else, and whatever ``_fast`` is not sure of, by feedparser itself.
JSON Feed 1.0/1.1, which feedparser does not know, is read with :mod:`json` (``_jsonfeed``).
Whatever the format, the result has the same shape (``_fields``):

- every entry has a stable ``id``: its guid/id, else its absolute link, else a hash of what it
  says; of entries sharing an id, one is kept, chosen by what they say and not by their order
  (see ``_fields.unique_entries``), so a server that shuffles its items gives the same result
  every poll;
- links are absolute http(s) URLs or None; dates are aware UTC datetimes or None;
- ``summary`` and ``content`` are sanitized HTML; titles, authors and tags are plain text;
- every string is bounded (the ``MAX_*`` constants), so a hostile feed cannot bloat the archive
  through one field.

A document feedparser had to recover from gives a Feed with ``warning`` set; one with nothing
usable in it raises :class:`~aggregator.errors.ParseError`.

Hostile XML. Before any parser sees a document, it is decoded and cut to start at its root
element (``_prolog``): the DOCTYPE and its internal subset, where entities are declared, never
reach a parser, so no entity is expanded (billion laughs, quadratic blowup) and none names a
file or URL to read (XXE); a reference to one is an error to libxml2, and ``_fast`` leaves the
document to feedparser, which keeps it as text. Behind that, expat 2.4 or later is required at
import: it refuses entity amplification on its own, should a DTD ever reach it; libxml2 is
told to load no DTD and fetch nothing.
"""

from __future__ import annotations

import pyexpat
import re
from collections.abc import Mapping

from aggregator.errors import ParseError
from aggregator.models import Feed
from aggregator.parse._fields import (
    MAX_AUTHOR,
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_ENCLOSURES,
    MAX_ID,
    MAX_LANGUAGE,
    MAX_SUMMARY,
    MAX_TAG,
    MAX_TAGS,
    MAX_TITLE,
    MAX_URL,
    MAX_WARNING,
)

__all__ = [
    "MAX_AUTHOR",
    "MAX_CONTENT",
    "MAX_DESCRIPTION",
    "MAX_ENCLOSURES",
    "MAX_ID",
    "MAX_LANGUAGE",
    "MAX_NAMESPACES",
    "MAX_SUMMARY",
    "MAX_TAG",
    "MAX_TAGS",
    "MAX_TITLE",
    "MAX_URL",
    "MAX_WARNING",
    "MIN_EXPAT",
    "parse",
]

MIN_EXPAT = (2, 4, 0)
"""The oldest expat with protection against entity amplification (billion laughs)."""
if pyexpat.version_info < MIN_EXPAT:
    raise ImportError(
        f"aggregator needs expat {'.'.join(map(str, MIN_EXPAT))} or later to parse feeds "
        f"safely; this Python has {pyexpat.EXPAT_VERSION}"
    )

_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_UTF8_BOM = b"\xef\xbb\xbf"
_NON_SPACE = re.compile(rb"\S")


#: Namespace declarations a feed may make (a flood of them is an attack on parse time).
MAX_NAMESPACES = 1_000


def parse(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> Feed:
    """Parse a feed document fetched from ``url`` (the final URL, after redirects).

    ``headers`` are the response headers, in any letter case; ``content-type`` matters (its
    charset, and whether the body is JSON). Relative links resolve against ``url``.
    Raises ParseError for an empty body, an HTML page (naming the feeds it advertises),
    invalid JSON, or a document with nothing usable in it.
    """
    # The parsers are imported on first use: a daemon hands parsing to its workers (whose fork
    # server imports them once), and its own process need not hold feedparser and lxml.
    from aggregator.parse._jsonfeed import parse_json_feed
    from aggregator.parse._xml import parse_xml

    lowered = {key.lower(): value for key, value in (headers or {}).items()}
    visible = _NON_SPACE.search(body, len(_UTF8_BOM) if body.startswith(_UTF8_BOM) else 0)
    if visible is None:
        raise ParseError("empty document")
    first = visible[0]
    media_type = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    if first == b"{" or (media_type in _JSON_TYPES and first != b"<"):
        return parse_json_feed(body, url)
    if body.count(b"xmlns") > MAX_NAMESPACES:
        # feedparser's strict parser takes time quadratic in the prefixes a document declares
        # (20,000 of them: 17 s); real feeds declare a dozen.
        raise ParseError(f"the document declares more than {MAX_NAMESPACES:,} XML namespaces")
    return parse_xml(body, url, lowered, media_type)
