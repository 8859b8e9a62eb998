"""Page HTML -> clean article text and metadata.

The only module that uses trafilatura and lxml. One page goes through four steps:

1. decode the bytes (BOM, ``<meta charset>``, else UTF-8) and parse them once with lxml;
2. prune the boilerplate that trafilatura keeps when a theme puts it inside the article
   container: comment threads and forms, share bars, newsletter boxes, cookie banners (by
   their class names), and comment threads and forum replies (by their structure);
3. let trafilatura pick the main content (comments off, its cross-call deduplication off, so
   the output never depends on earlier calls) and the metadata. Its fast pass decides unless
   the result is mostly menu-like short lines; then its full pass gives a second opinion;
4. render trafilatura's tree as plain text, one paragraph per block, and drop the lines that
   are boilerplate (copyright, "Advertisement", "Read more: ...", share and subscribe prompts)
   in English, German, French and Spanish.

Feed content (HTML from an RSS/Atom entry) goes through steps 1, 2 and 4 in
``clean_feed_html``: it is the article already, so trafilatura's page heuristics are skipped.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml import etree

from aggregator.errors import ExtractError
from aggregator.models import Extracted

__all__ = ["clean_feed_html", "extract", "is_boilerplate_line"]


#: Pages with more markup than this are not extracted (news pages have a few thousand tags).
MAX_PAGE_TAGS = 100_000


def extract(html: str | bytes, url: str | None = None, *, encoding: str | None = None) -> Extracted:
    """Extract the article text and metadata of a page.

    ``url`` is where the page came from: it resolves a relative canonical link and helps the
    metadata; nothing is ever downloaded. ``encoding`` is the charset of the HTTP
    Content-Type header, if any (it outranks the page's own ``<meta charset>``). Raises
    ``ExtractError`` when the input is not HTML or holds no article text.
    """
    tags = html.count(b"<") if isinstance(html, bytes) else html.count("<")
    if tags > MAX_PAGE_TAGS:
        # Real articles have a few thousand; a million nested elements is an attack on memory.
        raise ExtractError(f"the page has more than {MAX_PAGE_TAGS:,} tags: not extracted")
    text = _decode(html, encoding) if isinstance(html, bytes) else html
    try:
        tree = _parse(text)
        canonical_url = _canonical_url(tree, url)
        lang = _page_lang(tree)
        _prune_boilerplate(tree)
        body = _article_text(tree, url)
        if len(_WORD.findall(body, 0, 1000)) < _MIN_WORDS:
            raise ExtractError("no article text was found on the page")
        metadata = trafilatura.extract_metadata(tree, url, _date_params())
    except ExtractError:
        raise
    except Exception as exc:
        raise ExtractError(f"the page could not be processed: {exc}") from exc
    return Extracted(
        text=body,
        title=metadata.title or None,
        author=metadata.author or None,
        published=_parse_date(metadata.date),
        lang=lang or _language_code(metadata.language),
        canonical_url=canonical_url,
        sitename=metadata.sitename or None,
    )


def clean_feed_html(html: str, url: str | None = None) -> str:
    """Turn the HTML content of a feed entry into clean text, filtered like ``extract``'s.

    Returns ``""`` when nothing but boilerplate (or nothing at all) is left. ``url`` is the
    entry's link; the text keeps no links, so it is accepted for symmetry with ``extract``.
    """
    if not html.strip():
        return ""
    try:
        tree = _parse(f"<html><body>{html}</body></html>")
        _prune_boilerplate(tree)
        return _render(tree.body)
    except ExtractError:
        return ""
    except Exception as exc:
        raise ExtractError(f"the feed content could not be processed: {exc}") from exc


def plain_text(text: str) -> str:
    """A one-line field (a title, an author) as plain text: markup removed, spaces collapsed.

    Feeds put escaped HTML in titles; what we store is the words, never the tags.
    """
    if "<" not in text and "&" not in text:
        return " ".join(text.split())
    try:
        tree = _parse(f"<html><body><div>{text}</div></body></html>")
        for element in tree.xpath("//script|//style|//template"):
            element.drop_tree()
        words = tree.body.text_content()
    except ExtractError:
        words = ""
    except Exception as exc:
        raise ExtractError(f"the text could not be processed: {exc}") from exc
    return " ".join(words.split())


# --- decoding and parsing ------------------------------------------------------------------

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
# Characters that XML (and so trafilatura's output tree) refuses.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _decode(data: bytes, http_charset: str | None = None) -> str:
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


def _parse(text: str) -> lxml.html.HtmlElement:
    """Parse a document with lxml; ExtractError when it is empty, binary or has no body."""
    if not text.strip():
        raise ExtractError("the page is empty")
    if "\x00" in text[:1024]:
        raise ExtractError("the page is binary data, not HTML")
    parser = lxml.html.HTMLParser(  # huge_tree: badly closed pages nest deeper than 256
        encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=True
    )
    data = _XML_INVALID.sub("", text).encode("utf-8", errors="replace")
    try:
        tree = lxml.html.document_fromstring(data, parser=parser)
    except etree.ParserError as exc:
        raise ExtractError("the page holds no HTML content") from exc
    if tree.find("body") is None:
        raise ExtractError("the page has no body")
    return tree


# --- main text -----------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_MIN_WORDS = 3  # fewer is a stray label ("Home"), not an article


def _article_text(tree: lxml.html.HtmlElement, url: str | None) -> str:
    """The main text, rendered and filtered.

    trafilatura's fast pass decides, unless what it found is mostly short lines (menus, link
    lists): then its full pass, which compares with its fallback extractors, gives a second
    opinion, and the text with the better balance of prose over short lines wins. Both passes
    work on copies of ``tree``.
    """
    text = _trafilatura_text(tree, url, fast=True)
    if text and _prose_chars(text) * 2 >= len(text):
        return text
    second = _trafilatura_text(tree, url, fast=False)
    return second if _prose_balance(second) > _prose_balance(text) else text


def _trafilatura_text(tree: lxml.html.HtmlElement, url: str | None, *, fast: bool) -> str:
    document = trafilatura.bare_extraction(
        tree, url=url, fast=fast, include_comments=False, deduplicate=False
    )
    return _render(getattr(document, "body", None))  # None when trafilatura found nothing


def _prose_chars(text: str) -> int:
    """Characters in the lines that read as prose rather than as menu entries or labels.

    A prose line has eight words or more, or is long (for scripts written without spaces).
    """
    return sum(len(line) for line in text.splitlines() if len(line) >= 60 or line.count(" ") >= 7)


def _prose_balance(text: str) -> int:
    """Prose characters minus the other characters."""
    return 2 * _prose_chars(text) - len(text)


# --- pruning before trafilatura --------------------------------------------------------------


def _tokens(*names: str) -> re.Pattern[str]:
    """A regex finding any of ``names`` as a whole token of an id or class attribute."""
    return re.compile(r"(?:^|[\s_-])(?:" + "|".join(names) + r")(?:$|[\s_-])", re.IGNORECASE)


# Comment sections are removed whatever their size. Promo boxes (share bars, newsletter
# sign-ups, cookie banners, dialogs) and forms (comment, sign-up, search) go only while small,
# so that a class name on a wrapper (or a page-wide ASP.NET <form>) never takes the article
# along. Nothing holding the <h1> or the declared article body is removed.
_COMMENT_ID = re.compile(
    r"(?:comments?|respond|disqus_thread|dsq-comments|wpdcom|comments-section)$", re.IGNORECASE
)
_COMMENT_CLASS = _tokens(
    "comments-area",
    "comment-respond",
    "commentlist",
    "comment-list",
    "comments-list",
    "comment-form",
    "wpdiscuz",
    "wpd-thread-list",
    "disqus",
)
_COMMENT_ITEM_CLASS = re.compile(r"(?:^|\s)comment(?:\s|$)")  # WordPress: li.comment
_PROMO = _tokens(
    "share",
    "sharing",
    "sharebar",
    "sharedaddy",
    "addtoany",
    "a2a_kit",
    "shariff",
    "newsletter",
    "signup",
    "sign-up",
    "subscribe",
    "optin",
    "mc4wp",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "onetrust",
    "cookiebot",
)
_PROMO_MAX_CHARS = 1000
_HINT = re.compile(
    "comment|respond|disqus|wpd|shar|addtoany|a2a|newsletter|sign|subscribe|optin|mc4wp|cookie"
    "|consent|gdpr|onetrust"
)  # on lowercased names: an IGNORECASE search is several times slower
_CANDIDATES = etree.XPath(
    "//body//*[@id or @class or @role or @aria-modal or @itemprop or @itemtype or self::form]"
)
_HOLDS_ARTICLE = etree.XPath("boolean(.//h1 | .//*[@itemprop='articleBody'])")


def _prune_boilerplate(tree: lxml.html.HtmlElement) -> None:
    """Remove comment sections, comment forms, promo boxes and threads from the tree, in place."""
    for element in _CANDIDATES(tree):
        if _is_boilerplate_element(element) and not _HOLDS_ARTICLE(element):
            element.drop_tree()  # harmless when an ancestor already went
    _prune_threads(tree)


def _is_boilerplate_element(element: lxml.html.HtmlElement) -> bool:
    id_ = element.get("id") or ""
    classes = element.get("class") or ""
    attrib = element.attrib
    if not (
        _HINT.search(f"{id_} {classes}".lower())
        or "role" in attrib
        or "aria-modal" in attrib
        or "itemprop" in attrib
        or "itemtype" in attrib
        or element.tag == "form"
    ):
        return False  # the common case, decided fast
    if (
        _COMMENT_ID.match(id_)
        or _COMMENT_CLASS.search(classes)
        or (element.tag in ("li", "article") and _COMMENT_ITEM_CLASS.search(classes))
        or element.get("itemprop") == "comment"
        or re.search(r"schema\.org/(?:Comment|UserComments)\b", element.get("itemtype") or "")
    ):
        return True
    promo = (
        _PROMO.search(id_)
        or _PROMO.search(classes)
        or element.get("role") in ("dialog", "alertdialog")
        or element.get("aria-modal") == "true"
        or element.tag == "form"
    )
    return bool(promo) and len(element.text_content()) < _PROMO_MAX_CHARS


# Reader comments and forum replies without telling class names are found by their shape: a
# run of sibling blocks of one shape, each with a reply or quote link, or a forum member's
# "Joined: ..." line. The markers are whole short texts, matched on the lowercased text.
_THREAD_MARKER = re.compile(
    r"(?:reply|quote|antworten|zitieren|répondre|citer|responder|citar)(?: to [^.!?]{1,40})?"
    r"[\s↓↵→»\u203a]*"
    r"|(?:joined|member since|registriert(?: seit)?|mitglied seit|dabei seit|inscrite?"
    r"|membre depuis|registrado|miembro desde)\s*:?(?:\s[^!?]{1,30})?"
)
_MARKER_TEXTS = etree.XPath("//body//text()[normalize-space()][string-length() < 60]")
_RESPONSES = (
    r"(?:comments?|thoughts?|responses?|replies|reactions?|kommentare?|gedanken|antworten"
    r"|reaktionen|commentaires?|réflexions?|réponses?|réactions?|comentarios?|respuestas?"
    r"|reacciones)"
)
_COUNT_HEADING = re.compile(  # "3 thoughts on ...", "12 Kommentare", "Comments (4)"
    rf"(?:\d+|one|two|three|four|five|ein|eine|un|une|uno|una)\s+{_RESPONSES}\b.{{0,80}}"
    rf"|{_RESPONSES}\s*\(?\d+\)?"
)
_MIN_THREAD_ITEMS = 3
_MAX_META_CHARS = 200  # a post's author or action bar, as opposed to its text


def _prune_threads(tree: lxml.html.HtmlElement) -> None:
    """Remove comment threads and forum replies recognised by their structure, in place.

    A thread is a run of at least three sibling blocks of the same shape (tag and child tags)
    that each hold a thread marker. In a forum the first post is the article: it stays (minus
    its author and action bars) when it holds most of the thread's text or the text around the
    thread is short. A block holding the <h1>, the declared article body or half of the page's
    text is never removed; a comment-count heading right before the thread goes with it.
    """
    marked: dict[etree._Element, set[etree._Element]] = {}
    for text in _MARKER_TEXTS(tree):
        if not _THREAD_MARKER.fullmatch(" ".join(text.split()).lower()):
            continue
        child = text.getparent()
        if text.is_tail:
            child = child.getparent()
        while child is not None and (parent := child.getparent()) is not None:
            marked.setdefault(parent, set()).add(child)
            child = parent
    threads = []
    for parent, children in marked.items():
        items = _thread_items(parent, children)
        if items:
            threads.append(items)
    if not threads:
        return
    page_chars = len(tree.body.text_content())
    for items in threads:
        _prune_thread(items, page_chars)


def _thread_items(
    parent: etree._Element, marked: set[etree._Element]
) -> list[etree._Element] | None:
    """The marked children of ``parent`` that form a thread, in document order, or None."""
    if len(marked) < _MIN_THREAD_ITEMS:
        return None
    # In document order, so that a tie between two shapes always goes the same way.
    shapes = Counter(_shape(child) for child in parent if child in marked)
    [(shape, count)] = shapes.most_common(1)
    if count < _MIN_THREAD_ITEMS:
        return None
    tag = shape[0]
    siblings = [child for child in parent if child.tag == tag]
    if 2 * count < len(siblings):  # a marker here and there in a list: not a thread
        return None
    return [child for child in siblings if child in marked]


def _shape(element: etree._Element) -> tuple[str, ...]:
    """An element's tag and its children's tags: what the posts of one thread share."""
    return (_tag(element), *(_tag(child) for child in element))


def _prune_thread(items: list[etree._Element], page_chars: int) -> None:
    """Remove a thread's posts (all but the first in a forum) and its comment-count heading."""
    sizes = [len(item.text_content()) for item in items]
    first, rest = sizes[0], sizes[1:]
    if first >= 2 * max(rest) or 2 * first >= page_chars - sum(sizes):
        _prune_post_meta(items[0])  # a forum: the opening post is the article
        items, sizes = items[1:], rest
    if not items or page_chars - sum(sizes) < 2 * max(sizes):
        return  # comments are short next to the article that stays
    heading = _previous_block(items[0])
    pruned = False
    for item in items:
        if not _HOLDS_ARTICLE(item):
            item.drop_tree()
            pruned = True
    if (
        pruned
        and heading is not None
        and _COUNT_HEADING.fullmatch(" ".join(heading.text_content().split()).lower())
    ):
        heading.drop_tree()


