"""Logging in and out, tokens, CSRF, rate limits and the headers every answer carries."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.security import check_password_hash

from integrator.store.models import ApiToken, StaffUser
from integrator.store.types import utcnow
from integrator.web import accounts, create_app
from integrator.web.context import get_store
from tests.web.world import EMAILS, PASSWORD, World


def test_login_page_is_finnish_and_reachable_without_login(client: FlaskClient) -> None:
    resp = client.get("/login")
    assert resp.status_code == 200
    assert "Kirjaudu sisään" in resp.get_data(as_text=True)


def test_a_coordinator_logs_in_and_lands_where_they_were_going(client: FlaskClient, world: World) -> None:
    resp = client.get(f"/groups/{world.group_a}")
    assert resp.status_code == 302
    target = resp.headers["Location"]
    resp = client.post(target, data={"email": EMAILS["coord_a"], "password": PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/groups/{world.group_a}"
    assert "Ryhmä ti-ryhma" in client.get(f"/groups/{world.group_a}").get_data(as_text=True)


def test_login_never_redirects_off_site(client: FlaskClient, world: World) -> None:
    resp = client.post("/login?next=//evil.example/x", data={"email": EMAILS["coord_a"], "password": PASSWORD})
    assert resp.headers["Location"] == "/"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client: FlaskClient, world: World) -> None:
    wrong_pw = client.post("/login", data={"email": EMAILS["coord_a"], "password": "nope nope nope"})
    no_user = client.post("/login", data={"email": "nobody@example.fi", "password": "nope nope nope"})
    assert wrong_pw.status_code == no_user.status_code == 401
    assert "Väärä sähköpostiosoite tai salasana" in wrong_pw.get_data(as_text=True)


def test_login_attempts_are_rate_limited_per_account_and_address(client: FlaskClient, world: World) -> None:
    for _ in range(5):
        assert client.post("/login", data={"email": EMAILS["coord_a"], "password": "wrong password!"}).status_code == 401
    resp = client.post("/login", data={"email": EMAILS["coord_a"], "password": PASSWORD})
    assert resp.status_code == 429
    assert "Liian monta" in resp.get_data(as_text=True)
    # Another account from the same address is not locked out by someone else's typos.
    assert client.post("/login", data={"email": EMAILS["coord_b"], "password": PASSWORD}).status_code == 302


def test_social_worker_and_deactivated_staff_cannot_log_in(app: Flask, client: FlaskClient, world: World) -> None:
    store = get_store(app)
    accounts.add_staff(store, email="sos@example.fi", name="Sosiaaliohjaaja", role="social_worker",
                       org_key="raisio", password=PASSWORD)
    assert client.post("/login", data={"email": "sos@example.fi", "password": PASSWORD}).status_code == 401
    with store.session() as s:
        s.execute(update(StaffUser).where(StaffUser.id == world.coord_a).values(active=False))
    assert client.post("/login", data={"email": EMAILS["coord_a"], "password": PASSWORD}).status_code == 401


def test_a_deactivated_user_is_logged_out_on_the_next_request(app: Flask, as_coord_a: FlaskClient,
                                                               world: World) -> None:
    assert as_coord_a.get("/api/v1/me").status_code == 200
    with get_store(app).session() as s:
        s.execute(update(StaffUser).where(StaffUser.id == world.coord_a).values(active=False))
    assert as_coord_a.get("/api/v1/me").status_code == 401


def test_logout_ends_the_session(as_coord_a: FlaskClient) -> None:
    assert as_coord_a.post("/logout").status_code == 302
    assert as_coord_a.get("/api/v1/me").status_code == 401


def test_api_token_works_until_revoked_and_only_its_hash_is_stored(app: Flask, client: FlaskClient, world: World,
                                                                  token_a: str) -> None:
    headers = {"Authorization": f"Bearer {token_a}"}
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me == {"staff_id": world.coord_a, "role": "coordinator", "organisation_id": world.org_a, "via": "token"}
    with get_store(app).session() as s:
        row = s.query(ApiToken).one()
        assert row.token_hash != token_a and token_a not in row.token_hash
        assert row.last_used_at is not None
        row.revoked_at = utcnow()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_made_up_token_is_refused(client: FlaskClient, world: World) -> None:
    resp = client.get("/api/v1/groups", headers={"Authorization": "Bearer itk_madeupmadeupmadeupmadeup"})
    assert resp.status_code == 401


def test_passwords_are_stored_as_scrypt_hashes(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "scrypt")
    hashed = accounts.hash_password("a long enough password")
    assert hashed.startswith("scrypt:")
    assert check_password_hash(hashed, "a long enough password")
    with pytest.raises(accounts.AccountError):
        accounts.hash_password("short")


@pytest.fixture
def csrf_app(db_url: str) -> Flask:
    from integrator.store.migrate import upgrade

    upgrade(db_url)
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "k" * 32})


def _csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field in the form"
    return m.group(1)


def test_forms_without_the_csrf_token_are_refused(csrf_app: Flask) -> None:
    world = __import__("tests.web.world", fromlist=["build_world"]).build_world(get_store(csrf_app))
    client = csrf_app.test_client()
    assert client.post("/login", data={"email": EMAILS["coord_a"], "password": PASSWORD}).status_code == 400
    token = _csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": EMAILS["coord_a"], "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    # A forged cross-site correction has no token: refused, nothing changed.
    resp = client.post(f"/attendance/{world.attendance_a}/correct", data={"status": "present", "reason": "x"})
    assert resp.status_code == 400
    page = client.get(f"/groups/{world.group_a}/attendance?week=2026-W48").get_data(as_text=True)
    resp = client.post(f"/attendance/{world.attendance_a}/correct",
                       data={"status": "present", "reason": "Osallistui puhelimitse", "csrf_token": _csrf_from(page)})
    assert resp.status_code == 302
    # Bearer-token automation needs no CSRF token: a browser never sends the header by itself.
    api_token = accounts.create_token(get_store(csrf_app), world.coord_a, "t")
    resp = client.post(f"/api/v1/attendance/{world.attendance_a}/correction",
                       json={"status": "excused", "reason": "Sairas"},
                       headers={"Authorization": f"Bearer {api_token}"})
    assert resp.status_code == 200


def test_session_cookie_is_secure_httponly_and_samesite_outside_tests(db_url: str) -> None:
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "k" * 32})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    local = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "k" * 32, "INSECURE_HTTP": True})
    assert local.config["SESSION_COOKIE_SECURE"] is False


def test_the_app_refuses_to_start_without_a_secret_key(db_url: str) -> None:
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": db_url})


def test_every_answer_carries_the_security_headers(client: FlaskClient, as_coord_a: FlaskClient) -> None:
    for resp in (client.get("/healthz"), client.get("/login"), as_coord_a.get("/")):
        h = resp.headers
        assert "default-src 'self'" in h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "no-referrer"
    assert as_coord_a.get("/").headers["Cache-Control"] == "no-store"


def test_pages_load_nothing_from_outside(as_coord_a: FlaskClient) -> None:
    html = as_coord_a.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_an_anonymous_post_is_turned_away_before_its_form_is_read(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    assert client.post("/api/v1/attendance/1/correction", json={}).status_code == 401
    assert client.post("/weekly-setup/apply", data={}).headers["Location"].startswith("/login")


def test_every_state_changing_route_refuses_a_session_post_without_the_csrf_token(csrf_app: Flask) -> None:
    """Every POST/PUT/PATCH/DELETE the app serves (read from its URL map, so a new route is
    included by itself), sent from a logged-in browser session without the token: 400, no change."""
    from sqlalchemy import func, select

    from integrator.store.models import AttendanceDay, AuditEvent, JobRun
    from tests.web.test_authorization import ROUTES
    from tests.web.world import build_world

    world = build_world(get_store(csrf_app))
    client = csrf_app.test_client()
    token = _csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": EMAILS["coord_a"], "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    by_rule = {(r.method, r.url(world).split("?")[0]): r for r in ROUTES.values()}

    def counts() -> tuple[int | None, int | None]:
        with get_store(csrf_app).session() as s:
            return s.scalar(select(func.count()).select_from(AuditEvent)), \
                s.scalar(select(func.count()).select_from(JobRun))

    before = counts()
    unsafe = sorted((m, r.rule) for r in csrf_app.url_map.iter_rules() for m in (r.methods or set())
                    if m in {"POST", "PUT", "PATCH", "DELETE"})
    assert ("POST", "/login") in unsafe and ("POST", "/attendance/<id:attendance_day_id>/correct") in unsafe
    for method, rule in unsafe:
        row = next((r for (m, url), r in by_rule.items()
                    if m == method and re.fullmatch(re.sub(r"<[^>]+>", r"[^/]+", rule), url)), None)
        # Public: the login form, and a client's survey page (its link's token is the key; a made-up one here).
        assert row is not None or rule in ("/login", "/kysely/<token>"), \
            f"{method} {rule} has no row in the authorization table"
        url = row.url(world) if row else rule.replace("<token>", "tunniste-jota-ei-ole")
        kwargs: dict[str, object] = {}
        if row and row.json:
            kwargs["json"] = row.json(world)
        if row and row.form:
            kwargs["data"] = row.form(world)
        resp = client.open(url, method=method, **kwargs)
        assert resp.status_code == 400, f"{method} {url} answered {resp.status_code} without a CSRF token"
    assert counts() == before, "a refused request changed something"
    with get_store(csrf_app).session() as s:
        ad = s.get(AttendanceDay, world.attendance_a)
        assert ad is not None and ad.override_status is None
    # Still logged in (the logout without a token was refused too).
    assert client.get("/api/v1/me").status_code == 200
