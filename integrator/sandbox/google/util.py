"""Small helpers shared by the Google API emulators: paging, partial responses, timestamps."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from integrator.sandbox.google.errors import invalid

T = TypeVar("T")
Json = dict[str, Any]


def rfc3339(dt: datetime) -> str:
    """Google's timestamp style: UTC, milliseconds, 'Z'."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"Invalid time value: {text}", reason="invalid") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def page(
    items: Sequence[T], token: str | None, requested: int | None, cap: int
) -> tuple[list[T], str | None]:
    """Slice one page; the sandbox's small ``cap`` makes every caller exercise paging."""
    size = min(requested, cap) if requested and requested > 0 else cap
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o:"))
        except ValueError:
            raise invalid("The page token is invalid.", reason="invalid", location="pageToken") from None
    chunk = list(items[start : start + size])
    following = start + size
    next_token = (
        base64.urlsafe_b64encode(f"o:{following}".encode()).decode() if following < len(items) else None
    )
    return chunk, next_token


# ---- partial responses (the standard `fields` parameter) ----

FieldTree = dict[str, "FieldTree | None"]


def parse_fields(text: str) -> FieldTree:
    tree, rest = _parse_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise invalid("Invalid field selection", reason="invalidParameter", location="fields")
    return tree


def _parse_list(text: str, pos: int) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    while pos < len(text) and text[pos] != ")":
        start = pos
        while pos < len(text) and text[pos] not in ",()":
            pos += 1
        path = text[start:pos].split("/")
        sub: FieldTree | None = None
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise invalid("Invalid field selection", reason="invalidParameter", location="fields")
            pos += 1
        node = tree
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = sub
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return tree, pos


def select(value: Any, tree: FieldTree | None) -> Any:
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [select(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: select(v, tree[k]) for k, v in value.items() if k in tree}
    return value
