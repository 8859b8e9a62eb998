"""trafilatura's blocks and our DOM candidate's, reconciled block by block.

trafilatura gives the blocks it chose (rendered from its own output tree); ``_dom_score``
gives the roots of the main content it found in our tree. Each chosen block is located among
the page's blocks by its text, so that it can be judged by where it stands and by its markup:

- a chosen block that is all links, one per line ("Related: ...", teaser lists), is dropped,
  unless it is a heading inside the candidate (listicles link their item titles);
- a chosen block outside the candidate that is short or link-heavy is dropped;
- a prose block inside the candidate that trafilatura missed is added at its place: one held
  like the blocks trafilatura took (an article cut into sections by ads and pitches) wherever
  it is, other prose (paragraphs, lists, tables, quotes, code) when it lies between those; never
  captions, bylines, teasers or promotions (by tag, class and id), nor text already there;
- a missed subheading is added when the block after it is in the text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from aggregator.extract._document import tag_name
from aggregator.extract._render import Block

_SUBHEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_HEADINGS = _SUBHEADINGS | {"h1"}
_MAX_HEADING_WORDS = 20
_STRUCTURED = frozenset({"ul", "ol", "table", "pre", "code"})
# Class and id words of the parts of an article container that are not its text: captions
# and galleries, bylines and datelines, teasers and promotions. Long words start a token of
# the name ("article__byline", "inlineNewsletter"); short ones are a whole token ("post-date",
# not "update").
_TOKEN_START = r"(?:^|[\s_-]|(?<=[a-z])(?=[A-Z]))"
_NOT_TEXT = re.compile(
    rf"{_TOKEN_START}(?i:caption|credit|gallery|slideshow|carousel|byline|author|attribution"
    r"|dateline|timestamp|teaser|related|recommend|promo|newsletter|signup|subscribe|share"
    r"|breadcrumb)"
    rf"|{_TOKEN_START}(?i:meta|date|time|rail|card|tags)(?:$|[\s_-]|(?=[A-Z]))"
)
_NOT_TEXT_TAGS = frozenset({"figure", "figcaption", "caption", "time", "address"})
# A sentence end (Latin or CJK), then closing quotes or brackets.
_SENTENCE_END = re.compile("[.!?:;\u2026\u3002\uff01\uff1f][\"'\u201d\u2019\u00bb)\\]]*$")
_MIN_PROSE_WORDS = 10
_MAX_ADDED_LINK_DENSITY = 0.3
_MIN_KEPT_WORDS = 8
_MAX_KEPT_LINK_DENSITY = 0.5
_LINK_LIST_DENSITY = 0.8
_URL = re.compile(r"https?://|www\.")
_PROBE = 40  # characters of a line looked up in the page when the whole line is not there
_MAX_SPAN = 20  # page blocks that one line of trafilatura's may cover


@dataclass(frozen=True)
class Reconciled:
    blocks: list[Block]
    """The text's blocks in order: trafilatura's that stay, and the page's added."""
    kept: int
    added: int
    dropped: int


def reconcile(
    page: Sequence[Block], main: Sequence[etree._Element], chosen: Sequence[Block]
) -> Reconciled:
    """Merge trafilatura's ``chosen`` blocks with the page's blocks inside ``main``.

    ``page`` is every block of the (pruned) page in document order, ``main`` the roots of the
    DOM candidate. Without ``chosen`` blocks (or none kept), the text is the candidate's prose.
    """
    roots = set(main)
    in_main = [_inside(block.element, roots) for block in page]
    kept: list[tuple[Block, list[int]]] = []
    for block, found in zip(chosen, locate(page, chosen), strict=True):
        if not (found and _is_dropped(page[found[0]], any(in_main[i] for i in found))):
            kept.append((block, found))
    taken = {i for _, found in kept for i in found}

    missed = _missed(page, roots, in_main, taken, [block for block, _ in kept])
    missed += _missed_headings(page, roots, in_main, taken, taken | set(missed))
    missed.sort()
    return Reconciled(
        _merge(page, kept, missed),
        kept=len(kept),
        added=len(missed),
        dropped=len(chosen) - len(kept),
    )


def _merge(
    page: Sequence[Block], kept: list[tuple[Block, list[int]]], missed: list[int]
) -> list[Block]:
    """trafilatura's blocks in its order, each missed page block put before the first of them
    that stands after it in the page (blocks found nowhere keep their neighbours)."""
    merged: list[Block] = []
    pending = iter(missed)
    next_missed = next(pending, None)
    for block, found in kept:
        while next_missed is not None and found and next_missed < found[0]:
            merged.append(page[next_missed])
            next_missed = next(pending, None)
        merged.append(block)
    while next_missed is not None:
        merged.append(page[next_missed])
        next_missed = next(pending, None)
    return merged


def _missed(
    page: Sequence[Block],
    main: set[etree._Element],
    in_main: list[bool],
    taken: set[int],
    chosen: Sequence[Block],
) -> list[int]:
    """The prose blocks of the candidate that trafilatura missed and that belong with its text.

    Blocks held like the ones trafilatura took (same tag and class around them: the other
    sections of an article cut up by ads) belong wherever they are; other prose belongs when
    it lies between those, and the text it repeats does not. Without blocks taken, all the
    candidate's prose belongs.
    """
    prose = [
        i
        for i, block in enumerate(page)
        if in_main[i] and i not in taken and _is_prose(block, main)
    ]
    shapes = {_shape(page[i]) for i in taken}
    alike = {i for i in prose if not taken or _shape(page[i]) in shapes}
    anchors = taken | alike
    if not anchors:
        return []
    first, last = min(anchors), max(anchors)
    lines = {line for block in chosen for line in block.lines}
    missed = []
    for i in prose:
        if (first < i < last or i in alike) and _is_new(page[i], lines):
            lines.update(page[i].lines)
            missed.append(i)
    return missed


