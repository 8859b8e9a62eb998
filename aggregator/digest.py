"""Digests: what is new in the archive, as Markdown, HTML, JSON, Atom or JSON Feed, or by mail.

``build_digest`` selects the stories of a period (near-copies folded into their original, with
the other feeds that carried them: "also in"), optionally of some feeds, tags or a saved search,
grouped by feed or tag. ``render`` writes it in one format; ``send_digest`` mails it as
multipart/alternative (plain text and HTML). ``parse_since`` reads ``--since`` values, and
``remember_run`` records a run so that the next ``--since last`` starts where it ended.

With ``problems`` a digest ends with the feed-health report of ``aggregator status
--problems`` (``aggregator.health``), as of the end of its period, for the digest's feeds (all,
or those its ``feeds`` and ``tags`` name): a "Feed health" section in Markdown, HTML and the
mail's text; a ``health`` list in JSON; in Atom and JSON Feed one more entry, "Feed health",
when there are problems (none when every feed is fine: a feed reader would show it as news
every time), its id unique to the digest's end so that readers show each report once.

Every text comes from feeds, so none is trusted: control characters are dropped when the
digest is built, and each renderer escapes for its own syntax (the HTML is also passed through
nh3 with an allowlist, and only http(s) links are kept anywhere).

The JSON format (``render(digest, "json")``), version 1::

    {
      "version": 1,
      "title": "Digest: morning",
      "name": "morning",                  # the digest's name, or null
      "query": null,                      # the saved search it was made of, or null
      "since": "2026-11-27T07:00:00Z",    # the period: [since, until), RFC 3339 UTC
      "until": "2026-11-28T07:00:00Z",
      "group_by": "feed",                 # "feed", "tag" or null
      "count": 2,                         # items in all groups
      "groups": [                         # one group (named null) when not grouped
        {
          "name": "Example",
          "items": [
            {
              "id": 42,                                   # the article's id in the archive
              "title": "A story",
              "url": "https://example.org/story",         # http(s) only, else null
              "feed": "Example",                          # the feed it came from
              "author": "Ann",                            # or null
              "published": "2026-11-28T06:10:00Z",        # or null
              "first_seen": "2026-11-28T06:12:03Z",       # when the archive got it
              "excerpt": "The first words of the story…", # plain text
              "tags": ["news"],                           # its feeds' tags, then its own
              "also_in": [{"feed": "Other", "url": "https://other.example/story"}]
            }
          ]
        }
      ],
      "health": [                         # only with problems: the feed-health report
        {
          "kind": "failing",                          # failing, retired, moved, silent,
                                                      # validators, no-text, unlisted
          "feed_id": 3,
          "feed": "Example",
          "url": "https://example.org/feed.xml",      # as feeds.yaml lists it
          "detail": "HTTP 404 Not Found (3 failed polls in a row, since ...)",
          "advice": "The feed is not at this address any more: ...",
          "since": "2026-11-25T10:00:00Z",            # or null
          "command": "aggregator remove https://example.org/feed.xml"  # or null
        }
      ]
    }

A later version may add keys; it changes ``version`` only when a key changes meaning or goes.
"""

from __future__ import annotations

import html
import json
import re
import smtplib
import ssl
import textwrap
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Literal, get_args
from urllib.parse import quote, urlsplit

import nh3

from aggregator.config import SMTP_PASSWORD_ENV, SmtpSettings, parse_duration
from aggregator.errors import ConfigError, MailError, SearchError
from aggregator.health import KINDS, Problem, diagnose, grouped, problem_json
from aggregator.search import with_plain_words
from aggregator.store import Store
from aggregator.store._digest import Carrier, Clock, Story, stories

__all__ = [
    "DEFAULT_LIMIT",
    "FIRST_LAST",
    "JSON_VERSION",
    "UNTAGGED",
    "Carrier",
    "Clock",
    "Digest",
    "DigestGroup",
    "DigestItem",
    "Format",
    "GroupBy",
    "build_digest",
    "parse_since",
    "remember_run",
    "render",
    "send_digest",
]

Format = Literal["md", "html", "json", "atom", "jsonfeed"]
GroupBy = Literal["feed", "tag"]

