"""The subset of Drive's `q` language the product uses, as a predicate over file resources."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from integrator.sandbox.google.errors import invalid

Json = dict[str, Any]
Predicate = Callable[[Json], bool]

_STRING = r"'((?:[^'\\]|\\.)*)'"
_TERMS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Predicate]]] = []


def _term(
    pattern: str,
) -> Callable[[Callable[[re.Match[str]], Predicate]], Callable[[re.Match[str]], Predicate]]:
    def register(fn: Callable[[re.Match[str]], Predicate]) -> Callable[[re.Match[str]], Predicate]:
        _TERMS.append((re.compile(r"^\s*" + pattern + r"\s*$", re.IGNORECASE), fn))
        return fn

    return register


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@_term(_STRING + r"\s+in\s+parents")
def _in_parents(m: re.Match[str]) -> Predicate:
    parent = _unescape(m.group(1))
    return lambda f: parent in f.get("parents", [])


@_term(r"(name|mimeType)\s*(=|!=)\s*" + _STRING)
def _equals(m: re.Match[str]) -> Predicate:
    field, op, value = m.group(1), m.group(2), _unescape(m.group(3))
    if op == "=":
        return lambda f: f.get(field) == value
    return lambda f: f.get(field) != value


@_term(r"name\s+contains\s+" + _STRING)
def _name_contains(m: re.Match[str]) -> Predicate:
    value = _unescape(m.group(1)).lower()
    return lambda f: value in str(f.get("name", "")).lower()


@_term(r"trashed\s*=\s*(true|false)")
def _trashed(m: re.Match[str]) -> Predicate:
    wanted = m.group(1).lower() == "true"
    return lambda f: bool(f.get("trashed", False)) == wanted


@_term(
    r"(appProperties|properties)\s+has\s*\{\s*key\s*=\s*"
    + _STRING
    + r"\s+and\s+value\s*=\s*"
    + _STRING
    + r"\s*\}"
)
def _has_property(m: re.Match[str]) -> Predicate:
    field, key, value = m.group(1), _unescape(m.group(2)), _unescape(m.group(3))
    return lambda f: (f.get(field) or {}).get(key) == value


def _split_and(q: str) -> list[str]:
    """Split on top-level ``and`` (not inside quotes or braces)."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(q):
        ch = q[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "{":
            depth += 1
        elif not quoted and ch == "}":
            depth -= 1
        elif not quoted and depth == 0 and q[i : i + 5].lower() == " and ":
            parts.append(q[start:i])
            start = i + 5
            i += 5
            continue
        i += 1
    parts.append(q[start:])
    return parts


def compile_query(q: str) -> Predicate:
    predicates: list[Predicate] = []
    for term in _split_and(q) if q.strip() else []:
        for pattern, build in _TERMS:
            found = pattern.match(term)
            if found:
                predicates.append(build(found))
                break
        else:
            raise invalid("Invalid Value", reason="invalid", location="q")
    return lambda f: all(p(f) for p in predicates)