def _missed_headings(
    page: Sequence[Block],
    main: set[etree._Element],
    in_main: list[bool],
    taken: set[int],
    output: set[int],
) -> list[int]:
    """The subheadings of the candidate that trafilatura missed and that open text kept (the
    page block right after them is in ``output``)."""
    return [
        i
        for i, block in enumerate(page[:-1])
        if in_main[i]
        and i not in taken
        and i + 1 in output
        and tag_name(block.element) in _SUBHEADINGS
        and len(block.text.split()) <= _MAX_HEADING_WORDS
        and not _in_aside(block.element, main)
    ]


def locate(page: Sequence[Block], chosen: Sequence[Block]) -> list[list[int]]:
    """Where each chosen block is in ``page``: the indices of the page blocks holding its
    lines, in the order found.

    A line is found by its exact text, else by its first 40 characters (trafilatura merges
    or splits some blocks); the search moves forward through the page, as both are in
    document order, and starts over from the top when that finds nothing.
    """
    exact: dict[str, list[int]] = {}
    starts = []
    offset = 0
    for i, block in enumerate(page):
        for line in block.lines:
            exact.setdefault(line, []).append(i)
        starts.append(offset)
        offset += sum(len(line) + 1 for line in block.lines)
    text = "\n".join(line for block in page for line in block.lines)
    hits: list[list[int]] = []
    cursor = 0
    for block in chosen:
        found_in: list[int] = []
        for line in block.lines:
            found = exact.get(line)
            if found:
                indices = [next((i for i in found if i >= cursor), found[0])]
            else:
                indices = _search(line.lstrip(" -"), text, starts, cursor)
            for index in indices:
                if index not in found_in:
                    found_in.append(index)
                cursor = index
        hits.append(found_in)
    return hits


def _search(line: str, text: str, starts: list[int], cursor: int) -> list[int]:
    """The page blocks from the one holding the start of ``line`` to the one holding its end,
    searching from block ``cursor`` on, then from the top; [] when the start is not found."""
    head, tail = line[:_PROBE], line[-_PROBE:]
    at = text.find(head, starts[cursor] if cursor < len(starts) else 0)
    if at < 0:
        at = text.find(head)
    if at < 0 or not head:
        return []
    first = bisect.bisect_right(starts, at) - 1
    end = text.find(tail, at)
    last = first if end < 0 else bisect.bisect_right(starts, end) - 1
    return list(range(first, last + 1)) if last - first <= _MAX_SPAN else [first]


def _shape(block: Block) -> tuple[str, str]:
    """The tag and class of the element holding a block's paragraph."""
    holder = block.element if block.loose else block.element.getparent()
    if holder is None:
        return ("", "")
    return (tag_name(holder), holder.get("class") or "")


def _is_new(block: Block, lines: set[str]) -> bool:
    """Whether most of a block's text is not already in the text (pages that hold a copy)."""
    known = sum(len(line) for line in block.lines if line in lines)
    return 2 * known < len(block.text)


def _is_dropped(block: Block, in_main: bool) -> bool:
    """Whether a block trafilatura chose is boilerplate, given whether the candidate holds it."""
    if _is_link_list(block):
        return not (in_main and tag_name(block.element) in _HEADINGS)
    if in_main:
        return False
    return len(block.text.split()) < _MIN_KEPT_WORDS or block.link_density > _MAX_KEPT_LINK_DENSITY


def _is_link_list(block: Block) -> bool:
    """Whether a block is all links, one a line (teasers, "Related: ..."), other than bare
    addresses; a sentence with several links in it is not."""
    return (
        block.link_density >= _LINK_LIST_DENSITY
        and block.link_count <= len(block.lines)
        and not _URL.search(block.text)
    )


def _is_prose(block: Block, main: set[etree._Element]) -> bool:
    """Whether a block the candidate holds reads as article text worth adding back."""
    element = block.element
    tag = tag_name(element)
    if tag in _HEADINGS or _in_aside(element, main):
        return False
    if block.link_density > _MAX_ADDED_LINK_DENSITY:
        return False
    if tag in _STRUCTURED:
        return True
    text = block.text
    return len(text.split()) >= _MIN_PROSE_WORDS or bool(_SENTENCE_END.search(text))


def _inside(element: etree._Element, roots: set[etree._Element]) -> bool:
    """Whether the element is one of ``roots`` or inside one."""
    return element in roots or any(node in roots for node in element.iterancestors())


def _in_aside(element: etree._Element, main: set[etree._Element]) -> bool:
    """Whether the element is, or is inside, a caption, byline, teaser or promotion of the
    candidate (judged by tag, class and id up to the candidate's root)."""
    node: etree._Element | None = element
    while node is not None and node not in main:
        if tag_name(node) in _NOT_TEXT_TAGS:
            return True
        names = f"{node.get('class', '')} {node.get('id', '')}"
        if names.strip() and _NOT_TEXT.search(names):
            return True
        node = node.getparent()
    return False
