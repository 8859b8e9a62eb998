"""The documentation holds: README.md and contrib/ tested against the CLI and the config model.

- Command line: every command, with each of its arguments and options, has a row in README's
  command table, and every row is a command; the global options listed are the group's; every
  ``--help`` ends with an example; every example (README's shell blocks, ``--help``, the systemd
  unit) calls real commands with real options.
- Configuration: README's reference table is the one ``docs/reference.py`` makes from the
  config model, each default written there reads back as the model's, the keys are those
  feeds.yaml accepts, README's YAML blocks load, and the starter file of ``aggregator init``
  shows every key and gives the model's defaults.
- The screenshot README shows is there, a 1280x800 PNG.
- ``contrib/aggregator.service`` is a hardened unit that runs ``aggregator run`` where README
  says, and ``systemd-analyze verify`` accepts it (when systemd is installed).
"""

from __future__ import annotations

import configparser
import importlib.util
import inspect
import re
import shlex
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import click
import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.config import DEFAULT_CONFIG_TEXT, DEFAULT_DATABASE, Config, parse_config
from aggregator.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
UNIT = ROOT / "contrib" / "aggregator.service"


def _load_reference() -> ModuleType:
    """docs/reference.py, the generator of README's configuration reference."""
    spec = importlib.util.spec_from_file_location("docs_reference", ROOT / "docs" / "reference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


def readme_section(title: str) -> str:
    """The text under README's ``## title``, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no section '## {title}'"
    return match[1]


def code_blocks(*languages: str) -> list[tuple[int, str]]:
    """README's fenced code blocks in these languages, with the line each starts on."""
    found = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", README, re.M | re.S):
        if match[1] in languages:
            found.append((README.count("\n", 0, match.start(2)) + 1, match[2]))
    return found


# --- the command line ---------------------------------------------------------------------------

COMMANDS = {name: command for name, command in sorted(cli.commands.items()) if not command.hidden}


def command_rows() -> dict[str, str]:
    """The first cell of each row of README's command table (``aggregator NAME ...``), by
    command name, ``\\|`` read as ``|``."""
    rows: dict[str, str] = {}
    for line in readme_section("Command line").splitlines():
        if match := re.match(r"\| `aggregator ([a-z][\w-]*)", line):
            synopsis = re.split(r"(?<!\\)\|", line)[1].replace("\\|", "|")
            rows[match[1]] = f"{rows.get(match[1], '')} {synopsis}"
    return rows


ROWS = command_rows()


def spellings(param: click.Parameter) -> list[str]:
    """How the command table may write a parameter: any of an option's names; an argument's
    metavar (or name in capitals) or, for a choice, its choices joined by ``|``."""
    if isinstance(param, click.Option):
        return [*param.opts, *param.secondary_opts]
    assert param.name is not None
    names = [param.metavar or param.name.upper()]
    if isinstance(param.type, click.Choice):
        names.append("|".join(map(str, param.type.choices)))
    return names


def documented_params() -> Iterator[Any]:
    for name, command in COMMANDS.items():
        for param in command.params:
            if not getattr(param, "hidden", False):
                names = spellings(param)
                yield pytest.param(name, names, id=f"{name} {names[-1]}")


def written(word: str, text: str) -> bool:
    """Whether ``word`` is in ``text`` as a whole word (``--all`` is not in ``--all-feeds``)."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_a_row_in_the_readme(name: str) -> None:
    assert name in ROWS, f"`aggregator {name}` has no row in README.md's command table"


@pytest.mark.parametrize("name", ROWS)
def test_every_row_of_the_command_table_is_a_command(name: str) -> None:
    assert name in COMMANDS, f"README.md documents `aggregator {name}`, which does not exist"


@pytest.mark.parametrize(("name", "names"), list(documented_params()))
def test_every_argument_and_option_is_in_its_commands_row(name: str, names: list[str]) -> None:
    row = ROWS.get(name, "")
    assert any(written(n, row) for n in names), (
        f"`aggregator {name}` takes {' / '.join(names)}, missing from its row in README.md"
    )


GLOBALS = [p for p in cli.params if isinstance(p, click.Option) and not p.hidden]
GLOBALS_TEXT = readme_section("Command line").strip().split("\n\n", 1)[0]


@pytest.mark.parametrize("option", GLOBALS, ids=lambda p: p.opts[-1])
def test_every_global_option_is_listed(option: click.Option) -> None:
    assert GLOBALS_TEXT.startswith("Global options")
    assert any(written(name, GLOBALS_TEXT) for name in option.opts), (
        f"the global option {option.opts[-1]} is missing from README.md's 'Global options'"
    )


def test_every_global_option_listed_exists() -> None:
    names = {name for option in GLOBALS for name in option.opts}
    listed = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", GLOBALS_TEXT))
    clusters = re.findall(r"(?<![\w-])-(\w+)", GLOBALS_TEXT)  # -vv is -v twice
    listed |= {f"-{letter}" for cluster in clusters for letter in cluster}
    assert listed <= names, f"README.md lists global options aggregator lacks: {listed - names}"


def example_of(command: click.Command) -> str:
    """The ``Example:`` block that ends a command's help (after a ``\\b`` line), or ''."""
    help_text = inspect.cleandoc(command.help or "")
    return help_text.split("\n\b\nExample:\n", 1)[1] if "\n\b\nExample:\n" in help_text else ""


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_every_help_ends_with_an_example(name: str) -> None:
    command = COMMANDS[name] if name else cli
    example = example_of(command)
    assert example, f"`aggregator {name} --help` has no Example: block (after a \\b line)"
    assert f"aggregator {name}".strip() in example
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    first = example.strip().splitlines()[0].strip()
    assert "Example:" in result.output
    assert first in result.output


def option_names(command: click.Command) -> dict[str, bool]:
    """A command's option names (help included), each with whether it takes a value."""
    names = {"--help": False, "-h": False}
    for param in command.params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                names[name] = not (param.is_flag or param.count)
    return names


def misuse(argv: Sequence[str]) -> list[str]:
    """What is wrong in ``aggregator ARGV``: an unknown command, an unknown option."""
    problems = []
    command: click.Command = cli
    options = option_names(cli)
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            break
        if token.startswith("-") and token != "-":
            name = token.split("=", 1)[0]
            names = [name] if name.startswith("--") else [f"-{c}" for c in name[1:]]
            where = "aggregator" if command is cli else f"aggregator {command.name}"
            problems += [f"`{where}` has no option {n}" for n in names if n not in options]
            if "=" not in token and options.get(names[-1]):
                next(tokens, None)  # its value
        elif command is cli:
            if token not in COMMANDS:
                return [*problems, f"there is no command `aggregator {token}`"]
            command = COMMANDS[token]
            options = option_names(command)
    return problems


def invocations(text: str) -> Iterator[list[str]]:
    """The arguments of each ``aggregator`` command in shell text: one at the start of a line
    or after ``;``, ``&``, ``|`` or ``(``, or run from a ``bin/`` folder; up to the first pipe,
    redirection or separator."""
    for line in text.replace("\\\n", " ").splitlines():
        for match in re.finditer(r"(?:^\s*|[;&|(]\s*|bin/)aggregator(?=[\s)]|$)", line):
            lexer = shlex.shlex(line[match.end() :], posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            argv = []
            for token in lexer:
                if set(token) <= set(lexer.punctuation_chars):
                    break
                argv.append(token)
            yield argv


def examples() -> Iterator[Any]:
    for line, block in code_blocks("sh", "bash", "console"):
        for argv in invocations(block):
            yield pytest.param(argv, id=f"README.md:{line} {shlex.join(argv)}")
    for name, command in {"": cli, **COMMANDS}.items():
        for argv in invocations(example_of(command)):
            yield pytest.param(argv, id=f"aggregator {name} --help: {shlex.join(argv)}")
    for argv in invocations(unit()["ExecStart"]):
        yield pytest.param(argv, id=f"{UNIT.name}: {shlex.join(argv)}")


def unit() -> configparser.SectionProxy:
    """The [Service] section of contrib/aggregator.service."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text("utf-8"), source=str(UNIT))
    assert parser.sections() == ["Unit", "Service", "Install"]
    return parser["Service"]


@pytest.mark.parametrize("argv", list(examples()))
def test_every_example_uses_real_commands_and_options(argv: list[str]) -> None:
    assert misuse(argv) == []


def test_the_example_checker_catches_mistakes() -> None:
    assert misuse(["--db", "x.db", "-vv", "search", "-n", "5", "--since=7d", "q"]) == []
    assert misuse(["serch", "q"]) == ["there is no command `aggregator serch`"]
    assert misuse(["poll", "--al"]) == ["`aggregator poll` has no option --al"]
    assert misuse(["--all", "poll"]) == ["`aggregator` has no option --all"]
    assert list(invocations("x && .venv/bin/aggregator --quiet poll >/dev/null # cron\n")) == [
        ["--quiet", "poll"]
    ]
    assert list(invocations('eval "$(aggregator completion bash)"')) == [["completion", "bash"]]
    assert list(invocations("docker run --name aggregator -v x:/y aggregator")) == []


# --- the configuration --------------------------------------------------------------------------

KEYS = reference.keys()
REQUIRED = reference.REQUIRED


def reference_rows() -> dict[str, str]:
    """The default written for each key in README's configuration reference, by key."""
    start = README.index(reference.BEGIN)
    text = README[start : README.index(reference.END, start)]
    rows = re.finditer(r"^\| `([^`]+)` \| (`[^`]*`|required) \|", text, re.M)
    return {row[1]: row[2].strip("`") for row in rows}


REFERENCE = reference_rows()


def test_the_configuration_reference_is_up_to_date() -> None:
    assert reference.with_reference(README) == README, (
        "README.md's configuration reference is not the model's:"
        " run .venv/bin/python docs/reference.py --write"
    )


@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.path)
def test_every_key_is_described(key: Any) -> None:
    assert key.path in reference.DESCRIPTIONS, (
        f"{key.path} has no explanation in docs/reference.py's DESCRIPTIONS"
    )


@pytest.mark.parametrize("path", reference.DESCRIPTIONS)
def test_every_description_is_of_a_key(path: str) -> None:
    assert path in {key.path for key in KEYS}, f"docs/reference.py describes {path}: no such key"


def placed(key: Any, value: str | None) -> str:
    """A feeds.yaml that sets ``key`` to ``value`` (the entries' required keys given), or
    leaves it out when ``value`` is None."""
    line = "" if value is None else f"{key.name}: {value}\n"
    if key.section == "settings":
        return "settings:\n" + f"  {line}" * bool(line)
    if key.section == "settings.smtp":
        return "settings:\n  smtp:\n" + f"    {line}" * bool(line)
    if key.section == "feeds[]":
        required = "url: https://example.org/feed.xml\n" if key.name != "url" else "tags: [x]\n"
        return f"feeds:\n  - {required}" + f"    {line}" * bool(line)
    assert key.section == "digests[]"
    required = "name: d\n" if key.name != "name" else "since: 1d\n"
    return f"digests:\n  - {required}" + f"    {line}" * bool(line)


def value_of(config: Config, key: Any) -> object:
    section = {
        "settings": config.settings,
        "settings.smtp": config.settings.smtp,
        "feeds[]": config.feeds[0] if config.feeds else None,
        "digests[]": config.digests[0] if config.digests else None,
    }[key.section]
    return getattr(section, key.field)


@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.path)
def test_every_key_is_in_the_reference_with_the_models_default(key: Any) -> None:
    assert key.path in REFERENCE, f"{key.path} is missing from README.md's configuration table"
    written_default = REFERENCE[key.path]
    if key.default is REQUIRED:
        assert written_default == REQUIRED
        with pytest.raises(ConfigError, match="missing"):
            parse_config(placed(key, None))
    else:
        config = parse_config(placed(key, written_default))
        assert value_of(config, key) == key.default, (
            f"README.md gives {key.path} the default {written_default!r}, which reads as"
            f" {value_of(config, key)!r}; the model's is {key.default!r}"
        )


