"""Reading a config file's YAML, bounded: size, nesting depth and alias expansion have limits.

A config file is a few kilobytes, a handful of levels deep, with no need for YAML aliases.
Without limits a 10-line alias bomb ("billion laughs") took minutes to refuse, and 5,000 `[`
ended in a RecursionError; both are now a problem line in milliseconds.
"""

from __future__ import annotations

import re
from typing import Any, cast

import yaml
from yaml.events import AliasEvent

from integrator.config.problems import Problem, key_path

MAX_CONFIG_BYTES = 1024 * 1024
# Levels of nesting, counted through aliases. The schema needs 7 (a group's meeting time:
# document > organisations > an organisation > groups > a group > meeting > start).
MAX_DEPTH = 20
# Values (mappings, lists and scalars) of the whole document with every alias expanded: a
# large installation's file (30 organisations of 50 staff and 10 groups) has about 10,000.
# Counted while composing, so that a file of a million values is refused after the first 50,000.
MAX_VALUES = 50_000
# What the YAML reader refuses: control characters other than tab and line breaks (a NUL byte).
NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Refused(yaml.MarkedYAMLError):
    """A limit of this reader, not a YAML syntax error: its message is said as it is."""


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 numbers and timestamps, with depth and size limits.

    YAML 1.1 reads `10:30` as the integer 630: a meeting time would silently become a number.
    Here `10:30` stays text, as in YAML 1.2. Dates stay text too, for pydantic to read: an
    impossible date (2027-02-31) is then a problem on its key instead of a ValueError.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._values = 0  # of the document so far, aliases expanded
        # id(node) -> (values with aliases expanded, levels): computed bottom-up while composing.
        self._measured: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels; a configuration needs "
                                           "at most 7 (check the brackets and the indentation)", mark)
            node = cast(yaml.Node, super().compose_node(parent, index))
        finally:
            self._depth -= 1
        if isinstance(event, AliasEvent):
            if id(node) not in self._measured:
                raise _Refused(None, None, f"the alias *{event.anchor} is inside the value it names, "
                                           "which would then contain itself", mark)
            self._count(self._measured[id(node)][0], mark)
            return node
        self._count(1, mark)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        values, levels = 1, 1
        for child in children:
            child_values, child_levels = self._measured[id(child)]
            values += child_values
            levels = max(levels, child_levels + 1)
        start: Any = node.start_mark
        if levels > MAX_DEPTH:
            raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels once its aliases (*name) are "
                                       "expanded; write the values out instead", start)
        self._measured[id(node)] = (values, levels)
        return node

    def _count(self, values: int, mark: Any) -> None:
        self._values += values
        if self._values > MAX_VALUES:
            raise _Refused(None, None, f"more than {MAX_VALUES:,} values (aliases *name counted as often as they "
                                       "are used; an alias bomb?); a configuration has far fewer", mark)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # An explicit tag with a value it cannot hold (`!!int abc`, a 5,000-digit number) raises
        # a bare ValueError in PyYAML; give it the node's line. Never quote the value: it may be a secret.
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError):
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            start: Any = node.start_mark
            raise _Refused(None, None, f"this value cannot be read as {tag}", start) from None


BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
BoundedLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
BoundedLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?$"
        r"|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)


def unreadable_character(text: str, file: str) -> Problem | None:
    """The first character YAML refuses (a NUL byte, a control character), with its line."""
    found = NON_PRINTABLE.search(text)
    if found is None:
        return None
    char = found.group()
    what = "a NUL byte" if char == "\0" else f"the control character U+{ord(char):04X}"
    return Problem(file, text.count("\n", 0, found.start()) + 1, "",
                   f"contains {what}, which YAML does not allow; save the file as plain UTF-8 text")


def _duplicate_keys(node: yaml.Node, loc: tuple[int | str, ...] = ()) -> list[tuple[tuple[int | str, ...], int]]:
    """Keys given twice in one mapping: YAML keeps the last silently, which hides typos."""
    found: list[tuple[tuple[int | str, ...], int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else "?"
            if name in seen:
                found.append(((*loc, name), k.start_mark.line + 1))
            seen.add(name)
            found.extend(_duplicate_keys(v, (*loc, name)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found.extend(_duplicate_keys(item, (*loc, i)))
    return found


def parse(text: str, file: str) -> tuple[Any, yaml.Node | None, list[Problem]]:
    """(data, root node, problems) of a config file's text."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Refused as e:
        line = e.problem_mark.line + 1 if e.problem_mark is not None else None
        return None, None, [Problem(file, line, "", str(e.problem))]
    except yaml.MarkedYAMLError as e:
        # Never str(e): it quotes the offending line, which may hold a secret.
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        words = e.problem or "invalid YAML"
        if e.context:
            started = e.context_mark.line + 1 if e.context_mark is not None else None
            words += f" ({e.context} that starts on line {started})" if started and started != line \
                else f" ({e.context})"
        return None, None, [Problem(file, line, "", f"YAML syntax error: {words}")]
    except yaml.YAMLError:
        return None, None, [Problem(file, None, "", "YAML syntax error")]
    finally:
        loader.dispose()
    problems = [Problem(file, line, key_path(loc), "key given twice; remove one (YAML would keep the last)")
                for loc, line in _duplicate_keys(node)] if node is not None else []
    return data, node, problems
