"""A tree (lxml.html or trafilatura's output) as blocks of plain text, one paragraph each, and
the blocks as text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

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


@dataclass(frozen=True, eq=False)
class Block:
    """One paragraph of text, and the element it comes from."""

    lines: tuple[str, ...]
    element: etree._Element
    """The element whose content the block is: a paragraph, heading, list, table or code
    block; for text loose between blocks (``loose``), the element that holds it."""
    loose: bool = False
    inline: tuple[etree._Element, ...] = ()
    """For loose text, the inline elements (links, emphasis) among it."""
    checked: bool = False
    """True when the lines must not go through the line filter: code is kept exactly, and
    list items were checked before their marker was added."""

    @cached_property
    def text(self) -> str:
        return "\n".join(self.lines)

    @cached_property
    def link_count(self) -> int:
        """How many links with text the block holds."""
        return sum(1 for size in self._link_sizes if size)

    @cached_property
    def link_density(self) -> float:
        """The share of the block's text that is link text (0 to 1)."""
        return min(1.0, sum(self._link_sizes) / max(1, len(self.text)))

    @cached_property
    def _link_sizes(self) -> list[int]:
        if self.loose:
            anchors = [a for child in self.inline for a in child.iter("a")]
        else:
            anchors = list(self.element.iter("a"))
        return [len(" ".join(_inline_text(a).split())) for a in anchors]


def render(root: etree._Element | None) -> str:
    """Plain text of a tree: blocks separated by a blank line, boilerplate lines dropped."""
    return "" if root is None else join(blocks(root))


def render_plain(text: str) -> str:
    """What ``render`` gives for a body that holds only ``text`` (no markup, no entities)."""
    return "\n".join(line for line in _clean_lines(text) if not is_boilerplate_line(line))


def blocks(root: etree._Element) -> list[Block]:
    """The blocks of a tree in document order, with their lines as they will be written."""
    found: list[Block] = []
    try:
        _add_blocks(root, found)
    except RecursionError:  # absurdly deep markup: keep the text, lose the layout
        etree.strip_elements(root, *_SKIPPED, with_tail=False)
        return [Block(_clean_lines("\n".join(root.itertext())), root)]
    return found


def join(blocks: Iterable[Block]) -> str:
    """Blocks as text: separated by a blank line, boilerplate lines dropped."""
    paragraphs = []
    for block in blocks:
        lines = [line for line in block.lines if block.checked or not is_boilerplate_line(line)]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _add_blocks(container: etree._Element, found: list[Block]) -> None:
    """Add the blocks of a container, in document order; loose inline text forms its own
    block. (Appending to one list, where nested generators would hand each block up through
    every level of the tree.)"""
    text = [container.text or ""]
    inline: list[etree._Element] = []
    loose = False
    for child in container:
        tag = tag_name(child)
        if _is_block(child, tag):
            loose = True
            _add_text_block(text, container, inline, found)
            _add_child_blocks(child, tag, found)
            text, inline = [child.tail or ""], []
        else:
            text.append(_inline_text(child))
            text.append(child.tail or "")
            inline.append(child)
    _add_text_block(text, container, inline if loose else None, found)


def _add_child_blocks(element: etree._Element, tag: str, found: list[Block]) -> None:
    if tag in _VERBATIM:
        code = _inline_text(element, verbatim=True).strip("\n").rstrip()
        if code.strip():
            found.append(Block(tuple(code.splitlines()), element, checked=True))
    elif tag in _LISTS:
        lines = tuple(_list_lines(element, depth=0))
        if lines:
            found.append(Block(lines, element, checked=True))
    elif tag in _TABLES and element.find(".//table") is None:
        lines = tuple(_table_lines(element))
        if lines:
            found.append(Block(lines, element))
    else:  # containers, layout tables, and rows or items outside their parents
        _add_blocks(element, found)


def _add_text_block(
    parts: list[str],
    container: etree._Element,
    inline: list[etree._Element] | None,
    found: list[Block],
) -> None:
    """Add the block of text ``parts``: all of ``container``, or (``inline`` given) loose text."""
    lines = _clean_lines("".join(parts))
    if lines:
        found.append(Block(lines, container, inline is not None, tuple(inline or ())))


def _clean_lines(text: str) -> tuple[str, ...]:
    """Split on line breaks, collapse whitespace, drop empty lines."""
    if not text or text.isspace():  # most often the whitespace between two blocks
        return ()
    if "\n" not in text:  # most paragraphs
        line = " ".join(text.split())
        return (line,) if line else ()
    return tuple(line for line in (" ".join(raw.split()) for raw in text.split("\n")) if line)


def _is_block(element: etree._Element, tag: str) -> bool:
    """Whether an element starts its own block (a <code> does only when it spans lines)."""
    if tag == "code":
        return "\n" in "".join(element.itertext())
    return tag in _BLOCKS


def _inline_text(element: etree._Element, *, verbatim: bool = False) -> str:
    """The text of an element, line breaks as newlines; nested blocks start on a new line."""
    if not len(element):  # a link or an emphasis: most inline elements hold only text
        tag = tag_name(element)
        if tag in _SKIPPED:
            return ""
        if tag in _BREAKS:
            return "\n"
        if verbatim or tag not in _BLOCKS:
            return element.text or ""
    parts: list[str] = []
    _add_inline_parts(element, parts, verbatim)
    return "".join(parts)


def _add_inline_parts(element: etree._Element, parts: list[str], verbatim: bool) -> None:
    tag = tag_name(element)
    if tag in _SKIPPED:
        return
    if tag in _BREAKS:
        parts.append("\n")
        return
    block = not verbatim and _is_block(element, tag)
    if block:
        parts.append("\n")
    if element.text:
        parts.append(element.text)
    for child in element:
        _add_inline_parts(child, parts, verbatim)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append("\n")


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
    """The table's caption, then one line per row, cells separated by " | "."""
    caption = table.find("caption")
    if caption is not None:
        yield from _clean_lines(_inline_text(caption))
    for row in table.iter("tr", "row"):
        cells = (
            " ".join(_clean_lines(_inline_text(cell))) for cell in row if tag_name(cell) in _CELLS
        )
        line = " | ".join(cell for cell in cells if cell)
        if line:
            yield line
