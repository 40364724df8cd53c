"""Request bodies checked against msgraph-sdk's own model classes.

The body is parsed with kiota's JSON parse node into the SDK model (e.g. ``Event``). Properties
the model does not define land in ``additional_data``; Graph answers those with 400
``RequestBodyRead``. Values the model cannot read (a number where a string belongs, an unknown
enum member) come back as None, so they go missing when the parsed model is serialised again:
comparing that echo with the raw JSON finds them.

Graph matches enum members case-insensitively (Microsoft's own examples send ``"HTML"``,
``"Text"``, ``"Required"``) and answers in its canonical camelCase (``"html"``), so the parse node
here does too, and the raw JSON handed to handlers carries the canonical spelling. Edm.Boolean
also reads the literals ``"true"``/``"false"`` (sendMail's documented ``"saveToSentItems":
"false"``). These rules live in a sandbox-only parse node: the product's own parsing is untouched.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, TypeVar

from flask import request
from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_parse_node import JsonParseNode
from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter

from integrator.sandbox.graph.errors import GraphError

P = TypeVar("P", bound=Parsable)
E = TypeVar("E", bound=Enum)


class GraphParseNode(JsonParseNode):
    """kiota's JSON parse node with the service's leniency: enum members and boolean literals."""

    def get_enum_value(self, enum_class: type[E]) -> E | None:  # type: ignore[override]
        raw = self._json_node
        if not isinstance(raw, str) or not raw:
            return None
        for member in enum_class:
            if str(member.value).lower() == raw.lower():
                return member
        return None

    def get_bool_value(self) -> bool | None:
        raw = self._json_node
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        return super().get_bool_value()

    def _create_new_node(self, node: Any) -> JsonParseNode:
        child = GraphParseNode(node)
        if self.on_before_assign_field_values:
            child.on_before_assign_field_values = self.on_before_assign_field_values
        if self.on_after_assign_field_values:
            child.on_after_assign_field_values = self.on_after_assign_field_values
        return child

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


def _unknown_properties(model: object) -> None:
    """Walk the parsed model; anything in ``additional_data`` is a property the type lacks."""
    extra = getattr(model, "additional_data", None) or {}
    for key in extra:
        if not key.startswith("@"):
            raise GraphError(400, "RequestBodyRead", _UNKNOWN.format(name=key, type=_type_name(model)))
    for value in vars(model).values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, Parsable):
                _unknown_properties(child)


def _unreadable_values(raw: object, echoed: object, type_name: str) -> None:
    """A value present in the request but lost by the SDK's parse+serialize had the wrong type."""
    if isinstance(raw, dict) and isinstance(echoed, dict):
        for key, value in raw.items():
            if key.startswith("@") or value is None or value in ("", [], {}):
                continue
            if echoed.get(key) is None:
                raise GraphError(
                    400,
                    "BadRequest",
                    f"Cannot convert the literal '{value}' to the expected type of property '{key}' on type '{type_name}'.",
                )
            _unreadable_values(value, echoed[key], type_name)
    elif isinstance(raw, list) and isinstance(echoed, list):
        for raw_item, echoed_item in zip(raw, echoed, strict=False):
            _unreadable_values(raw_item, echoed_item, type_name)


def _canonical(raw: object, echoed: object) -> object:
    """The raw JSON with enum members and boolean literals spelled as Graph spells them."""
    if isinstance(raw, dict) and isinstance(echoed, dict):
        return {key: _canonical(value, echoed.get(key)) for key, value in raw.items()}
    if isinstance(raw, list) and isinstance(echoed, list) and len(raw) == len(echoed):
        return [_canonical(r, e) for r, e in zip(raw, echoed, strict=True)]
    if isinstance(raw, str) and isinstance(echoed, str) and raw.lower() == echoed.lower():
        return echoed
    if isinstance(raw, str) and isinstance(echoed, bool):
        return echoed
    return raw


def _echo(model: Parsable) -> object:
    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    return json.loads(writer.get_serialized_content())


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


def parse_body(model_class: type[P], action: bool = False) -> tuple[P, dict[str, Any]]:
    """(SDK model, raw JSON) of the request body, or Graph's 400 for anything Graph would reject.

    ``action``: the body holds action parameters, which Graph matches case-insensitively (the SDK
    sends sendMail's as "Message"/"SaveToSentItems", the docs write "message"); the returned raw
    JSON then uses the SDK model's spelling.
    """
    data = read_json()
    if action:
        names = {name.lower(): name for name in model_class().get_field_deserializers()}
        data = {names.get(key.lower(), key): value for key, value in data.items()}
    model, canonical = parse_canonical(model_class, data)
    return model, canonical


def parse_canonical(model_class: type[P], data: dict[str, Any]) -> tuple[P, dict[str, Any]]:
    """(SDK model, the JSON with Graph's canonical enum spelling), or Graph's 400."""
    node = GraphParseNode(json.loads(json.dumps(data)))
    try:
        model: P = node.get_object_value(model_class)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise GraphError(400, "RequestBodyRead", f"Unable to read the request body: {exc}") from None
    _unknown_properties(model)
    echoed = _echo(model)
    _unreadable_values(data, echoed, _type_name(model))
    canonical = _canonical(data, echoed)
    assert isinstance(canonical, dict)
    return model, canonical


def parse_value(model_class: type[P], data: dict[str, Any]) -> P:
    return parse_canonical(model_class, data)[0]


def warm_up(*model_classes: type[Parsable]) -> None:
    """Parse each model once: msgraph-sdk imports a model's nested types on its first parse (Event
    pulls in hundreds of modules, seconds on a loaded machine), which would otherwise happen inside
    a client's first request and can outlast its 5 s read timeout. Once per process."""
    for model_class in model_classes:
        GraphParseNode({}).get_object_value(model_class)  # type: ignore[arg-type]  # a model class is its factory

