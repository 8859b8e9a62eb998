"""Parse benchmark: the fast path (``aggregator.parse._fast``) against feedparser alone.

Times ``parse`` per feed of 50 entries both ways, on the farm's feeds (RSS 2.0 and Atom with
short plain summaries, as ``benchmarks/farm.py`` serves them) and on feeds whose entries carry
their whole article as HTML (``content:encoded``, as blogs send), where feedparser's HTML
sanitizer, which both paths run, takes most of the time. Then the parse CPU for the farm's
feeds, and which share of the golden, generated and chaotic test documents the fast path reads
(the rest it leaves to feedparser), with its reasons.

    python benchmarks/parse.py [--feeds 200] [--entries 50] [--repeat 3]

Nothing is fetched: the farm's documents are built in this process.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from email.utils import formatdate
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for path in (REPO, HERE):  # run as a script from anywhere; farm.py is a sibling script
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from farm import Farm, _paragraph, _rng, _word  # noqa: E402

from aggregator.parse import parse  # noqa: E402
from aggregator.parse._fast import Declined, read  # noqa: E402
from aggregator.parse._prolog import prepare  # noqa: E402
from aggregator.parse._xml import parse_xml  # noqa: E402
from tests.test_parse_fast import GENERATED, Chaos, generated_feed  # noqa: E402

BASE = "http://127.0.0.1:8080"
HEADERS = {"content-type": "application/xml"}
Document = tuple[bytes, str]
"""A feed's bytes and its URL."""


def farm_feeds(feeds: int, entries: int) -> list[Document]:
    farm = Farm(feeds, entries)
    return [(farm.feed_xml(BASE, n), f"{BASE}/feed/{n}.xml") for n in range(feeds)]


def html_feed(number: int, entries: int) -> Document:
    """A blog's feed: each entry with a teaser and its article as HTML (~2.5 KB)."""
    rng = _rng("html feed", number)
    items = []
    for n in range(entries):
        paragraphs = "".join(
            f'<p>{_paragraph(rng)} <a href="/{n}/{k}">{_word(rng)}</a></p>' for k in range(4)
        )
        article = f'{paragraphs}<img src="/img/{n}.jpg" alt=""><blockquote>{_paragraph(rng)}'
        items.append(
            f"<item><title>{escape(_paragraph(rng)[:60])}</title>"
            f"<link>https://blog{number}.example/{n}</link><guid>https://blog{number}.example/{n}"
            f"</guid><pubDate>{formatdate(1_700_000_000 + n * 3600, usegmt=True)}</pubDate>"
            f"<dc:creator>{_word(rng)}</dc:creator><category>{_word(rng)}</category>"
            f"<description>{escape(_paragraph(rng)[:250])}</description>"
            f"<content:encoded><![CDATA[{article}</blockquote>]]></content:encoded></item>"
        )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>A blog</title>'
        f"<link>https://blog{number}.example/</link>{''.join(items)}</channel></rss>"
    )
    return document.encode(), f"https://blog{number}.example/feed"


def cpu_ms(documents: list[Document], parser: Callable[[Document], object], repeat: int) -> float:
    """The best of ``repeat`` runs, in CPU milliseconds per document."""
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        for document in documents:
            parser(document)
        runs.append((time.process_time() - started) * 1000 / len(documents))
    return min(runs)


def with_feedparser(document: Document) -> object:
    return parse_xml(document[0], document[1], HEADERS, "application/xml", fast=False)


def with_fast_path(document: Document) -> object:
    return parse(document[0], document[1], HEADERS)


def fast_path_alone(document: Document) -> object:
    return read(prepare(document[0], HEADERS["content-type"]).data, document[1], HEADERS)


def declined(body: bytes, headers: dict[str, str]) -> str | None:
    """Why the fast path leaves ``body`` to feedparser, or None when it reads it."""
    try:
        read(prepare(body, headers.get("content-type", "")).data, "https://example.org/f", headers)
    except Declined as exc:
        return re.sub(r", line \d+.*", "", str(exc))
    return None


def share(name: str, documents: Iterable[tuple[bytes, dict[str, str]]]) -> None:
    reasons = Counter(declined(body, headers) for body, headers in documents)
    total = sum(reasons.values())
    fast = reasons.pop(None, 0)
    print(f"{name:<28} {fast:>5} of {total:<5} {100 * fast / total:5.1f}% on the fast path")
    for reason, count in reasons.most_common(4):
        print(f"{'':<30}{count:>4} declined: {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    farm = farm_feeds(args.feeds, args.entries)
    html = [html_feed(n, args.entries) for n in range(20)]
    print(f"CPU ms per feed of {args.entries} entries (best of {args.repeat} runs)")
    print(f"{'feeds':<34}{'size':>8}{'feedparser':>12}{'fast path':>11}{'speedup':>9}"
          f"{'reading':>9}")  # fmt: skip
    totals = {}
    for name, documents in (("farm (RSS 2.0 and Atom)", farm), ("HTML articles (RSS 2.0)", html)):
        slow = cpu_ms(documents, with_feedparser, args.repeat)
        fast = cpu_ms(documents, with_fast_path, args.repeat)
        alone = cpu_ms(documents, fast_path_alone, args.repeat)
        size = statistics.mean(len(body) for body, _ in documents) / 1000
        totals[name] = (slow, fast)
        print(f"{name:<34}{size:>6.0f}KB{slow:>12.2f}{fast:>11.2f}{slow / fast:>8.1f}x"
              f"{alone:>9.2f}")  # fmt: skip
    print("  (reading: the fast path's own reading, before the Feed is built from it)")

    slow, fast = (ms * args.feeds / 1000 for ms in totals["farm (RSS 2.0 and Atom)"])
    print(f"\nParse CPU for the farm's {args.feeds} feeds: feedparser {slow:.2f} s, "
          f"fast path {fast:.2f} s")  # fmt: skip

    print("\nShare of documents the fast path reads")
    golden = sorted((REPO / "tests" / "data" / "feeds").glob("*.xml"))
    share("golden feeds (XML)", ((path.read_bytes(), {}) for path in golden))
    share("generated feeds", (generated_feed(seed) for seed in range(1000)))
    share("chaotic documents", ((Chaos(seed).document(), {}) for seed in range(1000)))
    share("farm feeds", ((body, HEADERS) for body, _ in farm))
    print(f"  (the tests check the first {GENERATED} generated feeds against feedparser)")


if __name__ == "__main__":
    main()