#: Stories in a digest unless told otherwise.
DEFAULT_LIMIT = 100
#: How far back ``--since last`` reaches on a digest's first run.
FIRST_LAST = timedelta(hours=24)
#: The ``version`` of the JSON format (see the module's docstring).
JSON_VERSION = 1
#: Characters of an excerpt at most (cut at a word, with an ellipsis).
EXCERPT_CHARS = 280
#: The group of the stories whose feeds have no tag, when grouping by tag.
UNTAGGED = "Untagged"


@dataclass(frozen=True, kw_only=True, slots=True)
class DigestItem:
    """One story, its texts cleaned of control characters."""

    id: int
    title: str
    url: str | None
    """The story's link, http(s) only (None otherwise)."""
    feed: str
    author: str | None
    published: datetime | None
    first_seen: datetime
    excerpt: str
    tags: tuple[str, ...]
    """The tags of the feeds that carried it, then its own."""
    also_in: tuple[Carrier, ...]
    """The other feeds that carried the story or a near-copy of it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DigestGroup:
    name: str | None
    """The feed or tag the group is about (None when the digest is not grouped)."""
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Digest:
    """The stories of a period, ready to render: newest first within each group."""

    name: str | None
    title: str
    since: datetime
    until: datetime
    query: str | None
    group_by: GroupBy | None
    groups: tuple[DigestGroup, ...]
    health: tuple[Problem, ...] | None = None
    """The feed-health report (texts cleaned), when asked for (empty: every feed is fine)."""

    @property
    def items(self) -> tuple[DigestItem, ...]:
        return tuple(item for group in self.groups for item in group.items)

    @property
    def count(self) -> int:
        return sum(len(group.items) for group in self.groups)

    @property
    def period(self) -> str:
        """The period for people: "27 Nov 2026 07:00 to 28 Nov 2026 07:00 UTC"."""
        return f"{_day_time(self.since)} to {_day_time(self.until)} UTC"


# --- building ---------------------------------------------------------------------------------


def build_digest(
    store: Store,
    *,
    name: str | None = None,
    since: datetime,
    until: datetime | None = None,
    feeds: Sequence[str] = (),
    tags: Sequence[str] = (),
    query: str | None = None,
    group_by: GroupBy | None = None,
    limit: int = DEFAULT_LIMIT,
    clock: Clock = "seen",
    problems: bool = False,
) -> Digest:
    """The newest ``limit`` stories the archive got in [``since``, ``until``) (until: now).

    ``feeds`` are feed names, titles or URLs; ``tags`` match a feed's tags or an article's own
    (without case); ``query`` keeps the articles that match it (FTS5 syntax; a query FTS5
    rejects is searched as plain words). Given filters must all hold. ``clock="published"``
    places articles by their publication date instead of when the archive first saw them.
    ``problems`` adds the feed-health report of the digest's feeds as of ``until``.
    Times are truncated to the second (the archive's resolution); naive ones are UTC.

    Raises ConfigError for an unknown feed, a period that ends before it starts or a bad
    limit, SearchError for a query with nothing to search, StoreError when the archive fails.
    """
    since = _utc(since)
    until = _utc(until if until is not None else datetime.now(UTC))
    if since > until:
        raise ConfigError(
            f"the digest's period ends before it starts: {_rfc3339(since)} is after"
            f" {_rfc3339(until)}"
        )
    if limit < 1:
        raise ConfigError("a digest's limit must be at least 1")
    if group_by is not None and group_by not in get_args(GroupBy):
        raise ConfigError(f"cannot group a digest by {group_by!r}: by feed or by tag")

    feed_ids = store.feed_ids(feeds) if feeds else None

    def select(match: str | None) -> list[Story]:
        return store.read(
            "reading the digest's articles",
            stories,
            since=since,
            until=until,
            clock=clock,
            feed_ids=feed_ids,
            tags=tags,
            match=match,
            limit=limit,
        )

    if query is None:
        found = select(None)
    elif not query.strip():
        raise SearchError("the digest's search query is empty")
    else:
        found = with_plain_words(query, select)
    return Digest(
        name=name,
        title=_title(name, query),
        since=since,
        until=until,
        query=_line(query) if query is not None else None,
        group_by=group_by,
        groups=_grouped(found, group_by, tags),
        health=_health(store, until, feed_ids, tags) if problems else None,
    )


def _health(
    store: Store, now: datetime, feed_ids: Sequence[int] | None, tags: Sequence[str]
) -> tuple[Problem, ...]:
    """The problems of the feeds ``feed_ids`` names (all when None) that have one of ``tags``
    (any when empty), their texts cleaned (feed names and server messages come from afar)."""
    wanted = {tag.casefold() for tag in tags}
    feeds = [
        feed
        for feed in store.feeds()
        if (feed_ids is None or feed.id in feed_ids)
        and (not wanted or wanted & {tag.casefold() for tag in feed.tags})
    ]
    return tuple(
        replace(
            problem,
            feed=_line(problem.feed),
            url=_line(problem.url),
            detail=_line(problem.detail),
            advice=_line(problem.advice),
        )
        for problem in diagnose(feeds, store.feed_activity(), now=now)
    )


def _utc(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _title(name: str | None, query: str | None) -> str:
    if name:
        return f"Digest: {_line(name)}"
    if query:
        return f"Digest: search for “{_line(query)}”"
    return "Digest"


def _grouped(
    found: Sequence[Story], group_by: GroupBy | None, tags: Sequence[str]
) -> tuple[DigestGroup, ...]:
    """The stories as items in groups: one unnamed group, or one per feed or tag (each
    story in one group; names compared without case, the first spelling kept), groups in
    alphabetical order, the untagged last."""
    items = [(story, _item(story)) for story in found]
    if group_by is None:
        return (DigestGroup(name=None, items=tuple(item for _, item in items)),)
    names: dict[str, str] = {}
    members: dict[str, list[DigestItem]] = {}
    for story, item in items:
        name = item.feed if group_by == "feed" else _tag_group(story, item, tags)
        names.setdefault(name.casefold(), name)
        members.setdefault(name.casefold(), []).append(item)
    order = sorted(names, key=lambda key: (names[key] == UNTAGGED, key))
    return tuple(DigestGroup(name=names[key], items=tuple(members[key])) for key in order)


def _tag_group(story: Story, item: DigestItem, wanted: Sequence[str]) -> str:
    """The first of the wanted tags the story has; without wanted tags, its feed's first."""
    if wanted:
        have = {tag.casefold(): tag for tag in item.tags}
        for tag in wanted:
            if tag.casefold() in have:
                return _line(tag)
    return next((tag for tag in map(_line, story.feed_tags) if tag), UNTAGGED)


def _item(story: Story) -> DigestItem:
    tags: dict[str, str] = {}
    for tag in (*story.feed_tags, *story.tags):
        if cleaned := _line(tag):
            tags.setdefault(cleaned.casefold(), cleaned)
    return DigestItem(
        id=story.id,
        title=_line(story.title or "") or "(untitled)",
        url=_link(story.url),
        feed=_line(story.feed),
        author=_line(story.author or "") or None,
        published=story.published,
        first_seen=story.first_seen,
        excerpt=_excerpt(story.text),
        tags=tuple(tags.values()),
        also_in=tuple(
            Carrier(feed=_line(carrier.feed), url=_link(carrier.url)) for carrier in story.also_in
        ),
    )


# --- cleaning what came from feeds ------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def _printable(char: str) -> bool:
    """False for control characters, lone surrogates and non-characters (XML refuses them;
    surrogates cannot even be encoded)."""
    if unicodedata.category(char) in ("Cc", "Cs"):
        return char in "\t\n\r"
    code = ord(char)
    return not (0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE)


def _line(text: str) -> str:
    """``text`` on one line: control characters dropped, whitespace runs made one space."""
    return _SPACE.sub(" ", "".join(c for c in text if _printable(c))).strip()


def _excerpt(text: str) -> str:
    """The start of ``text`` on one line, at most ``EXCERPT_CHARS``, cut at a word."""
    text = _line(text)
    if len(text) <= EXCERPT_CHARS:
        return text
    cut = text[: EXCERPT_CHARS - 1]
    if " " in cut[EXCERPT_CHARS // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def _link(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL, with any character a URL may not hold
    (spaces, quotes, angle brackets, non-ASCII) percent-encoded; else None."""
    if not url:
        return None
    url = "".join(c for c in url.strip() if _printable(c) and c not in "\t\n\r")
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


# --- --since and "last" -----------------------------------------------------------------------


def parse_since(value: str, *, now: datetime, last_run: datetime | None) -> datetime:
    """The start of a digest's period: a duration back from ``now`` ("24h", "7d"), a date or
    time ("2026-11-01", "2026-11-01T07:00:00+01:00"; UTC when no offset), or "last": since
    this digest's previous run (``last_run``, from ``Store.last_digest_run``), and on its first
    run since ``FIRST_LAST`` (24 hours) ago.

    Raises ConfigError for anything else.
    """
    text = value.strip()
    if text.lower() == "last":
        return last_run if last_run is not None else now - FIRST_LAST
    try:
        seconds = parse_duration(text)
    except ConfigError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ConfigError(
                f'cannot read since {value!r}: expected a duration like "24h", '
                'a date like "2026-11-01", or "last"'
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return now - timedelta(seconds=seconds)
    except OverflowError:
        raise ConfigError(f"since {value!r} reaches back before the year 1") from None


def remember_run(store: Store, digest: Digest) -> None:
    """Record that the named ``digest`` was delivered: its next ``--since last`` starts at
    this one's end (``until``, not the time of delivery, so no article falls between)."""
    if digest.name is None:
        raise ConfigError("only a named digest can be remembered for --since last")
    store.record_digest_run(digest.name, at=digest.until, articles=digest.count)


# --- rendering --------------------------------------------------------------------------------


#: The file name extension of each format.
EXTENSIONS: dict[str, str] = {
    "md": "md",
    "html": "html",
    "json": "json",
    "atom": "atom.xml",
    "jsonfeed": "feed.json",
}


def file_name(digest: Digest, fmt: Format) -> str:
    """Where a digest written to a folder goes: its name and the end of its period."""
    return f"{digest.name or 'digest'}-{digest.until:%Y%m%d-%H%M}.{EXTENSIONS[fmt]}"


def render(digest: Digest, fmt: Format) -> str:
    """The digest as a document in ``fmt``: md, html, json, atom or jsonfeed."""
    renderers: dict[str, Callable[[Digest], str]] = {
        "md": _markdown,
        "html": _html,
        "json": _json,
        "atom": _atom,
        "jsonfeed": _jsonfeed,
    }
    if fmt not in renderers:
        raise ConfigError(f"no digest format {fmt!r}: choose md, html, json, atom or jsonfeed")
    return renderers[fmt](digest)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d %b %Y %H:%M")


def _about(item: DigestItem) -> str:
    """The line under a title: feed, date, author."""
    parts = [item.feed, f"{_day_time(item.published or item.first_seen)} UTC"]
    if item.author:
        parts.append(f"by {item.author}")
    return " · ".join(parts)


def _summary_line(digest: Digest) -> str:
    noun = "story" if digest.count == 1 else "stories"
    return f"{digest.period} · {digest.count} {noun}"


# Markdown: every ASCII punctuation character that can start markup is backslash-escaped, and
# so are the block markers a line could start with; links are written <in angle brackets>.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!&])")
_MD_BLOCK_START = re.compile(r"^([-+=]|\d+[.)])")


def _md(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_BLOCK_START.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], text)


def _md_link(text: str, url: str | None) -> str:
    return f"[{_md(text)}](<{url}>)" if url else _md(text)


def _markdown(digest: Digest) -> str:
    lines = [f"# {_md(digest.title)}", "", _md(_summary_line(digest)), ""]
    level = "##" if digest.group_by is None else "###"
    for group in digest.groups:
        if group.name is not None:
            lines += [f"## {_md(group.name)}", ""]
        for item in group.items:
            lines += [f"{level} {_md_link(item.title, item.url)}", "", _md(_about(item)), ""]
            if item.excerpt:
                lines += [_md(item.excerpt), ""]
            if item.also_in:
                also = ", ".join(_md_link(c.feed, c.url) for c in item.also_in)
                lines += [f"Also in: {also}", ""]
    if not digest.count:
        lines += ["Nothing new.", ""]
    if digest.health is not None:
        lines += ["## Feed health", ""]
        for kind, problems in grouped(digest.health):
            lines += [f"### {_md(KINDS[kind])} ({len(problems)})", ""]
            for problem in problems:
                name = f"**{_md(problem.feed)}**"
                if problem.url != problem.feed:
                    name += f" ({_md_link(problem.url, _link(problem.url))})"
                lines += [f"- {name}: {_md(problem.detail)}  ", f"  {_md(problem.advice)}"]
            lines.append("")
        if not digest.health:
            lines += [_HEALTHY, ""]
    return "\n".join(lines)


#: What the health section says when no feed has a problem.
_HEALTHY = "Every feed is fine."


def _health_lines(problems: Sequence[Problem]) -> list[str]:
    """The health report as plain text (the mail's text part, an Atom or JSON Feed entry)."""
    wrap = textwrap.TextWrapper(width=76, initial_indent="  ", subsequent_indent="  ")
    lines: list[str] = []
    for kind, members in grouped(problems):
        lines += [f"{KINDS[kind]} ({len(members)})", ""]
        for problem in members:
            where = f" <{problem.url}>" if problem.url != problem.feed else ""
            lines.append(f"* {problem.feed}{where}")
            lines += wrap.wrap(problem.detail)
            lines += wrap.wrap(f"What to do: {problem.advice}")
            lines.append("")
    return lines or [_HEALTHY, ""]


def _plain(digest: Digest) -> str:
    """The text/plain part of the mail: no markup, links on lines of their own."""
    lines = [digest.title, _summary_line(digest), ""]
    wrap = textwrap.TextWrapper(width=76, initial_indent="  ", subsequent_indent="  ")
    for group in digest.groups:
        if group.name is not None:
            lines += [f"== {group.name} ==", ""]
        for item in group.items:
            lines.append(f"* {item.title}")
            if item.url:
                lines.append(f"  {item.url}")
            lines.append(f"  {_about(item)}")
            if item.excerpt:
                lines += wrap.wrap(item.excerpt)
            if item.also_in:
                also = ", ".join(f"{c.feed} <{c.url}>" if c.url else c.feed for c in item.also_in)
                lines += wrap.wrap(f"Also in: {also}")
            lines.append("")
    if not digest.count:
        lines.append("Nothing new.")
    if digest.health is not None:
        lines += ["", "== Feed health ==", "", *_health_lines(digest.health)]
    return "\n".join(lines)


# HTML: built from escaped pieces, styled inline (mail clients drop <style>), then cleaned by
# nh3 with this allowlist; the document around it is constant but for the escaped title.
_HTML_TAGS = frozenset({"div", "h1", "h2", "h3", "p", "a"})
_HTML_STYLES = frozenset(
    {"color", "font-family", "font-size", "font-weight", "line-height", "margin", "max-width"}
    | {"padding", "border-bottom", "text-decoration"}
)
_CLEANER = nh3.Cleaner(
    tags=set(_HTML_TAGS),
    attributes={"*": {"style"}, "a": {"href"}},
    url_schemes={"http", "https"},
    filter_style_properties=set(_HTML_STYLES),
    link_rel="noopener noreferrer",
    strip_comments=True,
)
_STYLE = {
    "page": "max-width:640px;margin:0 auto;padding:16px;"
    "font-family:Helvetica,Arial,sans-serif;color:#222222;line-height:1.45",
    "h1": "font-size:22px;margin:0 0 4px",
    "period": "font-size:13px;color:#666666;margin:0 0 20px",
    "h2": "font-size:17px;margin:24px 0 8px;padding:0 0 4px;border-bottom:1px solid #dddddd",
    "item": "margin:0 0 18px",
    "h3": "font-size:16px;margin:0 0 2px",
    "link": "color:#1a4f8b;text-decoration:none",
    "about": "font-size:12px;color:#666666;margin:0 0 4px",
    "excerpt": "font-size:14px;margin:0 0 4px",
    "also": "font-size:12px;color:#666666;margin:0",
}
_DOCUMENT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body style="margin:0;padding:0;background:#ffffff">
{body}
</body>
</html>
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _tag(name: str, style: str, content: str) -> str:
    """``<name style="...">content</name>``; ``content`` must already be HTML."""
    return f'<{name} style="{_STYLE[style]}">{content}</{name}>'


def _a(text: str, url: str | None) -> str:
    if not url:
        return _esc(text)
    return f'<a href="{_esc(url)}" style="{_STYLE["link"]}">{_esc(text)}</a>'


def _html(digest: Digest) -> str:
    parts = [_tag("h1", "h1", _esc(digest.title)), _tag("p", "period", _esc(_summary_line(digest)))]
    for group in digest.groups:
        if group.name is not None:
            parts.append(_tag("h2", "h2", _esc(group.name)))
        for item in group.items:
            inner = [
                _tag("h3", "h3", _a(item.title, item.url)),
                _tag("p", "about", _esc(_about(item))),
            ]
            if item.excerpt:
                inner.append(_tag("p", "excerpt", _esc(item.excerpt)))
            if item.also_in:
                also = ", ".join(_a(c.feed, c.url) for c in item.also_in)
                inner.append(_tag("p", "also", f"Also in: {also}"))
            parts.append(_tag("div", "item", "".join(inner)))
    if not digest.count:
        parts.append(_tag("p", "excerpt", "Nothing new."))
    if digest.health is not None:
        parts += _html_health(digest.health)
    body = _CLEANER.clean(_tag("div", "page", "\n".join(parts)))
    return _DOCUMENT.format(title=_esc(digest.title), body=body)


def _html_health(problems: Sequence[Problem]) -> list[str]:
    parts = [_tag("h2", "h2", "Feed health")]
    for kind, members in grouped(problems):
        parts.append(_tag("h3", "h3", f"{_esc(KINDS[kind])} ({len(members)})"))
        for problem in members:
            inner = [_tag("p", "excerpt", _a(problem.feed, _link(problem.url)))]
            if problem.url != problem.feed:
                inner.append(_tag("p", "about", _esc(problem.url)))
            inner.append(_tag("p", "excerpt", _esc(problem.detail)))
            inner.append(_tag("p", "also", f"What to do: {_esc(problem.advice)}"))
            parts.append(_tag("div", "item", "".join(inner)))
    if not problems:
        parts.append(_tag("p", "excerpt", _HEALTHY))
    return parts


def _json(digest: Digest) -> str:
    data = {
        "version": JSON_VERSION,
        "title": digest.title,
        "name": digest.name,
        "query": digest.query,
        "since": _rfc3339(digest.since),
        "until": _rfc3339(digest.until),
        "group_by": digest.group_by,
        "count": digest.count,
        "groups": [
            {"name": group.name, "items": [_item_json(item) for item in group.items]}
            for group in digest.groups
        ],
    }
    if digest.health is not None:
        data["health"] = [problem_json(problem) for problem in digest.health]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _item_json(item: DigestItem) -> dict[str, object]:
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "feed": item.feed,
        "author": item.author,
        "published": _rfc3339(item.published) if item.published else None,
        "first_seen": _rfc3339(item.first_seen),
        "excerpt": item.excerpt,
        "tags": list(item.tags),
        "also_in": [{"feed": c.feed, "url": c.url} for c in item.also_in],
    }


