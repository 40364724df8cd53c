"""OData bits Graph uses on lists: $top, paging tokens, simple `eq` filters, $select."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import request

from integrator.sandbox.graph.errors import GraphError

Json = dict[str, Any]

_EQ = re.compile(r"^\s*([A-Za-z/]+)\s+eq\s+'((?:[^']|'')*)'\s*$")


def base_url() -> str:
    """Where the client reached us, e.g. https://127.0.0.1:1234/v1.0 (for nextLink and contexts)."""
    return request.host_url.rstrip("/") + "/v1.0"


def selected(segment: str) -> str:
    """A context URL segment with its $select list, as Graph writes it: events(subject,start)."""
    wanted = request.args.get("$select")
    if not wanted:
        return segment
    return f"{segment}({','.join(name.strip() for name in wanted.split(',') if name.strip())})"


def parse_eq_filter(expression: str) -> list[tuple[str, str]]:
    """``a eq 'x' and b eq 'y'`` -> [(a, x), (b, y)]; anything richer is Graph's 400."""
    clauses = []
    for part in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE):
        match = _EQ.match(part)
        if not match:
            raise GraphError(400, "BadRequest", f"Invalid filter clause: Syntax error at position 0 in '{expression}'.")
        clauses.append((match.group(1), match.group(2).replace("''", "'")))
    return clauses


def filter_items(items: Sequence[Json], expression: str | None, allowed: dict[str, Callable[[Json], object]]) -> list[Json]:
    """Apply an `eq` filter over the given (case-insensitively named) properties."""
    if not expression:
        return list(items)
    clauses = parse_eq_filter(expression)
    getters = {name.lower(): getter for name, getter in allowed.items()}
    for name, _ in clauses:
        if name.lower() not in getters:
            raise GraphError(400, "BadRequest", f"Unsupported or invalid query filter clause specified for property '{name}'.")
    return [
        item
        for item in items
        if all(str(getters[name.lower()](item) or "").lower() == value.lower() for name, value in clauses)
    ]


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (ValueError, KeyError, TypeError):
        raise GraphError(400, "BadRequest", "Invalid $skiptoken value.") from None
    if not isinstance(offset, int) or offset < 0:
        raise GraphError(400, "BadRequest", "Invalid $skiptoken value.")
    return offset


def page(
    items: Sequence[Json],
    page_size: int,
    context: str,
    max_top: int = 999,
    skip_param: str = "$skiptoken",
) -> Json:
    """One page of ``items`` with @odata.nextLink when more remain.

    The page is min($top, sandbox page size): the sandbox pages small on purpose so that callers
    that read only the first page fail in tests instead of in production.
    """
    args = request.args
    top_text = args.get("$top")
    top = page_size
    if top_text is not None:
        if not top_text.isdigit() or not 1 <= int(top_text) <= max_top:
            raise GraphError(400, "BadRequest", f"Invalid page size specified: '{top_text}'. Must be between 1 and {max_top} inclusive.")
        top = min(int(top_text), page_size)
    if skip_param == "$skip":
        skip_text = args.get("$skip", "0")
        if not skip_text.isdigit():
            raise GraphError(400, "BadRequest", f"Invalid $skip value '{skip_text}'.")
        offset = int(skip_text)
    else:
        token = args.get("$skiptoken")
        offset = _decode_token(token) if token else 0
    chunk = [select(item) for item in items[offset : offset + top]]
    body: Json = {"@odata.context": context, "value": chunk}
    if offset + top < len(items):
        query = {k: v for k, v in args.items() if k not in ("$skip", "$skiptoken")}
        query[skip_param] = str(offset + top) if skip_param == "$skip" else _encode_token(offset + top)
        body["@odata.nextLink"] = f"{request.base_url}?{urlencode(query)}"
    return body


def select(item: Json) -> Json:
    """Honour $select (id and annotations always stay)."""
    wanted = request.args.get("$select")
    if not wanted:
        return item
    names = {name.strip() for name in wanted.split(",") if name.strip()}
    return {k: v for k, v in item.items() if k in names or k == "id" or k.startswith("@odata")}
