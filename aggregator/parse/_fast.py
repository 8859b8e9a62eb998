"""A fast reader for well-formed RSS 2.0, RSS 1.0 and Atom 1.0 that gives what feedparser gives.

feedparser reads a document through expat, ``xml.sax`` and a state machine written for every
feed ever seen: about 13 ms for 50 entries, nearly all of it Python run for each element and
its dictionaries. Here libxml2 (lxml) parses, and :class:`_Reader`, the parser's target, gets
the same events expat gives feedparser (namespace declarations, starts, text, ends) and replays
feedparser's rules on them into the same dictionaries (the keys ``_xml`` reads): its names for
namespaced elements, xml:base and xml:lang as it tracks them, which element wins when several
give one field, how a guid becomes a link, how an author splits into name and e-mail, how xhtml
content is written back as markup. The costly helpers are feedparser's own, called rather than
imitated (URL joining, dates, resolving and sanitizing HTML); the only step skipped is the
sanitizing of text without ``<`` or ``&``, which comes out of it as it went in, stripped.

Whatever is not replayed raises :class:`Declined`, and feedparser reads the document instead:
markup libxml2 refuses (feedparser would recover from it, with a warning), formats other than
RSS 2.0, RSS 1.0 and Atom 1.0, markup inside a text element that does not say it is xhtml,
content in base64 or of types other than text, HTML and xhtml, inline SVG and MathML, names
outside ASCII (where the XML editions expat and libxml2 follow disagree), elements feedparser
has handlers for that are not replayed here (GeoRSS, Podlove chapters, an xhtml body...), and
whatever makes feedparser itself stumble.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from feedparser.datetimes import _parse_date
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris
from lxml import etree

Attributes = dict[str, Any]
"""An element's attributes as feedparser names them (lowercase, known prefixes standardized)."""


class RawFeed(NamedTuple):
    """A document as feedparser's dictionaries: what ``_xml`` turns into a Feed."""

    version: str
    feed: dict[str, Any]
    entries: list[dict[str, Any]]
    problem: str | None = None
    """Why feedparser's strict parser gave up, when it did (never on the fast path)."""


class Declined(Exception):
    """The fast reader cannot promise feedparser's result for this document."""


_NAMESPACES: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
"""Namespace URIs feedparser knows, lowercased, with the prefix it gives their elements."""
_VERSION_NAMESPACES = {
    "http://my.netscape.com/rdf/simple/0.9/": "rss090",  # only as the default namespace
    "http://purl.org/rss/1.0/": "rss10",
    "http://www.w3.org/2005/atom": "atom10",
}
"""Namespaces whose declaration tells feedparser the format (the first one declared wins)."""
_XLINK = "http://www.w3.org/1999/xlink"
_XML = "http://www.w3.org/XML/1998/namespace"
_VERSIONS = frozenset({"rss20", "rss10", "atom10"})
_FEEDPARSER_HANDLERS = frozenset(
    name for name in dir(_FeedParserMixin) if name.startswith(("_start_", "_end_"))
)
_RELATIVE_URI_ELEMENTS = frozenset(_FeedParserMixin.can_be_relative_uri)
_MARKUP_ELEMENTS = frozenset(_FeedParserMixin.can_contain_dangerous_markup)
"""Elements whose HTML feedparser resolves and sanitizes (its two lists are the same)."""
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SUMMARY_TYPES = frozenset({"text/plain", "text/html", "application/xhtml+xml"})
_XHTML = "application/xhtml+xml"
_TEXT_TYPES = frozenset({"text/plain", "text/html", _XHTML})
_QUOTE = {'"': "&quot;"}
_TEXTINPUT_CHILDREN = frozenset({"title", "link", "description", "name"})
_IMAGE_CHILDREN = frozenset({"title", "link", "description", "url", "href", "width", "height"})
_ENTITY_IN_LINK = re.compile(r"&([A-Za-z0-9_]+);")
_CP1252 = {
    code: char for code in range(0x80, 0xA0) if (char := bytes([code]).decode("cp1252", "ignore"))
}
"""C1 controls as the windows-1252 characters a feed meant by them."""
_MAX_NAMESPACES = 100
"""More namespaces than any feed declares, where naming an element (a search of them all, as
feedparser does) would make reading a hostile document take quadratic time."""
_ITUNES = "http://www.itunes.com/"
_MEDIA_CATEGORIES = "http://search.yahoo.com/mrss/category_schema"


def read(data: bytes, url: str, headers: Mapping[str, str]) -> RawFeed:
    """``data`` (UTF-8, from its root element on, as ``_prolog`` left it) as feedparser would
    read it with ``headers`` (lowercase names) and ``url`` as the base; raises Declined."""
    reader = _Reader(url, headers.get("content-language"))
    # No DTD reaches this parser (``_prolog`` cut it off), so no entity is declared; the
    # predefined ones must be "resolved", or libxml2 hands '&' in attributes over as "&#38;".
    parser = etree.XMLParser(
        target=reader, resolve_entities="internal", no_network=True, load_dtd=False
    )
    try:
        etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise Declined(f"not well-formed: {exc}") from exc
    except (LookupError, TypeError, AttributeError) as exc:  # where feedparser stumbles too
        raise Declined(f"unexpected structure: {type(exc).__name__}: {exc}") from exc
    if reader.version not in _VERSIONS:
        raise Declined(f"format {reader.version or 'unknown'}")
    return RawFeed(reader.version, reader.feed, reader.entries)


class _ContextOf:
    """What feedparser's author helper asks of its parser: the dictionary being filled."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context

    def _get_context(self) -> dict[str, Any]:
        return self.context


def _sync_author_detail(context: dict[str, Any], key: str) -> None:
    """feedparser's own rules for an author: ``"a@b.org (Ann)"`` gives name and e-mail."""
    _FeedParserMixin._sync_author_detail(_ContextOf(context), key)


