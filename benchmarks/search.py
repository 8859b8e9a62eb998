"""Search latency on a large archive, and how fast the archive takes articles in.

Builds an archive of ``--articles`` generated articles through our own store
(``Store.save_poll``, full-text index and near-duplicate keys included, 500 articles per poll
as a feed would bring them, one a minute back from now): each article is 15-30 real sentences
drawn at random from the aeb pages (../shared/data/aeb) with a third of their words swapped for
other words of that corpus: about 400 words of real news vocabulary with its real word
frequencies.
Then it runs ``aggregator.search.search`` for three kinds of queries, relevance-ranked and
newest first, and prints p50/p95/max latency for each:

- rare: made-up names, each in about two articles;
- common: single words found in 20-60 % of them (they match many rows, the hard case for bm25);
- phrase: two-word "quoted phrases" taken from the sentences.

Insert rates are printed for the first and the last tenth of the build (a worker process
writes the articles; only ``Store.save_poll`` is timed), and the bytes an article takes. The
archive is built in a temporary folder (``--keep PATH`` keeps it, and reuses it when it exists).
Each run first does the daemon's maintenance (``Store.maintain``: up to 20 s of merging the
full-text index's segments), so runs on a kept archive see it as a daemon's would become.
A query is timed the first time it runs (after one warm-up query of its kind): the pages it
needs may have to come from disk, as for a user's first search. ``--warm-all`` runs every
query once first: the figures of a page cache that already holds them.

    .venv/bin/python benchmarks/search.py [--articles 100000] [--queries 60] [--seed 11]
        [--keep PATH] [--warm-all]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from aggregator import dedup  # noqa: E402
from aggregator.config import FeedConfig  # noqa: E402
from aggregator.models import ArticleRecord, FeedPoll  # noqa: E402
from aggregator.search import search  # noqa: E402
from aggregator.store import Store  # noqa: E402

AEB = REPO.parent / "shared" / "data" / "aeb"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BATCH = 500
FEEDS = 50
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
_WORD = re.compile(r"[a-z]{4,}")


def sentences() -> list[str]:
    found = []
    with (AEB / "manifest.jsonl").open() as manifest:
        for line in manifest:
            body = json.loads(line)["body"]
            found += [s for s in _SENTENCE.split(" ".join(body.split())) if len(s.split()) >= 6]
    return found


def reworded(sentence: str, rng: random.Random, words: list[str]) -> str:
    """A pool sentence with a third of its words replaced by words of the same corpus (drawn
    with their frequencies), so that articles share vocabulary and phrases as real news does,
    not whole sentences (which would make every article a near-copy candidate of hundreds)."""
    return " ".join(rng.choice(words) if rng.random() < 0.33 else w for w in sentence.split())


def build(store: Store, articles: int, seed: int) -> list[float]:
    """Fill the archive; returns the insert rate (articles/s) of each batch.

    Articles are written by a worker process while the store saves the previous batch (only
    ``save_poll`` is timed).
    """
    store.sync_feeds([FeedConfig(url=f"https://feeds.example/{n}.xml") for n in range(FEEDS)],
                     now=NOW)  # fmt: skip
    ids = [f.id for f in store.feeds()]
    rates = []
    jobs = ((start, articles, seed) for start in range(0, articles, BATCH))
    with multiprocessing.get_context("spawn").Pool(1) as workers:
        ahead = deque(workers.apply_async(generated, (job,)) for job in islice(jobs, 4))
        while ahead:
            start, records = ahead.popleft().get()
            if (job := next(jobs, None)) is not None:
                ahead.append(workers.apply_async(generated, (job,)))
            poll = FeedPoll(
                feed_id=ids[(start // BATCH) % FEEDS],
                polled_at=NOW,
                status=200,
                etag=None,
                last_modified=None,
                next_poll_at=NOW,
                articles=records,
            )
            started = time.perf_counter()
            store.save_poll(poll)
            rates.append(len(records) / (time.perf_counter() - started))
            if (start // BATCH) % 100 == 0:
                print(f"  {start + len(records):,} articles, {rates[-1]:.0f}/s", file=sys.stderr)
    return rates


_POOL: list[str] = []
_WORDS: list[str] = []


def generated(job: tuple[int, int, int]) -> tuple[int, tuple[ArticleRecord, ...]]:
    """The batch of articles from ``start`` (in a worker: its own random numbers, so the
    archive is the same whoever writes it)."""
    start, articles, seed = job
    if not _POOL:
        _POOL.extend(sentences())
        _WORDS.extend(w for sentence in _POOL for w in sentence.split())  # real frequencies
    pool, words = _POOL, _WORDS
    rng = random.Random(f"{seed}-{start}")
    records = []
    for n in range(start, min(start + BATCH, articles)):
        name = rare_name(rng.randrange(max(1, articles // 2)))
        paragraphs = [reworded(s, rng, words) for s in rng.sample(pool, rng.randint(15, 30))]
        paragraphs.insert(rng.randrange(len(paragraphs)), f"{name} was not available.")
        text = "\n\n".join(paragraphs)
        title = " ".join(rng.choice(pool).split()[:10])
        records.append(
            ArticleRecord(
                entry_id=f"e{n}",
                entry_hash=f"h{n}",
                guid=f"e{n}",
                url=f"https://site{n % 97}.example/{n}",
                url_key=f"https://site{n % 97}.example/{n}",
                canonical_url=f"https://site{n % 97}.example/{n}",
                title=title,
                author=None,
                published=NOW - timedelta(minutes=articles - n),
                updated=None,
                summary=None,
                content=text,
                content_source="page",
                lang="en",
                word_count=len(text.split()),
                content_hash=dedup.content_hash(text),
                near_keys=dedup.near_keys(dedup.shingles(text)),
            )
        )
    return start, tuple(records)


def rare_name(number: int) -> str:
    """A made-up proper name (each one in about two articles, as names of people and places
    are): rare words, which real sentences drawn from a pool of a few thousand cannot give."""
    syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vor", "dil", "ne", "por", "qui", "zan"]
    word = ""
    number += len(syllables) ** 2
    while number:
        number, digit = divmod(number, len(syllables))
        word += syllables[digit]
    return word.capitalize()


def queries(pool: list[str], articles: int, count: int, rng: random.Random) -> dict[str, list[str]]:
    """Rare names, common words and two-word phrases. Common words are chosen by their share
    of the pool's sentences (an article draws ~22 of them, so a word in s of the sentences is in
    ~1-(1-s)^22 of the articles)."""
    document_frequency: Counter[str] = Counter()
    for sentence in pool:
        document_frequency.update(set(_WORD.findall(sentence.lower())))
    share = {w: 1 - (1 - c / len(pool)) ** 22 for w, c in document_frequency.items()}
    rare = [rare_name(rng.randrange(max(1, articles // 2))) for _ in range(count)]
    common = [w for w, s in share.items() if 0.2 <= s <= 0.6]
    phrases = []
    while len(phrases) < count:
        words = _WORD.findall(rng.choice(pool).lower())
        if len(words) >= 2:
            i = rng.randrange(len(words) - 1)
            phrases.append(f'"{words[i]} {words[i + 1]}"')
    return {
        "rare": rare,
        "common": rng.sample(common, min(count, len(common))),
        "phrase": phrases,
    }


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, help="keep the archive here (reused if present)")
    parser.add_argument(
        "--warm-all",
        action="store_true",
        help="run every query once before timing them (a warm page cache: the figures of a"
        " machine whose memory holds the archive's hot pages)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pool = sentences()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "search.db"
        reuse = path.exists()
        with Store(path) as store:
            rates: list[float] = []
            if not reuse:
                started = time.perf_counter()
                rates = build(store, args.articles, args.seed)
                took = time.perf_counter() - started
            started = time.perf_counter()
            merged = store.maintain()  # what the daemon does every six hours
            state = "merged" if merged else "not merged yet (the next run goes on)"
            print(f"maintenance: {time.perf_counter() - started:.1f} s, full-text index {state}")
            stored = store.counts()["articles"]
            size = path.stat().st_size
            print(f"archive: {stored:,} articles, {size / 2**20:.0f} MiB,"
                  f" {size / stored:,.0f} bytes an article, all included")  # fmt: skip
            if rates:
                tenth = max(1, len(rates) // 10)
                first, last = statistics.median(rates[:tenth]), statistics.median(rates[-tenth:])
                print(f"built in {took:.0f} s; insert rate (median of a tenth's polls): first"
                      f" tenth {first:.0f} articles/s, last tenth {last:.0f} articles/s"
                      f" ({last / first:.0%})")  # fmt: skip
            kinds = queries(pool, stored, args.queries, rng)
            print(f"{'query kind':<10} {'order':<10} {'n':>4} {'p50 ms':>8} {'p95 ms':>8}"
                  f" {'max ms':>8} {'hits':>6}")  # fmt: skip
            for kind, texts in kinds.items():
                for newest in (False, True):
                    for text in texts if args.warm_all else texts[:1]:  # warm
                        search(store, text, newest_first=newest)
                    times, hits = [], 0
                    for text in texts:
                        started = time.perf_counter()
                        hits += len(search(store, text, limit=20, newest_first=newest))
                        times.append(1000 * (time.perf_counter() - started))
                    order = "date" if newest else "relevance"
                    print(f"{kind:<10} {order:<10} {len(texts):>4} {percentile(times, 50):>8.1f}"
                          f" {percentile(times, 95):>8.1f} {max(times):>8.1f}"
                          f" {hits / len(texts):>6.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
