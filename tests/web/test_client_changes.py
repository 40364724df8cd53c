"""POST /clients/{id}/move, POST and DELETE /clients/{id}/end: a preview, then with confirm the change;
a coordinator only for their own groups."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.store.models import AuditEvent, Membership, Period
from integrator.web.context import get_store
from tests.web.world import World

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _clock(app: Flask) -> None:
    app.config["CLOCK"] = lambda: NOW


def test_an_early_end_is_previewed_confirmed_and_undone(app: Flask, as_coord_a: FlaskClient, world: World,
                                                        configured: Path) -> None:
    _clock(app)
    url = f"/api/v1/clients/{world.client_a}/end"

    preview = as_coord_a.post(url, json={"on": "2026-11-26", "reason": "education"})

    assert preview.status_code == 200, preview.get_data(as_text=True)
    body = preview.get_json()
    assert body["changed"] and not body["applied"] and "Esikatselu" in body["preview"]
    with get_store(app).session() as s:
        assert s.scalars(select(Period.end_date).where(Period.client_id == world.client_a)).one() == date(2027, 2, 28)

    done = as_coord_a.post(url, json={"on": "2026-11-26", "reason": "education", "confirm": True})

    assert done.status_code == 200 and done.get_json()["applied"]
    with get_store(app).session() as s:
        period = s.scalars(select(Period).where(Period.client_id == world.client_a)).one()
        assert (period.end_date, period.planned_end_date, period.end_reason) == (
            date(2026, 11, 26), date(2027, 2, 28), "education")
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "period.ended")).one()
        assert event.actor == f"staff:{world.coord_a}"
    again = as_coord_a.post(url, json={"on": "2026-11-26", "reason": "education", "confirm": True})
    assert again.get_json()["changed"] is False

    undone = as_coord_a.delete(f"{url}?confirm=true")

    assert undone.status_code == 200 and undone.get_json()["changed"]
    with get_store(app).session() as s:
        assert s.scalars(select(Period.end_date).where(Period.client_id == world.client_a)).one() == date(2027, 2, 28)


def test_a_coordinator_moves_only_between_their_own_groups(app: Flask, as_coord_a: FlaskClient, world: World,
                                                          configured: Path) -> None:
    _clock(app)
    resp = as_coord_a.post(f"/api/v1/clients/{world.client_a}/move",
                           json={"to_group": "to-ryhma", "from": "2026-12-01", "confirm": True})
    assert resp.status_code == 403
    with get_store(app).session() as s:
        assert len(s.scalars(select(Membership).where(Membership.client_id == world.client_a)).all()) == 1


def test_an_admin_moves_from_a_date_and_bad_input_names_the_field(app: Flask, as_admin: FlaskClient, world: World,
                                                                 configured: Path) -> None:
    _clock(app)
    url = f"/api/v1/clients/{world.client_a}/move"
    bad = as_admin.post(url, json={"to_group": "to-ryhma", "from": "1.12.2026"})
    assert bad.status_code == 400 and "from" in bad.get_json()["message"]
    unknown = as_admin.post(url, json={"to_group": "ei-ryhmaa", "from": "2026-12-01", "confirm": True})
    assert unknown.status_code == 400 and "to_group" in unknown.get_json()["message"]

    resp = as_admin.post(url, json={"to_group": "to-ryhma", "from": "2026-12-01", "confirm": True})

    assert resp.status_code == 200, resp.get_data(as_text=True)
    with get_store(app).session() as s:
        spans = sorted((m.start_date, m.end_date) for m in s.scalars(
            select(Membership).where(Membership.client_id == world.client_a)))
    assert spans == [(date(2026, 9, 1), date(2026, 11, 30)), (date(2026, 12, 1), None)]