def _feed_id(digest: Digest) -> str:
    """A stable identity for the digest as a feed: its name, else its query, else 'digest'."""
    if digest.name:
        key = f"digest/{_line(digest.name)}"
    elif digest.query:
        key = f"search/{digest.query}"
    else:
        key = "digest"
    return "urn:aggregator:" + quote(key, safe="/")


def _entry_id(item: DigestItem) -> str:
    return f"urn:aggregator:article:{item.id}"


def _health_entry(digest: Digest) -> tuple[str, str, str] | None:
    """The feed-health entry of an Atom or JSON Feed digest: id, title, text (None without
    problems: a report that all is fine would come up as news at every run)."""
    if not digest.health:
        return None
    feeds = len({problem.feed_id for problem in digest.health})
    title = f"Feed health: {feeds} feed{'s' if feeds != 1 else ''} need attention"
    entry_id = f"{_feed_id(digest)}/health/{_rfc3339(digest.until)}"
    return entry_id, title, "\n".join(_health_lines(digest.health)).strip()


def _entry_text(item: DigestItem) -> str:
    """An item's text in a feed: its excerpt, then where else the story ran."""
    also = "; ".join(f"{c.feed} ({c.url})" if c.url else c.feed for c in item.also_in)
    return "\n\n".join(part for part in (item.excerpt, also and f"Also in: {also}") if part)


