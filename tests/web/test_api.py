"""The JSON API as a coordinator uses it, and the OpenAPI document that describes it."""

from __future__ import annotations

import io
import re
from csv import DictReader
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.store.models import AuditEvent
from integrator.web.context import get_store
from tests.web.world import WEEK, World


def test_attendance_grid_lists_the_groups_clients_by_code_without_emails(as_coord_a: FlaskClient,
                                                                          world: World) -> None:
    grid = as_coord_a.get(f"/api/v1/groups/{world.group_a}/attendance?week={WEEK}").get_json()
    assert [d["day"] for d in grid["work_days"]] == ["2026-11-24"]
    assert [r["client"]["code"] for r in grid["rows"]] == ["K-0001"]
    cell = grid["rows"][0]["days"][0]
    assert cell["status"] == "absent" and cell["override_status"] is None
    assert "@" not in str(grid)


def test_a_correction_with_reason_wins_and_is_audited(app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    resp = as_coord_a.post(f"/api/v1/attendance/{world.attendance_a}/correction",
                           json={"status": "excused", "reason": "Sairas"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "excused"
    assert resp.get_json()["computed_status"] == "absent"
    with get_store(app).session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.entity == "attendance_day")).one()
        assert event.actor == f"staff:{world.coord_a}"
        assert event.details["reason"] == "Sairas"


def test_a_correction_needs_a_known_status_and_a_reason(as_coord_a: FlaskClient, world: World) -> None:
    url = f"/api/v1/attendance/{world.attendance_a}/correction"
    assert as_coord_a.post(url, json={"status": "excused", "reason": "  "}).status_code == 400
    assert as_coord_a.post(url, json={"status": "pending", "reason": "x"}).status_code == 400
    assert as_coord_a.post(url, data="not json", content_type="application/json").status_code == 400


def test_a_bad_week_is_a_400_with_the_expected_form(as_coord_a: FlaskClient, world: World) -> None:
    resp = as_coord_a.get(f"/api/v1/groups/{world.group_a}/attendance?week=2026-W60")
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "bad_request"


def test_job_runs_show_progress_and_errors_of_own_groups_only(as_coord_a: FlaskClient, world: World) -> None:
    runs = as_coord_a.get("/api/v1/jobs").get_json()
    assert [r["id"] for r in runs] == [world.run_org, world.run_a]
    run = as_coord_a.get(f"/api/v1/jobs/{world.run_a}").get_json()
    assert run["status"] == "partial"
    assert run["errors"] == [{"item": "K-0001", "error": "403 forbidden", "kind": "fatal"}]


def test_register_downloads_as_csv_and_xlsx(as_coord_a: FlaskClient, world: World, configured: Path) -> None:
    csv = as_coord_a.get(f"/api/v1/groups/{world.group_a}/register?month=2026-11&format=csv")
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    assert "K-0001" in csv.get_data(as_text=True)
    assert 'filename="lasnaolot-ti-ryhma-2026-11.csv"' in csv.headers["Content-Disposition"]
    xlsx = as_coord_a.get(f"/api/v1/groups/{world.group_a}/register?month=2026-11&format=xlsx")
    assert xlsx.status_code == 200
    assert xlsx.data[:2] == b"PK"  # a zip container, as every XLSX file is


def test_the_register_is_paid_at_the_organisations_configured_rate(app: Flask, as_coord_a: FlaskClient,
                                                                    world: World, configured: Path) -> None:
    app.config["CLOCK"] = lambda: datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    fixed = as_coord_a.post(f"/api/v1/attendance/{world.attendance_a}/correction",
                            json={"status": "present", "reason": "Palautti tehtävän sähköpostilla"})
    assert fixed.status_code == 200, fixed.get_json()
    csv = as_coord_a.get(f"/api/v1/groups/{world.group_a}/register?month=2026-11&format=csv")
    assert csv.status_code == 200, csv.get_data(as_text=True)
    text = csv.get_data(as_text=True).removeprefix("\ufeff")
    rows = {r["asiakas"]: r for r in DictReader(io.StringIO(text), delimiter=";")}
    assert rows["K-0001"]["korvaus €"] == "12,50", rows  # one present day at Raisio's rate, not the default 9 €


@pytest.mark.parametrize("config", [None, "missing", "broken", "without raisio"])
def test_without_the_organisations_rules_there_is_no_register_at_a_default_rate(
        app: Flask, as_coord_a: FlaskClient, world: World, tmp_path: Path, config: str | None) -> None:
    path = tmp_path / "integrator.yaml"
    if config == "broken":
        path.write_text("organisations:\n  - key: raisio\n    rules: {daily_compensation_eur: -1}\n")
    elif config == "without raisio":
        path.write_text("organisations:\n  - key: naantali\n    name: Naantali\n")
    if config is not None:
        app.config["CONFIG_FILE"] = str(path)
    resp = as_coord_a.get(f"/api/v1/groups/{world.group_a}/register?month=2026-11&format=csv")
    assert resp.status_code == 409
    assert resp.mimetype == "application/json"
    message = resp.get_json()["message"]
    assert "kulukorvauksen päivähinta" in message and "daily compensation rate" in message
    # The page's download link goes back to the group page with the reason, not to a file.
    page = as_coord_a.get(f"/groups/{world.group_a}/register?month=2026-11&format=xlsx")
    assert page.status_code == 302
    assert page.headers["Location"] == f"/groups/{world.group_a}"
    shown = as_coord_a.get(page.headers["Location"]).get_data(as_text=True)
    assert "ei voitu lukea asetuksista" in shown


def test_the_group_page_downloads_the_register_when_configured(as_coord_a: FlaskClient, world: World,
                                                              configured: Path) -> None:
    page = as_coord_a.get(f"/groups/{world.group_a}?week={WEEK}").get_data(as_text=True)
    assert f"/groups/{world.group_a}/register?month=2026-11&amp;format=csv" in page
    resp = as_coord_a.get(f"/groups/{world.group_a}/register?month=2026-11&format=csv")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv" and "K-0001" in resp.get_data(as_text=True)


def test_weekly_setup_without_configuration_says_so(as_coord_a: FlaskClient, world: World) -> None:
    resp = as_coord_a.post("/api/v1/jobs/weekly-setup/preview", json={"week": WEEK, "group_id": world.group_a})
    assert resp.status_code == 409
    assert "config" in resp.get_json()["message"].lower()


def test_a_coordinator_must_name_the_group_to_set_up(as_coord_a: FlaskClient) -> None:
    resp = as_coord_a.post("/api/v1/jobs/weekly-setup/preview", json={"week": WEEK})
    assert resp.status_code == 400


def _flask_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_the_openapi_document_describes_exactly_the_api_routes(app: Flask, as_coord_a: FlaskClient) -> None:
    doc = as_coord_a.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.0")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {(_flask_path(r.rule.removeprefix("/api/v1")), m) for r in app.url_map.iter_rules()
              if r.rule.startswith("/api/v1") for m in (r.methods or set()) - {"HEAD", "OPTIONS"}}
    assert documented == served


