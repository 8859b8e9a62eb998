"""Page HTML -> clean article text and metadata.

The only package that uses trafilatura (imported when a first page is extracted) and lxml.
One page goes through five steps:

1. decode the bytes (BOM, ``<meta charset>``, else UTF-8) and parse them once with lxml
   (``_document``);
2. prune the boilerplate that trafilatura keeps when a theme puts it inside the article
   container: comment threads and forms, share bars, newsletter boxes, cookie banners (by
   their class names), sections opening with a "Related posts" heading, and comment threads
   and forum replies (by their structure) (``_pruning``);
3. let trafilatura pick the main content (comments off, its cross-call deduplication off, so
   the output never depends on earlier calls) and the metadata. Its fast pass decides unless
   the result is mostly menu-like short lines; then its full pass gives a second opinion
   (``_main_text``; the language and canonical URL the page declares: ``_metadata``);
4. a second opinion on the same tree: readability-style scoring of the page's blocks finds
   the main container and its sibling sections (``_dom_score``), and trafilatura's blocks are
   reconciled with it block by block: link lists and boilerplate-looking blocks outside it
   are dropped, prose it holds that trafilatura missed is added in place (``_reconcile``);
   ``Extracted.method`` says which path produced the text;
5. render the blocks as plain text, one paragraph per block, and drop the lines that are
   boilerplate (copyright, "Advertisement", "Read more: ...", share and subscribe prompts,
   newsletter pitches, sign-offs) in English, German, French and Spanish (``_render``,
   ``_line_filter``).

Feed content (HTML from an RSS/Atom entry) goes through steps 1, 2 and 5 in
``clean_feed_html``: it is the article already, so the page heuristics are skipped.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Collection

from aggregator.errors import ExtractError
from aggregator.extract._document import decode, parse
from aggregator.extract._line_filter import is_boilerplate_line
from aggregator.extract._pruning import prune_boilerplate
from aggregator.extract._render import render, render_plain
from aggregator.models import Extracted

__all__ = [
    "EXTRACTOR",
    "MAX_PAGE_TAGS",
    "REVISION",
    "clean_feed_html",
    "extract",
    "is_boilerplate_line",
    "plain_text",
]


#: Bumped whenever a change to this package changes the text it extracts, so that articles
#: extracted by an older revision can be found (and re-extracted from their archived pages).
REVISION = 2
#: The extractor's name and version as recorded on every article.
EXTRACTOR = f"aggregator-extract/{REVISION} trafilatura/{importlib.metadata.version('trafilatura')}"

#: Pages with more markup than this are not extracted (news pages have a few thousand tags).
MAX_PAGE_TAGS = 100_000

_WORD = re.compile(r"\w+")
_MIN_WORDS = 3  # fewer is a stray label ("Home"), not an article


def extract(
    html: str | bytes,
    url: str | None = None,
    *,
    encoding: str | None = None,
    known: Collection[str] = (),
) -> Extracted:
    """Extract the article text and metadata of a page.

    ``url`` is where the page came from: it resolves a relative canonical link and helps the
    metadata; nothing is ever downloaded. ``encoding`` is the charset of the HTTP
    Content-Type header, if any (it outranks the page's own ``<meta charset>``). ``known``
    names the metadata the caller has already ("title", "author", "published", from the
    feed): those are not looked for (and come back None), which saves most of the metadata's
    cost. Raises ``ExtractError`` when the input is not HTML or holds no article text.
    """
    # trafilatura and htmldate are imported on first use: feed content (clean_feed_html) and
    # a poll without pages never need them.
    from aggregator.extract._main_text import article_text
    from aggregator.extract._metadata import canonical_url, language_code, page_lang, page_metadata

    tags = html.count(b"<") if isinstance(html, bytes) else html.count("<")
    if tags > MAX_PAGE_TAGS:
        # Real articles have a few thousand; a million nested elements is an attack on memory.
        raise ExtractError(f"the page has more than {MAX_PAGE_TAGS:,} tags: not extracted")
    text = decode(html, encoding) if isinstance(html, bytes) else html
    try:
        tree = parse(text)
        canonical = canonical_url(tree, url)
        lang = page_lang(tree)
        prune_boilerplate(tree)
        body, method = article_text(tree, url)
        if len(_WORD.findall(body, 0, 1000)) < _MIN_WORDS:
            raise ExtractError("no article text was found on the page")
        metadata = page_metadata(
            tree,
            url,
            title="title" not in known,
            author="author" not in known,
            published="published" not in known,
        )
    except ExtractError:
        raise
    except Exception as exc:
        raise ExtractError(f"the page could not be processed: {exc}") from exc
    return Extracted(
        text=body,
        title=metadata.title,
        author=metadata.author,
        published=metadata.published,
        lang=lang or language_code(metadata.language),
        canonical_url=canonical,
        sitename=metadata.sitename,
        method=method,
    )


#: What a feed text must not hold to be read as plain text without parsing it: markup,
#: entities, carriage returns, control characters and noncharacters (what the parser rewrites).
_NOT_PLAIN = re.compile("[<&\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def clean_feed_html(html: str, url: str | None = None) -> str:
    """Turn the HTML content of a feed entry into clean text, filtered like ``extract``'s.

    Returns ``""`` when nothing but boilerplate (or nothing at all) is left. ``url`` is the
    entry's link; the text keeps no links, so it is accepted for symmetry with ``extract``.
    """
    if not html.strip():
        return ""
    if not _NOT_PLAIN.search(html):  # plain text (many feeds' summaries): the same, unparsed
        return render_plain(html)
    try:
        tree = parse(f"<html><body>{html}</body></html>")
        prune_boilerplate(tree)
        return render(tree.find("body"))
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
        tree = parse(f"<html><body><div>{text}</div></body></html>")
        for element in tree.xpath("//script|//style|//template"):
            element.drop_tree()
        words = tree.find("body").text_content()
    except ExtractError:
        words = ""
    except Exception as exc:
        raise ExtractError(f"the text could not be processed: {exc}") from exc
    return " ".join(words.split())
