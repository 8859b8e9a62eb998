"""A document made ready for feedparser: decoded to text, and cut to start at its root element.

Decoding (:func:`_decode`): a wrong declared encoding gives way, with a warning. The cut
(:func:`_prolog`) drops the XML declaration, comments, processing instructions and the DOCTYPE
with its internal subset. Entity declarations live only there, so no entity is ever expanded
(billion laughs, quadratic blowup) and none names a file or URL to read (XXE). feedparser's own
DOCTYPE stripping is not enough: it only removes declarations at the start of a line before the
first ``<a``-like text, which a comment can hide, with regular expressions that take quadratic
time on blank lines; and its fallback parser expands the big entities it keeps.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from typing import NamedTuple

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose mark begins the same
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_STARTS = (
    (b"<\0\0\0", "utf-32-le"),
    (b"\0\0\0<", "utf-32-be"),
    (b"<\0", "utf-16-le"),
    (b"\0<", "utf-16-be"),
)
"""A '<' with the NULs of a wide encoding, without a byte order mark (XML 1.0 appendix F)."""
_ENCODING_NAME = r"[A-Za-z][A-Za-z0-9._:-]{0,39}"
_XML_ENCODING = re.compile(
    rb"\s*<\?xml\s[^>]{0,200}?\bencoding\s*=\s*[\"'](" + _ENCODING_NAME.encode() + rb")[\"']"
)
_CHARSET = re.compile(_ENCODING_NAME)
_MARKUP_SAMPLE = b"<?xml version='1.0'?><a:B c=\"d\">&amp; e-f_g.h/</a:B>"
"""ASCII markup: an encoding that reads it otherwise cannot be a feed's declared encoding."""
_PSEUDO_ENCODINGS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "utf-7"})
"""Python codecs no feed is written in, and UTF-7, which browsers refuse (an XSS vector)."""
_SUPERSETS = {"ascii": "cp1252", "iso8859-1": "cp1252", "gb2312": "gb18030"}
"""Labels that documents use for a wider encoding (as browsers read them)."""
_LATIN_CODECS = frozenset({"cp1252", "iso8859-15"})
"""Declared encodings that are often a mislabel of UTF-8 (after ``_SUPERSETS``)."""
_FALLBACK_ENCODING = "windows-1252"
_PROLOG_MARKUP = re.compile(r"<(?:!--|\?|!|[A-Za-z_])")
"""What can start in a prolog: a comment, a processing instruction, a declaration, or the root
element (an ASCII name: feedparser looks for the head of a document up to ``<\\w``)."""
_DOCTYPE_HEAD = 1000
"""How much of a DOCTYPE is searched for the name of Netscape's RSS 0.91 DTD."""
_DECLARATION_STOP = re.compile(r"[\"'\[>]")
_SUBSET_STOP = re.compile(r"[\"'\]]|<!--|<\?")


class Document(NamedTuple):
    """A document made ready for feedparser."""

    data: bytes
    """UTF-8, from the root element on."""
    netscape: bool
    """Whether its DOCTYPE named Netscape's RSS 0.91 DTD (feedparser calls that 'rss091n')."""
    problems: tuple[str, ...]
    """What was wrong with its encoding or prolog, as warnings."""


def prepare(body: bytes, content_type: str) -> Document:
    text, encoding_problem = _decode(body, content_type)
    root, netscape, internal_subset = _prolog(text)
    problems = (
        encoding_problem,
        "ignored the DTD inside the document (its entities are not expanded)"
        if internal_subset
        else None,
    )
    return Document(
        data=text[root:].encode("utf-8"),
        netscape=netscape,
        problems=tuple(problem for problem in problems if problem),
    )


