"""Staff users and API tokens in the browser, for admins (/admin/staff): what the pages show,
what each change writes and audits, and what they refuse (in Finnish, naming the field, with
nothing written)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from integrator.config import Settings
from integrator.domain.types import StaffRole
from integrator.store.models import ApiToken, AuditEvent, PeerGroup, StaffUser
from integrator.web import accounts
from integrator.web.context import SETTINGS_KEY, get_store
from tests.web.conftest import login
from tests.web.world import EMAILS, PASSWORD, World


def _counts(app: Flask) -> tuple[int, int, int]:
    with get_store(app).session() as s:
        return (s.scalar(select(func.count()).select_from(StaffUser)) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
                s.scalar(select(func.count()).select_from(ApiToken)) or 0)


def _events(app: Flask, action: str) -> list[AuditEvent]:
    with get_store(app).session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _user(app: Flask, staff_id: int) -> StaffUser:
    with get_store(app).session() as s:
        user = s.get(StaffUser, staff_id)
        assert user is not None
        return user


def _revealed(html: str, element: str) -> str | None:
    m = re.search(rf'<code class="secret" id="{element}">([^<]+)</code>', html)
    return m.group(1) if m else None


def test_the_list_shows_the_organisations_staff_in_finnish_and_filters(app: Flask, as_admin: FlaskClient,
                                                                      world: World) -> None:
    html = as_admin.get("/admin/staff").get_data(as_text=True)
    row = re.search(rf'<tr id="staff-{world.coord_a}">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "Ohjaaja A" in row.group(1) and "ohjaaja" in row.group(1) and "Ryhmä ti-ryhma" in row.group(1)
    assert "käytössä" in row.group(1)
    admins = as_admin.get("/admin/staff?rooli=admin").get_data(as_text=True)
    assert f'id="staff-{world.admin_b}"' in admins and f'id="staff-{world.coord_a}"' not in admins
    accounts.deactivate(get_store(app), world.coord_b)
    gone = as_admin.get("/admin/staff?tila=pois").get_data(as_text=True)
    assert f'id="staff-{world.coord_b}"' in gone and f'id="staff-{world.coord_a}"' not in gone
    assert as_admin.get("/admin/staff?tila=x").status_code == 400
    assert "rooli:" in as_admin.get("/admin/staff?rooli=boss").get_data(as_text=True)


def test_an_organisations_admin_sees_only_their_own_staff(app: Flask, world: World) -> None:
    html = login(app.test_client(), "admin_b").get("/admin/staff").get_data(as_text=True)
    assert f'id="staff-{world.admin_b}"' in html
    for other in (world.coord_a, world.coord_b, world.admin_all):
        assert f'id="staff-{other}"' not in html


def test_the_last_sign_in_is_shown_when_known(app: Flask, as_admin: FlaskClient, as_coord_a: FlaskClient,
                                             world: World) -> None:
    html = as_admin.get(f"/admin/staff/{world.coord_b}").get_data(as_text=True)
    assert "ei tiedossa" in html
    html = as_admin.get(f"/admin/staff/{world.coord_a}").get_data(as_text=True)
    assert re.search(r"<dt>Viimeksi kirjautunut</dt><dd>\w\w \d+\.\d+\.\d{4} klo \d+\.\d\d</dd>", html)


def test_an_added_coordinator_gets_an_initial_password_shown_once_and_their_group(
        app: Flask, as_admin: FlaskClient, world: World) -> None:
    resp = as_admin.post("/admin/staff", data={"organisation_id": str(world.org_a), "name": "Uusi Ohjaaja",
                                                 "email": "Uusi.Ohjaaja@example.fi", "role": "coordinator",
                                                 "group_id": str(world.group_b)})
    assert resp.status_code == 302
    page = as_admin.get(resp.headers["Location"]).get_data(as_text=True)
    password = _revealed(page, "new-password")
    assert password is not None and len(password) >= accounts.MIN_PASSWORD_LENGTH
    assert _revealed(as_admin.get(resp.headers["Location"]).get_data(as_text=True), "new-password") is None
    assert login_works(app, "Uusi.Ohjaaja@example.fi", password)
    with get_store(app).session() as s:
        new = s.scalar(select(StaffUser).where(StaffUser.email == "Uusi.Ohjaaja@example.fi"))
        assert new is not None and new.role is StaffRole.COORDINATOR and new.organisation_id == world.org_a
        assert password not in (new.password_hash or "")
        group = s.get(PeerGroup, world.group_b)
        assert group is not None and group.coordinator_id == new.id
    [event] = _events(app, "staff.add")
    assert event.actor == f"staff:{world.admin_all}" and event.entity_id == str(new.id)
    assert event.details["groups"] == ["to-ryhma"] and event.details["taken_from"] == {"to-ryhma": f"staff:{world.coord_b}"}
    assert password not in json.dumps(event.details) and "Uusi" not in json.dumps(event.details)


def login_works(app: Flask, email: str, password: str) -> bool:
    return app.test_client().post("/login", data={"email": email, "password": password}).status_code == 302


@pytest.mark.parametrize(("form", "field", "status"), [
    ({"email": "ei-osoite"}, "sähköposti", 400),
    ({"email": "OHJAAJA.A@example.fi"}, "sähköposti", 409),  # coordinator A's address, in other letters
    ({"name": "   "}, "nimi", 400),
    ({"role": "boss"}, "rooli", 400),
    ({"organisation_id": ""}, "organisaatio", 400),
    ({"group_id": "abc"}, "ryhmät", 400),
])
def test_a_bad_new_staff_user_is_refused_naming_the_field_and_nothing_is_written(
        app: Flask, as_admin: FlaskClient, world: World, form: dict[str, str], field: str, status: int) -> None:
    before = _counts(app)
    data = {"organisation_id": str(world.org_a), "name": "Uusi", "email": "uusi@example.fi",
            "role": "coordinator", "group_id": str(world.group_b), **form}
    resp = as_admin.post("/admin/staff", data=data)
    assert resp.status_code == status
    assert f"{field}:" in resp.get_data(as_text=True)
    assert _counts(app) == before
    with get_store(app).session() as s:
        assert s.get(PeerGroup, world.group_b).coordinator_id == world.coord_b  # type: ignore[union-attr]


def test_a_group_of_another_organisation_is_refused_when_adding(app: Flask, as_admin: FlaskClient,
                                                                world: World) -> None:
    before = _counts(app)
    resp = as_admin.post("/admin/staff", data={"organisation_id": str(world.org_a), "name": "Uusi",
                                                "email": "uusi@example.fi", "role": "coordinator",
                                                "group_id": str(world.group_c)})
    assert resp.status_code == 400 and "ryhmät:" in resp.get_data(as_text=True)
    assert _counts(app) == before


def test_a_role_and_group_change_is_previewed_then_applied_and_audited(app: Flask, as_admin: FlaskClient,
                                                                       world: World) -> None:
    url = f"/admin/staff/{world.coord_a}/edit"
    form = {"role": "admin", "group_id": [str(world.group_a), str(world.group_b)]}
    preview = as_admin.post(url, data=form)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Esikatselu" in text
    assert "ohjaaja → ylläpitäjä" in text and "Ryhmä to-ryhma siirtyy ohjaajalta Ohjaaja B" in text
    assert _user(app, world.coord_a).role is StaffRole.COORDINATOR and not _events(app, "staff.change")
    assert as_admin.post(url, data={**form, "confirm": "yes"}).status_code == 302
    assert _user(app, world.coord_a).role is StaffRole.ADMIN
    [event] = _events(app, "staff.change")
    assert event.details == {"role": {"from": "coordinator", "to": "admin"},
                             "groups": {"from": ["ti-ryhma"], "to": ["ti-ryhma", "to-ryhma"]},
                             "taken_from": {"to-ryhma": f"staff:{world.coord_b}"}}
    # Reversible: back to coordinator with the same form.
    assert as_admin.post(url, data={"role": "coordinator", "group_id": form["group_id"], "confirm": "yes"}).status_code == 302
    assert _user(app, world.coord_a).role is StaffRole.COORDINATOR


def test_a_group_is_never_left_without_a_coordinator(app: Flask, as_admin: FlaskClient, world: World) -> None:
    before = _counts(app)
    resp = as_admin.post(f"/admin/staff/{world.coord_a}/edit", data={"role": "coordinator", "confirm": "yes"})
    assert resp.status_code == 400 and "ryhmät:" in resp.get_data(as_text=True)
    resp = as_admin.post(f"/admin/staff/{world.coord_a}/edit",
                         data={"role": "social_worker", "group_id": str(world.group_a), "confirm": "yes"})
    assert resp.status_code == 400 and "ryhmät:" in resp.get_data(as_text=True)
    assert _counts(app) == before and _user(app, world.coord_a).role is StaffRole.COORDINATOR


CONFIG = """\
organisations:
  - key: raisio
    name: Raisio
    staff:
      - {email: ohjaaja.a@example.fi, name: Ohjaaja A, role: coordinator}
    groups:
      - key: ti-ryhma
        name: Ryhmä ti-ryhma
        coordinator: ohjaaja.a@example.fi
        weekdays: [tuesday]
        meeting: {start: "10:00", end: "12:00", provider: teams}
