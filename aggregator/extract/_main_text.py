"""The main text of a page, chosen by trafilatura's fast pass or, when in doubt, its full pass."""

from __future__ import annotations

import lxml.html
import trafilatura

from aggregator.extract._render import render


def article_text(tree: lxml.html.HtmlElement, url: str | None) -> str:
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
    return render(getattr(document, "body", None))  # None when trafilatura found nothing


def _prose_chars(text: str) -> int:
    """Characters in the lines that read as prose rather than as menu entries or labels.

    A prose line has eight words or more, or is long (for scripts written without spaces).
    """
    return sum(len(line) for line in text.splitlines() if len(line) >= 60 or line.count(" ") >= 7)


def _prose_balance(text: str) -> int:
    """Prose characters minus the other characters."""
    return 2 * _prose_chars(text) - len(text)
