"""The extraction quality gate, page by page: ours against plain trafilatura.

Scores ``aggregator.extract.extract`` and ``trafilatura.extract`` (comments off, its
deduplication off) on the pages of tests/data/gate with the gate's own score (see
tests/test_extract_gate.py: per page 0.5 * kept + 0.5 * clean, averaged over pages), then
prints a table per page, the means per kind and language, the floor, and what ours missed,
put out of order and leaked, worst page first.

    .venv/bin/python benchmarks/gate.py              # the table and what to fix
    .venv/bin/python benchmarks/gate.py --show NAME  # our text of one page, then its snippets
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import trafilatura

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from tests.test_extract_gate import (  # noqa: E402
    GatePage,
    PageScore,
    describe,
    gate_score,
    load_pages,
    ours,
    read_floor,
    run_gate,
)


def plain_trafilatura(page: GatePage) -> str:
    """trafilatura as a user would call it on its own, reader comments excluded."""
    text = trafilatura.extract(page.html, url=page.url, include_comments=False, deduplicate=False)
    return text or ""


EXTRACTORS: dict[str, Callable[[GatePage], str]] = {
    "ours": ours,
    "trafilatura": plain_trafilatura,
}


def _mean(scores: Sequence[PageScore], field: str) -> float:
    return statistics.fmean(getattr(s, field) for s in scores)


def page_table(results: dict[str, list[PageScore]]) -> str:
    """One row per page, worst of ours first: kept, clean and score of every extractor."""
    names = list(results)
    left = f"{'':34} {'':12} {'':4}"
    rows = [
        left + "".join(f" | {name[:16]:^16}" for name in names),
        f"{'page':34} {'kind':12} {'lang':4}" + " | kept clean score" * len(names),
    ]
    rows.append("-" * len(rows[1]))
    order = sorted(range(len(results[names[0]])), key=lambda i: results[names[0]][i].score)
    for i in order:
        page = results[names[0]][i].page
        row = f"{page.name:34} {page.kind:12} {page.lang:4}"
        for name in names:
            s = results[name][i]
            row += f" | {s.kept:4.2f} {s.clean:5.2f} {s.score:5.3f}"
        rows.append(row)
    return "\n".join(rows)


def group_table(results: dict[str, list[PageScore]], attribute: str) -> str:
    """The mean score per kind or language, with the number of pages."""
    names = list(results)
    groups = sorted({getattr(s.page, attribute) for s in results[names[0]]})
    rows = [f"{attribute:12} {'pages':>5}" + "".join(f" {name[:11]:>11}" for name in names)]
    for group in groups:
        counts = [s for s in results[names[0]] if getattr(s.page, attribute) == group]
        row = f"{group:12} {len(counts):5}"
        for name in names:
            chosen = [s for s in results[name] if getattr(s.page, attribute) == group]
            row += f" {gate_score(chosen):11.3f}"
        rows.append(row)
    return "\n".join(rows)


def summary(results: dict[str, list[PageScore]]) -> str:
    rows = [f"{'extractor':12} {'kept':>6} {'clean':>6} {'score':>6} {'perfect':>8} {'failed':>6}"]
    for name, scores in results.items():
        perfect = sum(s.score == 1 for s in scores)
        failed = sum(s.failed for s in scores)
        rows.append(
            f"{name:12} {_mean(scores, 'kept'):6.3f} {_mean(scores, 'clean'):6.3f} "
            f"{gate_score(scores):6.3f} {perfect:5}/{len(scores):<2} {failed:6}"
        )
    return "\n".join(rows)


def show(page: GatePage) -> None:
    """Our extracted text of one page, then how it scores."""
    text = ours(page)
    print(text)
    print("=" * 80)
    print(describe(run_gate([page], lambda _: text)) or f"{page.name}: perfect")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", metavar="NAME", help="print our text of one page")
    args = parser.parse_args()
    pages = load_pages()
    if args.show:
        chosen = [p for p in pages if p.name == args.show]
        if not chosen:
            parser.error(f"no page named {args.show!r} in the gate")
        show(chosen[0])
        return

    results = {name: run_gate(pages, extractor) for name, extractor in EXTRACTORS.items()}
    print(page_table(results), end="\n\n")
    print(group_table(results, "kind"), end="\n\n")
    print(group_table(results, "lang"), end="\n\n")
    print(summary(results))
    print(f"floor (tests/data/gate/floor.json): {read_floor():.3f}", end="\n\n")
    print("what ours loses, worst first:")
    print(describe(results["ours"]) or "nothing: every page is perfect")


if __name__ == "__main__":
    main()
