"""Daemon soak: `aggregator run` for N minutes against a local farm of feeds at short intervals.

Starts ``benchmarks/farm.py --churn`` on 127.0.0.1 (feeds gain entries as time passes; it stops by
itself), writes a feeds.yaml for it with short intervals (every other feed has
``interval`` set, the others adapt to their own rhythm), runs the real daemon as a subprocess,
and samples the whole process tree (pool workers included) every second from /proc. At the end it
stops the daemon with SIGTERM and prints: polls made (from the farm's own count of feed answers),
the share answered 304, new articles, CPU use, and memory at start, at the end and at peak.

    python benchmarks/daemon.py --feeds 500 --minutes 10
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ingest import _sample_tree  # noqa: E402  (a sibling script, not a package)


def farm_stats(base: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base}/stats", timeout=10) as answer:  # 127.0.0.1 only
        stats: dict[str, int] = json.loads(answer.read())
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description="aggregator run on a local farm")
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--interval", default="30s", help="settings.interval and min_interval")
    parser.add_argument("--churn", type=float, default=30.0, help="see farm.py --churn")
    args = parser.parse_args()
    seconds = args.minutes * 60

    farm = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "farm.py"),
            f"--feeds={args.feeds}",
            f"--entries={args.entries}",
            f"--churn={args.churn}",
            f"--duration={seconds + 300}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert farm.stdout is not None
    base = farm.stdout.readline().strip()
    host = base.removeprefix("http://")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            # Every other feed has its interval in feeds.yaml; the rest follow their own rhythm.
            feeds = "\n".join(
                f"  - url: {base}/feed/{i}.xml"
                + (f"\n    interval: {args.interval}" if i % 2 == 0 else "")
                for i in range(args.feeds)
            )
            (work / "feeds.yaml").write_text(
                f"settings:\n  allowed_private_hosts: ['{host}']\n  per_host: 16\n"
                f"  per_host_delay: 0s\n  interval: {args.interval}\n"
                f"  min_interval: {args.interval}\n  max_interval: 1h\nfeeds:\n{feeds}\n"
            )
            print(
                f"farm: {args.feeds} feeds x {args.entries} entries, churn {args.churn}s, "
                f"interval {args.interval}, {args.minutes:g} min; "
                f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
            )
            log = (work / "daemon.log").open("wb")
            started = time.monotonic()
            daemon = subprocess.Popen(
                [sys.executable, "-m", "aggregator", "--log-format", "json", "run", "--tick", "1"],
                cwd=work,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            cpu: dict[int, float] = {}
            samples: list[tuple[float, int]] = []
            while time.monotonic() - started < seconds:
                rss, _ = _sample_tree(daemon.pid, cpu, pss=False)
                samples.append((time.monotonic() - started, rss))
                if daemon.poll() is not None:
                    sys.exit(f"the daemon died:\n{(work / 'daemon.log').read_text()[-3000:]}")
                time.sleep(1)
            stats = farm_stats(base)
            stop_started = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=60)
            stop_took = time.monotonic() - stop_started
            log.close()

            db = sqlite3.connect(work / "archive" / "archive.db")
            articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            failing = db.execute("SELECT count(*) FROM feeds WHERE error_count > 0").fetchone()[0]
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            db.close()
            errors = sum(
                '"level": "error"' in line
                for line in (work / "daemon.log").read_text(errors="replace").splitlines()
            )

        polls = stats["feed_200"] + stats["feed_304"]
        after_cold = next((rss for t, rss in samples if t >= 60), samples[-1][1])
        print(f"polls: {polls} ({polls / seconds:.1f}/s), 304: {stats['feed_304'] / polls:.1%}")
        print(f"pages fetched: {stats['pages']}, articles stored: {articles}")
        print(
            f"CPU: {sum(cpu.values()):.1f} s over {seconds:.0f} s "
            f"({sum(cpu.values()) / seconds:.1%} of one core, process tree)"
        )
        timeline = ", ".join(
            f"{t / 60:.0f} min {rss / 1e6:.0f}"
            for t, rss in samples
            if int(t) % 60 == 0 or (t, rss) == samples[-1]
        )
        print(f"memory by minute (MB): {timeline}")
        peak = max(rss for _, rss in samples)
        print(
            f"memory (process tree RSS): at 60 s {after_cold / 1e6:.1f} MB, "
            f"at the end {samples[-1][1] / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB"
        )
        print(
            f"SIGTERM: exit {code} after {stop_took:.2f} s; integrity_check: {integrity}; "
            f"feeds with errors: {failing}; error log lines: {errors}"
        )
    finally:
        farm.terminate()
        farm.wait(timeout=10)


if __name__ == "__main__":
    main()
