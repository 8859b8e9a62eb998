"""The main text of a page: trafilatura's choice, reconciled with our own DOM scoring."""

from __future__ import annotations

import copy
from typing import NamedTuple

import lxml.html
import trafilatura
from trafilatura.settings import Extractor

from aggregator.extract._dom_score import in_page_chrome, main_content
from aggregator.extract._reconcile import reconcile
from aggregator.extract._render import Block, blocks, join


class MainText(NamedTuple):
    text: str
    method: str
    """Which path produced the text: "trafilatura" (its fast pass), "trafilatura-full" (its
    full pass), either with "+dom" when the DOM scoring added or dropped blocks, or "dom"
    (trafilatura found nothing)."""


def article_text(tree: lxml.html.HtmlElement, url: str | None) -> MainText:
    """The main text, rendered and filtered.

    trafilatura's fast pass decides, unless what it found is mostly short lines (menus, link
    lists): then its full pass, which compares with its fallback extractors, gives a second
    opinion, and the text with the better balance of prose over short lines wins. Both passes
    work on copies of ``tree``. Its blocks are then reconciled with the main content that our
    own scoring finds in ``tree`` (``_dom_score``, ``_reconcile``); when trafilatura finds
    nothing worth keeping, that content's prose is the text.
    """
    chosen, method = _trafilatura_blocks(tree, url, fast=True), "trafilatura"
    text = join(chosen)
    if not text or _prose_chars(text) * 2 < len(text):
        second = _trafilatura_blocks(tree, url, fast=False)
        if _prose_balance(join(second)) > _prose_balance(text):
            chosen, method = second, "trafilatura-full"
    page = blocks(tree.find("body"))
    main = main_content(page)
    result = reconcile(page, main, chosen)
    if not result.kept:  # our candidate alone, unless it is the page's header, footer or sidebar
        result = reconcile(page, [root for root in main if not in_page_chrome(root)], [])
        method = "dom"
    elif result.added or result.dropped:
        method += "+dom"
    return MainText(join(result.blocks), method)


# trafilatura's options, built once: building them reads its configuration each time. Comments
# off; its cross-call deduplication off, so that the output never depends on earlier calls;
# not the "python" output format, which would render a text we do not use.
_OPTIONS = {
    fast: Extractor(output_format="txt", fast=fast, comments=False, dedup=False)
    for fast in (True, False)
}


def _trafilatura_blocks(tree: lxml.html.HtmlElement, url: str | None, *, fast: bool) -> list[Block]:
    options = copy.copy(_OPTIONS[fast])
    options.url = options.source = url
    document = trafilatura.bare_extraction(tree, options=options)
    body = getattr(document, "body", None)  # None when trafilatura found nothing
    return [] if body is None else blocks(body)


def _prose_chars(text: str) -> int:
    """Characters in the lines that read as prose rather than as menu entries or labels.

    A prose line has eight words or more, or is long (for scripts written without spaces).
    """
    return sum(len(line) for line in text.splitlines() if len(line) >= 60 or line.count(" ") >= 7)


def _prose_balance(text: str) -> int:
    """Prose characters minus the other characters."""
    return 2 * _prose_chars(text) - len(text)