SECTIONS = {
    "settings": "settings:\n  zzzzzzzz: 1\n",
    "settings.smtp": "settings:\n  smtp:\n    zzzzzzzz: 1\n",
    "feeds[]": "feeds:\n  - url: https://example.org/feed.xml\n    zzzzzzzz: 1\n",
    "digests[]": "digests:\n  - name: d\n    zzzzzzzz: 1\n",
}


@pytest.mark.parametrize("section", SECTIONS)
def test_the_documented_keys_are_those_feeds_yaml_accepts(section: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(SECTIONS[section])
    message = caught.value.message
    assert "expected one of " in message, message
    accepted = set(message.split("expected one of ", 1)[1].split(", ")) - {"smtp"}
    documented = {key.name for key in KEYS if key.section == section}
    assert accepted == documented


@pytest.mark.parametrize(("line", "text"), code_blocks("yaml"), ids=lambda v: str(v)[:20])
def test_every_yaml_block_of_the_readme_loads(line: int, text: str) -> None:
    try:
        parse_config(text, f"README.md:{line}")
    except ConfigError as exc:
        pytest.fail(f"the YAML block at README.md:{line} does not load: {exc}")


def test_the_starter_file_gives_the_models_defaults() -> None:
    assert parse_config(DEFAULT_CONFIG_TEXT) == Config(path=Path("feeds.yaml"))


def starter_section(section: str) -> str:
    """The lines of DEFAULT_CONFIG_TEXT under a top-level key (``settings.smtp``: under
    ``smtp:`` in ``settings``)."""
    top, _, sub = section.removesuffix("[]").partition(".")
    match = re.search(rf"^{top}:\n(.*?)(?=^\S|\Z)", DEFAULT_CONFIG_TEXT, re.M | re.S)
    assert match, f"the starter file has no {top} section"
    if not sub:
        return match[1]
    inner = re.search(rf"^  {sub}:\n(.*?)(?=^  \S|\Z)", match[1], re.M | re.S)
    assert inner, f"the starter file has no {section} section"
    return inner[1]


@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.path)
def test_the_starter_file_shows_every_key(key: Any) -> None:
    text = starter_section(key.section)
    assert re.search(rf"^\s*(?:#\s*)?(?:-\s*)?{key.name}:", text, re.M), (
        f"aggregator init's feeds.yaml does not show {key.path}"
    )


