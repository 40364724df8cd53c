"""The shipped discovery documents drive routing and request validation.

Using the same documents the client library builds its methods from means every path, query
parameter and body field is checked against what the real API accepts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote

from googleapiclient.discovery_cache import get_static_doc

from integrator.sandbox.google.errors import GoogleError, invalid

APIS: dict[str, str] = {"classroom": "v1", "drive": "v3", "gmail": "v1", "calendar": "v3", "meet": "v2", "forms": "v1"}

Json = dict[str, Any]


@dataclass(frozen=True)
class Method:
    api: str
    id: str
    operation: str
    http_method: str
    selector: re.Pattern[str]
    extractor: re.Pattern[str]
    literal_len: int
    spec: Json

    @property
    def scopes(self) -> list[str]:
        return list(self.spec.get("scopes", []))


@cache
def document(api: str) -> Json:
    text = get_static_doc(api, APIS[api])
    if text is None:
        raise LookupError(f"no discovery document shipped for {api}")
    doc: Json = json.loads(text)
    return doc


def _template_regex(template: str, flat: bool) -> tuple[str, int]:
    out: list[str] = []
    literal = 0
    pos = 0
    for m in re.finditer(r"\{(\+?)([A-Za-z0-9_.]+)\}", template):
        chunk = template[pos : m.start()]
        out.append(re.escape(chunk))
        literal += len(chunk)
        name = m.group(2).replace(".", "_")
        if m.group(1) and not flat:
            out.append(f"(?P<{name}>.+?)")
        else:
            out.append(f"(?P<{name}>[^/:]+)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    literal += len(template) - pos
    return "^" + "".join(out) + "$", literal


def _walk(resources: Json) -> list[Json]:
    found: list[Json] = []
    for res in resources.values():
        found.extend(res.get("methods", {}).values())
        found.extend(_walk(res.get("resources", {})))
    return found


@cache
def methods(api: str) -> list[Method]:
    doc = document(api)
    prefix = doc.get("servicePath", "")
    result: list[Method] = []
    for spec in _walk(doc["resources"]):
        path = prefix + spec["path"]
        flat = prefix + spec.get("flatPath", spec["path"])
        selector, literal = _template_regex(flat, flat=True)
        extractor, _ = _template_regex(path, flat=False)
        operation = spec["id"].split(".", 1)[1]
        result.append(
            Method(
                api,
                spec["id"],
                operation,
                spec["httpMethod"],
                re.compile(selector),
                re.compile(extractor),
                literal,
                spec,
            )
        )
    result.sort(key=lambda m: -m.literal_len)
    return result


@cache
def method_by_id(method_id: str) -> Method:
    api = method_id.split(".", 1)[0]
    for m in methods(api):
        if m.id == method_id:
            return m
    raise KeyError(method_id)


def route(api: str, http_method: str, raw_path: str) -> tuple[Method, dict[str, str]]:
    """Find the method for a path relative to the API's root URL (still percent-encoded)."""
    path_matched = False
    for m in methods(api):
        if not m.selector.match(raw_path):
            continue
        path_matched = True
        if m.http_method != http_method:
            continue
        found = m.extractor.match(raw_path)
        if found is None:
            continue
        return m, {k: unquote(v) for k, v in found.groupdict().items()}
    if path_matched:
        raise GoogleError(405, "Method Not Allowed", "INVALID_ARGUMENT")
    raise GoogleError(404, "Method not found.", "NOT_FOUND")


def _coerce(name: str, spec: Json, raw: str) -> Any:
    kind = spec.get("type", "string")
    if "enum" in spec and raw not in spec["enum"]:
        raise invalid(
            f"Invalid value at '{_snake(name)}' (TYPE_ENUM), \"{raw}\"", reason="invalid", location=name
        )
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise invalid(
                f"Invalid value at '{_snake(name)}' (TYPE_INT32), \"{raw}\"", reason="invalid", location=name
            ) from None
    if kind == "boolean":
        if raw not in ("true", "false", "True", "False", "1", "0"):
            raise invalid(
                f"Invalid value at '{_snake(name)}' (TYPE_BOOL), \"{raw}\"", reason="invalid", location=name
            )
        return raw.lower() in ("true", "1")
    return raw


def parse_query(method: Method, query: dict[str, list[str]], path_params: dict[str, str]) -> dict[str, Any]:
    """Validate and type the query string; unknown parameters are refused as the real API does."""
    known: Json = dict(document(method.api).get("parameters", {}))
    known.update(method.spec.get("parameters", {}))
    params: dict[str, Any] = dict(path_params)
    for name, values in query.items():
        spec = known.get(name)
        if spec is None:
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                f"Field '{name}' could not be found in request message.",
                reason="invalid",
                location=name,
            )
        typed = [_coerce(name, spec, v) for v in values]
        params[name] = typed if spec.get("repeated") else typed[-1]
    for name, spec in method.spec.get("parameters", {}).items():
        if spec.get("required") and name not in params:
            raise invalid(f"Required parameter: {name}", reason="required", location=name)
    return params


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _type_name(kind: str, fmt: str | None) -> str:
    if kind == "integer":
        return "TYPE_INT32" if fmt != "uint32" else "TYPE_UINT32"
    return {"string": "TYPE_STRING", "boolean": "TYPE_BOOL", "number": "TYPE_DOUBLE"}.get(
        kind, "TYPE_MESSAGE"
    )


def validate_body(method: Method, body: Any) -> None:
    """Check a request body against the method's request schema (unknown fields, enums, types)."""
    ref = method.spec.get("request", {}).get("$ref")
    if ref is None or body is None:
        # No body at all is an empty message, as Google's front end reads it (turnIn(), reclaim(),
        # files.update with only addParents/removeParents); required fields are the handler's check.
        return
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    _check(document(method.api)["schemas"], {"$ref": ref}, body, _snake(ref))


def _check(schemas: Json, schema: Json, value: Any, where: str) -> None:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type", "any")
    if value is None or kind == "any":
        return
    if kind == "object":
        if not isinstance(value, dict):
            raise invalid(f"Invalid value at '{where}' (TYPE_MESSAGE), {json.dumps(value)}")
        props: Json = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _check(schemas, props[key], item, f"{where}.{_snake(key)}")
            elif extra is not None:
                _check(schemas, extra, item, f"{where}[{key}]")
            else:
                raise invalid(
                    f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
                )
        return
    if kind == "array":
        if not isinstance(value, list):
            raise invalid(f"Invalid value at '{where}' (TYPE_MESSAGE), {json.dumps(value)}")
        for i, item in enumerate(value):
            _check(schemas, schema.get("items", {}), item, f"{where}[{i}]")
        return
    fmt = schema.get("format")
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, str) and value.lstrip("-").isdigit()),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
    }.get(kind, True)
    if not ok:
        raise invalid(f"Invalid value at '{where}' ({_type_name(kind, fmt)}), {json.dumps(value)}")
    if "enum" in schema and value not in schema["enum"]:
        raise invalid(f"Invalid value at '{where}' (TYPE_ENUM), {json.dumps(value)}")
