"""Deduplication quality on a corpus whose truth is known, and near-duplicate lookup time at scale.

Part 1, quality. ``--stories`` stories are written from the real sentences of the aeb pages
(../shared/data/aeb: 8-20 sentences each, drawn at random, so stories share the language and
stock phrases of real news, not their text). Each is published by an origin feed, and then,
at random, by other feeds as:

- the same page under a tracking URL (``?utm_source=...&fbclid=...``);
- a copy of the same text under another URL and another site's template;
- a near-copy: a few words changed, a sentence dropped or added, another site's template and
  boilerplate;

and the corpus holds stories that must stay apart: different stories under almost the same
headline, and follow-ups that reuse a third of an earlier story's sentences. Every entry goes
through the real code: ``pipeline.prepare_article`` (extraction included, in a process pool)
and ``Store.save_poll`` into a real SQLite file, feeds in shuffled order (a copy may arrive
before its original). Entries are then grouped by the article they were filed under (its
``duplicate_of`` original for near-copies) and compared with the truth over all pairs of
entries: precision (pairs we put together that belong together) and recall (pairs that belong
together that we put together), overall and per kind of copy.

Part 2, scale. ``--fingerprints`` articles' band keys (20 per article, random 64-bit values:
the keys of unrelated texts are hash outputs; an article a minute, filed by week) are written
into the ``near_keys`` table of a fresh archive, with 200 real stories of this week; then
near-copies of those stories and unrelated stories are looked up with ``find_near_copy``, the
function the store calls for every new article. It prints the build time, the table size and
p50/p95 lookup times.

    .venv/bin/python benchmarks/dedup.py [--stories 1500] [--fingerprints 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import html
import json
import multiprocessing
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from aggregator import dedup  # noqa: E402
from aggregator.config import FeedConfig  # noqa: E402
from aggregator.models import ArticleRecord, Entry, FeedPoll, FetchResult  # noqa: E402
from aggregator.prepare import keys_of, prepare_article  # noqa: E402
from aggregator.store import Store  # noqa: E402
from aggregator.store._articles import find_near_copy  # noqa: E402

AEB = REPO.parent / "shared" / "data" / "aeb"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
#: The scale part's archive takes an article a minute (its keys spread over weeks as a real
#: archive's do).
MINUTES_A_WEEK = 7 * 24 * 60


def real_sentences() -> list[str]:
    """Sentences of 8 to 60 words from the aeb pages' true article text."""
    sentences: list[str] = []
    with (AEB / "manifest.jsonl").open() as manifest:
        for line in manifest:
            body = json.loads(line)["body"]
            for sentence in _SENTENCE.split(" ".join(body.split())):
                if 8 <= len(sentence.split()) <= 60:
                    sentences.append(sentence)
    return sentences


# --- the corpus -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One feed entry with its page, and the story it truly belongs to."""

    feed: int
    entry_id: str
    url: str
    title: str
    page: str
    published: datetime
    story: int
    kind: str


SITES = 12
SIGN_OFFS = [
    "This article was originally published by a partner newsroom and is republished here.",
    "Additional reporting by our correspondents; editing by the night desk.",
    "Copyright 2026 The Associated Press. All rights reserved. This material may not be published.",
    "Get the latest headlines delivered to your inbox every morning with our free newsletter.",
]
FEEDS = 40


def page(site: int, title: str, paragraphs: list[str], rng: random.Random) -> str:
    """An article page in one of SITES templates, each with its own boilerplate."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    related = "".join(
        f'<li><a href="/r/{rng.randrange(10**6)}">Related story {rng.randrange(1000)}</a></li>'
        for _ in range(4)
    )
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} | Site {site}</title></head><body>
<header><nav><a href="/">Site {site} home</a> <a href="/world">World</a>
<a href="/business">Business</a> <a href="/sport">Sport</a></nav></header>
<main><article><h1>{html.escape(title)}</h1>
<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>
<div class="body">{body}</div>
<aside class="related"><h3>More from site {site}</h3><ul>{related}</ul></aside>
</article></main>
<footer><p>© 2026 Site {site} Media. All rights reserved.</p></footer></body></html>"""


MAX_EDITS = 8


