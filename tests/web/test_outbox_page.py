"""The outbox in the browser (issue 15, must-have 2): uncertain, failed and parked messages,
daily counts and the mailbox's limit; requeue and cancel through the CLI's functions, audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.domain.types import MessageKind, OutboxStatus
from integrator.jobs.notify.outbox import NewMessage, enqueue
from integrator.store.models import AuditEvent, OutboxMessage, StaffUser
from integrator.web.context import get_store
from tests.web.world import EMAILS, PASSWORD, World, build_world

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CLIENT_ADDRESS = "k-0001@asiakas.example.fi"
WORKER_ADDRESS = "sosiaalityontekija@kunta.example.fi"


def _message(app: Flask, world: World, key: str, status: OutboxStatus, *, client: int | None = None,
             kind: MessageKind = MessageKind.REMINDER, to: str = CLIENT_ADDRESS, **values: object) -> int:
    store = get_store(app)
    with store.session() as s:
        enqueue(s, [NewMessage(key=key, kind=kind, organisation_id=world.org_a, to_address=to,
                               subject=f"Aihe {key}", body_text="x", body_html=None,
                               client_id=client or world.client_a)])
        msg = s.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        assert msg is not None
        msg.status = status
        msg.created_at = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
        for name, value in values.items():
            setattr(msg, name, value)
        return msg.id


@pytest.fixture
def outbox(app: Flask, world: World) -> dict[str, int]:
    app.config["CLOCK"] = lambda: NOW
    return {
        "uncertain": _message(app, world, f"reminder:{world.client_a}:{world.work_day_a}:60", OutboxStatus.UNCERTAIN,
                              last_error="uncertain: provider answered 503"),
        "parked": _message(app, world, f"letter:{world.client_a}:2026-W49", OutboxStatus.PARKED,
                           kind=MessageKind.WEEKLY_LETTER, last_error="provider daily limit: 429",
                           not_before=datetime(2026, 11, 25, 6, 0, tzinfo=UTC)),
        "failed": _message(app, world, f"alert:{world.client_a}:2026-11", OutboxStatus.FAILED,
                           kind=MessageKind.ABSENCE_ALERT, to=WORKER_ADDRESS, last_error="gave up after 8"),
        "sent1": _message(app, world, "letter:a:w47", OutboxStatus.SENT, sent_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
        "sent2": _message(app, world, "letter:a:w48", OutboxStatus.SENT, sent_at=datetime(2026, 11, 23, 9, 5, tzinfo=UTC)),
        "group_b": _message(app, world, f"reminder:{world.client_b}:{world.work_day_b}:60", OutboxStatus.UNCERTAIN,
                            client=world.client_b),
    }


def _status(app: Flask, message_id: int) -> OutboxStatus:
    with get_store(app).session() as s:
        msg = s.get(OutboxMessage, message_id)
        assert msg is not None
        return msg.status


def _audit(app: Flask) -> list[AuditEvent]:
    with get_store(app).session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action.like("outbox.%")).order_by(AuditEvent.id)))


def test_the_admin_sees_each_state_with_what_to_check_and_no_address(as_admin: FlaskClient, world: World,
                                                                      outbox: dict[str, int],
                                                                      configured: Path) -> None:
    resp = as_admin.get("/outbox")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page[:2000]
    uncertain = page[page.index('id="outbox-uncertain"'):page.index('id="outbox-failed"')]
    assert f"reminder:{world.client_a}:{world.work_day_a}:60" in uncertain
    assert "Lähetetyt" in uncertain and f"Aihe reminder:{world.client_a}" in uncertain
    assert "ti 24.11.2026 klo 9.00 – ti 24.11.2026 klo 14.00" in uncertain  # the window, Helsinki time
    assert "K-0001" in uncertain and "K-0002" in uncertain
    failed = page[page.index('id="outbox-failed"'):page.index('id="outbox-parked"')]
    assert "asiakkaan sosiaalityöntekijä" in failed and "gave up after 8" in failed
    parked = page[page.index('id="outbox-parked"'):page.index('id="outbox-daily"')]
    assert "provider daily limit: 429" in parked and "ke 25.11.2026 klo 8.00" in parked
    daily = page[page.index('id="outbox-daily"'):]
    assert re.search(r"ma 23\.11\.2026</td><td>2</td>", daily)
    assert "<td>2000</td>" in daily  # Gmail's daily limit (providers.limits), no lower figure configured
    assert CLIENT_ADDRESS not in page and WORKER_ADDRESS not in page and "@asiakas" not in page


def test_requeueing_an_uncertain_message_needs_the_sent_items_confirmation(app: Flask, as_admin: FlaskClient,
                                                                          world: World, outbox: dict[str, int]) -> None:
    url = f"/outbox/{outbox['uncertain']}/requeue"
    resp = as_admin.post(url, data={"reason": "Ei Lähetetyt-kansiossa"})
    assert resp.status_code == 400 and "Lähetetyt" in resp.get_data(as_text=True)
    assert _status(app, outbox["uncertain"]) is OutboxStatus.UNCERTAIN and not _audit(app)
    assert as_admin.post(url, data={"sent_items_checked": "yes", "reason": " "}).status_code == 400
    resp = as_admin.post(url, data={"sent_items_checked": "yes", "reason": "Ei Lähetetyt-kansiossa"})
    assert resp.status_code == 302
    assert _status(app, outbox["uncertain"]) is OutboxStatus.QUEUED
    [event] = _audit(app)
    assert (event.actor, event.action, event.organisation_id) == (f"staff:{world.admin_all}", "outbox.requeue",
                                                                  world.org_a)
    assert event.details == {"key": f"reminder:{world.client_a}:{world.work_day_a}:60", "from": "uncertain",
                             "to": "queued", "reason": "Ei Lähetetyt-kansiossa"}
    assert as_admin.post(url, data={"sent_items_checked": "yes", "reason": "x"}).status_code == 409  # a re-run


def test_a_failed_message_is_requeued_without_the_sent_items_question(app: Flask, as_admin: FlaskClient,
                                                                      outbox: dict[str, int]) -> None:
    resp = as_admin.post(f"/outbox/{outbox['failed']}/requeue", data={"reason": "Osoite korjattu"})
    assert resp.status_code == 302 and _status(app, outbox["failed"]) is OutboxStatus.QUEUED


def test_cancelling_is_audited_and_a_sent_message_cannot_be_cancelled(app: Flask, as_admin: FlaskClient,
                                                                      world: World, outbox: dict[str, int]) -> None:
    resp = as_admin.post(f"/outbox/{outbox['parked']}/cancel", data={"reason": "Asiakas lopetti"})
    assert resp.status_code == 302 and _status(app, outbox["parked"]) is OutboxStatus.CANCELLED
    [event] = _audit(app)
    assert event.action == "outbox.cancel" and event.actor == f"staff:{world.admin_all}"
    assert event.details["from"] == "parked" and event.details["to"] == "cancelled"
    assert event.details["reason"] == "Asiakas lopetti" and event.at is not None
    assert as_admin.post(f"/outbox/{outbox['sent1']}/cancel", data={"reason": "x"}).status_code == 409
    assert len(_audit(app)) == 1


def test_a_coordinator_of_another_group_sees_nothing_of_group_a(app: Flask, as_coord_b: FlaskClient,
                                                                 as_coord_a: FlaskClient, world: World,
                                                                 outbox: dict[str, int]) -> None:
    page = as_coord_b.get("/outbox").get_data(as_text=True)
    assert "K-0001" not in page and f"reminder:{world.client_a}:" not in page and "K-0002" in page
    assert "Lähetysraja postilaatikoittain" not in page  # the mailbox's figures are the organisation's
    for action in ("requeue", "cancel"):
        resp = as_coord_b.post(f"/outbox/{outbox['uncertain']}/{action}",
                               data={"sent_items_checked": "yes", "reason": "x"})
        assert resp.status_code == 404
    assert _status(app, outbox["uncertain"]) is OutboxStatus.UNCERTAIN and not _audit(app)
    own = as_coord_a.get("/outbox").get_data(as_text=True)
    assert "K-0001" in own and "K-0002" not in own
    assert as_coord_a.post(f"/outbox/{outbox['uncertain']}/cancel", data={"reason": "Oli perillä"}).status_code == 302


def test_the_admin_of_another_organisation_sees_nothing(app: Flask, world: World, outbox: dict[str, int]) -> None:
    from tests.web.conftest import login

    client = login(app.test_client(), "admin_b")
    page = client.get("/outbox").get_data(as_text=True)
    assert "K-0001" not in page and "K-0002" not in page
    assert client.post(f"/outbox/{outbox['uncertain']}/cancel", data={"reason": "x"}).status_code == 404


def test_the_forms_need_the_csrf_token(db_url: str) -> None:
    from integrator.store.migrate import upgrade
    from integrator.web import create_app

    upgrade(db_url)
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "k" * 32})
    world = build_world(get_store(app))
    message_id = _message(app, world, "reminder:x:1:60", OutboxStatus.UNCERTAIN)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token
    client.post("/login", data={"email": EMAILS["admin_all"], "password": PASSWORD, "csrf_token": token.group(1)})
    resp = client.post(f"/outbox/{message_id}/cancel", data={"reason": "x"})
    assert resp.status_code == 400 and _status(app, message_id) is OutboxStatus.UNCERTAIN
    page = client.get("/outbox").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert form_token
    resp = client.post(f"/outbox/{message_id}/cancel", data={"reason": "x", "csrf_token": form_token.group(1)})
    assert resp.status_code == 302 and _status(app, message_id) is OutboxStatus.CANCELLED
    with get_store(app).session() as s:
        assert s.get(StaffUser, world.admin_all) is not None
