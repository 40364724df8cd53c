"""The dashboard is a to-do list: each kind of to-do appears, counted, when its condition is in the
store; only the coordinator's own; hybrid days counted against who is expected; and the page reads
the store in the same number of statements for 10 groups and for 60."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from integrator.domain.types import (
    AttendanceStatus,
    JobStatus,
    MeetingProvider,
    MessageKind,
    OutboxStatus,
    ServiceModel,
)
from integrator.store.db import Store
from integrator.store.models import (
    AttendanceDay,
    Client,
    JobRun,
    MeetingAttendance,
    Membership,
    OutboxMessage,
    PeerGroup,
    Period,
    WorkDay,
)
from integrator.web.context import get_store
from tests.web.world import TUESDAY, WEEK, World

# Thursday of the world's week, 12:00 in Helsinki: the Tuesday meeting ended two days ago.
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NEXT_WEEK = "2026-W49"
BRIEFED = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned(app: Flask) -> None:
    app.config["CLOCK"] = lambda: NOW


def todo_counts(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'id="todo-(\w+)" data-count="(\d+)"', html)}


def dashboard(client: FlaskClient, **params: str) -> str:
    resp = client.get("/", query_string={"week": WEEK, **params})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _work_day(s: Session, group_id: int, day: date, hour: int = 8) -> WorkDay:
    start = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)
    wd = WorkDay(group_id=group_id, day=day, iso_week=f"{day.isocalendar().year}-W{day.isocalendar().week:02d}",
                 meeting_start=start, meeting_end=start + timedelta(hours=2))
    s.add(wd)
    s.flush()
    return wd


def _client(s: Session, org_id: int, group_id: int, code: str, weekdays: list[int]) -> Client:
    c = Client(organisation_id=org_id, code=code, display_name=f"Asiakas {code}")
    s.add(c)
    s.flush()
    s.add_all([Period(client_id=c.id, service_model=ServiceModel.LONG_TERM, start_date=date(2026, 9, 1),
                      end_date=date(2027, 2, 28), weekdays=weekdays, briefing_recorded_at=BRIEFED),
               Membership(group_id=group_id, client_id=c.id, start_date=date(2026, 9, 1))])
    return c


def _message(org_id: int, client_id: int, key: str, kind: MessageKind, status: OutboxStatus,
             meta: dict[str, Any] | None = None) -> OutboxMessage:
    return OutboxMessage(organisation_id=org_id, key=key, kind=kind, client_id=client_id,
                         to_address="tyontekija@kunta.example.fi", subject="Aihe", body_text="Teksti", status=status,
                         meta=meta, created_at=NOW - timedelta(days=1))


def test_each_to_do_appears_with_its_count_when_its_condition_is_in_the_store(
        app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    store = get_store(app)
    before = todo_counts(dashboard(as_coord_a))
    # The world: one unknown phone attendee in group A; this week set up for group A (run_a, partial),
    # next week not; run_a partial and the organisation's nightly run partial.
    assert before == {"unmatched": 1, "decisions": 0, "streaks": 0, "alerts": 0, "setup": 1, "runs": 2,
                      "uncertain": 0}

    with store.session() as s:
        s.scalars(select(Period).where(Period.client_id == world.client_a)).one().briefing_recorded_at = BRIEFED
        # A second unknown attendee in group A's meeting; one in group B's is not coordinator A's.
        s.add_all([MeetingAttendance(organisation_id=world.org_a, work_day_id=world.work_day_a, source="teams",
                                     record_key="r1:a2", participant_key="name:vieras", display_name="Vieras"),
                   MeetingAttendance(organisation_id=world.org_a, work_day_id=world.work_day_b, source="teams",
                                     record_key="r2:b1", participant_key="name:joku", display_name="Joku")])
        # Days awaiting a decision: pending, meeting two days ago; pending flagged needs_decision an
        # hour after the meeting; pending an hour after the meeting (not yet: the report comes).
        c2 = _client(s, world.org_a, world.group_a, "K-0102", [2, 3])
        c3 = _client(s, world.org_a, world.group_a, "K-0103", [2, 3])
        s.add(AttendanceDay(client_id=c2.id, work_day_id=world.work_day_a, computed_status=AttendanceStatus.PENDING))
        just_now = WorkDay(group_id=world.group_a, day=date(2026, 11, 25), iso_week=WEEK,
                           meeting_start=NOW - timedelta(hours=3), meeting_end=NOW - timedelta(hours=1))
        s.add(just_now)
        s.flush()
        s.add_all([AttendanceDay(client_id=c2.id, work_day_id=just_now.id, computed_status=AttendanceStatus.PENDING),
                   AttendanceDay(client_id=c3.id, work_day_id=just_now.id, computed_status=AttendanceStatus.PENDING,
                                 evidence={"needs_decision": True, "reasons": []})])
        # An absence streak: K-0001 absent last Tuesday too (and on the world's Tuesday), alerted.
        last_tuesday = _work_day(s, world.group_a, TUESDAY - timedelta(days=7))
        s.add(AttendanceDay(client_id=world.client_a, work_day_id=last_tuesday.id,
                            computed_status=AttendanceStatus.ABSENT))
        alert = _message(world.org_a, world.client_a, f"absence_alert:{world.client_a}:2026-11-17",
                         MessageKind.ABSENCE_ALERT, OutboxStatus.SENT,
                         {"days": ["2026-11-17", "2026-11-24"], "groups": ["Ryhmä ti-ryhma"]})
        s.add(alert)
        # Messages awaiting a check: one about coordinator A's client, one about B's (not A's).
        s.add_all([_message(world.org_a, world.client_a, "reminder:a:1:60", MessageKind.REMINDER, OutboxStatus.UNCERTAIN),
                   _message(world.org_a, world.client_b, "reminder:b:2:60", MessageKind.REMINDER, OutboxStatus.UNCERTAIN)])
        # A failed run of coordinator B's group: not A's.
        s.add(JobRun(organisation_id=world.org_a, kind="weekly_setup", params={"week": WEEK, "group": "to-ryhma"},
                     status=JobStatus.FAILED, started_at=NOW - timedelta(hours=2)))
        # A failed weekly setup of A's group.
        s.add(JobRun(organisation_id=world.org_a, kind="weekly_setup", params={"week": NEXT_WEEK, "group": "ti-ryhma"},
                     status=JobStatus.FAILED, started_at=NOW - timedelta(hours=1)))

    html = dashboard(as_coord_a)
    assert todo_counts(html) == {"unmatched": 2, "decisions": 2, "streaks": 1, "alerts": 1, "setup": 1, "runs": 3,
                                 "uncertain": 1}
    assert "Tunnistamattomat osallistujat (2)" in html
    assert "Ryhmä ti-ryhma</a>: 2 päivää, vanhin ti 24.11.2026" in html
    assert "K-0001: poissa 2 peräkkäisenä päivänä (ti 17.11.–ti 24.11.) – hälytys lähetetty" in html
    assert "muistutus K-0001" in html and "reminder:a:1:60" in html and "reminder:b:2:60" not in html
    assert "K-0002" not in html and "to-ryhma" not in html

    # The week is set up (an organisation-wide apply), the alert withdrawn and corrected.
    with store.session() as s:
        s.add(JobRun(organisation_id=world.org_a, kind="weekly_setup", params={"week": NEXT_WEEK, "org": "raisio",
                                                                               "group": None},
                     status=JobStatus.SUCCEEDED, dry_run=False))
        sent = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == MessageKind.ABSENCE_ALERT)).one()
        sent.meta = {**(sent.meta or {}), "withdrawn": {"2026-11-24": "excused"}}
        s.add(_message(world.org_a, world.client_a, f"absence_alert_correction:{sent.id}",
                       MessageKind.ABSENCE_ALERT_CORRECTION, OutboxStatus.QUEUED, {"alert": sent.id}))
    html = dashboard(as_coord_a)
    assert todo_counts(html)["setup"] == 0
    assert "hälytys peruttu, korjaus jonossa" in html


def test_a_preview_does_not_count_as_a_set_up_week(app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    with get_store(app).session() as s:
        s.add(JobRun(organisation_id=world.org_a, kind="weekly_setup", params={"week": NEXT_WEEK, "org": "raisio"},
                     status=JobStatus.SUCCEEDED, dry_run=True))
    html = dashboard(as_coord_a)
    assert todo_counts(html)["setup"] == 1
    assert "Viikko 49 (30.11.–6.12.): 1 ryhmä valmistelematta" in html


def test_a_hybrid_day_counts_present_against_the_clients_expected_that_day(
        app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    with get_store(app).session() as s:
        g = PeerGroup(organisation_id=world.org_a, key="hybridi", name="Hybridiryhmä", coordinator_id=world.coord_a,
                      weekdays=[2, 4], meeting_start=time(10), meeting_end=time(12),
                      meeting_provider=MeetingProvider.TEAMS)
        s.add(g)
        s.flush()
        tuesday = _work_day(s, g.id, TUESDAY)
        # Five members; three work remotely on Tuesdays, two only on Thursdays (on site on Tuesdays).
        statuses = [AttendanceStatus.PRESENT, AttendanceStatus.PRESENT, AttendanceStatus.ABSENT]
        for i, status in enumerate(statuses):
            c = _client(s, world.org_a, g.id, f"H-{i}", [2])
            s.add(AttendanceDay(client_id=c.id, work_day_id=tuesday.id, computed_status=status))
        for i in range(2):
            _client(s, world.org_a, g.id, f"H-T{i}", [4])
    html = dashboard(as_coord_a, q="hybridi")
    assert "ti 24.11.: läsnä 2/3" in html
    assert "läsnä 2/5" not in html


def test_a_coordinator_sees_only_their_own_groups_and_finds_one_by_name(
        app: Flask, as_coord_a: FlaskClient, as_admin: FlaskClient, world: World) -> None:
    with get_store(app).session() as s:
        _groups(s, world, 30, coordinator=world.coord_a, clients=0)
    html = dashboard(as_coord_a)
    assert "Ryhmät 1–25 / 31" in html and "sivu 1 / 2" in html
    group_a = f'id="group-{world.group_a}"'
    assert group_a not in html  # sorted by name: "Ryhmä g-..." come first, "ti-ryhma" on page 2
    assert group_a in dashboard(as_coord_a, page="2")
    found = dashboard(as_coord_a, q="TI-RYH")
    assert "Ryhmät 1–1 / 1" in found and group_a in found
    assert "Ryhmä to-ryhma" not in dashboard(as_coord_a, q="to-ryhma")  # coordinator B's group
    assert "Yksikään ryhmä ei vastaa hakua." in dashboard(as_coord_a, q="to-ryhma")
    assert f'id="group-{world.group_b}"' in dashboard(as_admin, q="to-ryhma")


def _groups(s: Session, world: World, n: int, *, coordinator: int, clients: int) -> None:
    """`n` groups of `clients` clients each, with everything that makes a to-do in every group."""
    base = s.scalar(select(PeerGroup.id).order_by(PeerGroup.id.desc())) or 0
    for i in range(n):
        g = PeerGroup(organisation_id=world.org_a, key=f"g-{base + i}", name=f"Ryhmä g-{base + i:04d}",
                      coordinator_id=coordinator, weekdays=[2], meeting_start=time(10), meeting_end=time(12),
                      meeting_provider=MeetingProvider.TEAMS)
        s.add(g)
        s.flush()
        if not clients:
            continue
        wd, earlier = _work_day(s, g.id, TUESDAY), _work_day(s, g.id, TUESDAY - timedelta(days=7))
        for j in range(clients):
            c = _client(s, world.org_a, g.id, f"C-{g.id}-{j}", [2])
            status = (AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.PENDING)[j % 3]
            s.add_all([AttendanceDay(client_id=c.id, work_day_id=wd.id, computed_status=status),
                       AttendanceDay(client_id=c.id, work_day_id=earlier.id, computed_status=status)])
            if j == 1:
                s.add(_message(world.org_a, c.id, f"absence_alert:{c.id}:2026-11-17", MessageKind.ABSENCE_ALERT,
                               OutboxStatus.SENT, {"days": ["2026-11-17", "2026-11-24"]}))
                s.add(_message(world.org_a, c.id, f"reminder:{c.id}", MessageKind.REMINDER, OutboxStatus.UNCERTAIN))
        s.add(MeetingAttendance(organisation_id=world.org_a, work_day_id=wd.id, source="teams",
                                record_key=f"r:{g.id}", participant_key=f"name:vieras {g.id}", display_name="Vieras"))
        s.add(JobRun(organisation_id=world.org_a, kind="weekly_setup", params={"week": WEEK, "group": g.key},
                     status=JobStatus.PARTIAL, started_at=NOW - timedelta(hours=3)))


@contextmanager
def counted(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("who", ["as_coord_a", "as_admin"])
def test_the_dashboard_reads_the_same_number_of_statements_for_10_and_60_groups(
        app: Flask, world: World, who: str, request: pytest.FixtureRequest) -> None:
    client: FlaskClient = request.getfixturevalue(who)
    store = get_store(app)
    with store.session() as s:
        _groups(s, world, 10, coordinator=world.coord_a, clients=6)
    dashboard(client)  # warm: the first request may touch the session row
    with counted(store) as ten:
        html = dashboard(client)
    assert todo_counts(html)["decisions"] == 10 * 4  # two pending clients, two past days, per group
    assert todo_counts(html)["unmatched"] >= 10 and todo_counts(html)["uncertain"] == 10
    with store.session() as s:
        _groups(s, world, 50, coordinator=world.coord_a, clients=6)
    with counted(store) as sixty:
        html = dashboard(client)
    assert todo_counts(html)["decisions"] == 60 * 4 and todo_counts(html)["streaks"] == 60 * 2
    assert len(sixty) == len(ten), "\n".join(sixty)
    assert len(ten) <= 30, len(ten)
