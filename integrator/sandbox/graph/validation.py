"""Request bodies checked against msgraph-sdk's own model classes.

The body is parsed with kiota's JSON parse node into the SDK model (e.g. ``Event``). Properties
the model does not define land in ``additional_data``; Graph answers those with 400
``RequestBodyRead``. Values the model cannot read (a number where a string belongs, an unknown
enum member) come back as None; comparing against the raw JSON finds those too.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from flask import request
from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory

from integrator.sandbox.graph.errors import GraphError

P = TypeVar("P", bound=Parsable)

_UNKNOWN = (
    "The property '{name}' does not exist on type '{type}'. Make sure to only use property names that "
    "are defined by the type or mark the type as open type."
)


def _type_name(model: object) -> str:
    odata = getattr(model, "odata_type", None)
    if isinstance(odata, str) and odata:
        return odata.lstrip("#")
    name = type(model).__name__
    return "microsoft.graph." + name[0].lower() + name[1:]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _check(model: object, raw: object) -> None:
    extra = getattr(model, "additional_data", None) or {}
    for key in extra:
        if not key.startswith("@"):
            raise GraphError(400, "RequestBodyRead", _UNKNOWN.format(name=key, type=_type_name(model)))
    if not isinstance(raw, dict):
        return
    for key, value in raw.items():
        if key.startswith("@") or key in extra or value is None:
            continue
        attr = getattr(model, _snake(key), None)
        if attr is None:  # Python keywords get a trailing underscore (Message.from_)
            attr = getattr(model, _snake(key) + "_", None)
        if attr is None:
            raise GraphError(
                400,
                "BadRequest",
                f"Cannot convert the literal '{value}' to the expected type of property '{key}' on "
                f"type '{_type_name(model)}'.",
            )
        if isinstance(attr, list) and isinstance(value, list):
            for sub_model, sub_raw in zip(attr, value, strict=False):
                if isinstance(sub_model, Parsable):
                    _check(sub_model, sub_raw)
        elif isinstance(attr, Parsable):
            _check(attr, value)


def read_json() -> dict[str, Any]:
    raw = request.get_data()
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    return data


def parse_body(model_class: type[P]) -> tuple[P, dict[str, Any]]:
    """(SDK model, raw JSON) of the request body, or Graph's 400 for anything Graph would reject."""
    data = read_json()
    return parse_value(model_class, data), data


def parse_value(model_class: type[P], data: dict[str, Any]) -> P:
    node = JsonParseNodeFactory().get_root_parse_node("application/json", json.dumps(data).encode())
    try:
        model: P = node.get_object_value(model_class)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise GraphError(400, "RequestBodyRead", f"Unable to read the request body: {exc}") from None
    _check(model, data)
    return model
