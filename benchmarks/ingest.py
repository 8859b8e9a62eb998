"""Ingest benchmark: `aggregator poll` and lemon24/reader on a local farm of feeds.

Starts ``benchmarks/farm.py`` on 127.0.0.1 (it stops by itself), writes a feeds.yaml for it in a
temporary folder, and runs each case as a subprocess, measured the same way: wall time, CPU
time and peak memory of the whole process tree (pool workers included, sampled from /proc:
the sum of resident set sizes every 20 ms, which counts shared library pages once per
process, and the sum of proportional set sizes every 100 ms, which counts them once), and the
CPU the farm spent serving it.

1. cold: ``aggregator poll --all`` on an empty archive (fetch, parse, extract, dedup, store);
2. warm: ``aggregator poll --all`` again (every feed answers 304), ``--warm-runs`` times
   (reader's warm case too): the run of median wall time counts;
3. feeds only: ``aggregator poll --all --no-articles`` on a fresh archive;
4. when ``reader`` is installed, lemon24/reader on the same farm: cold (empty database, add
   the feeds, ``update_feeds``, then ``update_search``: its search index) and warm
   (``update_feeds`` again, every feed answers 304, then ``update_search``).

Then, in this process, the CPU time per page of our extractor and of trafilatura's fast pass
on a sample of the farm's article pages; the archive's bytes per article, split by table
(SQLite's ``dbstat``); and a table of issue 8's goals with our figure, the target and whether
it is met.

    python benchmarks/ingest.py --feeds 200 --entries 50
    python benchmarks/ingest.py --feeds 2000 --feeds-only   # memory at 2,000 feeds, no pages

``--feeds-only`` skips the cold poll with article pages (and so the extraction figures): it
runs the feeds-only poll, a warm poll of that archive and reader, for the memory comparison.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
#: Only loopback is ever asked for; no proxy may stand in between.
LOCAL_ENV = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


# -- measuring a process tree ---------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _pss(pid: int) -> int:
    """Proportional set size of one process in bytes: its shared pages split among sharers."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _sample_tree(pid: int, cpu: dict[int, float], *, pss: bool) -> tuple[int, int]:
    """Resident memory of ``pid`` and all its descendants in bytes, summed as RSS and (when
    ``pss``) as PSS; updates their CPU seconds."""
    tree = _children()
    rss = proportional = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        todo.extend(tree.get(current, []))
        try:
            with open(f"/proc/{current}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu[current] = (int(fields[11]) + int(fields[12])) / TICKS
            rss += int(fields[21]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
        if pss:
            proportional += _pss(current)
    return rss, proportional


@dataclass
class Measured:
    """One subprocess run: its cost, the farm's, and the JSON it printed."""

    wall_s: float
    cpu_s: float
    peak_mb: float
    """Largest sum of the tree's resident set sizes (shared pages counted in each process)."""
    peak_pss_mb: float
    """Largest sum of the tree's proportional set sizes (shared pages counted once)."""
    farm_cpu_s: float
    served: dict[str, int]
    output: dict[str, Any] = field(default_factory=dict)


class FarmProcess:
    """benchmarks/farm.py running as a child process on 127.0.0.1."""

    def __init__(self, feeds: int, entries: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "farm.py"),
                f"--feeds={feeds}",
                f"--entries={entries}",
                "--duration=7200",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base = self.process.stdout.readline().strip()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, path: str) -> bytes:
        with self._opener.open(self.base + path, timeout=30) as response:
            return bytes(response.read())

    def stats(self) -> dict[str, int]:
        """Feed answers (200 and 304) and article pages served so far."""
        return dict(json.loads(self.get("/stats")))

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def run(command: list[str], cwd: Path, farm: FarmProcess) -> Measured:
    """Run ``command`` to its end, sampling its process tree; it must print one JSON object."""
    farm_cpu, served = farm.cpu_seconds(), farm.stats()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=LOCAL_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = peak_pss = 0
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        count = 0
        while not done.is_set():
            # RSS every 20 ms; PSS (dearer to read) every 100 ms
            rss, pss = _sample_tree(process.pid, cpu, pss=count % 5 == 0)
            peak, peak_pss, count = max(peak, rss), max(peak_pss, pss), count + 1
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate(timeout=7200)
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{err[-3000:]}")
    after = farm.stats()
    return Measured(
        wall_s=wall,
        cpu_s=sum(cpu.values()),
        peak_mb=peak / 1e6,
        peak_pss_mb=peak_pss / 1e6,
        farm_cpu_s=farm.cpu_seconds() - farm_cpu,
        served={key: after[key] - served.get(key, 0) for key in after},
        output=json.loads(out),
    )


def median_run(
    command: list[str], cwd: Path, farm: FarmProcess, args: argparse.Namespace
) -> Measured:
    """The run of median wall time of ``args.warm_runs`` runs (a warm poll lasts half a second:
    one run is at the mercy of whatever else the machine does at that moment)."""
    measured = sorted(
        (run(command, cwd, farm) for _ in range(args.warm_runs)), key=lambda m: m.wall_s
    )
    return measured[len(measured) // 2]


def describe(name: str, measured: Measured, what: str) -> str:
    """Two lines: what the case cost, then what the farm served and what the case did."""
    served = measured.served
    return (
        f"{name:>17}: {measured.wall_s:7.2f} s wall, {measured.cpu_s:7.2f} s CPU, peak"
        f" {measured.peak_mb:6.1f} MB RSS / {measured.peak_pss_mb:6.1f} MB PSS;"
        f" farm {measured.farm_cpu_s:5.1f} s CPU\n{'':>19}farm answered feeds 200"
        f" x{served['feed_200']}, 304 x{served['feed_304']}, pages x{served['pages']}; {what}"
    )


def ours(measured: Measured) -> str:
    summary = measured.output
    not_modified = sum(feed["not_modified"] for feed in summary["feeds"])
    return (
        f"feeds ok {summary['feeds_ok']}, failed {summary['feeds_failed']}, 304 {not_modified};"
        f" articles new {summary['new']}, duplicate {summary['duplicate']}"
    )


# -- lemon24/reader ---------------------------------------------------------------------------


def reader_phase(phase: str, db: str, urls_file: str, workers: int) -> None:
    """Run one reader phase in this (sub)process and print what it did as JSON."""
    from reader import make_reader

    urls = Path(urls_file).read_text().split()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with make_reader(db) as reader:  # the default plugins; search enabled by update_search
        if phase == "cold":
            for url in urls:
                reader.add_feed(url)
            timings["add_feeds_s"] = time.perf_counter() - started
        mark = time.perf_counter()
        # scheduled=False: every feed now, as `aggregator poll --all` does; by default (since
        # reader 3.21) only feeds whose update interval has passed are updated.
        results = list(reader.update_feeds_iter(scheduled=False, workers=workers))
        timings["update_feeds_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        reader.update_search()
        timings["update_search_s"] = time.perf_counter() - mark
        entries = reader.get_entry_counts().total
    updated = [r.updated_feed for r in results if r.updated_feed is not None]
    print(
        json.dumps(
            {
                **timings,
                "feeds": len(results),
                "failed": sum(isinstance(r.value, Exception) for r in results),
                "not_modified": sum(r.value is None for r in results),
                "new": sum(u.new for u in updated),
                "modified": sum(u.modified for u in updated),
                "entries": entries,
            }
        )
    )


def theirs(measured: Measured) -> str:
    out = measured.output
    phases = ", ".join(
        f"{key.removesuffix('_s')} {out[key]:.2f} s"
        for key in ("add_feeds_s", "update_feeds_s", "update_search_s")
        if key in out
    )
    return (
        f"{phases}; feeds {out['feeds']}, failed {out['failed']}, 304 {out['not_modified']};"
        f" entries new {out['new']}, modified {out['modified']}, stored {out['entries']}"
    )


# -- extraction CPU ----------------------------------------------------------------------------


#: The extractors timed, by name: ours as the pipeline calls it (bytes, the HTTP charset), and
#: trafilatura with comments off (its fast pass, which is our first step, for goal 1, and its
#: default full pass, which issue 8's ~6.5 ms refers to) on the decoded page.
OURS = "aggregator.extract.extract"
FAST = "trafilatura.bare_extraction(fast=True)"
FULL = "trafilatura.bare_extraction(fast=False)"


def extraction_cost(
    farm: FarmProcess, feeds: int, entries: int, sample: int
) -> dict[str, list[float]]:
    """CPU ms per page of each extractor, on the same ``sample`` pages of the farm.

    The pages are the farm's own, fetched once and spread evenly over its feeds and entries;
    the extractors take turns on each page so that the machine's load hits them alike.
    """
    import trafilatura
    from farm import Farm

    from aggregator.extract import extract

    def bare(fast: bool) -> Any:
        return lambda body, url: trafilatura.bare_extraction(
            body.decode(), url=url, fast=fast, include_comments=False, deduplicate=False
        )

    extractors = {
        OURS: lambda body, url: extract(body, url, encoding="utf-8"),
        FAST: bare(True),
        FULL: bare(False),
    }
    layout = Farm(feeds, entries)
    total = feeds * entries
    picks = [k * total // min(sample, total) for k in range(min(sample, total))]
    paths = [layout.article_path(i // entries, i % entries) for i in picks]
    pages = [(farm.base + path, farm.get(path)) for path in paths]
    for url, body in pages[:10]:  # imports, compiled patterns, caches
        for function in extractors.values():
            function(body, url)
    cost: dict[str, list[float]] = {name: [] for name in extractors}
    for url, body in pages:
        for name, function in extractors.items():
            started = time.process_time()
            function(body, url)
            cost[name].append((time.process_time() - started) * 1000)
    return cost


def print_extraction(cost: dict[str, list[float]], cold: Measured, cores: int) -> None:
    print(f"extraction CPU per page, {len(cost[OURS])} farm pages, in this process:")
    for name, values in cost.items():
        print(
            f"  {name:>40}: mean {statistics.fmean(values):5.1f} ms,"
            f" median {statistics.median(values):5.1f} ms"
        )
    per_page = statistics.fmean(cost[OURS])
    floor = per_page / 1000 * cold.served["pages"] / cores
    print(
        f"extraction floor: {per_page:.1f} ms x {cold.served['pages']} pages fetched"
        f" / {cores} cores = {floor:.1f} s; cold wall {cold.wall_s:.1f} s ="
        f" {cold.wall_s / floor:.2f} x the floor"
    )
    # The farm runs on the same cores: what it spent serving the cold poll is not ours to save.
    with_farm = floor + cold.farm_cpu_s / cores
    print(
        f"  the farm spent {cold.farm_cpu_s:.1f} s of CPU serving the cold poll: floor with it"
        f" {with_farm:.1f} s, cold wall = {cold.wall_s / with_farm:.2f} x that"
    )


# -- the archive -------------------------------------------------------------------------------

#: What each table is for, by the table an object belongs to (indexes count with their table).
PARTS = (
    ("text", "articles table and its indexes (text, metadata, packed near keys)"),
    ("fts", "FTS5 index (articles_fts*)"),
    ("pages", "pages table (compressed HTML) and its indexes"),
    ("near_keys", "near_keys table (near-duplicate band keys)"),
    ("sightings", "sightings table and its indexes"),
    ("other", "feeds, revisions, boilerplate, schema"),
    ("free", "free pages"),
)


def _part_of(table: str) -> str:
    if table == "articles":
        return "text"
    if table.startswith("articles_fts"):
        return "fts"
    return table if table in {"pages", "near_keys", "sightings"} else "other"


def archive_figures(db: Path) -> dict[str, Any]:
    """What the archive holds and where its bytes are (after a checkpoint of its WAL)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    count = {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("feeds", "articles", "sightings", "pages")
    }
    count["distinct"] = conn.execute(
        "SELECT count(*) FROM articles WHERE duplicate_of IS NULL"
    ).fetchone()[0]
    sources = dict(
        conn.execute("SELECT content_source, count(*) FROM articles GROUP BY 1").fetchall()
    )
    text_bytes = conn.execute(
        "SELECT coalesce(sum(length(CAST(content AS BLOB))), 0) FROM articles"
    ).fetchone()[0]
    owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master").fetchall())
    parts = dict.fromkeys((key for key, _ in PARTS), 0)
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:  # SQLite built without dbstat: no split
        rows = []
    for name, size in rows:
        parts[_part_of(owner.get(name, name))] += size
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    parts["free"] = conn.execute("PRAGMA freelist_count").fetchone()[0] * page_size
    conn.close()
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    return {
        **count,
        "sources": sources,
        "bytes": size,
        "text_bytes": text_bytes,
        "parts": parts if rows else {},
    }


def print_archive(figures: dict[str, Any]) -> None:
    articles = max(figures["articles"], 1)
    print(
        f"archive after the cold poll: {figures['bytes'] / 1e6:.1f} MB;"
        f" {figures['articles']} articles ({figures['distinct']} not near-copies),"
        f" {figures['sightings']} sightings, {figures['pages']} pages, {figures['feeds']} feeds;"
        f" text from {figures['sources']}"
    )
    print(
        f"  {figures['bytes'] / articles:8,.0f} bytes per article in all"
        f" (article text alone, UTF-8: {figures['text_bytes'] / articles:,.0f})"
    )
    if not figures["parts"]:
        print("  (this SQLite has no dbstat: no split by table)")
    for key, label in PARTS:
        size = figures["parts"].get(key, 0)
        print(
            f"  {size / articles:8,.0f} bytes per article ({size / 1e6:6.1f} MB, "
            f"{100 * size / max(figures['bytes'], 1):4.1f} %): {label}"
        )


# -- the summary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    name: str
    figure: str
    target: str
    met: bool | None  # None: not measured in this run, or nothing to meet


def print_goals(goals: list[Goal]) -> None:
    rows = [
        (g.name, g.figure, g.target, "-" if g.met is None else ("yes" if g.met else "NO"))
        for g in goals
    ]
    header = ("issue 8 goal", "ours", "target", "met")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")


def goals_of(
    args: argparse.Namespace,
    cores: int,
    runs: dict[str, Measured],
    cost: dict[str, list[float]] | None,
    archive: dict[str, Any] | None,
) -> list[Goal]:
    goals = []
    if cost is not None and "cold" in runs:
        cold = runs["cold"]
        per_page = statistics.fmean(cost[OURS])
        floor = per_page / 1000 * cold.served["pages"] / cores
        ratio = cold.wall_s / floor
        goals.append(
            Goal(
                "1. cold wall / extraction floor",
                f"{cold.wall_s:.1f} s / {floor:.1f} s = {ratio:.2f} (floor/wall {1 / ratio:.2f})",
                "<= 1.18 (floor/wall >= 0.85)",
                ratio <= 1 / 0.85,
            )
        )
        # Issue 8's "trafilatura's per page" is its default pass (the ~6.5 ms it quotes); the
        # fast pass, which skips trafilatura's own fallbacks, is shown beside it.
        full, fast = statistics.fmean(cost[FULL]), statistics.fmean(cost[FAST])
        goals.append(
            Goal(
                "1. our extraction CPU / trafilatura's",
                f"{per_page:.1f} / {full:.1f} ms = {per_page / full:.2f}",
                "<= 2",
                per_page / full <= 2,
            )
        )
        goals.append(
            Goal(
                "   (the same / trafilatura fast's)",
                f"{per_page:.1f} / {fast:.1f} ms = {per_page / fast:.2f}",
                "-",
                None,
            )
        )
    if "reader cold" in runs:
        ratio = runs["feeds only"].wall_s / runs["reader cold"].wall_s
        goals.append(
            Goal(
                "2. feeds only / reader cold",
                f"{runs['feeds only'].wall_s:.2f} / {runs['reader cold'].wall_s:.2f} s"
                f" = {ratio:.3f}",
                "<= 0.15",
                ratio <= 0.15,
            )
        )
        ratio = runs["warm"].wall_s / runs["reader warm"].wall_s
        goals.append(
            Goal(
                "3. warm / reader warm",
                f"{runs['warm'].wall_s:.2f} / {runs['reader warm'].wall_s:.2f} s = {ratio:.2f}",
                "<= 0.5",
                ratio <= 0.5,
            )
        )
    else:
        goals.append(Goal("2, 3. ratios to reader", "reader not run", "-", None))
    warm = runs["warm"].wall_s
    goals.append(
        Goal(
            f"3. warm re-poll, {args.feeds} feeds",
            f"{warm:.2f} s",
            "< 1 s at 1,000 feeds (--feeds 1000)",
            warm < 1 if args.feeds == 1000 else None,
        )
    )
    mine = [m for name, m in runs.items() if not name.startswith("reader")]
    # The tree's memory is its PSS sum: workers forked from the fork server share its modules'
    # pages, which an RSS sum counts once per process.
    peak = max(m.peak_pss_mb for m in mine)
    goals.append(
        Goal(
            f"4. peak memory of the tree, {args.feeds} feeds",
            f"PSS sum {peak:.1f} MB (RSS sum {max(m.peak_mb for m in mine):.1f} MB)",
            "<= 150 MB, same at 200 and 2,000 feeds",
            peak <= 150,
        )
    )
    if archive is not None:
        goals.append(
            Goal(
                "6. bytes per article",
                f"{archive['bytes'] / max(archive['articles'], 1):,.0f}",
                "report (compact)",
                None,
            )
        )
    return goals


# -- main --------------------------------------------------------------------------------------


def run_cases(
    args: argparse.Namespace, farm: FarmProcess, work: Path, reader_version: str | None
) -> dict[str, Measured]:
    """Our polls, then reader's (when ``reader_version`` is given), printed as they end."""
    aggregator = [sys.executable, "-m", "aggregator"]
    runs: dict[str, Measured] = {}
    if not args.feeds_only:
        runs["cold"] = run([*aggregator, "poll", "--all", "--json"], work, farm)
        print(describe("cold", runs["cold"], ours(runs["cold"])))
        runs["warm"] = median_run([*aggregator, "poll", "--all", "--json"], work, farm, args)
        print(describe("warm", runs["warm"], ours(runs["warm"])))
    feeds_only = [*aggregator, "--db", "feeds-only.db", "poll", "--all", "--no-articles"]
    runs["feeds only"] = run([*feeds_only, "--json"], work, farm)
    print(describe("feeds only", runs["feeds only"], ours(runs["feeds only"])))
    if args.feeds_only:
        runs["warm"] = median_run([*feeds_only, "--json"], work, farm, args)
        print(describe("warm (feeds only)", runs["warm"], ours(runs["warm"])))
    if reader_version is not None:
        print(
            f"reader {reader_version}: make_reader(db) with its default plugins,"
            f" update_feeds(scheduled=False, workers={args.reader_workers}),"
            " then update_search()"
        )
        for phase in ("cold", "warm"):
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                f"--reader-phase={phase}",
                "--reader-db=reader.sqlite",
                "--reader-urls=urls.txt",
                f"--reader-workers={args.reader_workers}",
            ]
            name = f"reader {phase}"
            runs[name] = (
                run(command, work, farm)
                if phase == "cold"
                else median_run(command, work, farm, args)
            )
            print(describe(name, runs[name], theirs(runs[name])))
    elif not args.no_reader:
        print("reader: not installed (pip install -e '.[bench]'): no comparison")
    sizes = {
        name: sum(p.stat().st_size for p in work.glob(db + "*")) / 1e6
        for name, db in (("feeds only", "feeds-only.db"), ("reader", "reader.sqlite"))
    }
    print("databases with their WAL: " + ", ".join(f"{k} {v:.1f} MB" for k, v in sizes.items()))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description="aggregator poll and reader on a local farm")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument(
        "--feeds-only",
        action="store_true",
        help="skip the cold poll with article pages (and the extraction figures)",
    )
    parser.add_argument(
        "--sample", type=int, default=300, help="article pages for the extraction CPU figures"
    )
    parser.add_argument(
        "--reader-workers",
        type=int,
        default=10,
        help="threads reader retrieves feeds with (update_feeds(workers=N); its guide's example)",
    )
    parser.add_argument("--no-reader", action="store_true", help="do not run reader")
    parser.add_argument(
        "--warm-runs",
        type=int,
        default=5,
        help="warm polls (ours and reader's) are run this many times; the median run counts",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY: VALUE",
        help="one more line under settings: in feeds.yaml, e.g. 'learn_boilerplate: false'",
    )
    parser.add_argument("--reader-phase", choices=("cold", "warm"), help=argparse.SUPPRESS)
    parser.add_argument("--reader-db", help=argparse.SUPPRESS)
    parser.add_argument("--reader-urls", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader_phase:  # this script run as reader's subprocess
        reader_phase(args.reader_phase, args.reader_db, args.reader_urls, args.reader_workers)
        return

    try:
        reader_version: str | None = importlib.metadata.version("reader")
    except importlib.metadata.PackageNotFoundError:
        reader_version = None
    with_reader = reader_version is not None and not args.no_reader
    cores = len(os.sched_getaffinity(0))
    # Bytecode as an installed package has it (pip compiles at install): no case pays for
    # compiling our modules, whatever PYTHONDONTWRITEBYTECODE says.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "aggregator")], check=True)
    farm = FarmProcess(args.feeds, args.entries)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            urls = [f"{farm.base}/feed/{i}.xml" for i in range(args.feeds)]
            feeds = "\n".join(f"  - url: {url}" for url in urls)
            (work / "feeds.yaml").write_text(
                f"settings:\n  allowed_private_hosts: ['{farm.base.removeprefix('http://')}']\n"
                "  per_host: 16\n  per_host_delay: 0s\n"
                f"  concurrency: 32\n"
                + "".join(f"  {line}\n" for line in args.setting)
                + f"feeds:\n{feeds}\n"
            )
            (work / "urls.txt").write_text("\n".join(urls))
            print(f"farm: {args.feeds} feeds x {args.entries} entries at {farm.base}")
            print(
                f"machine: {cores} cores, Python {sys.version.split()[0]}, load average"
                f" {os.getloadavg()[0]:.2f} at the start (a shared machine: other work may run)"
            )
            print(
                "each case is a subprocess: wall, CPU and peak resident memory of its process"
                " tree; the farm's CPU and answers during it"
            )
            runs = run_cases(args, farm, work, reader_version if with_reader else None)

            cost, archive = None, None
            if not args.feeds_only:
                cost = extraction_cost(farm, args.feeds, args.entries, args.sample)
                print_extraction(cost, runs["cold"], cores)
                archive = archive_figures(work / "archive" / "archive.db")
                print_archive(archive)
            print(f"load average at the end: {os.getloadavg()[0]:.2f}")
            print()
            print_goals(goals_of(args, cores, runs, cost, archive))
            if args.feeds_only:
                print("(--feeds-only: no cold poll with pages, so no goal 1 or 6 figures)")
            print("(goal 5 is benchmarks/search.py's)")
    finally:
        farm.stop()


if __name__ == "__main__":
    main()
