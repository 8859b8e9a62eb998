"""The extraction quality gate: our extractor on tests/data/gate, against a floor that only rises.

Each page ``NAME.html`` in tests/data/gate has a sidecar ``NAME.expected.json``: ``url``,
``kind`` and ``lang`` (for the report), ``must`` (article snippets: first paragraph, list items,
table cells, quotes, code, last paragraph), ``must_not`` (the page's boilerplate phrases) and
``in_order`` (the must snippets appear in this order).

The score. Texts and snippets are compared after NFC and whitespace collapsing, case kept.
Per page:

- kept  = share of the must snippets found; with ``in_order``, only the longest run of them
  that appears in the page's order counts (a block moved elsewhere counts as lost);
- clean = share of the must_not snippets absent, as whole words ("Anzeige" is not found in
  "Traueranzeigen"; must snippets may start mid-word, after a drop cap);
- page score = 0.5 * kept + 0.5 * clean.

The gate score is the mean of the page scores. Pages weigh the same whatever their number of
snippets, and losing the article weighs as much as leaking boilerplate: returning nothing
(kept 0, clean 1) and returning the whole page (kept 1, clean 0) both score 0.5, so only an
extractor that separates the two gets near 1. A page the extractor refuses (``ExtractError``)
counts as an empty text.

The floor is ``score`` in tests/data/gate/floor.json; raise it when the extractor improves, never
lower it (``test_floor_never_goes_down`` compares it with every committed version).
``benchmarks/gate.py`` prints the per-page table, ours against plain trafilatura.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from aggregator.errors import ExtractError
from aggregator.extract import extract

GATE_DIR = Path(__file__).parent / "data" / "gate"
FLOOR_FILE = GATE_DIR / "floor.json"
LANGUAGES = ("en", "de", "fr", "es")


@dataclass(frozen=True, kw_only=True)
class GatePage:
    """One test page and what its extracted text must and must not contain."""

    name: str
    html: bytes
    url: str
    kind: str
    lang: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    in_order: bool


@dataclass(frozen=True, kw_only=True)
class PageScore:
    """How one extracted text fares against its page's snippets."""

    page: GatePage
    missing: tuple[str, ...]  # must snippets not found
    out_of_order: tuple[str, ...]  # must snippets found, but not in the page's order
    leaked: tuple[str, ...]  # must_not snippets found
    failed: bool = False  # the extractor raised or returned nothing

    @property
    def kept(self) -> float:
        lost = len(self.missing) + len(self.out_of_order)
        return 1 - lost / len(self.page.must)

    @property
    def clean(self) -> float:
        return 1 - len(self.leaked) / len(self.page.must_not)

    @property
    def score(self) -> float:
        return 0.5 * self.kept + 0.5 * self.clean


def load_pages(folder: Path = GATE_DIR) -> list[GatePage]:
    """Every page of the gate folder with its expectations, by name."""
    pages = []
    for path in sorted(folder.glob("*.html")):
        expected: dict[str, Any] = json.loads(
            path.with_name(f"{path.stem}.expected.json").read_text(encoding="utf-8")
        )
        pages.append(
            GatePage(
                name=path.stem,
                html=path.read_bytes(),
                url=expected["url"],
                kind=expected["kind"],
                lang=expected["lang"],
                must=tuple(expected["must"]),
                must_not=tuple(expected["must_not"]),
                in_order=bool(expected.get("in_order")),
            )
        )
    return pages


def normalize(text: str) -> str:
    """NFC, and every run of whitespace (no-break spaces included) as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _longest_ordered_run(positions: Sequence[int]) -> set[int]:
    """Indexes of a longest strictly increasing subsequence of ``positions``."""
    best: list[list[int]] = []  # best[i]: the longest increasing run ending at i
    for i, position in enumerate(positions):
        before = [best[j] for j in range(i) if positions[j] < position]
        longest_before: list[int] = max(before, key=len, default=[])
        best.append([*longest_before, i])
    longest: list[int] = max(best, key=len, default=[])
    return set(longest)


def _occurs_as_words(snippet: str, text: str) -> bool:
    """Whether ``snippet`` is in ``text`` and not part of a longer word there."""
    return re.search(rf"(?<!\w){re.escape(snippet)}(?!\w)", text) is not None


def score_page(page: GatePage, text: str) -> PageScore:
    """Score one extracted text against the page's must and must_not snippets."""
    flat = normalize(text)
    found = {s: flat.find(normalize(s)) for s in page.must}
    present = [s for s in page.must if found[s] >= 0]
    out_of_order: tuple[str, ...] = ()
    if page.in_order:
        ordered = _longest_ordered_run([found[s] for s in present])
        out_of_order = tuple(s for i, s in enumerate(present) if i not in ordered)
    return PageScore(
        page=page,
        missing=tuple(s for s in page.must if found[s] < 0),
        out_of_order=out_of_order,
        leaked=tuple(s for s in page.must_not if _occurs_as_words(normalize(s), flat)),
        failed=not flat,
    )


def run_gate(pages: Sequence[GatePage], extractor: Callable[[GatePage], str]) -> list[PageScore]:
    """Score ``extractor`` (a page's HTML and URL -> its text) on every page."""
    return [score_page(page, extractor(page)) for page in pages]


def gate_score(scores: Sequence[PageScore]) -> float:
    """The gate score: the mean of the page scores."""
    return statistics.fmean(s.score for s in scores)