"""


def test_what_the_config_file_decides_is_not_changed_here(app: Flask, as_admin: FlaskClient, world: World) -> None:
    # The file as loaded (the loader's tenant checks need vendor sections this test has no use for).
    app.extensions[SETTINGS_KEY] = Settings.model_validate(yaml.safe_load(CONFIG))
    before = _counts(app)
    role = as_admin.post(f"/admin/staff/{world.coord_a}/edit",
                         data={"role": "admin", "group_id": str(world.group_a), "confirm": "yes"})
    assert role.status_code == 409 and "config apply" in role.get_data(as_text=True)
    group = as_admin.post(f"/admin/staff/{world.coord_b}/edit",
                          data={"role": "coordinator", "group_id": [str(world.group_a), str(world.group_b)],
                                "confirm": "yes"})
    assert group.status_code == 409 and "ryhmän ti-ryhma ohjaaja on asetustiedostossa" in group.get_data(as_text=True)
    assert _counts(app) == before
    page = as_admin.get(f"/admin/staff/{world.coord_a}").get_data(as_text=True)
    assert "Rooli on asetustiedostossa" in page


def test_deactivation_ends_sessions_and_tokens_and_reactivation_lets_them_back(
        app: Flask, as_admin: FlaskClient, as_coord_a: FlaskClient, world: World, token_a: str) -> None:
    url = f"/admin/staff/{world.coord_a}/deactivate"
    unconfirmed = as_admin.post(url, data={})
    assert unconfirmed.status_code == 400 and "vahvistus:" in unconfirmed.get_data(as_text=True)
    assert as_coord_a.get("/api/v1/me").status_code == 200
    assert as_admin.post(url, data={"confirm": "yes"}).status_code == 302
    assert as_coord_a.get("/api/v1/me").status_code == 401
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token_a}"}).status_code == 401
    assert not login_works(app, EMAILS["coord_a"], PASSWORD)
    [event] = _events(app, "staff.deactivate")
    assert event.details == {"active": {"from": True, "to": False}, "tokens_revoked": 1, "sessions_ended": True}
    assert as_admin.post(url, data={"confirm": "yes"}).status_code == 409
    assert as_admin.post(f"/admin/staff/{world.coord_a}/reactivate").status_code == 302
    assert login_works(app, EMAILS["coord_a"], PASSWORD)
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token_a}"}).status_code == 401
    assert _events(app, "staff.reactivate")[0].details == {"active": {"from": False, "to": True}}


def test_the_last_admin_can_be_neither_demoted_nor_deactivated(app: Flask, as_admin: FlaskClient,
                                                               world: World) -> None:
    as_b = login(app.test_client(), "admin_b")
    # The only admin of every organisation may not leave; other organisations' admins do not count.
    before = _counts(app)
    alone = as_admin.post(f"/admin/staff/{world.admin_all}/deactivate", data={"confirm": "yes"})
    assert alone.status_code == 409 and "koko asennuksessa" in alone.get_data(as_text=True)
    assert _counts(app) == before
    # Without an admin of every organisation, admin B is Naantali's last admin.
    accounts.deactivate(get_store(app), world.admin_all)
    before = _counts(app)
    demote = as_b.post(f"/admin/staff/{world.admin_b}/edit", data={"role": "coordinator", "confirm": "yes"})
    assert demote.status_code == 409 and "rooli:" in demote.get_data(as_text=True)
    assert "yhtään aktiivista ylläpitäjää" in demote.get_data(as_text=True)
    leave = as_b.post(f"/admin/staff/{world.admin_b}/deactivate", data={"confirm": "yes"})
    assert leave.status_code == 409 and "tila:" in leave.get_data(as_text=True)
    assert _counts(app) == before and _user(app, world.admin_b).active
    # With a second Naantali admin, admin B may step down; their own session ends with it.
    as_b.post("/admin/staff", data={"name": "Toinen", "email": "toinen@example.fi", "role": "admin"})
    assert as_b.post(f"/admin/staff/{world.admin_b}/deactivate", data={"confirm": "yes"}).status_code == 302
    assert as_b.get("/admin/staff").status_code == 302


def test_a_password_reset_shows_a_new_password_once_and_ends_the_sessions(
        app: Flask, as_admin: FlaskClient, as_coord_a: FlaskClient, world: World) -> None:
    resp = as_admin.post(f"/admin/staff/{world.coord_a}/password", data={"confirm": "yes"})
    assert resp.status_code == 302
    password = _revealed(as_admin.get(resp.headers["Location"]).get_data(as_text=True), "new-password")
    assert password is not None
    assert as_coord_a.get("/api/v1/me").status_code == 401
    assert not login_works(app, EMAILS["coord_a"], PASSWORD) and login_works(app, EMAILS["coord_a"], password)
    [event] = _events(app, "staff.password_reset")
    assert password not in json.dumps(event.details)
    sw = accounts.add_staff(get_store(app), email="sos@example.fi", name="Sos", role="social_worker",
                            org_key="raisio", password=None)
    refused = as_admin.post(f"/admin/staff/{sw}/password", data={"confirm": "yes"})
    assert refused.status_code == 400 and "salasana:" in refused.get_data(as_text=True)


def test_a_token_is_shown_once_works_until_revoked_and_only_its_hash_is_kept(
        app: Flask, as_admin: FlaskClient, world: World) -> None:
    resp = as_admin.post(f"/admin/staff/{world.coord_a}/tokens", data={"name": "prometheus"})
    page_url = resp.headers["Location"]
    token = _revealed(as_admin.get(page_url).get_data(as_text=True), "new-token")
    assert token is not None and token.startswith(accounts.TOKEN_PREFIX)
    page = as_admin.get(page_url).get_data(as_text=True)
    assert token not in page and "prometheus" in page and "ei käytetty" in page
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/me", headers=bearer).get_json()["staff_id"] == world.coord_a
    assert "ei käytetty" not in as_admin.get(page_url).get_data(as_text=True)
    with get_store(app).session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.name == "prometheus"))
        assert row is not None and row.token_hash == accounts.token_hash(token)
        token_id = row.id
    assert as_admin.post(f"/admin/staff/{world.coord_a}/tokens/{token_id}/revoke").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    assert "peruttu" in as_admin.get(page_url).get_data(as_text=True)
    assert as_admin.post(f"/admin/staff/{world.coord_a}/tokens/{token_id}/revoke").status_code == 409
    # Another user's page does not revoke this user's token.
    assert as_admin.post(f"/admin/staff/{world.coord_b}/tokens/{token_id}/revoke").status_code == 404
    events = _events(app, "token.create") + _events(app, "token.revoke")
    assert [e.details["name"] for e in events] == ["prometheus", "prometheus"]
    assert all(token not in json.dumps(e.details) for e in events)


def test_a_token_without_a_name_is_refused(app: Flask, as_admin: FlaskClient, world: World) -> None:
    before = _counts(app)
    resp = as_admin.post(f"/admin/staff/{world.coord_a}/tokens", data={"name": "  "})
    assert resp.status_code == 400 and "tunnuksen nimi:" in resp.get_data(as_text=True)
    assert _counts(app) == before


def test_another_organisations_admin_changes_nothing(app: Flask, world: World, token_a: str) -> None:
    as_b = login(app.test_client(), "admin_b")
    before = _counts(app)
    for path in ("deactivate", "password", "tokens", "edit"):
        resp = as_b.post(f"/admin/staff/{world.coord_a}/{path}",
                         data={"confirm": "yes", "name": "x", "role": "admin"})
        assert resp.status_code == 404
    assert _counts(app) == before and _user(app, world.coord_a).active
