"""JSON logs carry codes and ids only: the redaction filter, and a scan of a whole rehearsed week."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from integrator.demo.rehearsal import start_rehearsal
from integrator.domain import weeks
from integrator.observability.logs import JsonFormatter, setup_logging
from integrator.observability.redaction import redact
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import Client, PeerGroup, StaffUser, WorkDay
from integrator.web import accounts, create_app
from tests.web.world import REHEARSAL_NOW, WEEK

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging("DEBUG", stream=buf)
    yield buf
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("secret", [
    "maija.meikalainen@example.fi",
    "Authorization: Bearer abc.def-ghi",
    "itk_3m9JqkJ2xZlY8Q0n5gS7cWvB1a4T6yRuEoP",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
    "ya29.a0AfH6SMBx-token",
    "client_secret=s3cr3t-value",
    '"password": "hunter2hunter2"',
])
def test_redaction_removes_what_looks_like_an_address_or_a_secret(secret: str) -> None:
    cleaned = redact(f"before {secret} after")
    assert "[redacted]" in cleaned
    assert cleaned.startswith("before") and cleaned.endswith("after")
    for part in re.split(r"[\s:=\"]+", secret):
        if len(part) > 8 and part.lower() not in ("authorization", "client_secret", "password"):
            assert part not in cleaned


def test_log_lines_are_json_with_extras_and_redacted_exceptions() -> None:
    logger = logging.getLogger("integrator.test")
    try:
        raise ValueError("could not mail aino@example.fi")
    except ValueError:
        record = logger.makeRecord("integrator.test", logging.ERROR, __file__, 1, "send failed for %s", ("K-0001",),
                                   exc_info=__import__("sys").exc_info(), extra={"client": "K-0001",
                                                                                "to": "aino@example.fi"})
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "send failed for K-0001"
    assert line["client"] == "K-0001"
    assert line["to"] == "[redacted]"
    assert "aino@example.fi" not in line["exc"]


def test_a_full_demo_week_logs_no_emails_names_or_tokens(tmp_path: object, db_url: str, log_buffer: io.StringIO,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    upgrade(db_url)
    store = Store(db_url)
    r = start_rehearsal(store, password="rehearsal password 2", now=REHEARSAL_NOW)
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "k" * 32,
                          "WTF_CSRF_ENABLED": False, "SETTINGS": r.settings, "CLOCK": r.clock})
        client = app.test_client()
        client.post("/login", data={"email": r.login_email, "password": "wrong password!!"})
        assert client.post("/login", data={"email": r.login_email, "password": "rehearsal password 2"}).status_code == 302
        with store.session() as s:
            gid = s.scalar(select(PeerGroup.id).where(PeerGroup.key == "pitka"))
            staff_id = s.scalar(select(StaffUser.id).where(StaffUser.email == r.login_email))
        assert gid is not None and staff_id is not None
        token = accounts.create_token(store, staff_id, "scan")
        week = WEEK  # the pinned rehearsal's next week: no holiday on the demo groups' days
        assert client.post("/api/v1/jobs/weekly-setup/preview", json={"week": week, "group_id": gid}).status_code == 200
        run_id = client.post("/api/v1/jobs/weekly-setup/apply", json={"week": week, "group_id": gid}).get_json()["job_run_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/v1/jobs/{run_id}").get_json()["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        # The rest of the demo week through the product's own jobs: letters, a meeting, the nightly sync.
        r.world.letters(week)
        tuesday = weeks.week_monday(week) + timedelta(days=1)
        with store.session() as s:
            wd = s.scalar(select(WorkDay.id).where(WorkDay.group_id == gid, WorkDay.day == tuesday))
        assert wd is not None
        codes = r.world.participants(wd)
        r.world.attend(codes[0], "pitka", tuesday, minutes=90)
        r.world.attend(codes[1], "pitka", tuesday, minutes=60, phone="+358 40 765 4321")
        r.sandbox.state.clock.set(datetime.combine(tuesday + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
        r.world.nightly_sync()
        client.get("/api/v1/groups", headers={"Authorization": f"Bearer {token}"})
        client.get("/api/v1/groups", headers={"Authorization": "Bearer itk_not_a_real_token_at_all_000"})
        client.get(f"/groups/{gid}/attendance?week={week}")
        with store.session() as s:
            names = [c.display_name for c in s.scalars(select(Client))] + \
                    [u.display_name for u in s.scalars(select(StaffUser))]
    finally:
        r.stop()
        store.dispose()
    logs = log_buffer.getvalue()
    assert "weekly setup apply started" in logs, "the scan must see the service's own logs"
    assert "weekly letters queued" in logs and "outbox sent" in logs
    for line in logs.splitlines():
        json.loads(line)  # every line is one JSON object
    assert not EMAIL.findall(logs)
    for name in names:
        assert name not in logs
        for part in name.split():
            assert not re.search(rf"\b{re.escape(part)}\b", logs), f"a name part {part!r} is in the logs"
    assert "765 4321" not in logs  # the phone number the dial-in showed as its name
    assert token not in logs and "itk_not_a_real" not in logs
    assert "rehearsal password 2" not in logs


def test_integrator_demo_logs_no_emails_names_or_tokens(tmp_path: Path, log_buffer: io.StringIO) -> None:
    """The whole `integrator demo` week (setup, letters, meetings, returns, phone dial-in, nightly
    syncs, mapping, correction, absence alert, register) with every logger at DEBUG."""
    from integrator.demo.run import run_demo
    from integrator.demo.world import FIRST_NAMES, LAST_NAMES

    printed: list[str] = []
    run_demo(tmp_path / "demo", say=printed.append)
    logs = log_buffer.getvalue()
    assert len(logs.splitlines()) > 20, "the scan must see the jobs' logs"
    for line in logs.splitlines():
        json.loads(line)
    assert not EMAIL.findall(logs), EMAIL.findall(logs)[:5]
    for word in [*FIRST_NAMES, *LAST_NAMES, "Olli", "Sari", "Sosiaaliohjaaja"]:
        assert not re.search(rf"\b{re.escape(word)}\b", logs), f"the name {word!r} is in the logs"
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.", logs), "a JWT is in the logs"
    assert not re.search(r"(?i)bearer\s+(?!\[redacted\])\S", logs), "a bearer token is in the logs"
    assert not re.search(r"-----BEGIN", logs), "a key is in the logs"