def ours(page: GatePage) -> str:
    """aggregator's extractor; a refused page is an empty text."""
    try:
        return extract(page.html, url=page.url).text
    except ExtractError:
        return ""


def describe(scores: Sequence[PageScore], limit: int | None = None) -> str:
    """The pages that lose points, worst first, with the snippets missed, misplaced and leaked."""
    lines = []
    losing = sorted((s for s in scores if s.score < 1), key=lambda s: (s.score, s.page.name))
    for s in losing[:limit]:
        failed = " (nothing extracted)" if s.failed else ""
        lines.append(
            f"{s.page.name}: score {s.score:.3f} kept {s.kept:.2f} clean {s.clean:.2f}{failed}"
        )
        lines += [f"    missing: {snippet!r}" for snippet in s.missing]
        lines += [f"    out of order: {snippet!r}" for snippet in s.out_of_order]
        lines += [f"    leaked: {snippet!r}" for snippet in s.leaked]
    return "\n".join(lines)


def read_floor() -> float:
    floor: float = json.loads(FLOOR_FILE.read_text(encoding="utf-8"))["score"]
    return floor


# --- the pages themselves ------------------------------------------------------------------------

PAGES = load_pages()


class _VisibleText(HTMLParser):
    """The text a reader could see on a page: everything but scripts, styles and the head."""

    _HIDDEN = frozenset({"script", "style", "template", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in self._HIDDEN

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in self._HIDDEN and self._hidden > 0

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: bytes) -> str:
    parser = _VisibleText()
    parser.feed(html.decode("utf-8"))
    parser.close()
    return normalize("".join(parser.parts))


def test_the_gate_has_enough_varied_pages() -> None:
    assert len(PAGES) >= 40
    for lang in LANGUAGES:
        assert sum(p.lang == lang for p in PAGES) >= 8, lang
    assert len({p.kind for p in PAGES}) >= 8


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_snippets_are_on_their_page(page: GatePage) -> None:
    """Every snippet is text a reader sees on the page, so no expectation is vacuous."""
    assert 5 <= len(page.must) <= 10
    assert page.must_not
    text = visible_text(page.html)
    absent = [s for s in (*page.must, *page.must_not) if normalize(s) not in text]
    assert not absent, "snippets not on the page"
    if page.in_order:
        assert score_page(page, text).out_of_order == (), "must snippets not in the page's order"
    inside = [
        b
        for b in page.must_not
        if any(_occurs_as_words(normalize(b), normalize(m)) for m in page.must)
    ]
    assert not inside, "boilerplate snippets that are part of the article"


# --- the score -----------------------------------------------------------------------------------


def _page(must: tuple[str, ...], must_not: tuple[str, ...], in_order: bool) -> GatePage:
    return GatePage(
        name="t",
        html=b"",
        url="",
        kind="t",
        lang="en",
        must=must,
        must_not=must_not,
        in_order=in_order,
    )


def test_score_counts_found_ordered_and_absent_snippets() -> None:
    page = _page(("alpha  beta", "gamma", "delta", "epsilon"), ("Share", "Ad"), in_order=True)
    scored = score_page(page, "gamma\nalpha\u00a0beta delta Share epsilon")
    assert scored.missing == ()
    assert scored.out_of_order == ("gamma",)  # the other three are in the page's order
    assert scored.leaked == ("Share",)
    assert scored.kept == 0.75
    assert scored.clean == 0.5
    assert scored.score == 0.625


def test_score_without_order_of_a_longer_word_and_of_an_empty_text() -> None:
    page = _page(("one", "two"), ("three",), in_order=False)
    assert score_page(page, "two one threefold").score == 1.0
    empty = score_page(page, "")
    assert (empty.kept, empty.clean, empty.failed) == (0.0, 1.0, True)


# --- the gate ------------------------------------------------------------------------------------


def test_gate_score_reaches_the_floor() -> None:
    scores = run_gate(PAGES, ours)
    score = gate_score(scores)
    floor = read_floor()
    assert round(score, 6) >= floor, (
        f"gate score {score:.4f} is below the floor {floor:.3f}; worst pages:\n"
        + describe(scores, limit=10)
    )


def _committed_floors() -> list[tuple[str, float]]:
    """The floor in every commit that changed floor.json, newest first (skips without git)."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [git, *args], cwd=GATE_DIR, capture_output=True, text=True, check=False
        )

    log = run(
        "log",
        "--follow",
        "--diff-filter=AMR",
        "--name-only",
        "--format=%x00%H",
        "--",
        FLOOR_FILE.name,
    )
    if log.returncode != 0:
        pytest.skip(f"no git history here: {log.stderr.strip()}")
    floors = []
    for entry in log.stdout.split("\0")[1:]:
        commit, *paths = [line for line in entry.splitlines() if line]
        shown = run("show", f"{commit}:{paths[-1]}")
        if shown.returncode == 0:
            floors.append((commit, float(json.loads(shown.stdout)["score"])))
    return floors


def test_floor_never_goes_down() -> None:
    floors = _committed_floors()
    if not floors:
        pytest.skip("floor.json has not been committed yet")
    current = read_floor()
    higher = [(commit[:10], floor) for commit, floor in floors if floor > current]
    assert not higher, f"the floor {current} is below earlier committed floors: {higher}"