_ATOM = "http://www.w3.org/2005/Atom"


def _atom(digest: Digest) -> str:
    """Atom 1.0 (RFC 4287): one entry per item, its text in a text content element."""
    feed = ET.Element("feed", {"xmlns": _ATOM})

    def add(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> None:
        ET.SubElement(parent, name, attrs).text = text

    add(feed, "id", _feed_id(digest))
    add(feed, "title", digest.title, type="text")
    add(feed, "subtitle", _summary_line(digest), type="text")
    add(feed, "updated", _rfc3339(digest.until))
    author = ET.SubElement(feed, "author")
    add(author, "name", "aggregator")
    add(feed, "generator", "aggregator")
    for item in digest.items:
        entry = ET.SubElement(feed, "entry")
        add(entry, "id", _entry_id(item))
        add(entry, "title", item.title, type="text")
        if item.url:
            add(entry, "link", rel="alternate", type="text/html", href=item.url)
        add(entry, "updated", _rfc3339(item.published or item.first_seen))
        if item.published:
            add(entry, "published", _rfc3339(item.published))
        if item.author:
            entry_author = ET.SubElement(entry, "author")
            add(entry_author, "name", item.author)
        for tag in item.tags:
            add(entry, "category", term=tag)
        add(entry, "content", _entry_text(item) or item.title, type="text")
    if (health := _health_entry(digest)) is not None:
        entry_id, title, text = health
        entry = ET.SubElement(feed, "entry")
        add(entry, "id", entry_id)
        add(entry, "title", title, type="text")
        add(entry, "updated", _rfc3339(digest.until))
        add(entry, "content", text, type="text")
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, "unicode") + "\n"


