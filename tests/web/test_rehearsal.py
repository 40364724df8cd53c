"""A week end to end on the sandbox, through the API and the pages: preview, apply in the
background with progress, attendance, a correction with its reason."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal, start_rehearsal
from integrator.domain import weeks
from integrator.domain.calendar import work_days_for_week
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import AttendanceDay, PeerGroup, WorkDay
from integrator.web import accounts, create_app
from integrator.web.context import get_store
from tests.web.world import REHEARSAL_NOW, WEEK

PASSWORD = "rehearsal password 1"


@pytest.fixture
def rehearsal(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, Rehearsal]]:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    upgrade(db_url)
    store = Store(db_url)
    r = start_rehearsal(store, password=PASSWORD, now=REHEARSAL_NOW)
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "k" * 32, "WTF_CSRF_ENABLED": False,
                      "SETTINGS": r.settings, "CLOCK": r.clock})
    yield app, r
    r.stop()
    store.dispose()


def test_the_pinned_rehearsal_week_has_no_holiday_on_the_demo_groups_days() -> None:
    from integrator.demo.world import DEMO_GROUPS

    for plan in DEMO_GROUPS:
        assert work_days_for_week(WEEK, plan.weekdays).skipped == [], plan.key


def test_the_pages_follow_the_rehearsal_clock_not_the_wall_clock(rehearsal: tuple[Flask, Rehearsal]) -> None:
    app, r = rehearsal
    client = _login(app, r)
    page = client.get("/weekly-setup").get_data(as_text=True)
    assert f'value="{WEEK}"' in page  # "next week" on the tenant's clock
    r.sandbox.state.clock.set(datetime(2027, 3, 2, 9, 0, tzinfo=UTC))
    assert 'value="2027-W10"' in client.get("/weekly-setup").get_data(as_text=True)


def test_the_survey_results_page_is_reachable_in_the_rehearsal(rehearsal: tuple[Flask, Rehearsal]) -> None:
    app, r = rehearsal
    assert r.settings.organisations[0].surveys.enabled  # Google Forms rounds, as in `integrator demo`
    page = _login(app, r).get("/surveys")
    assert page.status_code == 200 and "Tiistairyhmä (pitkä jakso)" in page.get_data(as_text=True)


def _login(app: Flask, r: Rehearsal) -> FlaskClient:
    client = app.test_client()
    assert client.post("/login", data={"email": r.login_email, "password": PASSWORD}).status_code == 302
    return client


def _group_id(app: Flask, key: str) -> int:
    with get_store(app).session() as s:
        gid = s.scalar(select(PeerGroup.id).where(PeerGroup.key == key))
    assert gid is not None
    return gid


def _run_to_end(client: FlaskClient, run_id: int) -> dict[str, object]:
    deadline = time.monotonic() + 90
    run = client.get(f"/api/v1/jobs/{run_id}").get_json()
    while run["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        run = client.get(f"/api/v1/jobs/{run_id}").get_json()
    return dict(run)


def test_a_coordinator_runs_a_week_on_the_sandbox(rehearsal: tuple[Flask, Rehearsal]) -> None:
    app, r = rehearsal
    client = _login(app, r)
    group_id = _group_id(app, "pitka")  # Tuesdays, Teams
    week = weeks.iso_week_of(REHEARSAL_NOW.date() + timedelta(days=7))
    tuesday = weeks.week_monday(week) + timedelta(days=1)
    assert week == WEEK

    preview = client.post("/api/v1/jobs/weekly-setup/preview", json={"week": week, "group_id": group_id})
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["actions"], "a fresh tenant needs a course, folders and a meeting"
    assert {a["group"] for a in body["actions"]} <= {None, "pitka"}
    assert not [e for e in r.sandbox.state.log.writes() if e.api != "oauth"], "a preview writes nothing"

    started = client.post("/api/v1/jobs/weekly-setup/apply", json={"week": week, "group_id": group_id})
    assert started.status_code == 202, started.get_json()
    run = _run_to_end(client, started.get_json()["job_run_id"])
    assert run["status"] == "succeeded", run["errors"]
    assert run["progress_done"] == run["progress_total"]
    assert int(str(run["progress_total"])) > 0

    # Tuesday: one client attends the Teams meeting, the others do not; the nightly sync runs.
    attendees = r.world.participants(_work_day_id(app, group_id, tuesday))
    present, absent = attendees[0], attendees[1]
    r.world.attend(present, "pitka", tuesday, minutes=90)
    r.sandbox.state.clock.set(datetime.combine(tuesday + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
    r.world.nightly_sync()

    grid = client.get(f"/api/v1/groups/{group_id}/attendance?week={week}").get_json()
    status = {row["client"]["code"]: row["days"][0] for row in grid["rows"]}
    assert status[present]["status"] == "present"
    assert status[absent]["status"] == "absent"

    page = client.post(f"/attendance/{status[absent]['id']}/correct", data={"status": "excused", "reason": "Sairas"})
    assert page.status_code == 302
    with get_store(app).session() as s:
        ad = s.get(AttendanceDay, status[absent]["id"])
        assert ad is not None and ad.status.value == "excused" and ad.override_reason == "Sairas"
    # The next night keeps the coordinator's decision.
    r.world.nightly_sync()
    grid = client.get(f"/api/v1/groups/{group_id}/attendance?week={week}").get_json()
    assert {row["client"]["code"]: row["days"][0]["status"] for row in grid["rows"]}[absent] == "excused"


def _work_day_id(app: Flask, group_id: int, day: object) -> int:
    with get_store(app).session() as s:
        wid = s.scalar(select(WorkDay.id).where(WorkDay.group_id == group_id, WorkDay.day == day))
    assert wid is not None
    return wid


def test_a_second_apply_while_one_runs_is_refused_with_reason(rehearsal: tuple[Flask, Rehearsal]) -> None:
    from integrator.domain.types import JobStatus
    from integrator.store.models import JobRun, Organisation

    app, r = rehearsal
    client = _login(app, r)
    group_id = _group_id(app, "pitka")
    week = WEEK
    with get_store(app).session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == r.org_key))
        s.add(JobRun(organisation_id=org_id, kind="weekly_setup", params={"week": week, "org": r.org_key},
                     status=JobStatus.RUNNING, triggered_by="web:staff:9"))
    resp = client.post("/api/v1/jobs/weekly-setup/apply", json={"week": week, "group_id": group_id})
    assert resp.status_code == 409
    assert "already running" in resp.get_json()["message"]
