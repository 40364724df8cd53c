"""Directory users: get by id or UPN, list with paging and simple `eq` filters."""

from __future__ import annotations

from flask import Flask, Response, request

from integrator.sandbox.graph.app import GraphApp, Operation, graph_app, json_response, tenant
from integrator.sandbox.graph.errors import GraphError
from integrator.sandbox.graph.odata import base_url, filter_items, page, select, selected
from integrator.sandbox.graph.tenant import Json

READ_ROLES = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})


def require_user(key: str) -> Json:
    """The user behind a path segment (object id or UPN), or the directory's 404."""
    user = tenant().find_user(key)
    if user is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
        )
    return user


def list_users() -> Response:
    with graph_app().state.lock:
        users = list(tenant().users.values())
    users = filter_items(
        users,
        request.args.get("$filter"),
        {"mail": lambda u: u["mail"], "userPrincipalName": lambda u: u["userPrincipalName"], "id": lambda u: u["id"],
         "displayName": lambda u: u["displayName"]},
    )
    return json_response(page(users, graph_app().state.page_size, f"{base_url()}/$metadata#{selected('users')}"))


def get_user(user_id: str) -> Response:
    user = require_user(user_id)
    return json_response({"@odata.context": f"{base_url()}/$metadata#{selected('users')}/$entity", **select(user)})


def me() -> Response:
    raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)
    app.graph_route("/users", ["GET"], Operation("users", "list", READ_ROLES), list_users)
    app.graph_route("/users/<user_id>", ["GET"], Operation("users", "get", READ_ROLES), get_user)
    app.graph_route("/me", ["GET"], Operation("users", "me", frozenset()), me)