def _jsonfeed(digest: Digest) -> str:
    """JSON Feed 1.1: our own fields under the ``_aggregator`` extension key."""
    items = [
        {
            "id": _entry_id(item),
            **({"url": item.url} if item.url else {}),
            "title": item.title,
            "content_text": _entry_text(item) or item.title,
            "date_published": _rfc3339(item.published or item.first_seen),
            **({"authors": [{"name": item.author}]} if item.author else {}),
            **({"tags": list(item.tags)} if item.tags else {}),
            "_aggregator": {
                "article_id": item.id,
                "feed": item.feed,
                "first_seen": _rfc3339(item.first_seen),
                "also_in": [{"feed": c.feed, "url": c.url} for c in item.also_in],
            },
        }
        for item in digest.items
    ]
    if (health := _health_entry(digest)) is not None:
        entry_id, title, text = health
        items.append(
            {
                "id": entry_id,
                "title": title,
                "content_text": text,
                "date_published": _rfc3339(digest.until),
                "_aggregator": {"health": [problem_json(p) for p in digest.health or ()]},
            }
        )
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": digest.title,
        "description": _summary_line(digest),
        "authors": [{"name": "aggregator"}],
        "items": items,
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# --- mail -------------------------------------------------------------------------------------


def send_digest(
    digest: Digest,
    *,
    smtp: SmtpSettings,
    to: Sequence[str],
    password: str | None,
    timeout: float = 30.0,
) -> None:
    """Mail the digest to ``to`` through ``smtp``: multipart/alternative, a plain-text part
    and the HTML one. STARTTLS (certificate checked) when ``smtp.starttls``; login when
    ``smtp.username`` is set, with ``password`` (from AGGREGATOR_SMTP_PASSWORD).

    Raises MailError naming the server and what went wrong.
    """
    where = f"{smtp.host}:{smtp.port}"
    if not to:
        raise MailError("the digest has no recipient")
    if smtp.username and password is None:
        raise MailError(
            f"the SMTP server {where} needs the password of {smtp.username}: "
            f"set {SMTP_PASSWORD_ENV}"
        )
    message = _message(digest, sender=smtp.sender, to=to)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                assert password is not None
                client.login(smtp.username, password)
            refused = client.send_message(message)
    except smtplib.SMTPNotSupportedError as exc:
        hint = "" if smtp.starttls else " (does it need starttls: true?)"
        raise MailError(f"the SMTP server {where} refused: {exc}{hint}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"the SMTP server {where} refused the login of {smtp.username}: {_reply(exc)}"
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(
            f"the SMTP server {where} refused every recipient: {_refusals(exc.recipients)}"
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"the SMTP server {where} refused the digest: {_reply(exc)}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"cannot send the digest through {where}: {exc}") from exc
    if refused:
        raise MailError(
            f"the digest was sent, but the SMTP server {where} refused {_refusals(refused)}"
        )


def _message(digest: Digest, *, sender: str, to: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    try:
        message["Subject"] = f"{digest.title} · {_summary_line(digest)}"
        message["From"] = sender
        message["To"] = ", ".join(to)
    except (ValueError, IndexError) as exc:
        raise MailError(f"cannot address the digest mail: {exc}") from exc
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = sender.rpartition("@")[2].strip(" >") or "aggregator.invalid"
    message["Message-ID"] = make_msgid("digest", domain=domain)
    message.set_content(_plain(digest))
    message.add_alternative(_html(digest), subtype="html")
    return message


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {text}".strip()


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode('utf-8', 'replace')})"
        for address, (code, reply) in recipients.items()
    )
