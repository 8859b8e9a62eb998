"""PyYAML's side: composing the node tree, refusing what is not plain YAML, describing nodes.

Nothing is constructed from tags; the readers take values from the nodes, which keep their lines.
"""

from __future__ import annotations

from typing import Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from aggregator.config._messages import quote
from aggregator.errors import ConfigError

_LOADER: Final = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
_TAG: Final = "tag:yaml.org,2002:"
NULL: Final = _TAG + "null"
BOOL: Final = _TAG + "bool"
INT: Final = _TAG + "int"
FLOAT: Final = _TAG + "float"
STR: Final = _TAG + "str"
_PLAIN_TAGS: Final = frozenset(
    _TAG + name
    for name in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map", "merge")
)


def compose(text: str, path: str) -> Node | None:
    """The YAML node tree of ``text`` (None when empty); YAML errors become ConfigError."""
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, path) from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(f"invalid YAML: {exc.reason}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from exc
    except RecursionError as exc:
        raise ConfigError("invalid YAML: nested too deeply", path=path) from exc


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, path: str) -> ConfigError:
    """A YAML syntax error as one line, with a hint for the two usual mistakes."""
    context, problem = exc.context, exc.problem
    if context and problem and context.startswith("while "):  # where the parser was
        message = f"invalid YAML: {problem} ({context})"
    elif context and problem:  # "expected a single document in the stream, but found another"
        message = f"invalid YAML: {context}, {problem}"
    else:
        message = f"invalid YAML: {problem or context}"
    if context == "while scanning an alias":
        message += '; quote values that start with "*", like "* * * * *"'
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return ConfigError(message, path=path)
    lines = text.split("\n", mark.line + 1)
    if mark.line < len(lines) and "\t" in lines[mark.line]:
        message += "; indent with spaces, not tabs"
    return ConfigError(message, path=path, line=mark.line + 1)


def check_plain_yaml(root: Node, text: str, path: str) -> None:
    """Refuse aliases (a node reached twice) and tags other than YAML's standard ones."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            message = "YAML aliases (*name) are not allowed; write the value out"
            raise ConfigError(message, path=path, line=_first_alias_line(text))
        seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            line = line_of(node)
            raise ConfigError(f"YAML tags like {node.tag} are not supported", path=path, line=line)
        if isinstance(node, MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _first_alias_line(text: str) -> int | None:
    """The line of the first ``*alias`` in ``text`` (only called once one was found)."""
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent) and event.start_mark is not None:
            return event.start_mark.line + 1
    return None


def line_of(node: Node) -> int | None:
    return node.start_mark.line + 1 if node.start_mark is not None else None


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL


def describe(node: Node) -> str:
    """What a value is, for ``expected X, got Y`` messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL:
        return "an empty value"
    if node.tag == STR:
        return quote(node.value)
    return str(node.value)