Handler = Callable[["_Reader", Attributes], None]
EndHandler = Callable[["_Reader"], None]


def _content_type(value: str) -> str:
    if value in ("text", "plain"):
        return "text/plain"
    if value == "html":
        return "text/html"
    if value == "xhtml":
        return "application/xhtml+xml"
    return value


def _with_href(attrs: Attributes) -> Attributes:
    """A link's target, from whichever of url, uri or href holds it, as ``href``."""
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def _without_wrapper(pieces: list[str]) -> list[str]:
    """Atom xhtml content without the ``<div>`` holding all of it, as feedparser takes it off
    (pieces are escaped text, start tags and end tags)."""
    first, last = 0, len(pieces) - 1
    while last > first and not pieces[last].strip():
        last -= 1
    while first < last and not pieces[first].strip():
        first += 1
    pieces = pieces[first : last + 1]
    if not pieces or pieces[-1] != "</div>":
        return pieces
    if pieces[0] != "<div>" and not pieces[0].startswith("<div "):
        return pieces
    depth = 0
    for piece in pieces[:-1]:
        if piece.startswith("</"):
            depth -= 1
            if depth == 0:
                return pieces  # the first div closes before the end
        elif piece.startswith("<") and not piece.endswith("/>"):
            depth += 1
    return pieces[1:-1]


def _may_be_markup(text: str) -> bool:
    """Whether ``text`` has what HTML (a tag, an entity) cannot do without."""
    return "<" in text or "&" in text


def _unescaped_link(link: str) -> str:
    """feedparser's undoing of ``&name;`` in links (``?a=1&b;=2`` was ``?a=1&b=2``)."""
    return _ENTITY_IN_LINK.sub(_without_semicolon, link) if "&" in link else link


def _without_semicolon(reference: re.Match[str]) -> str:
    return "&" + reference[1]


def _as_written(text: str) -> str:
    """feedparser's repair of text: UTF-8 read as Latin-1 is read again, C1 controls become
    the windows-1252 characters they stand for."""
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_CP1252)


class _Name(NamedTuple):
    """How feedparser names an element, and what it does with it."""

    tag: str
    """The element's name as feedparser's handlers see it: ``title``, ``dc:creator``."""
    key: str
    """The handler suffix and the key of an unknown element: ``title``, ``dc_creator``."""
    prefixed: bool
    start: Handler | None
    end: EndHandler | None
    unknown_start: bool
    """Whether feedparser has a start handler that is not replayed here."""
    unknown_end: bool


