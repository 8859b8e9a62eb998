"""Writing feeds.yaml: the starter file, then adding and removing feeds, rewriting a feed's URL.

Each edit splices the text at the positions PyYAML's node tree gives; no YAML is emitted again,
so everything outside the edited entry stays as it was, byte for byte: comments, order, quoting,
indentation, line endings, a byte order mark. New entries copy the layout of the list they join
(its indentation; flow style when its last item is written ``- {url: ...}`` or the list is
``[...]``). The edited text must validate with ``parse_config`` and list exactly the feeds
intended, or nothing is written; it replaces the file atomically (a temporary file in the same
folder, then ``os.replace``), keeping the file's permissions. Edits hold an exclusive lock
on the file from reading to replacing it, so two (``add`` and a daemon writing a moved feed's
URL) never lose one another's change.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import math
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from aggregator.config._messages import quote
from aggregator.config._reader import _is_http_url, url_identity
from aggregator.config._template import DEFAULT_CONFIG_TEXT
from aggregator.config._types import MAX_CONFIG_BYTES, Config, FeedConfig
from aggregator.config._units import format_duration
from aggregator.config._yaml import STR, compose
from aggregator.errors import ConfigError

_BOM: Final = "\ufeff"
_PLAIN: Final = re.compile(r"\w[\w .,/:?=&%~+@!$'()*;#-]*")
"""What may be written without quotes (then checked to read back as the same string)."""
_FLOW_INDICATORS: Final = frozenset(",[]{}")
_DOCUMENT_END: Final = re.compile(r"^\.\.\.(?:[ \t#]|$)", re.MULTILINE)
_LOADER: Final = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


@dataclass(frozen=True, kw_only=True, slots=True)
class SkippedFeed:
    """A feed ``add_feeds`` left out, and why."""

    feed: FeedConfig
    reason: str
    line: int | None = None
    """The line of the entry that is in the way (None for a feed given twice)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AddedFeeds:
    """What ``add_feeds`` did: the feeds added (with their lines in the new file), the others."""

    added: tuple[FeedConfig, ...]
    skipped: tuple[SkippedFeed, ...]


