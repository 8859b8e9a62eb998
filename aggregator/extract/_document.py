"""Page bytes -> an lxml tree: the charset decided, the markup parsed once."""

from __future__ import annotations

import codecs
import re

import lxml.html
from lxml import etree

from aggregator.errors import ExtractError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# Labels that browsers (WHATWG Encoding) read as windows-1252, and ones a page cannot mean.
_AS_CP1252 = {"ascii", "latin_1", "iso8859_1"}
_NOT_DOCUMENT_CODECS = {"idna", "punycode", "raw_unicode_escape", "unicode_escape", "utf_7"}
_NOT_IN_META = {"utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"}
# Characters that XML (and so trafilatura's output tree) refuses: the two noncharacters (never
# in a page of Latin script, whose text Python stores one byte a character, so looking for
# them costs nothing) and the control characters, deleted from the UTF-8 bytes, where they
# never occur inside a multi-byte sequence (several times faster than a regex).
_NONCHARACTERS = ("\ufffe", "\uffff")
_CONTROL_BYTES = bytes(code for code in range(0x20) if code not in (0x09, 0x0A, 0x0D))


def decode(data: bytes, http_charset: str | None = None) -> str:
    """Decode page bytes: BOM first, then the HTTP charset, then a ``<meta>`` charset, else
    UTF-8 (bad bytes replaced).

    Bytes that are valid UTF-8 are read as UTF-8 even when the page declares a legacy charset:
    such declarations are usually left over from a template, and UTF-8 text that decodes
    cleanly by accident in another charset is vanishingly rare.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    declared = _codec_name(http_charset) if http_charset else None
    if declared is None:
        match = _META_CHARSET.search(data, 0, 4096)
        declared = _codec_name(match.group(1).decode("ascii")) if match else None
    if declared is None or declared == "utf-8":
        return data.decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(declared, errors="replace")


def _codec_name(label: str) -> str | None:
    """Python's codec for a declared charset label, or None when unknown or impossible."""
    try:
        name = codecs.lookup(label).name.replace("-", "_")
        # Refuses codecs that are not text (base64) or not for documents (idna, punycode).
        b"-\xe9".decode(name, errors="replace")
    except (LookupError, ValueError):  # ValueError: a NUL in the name; UnicodeError is one
        return None
    if name in _NOT_DOCUMENT_CODECS:
        return None
    if name in _AS_CP1252:
        return "cp1252"
    if name in _NOT_IN_META:
        return None
    return "utf-8" if name == "utf_8" else name


# Every element as a plain HtmlElement: lxml.html's own lookup calls Python each time an
# element is first touched, to give forms and inputs classes of their own that nothing here
# uses (a few percent of the whole extraction).
_LOOKUP = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def parse(text: str) -> lxml.html.HtmlElement:
    """Parse a document with lxml; ExtractError when it is empty, binary or has no body."""
    if not text or text.isspace():
        raise ExtractError("the page is empty")
    if "\x00" in text[:1024]:
        raise ExtractError("the page is binary data, not HTML")
    parser = lxml.html.HTMLParser(  # huge_tree: badly closed pages nest deeper than 256
        encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=True
    )
    parser.set_element_class_lookup(_LOOKUP)
    for noncharacter in _NONCHARACTERS:
        if noncharacter in text:
            text = text.replace(noncharacter, "")
    data = text.encode("utf-8", errors="replace").translate(None, _CONTROL_BYTES)
    try:
        tree = lxml.html.document_fromstring(data, parser=parser)
    except etree.ParserError as exc:
        raise ExtractError("the page holds no HTML content") from exc
    if tree.find("body") is None:
        raise ExtractError("the page has no body")
    return tree


def tag_name(element: etree._Element) -> str:
    """The tag name ('' for comments and processing instructions)."""
    tag = element.tag
    return tag if isinstance(tag, str) else ""
