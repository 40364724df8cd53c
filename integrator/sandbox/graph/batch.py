"""JSON batching: POST /v1.0/$batch with at most 20 requests, per-item status/headers/body.

Items run in order through the same WSGI app (flagged as batch parts), so every part meets the
same faults, token and permission checks, validation and request log as a direct call. An item
whose ``dependsOn`` target failed gets 424, as in Graph.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.test import EnvironBuilder, run_wsgi_app

from integrator.sandbox.graph.app import BATCH_PART, GraphApp, Operation, graph_app, json_response
from integrator.sandbox.graph.errors import GraphError, graph_error_body
from integrator.sandbox.graph.validation import read_json

MAX_REQUESTS = 20
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def _invalid(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _validate(requests: object) -> list[dict[str, Any]]:
    if not isinstance(requests, list) or not requests:
        raise _invalid("Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        raise _invalid(f"Too many requests in the batch. The maximum number of requests in a batch is {MAX_REQUESTS}.")
    ids: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not item.get("id") or not item.get("url"):
            raise _invalid("Invalid batch payload format: each request needs an id, a method and a url.")
        if str(item.get("method", "")).upper() not in _METHODS:
            raise _invalid(f"Invalid HTTP method '{item.get('method')}' in batch request '{item['id']}'.")
        if str(item["id"]) in ids:
            raise _invalid("Batch request has duplicated request ids.")
        ids.add(str(item["id"]))
    for item in requests:
        for dependency in item.get("dependsOn") or []:
            if str(dependency) not in ids:
                raise _invalid(f"Request '{item['id']}' depends on request '{dependency}' which is not in the batch.")
    return requests


def _body_bytes(item: dict[str, Any], headers: dict[str, str]) -> bytes | None:
    body = item.get("body")
    if body is None:
        return None
    if isinstance(body, str):
        # Graph accepts base64 for non-JSON bodies.
        return base64.b64decode(body)
    headers.setdefault("Content-Type", "application/json")
    return json.dumps(body).encode()


def _run(item: dict[str, Any]) -> dict[str, Any]:
    # Graph resolves item URLs against /v1.0 itself: an absolute URL or one that repeats the
    # version fails with "Resource not found for the segment 'https:'" (or 'v1.0'), which is
    # what msgraph-core 1.5.2's BatchRequestItem sends unless the caller strips the base URL.
    url = "/" + str(item["url"]).lstrip("/")
    path, _, query = url.partition("?")
    headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
    authorization = request.headers.get("Authorization")
    if authorization:
        headers["Authorization"] = authorization
    data = _body_bytes(item, headers)
    builder = EnvironBuilder(
        path="/v1.0" + path,
        base_url=request.host_url,
        query_string=query,
        method=str(item["method"]).upper(),
        headers=list(headers.items()),
        data=data,
    )
    environ = builder.get_environ()
    environ[BATCH_PART] = True
    app_iter, status, response_headers = run_wsgi_app(current_app._get_current_object(), environ, buffered=True)  # type: ignore[attr-defined]
    content = b"".join(app_iter)
    result: dict[str, Any] = {"id": str(item["id"]), "status": int(status.split()[0])}
    kept = {k: v for k, v in response_headers.items() if k.lower() in ("content-type", "retry-after", "location")}
    if kept:
        result["headers"] = kept
    if content:
        try:
            result["body"] = json.loads(content)
        except ValueError:
            result["body"] = base64.b64encode(content).decode()
    return result


def _failed_dependency(item: dict[str, Any]) -> dict[str, Any]:
    body = graph_error_body(
        "FailedDependency",
        "The request was not executed because a request it depends on failed.",
        graph_app().state.clock.now(),
        None,
    )
    return {"id": str(item["id"]), "status": 424, "headers": {"Content-Type": "application/json"}, "body": body}


def batch() -> Response:
    items = _validate(read_json().get("requests"))
    responses: list[dict[str, Any]] = []
    status_by_id: dict[str, int] = {}
    for item in items:
        dependencies = [str(d) for d in item.get("dependsOn") or []]
        if any(not 200 <= status_by_id.get(d, 0) < 300 for d in dependencies):
            result = _failed_dependency(item)
        else:
            result = _run(item)
        status_by_id[result["id"]] = result["status"]
        responses.append(result)
    return json_response({"responses": responses})


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)
    app.graph_route("/$batch", ["POST"], Operation("batch", "batch", frozenset()), batch)
