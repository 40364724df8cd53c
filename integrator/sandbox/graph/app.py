"""The Graph + Entra WSGI app: one Flask app, a pipeline in front of every handler.

Pipeline per request: latency (wire requests only) -> injected fault -> bearer token ->
application permission -> mailbox quota -> handler -> request log -> lost answer (wire requests
only). ``$batch`` parts run through the same app (flagged in the WSGI environ) so they get the
same faults, auth and logging.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from integrator.sandbox.core import LOSE_ANSWER, EntryKind, LogEntry, SandboxState
from integrator.sandbox.graph import login, validation
from integrator.sandbox.graph.errors import (
    EntraError,
    GraphError,
    entra_error_response,
    graph_error_response,
)
from integrator.sandbox.graph.models import WARM_MODELS
from integrator.sandbox.graph.tenant import GraphTenant

BATCH_PART = "integrator.sandbox.batch_part"
_OUTLOOK_DENIED = ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
_DIRECTORY_DENIED = ("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


@dataclass(frozen=True)
class Operation:
    """What a route is, for the log ("graph events create") and for authorisation."""

    api: str
    name: str
    roles: frozenset[str]
    denied: tuple[str, str] = _DIRECTORY_DENIED
    mailbox: bool = False  # counts against Outlook's per-mailbox request quota


class GraphApp(Flask):
    """Flask app that also carries the tenant (``sb.graph``) and the shared sandbox state."""

    tenant: GraphTenant
    state: SandboxState
    operations: dict[str, Operation]

    def graph_route(
        self,
        rule: str,
        methods: list[str],
        operation: Operation,
        view: Callable[..., Response],
    ) -> None:
        endpoint = f"{operation.api}.{operation.name}.{'_'.join(methods)}.{rule}"
        self.add_url_rule("/v1.0" + rule, endpoint, view, methods=methods)
        self.operations[endpoint] = operation


def graph_app() -> GraphApp:
    return cast(GraphApp, current_app)


def tenant() -> GraphTenant:
    return graph_app().tenant


def json_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, content_type="application/json;odata.metadata=minimal")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _is_login() -> bool:
    return request.endpoint is not None and request.endpoint.startswith("login.")


def _is_admin() -> bool:
    return request.path.startswith("/_sandbox/")


def _before() -> None:
    app = graph_app()
    state = app.state
    if _is_admin():
        return
    if not request.environ.get(BATCH_PART):
        state.simulate_latency()
    fault = state.faults.pick("graph", request.path, request.method)
    if fault is not None:
        raise GraphError(fault.status, fault.reason, retry_after=fault.retry_after)
    operation = app.operations.get(request.endpoint or "")
    if operation is None or operation.api in ("batch", "upload"):
        return  # login speaks OAuth2; a batch envelope is authorised item by item; an upload URL is its own key
    principal = login.authenticate(app.tenant, request.headers.get("Authorization"))
    g.principal = principal
    if operation.roles and not (operation.roles & principal.roles):
        code, message = operation.denied
        raise GraphError(403, code, message)
    user_key = (request.view_args or {}).get("user_id")
    if operation.mailbox and user_key:
        user = app.tenant.find_user(str(user_key))
        if user is not None:
            wait = state.quotas.take(
                f"graph mailbox {user['id']}",
                state.quotas.graph_per_mailbox_per_10min,
                timedelta(minutes=10),
                state.clock.now(),
            )
            if wait is not None:
                raise GraphError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    retry_after=int(wait),
                )


def _after(response: Response) -> Response:
    app = graph_app()
    state = app.state
    if _is_admin():
        return response
    operation = app.operations.get(request.endpoint or "")
    kind: EntryKind
    if operation is not None and operation.api == "batch":
        kind = "batch"
    elif request.environ.get(BATCH_PART):
        kind = "part"
    else:
        kind = "wire"
    if operation is not None:
        api, name = operation.api, operation.name
    elif _is_login():
        api, name = "login", (request.endpoint or "").removeprefix("login.")
    else:
        api, name = "unknown", request.method.lower()
    user = (request.view_args or {}).get("user_id")
    state.log.record(
        LogEntry(
            vendor="graph",
            api=api,
            operation=name,
            http_method=request.method,
            path=request.path,
            status=response.status_code,
            at=state.clock.now(),
            kind=kind,
            user=str(user) if user else None,
        )
    )
    request_id = request.headers.get("client-request-id")
    if request_id:
        response.headers["client-request-id"] = request_id
    # A $batch part cannot lose its answer alone: only a whole wire request can.
    lost = None if kind == "part" else state.faults.pick("graph", request.path, request.method, mode="lose_answer")
    if lost is not None:
        request.environ[LOSE_ANSWER] = lost  # applied; SandboxRequestHandler drops the answer
    return response


def _handle_graph_error(error: GraphError) -> Response:
    if _is_login():
        # Login paths speak OAuth2, even for injected faults.
        unavailable = error.status >= 500 or error.status == 429
        answer = entra_error_response(
            EntraError(error.status, "temporarily_unavailable" if unavailable else "invalid_request", 90033, error.message),
            graph_app().state.clock.now(),
        )
        if error.retry_after is not None:
            answer.headers["Retry-After"] = str(error.retry_after)
        return answer
    response = graph_error_response(error, graph_app().state.clock.now(), request.headers.get("client-request-id"))
    if error.status == 401:
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"'
        )
    return response


def _handle_entra_error(error: EntraError) -> Response:
    return entra_error_response(error, graph_app().state.clock.now())


def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status == 404 and request.path.startswith("/v1.0/"):
        segments = request.path.removeprefix("/v1.0/").split("/")
        segment = segments[0] if segments[0] not in ("users", "me", "$batch") else segments[-1]
        return _handle_graph_error(GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'."))
    if status == 405:
        return _handle_graph_error(GraphError(405, "UnknownError", "No HTTP resource was found that matches the request URI."))
    return _handle_graph_error(GraphError(status))


def make_graph_app(state: SandboxState, graph_tenant: GraphTenant | None = None) -> GraphApp:
    """The WSGI app serving Entra login and Graph v1.0; ``app.tenant`` is ``sb.graph``."""
    from integrator.sandbox.graph import (
        admin,
        attendance,
        batch,
        drive,
        events,
        mail,
        meetings,
        sharepoint_settings,
        users,
    )

    app = GraphApp("integrator.sandbox.graph", static_folder=None)
    app.state = state
    app.tenant = graph_tenant or GraphTenant(state)
    app.operations = {}
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(GraphError, _handle_graph_error)
    app.register_error_handler(EntraError, _handle_entra_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    validation.warm_up(*WARM_MODELS)
    login.register(app, app.tenant)
    admin.register(app, app.tenant)
    for module in (users, events, meetings, attendance, mail, drive, sharepoint_settings, batch):
        module.register(app)
    return app
