"""Every registered route, tried anonymously and as the wrong user. A new route without a row
in ROUTES fails `test_every_route_is_covered`, so no route can be forgotten."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.domain.types import AttendanceStatus, JobStatus, MessageKind, OutboxStatus, ServiceModel
from integrator.jobs.notify.outbox import NewMessage, enqueue
from integrator.store.models import (
    AttendanceDay,
    AuditEvent,
    Client,
    JobRun,
    Membership,
    OutboxMessage,
    Period,
    WorkDay,
)
from integrator.web.access import retention_start
from integrator.web.auth import PUBLIC_ENDPOINTS
from integrator.web.context import get_store
from tests.web.world import TUESDAY, WEEK, World


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
    "api.client_move": Route("POST", lambda w: f"/api/v1/clients/{w.client_a}/move", "object",
                             json=lambda w: {"to_group": "ti-ryhma", "from": "2026-11-24"}),
    "api.client_end": Route("POST", lambda w: f"/api/v1/clients/{w.client_a}/end", "object",
                            json=lambda w: {"on": "2026-11-24", "reason": "work"}),
    "api.client_end DELETE": Route("DELETE", lambda w: f"/api/v1/clients/{w.client_a}/end", "object"),
    "api.group_work_days": Route("GET", lambda w: f"/api/v1/groups/{w.group_a}/work-days?week={WEEK}", "object"),
    "api.group_attendance": Route("GET", lambda w: f"/api/v1/groups/{w.group_a}/attendance?week={WEEK}",
                                  "object"),
    "api.correct_attendance": Route("POST", lambda w: f"/api/v1/attendance/{w.attendance_a}/correction", "object",
                                    json=lambda w: {"status": "excused", "reason": "Sairas"}),
    "api.correct_client_day": Route("POST", lambda w: f"/api/v1/clients/{w.client_a}/attendance/{TUESDAY}", "object",
                                    json=lambda w: {"status": "excused", "reason": "Sairas"}),
    "api.revert_client_day": Route("POST", lambda w: f"/api/v1/clients/{w.client_a}/attendance/{TUESDAY}/revert",
                                   "object", json=lambda w: {"reason": "Väärä merkintä"}),
    "api.client_day_history": Route("GET", lambda w: f"/api/v1/clients/{w.client_a}/attendance/{TUESDAY}/history",
                                    "object"),
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
    "ui.register_download": Route("GET", lambda w: f"/groups/{w.group_a}/register?month=2026-11", "object"),
    "ui.attendance_page": Route("GET", lambda w: f"/groups/{w.group_a}/attendance?week={WEEK}", "object"),
    "ui.correct_attendance": Route("POST", lambda w: f"/attendance/{w.attendance_a}/correct", "object",
                                   form=lambda w: {"status": "excused", "reason": "Sairas"}),
    "ui.revert_attendance": Route("POST", lambda w: f"/attendance/{w.attendance_a}/revert", "object",
                                  form=lambda w: {"reason": "Väärä merkintä"}),
    "register.save_row": Route("POST", lambda w: f"/groups/{w.group_a}/attendance/clients/{w.client_a}", "object",
                               form=lambda w: {f"day-{w.work_day_a}": "excused", "reason": "Sairas"}),
    "register.unmap_attendee": Route("POST", lambda w: f"/groups/{w.group_a}/identity-mappings/undo", "object",
                                     form=lambda w: {"source": "teams", "participant_key": "phone:+358401234567",
                                                     "client_id": str(w.client_a)}),
    "register.not_a_client": Route("POST", lambda w: f"/groups/{w.group_a}/not-a-client", "object",
                                   form=lambda w: {"source": "teams", "participant_key": "phone:+358401234567"}),
    "register.undo_not_a_client": Route("POST", lambda w: f"/groups/{w.group_a}/not-a-client/undo", "object",
                                        form=lambda w: {"source": "teams", "participant_key": "phone:+358401234567"}),
    "ui.weekly_setup_page": Route("GET", lambda w: f"/weekly-setup?group_id={w.group_a}", "list"),
    "ui.weekly_setup_preview": Route("POST", lambda w: "/weekly-setup/preview", "object",
                                     form=lambda w: {"group_id": str(w.group_a), "week": WEEK}),
    "ui.weekly_setup_apply": Route("POST", lambda w: "/weekly-setup/apply", "object",
                                   form=lambda w: {"group_id": str(w.group_a), "week": WEEK}),
    "ui.jobs_page": Route("GET", lambda w: "/jobs", "list"),
    "surveys.results_page": Route("GET", lambda w: "/surveys?from=2026-01-01&to=2026-12-31", "list"),
    "ui.job_page": Route("GET", lambda w: f"/jobs/{w.run_a}", "object"),
    "clients.client_page": Route("GET", lambda w: f"/asiakkaat/{w.client_a}", "object"),
    "clients.set_task_variant": Route("POST", lambda w: f"/asiakkaat/{w.client_a}/tehtavataso", "object",
                                      form=lambda w: {"variant": "easier"}),
    "clients.move_preview": Route("POST", lambda w: f"/asiakkaat/{w.client_a}/siirto/esikatselu", "object",
                                  form=lambda w: {"group_id": str(w.group_b), "from": "2026-11-24"}),
    "clients.move_apply": Route("POST", lambda w: f"/asiakkaat/{w.client_a}/siirto", "object",
                                form=lambda w: {"group_id": str(w.group_b), "from": "2026-11-24"}),
    "clients.end_preview": Route("POST", lambda w: f"/asiakkaat/{w.client_a}/keskeytys/esikatselu", "object",
                                 form=lambda w: {"on": "2026-11-24", "reason": "work"}),
    "clients.end_apply": Route("POST", lambda w: f"/asiakkaat/{w.client_a}/keskeytys", "object",
                               form=lambda w: {"on": "2026-11-24", "reason": "work"}),
    "clients.undo_preview": Route("POST", lambda w: f"/asiakkaat/{w.client_a}/keskeytyksen-peruminen/esikatselu",
                                  "object"),
    "clients.undo_apply": Route("POST", lambda w: f"/asiakkaat/{w.client_a}/keskeytyksen-peruminen", "object"),
    "ui.import_page": Route("GET", lambda w: "/import", "admin"),
    # The outbox: world has no messages of its own; `outbox_a` below adds one about group A's client.
    "outbox.outbox_page": Route("GET", lambda w: "/outbox", "list"),
    "outbox.requeue_message": Route("POST", lambda w: f"/outbox/{_outbox_a(w)}/requeue", "object",
                                    form=lambda w: {"sent_items_checked": "yes", "reason": "Tarkistettu"}),
    "outbox.cancel_message": Route("POST", lambda w: f"/outbox/{_outbox_a(w)}/cancel", "object",
                                   form=lambda w: {"reason": "Oli perillä"}),
    # The status page (admins): the check and the retry name organisation A's objects.
    "status.status_page": Route("GET", lambda w: "/admin/status", "admin"),
    "status.run_check": Route("POST", lambda w: f"/admin/status/{w.org_a}/check", "admin"),
    "status.retry_run": Route("POST", lambda w: f"/admin/status/runs/{w.run_org}/retry", "admin"),
    "ui.import_page POST": Route("POST", lambda w: "/import", "object",  # imports into organisation A
                                 form=lambda w: {"organisation_id": str(w.org_a), "action": "check"}),
    # Staff and tokens: admins only. The pages about coordinator A are "admin" (not "object"): not
    # even coordinator A opens their own; another organisation's admin gets 404.
    "staff.staff_page": Route("GET", lambda w: "/admin/staff", "admin"),
    "staff.add_staff": Route("POST", lambda w: "/admin/staff", "object",  # adds to organisation A
                             form=lambda w: {"organisation_id": str(w.org_a), "name": "Uusi Ohjaaja",
                                             "email": "uusi@example.fi", "role": "coordinator"}),
    "staff.staff_user_page": Route("GET", lambda w: f"/admin/staff/{w.coord_a}", "admin"),
    "staff.change_staff": Route("POST", lambda w: f"/admin/staff/{w.coord_a}/edit", "admin",
                                form=lambda w: {"role": "admin", "group_id": str(w.group_a), "confirm": "yes"}),
    "staff.deactivate_staff": Route("POST", lambda w: f"/admin/staff/{w.coord_a}/deactivate", "admin",
                                    form=lambda w: {"confirm": "yes"}),
    "staff.reactivate_staff": Route("POST", lambda w: f"/admin/staff/{w.coord_a}/reactivate", "admin"),
    "staff.reset_password": Route("POST", lambda w: f"/admin/staff/{w.coord_a}/password", "admin",
                                  form=lambda w: {"confirm": "yes"}),
    "staff.create_token": Route("POST", lambda w: f"/admin/staff/{w.coord_a}/tokens", "admin",
                                form=lambda w: {"name": "automaatio"}),
    "staff.revoke_token": Route("POST", lambda w: f"/admin/staff/{w.coord_a}/tokens/1/revoke", "admin"),
    # The audit log and the organisations overview: `audit_a` below gives organisation A an event.
    "audit.audit_page": Route("GET", lambda w: "/admin/audit", "admin"),
    "audit.audit_export": Route("GET", lambda w: "/admin/audit.csv", "admin"),
    "organisations.organisations_page": Route("GET", lambda w: "/admin/organisations", "admin"),
}

#: World -> the id of an uncertain reminder to group A's client K-0001 (the outbox routes' object).
OUTBOX_A: dict[int, int] = {}


def _outbox_a(w: World) -> int:
    # Another module's world (tests/web/test_auth.py's CSRF sweep) has no such message: any id does
    # there, since a POST without the token is refused before the route looks anything up.
    return OUTBOX_A.get(id(w), 1)


@pytest.fixture(autouse=True)
def outbox_a(app: Flask, world: World) -> None:
    key = f"reminder:K-0001:{world.work_day_a}:60"
    with get_store(app).session() as s:
        enqueue(s, [NewMessage(key=key, kind=MessageKind.REMINDER, organisation_id=world.org_a,
                               to_address="k-0001@asiakas.example.fi", subject="Muistutus", body_text="x",
                               body_html=None, client_id=world.client_a)])
        msg = s.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        assert msg is not None
        msg.status = OutboxStatus.UNCERTAIN
        OUTBOX_A[id(world)] = msg.id


@pytest.fixture(autouse=True)
def audit_a(app: Flask, world: World) -> None:
    """An event of organisation A naming group A's client and group: the audit log's row to keep from others."""
    with get_store(app).session() as s:
        s.add(AuditEvent(organisation_id=world.org_a, actor=f"staff:{world.coord_a}", action="client.variant_chosen",
                         entity="client", entity_id=str(world.client_a),
                         details={"client": "K-0001", "group": "ti-ryhma", "from": "standard", "to": "easier"}))


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
    # The client's survey page: its single-use link's token is the key (tests/surveys, tests/browser).
    # Sign-in with the organisation's identity provider: its start redirects to the provider and
    # the callback is where the provider sends the browser back, before anyone is logged in; the
    # state and PKCE verifier in the session tie it to the browser's flow (tests/web/test_sign_in.py).
    assert PUBLIC_ENDPOINTS == {"healthz", "auth.login", "static", "surveys.answer", "sign_in.start",
                                "sign_in.callback"}


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
def test_the_groups_own_coordinator_may_open_it(as_coord_a: FlaskClient, world: World, configured: Path,
                                               endpoint: str) -> None:
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


# --- a client who moved on --------------------------------------------------------------------
# Pinned "today" (the world's Tuesday); the correction window then starts on 2026-10-01.
TODAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OLD_WEEK = "2026-W36"  # Tuesday 2026-09-01, when the client was still in group A
MOVED_MARKERS = ("K-0009", "Vaihtaja")


@dataclass
class Moved:
    client: int
    attendance: int  # a day of theirs in group A, in OLD_WEEK
    run: int  # a nightly run with an error about them


def _move_client(app: Flask, world: World, *, left_a: date) -> Moved:
    """K-0009 was in coordinator A's group, left it on `left_a` and joined B's group the next day."""
    with get_store(app).session() as s:
        c = Client(organisation_id=world.org_a, code="K-0009", display_name="Väinö Vaihtaja")
        s.add(c)
        s.flush()
        joined_b = left_a + timedelta(days=1)
        s.add_all([
            Membership(group_id=world.group_a, client_id=c.id, start_date=date(2026, 3, 3), end_date=left_a),
            Membership(group_id=world.group_b, client_id=c.id, start_date=joined_b),
            Period(client_id=c.id, service_model=ServiceModel.LONG_TERM, start_date=date(2026, 3, 3),
                   end_date=left_a, weekdays=[2]),
            Period(client_id=c.id, service_model=ServiceModel.SHORT_TERM, start_date=joined_b,
                   end_date=joined_b + timedelta(days=120), weekdays=[4])])
        wd = WorkDay(group_id=world.group_a, day=date(2026, 9, 1), iso_week=OLD_WEEK,
                     meeting_start=datetime(2026, 9, 1, 7, 0, tzinfo=UTC),
                     meeting_end=datetime(2026, 9, 1, 9, 0, tzinfo=UTC))
        s.add(wd)
        s.flush()
        ad = AttendanceDay(client_id=c.id, work_day_id=wd.id, computed_status=AttendanceStatus.ABSENT)
        run = JobRun(organisation_id=world.org_a, kind="nightly_sync", params={"org": "raisio"},
                     status=JobStatus.PARTIAL,
                     errors=[{"item": "K-0009", "error": "no responsible worker", "kind": "no_worker"}])
        s.add_all([ad, run])
        s.flush()
        return Moved(client=c.id, attendance=ad.id, run=run.id)


@pytest.fixture
def moved_two_months_ago(app: Flask, world: World) -> Moved:
    app.config["CLOCK"] = lambda: TODAY
    return _move_client(app, world, left_a=date(2026, 9, 20))


FORMER_CLIENT_ROUTES: dict[str, tuple[str, Callable[[World, Moved], str], dict[str, Any]]] = {
    "api.client": ("GET", lambda w, m: f"/api/v1/clients/{m.client}", {}),
    "api.group_clients": ("GET", lambda w, m: f"/api/v1/groups/{w.group_a}/clients?week={OLD_WEEK}", {}),
    "api.group_attendance": ("GET", lambda w, m: f"/api/v1/groups/{w.group_a}/attendance?week={OLD_WEEK}", {}),
    "api.correct_attendance": ("POST", lambda w, m: f"/api/v1/attendance/{m.attendance}/correction",
                               {"json": {"status": "excused", "reason": "Sairas"}}),
    "api.group_map_identity": ("POST", lambda w, m: f"/api/v1/groups/{w.group_a}/identity-mappings", {}),
    "api.correct_client_day": ("POST", lambda w, m: f"/api/v1/clients/{m.client}/attendance/2026-09-01",
                               {"json": {"status": "excused", "reason": "Sairas"}}),
    "api.revert_client_day": ("POST", lambda w, m: f"/api/v1/clients/{m.client}/attendance/2026-09-01/revert",
                              {"json": {"reason": "Sairas"}}),
    "api.client_day_history": ("GET", lambda w, m: f"/api/v1/clients/{m.client}/attendance/2026-09-01/history", {}),
    "ui.revert_attendance": ("POST", lambda w, m: f"/attendance/{m.attendance}/revert", {"data": {"reason": "x"}}),
    "api.job": ("GET", lambda w, m: f"/api/v1/jobs/{m.run}", {}),
    "clients.client_page": ("GET", lambda w, m: f"/asiakkaat/{m.client}", {}),
    "ui.dashboard": ("GET", lambda w, m: f"/?week={OLD_WEEK}", {}),
    "ui.group_page": ("GET", lambda w, m: f"/groups/{w.group_a}?week={OLD_WEEK}", {}),
    "ui.attendance_page": ("GET", lambda w, m: f"/groups/{w.group_a}/attendance?week={OLD_WEEK}", {}),
    "ui.correct_attendance": ("POST", lambda w, m: f"/attendance/{m.attendance}/correct",
                              {"data": {"status": "excused", "reason": "Sairas"}}),
}


@pytest.mark.parametrize("endpoint", sorted(FORMER_CLIENT_ROUTES))
def test_a_client_who_moved_to_another_group_two_months_ago_is_gone_for_the_old_coordinator(
        as_coord_a: FlaskClient, world: World, moved_two_months_ago: Moved, endpoint: str) -> None:
    method, url, kwargs = FORMER_CLIENT_ROUTES[endpoint]
    if endpoint == "api.group_map_identity":
        kwargs = {"json": {"source": "teams", "participant_key": "phone:+358401234567",
                           "client_id": moved_two_months_ago.client}}
    resp = as_coord_a.open(url(world, moved_two_months_ago), method=method, **kwargs)
    body = resp.get_data(as_text=True)
    if endpoint in ("api.client", "clients.client_page", "api.correct_attendance", "ui.correct_attendance", "api.group_map_identity",
                    "api.correct_client_day", "api.revert_client_day", "api.client_day_history",
                    "ui.revert_attendance"):
        assert resp.status_code == 404, body[:300]
    else:
        assert resp.status_code == 200, body[:300]
    for marker in MOVED_MARKERS:
        assert marker not in body, f"{endpoint} showed {marker!r} to their former coordinator"
    with get_store(as_coord_a.application).session() as s:
        day = s.get(AttendanceDay, moved_two_months_ago.attendance)
        assert day is not None and day.override_status is None


def test_the_new_coordinator_sees_the_moved_client_with_only_their_own_period(
        as_coord_b: FlaskClient, moved_two_months_ago: Moved) -> None:
    resp = as_coord_b.get(f"/api/v1/clients/{moved_two_months_ago.client}")
    assert resp.status_code == 200
    assert [p["start_date"] for p in resp.get_json()["periods"]] == ["2026-09-21"]


def test_within_the_correction_window_the_old_coordinator_still_sees_their_own_period_only(
        app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    app.config["CLOCK"] = lambda: TODAY
    moved = _move_client(app, world, left_a=date(2026, 10, 6))  # last month: may still need a correction
    resp = as_coord_a.get(f"/api/v1/clients/{moved.client}")
    assert resp.status_code == 200
    assert [p["start_date"] for p in resp.get_json()["periods"]] == ["2026-03-03"]
    fixed = as_coord_a.post(f"/api/v1/attendance/{moved.attendance}/correction",
                            json={"status": "excused", "reason": "Sairas"})
    assert fixed.status_code == 200, fixed.get_json()
    # Once December has begun, October is outside the window.
    app.config["CLOCK"] = lambda: datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert as_coord_a.get(f"/api/v1/clients/{moved.client}").status_code == 404


def test_the_correction_window_is_this_and_last_calendar_month() -> None:
    assert retention_start(date(2026, 11, 24)) == date(2026, 10, 1)
    assert retention_start(date(2026, 1, 1)) == date(2025, 12, 1)
    assert retention_start(date(2026, 3, 31)) == date(2026, 2, 1)