def edited(
    paragraphs: list[str], rng: random.Random, pool: list[str], max_edits: int = MAX_EDITS
) -> list[str]:
    """A near-copy's text: sometimes only its first three quarters, 2 to ``max_edits`` words
    changed, a sentence dropped or one added, the copying site's dateline and sign-off."""
    out = list(paragraphs)
    if rng.random() < 0.3:  # an excerpt: the first three quarters
        out = out[: max(6, len(out) * 3 // 4)]
    for _ in range(rng.randint(2, max_edits)):
        i = rng.randrange(len(out))
        words = out[i].split()
        j = rng.randrange(len(words))
        words[j] = rng.choice(["reportedly", "officials", "Tuesday", "about", "nearly", "said"])
        out[i] = " ".join(words)
    if rng.random() < 0.5 and len(out) > 6:
        out.pop(rng.randrange(len(out)))
    else:
        out.insert(rng.randrange(len(out) + 1), rng.choice(pool))
    # The copying site's own lines, which read as prose and survive extraction.
    out.insert(
        0, f"({rng.choice(['AP', 'Reuters', 'dpa', 'AFP'])}) -- filed {rng.randrange(1, 28)} Nov."
    )
    out.append(rng.choice(SIGN_OFFS))
    return out


def corpus(stories: int, rng: random.Random, max_edits: int = MAX_EDITS) -> list[Item]:
    pool = real_sentences()
    items: list[Item] = []
    texts: list[list[str]] = []
    for story in range(stories):
        if story and rng.random() < 0.1:  # a follow-up: a third of an earlier story, then new
            earlier = rng.choice(texts)
            kept = rng.sample(earlier, max(1, len(earlier) // 3))
            paragraphs = kept + rng.sample(pool, rng.randint(6, 14))
            kind = "follow-up"
        else:
            paragraphs = rng.sample(pool, rng.randint(8, 20))
            kind = "original"
        texts.append(paragraphs)
        title = f"Story {story}: " + " ".join(paragraphs[0].split()[:8])
        site = rng.randrange(SITES)
        url = f"https://site{site}.example/news/{story}.html"
        published = NOW - timedelta(minutes=rng.randrange(60 * 24 * 30))
        origin = rng.randrange(FEEDS)

        feeds = iter(rng.sample(range(FEEDS), 6))  # each copy comes from another feed
        variants = [(kind, url, title, paragraphs, site)]
        if rng.random() < 0.4:
            tracked = f"{url}?utm_source=feed{origin}&utm_medium=rss&fbclid=x{story}"
            variants.append(("tracking-url", tracked, title, paragraphs, site))
        if rng.random() < 0.3:
            other = (site + rng.randrange(1, SITES)) % SITES
            copy_url = f"https://site{other}.example/wire/{story}-copy.html"
            variants.append(("exact-copy", copy_url, title, paragraphs, other))
        for n in range(rng.choice((0, 0, 1, 1, 2))):
            other = (site + rng.randrange(1, SITES)) % SITES
            near_url = f"https://site{other}.example/syndicated/{story}-{n}.html"
            text = edited(paragraphs, rng, pool, max_edits)
            variants.append(("near-copy", near_url, f"{title} (update)", text, other))
        for variant, link, headline, text, where in variants:
            feed = next(feeds)
            later = timedelta(minutes=rng.randrange(1, 600)) if variant != kind else timedelta()
            items.append(
                Item(
                    feed=feed,
                    entry_id=f"{feed}:{len(items)}",
                    url=link,
                    title=headline,
                    page=page(where, headline, text, rng),
                    published=published + later,
                    story=story,
                    kind=variant,
                )
            )
        if rng.random() < 0.1:  # another story under almost the same headline
            twin = stories + story
            twin_text = rng.sample(pool, rng.randint(8, 20))
            twin_url = f"https://site{site}.example/news/{twin}.html"
            items.append(
                Item(
                    feed=rng.randrange(FEEDS),
                    entry_id=f"twin:{story}",
                    url=twin_url,
                    title=title + " again",
                    page=page(site, title + " again", twin_text, rng),
                    published=published,
                    story=twin,
                    kind="similar-headline",
                )
            )
    return items


def prepare(item: Item) -> tuple[Item, ArticleRecord]:
    entry = Entry(id=item.entry_id, guid=item.entry_id, url=item.url, title=item.title,
                  published=item.published)  # fmt: skip
    fetched = FetchResult(
        url=item.url,
        final_url=item.url,
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=item.page.encode(),
        fetched_at=NOW,
    )
    return item, prepare_article(entry, keys_of(entry), fetched, archive_page=False)


# --- scoring ----------------------------------------------------------------------------------


def pairs(groups: dict[int, list[int]]) -> set[tuple[int, int]]:
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def quality(args: argparse.Namespace, workdir: Path) -> None:
    rng = random.Random(args.seed)
    started = time.perf_counter()
    items = corpus(args.stories, rng, args.max_edits)
    with multiprocessing.get_context("spawn").Pool(os.cpu_count()) as pool:
        prepared = pool.map(prepare, items, chunksize=16)
    prepare_seconds = time.perf_counter() - started

    by_feed: dict[int, list[ArticleRecord]] = defaultdict(list)
    for item, record in prepared:
        by_feed[item.feed].append(record)
    with Store(workdir / "dedup.db") as store:
        store.sync_feeds(
            [FeedConfig(url=f"https://feeds.example/{n}.xml") for n in range(FEEDS)], now=NOW
        )
        ids = {f.url: f.id for f in store.feeds()}
        order = list(by_feed)
        rng.shuffle(order)
        started = time.perf_counter()
        for feed in order:
            poll = FeedPoll(
                feed_id=ids[f"https://feeds.example/{feed}.xml"],
                polled_at=NOW,
                status=200,
                etag=None,
                last_modified=None,
                next_poll_at=NOW,
                articles=tuple(by_feed[feed]),
            )
            store.save_poll(poll)
        save_seconds = time.perf_counter() - started
        filed = {
            row["entry_id"]: row["root"]
            for row in store.query(
                "SELECT s.entry_id, coalesce(a.duplicate_of, a.id) AS root"
                " FROM sightings s JOIN articles a ON a.id = s.article_id"
            )
        }
        articles = store.counts()["articles"]

    index = {item.entry_id: n for n, item in enumerate(items)}
    truth: dict[int, list[int]] = defaultdict(list)
    found: dict[int, list[int]] = defaultdict(list)
    for item in items:
        truth[item.story].append(index[item.entry_id])
        found[filed[item.entry_id]].append(index[item.entry_id])
    true_pairs, found_pairs = pairs(truth), pairs(found)
    hit = true_pairs & found_pairs
    kinds = Counter(item.kind for item in items)
    print(
        f"corpus: {len(items)} entries of {args.stories} stories, seed {args.seed},"
        f" near-copies change 2-{args.max_edits} words"
    )
    print("  " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    rate = len(items) / save_seconds
    print(f"prepared (extraction included, {os.cpu_count()} processes) in {prepare_seconds:.1f} s;")
    print(f"saved in {save_seconds:.1f} s ({rate:.0f} entries/s)")
    print(f"archive: {articles} article rows for {len(truth)} true stories")
    precision = len(hit) / len(found_pairs) if found_pairs else 1.0
    recall = len(hit) / len(true_pairs) if true_pairs else 1.0
    print(f"pairwise precision {precision:.4f}  recall {recall:.4f}")
    print(f"  ({len(hit)} of {len(true_pairs)} true pairs found, {len(found_pairs)} pairs made)")
    print("recall by kind of copy (pairs with the story's first entry):")
    first = {}
    for item in items:
        first.setdefault(item.story, item)
    for kind in ("tracking-url", "exact-copy", "near-copy"):
        members = [i for i in items if i.kind == kind]
        together = sum(filed[i.entry_id] == filed[first[i.story].entry_id] for i in members)
        print(f"  {kind:<14} {together}/{len(members)}")
    print("kept apart (must not join another story):")
    for kind in ("similar-headline", "follow-up"):
        members = [i for i in items if i.kind == kind]
        alone = sum(
            all(
                index[j.entry_id] in truth[i.story]
                for j in items
                if filed[j.entry_id] == filed[i.entry_id]
            )
            for i in members
        )
        print(f"  {kind:<14} {alone}/{len(members)}")


# --- scale ------------------------------------------------------------------------------------


def scale(args: argparse.Namespace, workdir: Path) -> None:
    rng = random.Random(args.seed)
    pool = real_sentences()
    path = workdir / "scale.db"
    with Store(path) as store:
        conn = store.db.conn
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1000000")  # 1 GB while building, not measured
        started = time.perf_counter()
        batch = 20_000
        week = dedup.near_week(NOW)
        for start in range(1, args.fingerprints + 1, batch):
            rows = [
                (week - (args.fingerprints - article) // MINUTES_A_WEEK, key, article)
                for article in range(start, min(start + batch, args.fingerprints + 1))
                for key in [rng.getrandbits(64) - 2**63 for _ in range(dedup.NEAR_BANDS)]
            ]
            conn.executemany("INSERT OR IGNORE INTO near_keys VALUES (?, ?, ?)", rows)
            conn.commit()
        build = time.perf_counter() - started
        store.sync_feeds([FeedConfig(url="https://feeds.example/x.xml")], now=NOW)
        (feed,) = store.feeds()
        stories = [rng.sample(pool, rng.randint(8, 20)) for _ in range(400)]
        for n, story in enumerate(stories[:200]):
            text = "\n\n".join(story)
            conn.execute(
                "INSERT INTO articles (id, feed_id, content, first_seen, last_seen)"
                " VALUES (?, ?, ?, '2026-11-28T00:00:00Z', '2026-11-28T00:00:00Z')",
                (args.fingerprints + 1 + n, feed.id, text),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO near_keys (week, key, article_id) VALUES (?, ?, ?)",
                [
                    (week, k, args.fingerprints + 1 + n)
                    for k in dedup.near_keys(dedup.shingles(text))
                ],
            )
        conn.commit()
        rows = conn.execute("SELECT count(*) FROM near_keys").fetchone()[0]
        size = path.stat().st_size

        def timed(texts: list[str]) -> tuple[list[float], list[float], int]:
            keys_ms, lookup_ms, matched = [], [], 0
            for text in texts:
                t0 = time.perf_counter()
                keys = dedup.near_keys(dedup.shingles(text))
                t1 = time.perf_counter()
                matched += find_near_copy(conn, keys, text, week) is not None
                t2 = time.perf_counter()
                keys_ms.append(1000 * (t1 - t0))
                lookup_ms.append(1000 * (t2 - t1))
            return keys_ms, lookup_ms, matched

        copies = ["\n\n".join(edited(story, rng, pool)) for story in stories[:200]]
        unrelated = ["\n\n".join(story) for story in stories[200:]]
        timed(copies[:20])  # warm the page cache
        copy_keys, copy_lookup, copy_found = timed(copies)
        new_keys, new_lookup, new_found = timed(unrelated)

    def p(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1]

    print(
        f"near_keys: {rows:,} rows for {args.fingerprints + 200:,} articles, built in {build:.0f} s"
    )
    print(f"archive: {size / 2**20:.0f} MiB ({size / rows:.0f} bytes a key row, index included)")
    print("lookup = find_near_copy (indexed candidates + exact comparison), ms:")
    for label, lookup, found, total in (
        ("near-copies of stored", copy_lookup, copy_found, len(copies)),
        ("unrelated (misses)", new_lookup, new_found, len(unrelated)),
    ):
        print(f"  {label:<22} p50 {p(lookup, 50):.3f}  p95 {p(lookup, 95):.3f}"
              f"  max {max(lookup):.3f}  matched {found}/{total}")  # fmt: skip
    keys = copy_keys + new_keys
    print(f"computing a text's keys (in the worker): p50 {p(keys, 50):.3f} ms,"
          f" p95 {p(keys, 95):.3f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1500)
    parser.add_argument("--fingerprints", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--max-edits", type=int, default=MAX_EDITS, help="most words a near-copy changes"
    )
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    if not (AEB / "manifest.jsonl").exists():
        sys.exit(f"the aeb data is not at {AEB}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_quality:
            quality(args, Path(tmp))
        if not args.skip_scale:
            scale(args, Path(tmp))


if __name__ == "__main__":
    main()