def init_config(path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write the commented starter feeds.yaml at ``path``, making its folder if need be.

    Raises ``ConfigError`` when the file exists, unless ``overwrite`` (then it is replaced
    atomically, keeping its permissions).
    """
    name = os.fspath(path)
    if overwrite and os.path.exists(path):
        _write(path, DEFAULT_CONFIG_TEXT)
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="") as file:
            file.write(DEFAULT_CONFIG_TEXT)
    except FileExistsError as exc:
        raise ConfigError("the file exists already; it was left as it is", path=name) from exc
    except OSError as exc:
        raise ConfigError(f"cannot write the file: {exc.strerror or exc}", path=name) from exc


def add_feed(path: str | os.PathLike[str], feed: FeedConfig) -> FeedConfig:
    """Append ``feed`` to the feeds of the feeds.yaml at ``path``; returns it with its line.

    Raises ``ConfigError`` naming the entry in the way when the file lists the same URL (scheme
    and host in any case) or the same name (in any case) already.
    """
    result = add_feeds(path, [feed])
    if result.skipped:
        raise ConfigError(result.skipped[0].reason, path=os.fspath(path))
    return result.added[0]


def add_feeds(
    path: str | os.PathLike[str], feeds: Sequence[FeedConfig], *, dry_run: bool = False
) -> AddedFeeds:
    """Append the ``feeds`` the file does not list yet (by URL or name), in their order.

    With ``dry_run`` the file is left alone (the lines of the added feeds are then None).
    """
    name = os.fspath(path)
    with _locked(path):
        return _add_feeds(path, name, feeds, dry_run=dry_run)


def _add_feeds(
    path: str | os.PathLike[str], name: str, feeds: Sequence[FeedConfig], *, dry_run: bool
) -> AddedFeeds:
    bom, text = read_file(path)
    root, config = _load(text, name)
    by_url = {url_identity(feed.url): feed for feed in config.feeds}
    by_name = {feed.name.casefold(): feed for feed in config.feeds if feed.name}
    new: list[FeedConfig] = []
    skipped: list[SkippedFeed] = []
    for feed in feeds:
        conflict = _conflict(feed, by_url, by_name)
        if conflict is not None:
            skipped.append(conflict)
            continue
        by_url[url_identity(feed.url)] = feed
        if feed.name:
            by_name[feed.name.casefold()] = feed
        new.append(feed)
    if not new or dry_run:
        return AddedFeeds(added=tuple(new), skipped=tuple(skipped))
    updated = _append(text, root, new, name)
    written = _check(updated, name, [*config.feeds, *new])
    _write(path, bom + updated)
    return AddedFeeds(added=written.feeds[len(config.feeds) :], skipped=tuple(skipped))


def remove_feed(path: str | os.PathLike[str], name_or_url: str) -> FeedConfig:
    """Remove the feed with this name (in any case) or URL from the feeds.yaml at ``path``.

    The comments inside its entry go with it; those above it stay. Returns the removed feed;
    raises ``ConfigError`` listing close matches when no feed has that name or URL.
    """
    name = os.fspath(path)
    with _locked(path):
        bom, text = read_file(path)
        root, config = _load(text, name)
        feed = find_feed(config.feeds, name_or_url)
        if feed is None:
            raise ConfigError(_no_such_feed(config.feeds, name_or_url), path=name)
        index = config.feeds.index(feed)
        _, feeds = _feeds_entry(root)
        assert isinstance(feeds, SequenceNode)  # the file lists ``feed``
        updated = _cut(text, feeds, index, name)
        _check(updated, name, [*config.feeds[:index], *config.feeds[index + 1 :]])
        _write(path, bom + updated)
    return feed


def find_feed(feeds: Sequence[FeedConfig], name_or_url: str) -> FeedConfig | None:
    """The feed named ``name_or_url`` (in any case), or listed at that URL (scheme and host in
    any case)."""
    wanted = name_or_url.strip().casefold()
    for feed in feeds:
        if feed.name and feed.name.strip().casefold() == wanted:
            return feed
    identity = url_identity(name_or_url.strip())
    return next((feed for feed in feeds if url_identity(feed.url) == identity), None)


def rewrite_feed_url(path: str | os.PathLike[str], old: str, new: str) -> None:
    """Replace a feed's ``url`` in feeds.yaml, touching nothing else (comments, order, layout).

    The file is validated before and after, and replaced atomically. Raises ``ConfigError``
    when the file does not list ``old`` or the result would not load.
    """
    name = os.fspath(path)
    with _locked(path):
        bom, text = read_file(path)
        node = _feed_url_node(_load(text, name)[0], old)
        if node is None:
            raise ConfigError(f"no feed with url {quote(old)} to rewrite", path=name)
        replacement = (
            new if node.style in (None, "") and _is_plain(new, flow=True) else _quoted(new)
        )
        updated = text[: node.start_mark.index] + replacement + text[node.end_mark.index :]
        _parse(updated, name)
        _write(path, bom + updated)


def _conflict(
    feed: FeedConfig, by_url: dict[str, FeedConfig], by_name: dict[str, FeedConfig]
) -> SkippedFeed | None:
    """Why ``feed`` cannot be added next to those listed (by URL identity and by folded name;
    those without a line are being added), or None when it can."""
    if not _is_http_url(feed.url):
        reason = f"{quote(feed.url, 200)} is not an http:// or https:// URL"
        return SkippedFeed(feed=feed, reason=reason)
    if (listed := by_url.get(url_identity(feed.url))) is not None:
        if listed.line is None:
            return SkippedFeed(feed=feed, reason=f"{quote(feed.url, 200)} is given twice")
        reason = f"{quote(feed.url, 200)} is already listed at line {listed.line}"
        if listed.url != feed.url:
            reason += f" as {quote(listed.url, 200)}"
        if listed.name and listed.name != feed.name:
            reason += f" (named {quote(listed.name)})"
        return SkippedFeed(feed=feed, reason=reason, line=listed.line)
    if feed.name and (listed := by_name.get(feed.name.casefold())) is not None:
        reason = f"the name {quote(feed.name)} is taken by {quote(listed.url, 200)}"
        if listed.line is not None:
            reason += f" at line {listed.line}"
        return SkippedFeed(feed=feed, reason=reason, line=listed.line)
    return None


# --- Reading and writing --------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """An exclusive lock on the file at ``path`` (its target, if a link) while it is edited.

    An edit replaces the file, so the lock taken is checked to be on the file that is there
    now: one who waited for it may hold the lock of the file it replaced.
    """
    target = os.path.realpath(path)
    while True:
        try:
            handle = os.open(target, os.O_RDONLY)
        except FileNotFoundError:
            yield  # nothing to lock: reading it says so
            return
        except OSError as exc:
            raise ConfigError(
                f"cannot read the file: {exc.strerror or exc}", path=os.fspath(path)
            ) from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                current = os.stat(target).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(handle).st_ino:
                yield
                return
        finally:
            os.close(handle)


def read_file(path: str | os.PathLike[str]) -> tuple[str, str]:
    """The byte order mark (or "") and the text of the feeds.yaml at ``path``; raises
    ``ConfigError`` when it is missing, unreadable, too large or not UTF-8."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError("no such file (`aggregator init` writes one)", path=name) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", path=name) from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"the file is larger than {MAX_CONFIG_BYTES // 2**20} MiB, too large for a feeds.yaml",
            path=name,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError("the file is not UTF-8 text", path=name, line=line) from exc
    if text.startswith(_BOM):
        return _BOM, text[1:]
    return "", text


