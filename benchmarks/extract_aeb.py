"""Score aggregator's extractor on the aeb article-extraction benchmark.

aeb holds 181 real news and blog pages with the article text a person marked as the main
text (see its README). The metric is the benchmark's own: both texts become word tokens
(``\\w+``), then multisets of 4-token shingles; true/false positives and false negatives are
counted per page and normalised by the page's total, precision and recall are averaged over
the pages, and F1 is taken of the two averages. A page where nothing was extracted counts
with recall 0 and is left out of the precision average, as in the original script.

Plain trafilatura (comments off) is scored too, for comparison, with the median and 95th
percentile CPU time per page of both.

    .venv/bin/python benchmarks/extract_aeb.py [--data PATH] [--worst N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import trafilatura

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from aggregator.errors import ExtractError  # noqa: E402
from aggregator.extract import extract  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "aeb"
SHINGLE = 4
_WORD = re.compile(r"\w+")


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


@dataclass(frozen=True)
class Result:
    name: str
    counts: list[Counts]
    millis: list[float]

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


def ours(page: Page) -> str:
    try:
        return extract(page.html, url=page.url).text
    except ExtractError:
        return ""


def plain_trafilatura(page: Page) -> str:
    return (
        trafilatura.extract(page.html, url=page.url, include_comments=False, deduplicate=False)
        or ""
    )


def run(name: str, extractor: Callable[[Page], str], pages: list[Page]) -> Result:
    counts, millis = [], []
    for page in pages:
        start = time.process_time()
        text = extractor(page)
        millis.append((time.process_time() - start) * 1000)
        counts.append(compare(page.truth, text))
    return Result(name, counts, millis)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the aeb folder")
    parser.add_argument("--worst", type=int, default=0, help="list our N lowest-F1 pages")
    args = parser.parse_args(argv)

    pages = list(load_pages(args.data))
    results = [run("trafilatura", plain_trafilatura, pages), run("aggregator", ours, pages)]
    print(f"aeb: {len(pages)} pages from {args.data}")
    print(f"{'extractor':<12} {'F1':>6} {'P':>6} {'R':>6} {'median ms':>10} {'p95 ms':>8}")
    for result in results:
        print(
            f"{result.name:<12} {result.f1:6.4f} {result.precision:6.4f} {result.recall:6.4f}"
            f" {statistics.median(result.millis):10.2f} {result.percentile(0.95):8.2f}"
        )
    if args.worst:
        baseline, mine = results
        ranked = sorted(
            zip(pages, mine.counts, baseline.counts, strict=True),
            key=lambda row: _f1(row[1]),
        )
        print(f"\nlowest F1 (ours, trafilatura's), worst {args.worst}:")
        for page, counts, theirs in ranked[: args.worst]:
            print(f"  {page.id}  {_f1(counts):.3f}  {_f1(theirs):.3f}  {page.url}")


def _f1(counts: Counts) -> float:
    p, r = counts.precision, counts.recall
    return 2 * p * r / (p + r) if p + r else 0.0


if __name__ == "__main__":
    main()