def _decode(body: bytes, content_type: str) -> tuple[str, str | None]:
    """The document as text, and a warning when its declared encoding was wrong.

    A byte order mark (or the NULs around a UTF-16/32 '<') decides; else the charset of the
    Content-Type, else the XML declaration's encoding, else UTF-8 (RFC 7303). A declared
    encoding that is unknown, cannot read ASCII markup, or fails on the bytes gives way to
    UTF-8, then windows-1252; so does a Latin-1 label on bytes that are valid UTF-8 beyond
    ASCII (they would come out as mojibake like "cafÃ©").
    """
    for mark, encoding in _BOMS:
        if body.startswith(mark):
            return body[len(mark) :].decode(encoding, "replace"), None
    for start, encoding in _WIDE_STARTS:
        if body.startswith(start):
            return body.decode(encoding, "replace"), None
    declared = _charset(content_type) or _xml_encoding(body)
    codec = _document_codec(declared)
    if codec is not None and not (codec in _LATIN_CODECS and _is_utf8(body)):
        with contextlib.suppress(UnicodeDecodeError):
            return body.decode(codec), None
    with contextlib.suppress(UnicodeDecodeError):
        return body.decode("utf-8"), _overruled(declared, "UTF-8")
    if codec is not None and codec != "utf-8":  # a few bad bytes in, say, a Cyrillic feed
        return body.decode(codec, "replace"), f"the document has bytes that are not {declared}"
    text = body.decode(_FALLBACK_ENCODING, "replace")
    return text, _overruled(declared, _FALLBACK_ENCODING) or (
        f"the document is not UTF-8 and declares no encoding; read it as {_FALLBACK_ENCODING}"
    )


def _charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type, if it looks like an encoding name."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip().strip("\"'")
            return value if _CHARSET.fullmatch(value) else None
    return None


def _xml_encoding(body: bytes) -> str | None:
    declaration = _XML_ENCODING.match(body)
    return declaration[1].decode("ascii") if declaration else None


def _document_codec(declared: str | None) -> str | None:
    """The Python codec for a declared encoding, None if it cannot be a document's."""
    if declared is None:
        return None
    try:
        codec = codecs.lookup(declared).name
        reads_ascii = _MARKUP_SAMPLE.decode(codec) == _MARKUP_SAMPLE.decode("ascii")
    except (LookupError, ValueError):  # unknown, not a text encoding, or not ASCII-based
        return None
    if not reads_ascii or codec in _PSEUDO_ENCODINGS:
        return None
    return _SUPERSETS.get(codec, codec)


def _is_utf8(body: bytes) -> bool:
    """Whether ``body`` is UTF-8 with something beyond ASCII in it."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _overruled(declared: str | None, used: str) -> str | None:
    if declared is None:
        return None
    return f"the document is not in its declared encoding {declared}; read it as {used}"


def _prolog(text: str) -> tuple[int, bool, bool]:
    """Where the root element of ``text`` starts (its length if it has none), whether a
    DOCTYPE before it names Netscape's RSS 0.91 DTD, and whether one has an internal subset.

    The scan follows the XML grammar closely enough for real documents (literals, comments and
    processing instructions are skipped whole) and is linear: every search moves forward.
    Whatever it makes of broken markup, the text from the position it returns is empty or
    starts with ``<`` and an ASCII letter: without the prolog, expat cannot meet a DTD (one
    after the root element is an error) and feedparser's search for the head of the document
    stops at once.
    """
    netscape = internal_subset = False
    position = 0
    while markup := _PROLOG_MARKUP.search(text, position):
        start, kind = markup.span()[0], markup[0]
        if kind == "<!--":
            position = _after(text, "-->", markup.end())
        elif kind == "<?":
            position = _after(text, "?>", markup.end())
        elif kind == "<!":
            subset, position = _declaration(text, markup.end())
            if text.startswith("<!DOCTYPE", start):
                head_end = min(position if subset is None else subset, start + _DOCTYPE_HEAD)
                netscape = netscape or "netscape" in text[start:head_end].lower()
            internal_subset = internal_subset or subset is not None
        else:
            return start, netscape, internal_subset
    return len(text), netscape, internal_subset


def _declaration(text: str, position: int) -> tuple[int | None, int]:
    """Where the internal subset of the ``<!`` declaration going on at ``position`` starts
    (None if it has none), and where the declaration ends."""
    subset = None
    while stop := _DECLARATION_STOP.search(text, position):
        char = stop[0]
        if char == ">":
            return subset, stop.end()
        if char == "[":
            subset = stop.start() if subset is None else subset
            position = _subset_end(text, stop.end())
        else:
            position = _after(text, char, stop.end())
    return subset, len(text)


def _subset_end(text: str, position: int) -> int:
    """Just after the ``]`` that closes the internal subset going on at ``position``."""
    closing = {'"': '"', "'": "'", "<!--": "-->", "<?": "?>"}
    while stop := _SUBSET_STOP.search(text, position):
        if stop[0] == "]":
            return stop.end()
        position = _after(text, closing[stop[0]], stop.end())
    return len(text)


def _after(text: str, marker: str, position: int) -> int:
    """Just after the next ``marker`` from ``position`` on (the end of ``text`` if none)."""
    found = text.find(marker, position)
    return len(text) if found < 0 else found + len(marker)
