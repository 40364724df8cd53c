"""Every registered route, tried anonymously and as the wrong user. A new route without a row
in ROUTES fails `test_every_route_is_covered`, so no route can be forgotten."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integrator.web.auth import PUBLIC_ENDPOINTS
from tests.web.world import WEEK, World


@dataclass
class Route:
    method: str
    url: Callable[[World], str]
    # "object": names something of group A (coordinator A's) -> coordinator B gets 403/404
    # "list": coordinator B gets 200 but nothing of group A in it
    # "admin": admins only -> coordinators get 403
    # "global_admin": only an admin of every organisation
    # "own": about the caller only (their session, their identity)
    kind: str
    json: Callable[[World], dict[str, Any]] | None = None
    form: Callable[[World], dict[str, str]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ROUTES: dict[str, Route] = {
    "auth.logout": Route("POST", lambda w: "/logout", "own"),
    "metrics.metrics_text": Route("GET", lambda w: "/metrics", "global_admin"),
    "openapi.openapi_json": Route("GET", lambda w: "/api/v1/openapi.json", "own"),
    "api.me": Route("GET", lambda w: "/api/v1/me", "own"),
    "api.organisations": Route("GET", lambda w: "/api/v1/organisations", "admin"),
    "api.organisation": Route("GET", lambda w: f"/api/v1/organisations/{w.org_a}", "admin"),
    "api.groups": Route("GET", lambda w: "/api/v1/groups", "list"),
    "api.group": Route("GET", lambda w: f"/api/v1/groups/{w.group_a}", "object"),
    "api.group_clients": Route("GET", lambda w: f"/api/v1/groups/{w.group_a}/clients?week={WEEK}", "object"),
    "api.client": Route("GET", lambda w: f"/api/v1/clients/{w.client_a}", "object"),
    "api.group_work_days": Route("GET", lambda w: f"/api/v1/groups/{w.group_a}/work-days?week={WEEK}", "object"),
    "api.group_attendance": Route("GET", lambda w: f"/api/v1/groups/{w.group_a}/attendance?week={WEEK}",
                                  "object"),
    "api.correct_attendance": Route("POST", lambda w: f"/api/v1/attendance/{w.attendance_a}/correction", "object",
                                    json=lambda w: {"status": "excused", "reason": "Sairas"}),
    "api.weekly_setup_preview": Route("POST", lambda w: "/api/v1/jobs/weekly-setup/preview", "object",
                                      json=lambda w: {"week": WEEK, "group_id": w.group_a}),
    "api.weekly_setup_apply": Route("POST", lambda w: "/api/v1/jobs/weekly-setup/apply", "object",
                                    json=lambda w: {"week": WEEK, "group_id": w.group_a}),
    "api.group_unmatched": Route("GET", lambda w: f"/api/v1/groups/{w.group_a}/unmatched-attendees", "object"),
    "api.group_map_identity": Route("POST", lambda w: f"/api/v1/groups/{w.group_a}/identity-mappings", "object",
                                    json=lambda w: {"source": "teams", "participant_key": "phone:+358401234567",
                                                    "client_id": w.client_a}),
    "ui.map_attendee": Route("POST", lambda w: f"/groups/{w.group_a}/identity-mappings", "object",
                             form=lambda w: {"source": "teams", "participant_key": "phone:+358401234567",
                                             "client_id": str(w.client_a)}),
    "api.jobs": Route("GET", lambda w: "/api/v1/jobs", "list"),
    "api.job": Route("GET", lambda w: f"/api/v1/jobs/{w.run_a}", "object"),
    "api.group_register": Route("GET", lambda w: f"/api/v1/groups/{w.group_a}/register?month=2026-11", "object"),
    "ui.dashboard": Route("GET", lambda w: f"/?week={WEEK}", "list"),
    "ui.group_page": Route("GET", lambda w: f"/groups/{w.group_a}", "object"),
    "ui.attendance_page": Route("GET", lambda w: f"/groups/{w.group_a}/attendance?week={WEEK}", "object"),
    "ui.correct_attendance": Route("POST", lambda w: f"/attendance/{w.attendance_a}/correct", "object",
                                   form=lambda w: {"status": "excused", "reason": "Sairas"}),
    "ui.weekly_setup_page": Route("GET", lambda w: f"/weekly-setup?group_id={w.group_a}", "list"),
    "ui.weekly_setup_preview": Route("POST", lambda w: "/weekly-setup/preview", "object",
                                     form=lambda w: {"group_id": str(w.group_a), "week": WEEK}),
    "ui.weekly_setup_apply": Route("POST", lambda w: "/weekly-setup/apply", "object",
                                   form=lambda w: {"group_id": str(w.group_a), "week": WEEK}),
    "ui.jobs_page": Route("GET", lambda w: "/jobs", "list"),
    "ui.job_page": Route("GET", lambda w: f"/jobs/{w.run_a}", "object"),
    "ui.import_page": Route("GET", lambda w: "/import", "admin"),
    "ui.import_page POST": Route("POST", lambda w: "/import", "object",  # imports into organisation A
                                 form=lambda w: {"organisation_id": str(w.org_a), "action": "check"}),
}
# Routes that only some builds have (none at the moment); kept so a test can be added before a route.
OPTIONAL: dict[str, Route] = {}
GROUP_A_MARKERS = ("K-0001", "Aino", "ti-ryhma")


def _registered(app: Flask) -> set[str]:
    return {r.endpoint for r in app.url_map.iter_rules()}


def _call(client: FlaskClient, route: Route, world: World) -> Any:
    kwargs: dict[str, Any] = {}
    if route.json:
        kwargs["json"] = route.json(world)
    if route.form:
        kwargs["data"] = route.form(world)
    return client.open(route.url(world), method=route.method, **kwargs)


def _all_routes() -> dict[str, Route]:
    return {**ROUTES, **OPTIONAL}


def _endpoint(key: str) -> str:
    return key.split(" ")[0]


def test_every_route_and_method_is_covered(app: Flask) -> None:
    served = {(r.endpoint, m) for r in app.url_map.iter_rules() for m in (r.methods or set()) - {"HEAD", "OPTIONS"}
              if r.endpoint not in PUBLIC_ENDPOINTS}
    covered = {(_endpoint(k), r.method) for k, r in _all_routes().items()}
    assert not served - covered, f"routes without an authorization test: {sorted(served - covered)}"
    assert not covered - served, f"stale rows: {sorted(covered - served)}"
    assert PUBLIC_ENDPOINTS == {"healthz", "auth.login", "static"}


@pytest.mark.parametrize("endpoint", sorted(_all_routes()))
def test_anonymous_is_turned_away(app: Flask, client: FlaskClient, world: World, endpoint: str) -> None:
    if _endpoint(endpoint) not in _registered(app):
        pytest.skip(f"{endpoint} is not installed in this build")
    route = _all_routes()[endpoint]
    resp = _call(client, route, world)
    if route.url(world).startswith(("/api/", "/metrics")):
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    else:
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith("/login")


@pytest.mark.parametrize("endpoint", sorted(_all_routes()))
def test_coordinator_of_another_group_sees_nothing_of_it(app: Flask, as_coord_b: FlaskClient, world: World,
                                                          endpoint: str) -> None:
    if _endpoint(endpoint) not in _registered(app):
        pytest.skip(f"{endpoint} is not installed in this build")
    route = _all_routes()[endpoint]
    resp = _call(as_coord_b, route, world)
    body = resp.get_data(as_text=True)
    if route.kind == "object":
        assert resp.status_code in (403, 404), body[:300]
    elif route.kind in ("admin", "global_admin"):
        assert resp.status_code == 403
    elif route.kind == "list":
        assert resp.status_code == 200
    else:
        assert resp.status_code in (200, 302)
    for marker in GROUP_A_MARKERS:
        assert marker not in body, f"{endpoint} leaked {marker!r} to another group's coordinator"


@pytest.mark.parametrize("endpoint", sorted(_all_routes()))
def test_admin_of_another_organisation_sees_nothing_of_it(app: Flask, world: World, endpoint: str) -> None:
    from tests.web.conftest import login

    route = _all_routes()[endpoint]
    resp = _call(login(app.test_client(), "admin_b"), route, world)
    body = resp.get_data(as_text=True)
    if route.kind == "object" or route.kind == "global_admin" or (route.kind == "admin" and "{" in _rule(app, endpoint)):
        assert resp.status_code in (403, 404), body[:300]
    else:
        assert resp.status_code in (200, 302), body[:300]
    for marker in GROUP_A_MARKERS:
        assert marker not in body, f"{endpoint} leaked {marker!r} to another organisation's admin"


def _rule(app: Flask, endpoint: str) -> str:
    return next(r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint).replace("<", "{")


@pytest.mark.parametrize("endpoint", [e for e, r in ROUTES.items() if r.kind == "object" and r.method == "GET"])
def test_the_groups_own_coordinator_may_open_it(as_coord_a: FlaskClient, world: World, endpoint: str) -> None:
    resp = _call(as_coord_a, ROUTES[endpoint], world)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]


def test_admin_of_another_organisation_cannot_see_group_a(app: Flask, world: World) -> None:
    from tests.web.conftest import login

    client = login(app.test_client(), "admin_b")
    assert client.get(f"/api/v1/groups/{world.group_a}").status_code == 404
    assert client.get(f"/api/v1/organisations/{world.org_a}").status_code == 404
    assert client.get(f"/api/v1/groups/{world.group_c}").status_code == 200
    keys = {g["key"] for g in client.get("/api/v1/groups").get_json()}
    assert keys == {"ke-ryhma"}


def test_admin_without_organisation_sees_every_group(as_admin: FlaskClient, world: World) -> None:
    keys = {g["key"] for g in as_admin.get("/api/v1/groups").get_json()}
    assert keys == {"ti-ryhma", "to-ryhma", "ke-ryhma"}
    assert as_admin.get(f"/api/v1/organisations/{world.org_b}").status_code == 200
