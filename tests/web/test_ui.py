"""The pages: Finnish, scoped to the user, and the client import with its row errors."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.store.models import Client, Period
from integrator.web.context import get_store
from tests.web.world import WEEK, World


def test_dashboard_shows_this_weeks_groups_in_finnish(app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    with get_store(app).session() as s:  # briefed: K-0001 is expected on Tuesdays
        s.scalars(select(Period).where(Period.client_id == world.client_a)).one().briefing_recorded_at = \
            datetime(2026, 9, 1, tzinfo=UTC)
    html = as_coord_a.get(f"/?week={WEEK}").get_data(as_text=True)
    assert '<html lang="fi">' in html
    assert "Viikko 48 (23.–29.11.)" in html
    assert "Ryhmä ti-ryhma" in html and "K-0001" in html
    assert "to-ryhma" not in html
    assert "läsnä 0/1" in html  # per-day tally: K-0001 was absent, of the one client expected


def test_attendance_page_corrects_a_row_with_a_reason(as_coord_a: FlaskClient, world: World) -> None:
    html = as_coord_a.get(f"/groups/{world.group_a}/attendance?week={WEEK}&edit={world.client_a}").get_data(as_text=True)
    assert "K-0001" in html and 'name="reason"' in html
    url = f"/groups/{world.group_a}/attendance/clients/{world.client_a}"
    resp = as_coord_a.post(url, data={f"day-{world.work_day_a}": "present", "reason": ""})
    assert resp.status_code == 400 and "syy puuttuu" in resp.get_data(as_text=True)
    resp = as_coord_a.post(url, data={f"day-{world.work_day_a}": "present", "reason": "Osallistui puhelimitse",
                                      "week": WEEK}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Tallennettu: 1 muutos." in page
    assert "korjattu: Osallistui puhelimitse" in page


def test_job_page_explains_errors_in_words(as_coord_a: FlaskClient, world: World) -> None:
    html = as_coord_a.get(f"/jobs/{world.run_a}").get_data(as_text=True)
    assert "Valmis, osa epäonnistui" in html
    assert "Pysyvä virhe" in html and "K-0001" in html
    assert 'src="/static/progress.js"' in html


def test_job_page_lists_the_plan_of_a_preview(app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    from integrator.store.models import JobRun

    with get_store(app).session() as s:
        run = s.get(JobRun, world.run_a)
        assert run is not None
        run.plan = [{"op": "create", "resource": "course", "key": "course:ti-ryhma", "group": "ti-ryhma",
                     "client": None, "reason": "", "detail": {}}]
    html = as_coord_a.get(f"/jobs/{world.run_a}").get_data(as_text=True)
    assert "luodaan" in html and "kurssi" in html and "Ryhmä ti-ryhma" in html
    assert "course:ti-ryhma" not in html  # our internal keys stay out of the page


def test_weekly_setup_without_configuration_tells_the_coordinator(as_coord_a: FlaskClient, world: World) -> None:
    resp = as_coord_a.post("/weekly-setup/preview", data={"group_id": str(world.group_a), "week": WEEK},
                           follow_redirects=True)
    assert "Esikatselu ei onnistunut" in resp.get_data(as_text=True)


def test_unknown_page_is_a_finnish_404(as_coord_a: FlaskClient) -> None:
    resp = as_coord_a.get("/groups/999999")
    assert resp.status_code == 404
    assert "Ei löytynyt" in resp.get_data(as_text=True)


def _upload(client: FlaskClient, org_id: int, csv: str, action: str = "check") -> str:
    resp = client.post("/import", data={"organisation_id": str(org_id), "action": action,
                                        "file": (io.BytesIO(csv.encode()), "asiakkaat.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.get_data(as_text=True)


def test_client_import_shows_every_row_error_and_writes_nothing(app: Flask, as_admin: FlaskClient,
                                                                world: World) -> None:
    csv = ("code;display_name;group;service_model;period_start;period_end;weekdays\n"
           "K-0100;Uusi Asiakas;ti-ryhma;long_term;2026-12-01;2027-05-31;ti\n"
           "x;Toinen;ti-ryhma;long_term;2026-12-01;2027-05-31;ti\n"
           "K-0101;Kolmas;ti-ryhma;long_term;31.2.2026;2027-05-31;ti\n")
    html = _upload(as_admin, world.org_a, csv)
    assert "Tiedostossa on 2 virhettä" in html
    rows = re.findall(r"<tr><td>(\d+)</td>", html)
    assert rows == ["3", "4"]
    with get_store(app).session() as s:
        assert s.scalar(select(Client).where(Client.code == "K-0100")) is None


def test_client_import_checks_then_imports_the_same_file(app: Flask, as_admin: FlaskClient, world: World) -> None:
    csv = ("code;display_name;group;service_model;period_start;period_end;weekdays\n"
           "K-0100;Uusi Asiakas;ti-ryhma;long_term;2026-12-01;2027-05-31;ti\n")
    html = _upload(as_admin, world.org_a, csv)
    assert "Tiedosto on kunnossa" in html
    checked = re.search(r'name="checked_file" value="([^"]+)"', html)
    assert checked
    resp = as_admin.post("/import", data={"organisation_id": str(world.org_a), "action": "import",
                                          "checked_file": checked.group(1)})
    assert "Tuonti valmis" in resp.get_data(as_text=True)
    with get_store(app).session() as s:
        assert s.scalar(select(Client).where(Client.code == "K-0100")) is not None


def test_client_import_is_for_admins_and_their_own_organisation(app: Flask, as_coord_a: FlaskClient,
                                                                world: World) -> None:
    from tests.web.conftest import login

    assert as_coord_a.get("/import").status_code == 403
    admin_b = login(app.test_client(), "admin_b")
    resp = admin_b.post("/import", data={"organisation_id": str(world.org_a), "action": "check",
                                         "file": (io.BytesIO(b"code\nK-1\n"), "a.csv")},
                        content_type="multipart/form-data")
    assert resp.status_code == 404


def test_attendance_page_offers_to_map_an_unknown_phone_attendee(as_coord_a: FlaskClient, world: World) -> None:
    html = as_coord_a.get(f"/groups/{world.group_a}/attendance?week={WEEK}").get_data(as_text=True)
    assert "Tunnistamattomat osallistujat" in html and "(puhelimella)" in html
    resp = as_coord_a.post(f"/groups/{world.group_a}/identity-mappings",
                           data={"source": "teams", "participant_key": "phone:+358401234567",
                                 "client_id": str(world.client_a), "week": WEEK}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Osallistuja yhdistetty asiakkaaseen" in page
    assert "Tunnistamattomat osallistujat" not in page


def test_every_error_kind_the_jobs_record_has_its_own_explanation() -> None:
    from integrator.web.explain import EXPLANATIONS, explain_error

    for kind in ("retriable", "parked", "needsreauth", "reauth", "no_worker", "teams", "meet", "crash", "skipped"):
        assert explain_error({"kind": kind}) == EXPLANATIONS[kind]
    assert explain_error({"kind": "something new"}) == EXPLANATIONS["fatal"]
    assert "vastuutyöntekijää" in explain_error({"kind": "no_worker"})
