"""The command line, end to end against a real local site and a real archive file."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator.cli import cli
from aggregator.store import ArchiveLock, Store
from tests.server import TestServer
from tests.site import NewsSite, article_page, json_feed, story

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def workdir(folder: Path, server: TestServer) -> NewsSite:
    site = NewsSite(server)
    (folder / "feeds.yaml").write_text(site.config_text())
    return site


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_poll_search_status(workdir: NewsSite, tmp_path: Path) -> None:
    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "3 ok" in result.output
    assert "5 new" in result.output
    assert "3 duplicate" in result.output
    assert (tmp_path / "archive" / "archive.db").exists()

    again = run("poll")
    assert "3 not due" in again.output
    forced = run("poll", "--all", "--json")
    summary = json.loads(forced.output)
    assert summary["new"] == 0
    # Two answer 304; the JSON feed has no validators but sends the same bytes: unchanged too.
    assert sum(f["not_modified"] for f in summary["feeds"]) == 3

    title = workdir.titles[4]
    found = run("search", title)
    assert found.exit_code == 0
    rows = found.output.splitlines()
    assert rows[0].split() == ["#", "┃", "article", "┃", "feed", "┃", "date"]
    assert title in rows[2]  # the best match first, under the header and its rule
    assert "\x1b[" not in found.output  # no colour when the output is not a terminal
    hits = json.loads(run("search", "--json", title).output)
    assert hits[0]["title"] == title
    assert hits[0]["snippet"]
    assert hits[0]["matches"]
    assert len({h["id"] for h in hits}) == len(hits)

    status = run("status")
    assert status.exit_code == 0
    assert "Atom" in status.output
    rows = json.loads(run("status", "--json").output)
    assert {r["name"] for r in rows} == {"Daily Test RSS", "Daily Test Atom", "Daily Test JSON"}
    assert all(r["last_status"] in (200, 304) for r in rows)


@pytest.mark.parametrize("query", ['"unbalanced', "AND", "NEAR(", "*", "a OR", "^", "-x"])
def test_malformed_queries_never_trace_back(workdir: NewsSite, query: str) -> None:
    run("poll", "--no-articles")
    result = CliRunner().invoke(cli, ["search", query])
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_config_error_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("settings:\n  interval: 30m\n  concurency: 4\nfeeds: []\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "poll"])
    assert result.exit_code == 2
    assert re.search(r"feeds\.yaml:3\b", result.output), result.output
    assert "concurency" in result.output
    assert "Traceback" not in result.output


def test_search_without_an_archive_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "search", "x"])
    assert result.exit_code == 1
    assert "no archive" in result.output


def test_python_dash_m_runs_the_cli(workdir: NewsSite, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "poll", "--no-articles"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3 ok" in done.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    test_command = next(c.strip() for c in commands if "pytest" in c)
    assert test_command in ci


def test_history_shows_each_change_as_a_diff(workdir: NewsSite, tmp_path: Path) -> None:
    assert run("poll").exit_code == 0
    server = workdir.server
    (row,) = Store(tmp_path / "archive" / "archive.db").query(
        "SELECT id FROM articles WHERE url LIKE '%/news/5.html'"
    )
    article = str(row["id"])
    unchanged = run("history", article)
    assert "1 version (never changed)" in unchanged.output

    corrected = [*story(5)[:2], "A correction: the bridge reopens on Monday.", *story(5)[3:]]
    server.add("/news/5.html", body=article_page("Story 5, corrected", corrected))
    item = {"id": "json-5", "url": server.url("/news/5.html"), "title": "Story 5, corrected"}
    server.add("/feed.json", body=json_feed("Daily Test JSON", [item]))
    assert run("poll", "--all").exit_code == 0

    shown = run("history", article)
    assert shown.exit_code == 0
    assert "2 versions" in shown.output
    assert "+A correction: the bridge reopens on Monday." in shown.output
    assert f"-{story(5)[2]}" in shown.output
    assert "+# Story 5, corrected" in shown.output
    versions = json.loads(run("history", article, "--json").output)
    assert [v["title"] for v in versions] == [workdir.titles[5], "Story 5, corrected"]
    assert versions[0]["until"] == versions[1]["since"]
    missing = CliRunner().invoke(cli, ["history", "99999"])
    assert missing.exit_code == 1
    assert "there is no article #99999" in missing.output


def test_search_options_filter_sort_and_refuse_an_empty_period(workdir: NewsSite) -> None:
    assert run("poll").exit_code == 0
    everything = json.loads(run("search", "--json", "paragraph").output)
    assert len(everything) == 5
    dates = [h["published"] or "undated: first seen now" for h in json.loads(
        run("search", "--json", "--sort", "date", "paragraph").output
    )]  # fmt: skip
    assert dates == sorted(dates, reverse=True)
    assert json.loads(run("search", "--json", "--lang", "fr", "paragraph").output) == []
    old = json.loads(run("search", "--json", "--until", "2026-11-17", "paragraph").output)
    assert old
    assert all(h["published"] and h["published"] < "2026-11-17" for h in old)
    empty = CliRunner().invoke(
        cli, ["search", "--since", "2026-11-20", "--until", "2026-11-10", "paragraph"]
    )
    assert empty.exit_code == 2
    assert "before its end" in empty.output
    bad = CliRunner().invoke(cli, ["search", "--until", "someday", "x"])
    assert bad.exit_code == 2
    assert "--until" in bad.output


def test_fewer_malloc_arenas_leaves_the_environment_its_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ctypes

    from aggregator import _malloc

    calls: list[tuple[int, int]] = []

    class Libc:
        def mallopt(self, option: int, value: int) -> int:
            calls.append((option, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    _malloc.fewer_arenas()
    assert calls == []
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    _malloc.fewer_arenas()
    assert calls == ([(-8, _malloc.ARENAS)] if sys.platform.startswith("linux") else [])


def test_quiet_poll_prints_only_the_feeds_that_failed(workdir: NewsSite, folder: Path) -> None:
    assert run("--quiet", "poll").output == ""
    missing = workdir.server.url("/gone.xml")
    config = folder / "feeds.yaml"
    config.write_text(config.read_text() + f"  - url: {missing}\n")
    result = run("-q", "poll", "--all")
    assert result.exit_code == 0
    assert "Failed feeds" in result.output
    assert missing in result.output
    assert "not modified" not in result.output  # no totals line


def test_poll_on_a_terminal_shows_each_feed_above_the_bar(
    workdir: NewsSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats the captured streams as terminals
    monkeypatch.setenv("COLUMNS", "200")
    lines = CliRunner().invoke(cli, ["-v", "poll"], catch_exceptions=False).output
    assert "✓" in lines
    assert "/atom.xml" in lines  # a feed not polled before is named by its URL
    assert "5 new" in lines


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(shell: str) -> None:
    result = run("completion", shell)
    assert result.exit_code == 0
    assert "_AGGREGATOR_COMPLETE" in result.output


def test_shell_completion_offers_commands_and_feed_names(workdir: NewsSite, folder: Path) -> None:
    assert run("poll", "--no-articles").exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}

    def complete(words: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "aggregator"],
            cwd=folder,
            env={
                **env,
                "_AGGREGATOR_COMPLETE": "bash_complete",
                "COMP_WORDS": words,
                "COMP_CWORD": str(len(words.split()) - 1),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert complete("aggregator mai") == ["maintain"]
    assert complete("aggregator search x --feed Daily") == [
        "Daily Test Atom",
        "Daily Test JSON",
        "Daily Test RSS",
    ]
    assert complete("aggregator poll --feed http")[0].startswith(workdir.server.base)


def test_maintain_merges_the_index_and_checks_integrity(workdir: NewsSite, folder: Path) -> None:
    assert run("poll").exit_code == 0
    outcome = json.loads(run("maintain", "--integrity", "--json").output)
    assert outcome["index_merged"] is True
    assert outcome["problems"] == []
    text = run("maintain", "--integrity").output
    assert "search index merged" in text
    assert "integrity: ok" in text
    assert run("-q", "maintain").output == ""


def test_maintain_refuses_while_a_poll_holds_the_archive(workdir: NewsSite, folder: Path) -> None:
    assert run("poll", "--no-articles").exit_code == 0
    with ArchiveLock(folder / "archive" / "archive.db"):
        result = CliRunner().invoke(cli, ["maintain"])
    assert result.exit_code == 1
    assert "in use" in result.output


def test_maintain_without_an_archive_says_so(folder: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(folder / "none.db"), "maintain"])
    assert result.exit_code == 1
    assert "no archive" in result.output


def aggregator(folder: Path, *args: str, stdout: int | None = subprocess.PIPE) -> tuple[int, str]:
    """``python -m aggregator ARGS`` in ``folder``: its exit status and standard error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        cwd=folder,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stderr


def test_the_process_ends_with_the_commands_status_and_all_its_output(
    workdir: NewsSite, folder: Path
) -> None:
    """The command ends the process without the interpreter's teardown: nothing it printed
    may be lost, and its exit status must be kept."""
    assert aggregator(folder, "poll")[0] == 0
    out = folder / "articles.jsonl"
    with out.open("w") as file:
        status, said = aggregator(folder, "export", "--format", "jsonl", stdout=file.fileno())
    assert status == 0
    assert "exported 5 articles" in said
    assert len(out.read_text().splitlines()) == 5
    status, said = aggregator(folder, "--config", "missing.yaml", "poll")
    assert status == 2
    assert "missing.yaml: no such file" in said
    assert aggregator(folder, "search", "--since", "never", "x")[0] == 2
    assert aggregator(folder, "--db", "none.db", "search", "x")[0] == 1


def test_a_reader_that_leaves_early_gets_no_traceback(workdir: NewsSite, folder: Path) -> None:
    assert run("poll").exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    shell = f"{shlex.quote(sys.executable)} -m aggregator export --format jsonl | head -c 10"
    done = subprocess.run(
        ["sh", "-c", shell], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )
    assert len(done.stdout) == 10
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