def _prune_post_meta(post: etree._Element) -> None:
    """Drop the short parts of a kept post that hold markers (author details, action bars)."""
    for child in list(post):
        if len(child.text_content()) <= _MAX_META_CHARS and any(
            _THREAD_MARKER.fullmatch(" ".join(text.split()).lower()) for text in child.itertext()
        ):
            child.drop_tree()


def _previous_block(element: etree._Element) -> etree._Element | None:
    """The element before ``element``, or before its parent when it comes first."""
    for _ in range(2):
        previous = element.getprevious()
        if previous is not None:
            return previous
        parent = element.getparent()
        if parent is None:
            return None
        element = parent
    return None


# --- rendering -----------------------------------------------------------------------------

# Tag roles, for both lxml.html trees (feed content) and trafilatura's output tree
# (head, list, item, row, cell, quote, code, lb, graphic, hi, ref).
_SKIPPED = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas"}
    | {"video", "audio", "picture", "img", "graphic", "button", "input", "select", "option"}
    | {"textarea", "label", "nav"}
)
_CONTAINERS = frozenset(
    {"body", "div", "section", "article", "main", "header", "footer", "aside", "p", "head"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd", "blockquote", "quote", "figure"}
    | {"figcaption", "caption", "details", "summary", "center", "address", "form", "fieldset"}
    | {"hgroup"}
)
_LISTS = frozenset({"ul", "ol", "list", "menu"})
_ITEMS = frozenset({"li", "item"})
_TABLES = frozenset({"table"})
_ROWS = frozenset({"tr", "row"})
_CELLS = frozenset({"td", "th", "cell"})
_VERBATIM = frozenset({"pre", "code"})
_BREAKS = frozenset({"br", "lb"})
_BLOCKS = _CONTAINERS | _LISTS | _TABLES | _VERBATIM | _ROWS | _ITEMS


class _Block(NamedTuple):
    lines: tuple[str, ...]
    checked: bool = False
    """True when the lines must not go through the line filter: code is kept exactly, and
    list items were checked before their marker was added."""


def _render(root: etree._Element | None) -> str:
    """Plain text of a tree: blocks separated by a blank line, boilerplate lines dropped."""
    if root is None:
        return ""
    try:
        blocks = list(_blocks(root))
    except RecursionError:  # absurdly deep markup: keep the text, lose the layout
        etree.strip_elements(root, *_SKIPPED, with_tail=False)
        blocks = [_Block(_clean_lines("\n".join(root.itertext())))]
    paragraphs = []
    for block in blocks:
        lines = [line for line in block.lines if block.checked or not is_boilerplate_line(line)]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _tag(element: etree._Element) -> str:
    """The tag name ('' for comments and processing instructions)."""
    tag = element.tag
    return tag if isinstance(tag, str) else ""


def _blocks(container: etree._Element) -> Iterator[_Block]:
    """The blocks of a container, in document order; loose inline text forms its own block."""
    inline = [container.text or ""]
    for child in container:
        tag = _tag(child)
        if _is_block(child, tag):
            yield from _text_block(inline)
            yield from _child_blocks(child, tag)
            inline = [child.tail or ""]
        else:
            inline.append(_inline_text(child))
            inline.append(child.tail or "")
    yield from _text_block(inline)


def _child_blocks(element: etree._Element, tag: str) -> Iterator[_Block]:
    if tag in _VERBATIM:
        code = "".join(_inline_parts(element, verbatim=True)).strip("\n").rstrip()
        if code.strip():
            yield _Block(tuple(code.splitlines()), checked=True)
    elif tag in _LISTS:
        yield _Block(tuple(_list_lines(element, depth=0)), checked=True)
    elif tag in _TABLES and element.find(".//table") is None:
        yield _Block(tuple(_table_lines(element)))
    else:  # containers, layout tables, and rows or items outside their parents
        yield from _blocks(element)


def _text_block(parts: list[str]) -> Iterator[_Block]:
    lines = _clean_lines("".join(parts))
    if lines:
        yield _Block(lines)


def _clean_lines(text: str) -> tuple[str, ...]:
    """Split on line breaks, collapse whitespace, drop empty lines."""
    return tuple(line for line in (" ".join(raw.split()) for raw in text.split("\n")) if line)


def _is_block(element: etree._Element, tag: str) -> bool:
    """Whether an element starts its own block (a <code> does only when it spans lines)."""
    if tag == "code":
        return "\n" in "".join(element.itertext())
    return tag in _BLOCKS


def _inline_text(element: etree._Element) -> str:
    return "".join(_inline_parts(element, verbatim=False))


def _inline_parts(element: etree._Element, *, verbatim: bool) -> Iterator[str]:
    """The text of an element, line breaks as newlines; nested blocks start on a new line."""
    tag = _tag(element)
    if tag in _SKIPPED:
        return
    if tag in _BREAKS:
        yield "\n"
        return
    block = not verbatim and _is_block(element, tag)
    if block:
        yield "\n"
    yield element.text or ""
    for child in element:
        yield from _inline_parts(child, verbatim=verbatim)
        yield child.tail or ""
    if block:
        yield "\n"


def _list_lines(element: etree._Element, depth: int) -> Iterator[str]:
    indent = "  " * depth
    for item in element:
        if _tag(item) not in _ITEMS:
            continue
        parts = [item.text or ""]
        sublists = []
        for child in item:
            if _tag(child) in _LISTS:
                sublists.append(child)
            else:
                parts.append(_inline_text(child))
            parts.append(child.tail or "")
        text = " ".join(_clean_lines("".join(parts)))
        if text and not is_boilerplate_line(text):
            yield f"{indent}- {text}"
        for sublist in sublists:
            yield from _list_lines(sublist, depth + 1)


def _table_lines(table: etree._Element) -> Iterator[str]:
    for row in table.iter("tr", "row"):
        cells = (" ".join(_clean_lines(_inline_text(cell))) for cell in row if _tag(cell) in _CELLS)
        line = " | ".join(cell for cell in cells if cell)
        if line:
            yield line


# --- the line filter -------------------------------------------------------------------------


def _rule(limit: int, *patterns: str) -> tuple[int, re.Pattern[str]]:
    """Patterns anchored at the start of a line that are boilerplate up to ``limit`` chars.

    They are matched against the lowercased line (IGNORECASE makes them several times slower).
    """
    return limit, re.compile("|".join(f"(?:{p})" for p in patterns))


# In the patterns, \u2013 is an en dash, \u2018 a left single quote, \u203a a single guillemet.
_END = r"[\s.:!…»\u203a>→|*-]*$"  # trailing punctuation a prompt may carry
_SHARE_ITEM = (
    r"(?:share|sharing|teilen|partager|compartir|tweet|pin(?: it)?|e-?mail|print|drucken"
    r"|imprimer|imprimir|copy link|link kopieren|whatsapp|facebook|twitter|x|linkedin|reddit"
    r"|pinterest|telegram|messenger|flipboard|xing|bluesky|threads|mastodon)"
    r"(?: (?:this|the|it|diesen|den|cet|cette|este|esta))?"
    r"(?: (?:article|story|post|page|link|artikel|beitrag|artículo|noticia|nota))?"
    r"(?: (?:on|via|with|to|auf|per|über|sur|par|en|por) [\w.-]+)?"
    r"|(?:auf|per|via|über) [\w.-]+ teilen"
)
_SHARE_SEP = r"[\s|·•,/:\u2013—-]+"

_BOILERPLATE_RULES = (
    # Copyright and rights notices.
    _rule(
        200,
        r"(?:©|\(c\) ?(?:\d{4}|copyright)|copyright\s*(?:©|\(c\)|\d{4}|by\b|:))",
        r"(?:all rights reserved|alle rechte vorbehalten|tous droits réservés"
        r"|(?:todos los )?derechos reservados)\b",
        r".{0,150}\b(?:all rights reserved|alle rechte vorbehalten|tous droits réservés"
        r"|(?:todos los )?derechos reservados)[\s.)]*$",
        r"this material may not be published, broadcast, rewritten,? (?:or|and) redistributed",
    ),
    # Advertising labels.
    _rule(
        80,
        r"(?:advertisement|advertising|ad|ads|anzeige|werbung|publicité|publicidad|pub"
        r"|sponsored(?: content)?|paid content)" + _END,
        r"(?:story|article|text|content) continues (?:below|after)(?: (?:this|the))?"
        r" (?:advertisement|ad)s?" + _END,
        r"advertisement\b.{0,40}\b(?:scroll|continue)",
        r"scroll (?:down )?to continue(?: reading| with content)?" + _END,
        r"weiter nach der anzeige" + _END,
        r"la suite après (?:cette |la )?publicité" + _END,
    ),
    # "Read more: <other story>" teasers and "continue reading" links.
    _rule(
        200,
        r"(?:read more|read also|also read|read next|see also|related|related articles?"
        r"|related stories|related coverage|more on this(?: story| topic)?|lesen sie auch"
        r"|lesen sie mehr|mehr zum thema|auch interessant|weiterlesen|mehr dazu|lire aussi"
        r"|à lire aussi|a lire aussi|lire la suite|voir aussi|sur le même sujet|leer más"
        r"|lea también|lee también|te puede interesar|ver también)\s*[:»\u203a>→|\u2013—]",
        r"(?:read more|continue reading|read the full (?:story|article)|weiterlesen|mehr lesen"
        r"|lire la suite|leer más|seguir leyendo)" + _END,
        r"continue reading\b.{0,100}[→»\u203a]$",
        r"the post .{1,150} appeared first on .{1,100}$",
    ),
    # Headings of related-content, author and reader-response sections.
    _rule(
        100,
        r"(?:related (?:posts?|articles?|stories|content|coverage|reading|links|topics|news)"
        r"|more (?:stories|articles|news)|you (?:may|might) also (?:like|enjoy)"
        r"|recommended(?: for you| stories| articles| reading)?|popular (?:posts|stories)"
        r"|most (?:read|popular|viewed|shared)|trending(?: now)?|don't miss"
        r"|verwandte (?:artikel|beiträge|themen)|ähnliche (?:artikel|beiträge)"
        r"|das könnte sie auch interessieren|meistgelesen|articles (?:similaires|liés|connexes)"
        r"|à lire également|artículos relacionados|noticias relacionadas|lo más leído)" + _END,
        r"more from [^.!?:;,]{1,70}$",
        r"recommended from [^.!?]{1,40}$",
        r"[\d.,]+[km]? followers$",
        r"(?:follow|listen|write a response|what are your thoughts\?|responses \(\d+\))" + _END,
    ),
    # Comment forms and threads.
    _rule(
        200,
        r"leave a (?:reply|comment|response)\b",
        r"your email address will not be published\b",
        r"required fields are marked\b",
        r"save my name, email,? and website in this browser\b",
        r"you must be (?:logged|signed) in to post a comment",
        r"you must (?:log in|sign in)(?: or (?:register|sign up))? to (?:reply|post|comment)\b",
        r"sie müssen sich (?:anmelden|einloggen)(?: oder registrieren)?,? um (?:hier )?"
        r"(?:zu antworten|zu kommentieren|einen kommentar)",
        r"vous devez vous connecter(?: ou vous inscrire)? pour (?:répondre|commenter)",
        r"debes iniciar sesión(?: o registrarte)? para (?:responder|comentar)",
        r"notify me of (?:follow-up comments|new posts)",
        r"this site uses akismet to reduce spam",
        r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
        r" (?:thoughts?|comments?|responses?|replies|reactions?) (?:on|to) [“\"«„\u2018'].*",
        r"(?:cancel reply|post comment|submit comment|add (?:a )?comment|join the (?:discussion"
        r"|conversation)|comments are closed|no comments(?: yet)?|be the first to comment"
        r"|(?:show|view|load) comments|\d+ (?:comments?|responses?|replies))" + _END,
        r"(?:schreibe|schreiben sie|hinterlasse|hinterlassen sie) (?:einen|eine)"
        r" (?:kommentar|antwort)\b",
        r"(?:deine|ihre) e-?mail-?adresse wird nicht veröffentlicht",
        r"erforderliche felder sind (?:mit \*? ?)?markiert",
        r"(?:antworten abbrechen|kommentar abschicken|kommentar absenden|\d+ kommentare?)" + _END,
        r"lais(?:ser|sez) une? (?:commentaire|réponse)\b",
        r"(?:votre|ton) adresse (?:e-?mail|de messagerie|courriel) ne sera pas publiée",
        r"les champs obligatoires sont (?:indiqués|marqués)",
        r"(?:annuler (?:la )?réponse|\d+ commentaires?)" + _END,
        r"deja (?:un comentario|una respuesta)\b",
        r"(?:tu|su) (?:dirección de )?correo(?: electrónico)? no (?:será|se) publica",
        r"los campos obligatorios están marcados",
        r"(?:cancelar (?:la )?respuesta|publicar comentario|\d+ comentarios?)" + _END,
    ),
    # Share bars and follow prompts.
    _rule(
        160,
        rf"(?:{_SHARE_ITEM})(?:{_SHARE_SEP}(?:{_SHARE_ITEM}))*" + _END,
        r"share (?:this|the) (?:article|story|post|page)\b",
        r"(?:follow us|folgen sie uns|suivez-nous|síguenos) (?:on|auf|sur|en)\b",
    ),
    # Newsletter and subscription prompts.
    _rule(
        160,
        r"(?:subscribe|sign up|signup|register)(?: now| today| free)? (?:for|to)\b.{0,50}?"
        r"\b(?:newsletters?|mailing list|e-?mail (?:list|updates|alerts)|inbox)\b",
        r"subscribe(?: now| today| here| for free)?" + _END,
        r"(?:get|receive|have) .{0,60}(?:delivered|sent) (?:straight |directly |right )?"
        r"to your inbox",
        r"(?:you can )?unsubscribe (?:at any time|anytime)",
        r"(?:by subscribing|by signing up|already a subscriber)\b",
        r"(?:jetzt )?(?:(?:den|unseren|zum) )?newsletter (?:abonnieren|bestellen|anmelden)\b",
        r"(?:melden sie sich|abonnieren sie)\b.{0,60}newsletter",
        r"jetzt abonnieren" + _END,
        r"abonnez-vous\b",
        r"(?:inscrivez-vous|recevez)\b.{0,60}(?:newsletter|lettre d'information)",
        r"suscr[ií]b(?:ete|ase)\b",
        r"(?:reg[ií]strate|recibe)\b.{0,60}(?:boletín|newsletter)",
    ),
    # Cookie notices.
    _rule(
        400,
        r"(?:this (?:web)?site|we|our (?:web)?site) uses? cookies\b",
        r"by (?:continuing to (?:browse|use)|using) (?:this|our) (?:web)?site\b.{0,200}cookies",
        r"(?:accept|allow|reject|decline|manage) (?:all )?cookies" + _END,
        r"cookie (?:settings|preferences|policy)" + _END,
        r"(?:diese (?:web)?(?:seite|site)|wir) (?:verwendet|verwenden|nutzt|nutzen) cookies\b",
        r"(?:ce site(?: web)?|nous) (?:utilise|utilisons) des cookies\b",
        r"en poursuivant votre navigation\b",
        r"(?:este sitio(?: web)?|esta (?:web|página)|utilizamos|usamos)"
        r" (?:utiliza |usa )?cookies\b",
    ),
)
_LONGEST_RULE = max(limit for limit, _ in _BOILERPLATE_RULES)
_DECORATION = " -\u2013—•·*|_=~"  # around labels such as "- Advertisement -"


def is_boilerplate_line(line: str) -> bool:
    """Whether a line of text is boilerplate (copyright, ads, teasers, prompts, notices).

    Every pattern is anchored at the start of the line and applies only to short lines, so
    a sentence that merely mentions "copyright law" or "subscribe" is never dropped.
    """
    text = " ".join(line.split()).strip(_DECORATION).lower()
    if len(text) > _LONGEST_RULE:
        return False
    return any(len(text) <= limit and rule.match(text) for limit, rule in _BOILERPLATE_RULES)


# --- metadata --------------------------------------------------------------------------------

_LANG_CODE = re.compile(r"\s*([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*\s*$", re.IGNORECASE)
_CANONICAL_XPATHS = (
    etree.XPath(
        "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONICAL', 'canonical')),"
        " ' '), ' canonical ')]/@href"
    ),
    etree.XPath("//meta[@property='og:url' or @name='og:url']/@content"),
)
_LANG_XPATH = etree.XPath(
    "//meta[translate(@http-equiv, 'CONTENTLAGU', 'contentlagu')='content-language']/@content"
    " | //meta[@property='og:locale']/@content"
)


def _page_lang(tree: lxml.html.HtmlElement) -> str | None:
    """The short language code the page declares (<html lang>, Content-Language, og:locale)."""
    candidates = [tree.get("lang"), tree.get("xml:lang"), *_LANG_XPATH(tree)]
    for value in candidates:
        code = _language_code(value)
        if code:
            return code
    return None


def _language_code(value: str | None) -> str | None:
    match = _LANG_CODE.match(value) if value else None
    return match.group(1).lower() if match else None


def _canonical_url(tree: lxml.html.HtmlElement, url: str | None) -> str | None:
    """rel=canonical, else og:url, made absolute against the page URL; http(s) only."""
    base = url or ""
    base_href = str(tree.xpath("string(//base/@href)")).strip()
    if base_href:
        base = urljoin(base, base_href)
    for xpath in _CANONICAL_XPATHS:
        for href in xpath(tree):
            absolute = urljoin(base, str(href).strip())
            parts = urlsplit(absolute)
            if parts.scheme in ("http", "https") and parts.hostname:
                return absolute
    return None


def _date_params() -> dict[str, object]:
    """htmldate settings: the original publication date, from markup only, with its time."""
    return {
        "original_date": True,
        "extensive_search": False,
        "deferred_url_extractor": True,
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    }


def _parse_date(value: str | None) -> datetime | None:
    """htmldate's ISO date (with time and offset when the page gave them) as an aware UTC time."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