def _write(path: str | os.PathLike[str], text: str) -> None:
    """Replace the file at ``path`` (a symbolic link's target) with ``text``, atomically."""
    target = Path(os.path.realpath(path))
    try:
        status = target.stat()
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise ConfigError(f"cannot write the file: {exc}", path=os.fspath(path)) from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, status.st_mode & 0o7777)
        with contextlib.suppress(OSError):  # only root may give a file to another user
            os.chown(temporary, status.st_uid, status.st_gid)
        os.replace(temporary, target)
    except OSError as exc:
        raise ConfigError(f"cannot write the file: {exc}", path=os.fspath(path)) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _parse(text: str, name: str) -> Config:
    # Imported here: the package imports this module before it defines parse_config.
    from aggregator.config import parse_config

    return parse_config(text, name)


def _load(text: str, name: str) -> tuple[Node | None, Config]:
    """The node tree of a valid feeds.yaml, and what it says."""
    config = _parse(text, name)
    return compose(text, name), config


def _check(text: str, name: str, expected: Sequence[FeedConfig]) -> Config:
    """The edited ``text``, validated, when it lists exactly the ``expected`` feeds."""
    problem = ConfigError(
        "the feeds list is laid out in a way this edit cannot follow; please edit it by hand",
        path=name,
    )
    try:
        config = _parse(text, name)
    except ConfigError as exc:
        raise problem from exc
    if [_essence(feed) for feed in config.feeds] != [_essence(feed) for feed in expected]:
        raise problem
    return config


def _essence(feed: FeedConfig) -> tuple[object, ...]:
    return (feed.url, feed.name, feed.tags, feed.interval)


# --- Where the feeds list is, and how it is laid out ----------------------------------------


def _feeds_entry(root: Node | None) -> tuple[ScalarNode | None, Node | None]:
    """The ``feeds`` key of the top mapping and its value (None, None when absent)."""
    if isinstance(root, MappingNode):
        for key, value in root.value:
            if isinstance(key, ScalarNode) and key.value == "feeds":
                return key, value
    return None, None


