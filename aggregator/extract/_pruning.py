"""Boilerplate removed from the tree before trafilatura: by class names, sections of related
links by their heading, and comment threads by their shape."""

from __future__ import annotations

import re
from collections import Counter

import lxml.html
from lxml import etree

from aggregator.extract._document import tag_name
from aggregator.extract._line_filter import is_related_heading


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
# From the body. XPath's "//*" with several tests per element is slow in libxml2: elements
# without attributes are passed over first ("[@*]"), forms are a union.
_CANDIDATES = etree.XPath(
    "descendant::*[@*][@class or @id or @role or @itemprop or @itemtype or @aria-modal]"
    " | descendant::form"
)
_HOLDS_ARTICLE = etree.XPath("boolean(descendant::h1 | descendant::*[@itemprop='articleBody'])")


def prune_boilerplate(tree: lxml.html.HtmlElement) -> None:
    """Remove comment sections, comment forms, promo boxes, related-links sections and threads
    from the tree, in place."""
    body = tree.find("body")
    for element in _CANDIDATES(body):
        if _is_boilerplate_element(element) and not _HOLDS_ARTICLE(element):
            element.drop_tree()  # harmless when an ancestor already went
    _prune_related_sections(body)
    _prune_threads(body)


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


# A section that opens with a "Related posts" heading holds links to other articles, often
# with a teaser sentence each, whatever its markup: it goes while small.
_SUBHEADINGS = ("h2", "h3", "h4", "h5", "h6")
_RELATED_MAX_CHARS = 2000


def _prune_related_sections(body: lxml.html.HtmlElement) -> None:
    """Remove the small sections that open with a related-content heading, in place."""
    for heading in list(body.iter(*_SUBHEADINGS)):
        if not is_related_heading(heading.text_content()):
            continue
        opener = heading  # the heading, or a wrapper holding nothing else
        while (parent := opener.getparent()) is not None and len(parent) == 1:
            opener = parent
        section = opener.getparent()
        if (
            section is None
            or section[0] is not opener
            or section.tag in ("body", "html")
            or _HOLDS_ARTICLE(section)
            or len(section.text_content()) > _RELATED_MAX_CHARS
        ):
            continue
        section.drop_tree()


# Reader comments and forum replies without telling class names are found by their shape: a
# run of sibling blocks of one shape, each with a reply or quote link, or a forum member's
# "Joined: ..." line. The markers are whole short texts, matched on the lowercased text.
_THREAD_MARKER = re.compile(
    r"(?:reply|quote|antworten|zitieren|répondre|citer|responder|citar)(?: to [^.!?]{1,40})?"
    r"[\s↓↵→»\u203a]*"
    r"|(?:joined|member since|registriert(?: seit)?|mitglied seit|dabei seit|inscrite?"
    r"|membre depuis|registrado|miembro desde)\s*:?(?:\s[^!?]{1,30})?"
)
_MARKER_TEXTS = etree.XPath("descendant::text()[normalize-space()][string-length() < 60]")
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


def _prune_threads(body: lxml.html.HtmlElement) -> None:
    """Remove comment threads and forum replies recognised by their structure, in place.

    A thread is a run of at least three sibling blocks of the same shape (tag and child tags)
    that each hold a thread marker. In a forum the first post is the article: it stays (minus
    its author and action bars) when it holds most of the thread's text or the text around the
    thread is short. A block holding the <h1>, the declared article body or half of the page's
    text is never removed; a comment-count heading right before the thread goes with it.
    """
    marked: dict[etree._Element, set[etree._Element]] = {}
    for text in _MARKER_TEXTS(body):
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
    page_chars = len(body.text_content())
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
    return (tag_name(element), *(tag_name(child) for child in element))


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
