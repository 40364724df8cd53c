"""Corrections through the API and the register page: in advance, reverted, with the day's history,
and only by the coordinator of the client's group."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from integrator.store.models import AttendanceDay, AuditEvent, Period
from integrator.web.context import get_store
from tests.web.world import TUESDAY, WEEK, World

FRIDAY_BEFORE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def briefed(app: Flask, world: World) -> World:
    """The world's clients briefed (so expected on their Tuesdays), on the Friday before the week."""
    app.config["CLOCK"] = lambda: FRIDAY_BEFORE
    with get_store(app).session() as s:
        for p in s.scalars(select(Period)):
            p.briefing_recorded_at = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    return world


def _audits(app: Flask) -> int:
    with get_store(app).session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_sick_day_is_excused_in_advance_reverted_and_its_history_read(app: Flask, as_coord_a: FlaskClient,
                                                                          briefed: World) -> None:
    with get_store(app).session() as s:  # the day is not evaluated yet: no row
        s.delete(s.get(AttendanceDay, briefed.attendance_a))
    url = f"/api/v1/clients/{briefed.client_a}/attendance/{TUESDAY}"
    resp = as_coord_a.post(url, json={"status": "excused", "reason": "Lääkäriaika"})
    assert resp.status_code == 200, resp.get_json()
    assert {k: resp.get_json()[k] for k in ("client", "day", "status", "before", "computed_status", "changed")} == {
        "client": "K-0001", "day": "2026-11-24", "status": "excused", "before": None, "computed_status": "pending",
        "changed": True}
    audits = _audits(app)
    again = as_coord_a.post(url, json={"status": "excused", "reason": "Lääkäriaika"}).get_json()
    assert again["changed"] is False and _audits(app) == audits

    absent = as_coord_a.post(url, json={"status": "absent", "reason": "Ilmoitti jo"})
    assert absent.status_code == 409
    assert absent.get_json()["message"].startswith("status: poissaoloa ei voi merkitä etukäteen")

    back = as_coord_a.post(f"{url}/revert", json={"reason": "Aika siirtyi"})
    assert back.status_code == 200
    assert (back.get_json()["status"], back.get_json()["override_status"]) == ("pending", None)

    history = as_coord_a.get(f"{url}/history").get_json()
    assert [(h["action"], h["from"], h["to"], h["reason"], h["staff_name"]) for h in history] == [
        ("decided", None, "excused", "Lääkäriaika", "Ohjaaja A"),
        ("reverted", "excused", "pending", "Aika siirtyi", "Ohjaaja A")]


def test_a_coordinator_of_another_group_can_neither_correct_nor_read_the_day(app: Flask, as_coord_b: FlaskClient,
                                                                            briefed: World) -> None:
    url = f"/api/v1/clients/{briefed.client_a}/attendance/{TUESDAY}"
    assert as_coord_b.post(url, json={"status": "excused", "reason": "x"}).status_code == 404
    assert as_coord_b.post(f"{url}/revert", json={"reason": "x"}).status_code == 404
    assert as_coord_b.get(f"{url}/history").status_code == 404
    assert _audits(app) == 0


def test_a_day_the_client_is_not_expected_on_is_refused_naming_the_day(as_coord_a: FlaskClient,
                                                                       world: World) -> None:
    # The world's periods have no data-protection briefing: nobody is expected yet.
    resp = as_coord_a.post(f"/api/v1/clients/{world.client_a}/attendance/{TUESDAY}",
                           json={"status": "present", "reason": "Osallistui"})
    assert resp.status_code == 409  # well-formed, but the day cannot take it
    assert resp.get_json()["message"].startswith("day: ")
    wednesday = as_coord_a.post(f"/api/v1/clients/{world.client_a}/attendance/2026-11-25",
                                json={"status": "present", "reason": "Osallistui"})
    assert wednesday.status_code == 409 and "ei ole toimintapäivää" in wednesday.get_json()["message"]
    blank = as_coord_a.post(f"/api/v1/clients/{world.client_a}/attendance/{TUESDAY}",
                            json={"status": "present", "reason": "  "})
    assert blank.status_code == 400 and blank.get_json()["message"].startswith("reason: ")


# --- the register page ---------------------------------------------------------------------------


def test_enter_in_the_reason_field_records_nothing(app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    html = as_coord_a.get(f"/groups/{world.group_a}/attendance?week={WEEK}&edit={world.client_a}").get_data(
        as_text=True)
    form = html[html.index('id="edit"'):]
    form = form[:form.index("</form>")]
    # The reason is a textarea (Enter is a new line there, never a submit); each day's status comes
    # from a list whose first, chosen entry is "ei muutosta".
    assert '<textarea id="reason" name="reason"' in form and "<input name=\"reason\"" not in form
    assert '<option value="">ei muutosta</option>' in form and " selected" not in form
    resp = as_coord_a.post(f"/groups/{world.group_a}/attendance/clients/{world.client_a}",
                           data={"reason": "Sairas", "week": WEEK}, follow_redirects=True)
    assert "Ei muutoksia: valitse ainakin yhdelle päivälle uusi tila." in resp.get_data(as_text=True)
    assert _audits(app) == 0


def test_the_page_reverts_a_decision_and_lists_the_weeks_corrections(app: Flask, as_coord_a: FlaskClient,
                                                                      world: World) -> None:
    url = f"/groups/{world.group_a}/attendance/clients/{world.client_a}"
    as_coord_a.post(url, data={f"day-{world.work_day_a}": "excused", "reason": "Sairas", "week": WEEK})
    page = as_coord_a.get(f"/groups/{world.group_a}/attendance?week={WEEK}&edit={world.client_a}").get_data(
        as_text=True)
    assert 'value="revert">Palauta laskettu' in page
    resp = as_coord_a.post(url, data={f"day-{world.work_day_a}": "revert", "reason": "Väärä päivä", "week": WEEK},
                           follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Tallennettu: 1 muutos." in page
    edit = as_coord_a.get(f"/groups/{world.group_a}/attendance?week={WEEK}&edit={world.client_a}").get_data(
        as_text=True)
    assert 'value="revert"' not in edit  # nothing left to revert
    history = page[page.index('<section id="history">'):]
    assert "ti 24.11.2026 K-0001: poissa → perusteltu poissaolo" in history and "Sairas" in history
    assert "palautettu laskettuun, perusteltu poissaolo → poissa" in history and "Väärä päivä" in history
    assert "Ohjaaja A" in history
    with get_store(app).session() as s:
        day = s.get(AttendanceDay, world.attendance_a)
        assert day is not None and day.override_status is None