def _append(text: str, root: Node | None, feeds: Sequence[FeedConfig], name: str) -> str:
    """``text`` with ``feeds`` appended to its feeds list (made when there is none)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    key, value = _feeds_entry(root)
    if key is None or value is None:
        if isinstance(root, MappingNode) and root.flow_style:
            raise ConfigError(
                "the file is written as one {...} mapping; add a feeds list by hand", path=name
            )
        section = "feeds:" + newline + _block(feeds, 2, 4, newline)
        return _at_end(text, root, section, newline)
    if isinstance(value, SequenceNode) and value.value:
        last = value.value[-1]
        if value.flow_style:
            items = "".join(", " + _flow_mapping(feed) for feed in feeds)
            return _insert(text, last.end_mark.index, items)
        dash = value.start_mark.column
        first = value.value[0]
        indent = (
            first.start_mark.column if first.start_mark.line == value.start_mark.line else dash + 2
        )
        if isinstance(last, MappingNode) and last.flow_style:
            lines = "".join(f"{' ' * dash}- {_flow_mapping(feed)}{newline}" for feed in feeds)
        else:
            lines = _block(feeds, dash, indent, newline)
        end = _comments_below(text, _line_end(text, _content_end(last)), key.start_mark.column)
        return _insert_lines(text, end, lines, newline)
    # An empty list: ``feeds:``, ``feeds: ~`` or ``feeds: []``; the entries go below the key.
    start, end = value.start_mark.index, value.end_mark.index
    while start > key.end_mark.index and text[start - 1] in " \t":
        start -= 1
    rest = text[end : _line_end(text, end)]
    if not rest.strip():  # nothing follows on the line: no spaces left at its end either
        end += len(rest) - len(rest.lstrip(" \t"))
    text = text[:start] + text[end:]
    column = key.start_mark.column
    below = _comments_below(text, _line_end(text, start), column)
    return _insert_lines(text, below, _block(feeds, column + 2, column + 4, newline), newline)


def _cut(text: str, feeds: SequenceNode, index: int, name: str) -> str:
    """``text`` without the ``index``-th item of the list ``feeds``."""
    items = feeds.value
    item = items[index]
    if feeds.flow_style:  # the item and the comma between it and a neighbour
        if index + 1 < len(items):
            start, end = item.start_mark.index, items[index + 1].start_mark.index
        elif index:
            start, end = items[index - 1].end_mark.index, item.end_mark.index
        else:
            start, end = item.start_mark.index, item.end_mark.index
        return text[:start] + text[end:]
    dash = item.start_mark.index - 1
    while dash >= 0 and text[dash] in " \t\r\n":
        dash -= 1
    line_start = text.rfind("\n", 0, max(dash, 0)) + 1
    if dash < 0 or text[dash] != "-" or text[line_start:dash].strip():
        raise ConfigError(
            f"the entry at line {item.start_mark.line + 1} is laid out in a way this edit "
            "cannot follow; please remove it by hand",
            path=name,
        )
    end = _comments_below(text, _line_end(text, _content_end(item)), dash - line_start)
    return text[:line_start] + text[end:]


def _content_end(node: Node) -> int:
    """Where the last value inside ``node`` ends (a block collection's own end mark is where
    the next token starts, after any comments and blank lines)."""
    while isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    return node.end_mark.index


def _line_end(text: str, index: int) -> int:
    """The start of the line after the one ``index`` is on (``index`` itself when it starts a
    line, ``len(text)`` on the last line)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _comments_below(text: str, index: int, column: int) -> int:
    """The start of the first line from ``index`` on that is not a comment indented deeper
    than ``column`` (such comments belong to the entry above them)."""
    while index < len(text):
        end = _line_end(text, index + 1)
        line = text[index:end]
        stripped = line.lstrip(" ")
        if not stripped.startswith("#") or len(line) - len(stripped) <= column:
            break
        index = end
    return index


def _at_end(text: str, root: Node | None, section: str, newline: str) -> str:
    """``text`` with ``section`` (whole lines) at the end of its document."""
    start = 0 if root is None else _content_end(root)
    marker = _DOCUMENT_END.search(text, start)
    index = len(text) if marker is None else marker.start()
    before = text[:index]
    if before.strip() and not before.endswith(newline * 2):
        section = newline + section
    return _insert_lines(text, index, section, newline)