class _Reader:
    """feedparser's strict-mode state machine, replayed on lxml's parser events.

    Attribute and method names follow feedparser's (``_start_title`` handles ``<title>``,
    ``_pop`` is its ``pop``), so each rule can be checked against the original.
    """

    def __init__(self, url: str, language: str | None) -> None:
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.version = ""
        self.namespacemap: dict[str | None, str] = {}
        """Document prefix -> feedparser's prefix, for the namespaces it knows."""
        self.namespaces_in_use: dict[str, str] = {}
        """feedparser's prefix (known namespaces) or the document's (others) -> namespace."""
        self.scope: dict[str, str] = {}
        """The prefixes in scope now, as the document binds them."""
        self.shadowed: list[tuple[str, str | None]] = []
        self.names: dict[str, _Name] = {}
        self.baseuri = url
        self.lang = language
        if language:
            self.feed["language"] = language.replace("_", "-")
        self.basestack: list[str] = []
        self.langstack: list[str | None] = []
        self.bases: dict[tuple[str, str], str] = {}
        self.stack: list[list[Any]] = []
        """Elements collecting text: [name, expecting text, pieces]."""
        self.contentparams: dict[str, Any] = {}
        self.sourcedata: dict[str, Any] = {}
        self.depths: dict[int, dict[str, int]] = {}
        """Per entry: the depth each key was last set from (the shallowest wins)."""
        self.depth = 0
        self.title_depth = -1
        self.infeed = self.inentry = self.insource = 0
        self.inimage = self.intextinput = 0
        self.inauthor = self.incontributor = self.inpublisher = 0
        self.incontent = 0
        self.xhtml = False
        """Whether the text element open is xhtml (its text is escaped, its markup kept)."""
        self.inline = 0
        """How many elements inside xhtml content are open."""
        self.has_content = 0
        self.guidislink = False
        self.summary_key: str | None = None

    # --- lxml's parser target: SAX-like events, as feedparser's expat handlers get them --------

    def start_ns(self, prefix: str, uri: str) -> None:
        """A namespace declaration (feedparser's ``track_namespace``: never forgotten)."""
        self.shadowed.append((prefix, self.scope.get(prefix)))
        self.scope[prefix] = uri
        if not uri:
            return
        if prefix and uri == _XLINK:
            raise Declined("an xlink namespace declaration")
        lowered = uri.lower()
        if not self.version:
            version = _VERSION_NAMESPACES.get(lowered)
            if version and (not prefix or version != "rss090"):
                self.version = version
        if "backend.userland.com/rss" in lowered:
            uri = lowered = "http://backend.userland.com/rss"
        standard = _NAMESPACES.get(lowered)
        declared = prefix or None
        if standard is None:
            changed = self.namespaces_in_use.get(prefix) != uri
            self.namespaces_in_use[prefix] = uri
        else:
            changed = self.namespacemap.get(declared) != standard
            changed = changed or self.namespaces_in_use.get(standard) != uri
            self.namespacemap[declared] = standard
            self.namespaces_in_use[standard] = uri
        if changed:
            self.names.clear()  # elements may be named otherwise from now on
        if len(self.namespaces_in_use) > _MAX_NAMESPACES:
            raise Declined(f"more than {_MAX_NAMESPACES} namespaces")

    def end_ns(self, prefix: str) -> None:
        prefix, previous = self.shadowed.pop()
        if previous is None:
            del self.scope[prefix]
        else:
            self.scope[prefix] = previous

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        name = self.names.get(tag) or self._name(tag)
        self._start(name, self._attributes(attrib) if attrib else {})

    def end(self, tag: str) -> None:
        self._end(self.names.get(tag) or self._name(tag))

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1][2].append(escape(text) if self.xhtml else text)

    def close(self) -> None:
        return None

    # --- names, attributes, and what every element goes through --------------------------------

    def _name(self, qualified: str) -> _Name:
        """feedparser's name for an element: its SAX handler's, then ``unknown_starttag``'s."""
        if not qualified.isascii():
            raise Declined("a name outside ASCII")
        namespace, _, local = (
            qualified[1:].rpartition("}") if qualified[0] == "{" else ("", "", qualified)
        )
        lowered = namespace.lower()
        if "backend.userland.com/rss" in lowered:
            namespace = lowered = "http://backend.userland.com/rss"
        prefix = _NAMESPACES.get(lowered)
        tag = local.lower()
        if prefix:
            tag = f"{prefix}:{tag}".lower()
        elif namespace:
            for declared, uri in self.namespaces_in_use.items():
                if declared and uri == namespace:
                    tag = f"{declared}:{tag}".lower()
                    break
        given, colon, suffix = tag.partition(":")
        mapped = self.namespacemap.get(given, given) if colon else ""
        key = f"{mapped}_{suffix}" if mapped else suffix if colon else tag
        name = _Name(
            tag=tag,
            key=key,
            prefixed=bool(mapped),
            start=_STARTS.get(key),
            end=_ENDS.get(key),
            unknown_start="_start_" + key in _FEEDPARSER_HANDLERS and key not in _STARTS,
            unknown_end="_end_" + key in _FEEDPARSER_HANDLERS and key not in _ENDS,
        )
        self.names[qualified] = name
        return name

    def _attributes(self, attrib: Mapping[str, str]) -> Attributes:
        """An element's attributes as feedparser's SAX handler passes them on: each under
        feedparser's prefix for its namespace, then again as written (``prefix:name``);
        names lowercased, and the values of rel and type."""
        items = list(attrib.items())
        named: Attributes = {}
        for name, value in items:
            if not name.isascii():
                raise Declined("a name outside ASCII")
            uri, _, local = name[1:].partition("}") if name[0] == "{" else ("", "", name)
            prefix = _NAMESPACES.get(uri.lower(), "")
            named[(f"{prefix}:{local}" if prefix else local).lower()] = value
        for name, value in items:
            if name[0] == "{":
                uri, _, local = name[1:].partition("}")
                name = f"{self._prefix_of(uri)}:{local}"
            named[name.lower()] = value
        for name in ("rel", "type"):
            if name in named:
                named[name] = named[name].lower()
        return named

    def _prefix_of(self, uri: str) -> str:
        """The prefix a namespaced attribute was written with."""
        if uri == _XML:
            return "xml"
        prefixes = [prefix for prefix, bound in self.scope.items() if prefix and bound == uri]
        if len(prefixes) != 1:
            raise Declined(f"no single prefix for the namespace {uri}")
        return prefixes[0]

    def _start(self, name: _Name, attrs: Attributes) -> None:
        """feedparser's ``unknown_starttag``."""
        self.depth += 1
        if attrs:
            given = attrs.get("xml:base", attrs.get("base")) or self.baseuri
            lang = attrs.get("xml:lang", attrs.get("lang"))
            if lang == "":
                lang = None
            elif lang is None:
                lang = self.lang
        else:
            given, lang = self.baseuri, self.lang
        if lang and name.tag in ("feed", "rss"):
            self.feed["language"] = lang.replace("_", "-")
        if self.baseuri:
            self.baseuri = self._rebase(self.baseuri, given) or self.baseuri
        else:
            self.baseuri = _urljoin(self.baseuri, given)
        self.lang = lang
        self.basestack.append(self.baseuri)
        self.langstack.append(lang)
        if self.incontent:
            self._start_inline(name, attrs)
            return
        if not name.prefixed:
            if name.tag not in _TEXTINPUT_CHILDREN:
                self.intextinput = 0
            if name.tag not in _IMAGE_CHILDREN:
                self.inimage = 0
        if name.start is not None:
            name.start(self, attrs)
        elif name.unknown_start:
            raise Declined(f"a <{name.tag}> element")
        elif attrs:
            self._context()[name.key] = attrs
        else:
            self._push(name.key, 1)

    def _end(self, name: _Name) -> None:
        """feedparser's ``unknown_endtag``."""
        if self.inline:
            if name.end is not None or name.unknown_end:
                raise Declined(f"a <{name.tag}> element inside xhtml content")
            self.inline -= 1
            self._markup(f"</{name.tag.rpartition(':')[2]}>")
        else:
            if name.end is not None:
                name.end(self)
            elif name.unknown_end:
                raise Declined(f"a <{name.tag}> element")
            else:
                self._pop(name.key)
            if self.incontent:
                raise Declined("a text element that did not end where it started")
        if self.basestack:
            self.basestack.pop()
            if self.basestack and self.basestack[-1]:
                self.baseuri = self.basestack[-1]
        if self.langstack:
            self.langstack.pop()
            if self.langstack:
                self.lang = self.langstack[-1]
        self.depth -= 1

    def _rebase(self, base: str, given: str) -> str:
        """feedparser's base for an element, from its parent's and its xml:base (remembered:
        without xml:base, it is asked for each element with the same two)."""
        joined = self.bases.get((base, given))
        if joined is None:
            joined = self.bases[base, given] = make_safe_absolute_uri(base, given)
        return joined

    def _markup(self, markup: str) -> None:
        if self.stack:
            self.stack[-1][2].append(markup)

    def _start_inline(self, name: _Name, attrs: Attributes) -> None:
        """An element inside xhtml content, which feedparser writes back as markup."""
        if not self.xhtml:
            raise Declined("markup inside a text element")
        tag = name.tag.rpartition(":")[2]
        if tag in ("svg", "math"):
            raise Declined("inline SVG or MathML")
        written = "".join(f' {key}="{escape(value, _QUOTE)}"' for key, value in attrs.items())
        self._markup(f"<{tag}{written}>")
        self.inline += 1

    # --- feedparser's machinery --------------------------------------------------------------

    def _context(self) -> dict[str, Any]:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feed:
            image: dict[str, Any] = self.feed["image"]
            return image
        if self.intextinput:
            textinput: dict[str, Any] = self.feed["textinput"]
            return textinput
        if self.inentry:
            return self.entries[-1]
        return self.feed

    def _push(self, element: str, expecting_text: object) -> None:
        self.stack.append([element, expecting_text, []])

    def _pop(self, element: str, strip: bool = True) -> Any:
        """The text of ``element``, cleaned up and stored where feedparser stores it."""
        if not self.stack or self.stack[-1][0] != element:
            return None
        _, expecting_text, pieces = self.stack.pop()
        if self.xhtml and self.version == "atom10":
            pieces = _without_wrapper(pieces)
        output = "".join(pieces)
        if strip:
            output = output.strip()
        if not expecting_text:
            return output
        if output and element in _RELATIVE_URI_ELEMENTS and (element != "id" or self.guidislink):
            output = _urljoin(self.baseuri or "", output)
        params = self.contentparams
        kind = params.get("type", "text/html")
        guess = kind == "text/plain" and not self.version.startswith("atom")
        if guess and _may_be_markup(output) and _FeedParserMixin.looks_like_html(output):
            kind = params["type"] = "text/html"
        if element in _MARKUP_ELEMENTS and kind in _HTML_TYPES:
            output = self._clean_html(output, kind)
        output = _as_written(output)
        if element in ("category", "tags", "itunes_keywords"):
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        if self.inentry and not self.insource:
            self._store_in_entry(element, output)
        elif self.infeed or self.insource:
            context = self._context()
            if element == "description":
                element = "subtitle"
            context[element] = output
            if element == "link":
                output = _unescaped_link(output)
                context[element] = output
                context["links"][-1]["href"] = output
            elif self.incontent:
                context[element + "_detail"] = {**params, "value": output}
        return output

    def _store_in_entry(self, element: str, output: str) -> None:
        entry = self.entries[-1]
        if element == "content":
            entry.setdefault("content", []).append({**self.contentparams, "value": output})
        elif element == "link":
            if not self.inimage:
                output = _unescaped_link(output.replace("&amp;", "&"))
                entry["link"] = output
                if output:
                    entry["links"][-1]["href"] = output
        else:
            if element == "description":
                element = "summary"
            depths = self.depths.setdefault(id(entry), {})
            set_at = depths.get(element)
            if set_at is None or self.depth <= set_at:
                depths[element] = self.depth
                entry[element] = output
            if self.incontent:
                entry[element + "_detail"] = {**self.contentparams, "value": output}

    def _clean_html(self, text: str, kind: str) -> str:
        """Links resolved and markup sanitized, by feedparser; text without ``<`` or ``&``
        holds neither links nor markup, and comes out of both as it went in, stripped."""
        if not _may_be_markup(text):
            return text.strip().replace("\r\n", "\n")
        resolved = resolve_relative_uris(text, self.baseuri, "utf-8", kind)
        sanitized: str = _sanitize_html(resolved, "utf-8", kind)
        return sanitized

    def _push_content(
        self, tag: str, attrs: Attributes, default_type: str, expecting_text: object
    ) -> None:
        self.incontent += 1
        if self.lang:
            self.lang = self.lang.replace("_", "-")
        kind = _content_type(attrs.get("type", default_type))
        if kind not in _TEXT_TYPES:
            raise Declined(f"content of type {kind}")
        if attrs.get("mode") == "base64":
            raise Declined("base64 content")
        self.contentparams = {"type": kind, "language": self.lang, "base": self.baseuri}
        self.xhtml = kind == _XHTML
        self._push(tag, expecting_text)

    def _pop_content(self, tag: str) -> Any:
        value = self._pop(tag)
        self.incontent -= 1
        self.contentparams = {}
        self.xhtml = False
        return value

    def _save(self, key: str, value: object, overwrite: bool = False) -> None:
        context = self._context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def _save_author(self, key: str, value: object, prefix: str = "author") -> None:
        context = self._context()
        context.setdefault(prefix + "_detail", {})[key] = value
        _sync_author_detail(context, "author")
        context.setdefault("authors", [{}])[-1][key] = value

    def _save_contributor(self, key: str, value: object) -> None:
        self._context().setdefault("contributors", [{}])[-1][key] = value

    def _add_tag(self, term: object, scheme: object, label: object) -> None:
        tags = self._context().setdefault("tags", [])
        if not term and not scheme and not label:
            return
        tag = {"term": term, "scheme": scheme, "label": label}
        if tag not in tags:
            tags.append(tag)

    def _standard(self, name: str) -> str:
        """An attribute name with feedparser's prefix for the document's."""
        prefix, colon, local = name.partition(":")
        return f"{self.namespacemap.get(prefix, prefix)}:{local}" if colon else name

    def _resolve(self, uri: str) -> str:
        joined: str = _urljoin(self.baseuri or "", uri)
        return joined

    def _text_expected(self) -> int:
        return self.infeed or self.inentry or self.insource

    # --- handlers: the root and its containers -----------------------------------------------

    def _start_rss(self, attrs: Attributes) -> None:
        if not self.version.startswith("rss"):
            given = attrs.get("version", "")
            versions = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
            if given in versions:
                self.version = versions[given]
            elif given.startswith("2."):
                self.version = "rss20"
            else:
                self.version = "rss"

    def _start_feed(self, attrs: Attributes) -> None:
        self.infeed = 1
        if not self.version:
            versions = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
            self.version = versions.get(attrs.get("version", ""), "atom")

    def _start_channel(self, attrs: Attributes) -> None:
        self.infeed = 1
        self._cdf_common(attrs)

    def _end_channel(self) -> None:
        self.infeed = 0

    def _cdf_common(self, attrs: Attributes) -> None:
        if "lastmod" in attrs:
            self._start_updated({})
            self.stack[-1][2] = [attrs["lastmod"]]
            self._end_updated()
        if "href" in attrs:
            self._start_link({})
            self.stack[-1][2] = [attrs["href"]]
            self._end_link()

    def _start_item(self, attrs: Attributes) -> None:
        self.entries.append({})
        self._push("item", 0)
        self.inentry = 1
        self.guidislink = False
        self.title_depth = -1
        about = attrs.get(self._standard("rdf:about"))
        if about:
            self._context()["id"] = about
        self._cdf_common(attrs)

    def _end_item(self) -> None:
        self._pop("item")
        self.inentry = 0
        self.has_content = 0

    def _start_image(self, attrs: Attributes) -> None:
        context = self._context()
        if not self.inentry:
            context.setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self._push("image", 0)

    def _end_image(self) -> None:
        self._pop("image")
        self.inimage = 0

    def _start_textinput(self, attrs: Attributes) -> None:
        self._context().setdefault("textinput", {})
        self.intextinput = 1
        self.title_depth = -1
        self._push("textinput", 0)

    def _end_textinput(self) -> None:
        self._pop("textinput")
        self.intextinput = 0

    def _start_source(self, attrs: Attributes) -> None:
        if "url" in attrs:
            self.sourcedata["href"] = attrs["url"]
        self._push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def _end_source(self) -> None:
        self.insource = 0
        value = self._pop("source")
        if value:
            self.sourcedata["title"] = value
        self._context()["source"] = dict(self.sourcedata)
        self.sourcedata = {}

    # --- handlers: text -----------------------------------------------------------------------

    def _start_title(self, attrs: Attributes) -> None:
        self._push_content("title", attrs, "text/plain", self._text_expected())

    def _end_title(self) -> None:
        if self._pop_content("title"):
            self.title_depth = self.depth

    def _end_media_title(self) -> None:
        depth = self.title_depth
        self._end_title()
        self.title_depth = depth

    def _start_description(self, attrs: Attributes) -> None:
        if "summary" in self._context() and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs)
        else:
            self._push_content("description", attrs, "text/html", self._text_expected())

    def _start_abstract(self, attrs: Attributes) -> None:
        self._push_content("description", attrs, "text/plain", self._text_expected())

    def _end_description(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self._pop_content("description")
        self.summary_key = None

    def _start_summary(self, attrs: Attributes) -> None:
        if "summary" in self._context() and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs)
        else:
            self.summary_key = "summary"
            self._push_content("summary", attrs, "text/plain", 1)

    def _end_summary(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self._pop_content(self.summary_key or "summary")
        self.summary_key = None

    def _start_content(self, attrs: Attributes) -> None:
        self.has_content = 1
        self._push_content("content", attrs, "text/plain", 1)
        if attrs.get("src"):
            self.contentparams["src"] = attrs["src"]
        self._push("content", 1)  # twice, as feedparser does: one stays on the stack

    def _start_content_encoded(self, attrs: Attributes) -> None:
        self.has_content = 1
        self._push_content("content", attrs, "text/html", 1)

    def _end_content(self) -> None:
        kind = self.contentparams.get("type")
        if kind is None:
            raise Declined("the end of a content element that did not start")
        value = self._pop_content("content")
        if _content_type(kind) in _SUMMARY_TYPES:
            self._save("summary", value)

    def _start_subtitle(self, attrs: Attributes) -> None:
        self._push_content("subtitle", attrs, "text/plain", 1)

    def _end_subtitle(self) -> None:
        self._pop_content("subtitle")

    def _start_rights(self, attrs: Attributes) -> None:
        self._push_content("rights", attrs, "text/plain", 1)

    def _end_rights(self) -> None:
        self._pop_content("rights")

    def _start_info(self, attrs: Attributes) -> None:
        self._push_content("info", attrs, "text/plain", 1)

    def _end_info(self) -> None:
        self._pop_content("info")

    # --- handlers: links and identity ---------------------------------------------------------

    def _start_link(self, attrs: Attributes) -> None:
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        context = self._context()
        attrs = _with_href(attrs)
        if "href" in attrs:
            attrs["href"] = self._resolve(attrs["href"])
        links = context.setdefault("links", [])
        if not (self.inentry and self.inimage):
            links.append(dict(attrs))
        if "href" not in attrs:
            self._push("link", self._text_expected())
        elif attrs.get("rel") == "alternate" and _content_type(attrs["type"]) in _HTML_TYPES:
            context["link"] = attrs["href"]

    def _end_link(self) -> None:
        self._pop("link")

    def _start_guid(self, attrs: Attributes) -> None:
        self.guidislink = attrs.get("ispermalink", "true") == "true"
        self._push("id", 1)

    def _end_guid(self) -> None:
        value = self._pop("id")
        self._save("guidislink", self.guidislink and "link" not in self._context())
        if self.guidislink:
            self._save("link", value)

    def _start_enclosure(self, attrs: Attributes) -> None:
        attrs = _with_href(attrs)
        attrs["rel"] = "enclosure"
        self._context().setdefault("links", []).append(dict(attrs))

    def _start_generator(self, attrs: Attributes) -> None:
        if attrs:
            attrs = _with_href(attrs)
            if "href" in attrs:
                attrs["href"] = self._resolve(attrs["href"])
        self._context()["generator_detail"] = dict(attrs)
        self._push("generator", 1)

    def _end_generator(self) -> None:
        value = self._pop("generator")
        context = self._context()
        if "generator_detail" in context:
            context["generator_detail"]["name"] = value

    def _start_newlocation(self, attrs: Attributes) -> None:
        self._push("newlocation", 1)

    def _end_newlocation(self) -> None:
        url = self._pop("newlocation")
        context = self._context()
        if context is self.feed and url is not None:
            context["newlocation"] = make_safe_absolute_uri(self.baseuri, url.strip())

    # --- handlers: dates --------------------------------------------------------------------

    def _start_published(self, attrs: Attributes) -> None:
        self._push("published", 1)

    def _end_published(self) -> None:
        self._save("published_parsed", _parse_date(self._pop("published")), overwrite=True)

    def _start_updated(self, attrs: Attributes) -> None:
        self._push("updated", 1)

    def _end_updated(self) -> None:
        self._save("updated_parsed", _parse_date(self._pop("updated")), overwrite=True)

    def _start_created(self, attrs: Attributes) -> None:
        self._push("created", 1)

    def _end_created(self) -> None:
        self._save("created_parsed", _parse_date(self._pop("created")), overwrite=True)

    def _start_expirationdate(self, attrs: Attributes) -> None:
        self._push("expired", 1)

    def _end_expirationdate(self) -> None:
        self._save("expired_parsed", _parse_date(self._pop("expired")), overwrite=True)

    def _start_dcterms_valid(self, attrs: Attributes) -> None:
        self._push("validity", 1)

    def _end_dcterms_valid(self) -> None:
        value = self._pop("validity")
        if value is None:
            return
        for part in value.split(";"):
            key, equals, moment = part.partition("=")
            if equals and key in ("start", "end"):
                self._save(f"validity_{key}", moment, overwrite=True)
                self._save(f"validity_{key}_parsed", _parse_date(moment), overwrite=True)

    # --- handlers: people -------------------------------------------------------------------

    def _start_author(self, attrs: Attributes) -> None:
        self.inauthor = 1
        self._push("author", 1)
        self._context().setdefault("authors", []).append({})

    def _end_author(self) -> None:
        self._pop("author")
        self.inauthor = 0
        _sync_author_detail(self._context(), "author")

    def _start_contributor(self, attrs: Attributes) -> None:
        self.incontributor = 1
        self._context().setdefault("contributors", []).append({})
        self._push("contributor", 0)

    def _end_contributor(self) -> None:
        self._pop("contributor")
        self.incontributor = 0

    def _start_dc_contributor(self, attrs: Attributes) -> None:
        self.incontributor = 1
        self._context().setdefault("contributors", []).append({})
        self._push("name", 0)

    def _end_dc_contributor(self) -> None:
        self._end_name()
        self.incontributor = 0

    def _start_name(self, attrs: Attributes) -> None:
        self._push("name", 0)

    def _end_name(self) -> None:
        value = self._pop("name")
        if self.inpublisher:
            self._save_author("name", value, "publisher")
        elif self.inauthor:
            self._save_author("name", value)
        elif self.incontributor:
            self._save_contributor("name", value)
        elif self.intextinput:
            self._context()["name"] = value

    def _start_email(self, attrs: Attributes) -> None:
        self._push("email", 0)

    def _end_email(self) -> None:
        value = self._pop("email")
        if self.inpublisher:
            self._save_author("email", value, "publisher")
        elif self.inauthor:
            self._save_author("email", value)
        elif self.incontributor:
            self._save_contributor("email", value)

    def _start_url(self, attrs: Attributes) -> None:
        self._push("href", 1)

    def _end_url(self) -> None:
        value = self._pop("href")
        if self.inauthor:
            self._save_author("href", value)
        elif self.incontributor:
            self._save_contributor("href", value)

    def _start_webmaster(self, attrs: Attributes) -> None:
        self._push("publisher", 1)

    def _end_webmaster(self) -> None:
        self._pop("publisher")
        _sync_author_detail(self._context(), "publisher")

    def _start_itunes_owner(self, attrs: Attributes) -> None:
        self.inpublisher = 1
        self._push("publisher", 0)

    def _end_itunes_owner(self) -> None:
        self._pop("publisher")
        self.inpublisher = 0
        _sync_author_detail(self._context(), "publisher")

    # --- handlers: categories ---------------------------------------------------------------

    def _start_category(self, attrs: Attributes) -> None:
        scheme = attrs.get("scheme", attrs.get("domain"))
        self._add_tag(attrs.get("term"), scheme, attrs.get("label"))
        self._push("category", 1)

    def _end_category(self) -> None:
        value = self._pop("category")
        if not value:
            return
        tags = self._context()["tags"]
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self._add_tag(value, None, None)

    def _start_media_category(self, attrs: Attributes) -> None:
        attrs.setdefault("scheme", _MEDIA_CATEGORIES)
        self._start_category(attrs)

    def _start_itunes_category(self, attrs: Attributes) -> None:
        self._add_tag(attrs.get("text"), _ITUNES, None)
        self._push("category", 1)

    def _end_itunes_keywords(self) -> None:
        self._keywords("itunes_keywords", _ITUNES)

    def _end_media_keywords(self) -> None:
        self._keywords("media_keywords", None)

    def _keywords(self, element: str, scheme: str | None) -> None:
        value = self._pop(element)
        for term in value.split(",") if value is not None else ():
            if term.strip():
                self._add_tag(term.strip(), scheme, None)

    def _start_tags(self, attrs: Attributes) -> None:
        self._push("tags", 1)

    def _end_tags(self) -> None:
        value = self._pop("tags")
        for term in value.split(",") if value is not None else ():
            self._add_tag(term.strip(), None, None)

    # --- handlers: things kept beside the entry (none of them read, all replayed) ------------

    def _start_language(self, attrs: Attributes) -> None:
        self._push("language", 1)

    def _end_language(self) -> None:
        self.lang = self._pop("language")

    def _start_cloud(self, attrs: Attributes) -> None:
        self._context()["cloud"] = dict(attrs)

    def _start_width(self, attrs: Attributes) -> None:
        self._push("width", 0)

    def _end_width(self) -> None:
        self._dimension("width")

    def _start_height(self, attrs: Attributes) -> None:
        self._push("height", 0)

    def _end_height(self) -> None:
        self._dimension("height")

    def _dimension(self, element: str) -> None:
        value = self._pop(element)
        try:
            number = int(value)
        except ValueError:
            number = 0
        if self.inimage:
            self._context()[element] = number

    def _start_itunes_image(self, attrs: Attributes) -> None:
        self._push("itunes_image", 0)
        href = attrs.get("href") or attrs.get("url")
        if href:
            self._context()["image"] = {"href": href}

    def _end_itunes_block(self) -> None:
        value = self._pop("itunes_block", strip=False)
        self._context()["itunes_block"] = 1 if value in ("yes", "Yes") else 0

    def _end_itunes_explicit(self) -> None:
        value = self._pop("itunes_explicit", strip=False)
        self._context()["itunes_explicit"] = {"yes": True, "clean": False}.get(value)

    def _start_cc_license(self, attrs: Attributes) -> None:
        value = attrs.get(self._standard("rdf:resource"))
        link = {"rel": "license", "href": value} if value else {"rel": "license"}
        self._context().setdefault("links", []).append(link)

    def _start_creativecommons_license(self, attrs: Attributes) -> None:
        self._push("license", 1)

    def _end_creativecommons_license(self) -> None:
        value = self._pop("license")
        context = self._context()
        link = {"rel": "license", "href": value} if value else {"rel": "license"}
        context.setdefault("links", []).append(link)
        del context["license"]

    def _start_media_group(self, attrs: Attributes) -> None:
        pass

    def _start_media_content(self, attrs: Attributes) -> None:
        self._context().setdefault("media_content", []).append(attrs)

    def _start_media_thumbnail(self, attrs: Attributes) -> None:
        thumbnails = self._context().setdefault("media_thumbnail", [])
        self._push("url", 1)
        thumbnails.append(attrs)

    def _end_media_thumbnail(self) -> None:
        url = self._pop("url")
        if url is not None and url.strip():
            thumbnail = self._context()["media_thumbnail"][-1]
            if "url" not in thumbnail:
                thumbnail["url"] = url

    def _start_media_player(self, attrs: Attributes) -> None:
        self._push("media_player", 0)
        self._context()["media_player"] = dict(attrs)

    def _end_media_player(self) -> None:
        value = self._pop("media_player")
        self._context()["media_player"]["content"] = value

    def _start_media_rating(self, attrs: Attributes) -> None:
        self._context().setdefault("media_rating", attrs)
        self._push("rating", 1)

    def _end_media_rating(self) -> None:
        self._media_text("rating", "media_rating")

    def _start_media_credit(self, attrs: Attributes) -> None:
        self._context().setdefault("media_credit", []).append(attrs)
        self._push("credit", 1)

    def _end_media_credit(self) -> None:
        credit = self._pop("credit")
        if credit is not None and credit.strip():
            self._context()["media_credit"][-1]["content"] = credit

    def _start_media_restriction(self, attrs: Attributes) -> None:
        self._context().setdefault("media_restriction", attrs)
        self._push("restriction", 1)

    def _end_media_restriction(self) -> None:
        value = self._pop("restriction")
        if value is not None and value.strip():
            countries = [code.strip().lower() for code in value.split(" ")]
            self._context()["media_restriction"]["content"] = countries

    def _start_media_license(self, attrs: Attributes) -> None:
        self._context().setdefault("media_license", attrs)
        self._push("license", 1)

    def _end_media_license(self) -> None:
        self._media_text("license", "media_license")

    def _media_text(self, element: str, key: str) -> None:
        value = self._pop(element)
        if value is not None and value.strip():
            self._context()[key]["content"] = value


_STARTS: dict[str, Handler] = {
    "abstract": _Reader._start_abstract,
    "author": _Reader._start_author,
    "category": _Reader._start_category,
    "cc_license": _Reader._start_cc_license,
    "channel": _Reader._start_channel,
    "cloud": _Reader._start_cloud,
    "content": _Reader._start_content,
    "content_encoded": _Reader._start_content_encoded,
    "contributor": _Reader._start_contributor,
    "copyright": _Reader._start_rights,
    "created": _Reader._start_created,
    "creativeCommons_license": _Reader._start_creativecommons_license,
    "creativecommons_license": _Reader._start_creativecommons_license,
    "dc_author": _Reader._start_author,
    "dc_contributor": _Reader._start_dc_contributor,
    "dc_creator": _Reader._start_author,
    "dc_date": _Reader._start_updated,
    "dc_description": _Reader._start_description,
    "dc_language": _Reader._start_language,
    "dc_publisher": _Reader._start_webmaster,
    "dc_rights": _Reader._start_rights,
    "dc_subject": _Reader._start_category,
    "dc_title": _Reader._start_title,
    "dcterms_created": _Reader._start_created,
    "dcterms_issued": _Reader._start_published,
    "dcterms_modified": _Reader._start_updated,
    "dcterms_valid": _Reader._start_dcterms_valid,
    "description": _Reader._start_description,
    "email": _Reader._start_email,
    "enclosure": _Reader._start_enclosure,
    "entry": _Reader._start_item,
    "expirationdate": _Reader._start_expirationdate,
    "feed": _Reader._start_feed,
    "feedburner_browserfriendly": _Reader._start_info,
    "fullitem": _Reader._start_content_encoded,
    "generator": _Reader._start_generator,
    "guid": _Reader._start_guid,
    "height": _Reader._start_height,
    "homepage": _Reader._start_url,
    "id": _Reader._start_guid,
    "image": _Reader._start_image,
    "info": _Reader._start_info,
    "issued": _Reader._start_published,
    "item": _Reader._start_item,
    "itunes_author": _Reader._start_author,
    "itunes_category": _Reader._start_itunes_category,
    "itunes_email": _Reader._start_email,
    "itunes_image": _Reader._start_itunes_image,
    "itunes_link": _Reader._start_itunes_image,
    "itunes_name": _Reader._start_name,
    "itunes_owner": _Reader._start_itunes_owner,
    "itunes_subtitle": _Reader._start_subtitle,
    "itunes_summary": _Reader._start_summary,
    "keywords": _Reader._start_category,
    "language": _Reader._start_language,
    "lastbuilddate": _Reader._start_updated,
    "link": _Reader._start_link,
    "managingeditor": _Reader._start_author,
    "media_category": _Reader._start_media_category,
    "media_content": _Reader._start_media_content,
    "media_credit": _Reader._start_media_credit,
    "media_description": _Reader._start_description,
    "media_group": _Reader._start_media_group,
    "media_license": _Reader._start_media_license,
    "media_player": _Reader._start_media_player,
    "media_rating": _Reader._start_media_rating,
    "media_restriction": _Reader._start_media_restriction,
    "media_thumbnail": _Reader._start_media_thumbnail,
    "media_title": _Reader._start_title,
    "modified": _Reader._start_updated,
    "name": _Reader._start_name,
    "newlocation": _Reader._start_newlocation,
    "pubdate": _Reader._start_published,
    "published": _Reader._start_published,
    "rights": _Reader._start_rights,
    "rss": _Reader._start_rss,
    "source": _Reader._start_source,
    "subtitle": _Reader._start_subtitle,
    "summary": _Reader._start_summary,
    "tagline": _Reader._start_subtitle,
    "tags": _Reader._start_tags,
    "textinput": _Reader._start_textinput,
    "title": _Reader._start_title,
    "updated": _Reader._start_updated,
    "uri": _Reader._start_url,
    "url": _Reader._start_url,
    "webmaster": _Reader._start_webmaster,
    "width": _Reader._start_width,
}
"""Start handlers by element key, as feedparser names them (``_start_<key>``)."""

_ENDS: dict[str, EndHandler] = {
    "abstract": _Reader._end_description,
    "author": _Reader._end_author,
    "category": _Reader._end_category,
    "channel": _Reader._end_channel,
    "content": _Reader._end_content,
    "content_encoded": _Reader._end_content,
    "contributor": _Reader._end_contributor,
    "copyright": _Reader._end_rights,
    "created": _Reader._end_created,
    "creativeCommons_license": _Reader._end_creativecommons_license,
    "creativecommons_license": _Reader._end_creativecommons_license,
    "dc_author": _Reader._end_author,
    "dc_contributor": _Reader._end_dc_contributor,
    "dc_creator": _Reader._end_author,
    "dc_date": _Reader._end_updated,
    "dc_description": _Reader._end_description,
    "dc_language": _Reader._end_language,
    "dc_publisher": _Reader._end_webmaster,
    "dc_rights": _Reader._end_rights,
    "dc_subject": _Reader._end_category,
    "dc_title": _Reader._end_title,
    "dcterms_created": _Reader._end_created,
    "dcterms_issued": _Reader._end_published,
    "dcterms_modified": _Reader._end_updated,
    "dcterms_valid": _Reader._end_dcterms_valid,
    "description": _Reader._end_description,
    "email": _Reader._end_email,
    "entry": _Reader._end_item,
    "expirationdate": _Reader._end_expirationdate,
    "feed": _Reader._end_channel,
    "feedburner_browserfriendly": _Reader._end_info,
    "fullitem": _Reader._end_content,
    "generator": _Reader._end_generator,
    "guid": _Reader._end_guid,
    "height": _Reader._end_height,
    "homepage": _Reader._end_url,
    "id": _Reader._end_guid,
    "image": _Reader._end_image,
    "info": _Reader._end_info,
    "issued": _Reader._end_published,
    "item": _Reader._end_item,
    "itunes_author": _Reader._end_author,
    "itunes_block": _Reader._end_itunes_block,
    "itunes_category": _Reader._end_category,
    "itunes_email": _Reader._end_email,
    "itunes_explicit": _Reader._end_itunes_explicit,
    "itunes_keywords": _Reader._end_itunes_keywords,
    "itunes_name": _Reader._end_name,
    "itunes_owner": _Reader._end_itunes_owner,
    "itunes_subtitle": _Reader._end_subtitle,
    "itunes_summary": _Reader._end_summary,
    "keywords": _Reader._end_category,
    "language": _Reader._end_language,
    "lastbuilddate": _Reader._end_updated,
    "link": _Reader._end_link,
    "managingeditor": _Reader._end_author,
    "media_category": _Reader._end_category,
    "media_credit": _Reader._end_media_credit,
    "media_description": _Reader._end_description,
    "media_keywords": _Reader._end_media_keywords,
    "media_license": _Reader._end_media_license,
    "media_player": _Reader._end_media_player,
    "media_rating": _Reader._end_media_rating,
    "media_restriction": _Reader._end_media_restriction,
    "media_thumbnail": _Reader._end_media_thumbnail,
    "media_title": _Reader._end_media_title,
    "modified": _Reader._end_updated,
    "name": _Reader._end_name,
    "newlocation": _Reader._end_newlocation,
    "pubdate": _Reader._end_published,
    "published": _Reader._end_published,
    "rights": _Reader._end_rights,
    "source": _Reader._end_source,
    "subtitle": _Reader._end_subtitle,
    "summary": _Reader._end_summary,
    "tagline": _Reader._end_subtitle,
    "tags": _Reader._end_tags,
    "textinput": _Reader._end_textinput,
    "title": _Reader._end_title,
    "updated": _Reader._end_updated,
    "uri": _Reader._end_url,
    "url": _Reader._end_url,
    "webmaster": _Reader._end_webmaster,
    "width": _Reader._end_width,
}
"""End handlers by element key (``_end_<key>``); without one, feedparser pops the element."""
