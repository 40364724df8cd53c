"""The admin's status page: tenant check on demand, each job's last success, errors by cause, retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.domain.types import JobStatus, MessageKind, OutboxStatus
from integrator.jobs.notify.outbox import NewMessage, enqueue
from integrator.store.models import AuditEvent, JobRun, OutboxMessage
from integrator.web.context import get_store
from tests.web.conftest import login
from tests.web.world import World

# A Friday in Helsinki; the letters go out on Thursdays at 12.00 (the config's default).
FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
THURSDAY_NOON = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def configure(app: Flask, tmp_path: Path, google: bool = False) -> None:
    org = "  - key: raisio\n    name: Raisio\n"
    if google:
        key = tmp_path / "key.json"
        key.write_text("this is not a key", encoding="utf-8")
        org += (f"    google:\n      domain: raisio.example.fi\n      service_account: {{file: {key}}}\n"
                "      admin_subject: admin@raisio.example.fi\n")
    path = tmp_path / "integrator.yaml"
    path.write_text("organisations:\n" + org + "  - key: naantali\n    name: Naantali\n", encoding="utf-8")
    app.config["CONFIG_FILE"] = str(path)


def page(client: FlaskClient) -> str:
    resp = client.get("/admin/status")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_data(as_text=True)


def add_run(app: Flask, world: World, kind: str, status: JobStatus, finished: datetime, **params: str) -> int:
    with get_store(app).session() as s:
        run = JobRun(organisation_id=world.org_a, kind=kind, status=status, params=params, started_at=finished,
                     finished_at=finished)
        s.add(run)
        s.flush()
        return run.id


def test_only_admins_see_the_page_and_the_menu_line(as_coord_a: FlaskClient, as_admin: FlaskClient) -> None:
    assert as_coord_a.get("/admin/status").status_code == 403
    assert "Järjestelmän tila" not in as_coord_a.get("/").get_data(as_text=True)
    assert 'href="/admin/status"' in as_admin.get("/").get_data(as_text=True)


def test_an_organisations_admin_sees_their_own_organisation_only(app: Flask, world: World) -> None:
    html = page(login(app.test_client(), "admin_b"))
    assert "Naantali" in html and "Raisio" not in html


def test_a_nightly_sync_older_than_26_hours_is_red_in_words(app: Flask, as_admin: FlaskClient, world: World) -> None:
    app.config["CLOCK"] = lambda: FRIDAY
    add_run(app, world, "nightly_sync", JobStatus.SUCCEEDED, FRIDAY - timedelta(hours=27))
    html = page(as_admin)
    assert "Vika:</strong> Yöajo on onnistunut viimeksi yli 26 tuntia sitten" in html
    assert "(27 tuntia sitten)" in html


def test_a_nightly_sync_of_last_night_is_not_red(app: Flask, as_admin: FlaskClient, world: World) -> None:
    app.config["CLOCK"] = lambda: FRIDAY
    add_run(app, world, "nightly_sync", JobStatus.SUCCEEDED, FRIDAY - timedelta(hours=8))
    html = page(as_admin)
    assert "Yöajo on onnistunut viimeksi yli" not in html
    assert "pe 4.12.2026 klo 4.00 (8 tuntia sitten)" in html


def _letter(app: Flask, world: World, sent_at: datetime | None) -> None:
    with get_store(app).session() as s:
        enqueue(s, [NewMessage(key="letter:raisio:K-0001:2026-W50", kind=MessageKind.WEEKLY_LETTER,
                               organisation_id=world.org_a, to_address="k-0001@asiakas.example.fi",
                               subject="Viikko 50", body_text="x", body_html=None, client_id=world.client_a)])
        if sent_at is not None:
            for m in s.scalars(select(OutboxMessage)):
                m.status, m.sent_at = OutboxStatus.SENT, sent_at


def test_letters_that_did_not_go_out_on_their_day_are_red(app: Flask, as_admin: FlaskClient, world: World,
                                                          tmp_path: Path) -> None:
    configure(app, tmp_path)
    app.config["CLOCK"] = lambda: FRIDAY
    _letter(app, world, sent_at=None)
    html = page(as_admin)
    assert "Vika:</strong> Viikko 50 (7.–13.12.): 1/1 viikkokirjettä ei lähtenyt päivänään to 3.12.2026." in html


def test_letters_sent_on_their_day_are_fine(app: Flask, as_admin: FlaskClient, world: World, tmp_path: Path) -> None:
    configure(app, tmp_path)
    app.config["CLOCK"] = lambda: FRIDAY
    _letter(app, world, sent_at=THURSDAY_NOON)
    assert "Viikko 50 (7.–13.12.): viikkokirjeet (1) lähtivät ajallaan to 3.12.2026." in page(as_admin)


def test_errors_are_grouped_by_cause_with_codes_and_meetings_on_their_own_line(as_admin: FlaskClient,
                                                                              world: World) -> None:
    html = page(as_admin)
    # The world's nightly run: two clients without a responsible worker, one meeting, the credentials.
    assert html.count("jaksolleen ei ole merkitty vastuutyöntekijää") == 1
    assert "2 kertaa" in html and "asiakkaat K-0001, K-0002" in html
    assert "Tapaamisen osallistujatietoja ei saatu: ryhmä ti-ryhma, ti 24.11.2026" in html
    assert "Aja uudelleen" in html


def test_the_tenant_check_runs_on_demand_is_recorded_and_audited_and_shows_the_finnish_hint(
        app: Flask, as_admin: FlaskClient, world: World, tmp_path: Path) -> None:
    configure(app, tmp_path, google=True)
    assert "Ei tarkistettu." in page(as_admin)

    resp = as_admin.post(f"/admin/status/{world.org_a}/check")

    assert resp.status_code == 302
    html = page(as_admin)
    assert "Vikaa löytyi:</strong> 1 tarkistus epäonnistui" in html
    assert "google.key" in html and "Lataa uusi JSON-avain" in html
    with get_store(app).session() as s:
        run = s.scalars(select(JobRun).where(JobRun.kind == "tenant_check")).one()
        assert run.status is JobStatus.FAILED and run.counts == {"fail": 1, "skip": 1}
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "tenant.check")).one()
        assert audit.actor == f"staff:{world.admin_all}" and audit.details["run"] == run.id


def test_retry_starts_the_same_job_again_and_is_audited(app: Flask, as_admin: FlaskClient, world: World,
                                                        tmp_path: Path) -> None:
    configure(app, tmp_path)

    resp = as_admin.post(f"/admin/status/runs/{world.run_org}/retry")

    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    with get_store(app).session() as s:
        new = s.scalars(select(JobRun).where(JobRun.id > world.run_org, JobRun.kind == "nightly_sync")).one()
        assert new.triggered_by.startswith(f"web:staff:{world.admin_all}#")
        assert resp.headers["Location"] == f"/jobs/{new.id}"
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "job.retry")).one()
        assert audit.entity_id == str(world.run_org) and audit.details == {"kind": "nightly_sync", "new_run": new.id}


def test_a_run_that_succeeded_is_not_started_again(as_admin: FlaskClient, world: World) -> None:
    assert as_admin.post(f"/admin/status/runs/{world.run_b}/retry").status_code == 409


def test_a_tenant_check_warning_is_shown_with_its_finnish_fix_but_not_red(app: Flask, as_admin: FlaskClient,
                                                                         world: World) -> None:
    warning = {"detail": "could not read (permission SharePointTenantSettings.Read.All missing)",
               "en": "check by hand", "fi": "Tarkista käsin SharePoint-hallintakeskuksessa: Käytännöt > Jakaminen."}
    with get_store(app).session() as s:
        s.add(JobRun(organisation_id=world.org_a, kind="tenant_check", status=JobStatus.SUCCEEDED,
                     params={"org": "raisio", "hints": {}, "warnings": {"microsoft.sharing": warning}},
                     counts={"ok": 4, "warn": 1}, started_at=FRIDAY, finished_at=FRIDAY))

    html = page(as_admin)

    assert f'id="check-{world.org_a}-state"><strong>Kunnossa:' in html
    assert "<strong>Huomioitavaa:</strong> 1 kohta tarkistettava" in html
    assert "microsoft.sharing</strong>: Tarkista käsin SharePoint-hallintakeskuksessa" in html
    assert "SharePointTenantSettings.Read.All missing" in html  # the technical detail, folded
