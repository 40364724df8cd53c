"""A login ends on the server: logout, a password change and a deactivation each stop every copy
of the session cookie, not just the browser that holds it."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.store.models import StaffSession, StaffUser
from integrator.store.types import utcnow
from integrator.web import accounts
from integrator.web.context import get_store
from tests.web.conftest import login
from tests.web.world import EMAILS, World

COOKIE = "integrator_session"


def _copy_of_the_cookie(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another client holding exactly the cookie the first one has now (as a thief would)."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def test_a_cookie_copied_before_logout_no_longer_works_after_it(app: Flask, as_coord_a: FlaskClient) -> None:
    thief = _copy_of_the_cookie(app, as_coord_a)
    assert thief.get("/api/v1/me").status_code == 200
    assert as_coord_a.post("/logout").status_code == 302
    assert thief.get("/api/v1/me").status_code == 401
    resp = thief.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_a_password_change_ends_every_session_of_the_user(app: Flask, as_coord_a: FlaskClient, as_coord_b: FlaskClient,
                                                          world: World) -> None:
    thief = _copy_of_the_cookie(app, as_coord_a)
    accounts.set_password(get_store(app), world.coord_a, "a brand new password")
    assert as_coord_a.get("/api/v1/me").status_code == 401
    assert thief.get("/api/v1/me").status_code == 401
    assert as_coord_b.get("/api/v1/me").status_code == 200  # someone else's login is untouched
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": EMAILS["coord_a"], "password": "a brand new password"}).status_code == 302
    assert fresh.get("/api/v1/me").status_code == 200


def test_deactivation_ends_the_session_and_reactivation_does_not_revive_it(app: Flask, as_coord_a: FlaskClient,
                                                                           world: World) -> None:
    thief = _copy_of_the_cookie(app, as_coord_a)
    store = get_store(app)
    accounts.deactivate(store, world.coord_a)
    with store.session() as s:
        rows = list(s.scalars(select(StaffSession).where(StaffSession.staff_user_id == world.coord_a)))
        assert rows and all(r.revoked_at is not None for r in rows)
        s.get_one(StaffUser, world.coord_a).active = True
    assert thief.get("/api/v1/me").status_code == 401
    assert as_coord_a.get("/api/v1/me").status_code == 401


def test_the_cookie_holds_no_user_id_and_the_store_no_session_id(app: Flask, client: FlaskClient,
                                                                  world: World) -> None:
    login(client, "coord_a")
    with client.session_transaction() as sess:
        assert "staff_id" not in sess
        session_id = sess["sid"]
    with get_store(app).session() as s:
        row = s.scalars(select(StaffSession)).one()
        assert row.id_hash != session_id and row.id_hash == accounts.token_hash(session_id)
        assert timedelta(hours=7) < row.expires_at - utcnow() <= timedelta(hours=8)


def test_an_expired_session_is_refused_even_with_a_valid_cookie(app: Flask, as_coord_a: FlaskClient) -> None:
    with get_store(app).session() as s:
        for row in s.scalars(select(StaffSession)):
            row.expires_at = utcnow() - timedelta(seconds=1)
    assert as_coord_a.get("/api/v1/me").status_code == 401
