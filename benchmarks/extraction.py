"""Score article extractors on the aeb article-extraction benchmark.

aeb holds 181 real news and blog pages with the article text a person marked as the main
text (see its README). The metric is the benchmark's own: both texts become word tokens
(``\\w+``), then multisets of 4-token shingles; true/false positives and false negatives are
counted per page and normalised by the page's total, precision and recall are averaged over
the pages, and F1 is taken of the two averages. A page where nothing was extracted counts
with recall 0 and is left out of the precision average, as in the original script.

Any extractor can be scored: ``module:function``, called as ``function(html, url)`` and
returning a string or an object with a ``.text`` (an exception counts as nothing extracted,
and as a failure). Several run in one table, with the median and 95th percentile CPU time
per page. The defaults are ours (``aggregator.extract:extract``), trafilatura with comments
off, and readability-lxml when it is installed (``pip install -e '.[bench]'``).

    .venv/bin/python benchmarks/extraction.py [SPEC ...] [--data PATH] [--worst N]

``--worst N`` lists the first extractor's N lowest-F1 pages, with every extractor's F1.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import importlib.util
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data" / "aeb"
OURS = "aggregator.extract:extract"
TRAFILATURA = "benchmarks.extraction:trafilatura_text"
READABILITY = "benchmarks.extraction:readability_text"
SHINGLE = 4
_WORD = re.compile(r"\w+")

Extractor = Callable[[str, str], object]


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: str
    truth: str


@dataclass(frozen=True)
class Counts:
    """One page's shingle matches, normalised so that every page weighs the same."""

    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Result:
    name: str
    counts: list[Counts]
    millis: list[float]
    failures: int = 0

    @property
    def precision(self) -> float:
        return statistics.mean(c.precision for c in self.counts if c.tp + c.fp > 0)

    @property
    def recall(self) -> float:
        return statistics.mean(c.recall for c in self.counts if c.tp + c.fn > 0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.millis)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """The multiset of 4-token shingles (a shorter text is one shingle of all its tokens)."""
    tokens = _WORD.findall(text)
    if len(tokens) <= SHINGLE:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


def compare(truth: str, predicted: str) -> Counts:
    expected, got = shingles(truth), shingles(predicted)
    tp = sum((expected & got).values())
    fp = sum((got - expected).values())
    fn = sum((expected - got).values())
    total = tp + fp + fn
    return Counts(tp / total, fp / total, fn / total) if total else Counts(0.0, 0.0, 0.0)


def load_pages(data: Path) -> Iterator[Page]:
    with (data / "manifest.jsonl").open(encoding="utf-8") as manifest:
        for line in manifest:
            row = json.loads(line)
            with gzip.open(data / row["html"], "rt", encoding="utf-8", errors="replace") as f:
                html = f.read()
            yield Page(id=row["id"], url=row["url"], html=html, truth=row["body"])


def load_extractor(spec: str) -> Extractor:
    """The function named by ``module:function``."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise SystemExit(f"{spec!r}: expected module:function")
    function: Extractor = getattr(importlib.import_module(module_name), function_name)
    return function


def text_of(output: object) -> str:
    """An extractor's output as text: a string, an object's ``.text``, or "" for None."""
    if output is None:
        return ""
    text = output if isinstance(output, str) else getattr(output, "text", None)
    if not isinstance(text, str):
        raise TypeError(f"an extractor returned {type(output).__name__}, not text")
    return text


def score(name: str, extractor: Extractor, pages: list[Page]) -> Result:
    """Run ``extractor`` on every page; CPU time per page, and an exception counts as ""."""
    counts, millis, failures = [], [], 0
    for page in pages:
        start = time.process_time()
        try:
            text = text_of(extractor(page.html, page.url))
        except Exception:  # a benchmark scores failures, it does not stop on them
            text, failures = "", failures + 1
        millis.append((time.process_time() - start) * 1000)
        counts.append(compare(page.truth, text))
    return Result(name, counts, millis, failures)


# --- the reference extractors ----------------------------------------------------------------


def trafilatura_text(html: str, url: str) -> str:
    """Plain trafilatura, reader comments off (its default keeps them)."""
    import trafilatura

    return trafilatura.extract(html, url=url, include_comments=False, deduplicate=False) or ""


def readability_text(html: str, url: str) -> str:
    """readability-lxml's summary, one line per text node."""
    import lxml.html
    from readability import Document

    summary = Document(html, url=url).summary(html_partial=True)
    return "\n".join(lxml.html.fromstring(summary).itertext())


def default_specs() -> list[str]:
    specs = [OURS, TRAFILATURA]
    if importlib.util.find_spec("readability") is not None:
        specs.append(READABILITY)
    return specs


_SHORT_NAMES = {OURS: "aggregator", TRAFILATURA: "trafilatura", READABILITY: "readability"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="module:function extractors (default: ours, "
        "trafilatura, readability-lxml when installed)",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the aeb folder")
    parser.add_argument("--worst", type=int, default=0, help="list the N lowest-F1 pages")
    args = parser.parse_args(argv)

    pages = list(load_pages(args.data))
    specs = args.specs or default_specs()
    results = [score(_SHORT_NAMES.get(s, s), load_extractor(s), pages) for s in specs]
    width = max(12, *(len(r.name) for r in results))
    print(f"aeb: {len(pages)} pages from {args.data}")
    print(
        f"{'extractor':<{width}} {'F1':>6} {'P':>6} {'R':>6} {'median ms':>10} {'p95 ms':>8}"
        f" {'failed':>6}"
    )
    for result in results:
        print(
            f"{result.name:<{width}} {result.f1:6.4f} {result.precision:6.4f}"
            f" {result.recall:6.4f} {statistics.median(result.millis):10.2f}"
            f" {result.percentile(0.95):8.2f} {result.failures:6d}"
        )
    if args.worst:
        ranked = sorted(range(len(pages)), key=lambda i: results[0].counts[i].f1)
        names = ", ".join(r.name for r in results)
        print(f"\nlowest F1 of {results[0].name}, worst {args.worst} (F1 of {names}):")
        for i in ranked[: args.worst]:
            f1s = "  ".join(f"{r.counts[i].f1:.3f}" for r in results)
            print(f"  {pages[i].id}  {f1s}  {pages[i].url}")


if __name__ == "__main__":
    main()