# --- the screenshot ---------------------------------------------------------------------------


def test_the_readmes_screenshot_is_a_1280x800_png() -> None:
    (path,) = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", readme_section("Use it, task by task"))
    head = (ROOT / path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1280, 800)  # the IHDR chunk's width, height


# --- the systemd unit ---------------------------------------------------------------------------


def test_the_systemd_unit_runs_the_daemon_confined_and_restarts_it() -> None:
    service = unit()
    argv = shlex.split(service["ExecStart"])
    assert PurePosixPath(argv[0]).name == "aggregator"
    assert argv[1:] == ["run"]
    assert re.fullmatch(r"\S*kill -HUP \$MAINPID", service["ExecReload"])  # SIGHUP reloads
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a configuration error
    assert service.get("User") or service.get("DynamicUser") == "yes"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
    }.items():
        assert service.get(key) == value, key
    # Only the archive is writable: archive/ of the folder that holds feeds.yaml.
    folder = PurePosixPath(service["WorkingDirectory"])
    assert folder.is_absolute()
    assert service["ReadWritePaths"] == str(folder / PurePosixPath(DEFAULT_DATABASE).parent)
    assert str(folder) in readme_section("Use it, task by task")
    assert argv[0] in readme_section("Use it, task by task")  # where README installs it


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("aggregator")
    assert executable.exists()
    argv = shlex.split(unit()["ExecStart"])
    text = UNIT.read_text("utf-8").replace(f"ExecStart={argv[0]}", f"ExecStart={executable}")
    copy = tmp_path / UNIT.name
    copy.write_text(text, "utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