def _insert_lines(text: str, index: int, lines: str, newline: str) -> str:
    """``text`` with ``lines`` inserted at ``index``, the start of a line or the end."""
    if index and text[index - 1] != "\n":
        lines = newline + lines
    return _insert(text, index, lines)


def _insert(text: str, index: int, piece: str) -> str:
    return text[:index] + piece + text[index:]


# --- Writing entries ------------------------------------------------------------------------


def _fields(feed: FeedConfig, *, flow: bool) -> list[str]:
    """The ``key: value`` pieces of a feed's entry."""
    fields = [f"url: {_scalar(feed.url, flow=flow)}"]
    if feed.name is not None:
        fields.append(f"name: {_scalar(feed.name, flow=flow)}")
    if feed.tags:
        fields.append(f"tags: [{', '.join(_scalar(tag, flow=True) for tag in feed.tags)}]")
    if feed.interval is not None:
        fields.append(f"interval: {format_duration(feed.interval)}")
    return fields


def _block(feeds: Sequence[FeedConfig], dash: int, indent: int, newline: str) -> str:
    """Entries in block style: ``- url: ...`` at column ``dash``, other keys at ``indent``."""
    lines: list[str] = []
    for feed in feeds:
        first, *rest = _fields(feed, flow=False)
        lines.append(" " * dash + "-" + " " * (indent - dash - 1) + first)
        lines.extend(" " * indent + field for field in rest)
    return "".join(line + newline for line in lines)


def _flow_mapping(feed: FeedConfig) -> str:
    return "{" + ", ".join(_fields(feed, flow=True)) + "}"


def _scalar(text: str, *, flow: bool) -> str:
    """``text`` as a YAML scalar: plain when that reads back as the same string, else quoted."""
    return text if _is_plain(text, flow=flow) else _quoted(text)


def _is_plain(text: str, *, flow: bool) -> bool:
    if not _PLAIN.fullmatch(text) or ": " in text or " #" in text or text[-1] in " :":
        return False
    if flow and _FLOW_INDICATORS.intersection(text):
        return False
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return False
    # A string (not a number, a boolean, a date...) with the same text.
    return isinstance(node, ScalarNode) and node.tag == STR and node.value == text


def _quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar, on one line."""
    dumped: str = yaml.dump(
        text, Dumper=yaml.SafeDumper, default_style='"', width=math.inf, allow_unicode=True
    )
    return dumped.rstrip("\n")


def _feed_url_node(root: Node | None, url: str) -> ScalarNode | None:
    _, feeds = _feeds_entry(root)
    if not isinstance(feeds, SequenceNode):
        return None
    for item in feeds.value:
        if not isinstance(item, MappingNode):
            continue
        for field_key, field_value in item.value:
            if (
                field_key.value == "url"
                and isinstance(field_value, ScalarNode)
                and field_value.value.strip() == url
            ):
                return field_value
    return None


# --- Messages -------------------------------------------------------------------------------


def _no_such_feed(feeds: Sequence[FeedConfig], wanted: str) -> str:
    """No feed is named or at ``wanted``: a message naming the close ones."""
    labels = {}
    for feed in feeds:
        label = quote(feed.url, 200) + (
            f" ({quote(' '.join(feed.name.split()))})" if feed.name else ""
        )
        label += f" at line {feed.line}" if feed.line is not None else ""
        labels[feed.url.casefold()] = label
        if feed.name:
            labels[feed.name.casefold()] = label
    folded = wanted.strip().casefold()
    close = [labels[key] for key in labels if folded and folded in key]
    close += [labels[key] for key in difflib.get_close_matches(folded, labels, n=5, cutoff=0.6)]
    message = f"no feed named or at {quote(wanted, 200)}"
    if not feeds:
        return message + " (the file lists no feeds)"
    close = list(dict.fromkeys(close))[:5]
    return message + ("; close: " + ", ".join(close) if close else "")
