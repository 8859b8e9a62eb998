"""Ingest benchmark: `aggregator poll` on a local farm of feeds, cold then warm.

Starts ``benchmarks/farm.py`` on 127.0.0.1 (it stops by itself), writes a feeds.yaml for it in a
temporary folder, and runs the real command line three times as a subprocess:
1. cold: ``aggregator poll --all`` on an empty archive (fetch, parse, extract, dedup, store);
2. warm: ``aggregator poll --all`` again (every feed answers 304);
3. feeds only: ``aggregator poll --all --no-articles`` on a fresh archive.
For each it prints wall time, CPU time and the peak memory of the whole process tree (pool
workers included, sampled from /proc every 20 ms), then what the archive holds.

    python benchmarks/ingest.py --feeds 200 --entries 50
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


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


TICKS = os.sysconf("SC_CLK_TCK")


def _sample_tree(pid: int, cpu: dict[int, float]) -> int:
    """Resident memory of ``pid`` and all its descendants, in bytes; updates their CPU seconds."""
    tree = _children()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(tree.get(current, []))
        try:
            with open(f"/proc/{current}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu[current] = (int(fields[11]) + int(fields[12])) / TICKS
            total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return total


def run(command: list[str], cwd: Path) -> dict[str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _sample_tree(process.pid, cpu))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate(timeout=3600)
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{err[-3000:]}")
    summary = json.loads(out)
    return {
        "wall_s": wall,
        "cpu_s": sum(cpu.values()),
        "peak_tree_mb": peak / 1e6,
        "feeds_ok": summary["feeds_ok"],
        "feeds_failed": summary["feeds_failed"],
        "not_modified": sum(f["not_modified"] for f in summary["feeds"]),
        "new": summary["new"],
        "duplicate": summary["duplicate"],
    }


def archive_figures(db: Path) -> dict[str, float]:
    conn = sqlite3.connect(db)
    count = {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("feeds", "articles", "sightings", "pages")
    }
    sources = dict(
        conn.execute("SELECT content_source, count(*) FROM articles GROUP BY 1").fetchall()
    )
    conn.close()
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    return {**count, "sources": sources, "db_mb": size / 1e6}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description="aggregator poll on a local farm")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    args = parser.parse_args()

    farm = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "farm.py"),
            f"--feeds={args.feeds}",
            f"--entries={args.entries}",
            "--duration=3600",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert farm.stdout is not None
    base = farm.stdout.readline().strip()
    host = base.removeprefix("http://")
    aggregator = [sys.executable, "-m", "aggregator"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            feeds = "\n".join(f"  - url: {base}/feed/{i}.xml" for i in range(args.feeds))
            (work / "feeds.yaml").write_text(
                f"settings:\n  allowed_private_hosts: ['{host}']\n  per_host: 16\n"
                "  per_host_delay: 0s\n"
                f"  concurrency: 32\nfeeds:\n{feeds}\n"
            )
            print(f"farm: {args.feeds} feeds x {args.entries} entries at {base}")
            print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
            cold = run([*aggregator, "poll", "--all", "--json"], work)
            stored = archive_figures(work / "archive" / "archive.db")
            warm = run([*aggregator, "poll", "--all", "--json"], work)
            feeds_only = run(
                [*aggregator, "--db", "feeds-only.db", "poll", "--all", "--no-articles", "--json"],
                work,
            )
            for name, figures in (("cold", cold), ("warm", warm), ("feeds only", feeds_only)):
                print(
                    f"{name:>10}: {figures['wall_s']:7.2f} s wall, {figures['cpu_s']:7.2f} s CPU,"
                    f" peak {figures['peak_tree_mb']:6.1f} MB (process tree);"
                    f" feeds ok {figures['feeds_ok']}, failed {figures['feeds_failed']},"
                    f" 304 {figures['not_modified']}; articles new {figures['new']},"
                    f" duplicate {figures['duplicate']}"
                )
            print(f"archive after cold poll: {stored}")
    finally:
        farm.terminate()
        farm.wait(timeout=10)


if __name__ == "__main__":
    main()
