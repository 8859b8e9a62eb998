"""A tree (lxml.html or trafilatura's output) as plain text, one paragraph per block."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from lxml import etree

from aggregator.extract._document import tag_name
from aggregator.extract._line_filter import is_boilerplate_line

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


def render(root: etree._Element | None) -> str:
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


def _blocks(container: etree._Element) -> Iterator[_Block]:
    """The blocks of a container, in document order; loose inline text forms its own block."""
    inline = [container.text or ""]
    for child in container:
        tag = tag_name(child)
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
    tag = tag_name(element)
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
        if tag_name(item) not in _ITEMS:
            continue
        parts = [item.text or ""]
        sublists = []
        for child in item:
            if tag_name(child) in _LISTS:
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
        cells = (
            " ".join(_clean_lines(_inline_text(cell))) for cell in row if tag_name(cell) in _CELLS
        )
        line = " | ".join(cell for cell in cells if cell)
        if line:
            yield line