def test_every_documented_schema_reference_resolves(as_coord_a: FlaskClient) -> None:
    doc = as_coord_a.get("/api/v1/openapi.json").get_json()
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', str(doc).replace("'", '"')))
    assert refs <= set(doc["components"]["schemas"])


def test_the_openapi_document_is_valid_openapi_3_0(as_coord_a: FlaskClient) -> None:
    import jsonschema
    from schemathesis.specs.openapi.definitions import OPENAPI_30  # the official OAS 3.0 JSON schema

    doc = as_coord_a.get("/api/v1/openapi.json").get_json()
    errors = [e.message for e in jsonschema.Draft4Validator(OPENAPI_30).iter_errors(doc)]
    assert errors == []


def test_an_unmatched_phone_attendee_is_mapped_once_and_the_day_recomputed(app: Flask, as_coord_a: FlaskClient,
                                                                           world: World) -> None:
    unmatched = as_coord_a.get(f"/api/v1/groups/{world.group_a}/unmatched-attendees").get_json()
    assert [(u["source"], u["participant_key"], u["via_phone"]) for u in unmatched] == [
        ("teams", "phone:+358401234567", True)]
    resp = as_coord_a.post(f"/api/v1/groups/{world.group_a}/identity-mappings",
                           json={"source": "teams", "participant_key": "phone:+358401234567",
                                 "client_id": world.client_a})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"records": 1}
    assert as_coord_a.get(f"/api/v1/groups/{world.group_a}/unmatched-attendees").get_json() == []


def test_an_attendee_cannot_be_mapped_to_a_client_of_another_group(as_coord_a: FlaskClient, world: World) -> None:
    resp = as_coord_a.post(f"/api/v1/groups/{world.group_a}/identity-mappings",
                           json={"source": "teams", "participant_key": "phone:+358401234567",
                                 "client_id": world.client_b})
    assert resp.status_code == 404


def test_an_organisation_wide_run_shows_a_coordinator_only_their_own_items(as_coord_b: FlaskClient,
                                                                            world: World) -> None:
    run = as_coord_b.get(f"/api/v1/jobs/{world.run_org}").get_json()
    assert [e["item"] for e in run["errors"]] == ["K-0002", "credentials"]
    assert [a["key"] for a in run["plan"]] == ["course:to-ryhma"]
    listed = {r["id"]: r for r in as_coord_b.get("/api/v1/jobs").get_json()}
    assert world.run_a not in listed and world.run_b in listed
    assert [e["item"] for e in listed[world.run_org]["errors"]] == ["K-0002", "credentials"]


def test_the_organisers_attendee_key_cannot_be_mapped_to_a_client(app: Flask, as_coord_a: FlaskClient,
                                                                   world: World) -> None:
    from integrator.store.models import MeetingAttendance
    with get_store(app).session() as s:
        s.add(MeetingAttendance(organisation_id=world.org_a, work_day_id=world.work_day_a, source="teams",
                                record_key="r1:org", participant_key="email:ohjaaja.a@example.fi",
                                email="ohjaaja.a@example.fi", display_name="Ohjaaja A", via_phone=False,
                                seconds=3600, raw={"role": "Organizer"}))
    listed = as_coord_a.get(f"/api/v1/groups/{world.group_a}/unmatched-attendees").get_json()
    assert [u["participant_key"] for u in listed] == ["phone:+358401234567"]
    resp = as_coord_a.post(f"/api/v1/groups/{world.group_a}/identity-mappings",
                           json={"source": "teams", "participant_key": "email:ohjaaja.a@example.fi",
                                 "client_id": world.client_a})
    assert resp.status_code == 400
    assert "organiser or a staff member" in resp.get_json()["message"]
