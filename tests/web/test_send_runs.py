"""Uncertain messages on the job pages: each group's coordinator sees their own, admins all.

The run is a real one: letters for two groups of one organisation sent to the sandbox, whose
sendMail answers 503 to every message (so every letter is UNCERTAIN), plus an absence alert
whose key carries the client's id rather than their code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from integrator.domain.types import MessageKind, OutboxStatus
from integrator.jobs.attendance.alerts import alert_key
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.outbox import NewMessage, enqueue
from integrator.jobs.notify.send_runs import Trigger
from integrator.jobs.notify.sender import send_outbox
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import Client, JobRun, OutboxMessage, PeerGroup
from integrator.web import accounts
from integrator.web.explain import EXPLANATIONS, explain_error
from tests.jobs import notify_world as nw

sandbox_server, sb = nw.sandbox_server, nw.sb  # fixtures

PASSWORD = "correct horse battery staple"
COORD = {"tiistai": "ohjaaja.ti@example.fi", "keskiviikko": "ohjaaja.ke@example.fi"}
UNCERTAIN_FI = "Lähetys saattoi mennä perille — tarkista lähettäjän Lähetetyt-kansio ennen uudelleenlähetystä."


@pytest.fixture
def sent(sb: Sandbox, store: Store, db_url: str, tmp_path: Path) -> dict[str, set[str]]:
    """Sends, and returns the uncertain message keys per group."""
    w = nw.World.build(sb, store, db_url, tmp_path, groups=nw.TWO_GROUPS)
    for group_key, email in COORD.items():
        staff_id = accounts.add_staff(store, email=email, name=f"Ohjaaja {group_key}", role="coordinator",
                                      org_key=nw.ORG, password=PASSWORD)
        with store.session() as s:
            s.execute(update(PeerGroup).where(PeerGroup.key == group_key).values(coordinator_id=staff_id))
    accounts.add_staff(store, email="admin@example.fi", name="Ylläpitäjä", role="admin", org_key=nw.ORG,
                       password=PASSWORD)
    queue_weekly_letters(store, w.settings, nw.ORG, nw.WEEK)
    with store.session() as s:
        client = s.scalars(select(Client).where(Client.code == "K-0001")).one()  # group tiistai
        alert = alert_key(client.id, date(2026, 1, 6))
        enqueue(s, [NewMessage(key=alert, kind=MessageKind.ABSENCE_ALERT, organisation_id=client.organisation_id,
                               to_address="sosiaalityo@example.fi", subject="Toistuvia poissaoloja",
                               body_text="...", body_html=None, client_id=client.id)])
    sb.state.faults.inject(vendor="graph", path_glob="*sendMail", rate=1.0, status=503)

    counts = send_outbox(store, w.settings, nw.LETTER_DAY, trigger=Trigger("send"))

    assert counts["uncertain"] == 8 and counts["sent"] == 0
    with store.session() as s:
        keys = set(s.scalars(select(OutboxMessage.key).where(OutboxMessage.status == OutboxStatus.UNCERTAIN)))
    tiistai = {k for k in keys if any(f":K-000{n}:" in k for n in range(1, 5))} | {alert}
    return {"tiistai": tiistai, "keskiviikko": keys - tiistai}


def login(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    resp = client.post("/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def send_run(client: FlaskClient) -> dict[str, object]:
    resp = client.get("/api/v1/jobs?kind=notify_send")
    assert resp.status_code == 200
    [run] = resp.get_json()
    assert isinstance(run, dict)
    return run


def items(run: dict[str, object]) -> set[str]:
    errors = run["errors"]
    assert isinstance(errors, list)
    return {e["item"] for e in errors}


@pytest.mark.parametrize("group", ["tiistai", "keskiviikko"])
def test_a_coordinator_sees_their_own_groups_uncertain_messages_only(
        app: Flask, sent: dict[str, set[str]], group: str) -> None:
    other = next(g for g in sent if g != group)
    client = login(app, COORD[group])

    run = send_run(client)
    page = client.get(f"/jobs/{run['id']}").get_data(as_text=True)
    listing = client.get("/jobs").get_data(as_text=True)

    assert items(run) == sent[group]
    assert {e["kind"] for e in run["errors"]} == {"uncertain"}  # type: ignore[attr-defined]
    assert all(key in page for key in sent[group]) and f"(ryhmä {group})" in page
    assert not any(key in page for key in sent[other]) and f"(ryhmä {other})" not in page
    assert UNCERTAIN_FI in page and "Pysyvä virhe" not in page
    assert "Viestien lähetys" in listing and "@" not in page
    single = client.get(f"/api/v1/jobs/{run['id']}").get_json()
    assert items(single) == sent[group]


def test_an_admin_sees_every_uncertain_message_of_the_organisation(app: Flask, sent: dict[str, set[str]]) -> None:
    client = login(app, "admin@example.fi")

    run = send_run(client)
    page = client.get(f"/jobs/{run['id']}").get_data(as_text=True)

    assert items(run) == sent["tiistai"] | sent["keskiviikko"]
    assert page.count(UNCERTAIN_FI) == 8 and "epävarma, tarkistettava: 8" in page


def test_the_run_belongs_to_the_organisation(store: Store, sent: dict[str, set[str]]) -> None:
    with store.session() as s:
        run = s.scalars(select(JobRun).where(JobRun.kind == "notify_send")).one()
        org_ids = set(s.scalars(select(OutboxMessage.organisation_id)))
    assert {run.organisation_id} == org_ids
    groups = {e["item"]: e["group"] for e in run.errors}
    assert groups == {k: g for g, keys in sent.items() for k in keys}


def test_uncertain_is_explained_as_maybe_delivered_and_the_other_kinds_keep_their_words() -> None:
    assert explain_error({"kind": "uncertain"}) == UNCERTAIN_FI
    assert explain_error({"kind": "fatal"}).startswith("Pysyvä virhe")
    assert explain_error({"kind": "reauth"}) == EXPLANATIONS["needs_reauth"]
