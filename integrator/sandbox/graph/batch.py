"""JSON batching: POST /v1.0/$batch with at most 20 requests, per-item status/headers/body.

Items run in order through the same WSGI app (flagged as batch parts), so every part meets the
same faults, token and permission checks, validation and request log as a direct call. An item
whose ``dependsOn`` target failed gets 424, as in Graph; Outlook items beyond 4 in parallel for
one mailbox get 429 (MailboxConcurrency).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder, run_wsgi_app

from integrator.sandbox.core import LogEntry
from integrator.sandbox.graph.app import BATCH_PART, GraphApp, Operation, graph_app, json_response, tenant
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
        raise _invalid("Number of requests inside batch exceeds the limit.")
    ids: set[str] = set()  # ids are not case-sensitive (JSON batching): "a" and "A" are one id
    for item in requests:
        if not isinstance(item, dict) or not item.get("id") or not item.get("url"):
            raise _invalid("Invalid batch payload format: each request needs an id, a method and a url.")
        if str(item.get("method", "")).upper() not in _METHODS:
            raise _invalid(f"Invalid HTTP method '{item.get('method')}' in batch request '{item['id']}'.")
        if str(item["id"]).lower() in ids:
            raise _invalid(f"Request Id {item['id']} has to be unique in a batch.")
        ids.add(str(item["id"]).lower())
    for item in requests:
        for dependency in item.get("dependsOn") or []:
            if str(dependency).lower() not in ids:
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


def _mailbox_of(item: dict[str, Any]) -> str | None:
    """The mailbox an Outlook item (events, sendMail) acts on, if it is one."""
    path = "/v1.0/" + str(item["url"]).lstrip("/").partition("?")[0]
    try:
        endpoint, args = graph_app().url_map.bind("localhost").match(path, str(item["method"]).upper())
    except HTTPException:
        return None
    operation = graph_app().operations.get(str(endpoint))
    if operation is None or not operation.mailbox:
        return None
    user = tenant().find_user(str(args.get("user_id", "")))
    return str(user["id"]) if user else None


def _over_concurrency(items: list[dict[str, Any]]) -> set[str]:
    """Ids of items Outlook refuses: more than N parallel requests to one mailbox.

    Graph runs items without ``dependsOn`` in parallel; Outlook allows 4 concurrent requests per
    mailbox, so the rest come back 429 (``tenant.mailbox_concurrency``; None switches this off).
    """
    limit = tenant().mailbox_concurrency
    if limit is None:
        return set()
    running: dict[str, int] = {}
    refused: set[str] = set()
    for item in items:
        if item.get("dependsOn"):
            continue
        mailbox = _mailbox_of(item)
        if mailbox is None:
            continue
        running[mailbox] = running.get(mailbox, 0) + 1
        if running[mailbox] > limit:
            refused.add(str(item["id"]))
    return refused


def _throttled(item: dict[str, Any]) -> dict[str, Any]:
    state = graph_app().state
    body = graph_error_body(
        "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", state.clock.now(), None
    )
    path = "/v1.0/" + str(item["url"]).lstrip("/").partition("?")[0]
    state.log.record(
        LogEntry(vendor="graph", api="batch", operation="throttled", http_method=str(item["method"]).upper(),
                 path=path, status=429, at=state.clock.now(), kind="part")
    )
    return {"id": str(item["id"]), "status": 429,
            "headers": {"Content-Type": "application/json", "Retry-After": "1"}, "body": body}


def batch() -> Response:
    items = _validate(read_json().get("requests"))
    refused = _over_concurrency(items)
    responses: list[dict[str, Any]] = []
    status_by_id: dict[str, int] = {}
    for item in items:
        dependencies = [str(d).lower() for d in item.get("dependsOn") or []]
        if any(not 200 <= status_by_id.get(d, 0) < 300 for d in dependencies):
            result = _failed_dependency(item)
        elif str(item["id"]) in refused:
            result = _throttled(item)
        else:
            result = _run(item)
        status_by_id[result["id"].lower()] = result["status"]
        responses.append(result)
    return json_response({"responses": responses})


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)
    app.graph_route("/$batch", ["POST"], Operation("batch", "batch", frozenset()), batch)
