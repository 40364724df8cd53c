"""What the web accepts from a request: ids in URLs and fields of JSON bodies. One place, so that
every route answers a bad input with a 4xx naming the field, never with a 500.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import BaseConverter, IntegerConverter, ValidationError

# Every primary key is an SQL INTEGER: 32 bits on PostgreSQL. A larger number names nothing, and
# SQLite's driver raises OverflowError past 2**63, so the URL itself must not match.
ID_MAX = 2**31 - 1
# A job kind in a query ("weekly_setup"); openapi.py documents the same pattern.
JOB_KIND_PATTERN = r"^[a-z_]{1,40}$"


class IdConverter(IntegerConverter):
    """`<id:name>`: a database id, 1..ID_MAX; anything else in its place is a 404 like an unknown id."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=ID_MAX)


class DayConverter(BaseConverter):
    """`<day:name>`: a calendar date as 2026-11-24; anything else (2026-02-30 too) is a 404 like an unknown id."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError() from None

    def to_url(self, value: date) -> str:
        return value.isoformat()


def init_app(app: Flask) -> None:
    # Before the blueprints: a rule binds its converters when it is added to the map.
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["day"] = DayConverter


def parse_id(value: Any) -> int | None:
    """An id from a form field or a query string ("12"), or None when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
    else:
        return None
    return number if 1 <= number <= ID_MAX else None


def json_object(allowed: Collection[str]) -> dict[str, Any]:
    """The request's JSON body as an object with only the documented fields (400 otherwise)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="expected a JSON object")
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        abort(400, description=f"unknown field {unknown[0]!r}; expected only {', '.join(sorted(allowed))}")
    return body


def str_field(body: dict[str, Any], name: str, *, choices: Collection[str] | None = None,
              max_length: int | None = None, required: bool = True) -> str | None:
    """A string field: 400 naming it when it is missing, not a string, too long or not one of `choices`."""
    value = body.get(name)
    if value is None:
        if required:
            abort(400, description=f"{name} is required")
        return None
    expected = f"one of {', '.join(sorted(choices))}" if choices is not None else "a string"
    if not isinstance(value, str):
        abort(400, description=f"{name} must be {expected}, got a JSON {_json_type(value)}")
    if choices is not None and value not in choices:
        abort(400, description=f"{name} must be {expected}")
    if max_length is not None and len(value) > max_length:
        abort(400, description=f"{name} must be at most {max_length} characters")
    return value


def id_field(body: dict[str, Any], name: str, *, required: bool) -> int | None:
    """An id field (an integer 1..ID_MAX): 400 naming it otherwise."""
    value = body.get(name)
    if value is None:
        if required:
            abort(400, description=f"{name} is required")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= ID_MAX:
        abort(400, description=f"{name} must be a positive integer id (at most {ID_MAX})")
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else type(value).__name__
