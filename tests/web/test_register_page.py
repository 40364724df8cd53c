"""The register page (a group's attendance grid) on the server side: evidence in short Finnish,
a client's row of decisions saved with one reason or not at all, advance decisions, the month's
totals from the register, the cell's history; unmatched attendees without a preselected client,
"ei asiakas" and the undo of a mapping that re-evaluates the day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from integrator.domain.types import AttendanceStatus
from integrator.jobs.attendance.evaluate import reevaluate_work_days
from integrator.store.models import (
    AttendanceDay,
    AuditEvent,
    ExternalResource,
    IdentityMapping,
    MeetingAttendance,
    Period,
)
from integrator.web.context import get_store
from tests.web.world import WEEK, World

RULES = {"attendance_min_minutes": 30, "task_return_counts_as_present": True, "daily_compensation_eur": 12.5,
         "day_return_deadline": "23:59"}


def page(c: FlaskClient, world: World, **args: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"week": WEEK, **args}.items())
    resp = c.get(f"/groups/{world.group_a}/attendance?{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.get_data(as_text=True)


def cell(html: str, world: World) -> str:
    start = html.index(f'id="cell-{world.client_a}-{world.work_day_a}"')
    return html[start:html.index("</td>", start)]


@pytest.fixture
def briefed(app: Flask, world: World) -> World:
    """K-0001's period briefed, so Tuesday 24.11. is a day they are expected on; the day absent
    with its evidence (a meeting report in, 12 minutes, a late return)."""
    with get_store(app).session() as s:
        for p in s.scalars(select(Period).where(Period.client_id == world.client_a)):
            p.briefing_recorded_at = datetime(2026, 8, 31, tzinfo=UTC)
        ad = s.get(AttendanceDay, world.attendance_a)
        assert ad is not None
        ad.minutes = 12
        ad.evidence = {"meeting": {"report_available": True, "minutes": 12},
                       "returns": [{"source": "classroom", "at": "2026-11-24T22:30:00+00:00", "late": True}],
                       "rules": RULES, "reasons": []}
    return world


def audits(app: Flask, action: str = "attendance.override") -> int:
    with get_store(app).session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0


def test_a_cell_shows_the_status_and_its_evidence_in_short_finnish(as_coord_a: FlaskClient, briefed: World) -> None:
    html = cell(page(as_coord_a, briefed), briefed)
    assert "Poissa" in html
    assert "kokouksessa 12/30 min" in html
    assert "palautus ke 0.30 myöhässä" in html  # 22.30 UTC is past midnight in Helsinki
    assert "<select" not in html and "<form" not in html  # a read view: editing opens one row


def test_a_row_without_a_reason_is_refused_in_finnish_and_nothing_is_written(
        app: Flask, as_coord_a: FlaskClient, briefed: World) -> None:
    html = page(as_coord_a, briefed, edit=str(briefed.client_a))
    form = html[html.index('id="edit"'):html.index("</form>", html.index('id="edit"'))]
    assert '<textarea id="reason" name="reason"' in form  # Enter in a textarea is a new line, never a submit
    assert form.index('<option value="">ei muutosta</option>') < form.index('value="present"')
    assert ' selected' not in form.split("<select", 1)[1]  # no status is chosen by default
    resp = as_coord_a.post(f"/groups/{briefed.group_a}/attendance/clients/{briefed.client_a}",
                           data={f"day-{briefed.work_day_a}": "excused", "reason": "  ", "week": WEEK})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "Mitään ei tallennettu" in body and "syy puuttuu" in body
    assert 'value="excused" selected' in body  # the person's choice is still there to fix
    assert audits(app) == 0


def test_a_form_without_a_chosen_status_changes_nothing(app: Flask, as_coord_a: FlaskClient,
                                                       briefed: World) -> None:
    resp = as_coord_a.post(f"/groups/{briefed.group_a}/attendance/clients/{briefed.client_a}",
                           data={f"day-{briefed.work_day_a}": "", "reason": "Sairas", "week": WEEK},
                           follow_redirects=True)
    assert "Ei muutoksia: valitse ainakin yhdelle päivälle uusi tila." in resp.get_data(as_text=True)
    assert audits(app) == 0


def test_a_coordinator_of_another_group_is_refused(app: Flask, as_coord_b: FlaskClient, briefed: World) -> None:
    resp = as_coord_b.post(f"/groups/{briefed.group_a}/attendance/clients/{briefed.client_a}",
                           data={f"day-{briefed.work_day_a}": "excused", "reason": "Sairas", "week": WEEK})
    assert resp.status_code == 404
    # Their own group's URL with group A's client and day: the client is not theirs either.
    resp = as_coord_b.post(f"/groups/{briefed.group_b}/attendance/clients/{briefed.client_a}",
                           data={f"day-{briefed.work_day_a}": "excused", "reason": "Sairas", "week": WEEK})
    assert resp.status_code == 404
    assert audits(app) == 0


def test_a_decision_saved_shows_in_the_cell_with_its_history_and_reverts(
        app: Flask, as_coord_a: FlaskClient, briefed: World) -> None:
    url = f"/groups/{briefed.group_a}/attendance/clients/{briefed.client_a}"
    resp = as_coord_a.post(url, data={f"day-{briefed.work_day_a}": "excused", "reason": "Sairas", "week": WEEK},
                           follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Tallennettu: 1 muutos." in html
    c = cell(html, briefed)
    assert "Poissa, hyväksytty syy" in c and "korjattu: Sairas (laskettu: Poissa)" in c
    assert "<details" in c and "Ohjaaja A: päätös, poissa → perusteltu poissaolo. Syy: Sairas" in c
    edit = page(as_coord_a, briefed, edit=str(briefed.client_a))
    assert 'value="revert">Palauta laskettu (Poissa)</option>' in edit
    resp = as_coord_a.post(url, data={f"day-{briefed.work_day_a}": "revert", "reason": "Väärä päivä",
                                      "week": WEEK}, follow_redirects=True)
    c = cell(resp.get_data(as_text=True), briefed)
    assert '<span class="status s-absent">Poissa</span>' in c
    assert "palautettu laskettuun, perusteltu poissaolo → poissa. Syy: Väärä päivä" in c
    with get_store(app).session() as s:
        day = s.get(AttendanceDay, briefed.attendance_a)
        assert day is not None and day.override_status is None


def test_a_future_day_takes_an_advance_decision_but_never_an_absence(
        app: Flask, as_coord_a: FlaskClient, briefed: World) -> None:
    app.config["CLOCK"] = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the Friday before
    with get_store(app).session() as s:  # not evaluated yet: no row
        s.delete(s.get(AttendanceDay, briefed.attendance_a))
    html = page(as_coord_a, briefed, edit=str(briefed.client_a))
    assert "Tulossa" in cell(html, briefed)
    select_html = html[html.index(f'name="day-{briefed.work_day_a}"'):]
    select_html = select_html[:select_html.index("</select>")]
    assert 'value="excused"' in select_html and 'value="present"' in select_html
    assert 'value="absent"' not in select_html
    url = f"/groups/{briefed.group_a}/attendance/clients/{briefed.client_a}"
    refused = as_coord_a.post(url, data={f"day-{briefed.work_day_a}": "absent", "reason": "x", "week": WEEK})
    assert refused.status_code == 400 and "tätä valintaa ei voi tehdä" in refused.get_data(as_text=True)
    as_coord_a.post(url, data={f"day-{briefed.work_day_a}": "excused", "reason": "Lääkäri", "week": WEEK})
    with get_store(app).session() as s:
        day = s.scalar(select(AttendanceDay).where(AttendanceDay.client_id == briefed.client_a))
        assert day is not None and day.override_status is AttendanceStatus.EXCUSED
        assert day.override_reason == "Lääkäri"


def test_the_month_totals_are_the_registers(app: Flask, configured: object, as_coord_a: FlaskClient,
                                             briefed: World) -> None:
    with get_store(app).session() as s:
        day = s.get(AttendanceDay, briefed.attendance_a)
        assert day is not None
        day.computed_status = AttendanceStatus.PRESENT
    html = page(as_coord_a, briefed, month="2026-11")
    row = html[html.index(f'id="row-{briefed.client_a}"'):]
    row = row[:row.index("</tr>")]
    # One paid day at the rate the day was evaluated with (12.5 €), 100 % of the decided days.
    assert '<td class="num">1</td>' in row and '<td class="num">12,50</td>' in row
    assert '<td class="num">100 %</td>' in row


def test_unmatched_attendees_show_date_and_minutes_and_preselect_nobody(as_coord_a: FlaskClient,
                                                                        world: World) -> None:
    html = page(as_coord_a, world)
    section = html[html.index('id="unmatched"'):]
    assert "1 kirjaus:" in section and "ti 24.11.2026 60 min" in section
    assert '<option value="" selected>– valitse asiakas –</option>' in section
    resp = as_coord_a.post(f"/groups/{world.group_a}/identity-mappings",
                           data={"source": "teams", "participant_key": "phone:+358401234567", "client_id": "",
                                 "week": WEEK}, follow_redirects=True)
    assert "Valitse asiakas." in resp.get_data(as_text=True)


def test_not_a_client_leaves_the_list_and_can_be_undone(app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    key = {"source": "teams", "participant_key": "phone:+358401234567", "week": WEEK}
    resp = as_coord_a.post(f"/groups/{world.group_a}/not-a-client", data=key, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Merkitty: ei asiakas." in html and 'id="unmatched"' not in html
    assert "<strong>ei asiakas</strong>" in html
    with get_store(app).session() as s:
        marker = s.scalar(select(ExternalResource).where(ExternalResource.kind == "not_a_client"))
        assert marker is not None and "+358" not in marker.local_key  # the key is hashed
    assert audits(app, "identity.not_a_client") == 1
    resp = as_coord_a.post(f"/groups/{world.group_a}/not-a-client/undo", data=key, follow_redirects=True)
    assert 'id="unmatched"' in resp.get_data(as_text=True)
    assert audits(app, "identity.not_a_client_removed") == 1


def test_not_a_client_in_another_coordinators_group_is_refused(as_coord_b: FlaskClient, world: World) -> None:
    resp = as_coord_b.post(f"/groups/{world.group_a}/not-a-client",
                           data={"source": "teams", "participant_key": "phone:+358401234567"})
    assert resp.status_code == 404


def test_undoing_a_mapping_re_evaluates_the_day_back(app: Flask, as_coord_a: FlaskClient, briefed: World) -> None:
    store = get_store(app)
    reevaluate_work_days(store, briefed.org_a, [briefed.work_day_a], rules=None)
    with store.session() as s:
        before = s.scalars(select(AttendanceDay).where(AttendanceDay.client_id == briefed.client_a)).one().status
    assert before is not AttendanceStatus.PRESENT
    key = {"source": "teams", "participant_key": "phone:+358401234567", "week": WEEK}
    as_coord_a.post(f"/groups/{briefed.group_a}/identity-mappings", data={**key, "client_id": str(briefed.client_a)})
    with store.session() as s:
        assert s.scalars(select(AttendanceDay).where(
            AttendanceDay.client_id == briefed.client_a)).one().status is AttendanceStatus.PRESENT
    html = page(as_coord_a, briefed)
    assert "Peru yhdistäminen" in html[html.index('id="mapped"'):]
    resp = as_coord_a.post(f"/groups/{briefed.group_a}/identity-mappings/undo",
                           data={**key, "client_id": str(briefed.client_a)}, follow_redirects=True)
    assert "Yhdistäminen peruttu (1 kirjaus)" in resp.get_data(as_text=True)
    with store.session() as s:
        assert s.scalars(select(AttendanceDay).where(
            AttendanceDay.client_id == briefed.client_a)).one().status is before
        record = s.scalars(select(MeetingAttendance)).one()
        assert record.client_id is None
        # The remembered mapping of this full phone number is gone: the next sync will not re-attach it.
        assert s.scalar(select(func.count()).select_from(IdentityMapping)) == 0
    assert audits(app, "identity.unmap") == 1
    assert 'id="unmatched"' in page(as_coord_a, briefed)  # listed again


def test_undoing_another_coordinators_mapping_is_refused(as_coord_a: FlaskClient, as_coord_b: FlaskClient,
                                                         briefed: World) -> None:
    key = {"source": "teams", "participant_key": "phone:+358401234567", "client_id": str(briefed.client_a)}
    as_coord_a.post(f"/groups/{briefed.group_a}/identity-mappings", data=key)
    assert as_coord_b.post(f"/groups/{briefed.group_a}/identity-mappings/undo", data=key).status_code == 404


def test_the_page_refuses_a_bad_month_in_finnish(as_coord_a: FlaskClient, world: World) -> None:
    resp = as_coord_a.get(f"/groups/{world.group_a}/attendance?month=2026-13")
    assert resp.status_code == 400 and "Kuukausi on annettava muodossa 2026-11." in resp.get_data(as_text=True)
    assert date(2026, 11, 24).isoweekday() == 2
