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

from integrator import create_app
from integrator.jobs.attendance import evaluate_window
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import AttendanceDay, Organisation, PeerGroup
from integrator.web import accounts, weeks
from integrator.web.context import get_store
from integrator.web.rehearsal import ORG_KEY, Rehearsal, start_rehearsal

PASSWORD = "rehearsal password 1"


@pytest.fixture
def rehearsal(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, Rehearsal]]:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    upgrade(db_url)
    store = Store(db_url)
    r = start_rehearsal(store, password=PASSWORD)
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "k" * 32, "WTF_CSRF_ENABLED": False,
                      "SETTINGS": r.settings})
    yield app, r
    r.stop()
    store.dispose()


def _login(app: Flask, r: Rehearsal) -> FlaskClient:
    client = app.test_client()
    assert client.post("/login", data={"email": r.login_email, "password": PASSWORD}).status_code == 302
    return client


def _group_id(app: Flask, key: str) -> int:
    with get_store(app).session() as s:
        gid = s.scalar(select(PeerGroup.id).where(PeerGroup.key == key))
    assert gid is not None
    return gid


def test_a_coordinator_previews_applies_and_corrects_a_week(rehearsal: tuple[Flask, Rehearsal]) -> None:
    app, r = rehearsal
    client = _login(app, r)
    group_id = _group_id(app, "ti-ryhma")
    week = weeks.week_of(weeks.today() + timedelta(days=7))

    preview = client.post("/api/v1/jobs/weekly-setup/preview", json={"week": week, "group_id": group_id})
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["actions"], "a fresh tenant needs a course, folders and a meeting"
    assert all(a["group"] in (None, "ti-ryhma") for a in body["actions"])
    assert r.sandbox.state.log.writes() == [] or all(e.api == "oauth" for e in r.sandbox.state.log.writes())

    started = client.post("/api/v1/jobs/weekly-setup/apply", json={"week": week, "group_id": group_id})
    assert started.status_code == 202, started.get_json()
    run_id = started.get_json()["job_run_id"]
    deadline = time.monotonic() + 60
    run = client.get(f"/api/v1/jobs/{run_id}").get_json()
    while run["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        run = client.get(f"/api/v1/jobs/{run_id}").get_json()
    assert run["status"] == "succeeded", run["errors"]
    assert run["progress_done"] == run["progress_total"] > 0
    assert client.get(f"/jobs/{run_id}").status_code == 200

    # The week has happened and nobody joined: the register says absent (or pending), and the
    # coordinator corrects one day with a reason.
    with get_store(app).session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == ORG_KEY))
    assert org_id is not None
    after_week = datetime.combine(weeks.monday_of(week) + timedelta(days=7), datetime.min.time(), tzinfo=UTC)
    evaluate_window(get_store(app), org_id, r.settings.rules, now=after_week, since=weeks.monday_of(week))
    grid = client.get(f"/api/v1/groups/{group_id}/attendance?week={week}").get_json()
    cell = grid["rows"][0]["days"][0]
    assert cell is not None
    page = client.post(f"/attendance/{cell['id']}/correct", data={"status": "excused", "reason": "Sairas"})
    assert page.status_code == 302
    with get_store(app).session() as s:
        ad = s.get(AttendanceDay, cell["id"])
        assert ad is not None and ad.status.value == "excused" and ad.override_reason == "Sairas"
