"""Subscription lists as OPML: reading what other feed readers export, writing ours.

Reading takes OPML 1.0 and 2.0 as readers write them: attribute names in any letter case, a
``type`` that is missing or says "rss" for an Atom feed, ``text`` without ``title`` and the
reverse. Every outline with an ``xmlUrl`` is a feed (except ``type="link"`` and ``"include"``);
``feed://`` URLs are read as http(s). The folders (outlines without ``xmlUrl``) a feed is in
become its tags, outermost first, followed by the names in its ``category`` attribute
(``"/News/World,local"`` gives News, World and local). It is safe on hostile files: expat
reads the document and refuses any DTD, so no entity is declared or expanded and nothing is
fetched (the approach of defusedxml, without the dependency).

Writing gives OPML 2.0: in ``<head>`` a title and ``dateCreated``; in ``<body>`` an
``<outline type="rss">`` per feed with ``text``, ``title``, ``xmlUrl``, ``htmlUrl`` when known,
and ``category="/tag1,/tag2"`` listing all its tags, as the OPML 2.0 specification has it. A
feed with tags is also put in a folder named after its first tag, because many readers import
folders and ignore ``category``; reading the file back gives the same tags. A tag containing
"," or "/" comes back split there (``category`` has no way to escape them).
"""

from __future__ import annotations

import pyexpat
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Final, NoReturn

from aggregator.errors import ParseError

__all__ = ["Subscription", "read_opml", "write_opml"]

_NOT_FEEDS: Final = frozenset({"link", "include"})
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry at all."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Subscription:
    """One feed of a subscription list."""

    url: str
    title: str | None = None
    site_url: str | None = None
    """The web site the feed belongs to (OPML's ``htmlUrl``)."""
    tags: tuple[str, ...] = ()


def read_opml(data: bytes) -> list[Subscription]:
    """The feeds listed in an OPML document, in document order.

    Raises ``ParseError`` when the document is not well-formed XML, declares a DTD, or is not
    OPML.
    """
    reader = _Reader()
    parser = pyexpat.ParserCreate()
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError as exc:
        problem = pyexpat.ErrorString(exc.code)
        raise ParseError(f"not well-formed XML: {problem} at line {exc.lineno}") from exc
    if not reader.started:
        raise ParseError("not an OPML document: it is empty")
    return reader.feeds


def write_opml(
    subscriptions: Sequence[Subscription],
    *,
    created: datetime,
    title: str = "aggregator subscriptions",
) -> bytes:
    """An OPML 2.0 document listing ``subscriptions`` (UTF-8, indented); ``created`` is an
    aware datetime."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _clean(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for subscription in subscriptions:
        parent = body
        if subscription.tags:
            tag = subscription.tags[0]
            if tag not in folders:
                folders[tag] = ET.SubElement(body, "outline", text=_clean(tag), title=_clean(tag))
            parent = folders[tag]
        name = _clean(subscription.title or subscription.url)
        outline = ET.SubElement(
            parent, "outline", type="rss", text=name, title=name, xmlUrl=_clean(subscription.url)
        )
        if subscription.site_url:
            outline.set("htmlUrl", _clean(subscription.site_url))
        if subscription.tags:
            outline.set("category", ",".join("/" + _clean(tag) for tag in subscription.tags))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


@dataclass(slots=True)
class _Reader:
    """Collects the feeds as expat reports the elements."""

    feeds: list[Subscription] = field(default_factory=list)
    started: bool = False
    folders: list[str | None] = field(default_factory=list)
    """For each open outline, the tag it gives the feeds inside it (None: none)."""

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if not self.started:
            self.started = True
            if name.lower() != "opml":
                raise ParseError(f"not an OPML document: its root element is <{name}>")
        if name.lower() != "outline":
            return
        values = {key.lower(): " ".join(value.split()) for key, value in attributes.items()}
        url = values.get("xmlurl", "")
        kind = values.get("type", "").lower()
        label = values.get("title") or values.get("text") or None
        if not url or kind in _NOT_FEEDS:
            self.folders.append(None if url or kind in _NOT_FEEDS else label)
            return
        tags = [tag for tag in self.folders if tag]
        tags += _categories(values.get("category", ""))
        self.feeds.append(
            Subscription(
                url=_http(url),
                title=label if label != url else None,
                site_url=values.get("htmlurl") or None,
                tags=tuple(dict.fromkeys(tags)),
            )
        )
        self.folders.append(None)

    def end(self, name: str) -> None:
        if name.lower() == "outline" and self.folders:
            self.folders.pop()


def _categories(value: str) -> list[str]:
    """The tags in a ``category`` attribute: each name of each slash-delimited path."""
    tags: list[str] = []
    for category in value.split(","):
        tags += [part.strip() for part in category.split("/") if part.strip()]
    return tags


def _http(url: str) -> str:
    """``url`` with the ``feed:`` pseudo-scheme of old readers replaced (``feed://host/x`` and
    ``feed:https://host/x``)."""
    if url.lower().startswith("feed://"):
        return "http://" + url[len("feed://") :]
    if url.lower().startswith("feed:"):
        return url[len("feed:") :]
    return url


def _refuse_dtd(*_: object) -> NoReturn:
    raise ParseError("the document declares a DTD, which OPML never needs: refused")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)
