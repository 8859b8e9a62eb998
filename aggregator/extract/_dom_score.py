"""A second opinion on the main content: readability-style scoring of the parsed, pruned tree."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from itertools import chain

from lxml import etree

from aggregator.extract._document import tag_name
from aggregator.extract._render import Block

# Words of class and id attributes: of containers that hold articles, and of page furniture.
_POSITIVE = re.compile(
    r"article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story", re.IGNORECASE
)
_NEGATIVE = re.compile(
    r"hidden|banner|combx|comment|com-|contact|foot|masthead|media|meta|outbrain|promo|related"
    r"|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|tags|tool|widget|nav|menu",
    re.IGNORECASE,
)
_CLASS_WEIGHT = 25
# What a container's tag says before its text is counted: divisions and articles hold prose,
# lists and forms seldom do.
_TAG_WEIGHT = {
    "article": 8,
    "div": 5,
    "main": 5,
    "section": 3,
    "pre": 3,
    "td": 3,
    "blockquote": 3,
    "address": -3,
    "ol": -3,
    "ul": -3,
    "dl": -3,
    "dd": -3,
    "dt": -3,
    "li": -3,
    "form": -3,
    "th": -5,
}
# Commas and sentence ends, Latin, Arabic and CJK (fullwidth) ones.
_PUNCTUATION = re.compile("[,.;:!?\u060c\u3001\uff0c\u3002\uff01\uff1f]")
_MIN_SCORED_CHARS = 25  # shorter blocks (labels, bylines) give no points
_LEVELS = 5  # how far up a block's points go
_SIBLING_SHARE = 0.2  # a sibling joins with this share of the best container's score
_MIN_SIBLING_SCORE = 10.0
_SIBLING_PARAGRAPH_CHARS = 80  # a sibling <p> of plain prose this long joins too
_SIBLING_PARAGRAPH_LINKS = 0.25
_CHROME_TAGS = frozenset({"header", "footer", "aside", "nav"})
_CHROME_ROLES = frozenset({"banner", "contentinfo", "complementary", "navigation"})


def main_content(blocks: Sequence[Block]) -> list[etree._Element]:
    """The roots of the main content: the best-scoring container and its qualifying siblings.

    Each paragraph-like block scores by its length and punctuation, less its link share; the
    points go to the element holding it, half to the next one up, less further up. A
    container's score (its tag and class/id hints to start with) is then scaled by the share
    of its text that is not links. The best container's siblings join when they score well
    themselves, share its class, or are paragraphs of plain prose.
    """
    chars: dict[etree._Element, int] = defaultdict(int)
    link_chars: dict[etree._Element, float] = defaultdict(float)
    points: dict[etree._Element, float] = {}
    for block in blocks:
        size = len(block.text)
        density = block.link_density
        for element in chain((block.element,), block.element.iterancestors()):
            chars[element] += size
            link_chars[element] += density * size
        anchor = block.element if block.loose else block.element.getparent()
        if size < _MIN_SCORED_CHARS or anchor is None:
            continue
        value = (1 + len(_PUNCTUATION.findall(block.text)) + min(size // 100, 3)) * (1 - density)
        for level, element in enumerate(chain((anchor,), anchor.iterancestors())):
            if level == _LEVELS:
                break
            if element not in points:
                points[element] = _initial_score(element)
            points[element] += value / (1 if level == 0 else 2 if level == 1 else level * 3)
    if not points:
        return []

    def link_share(element: etree._Element) -> float:
        return min(1.0, link_chars[element] / chars[element]) if chars[element] else 0.0

    scores = {
        element: score * (1 - link_share(element)) if score > 0 else score
        for element, score in points.items()
    }
    best = max(scores, key=scores.__getitem__)
    parent = best.getparent()
    if parent is None:
        return [best]
    threshold = max(_MIN_SIBLING_SCORE, scores[best] * _SIBLING_SHARE)
    best_class = best.get("class")
    roots = []
    for sibling in parent:
        score = scores.get(sibling, 0.0)
        if best_class and sibling.get("class") == best_class:
            score += scores[best] * _SIBLING_SHARE
        if (
            sibling is best
            or score >= threshold
            or (
                tag_name(sibling) == "p"
                and chars[sibling] > _SIBLING_PARAGRAPH_CHARS
                and link_share(sibling) < _SIBLING_PARAGRAPH_LINKS
            )
        ):
            roots.append(sibling)
    return roots


def in_page_chrome(element: etree._Element) -> bool:
    """Whether an element is, or is inside, a page's header, footer, sidebar or menu."""
    return any(
        tag_name(node) in _CHROME_TAGS or node.get("role") in _CHROME_ROLES
        for node in chain((element,), element.iterancestors())
    )


def _initial_score(element: etree._Element) -> float:
    """A container's score before its text counts: by its tag and its class and id words."""
    score = float(_TAG_WEIGHT.get(tag_name(element), 0))
    names = f"{element.get('class', '')} {element.get('id', '')}"
    if names.strip():
        if _NEGATIVE.search(names):
            score -= _CLASS_WEIGHT
        if _POSITIVE.search(names):
            score += _CLASS_WEIGHT
    if element.get("itemprop") == "articleBody":
        score += _CLASS_WEIGHT
    return score
